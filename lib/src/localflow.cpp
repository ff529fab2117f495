// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "localflow_p.h"

#include <rill/endpoint.h>

#include <QtNetwork/QLocalSocket>

#include <atomic>

namespace rill {

namespace {

std::atomic<qint64> defaultTimeoutMs{30000};

Error::Kind kindOf(QLocalSocket::LocalSocketError error)
{
    switch (error) {
    case QLocalSocket::ConnectionRefusedError:
        return Error::Kind::Refused;
    case QLocalSocket::PeerClosedError:
        return Error::Kind::Reset;
    case QLocalSocket::ServerNotFoundError:
        return Error::Kind::HostNotFound;
    case QLocalSocket::SocketAccessError:
        return Error::Kind::AccessDenied;
    case QLocalSocket::SocketTimeoutError:
        return Error::Kind::TimedOut;
    case QLocalSocket::UnsupportedSocketOperationError:
        return Error::Kind::Unsupported;
    case QLocalSocket::OperationError:
        return Error::Kind::InvalidArgument;
    default:
        return Error::Kind::Other;
    }
}

// The errno behind an UnknownSocketError: Qt maps only a few, and words the rest as
// "QLocalSocket::connectToServer: Unknown error 20". 0 when there is none.
int unmappedErrno(const QLocalSocket *socket)
{
    if (socket->error() != QLocalSocket::UnknownSocketError)
        return 0;
    static const QLatin1String marker("Unknown error ");
    const QString text = socket->errorString();
    const qsizetype at = text.lastIndexOf(marker);
    return at < 0 ? 0 : text.mid(at + marker.size()).toInt();
}

Error localSocketError(const QLocalSocket *socket, const QString &endpoint)
{
    if (const int code = unmappedErrno(socket))
        return Error(Error::Kind::Other, qt_error_string(code).toLower(), endpoint);
    const Error::Kind kind = kindOf(socket->error());
    QString text;
    switch (kind) {
    case Error::Kind::Refused:
        text = QStringLiteral("connection refused (nobody listens on the socket)");
        break;
    case Error::Kind::HostNotFound:
        text = QStringLiteral("no such socket");
        break;
    case Error::Kind::AccessDenied:
        text = QStringLiteral("access denied");
        break;
    default:
        text = socket->errorString().toLower();
        break;
    }
    return Error(kind, text, endpoint);
}

} // namespace

// A connecting socket has no name of its own; only the listening side is named.
static Endpoint unnamed()
{
    return Endpoint::local(QStringLiteral("(unnamed)"));
}

Endpoint LocalFlowPrivate::currentLocalEndpoint() const
{
    const QString path = fullServerName.isEmpty() ? serverName : fullServerName;
    if (path.isEmpty())
        return Endpoint();
    return accepted ? Endpoint::local(path) : unnamed();
}

Endpoint LocalFlowPrivate::currentPeerEndpoint() const
{
    const QString path = fullServerName.isEmpty() ? serverName : fullServerName;
    if (path.isEmpty())
        return Endpoint();
    return accepted ? unnamed() : Endpoint::local(path);
}

// Both sides of a Unix socket connection are best named by the socket's path.
QString LocalFlowPrivate::errorEndpoint() const
{
    const QString path = fullServerName.isEmpty() ? serverName : fullServerName;
    return path.isEmpty() ? QString() : Endpoint::local(path).toString();
}

void LocalFlowPrivate::wrap(QLocalSocket *socket)
{
    watchConnecting(socket);
    // A failed connect may already have cleared the socket's names.
    {
        QMutexLocker locker(&infoMutex);
        if (!socket->serverName().isEmpty())
            serverName = socket->serverName();
        if (!socket->fullServerName().isEmpty())
            fullServerName = socket->fullServerName();
    }
    publishEndpoints();
    if (socket->state() == QLocalSocket::ConnectedState) {
        takeOverSocket();
        return;
    }
    if (socket->state() == QLocalSocket::UnconnectedState) {
        if (socket->error() == QLocalSocket::PeerClosedError || socket->bytesAvailable() > 0) {
            adoptEnded(socket); // Qt saw the peer's end first: its bytes, then Eof
            return;
        }
        // Connecting may fail before we could listen to the socket's signals.
        fail(socket->error() != QLocalSocket::UnknownSocketError || unmappedErrno(socket) != 0
                     ? localSocketError(socket, errorEndpoint())
                     : Error(Error::Kind::Closed, QStringLiteral("the socket is not connected"),
                             errorEndpoint()),
             false);
        return;
    }
    QObject::connect(socket, &QLocalSocket::connected, q_ptr, [this] { takeOverSocket(); });
    QObject::connect(socket, &QLocalSocket::errorOccurred, q_ptr, [this, socket] {
        if (state == Flow::State::Connecting)
            fail(localSocketError(socket, errorEndpoint()), false);
    });
}

void LocalFlowPrivate::takeOverSocket()
{
    auto *socket = qobject_cast<QLocalSocket *>(m_connecting.data());
    if (!socket)
        return;
    if (waitForQtFlush(socket))
        return;
    {
        QMutexLocker locker(&infoMutex);
        serverName = socket->serverName();
        fullServerName = socket->fullServerName();
    }
#ifdef Q_OS_WIN
    // A named pipe has no descriptor to take over and cannot half-close.
    fail(Error(Error::Kind::Unsupported,
               QStringLiteral("local sockets are named pipes here and cannot half-close"),
               errorEndpoint()),
         true);
#else
    takeOver(socket, socket->socketDescriptor());
#endif
}

void LocalFlowPrivate::abortConnecting()
{
    if (auto *socket = qobject_cast<QLocalSocket *>(m_connecting.data()))
        socket->abort();
}

Error LocalFlowPrivate::connectTimeoutError() const
{
    return Error(Error::Kind::TimedOut, QStringLiteral("connecting timed out"), errorEndpoint());
}

// ---------------------------------------------------------------------------------------------

LocalFlow::LocalFlow(QLocalSocket *socket, QObject *parent) : LocalFlow(*new LocalFlowPrivate, parent)
{
    Q_D(LocalFlow);
    if (!socket) {
        d->fail(Error(Error::Kind::InvalidArgument, QStringLiteral("no socket given")), false);
        return;
    }
    d->wrap(socket);
}

LocalFlow::LocalFlow(LocalFlowPrivate &dd, QObject *parent) : Flow(dd, parent) {}

LocalFlow::~LocalFlow() = default;

QFuture<FlowResult<LocalFlow>> LocalFlow::connectToServer(const QString &name)
{
    return connectToServer(name, defaultConnectTimeout());
}

QFuture<FlowResult<LocalFlow>> LocalFlow::connectToServer(const QString &name,
                                                          QDeadlineTimer deadline)
{
    auto *d = new LocalFlowPrivate;
    d->serverName = name; // known before any error, so that the error names it
    auto *flow = new LocalFlow(*d, nullptr);
    auto *socket = new QLocalSocket;
    socket->connectToServer(name);
    d->wrap(socket);
    d->startConnectTimeout(deadline);
    return connectedFuture(flow);
}

std::chrono::milliseconds LocalFlow::defaultConnectTimeout()
{
    return std::chrono::milliseconds(defaultTimeoutMs.load());
}

void LocalFlow::setDefaultConnectTimeout(std::chrono::milliseconds timeout)
{
    defaultTimeoutMs.store(timeout.count());
}

QString LocalFlow::serverName() const
{
    QMutexLocker locker(&d_func()->infoMutex);
    return d_func()->serverName;
}

QString LocalFlow::fullServerName() const
{
    QMutexLocker locker(&d_func()->infoMutex);
    return d_func()->fullServerName;
}

qintptr LocalFlow::socketDescriptor() const { return d_func()->fd; }

} // namespace rill
