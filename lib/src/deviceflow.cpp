// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/deviceflow.h>

#include "readbuffers_p.h"

#include <QtCore/QFileDevice>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QProcess>
#include <QtCore/QThread>
#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QLocalSocket>

namespace rill {

Q_LOGGING_CATEGORY(lcDevice, "rill.device", QtWarningMsg)

namespace {

// A QIODevice driven through the public transport interface: the flow machinery does the rest.
//
// Every connection to the device has m_context as its context object: a child of the flow, so
// it moves to the flow's new thread with it, and deleting it cuts every connection and drops
// every call queued on it at once.
class DeviceTransport final : public Transport
{
public:
    // Reads take at most this much at a time (and never more than the flow has room for).
    static constexpr qint64 ReadChunk = 64 * 1024;
    // Reads per wake-up before the event loop gets its turn again.
    static constexpr int MaxReadsPerWakeup = 16;
    // A sequential device gets this far ahead of what it reported written: enough to keep a
    // pipe full, small enough that the flow's send queue, not the device's, holds the backlog.
    static constexpr qint64 WriteAhead = 256 * 1024;
    // A random-access device (a file) takes this much per turn of the event loop.
    static constexpr qint64 SyncWriteChunk = 1024 * 1024;

    explicit DeviceTransport(QIODevice *device)
        : m_device(device),
          m_process(qobject_cast<QProcess *>(device)),
          m_socket(qobject_cast<QAbstractSocket *>(device)),
          m_localSocket(qobject_cast<QLocalSocket *>(device))
    {
        if (!device)
            return;
        if (m_process) {
            m_name = QStringLiteral("process");
            m_peerName = QStringLiteral("process ") + m_process->program();
        } else if (auto *file = qobject_cast<QFileDevice *>(device)) {
            m_name = QStringLiteral("file");
            m_peerName = QStringLiteral("file ") + file->fileName();
        } else {
            m_name = QStringLiteral("device");
            m_peerName = QString::fromLatin1(device->metaObject()->className());
            if (!device->objectName().isEmpty())
                m_peerName += QLatin1Char(' ') + device->objectName();
        }
        // Written and flushed at once: a random-access device, or a file of any kind (QFile
        // emits no bytesWritten()).
        m_synchronous = !device->isSequential() || qobject_cast<QFileDevice *>(device);
    }

    ~DeviceTransport() override { delete m_context.data(); }

    QIODevice *device() const { return m_device; }

    QString name() const override { return m_name.isEmpty() ? QStringLiteral("device") : m_name; }
    QString peerName() const override { return m_peerName; }

    void start() override
    {
        m_context = new QObject(flow());
        if (!m_device)
            return later([this] { fail(Error::Kind::InvalidArgument, QStringLiteral("no device")); });
        if (m_device->thread() != flow()->thread())
            return later([this] { failWrongThread(); });
        connectDevice();
        if (m_process && m_process->state() == QProcess::Starting)
            return; // opens on started(), or fails on FailedToStart
        if (!m_device->isOpen()) {
            return later([this] {
                fail(Error::Kind::InvalidArgument,
                     m_process ? QStringLiteral("the process is not running")
                               : QStringLiteral("the device is not open"));
            });
        }
        opened();
        schedulePull(); // a file has bytes without readyRead(), a finished process has ended
    }

    void startWriting() override { schedulePush(); }

    void setReadEnabled(bool enabled) override
    {
        if (enabled)
            schedulePull(); // readyRead() is not emitted again for bytes the device holds
    }

    void shutdownWrite() override
    {
        m_shutdownPending = true;
        later([this] { finishShutdown(); });
    }

    void abort() override
    {
        stop();
        if (QIODevice *device = m_device.data()) {
            qCDebug(lcDevice) << flow() << "abort: closing" << m_peerName;
            if (m_process)
                m_process->kill(); // the process's reset; close() would wait for it to die
            else
                device->close();
        }
    }

    void release() override
    {
        stop();
        // After a failure the device is closed, as on abort(); after a clean end it is left as
        // it is (a process that closed its output may still be running to exit).
        if (m_failed && m_device && !m_process)
            m_device->close();
    }

    void joinThread() override
    {
        if (m_device && m_device->thread() != QThread::currentThread())
            later([this] { failWrongThread(); });
    }

private:
    template<typename F>
    void later(F &&f)
    {
        QMetaObject::invokeMethod(
                m_context.data(),
                [this, f = std::forward<F>(f)] {
                    if (!m_done)
                        f();
                },
                Qt::QueuedConnection);
    }

    void stop()
    {
        m_done = true;
        m_readBuffers.release();
        if (m_device && m_context)
            QObject::disconnect(m_device.data(), nullptr, m_context.data(), nullptr);
    }

    Error deviceError(Error::Kind kind, const QString &fallback = {}) const
    {
        QString text = m_device ? m_device->errorString() : QString();
        if (text.isEmpty() || text == QLatin1String("Unknown error"))
            text = fallback;
        return Error(kind, text, m_peerName);
    }

    void fail(Error::Kind kind, const QString &message)
    {
        fail(Error(kind, message, m_peerName));
    }
    void fail(const Error &error)
    {
        if (m_done)
            return;
        qCDebug(lcDevice) << flow() << "failed:" << error;
        m_failed = true;
        failed(error);
    }

    void failWrongThread()
    {
        fail(Error::Kind::InvalidArgument,
             QStringLiteral("the device lives in another thread than the flow (make it a child of "
                            "the flow, so that it moves along)"));
    }

    void connectDevice()
    {
        QIODevice *device = m_device.data();
        QObject *context = m_context.data();
        QObject::connect(device, &QIODevice::readyRead, context, [this] { pull(); });
        QObject::connect(device, &QIODevice::readChannelFinished, context, [this] {
            m_inputFinished = true;
            pull();
        });
        QObject::connect(device, &QIODevice::bytesWritten, context,
                         [this](qint64 bytes) { onBytesWritten(bytes); });
        QObject::connect(device, &QIODevice::aboutToClose, context, [this] { onAboutToClose(); });
        QObject::connect(device, &QObject::destroyed, context, [this] {
            // Nothing of the device may be touched any more (m_device is null already).
            fail(Error::Kind::Aborted, QStringLiteral("the device was deleted under the flow"));
        });
        if (m_process) {
            QObject::connect(m_process, &QProcess::started, context, [this] {
                opened();
                schedulePull();
            });
            QObject::connect(m_process, &QProcess::errorOccurred, context,
                             [this](QProcess::ProcessError error) { onProcessError(error); });
            QObject::connect(m_process, &QProcess::finished, context,
                             [this](int, QProcess::ExitStatus status) { onProcessFinished(status); });
        } else if (m_socket) {
            QObject::connect(m_socket, &QAbstractSocket::errorOccurred, context,
                             [this](QAbstractSocket::SocketError error) {
                                 if (error == QAbstractSocket::RemoteHostClosedError)
                                     return endInput(); // the peer's end of stream
                                 onSocketError(error == QAbstractSocket::ConnectionRefusedError
                                                       ? Error::Kind::Refused
                                                       : Error::Kind::Other);
                             });
        } else if (m_localSocket) {
            QObject::connect(m_localSocket, &QLocalSocket::errorOccurred, context,
                             [this](QLocalSocket::LocalSocketError error) {
                                 if (error == QLocalSocket::PeerClosedError)
                                     return endInput();
                                 onSocketError(Error::Kind::Other);
                             });
        }
    }

    // ---- reading

    void schedulePull()
    {
        if (std::exchange(m_pullScheduled, true))
            return;
        later([this] {
            m_pullScheduled = false;
            pull();
        });
    }

    // Whether the device will deliver nothing more once its buffer is empty.
    bool inputEnded() const
    {
        if (m_inputFinished)
            return true;
        if (m_process)
            return m_process->state() == QProcess::NotRunning;
        if (!m_device->isSequential())
            return m_device->atEnd();
        return !m_device->isOpen();
    }

    void pull()
    {
        if (m_done || !m_device || m_eofReported)
            return;
        if (!m_device->isReadable())
            return reportEof(); // open for writing only: nothing will ever come
        for (int i = 0; i < MaxReadsPerWakeup && isReadEnabled() && !m_done; ++i) {
            const qint64 room = readRoom();
            qint64 chunk = ReadChunk;
            if (room > 0)
                chunk = qMin(chunk, room);
            // A file's own buffer may be empty while more is on disk: ask it in any case.
            const qint64 available = m_device->bytesAvailable();
            if (available <= 0 && !(m_synchronous && m_device->isOpen()))
                break;
            if (available > 0 && !m_synchronous)
                chunk = qMin(chunk, available);
            if (!takeInput(chunk))
                return;
            if (m_eofReported)
                return;
        }
        if (m_done || !m_device)
            return;
        if (!m_synchronous && m_device->bytesAvailable() <= 0)
            m_readBuffers.release(); // drained: a pipe or socket may now stay quiet for long
        if (isReadEnabled() && m_device->bytesAvailable() > 0)
            return schedulePull(); // the budget of this wake-up is spent
        if (m_device->bytesAvailable() <= 0 && inputEnded())
            reportEof();
    }

    // Reads up to max bytes into the flow. False when the flow failed (or reported the end).
    bool takeInput(qint64 max)
    {
        // Large reads go into recycled buffers (a fresh one per read faults its pages in anew);
        // small ones into a buffer of their size, and a stream that has gone small keeps none.
        const bool bulk = max >= ReadChunk / 2;
        QByteArray buffer = bulk ? m_readBuffers.take(max) : QByteArray(max, Qt::Uninitialized);
        const qint64 n = m_device->read(buffer.data(), max);
        if (n < 0) {
            fail(deviceError(Error::Kind::Other, QStringLiteral("reading failed")));
            return false;
        }
        if (n == 0) {
            // A file (read() returns 0 only at its end); other devices just have nothing now.
            if (m_synchronous)
                reportEof();
            return !m_eofReported;
        }
        if (n < ReadChunk / 2)
            m_readBuffers.release();
        if (bulk && n < max / 2) {
            // A reader may hold on to data: a mostly empty buffer is not pinned by it.
            received(QByteArray(buffer.constData(), qsizetype(n)));
            return true;
        }
        buffer.truncate(n);
        if (bulk && n >= ReadChunk / 2)
            m_readBuffers.keep(buffer);
        received(buffer);
        return true;
    }

    // Everything the device still holds goes to the flow, whatever its read-ahead, before the
    // flow fails or the device closes: those bytes are part of the stream.
    void drainInput()
    {
        if (!m_device || !m_device->isReadable() || m_eofReported)
            return;
        while (!m_done && m_device && m_device->bytesAvailable() > 0) {
            const QByteArray data = m_device->read(qMin(m_device->bytesAvailable(), ReadChunk));
            if (data.isEmpty())
                return;
            received(data);
        }
    }

    void endInput()
    {
        m_inputFinished = true;
        pull();
    }

    void reportEof()
    {
        if (std::exchange(m_eofReported, true))
            return;
        qCDebug(lcDevice) << flow() << "end of input from" << m_peerName;
        m_readBuffers.release();
        receivedEndOfStream();
    }

    // ---- writing

    void schedulePush()
    {
        if (std::exchange(m_pushScheduled, true))
            return;
        later([this] {
            m_pushScheduled = false;
            push();
        });
    }

    void push()
    {
        if (m_done || !m_device || m_writeEnded || bytesToWrite() == 0)
            return;
        if (!m_device->isWritable()) {
            m_writeEnded = true;
            return writeFailed(Error(Error::Kind::InvalidArgument,
                                     QStringLiteral("the device is not open for writing"),
                                     m_peerName));
        }
        if (m_synchronous)
            return pushSynchronously();
        while (!m_done && m_device && m_handed < bytesToWrite()
               && m_device->bytesToWrite() < WriteAhead) {
            const QList<QByteArray> data =
                    queuedData(m_handed, WriteAhead - m_device->bytesToWrite());
            for (const QByteArray &buffer : data) {
                const qint64 n = m_device->write(buffer);
                if (n < 0)
                    return failWriting();
                m_handed += n;
                if (n < buffer.size())
                    return; // the device is full; bytesWritten() brings us back
            }
        }
    }

    // A file: its write() and flush() reach the system at once, and no bytesWritten() follows.
    void pushSynchronously()
    {
        qint64 total = 0;
        for (const QByteArray &buffer : queuedData(0, SyncWriteChunk)) {
            const qint64 n = m_device->write(buffer);
            if (n < 0)
                return failWriting();
            total += n;
            if (n < buffer.size())
                break;
        }
        if (auto *file = qobject_cast<QFileDevice *>(m_device.data()); file && !file->flush())
            return failWriting();
        written(total); // may call startWriting() again: the rest follows at the next turn
        if (!m_done && bytesToWrite() > 0)
            schedulePush();
    }

    void failWriting()
    {
        m_writeEnded = true;
        writeFailed(deviceError(Error::Kind::Other, QStringLiteral("writing failed")));
    }

    void onBytesWritten(qint64 bytes)
    {
        if (m_synchronous || m_done)
            return;
        // Bytes written to the device before the flow took it over are not ours.
        const qint64 ours = qMin(bytes, m_handed);
        m_handed -= ours;
        if (ours > 0)
            written(ours); // they count as sent only now
        if (m_done)
            return;
        if (m_shutdownPending)
            finishShutdown();
        else
            schedulePush();
    }

    void finishShutdown()
    {
        if (m_done || !m_shutdownPending || bytesToWrite() > 0)
            return;
        m_shutdownPending = false;
        m_writeEnded = true;
        if (!m_device)
            return;
        if (m_process) {
            m_process->closeWriteChannel();
        } else if (!m_device->isWritable()) {
            // Nothing was ever written: the stream ends empty.
        } else if (!m_device->isReadable()) {
            // Open for writing only: closing the device ends what it holds (a complete file).
            m_closingItself = true;
            m_device->close();
            m_closingItself = false;
        } else if (!m_device->isSequential()) {
            // A file open for both: the stream ends where writing stopped.
        } else {
            return writeFailed(Error(
                    Error::Kind::Unsupported,
                    QStringLiteral("%1 cannot end one direction alone (no half-close)")
                            .arg(QString::fromLatin1(m_device->metaObject()->className())),
                    m_peerName));
        }
        qCDebug(lcDevice) << flow() << "end of output to" << m_peerName;
        endOfStreamSent();
    }

    // ---- ends and errors

    void onProcessError(QProcess::ProcessError error)
    {
        switch (error) {
        case QProcess::FailedToStart:
            return fail(deviceError(Error::Kind::Other, QStringLiteral("failed to start")));
        case QProcess::Crashed:
            drainInput(); // what it wrote before it died is still the stream
            return fail(deviceError(Error::Kind::Reset, QStringLiteral("the process crashed")));
        case QProcess::WriteError:
            // It stopped reading its input (exited, or closed it): what is queued is lost.
            m_writeEnded = true;
            return writeFailed(deviceError(Error::Kind::Closed,
                                           QStringLiteral("the process stopped reading")));
        case QProcess::ReadError:
            drainInput();
            return fail(deviceError(Error::Kind::Other, QStringLiteral("reading failed")));
        case QProcess::Timedout:
            return; // only from the waitFor functions, which the flow never calls
        case QProcess::UnknownError:
            break;
        }
        drainInput();
        fail(deviceError(Error::Kind::Other));
    }

    void onProcessFinished(QProcess::ExitStatus status)
    {
        if (m_done)
            return;
        if (status == QProcess::CrashExit) {
            drainInput();
            return fail(deviceError(Error::Kind::Reset, QStringLiteral("the process crashed")));
        }
        // Its input is gone: with bytes still queued that is a loss the flow reports.
        if (!m_writeEnded) {
            m_writeEnded = true;
            m_shutdownPending = false;
            peerGone();
        }
        if (!m_done) {
            m_inputFinished = true;
            pull(); // Eof after what it holds, once the reader took it
        }
    }

    void onSocketError(Error::Kind kind)
    {
        drainInput();
        fail(deviceError(kind));
    }

    // The device closes under the flow (not by the flow): what it holds is read first.
    void onAboutToClose()
    {
        if (m_done || m_closingItself)
            return;
        drainInput();
        if (m_done)
            return;
        if (!m_eofReported && !m_inputFinished && m_device->isReadable()) {
            return fail(Error(Error::Kind::Closed,
                              QStringLiteral("the device was closed before its end of stream"),
                              m_peerName));
        }
        reportEof();
        if (!m_done && !m_writeEnded) {
            m_writeEnded = true;
            peerGone();
        }
    }

    QPointer<QIODevice> m_device;
    QProcess *m_process = nullptr;           // the same device, when it is one
    QAbstractSocket *m_socket = nullptr;     // "
    QLocalSocket *m_localSocket = nullptr;   // "
    QPointer<QObject> m_context;
    ReadBuffers m_readBuffers;
    QString m_name;
    QString m_peerName;
    qint64 m_handed = 0; // given to the device's write(), not yet reported by bytesWritten()
    bool m_synchronous = false;
    bool m_pullScheduled = false;
    bool m_pushScheduled = false;
    bool m_inputFinished = false;
    bool m_eofReported = false;
    bool m_shutdownPending = false;
    bool m_writeEnded = false;
    bool m_closingItself = false;
    bool m_failed = false;
    bool m_done = false;
};

} // namespace

/*!
    \class rill::DeviceFlow
    \brief Any QIODevice as a flow; see rill/deviceflow.h.
*/

DeviceFlow::DeviceFlow(QIODevice *device, QObject *parent)
    : TransportFlow(std::make_unique<DeviceTransport>(device), parent)
{
}

DeviceFlow::~DeviceFlow() = default;

QIODevice *DeviceFlow::device() const
{
    return static_cast<DeviceTransport *>(transport())->device();
}

} // namespace rill
