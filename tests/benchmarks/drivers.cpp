// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "drivers.h"

#include <cerrno>
#include <sys/socket.h>

namespace bench {

QString describe(const rill::ReadResult &r)
{
    if (r.isData())
        return QStringLiteral("%1 bytes").arg(r.data().size());
    if (r.isEof())
        return QStringLiteral("end of stream");
    return rill::errorMessage(r.error());
}

QString describe(const rill::WriteResult &r)
{
    if (r.isOk())
        return QStringLiteral("ok");
    if (r.isEof())
        return QStringLiteral("the write side is closed");
    return rill::errorMessage(r.error());
}

// ---- FlowReader

FlowReader::FlowReader(rill::Flow *flow, OnData onData, OnEnd onEnd)
    : FlowReader([flow] { return flow->read(); }, std::move(onData), std::move(onEnd))
{}

FlowReader::FlowReader(Read read, OnData onData, OnEnd onEnd, TryRead tryRead)
    : m_read(std::move(read)), m_tryRead(std::move(tryRead)), m_onData(std::move(onData)),
      m_onEnd(std::move(onEnd))
{}

void FlowReader::pump()
{
    while (!m_stopped) {
        if (m_tryRead) {
            std::optional<rill::ReadResult> now;
            while (!m_stopped && (now = m_tryRead())) {
                if (!handle(*now))
                    return;
            }
            if (m_stopped)
                return;
        }
        QFuture<rill::ReadResult> f = m_read();
        if (!f.isFinished()) {
            f.then(&m_context, [this](rill::ReadResult r) {
                if (handle(r))
                    pump();
            });
            return;
        }
        if (!handle(f.result()))
            return;
    }
}

bool FlowReader::handle(const rill::ReadResult &r)
{
    if (m_stopped)
        return false;
    if (!r.isData()) {
        m_stopped = true;
        m_onEnd(describe(r));
        return false;
    }
    if (!m_onData(r.data())) {
        m_stopped = true;
        return false;
    }
    return true;
}

// ---- ChannelLineReader

ChannelLineReader::ChannelLineReader(rill::Channel *channel, qsizetype maxLength, OnLine onLine,
                                     OnEnd onEnd)
    : m_channel(channel), m_maxLength(maxLength), m_onLine(std::move(onLine)),
      m_onEnd(std::move(onEnd))
{}

void ChannelLineReader::next()
{
    // The channel serves a read made here after this callback returns: no nesting per line.
    m_channel->readLine(m_maxLength, &m_context, [this](const rill::ReadResult &r) {
        if (m_stopped)
            return;
        if (!r.isData()) {
            m_stopped = true;
            m_onEnd(describe(r));
            return;
        }
        if (!m_onLine(r.data())) {
            m_stopped = true;
            return;
        }
        next();
    });
}

// ---- FlowWriter

FlowWriter::FlowWriter(rill::Flow *flow, QByteArray chunk, qint64 total,
                       std::function<void(const QString &)> onError)
    : m_flow(flow), m_chunk(std::move(chunk)), m_total(total), m_onError(std::move(onError))
{}

void FlowWriter::pump()
{
    while (!m_stopped && m_sent < m_total) {
        const QByteArray piece = m_total - m_sent >= m_chunk.size() ? m_chunk
                                                                    : m_chunk.left(m_total - m_sent);
        QFuture<rill::WriteResult> f = m_flow->write(piece);
        m_sent += piece.size();
        if (!f.isFinished()) {
            f.then(&m_context, [this](rill::WriteResult r) {
                if (m_stopped)
                    return;
                if (!r.isOk()) {
                    m_stopped = true;
                    m_onError(QStringLiteral("write: %1").arg(describe(r)));
                    return;
                }
                pump();
            });
            return;
        }
        const rill::WriteResult r = f.result();
        if (!r.isOk()) {
            m_stopped = true;
            m_onError(QStringLiteral("write: %1").arg(describe(r)));
            return;
        }
    }
}

// ---- FlowEcho

FlowEcho::FlowEcho(rill::Flow *flow) : m_flow(flow) {}

void FlowEcho::pump()
{
    while (!m_stopped) {
        QFuture<rill::ReadResult> f = m_flow->read();
        if (!f.isFinished()) {
            f.then(&m_context, [this](rill::ReadResult r) {
                if (echo(r))
                    pump();
            });
            return;
        }
        if (!echo(f.result()))
            return;
    }
}

// Returns true to read again at once.
bool FlowEcho::echo(const rill::ReadResult &r)
{
    if (m_stopped || !r.isData())
        return false;
    QFuture<rill::WriteResult> w = m_flow->write(r.data());
    if (!w.isFinished()) {
        w.then(&m_context, [this](rill::WriteResult result) {
            if (!m_stopped && result.isOk())
                pump();
        });
        return false;
    }
    return w.result().isOk();
}

// ---- ChannelWriter

ChannelWriter::ChannelWriter(rill::Channel *channel, QByteArray chunk, qint64 total,
                             std::function<void(const QString &)> onError)
    : m_channel(channel), m_chunk(std::move(chunk)), m_total(total), m_onError(std::move(onError))
{
    QObject::connect(channel, &rill::Channel::drained, &m_context, [this] { pump(); });
}

void ChannelWriter::pump()
{
    while (!m_stopped && m_sent < m_total) {
        const QByteArray piece = m_total - m_sent >= m_chunk.size() ? m_chunk
                                                                    : m_chunk.left(m_total - m_sent);
        if (!m_channel->write(piece)) {
            if (!m_channel->error().isNone()) {
                m_stopped = true;
                m_onError(QStringLiteral("write: %1").arg(rill::errorMessage(m_channel->error())));
            }
            return; // full: drained() comes back here
        }
        m_sent += piece.size();
    }
}

// ---- QtWriter

QtWriter::QtWriter(QIODevice *device, QByteArray chunk, qint64 total)
    : m_device(device), m_ssl(qobject_cast<QSslSocket *>(device)), m_chunk(std::move(chunk)),
      m_total(total)
{
    QObject::connect(device, &QIODevice::bytesWritten, &m_context, [this] { pump(); });
    if (m_ssl)
        QObject::connect(m_ssl, &QSslSocket::encryptedBytesWritten, &m_context, [this] { pump(); });
}

qint64 QtWriter::buffered() const
{
    return m_device->bytesToWrite() + (m_ssl ? m_ssl->encryptedBytesToWrite() : 0);
}

void QtWriter::pump()
{
    while (!m_stopped && m_sent < m_total && buffered() < QtWriteBound) {
        const QByteArray piece = m_total - m_sent >= m_chunk.size() ? m_chunk
                                                                    : m_chunk.left(m_total - m_sent);
        if (m_device->write(piece) != piece.size()) {
            m_stopped = m_failed = true;
            return;
        }
        m_sent += piece.size();
    }
}

// ---- QtReader

QtReader::QtReader(QIODevice *device, OnData onData)
    : m_device(device), m_onData(std::move(onData)), m_buffer(ReadSize, Qt::Uninitialized)
{
    QObject::connect(device, &QIODevice::readyRead, &m_context, [this] { onReadyRead(); });
}

void QtReader::onReadyRead()
{
    // readyRead is not emitted again for what is left in Qt's buffer: drain it.
    while (!m_stopped) {
        const qint64 n = m_device->read(m_buffer.data(), ReadSize);
        if (n <= 0)
            return;
        if (!m_onData(m_buffer.constData(), n)) {
            m_stopped = true;
            return;
        }
    }
}

// ---- QtLineReader

QtLineReader::QtLineReader(QIODevice *device, OnLine onLine)
    : m_device(device), m_onLine(std::move(onLine))
{
    QObject::connect(device, &QIODevice::readyRead, &m_context, [this] { onReadyRead(); });
}

void QtLineReader::onReadyRead()
{
    while (!m_stopped && m_device->canReadLine()) {
        if (!m_onLine(m_device->readLine())) {
            m_stopped = true;
            return;
        }
    }
}

// ---- QtEcho

QtEcho::QtEcho(QIODevice *device) : m_device(device)
{
    QObject::connect(device, &QIODevice::readyRead, &m_context,
                     [this] { m_device->write(m_device->readAll()); });
}

// ---- POSIX

bool sendAll(int fd, const char *data, qint64 length)
{
    while (length > 0) {
        const ssize_t n = ::send(fd, data, size_t(length), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        data += n;
        length -= n;
    }
    return true;
}

bool recvAll(int fd, char *data, qint64 length)
{
    while (length > 0) {
        const ssize_t n = ::recv(fd, data, size_t(length), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        length -= n;
    }
    return true;
}

} // namespace bench
