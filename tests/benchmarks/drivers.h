// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The code each contender runs, written the way a careful user of that API would write it:
// Rill through its futures, raw Qt through readyRead/bytesWritten, QCoro through co_await, POSIX
// through blocking calls. Construct each driver in the thread of the object it drives.

#include "bench.h"

#include <rill/channel.h>
#include <rill/flow.h>

#include <QtCore/QIODevice>

#include <QCoroAbstractSocket>
#include <QCoroLocalSocket>
#include <QCoroTask>

#include <QtNetwork/QLocalSocket>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpSocket>

namespace bench {

// What raw Qt writers keep in a socket's buffer at most before waiting for bytesWritten: the
// same bound as Rill's default high-water mark, so both hold the same amount in user space.
constexpr qint64 QtWriteBound = rill::Flow::DefaultHighWaterMark;
// Bytes per read for every reader that chooses its own read size (Rill reads 64 KiB too).
constexpr qint64 ReadSize = 64 * 1024;

QString describe(const rill::ReadResult &r);
QString describe(const rill::WriteResult &r);

// ---- Rill

// Reads until onData returns false; onEnd gets the reason if the stream ends or fails first.
// Reads with flow->read(), or with any read function (e.g. a Channel's readLine()).
class FlowReader
{
public:
    using OnData = std::function<bool(const QByteArray &)>;
    using OnEnd = std::function<void(const QString &)>;
    using Read = std::function<QFuture<rill::ReadResult>()>;
    // Before each read, results taken without a future while it gives them (Channel's try*()).
    using TryRead = std::function<std::optional<rill::ReadResult>()>;
    FlowReader(rill::Flow *flow, OnData onData, OnEnd onEnd);
    FlowReader(Read read, OnData onData, OnEnd onEnd, TryRead tryRead = {});
    void start() { pump(); }
    void stop() { m_stopped = true; }

private:
    void pump();
    bool handle(const rill::ReadResult &r);
    Read m_read;
    TryRead m_tryRead;
    OnData m_onData;
    OnEnd m_onEnd;
    bool m_stopped = false;
    QObject m_context;
};

// Writes `total` bytes as repeats of chunk, waiting on a write's future only when it is not
// already resolved (the queue is above its high-water mark).
class FlowWriter
{
public:
    FlowWriter(rill::Flow *flow, QByteArray chunk, qint64 total, std::function<void(const QString &)> onError);
    void start() { pump(); }
    void stop() { m_stopped = true; }
    qint64 offered() const { return m_sent; }

private:
    void pump();
    rill::Flow *m_flow;
    QByteArray m_chunk;
    qint64 m_total;
    qint64 m_sent = 0;
    std::function<void(const QString &)> m_onError;
    bool m_stopped = false;
    QObject m_context;
};

// Writes back what it reads; reads again once the write is accepted (so it pushes back).
class FlowEcho
{
public:
    explicit FlowEcho(rill::Flow *flow);
    void start() { pump(); }
    void stop() { m_stopped = true; }

private:
    void pump();
    bool echo(const rill::ReadResult &r);
    rill::Flow *m_flow;
    bool m_stopped = false;
    QObject m_context;
};

// Writes `total` bytes as messages of chunk through a channel, as its user would: write()
// until it refuses, then again on drained(). The channel flushes by itself.
class ChannelWriter
{
public:
    ChannelWriter(rill::Channel *channel, QByteArray chunk, qint64 total,
                  std::function<void(const QString &)> onError);
    void start() { pump(); }
    void stop() { m_stopped = true; }

private:
    void pump();
    rill::Channel *m_channel;
    QByteArray m_chunk;
    qint64 m_total;
    qint64 m_sent = 0;
    std::function<void(const QString &)> m_onError;
    bool m_stopped = false;
    QObject m_context;
};

// Reads lines with Channel::readLine(maxLength, context, callback), making the next read from
// the callback: no future per line. onEnd gets the reason if the stream ends or fails first.
class ChannelLineReader
{
public:
    using OnLine = std::function<bool(const QByteArray &)>;
    using OnEnd = std::function<void(const QString &)>;
    ChannelLineReader(rill::Channel *channel, qsizetype maxLength, OnLine onLine, OnEnd onEnd);
    void start() { next(); }
    void stop() { m_stopped = true; }

private:
    void next();
    rill::Channel *m_channel;
    qsizetype m_maxLength;
    OnLine m_onLine;
    OnEnd m_onEnd;
    bool m_stopped = false;
    QObject m_context; // a read pending when the reader goes is dropped, consuming nothing
};

// ---- raw Qt

// Writes `total` bytes as repeats of chunk, keeping at most QtWriteBound in Qt's buffers (for a
// QSslSocket, the plain bytes not encrypted yet and the encrypted ones not sent: its
// bytesToWrite() counts only the first).
class QtWriter
{
public:
    QtWriter(QIODevice *device, QByteArray chunk, qint64 total);
    void start() { pump(); }
    void stop() { m_stopped = true; }
    bool failed() const { return m_failed; } // a write() refused bytes

private:
    void pump();
    qint64 buffered() const;
    QIODevice *m_device;
    QSslSocket *m_ssl; // m_device, if it is one
    QByteArray m_chunk;
    qint64 m_total;
    qint64 m_sent = 0;
    bool m_stopped = false;
    bool m_failed = false;
    QObject m_context;
};

// On readyRead, reads everything there is in ReadSize pieces; onData returns false to stop.
class QtReader
{
public:
    using OnData = std::function<bool(const char *, qint64)>;
    QtReader(QIODevice *device, OnData onData);
    void start() { onReadyRead(); }
    void stop() { m_stopped = true; }

private:
    void onReadyRead();
    QIODevice *m_device;
    OnData m_onData;
    QByteArray m_buffer;
    bool m_stopped = false;
    QObject m_context;
};

// On readyRead, takes every complete line there is (canReadLine(), readLine()).
class QtLineReader
{
public:
    using OnLine = std::function<bool(const QByteArray &)>;
    QtLineReader(QIODevice *device, OnLine onLine);
    void start() { onReadyRead(); }
    void stop() { m_stopped = true; }

private:
    void onReadyRead();
    QIODevice *m_device;
    OnLine m_onLine;
    bool m_stopped = false;
    QObject m_context;
};

// Writes back what it reads, at once.
class QtEcho
{
public:
    explicit QtEcho(QIODevice *device);

private:
    QIODevice *m_device;
    QObject m_context;
};

// ---- QCoro: one coroutine per job. The flag lets teardown end a coroutine that is waiting.

using StopFlag = std::shared_ptr<std::atomic_bool>;

template<typename Socket>
QCoro::Task<> qcoroWrite(Socket *socket, QByteArray chunk, qint64 total, StopFlag stop,
                         Completion *done)
{
    qint64 sent = 0;
    while (sent < total && !*stop) {
        const QByteArray piece = total - sent >= chunk.size() ? chunk : chunk.left(total - sent);
        // QCoro 0.8's write() waits for bytesWritten and gives the bytes still unwritten: 0 is
        // success, -1 a failed write.
        const qint64 left = co_await qCoro(socket).write(piece);
        if (*stop)
            co_return;
        if (left != 0) {
            done->fail(QStringLiteral("QCoro write left %1 of %2 bytes unwritten").arg(left).arg(piece.size()));
            co_return;
        }
        sent += piece.size();
    }
}

// Reads with co_await readAll() until onData returns false.
template<typename Socket>
QCoro::Task<> qcoroRead(Socket *socket, std::function<bool(const QByteArray &)> onData, StopFlag stop,
                        Completion *done)
{
    while (!*stop) {
        const QByteArray data = co_await qCoro(socket).readAll();
        if (*stop)
            co_return;
        if (data.isEmpty()) {
            // QCoro gives the same empty array for end of stream, error and timeout.
            if (!socket->isOpen() || !socket->isReadable()
                || socket->state() != Socket::ConnectedState) {
                done->fail(QStringLiteral("QCoro read: the connection ended"));
                co_return;
            }
            continue;
        }
        if (!onData(data))
            co_return;
    }
}

template<typename Socket>
QCoro::Task<> qcoroEcho(Socket *socket, StopFlag stop)
{
    while (!*stop) {
        const QByteArray data = co_await qCoro(socket).readAll();
        if (*stop)
            co_return;
        if (data.isEmpty()) {
            if (socket->state() != Socket::ConnectedState)
                co_return;
            continue;
        }
        co_await qCoro(socket).write(data);
    }
}

// Deletes a pair whose coroutines may still wait (their stop flag set). QCoro 0.8 resumes a
// waiting coroutine through the event loop and then reads the socket itself, so a socket
// deleted under a waiting coroutine is read after it is freed. So: abort both ends, let every
// coroutine resume (each sees its stop flag and ends), and only then delete.
template<typename Socket>
void deleteQCoroPair(Worker *worker, Socket *client, Socket *server)
{
    auto drain = [] {
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents();
    };
    client->abort();
    worker->call([&] {
        server->abort();
        drain();
    });
    drain();
    worker->call([&] {
        drain();
        QObject::disconnect(server, nullptr, nullptr, nullptr);
        delete server;
    });
    QObject::disconnect(client, nullptr, nullptr, nullptr);
    delete client;
}

// ---- POSIX, blocking

// Sends all of buffer; false on error (errno set).
bool sendAll(int fd, const char *data, qint64 length);
// Receives exactly length bytes; false on error or end of stream.
bool recvAll(int fd, char *data, qint64 length);

} // namespace bench
