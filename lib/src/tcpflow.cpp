// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "tcpflow_p.h"

#include <rill/endpoint.h>

#include <QtCore/QThread>
#include <QtNetwork/QTcpSocket>

#include <atomic>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace rill {

namespace {

std::atomic<qint64> defaultTimeoutMs{30000};

Error::Kind kindOf(QAbstractSocket::SocketError error)
{
    switch (error) {
    case QAbstractSocket::ConnectionRefusedError:
        return Error::Kind::Refused;
    case QAbstractSocket::RemoteHostClosedError:
        return Error::Kind::Reset;
    case QAbstractSocket::HostNotFoundError:
        return Error::Kind::HostNotFound;
    case QAbstractSocket::SocketAccessError:
        return Error::Kind::AccessDenied;
    case QAbstractSocket::SocketTimeoutError:
        return Error::Kind::TimedOut;
    case QAbstractSocket::AddressInUseError:
        return Error::Kind::AddressInUse;
    case QAbstractSocket::UnsupportedSocketOperationError:
        return Error::Kind::Unsupported;
    case QAbstractSocket::OperationError:
        return Error::Kind::InvalidArgument;
    case QAbstractSocket::SocketResourceError:
        return Error::Kind::OutOfResources;
    default:
        return Error::Kind::Other;
    }
}

// A thread's flows mostly repeat their addresses (an accepted flow's local address is its
// listener's; peers often come through one proxy or NAT), and a QHostAddress and its text cost
// about 100 bytes of heap each, a third of an idle flow: flows share them, as Qt's implicitly
// shared values can.
struct SharedAddress
{
    QHostAddress address;
    QString text;
};

const SharedAddress &shared(const QHostAddress &address)
{
    thread_local SharedAddress recent[2]; // a local and a peer address
    thread_local int next = 0;
    for (const SharedAddress &s : recent) {
        // Strict: ::ffff:127.0.0.1 is not written as 127.0.0.1.
        if (!s.text.isNull() && s.address.isEqual(address, QHostAddress::StrictConversion))
            return s;
    }
    SharedAddress &s = recent[next];
    next ^= 1;
    s.address = address;
    s.text = address.toString();
    return s;
}

Endpoint describe(const QHostAddress &address, quint16 port)
{
    return Endpoint::tcp(shared(address).text, port);
}

struct OptionLevel
{
    int level;
    int name;
    int slot; // in TcpFlowPrivate::options
};

bool nativeOption(QAbstractSocket::SocketOption option, OptionLevel *out)
{
    switch (option) {
    case QAbstractSocket::LowDelayOption:
        *out = {IPPROTO_TCP, TCP_NODELAY, 0};
        return true;
    case QAbstractSocket::KeepAliveOption:
        *out = {SOL_SOCKET, SO_KEEPALIVE, 1};
        return true;
    case QAbstractSocket::SendBufferSizeSocketOption:
        *out = {SOL_SOCKET, SO_SNDBUF, 2};
        return true;
    case QAbstractSocket::ReceiveBufferSizeSocketOption:
        *out = {SOL_SOCKET, SO_RCVBUF, 3};
        return true;
    default:
        return false;
    }
}

} // namespace

Error socketError(QAbstractSocket::SocketError error, const QString &errorString,
                  const QString &endpoint)
{
    const Error::Kind kind = kindOf(error);
    QString text = errorString;
    // Qt's strings vary by version and platform; these kinds get one wording everywhere.
    if (kind == Error::Kind::HostNotFound)
        text = QStringLiteral("host not found");
    else if (kind == Error::Kind::Refused || kind == Error::Kind::TimedOut || text.isEmpty())
        text = errorKindName(kind);
    return Error(kind, text.toLower(), endpoint);
}

Error tcpSocketError(const QTcpSocket *socket, const QString &endpoint)
{
    return socketError(socket->error(), socket->errorString(), endpoint);
}

TcpFlowPrivate::TcpFlowPrivate()
{
    options[0] = 1; // LowDelayOption: flows are for protocols, not for bulk-only pipes
}

Endpoint TcpFlowPrivate::currentLocalEndpoint() const
{
    return localAddress.isNull() ? Endpoint() : describe(localAddress, localPort);
}

Endpoint TcpFlowPrivate::currentPeerEndpoint() const
{
    if (!peerAddress.isNull())
        return describe(peerAddress, peerPort);
    // A wrapped socket's target port is unknown until it connects: no endpoint rather than a
    // wrong one (port 0 means "any").
    if (targetHost.isEmpty() || (peerPort == 0 && !peerPortKnown))
        return Endpoint();
    return Endpoint::tcp(targetHost, peerPort);
}

QString TcpFlowPrivate::errorEndpoint() const
{
    if (peerAddress.isNull() && !targetHost.isEmpty() && peerPort == 0 && !peerPortKnown)
        return Endpoint::tcp(targetHost, 0).toString().chopped(2); // the host, with no port
    return currentPeerEndpoint().toString();
}

void TcpFlowPrivate::wrap(QTcpSocket *socket)
{
    watchConnecting(socket);
    {
        QMutexLocker locker(&infoMutex);
        if (targetHost.isEmpty())
            targetHost = socket->peerName();
        if (peerPort == 0)
            peerPort = socket->peerPort(); // 0 until connected: a wrapped socket's target port is unknown
        // Known while the socket is connected; Qt forgets them once it saw the peer's end.
        if (socket->state() == QAbstractSocket::ConnectedState) {
            localAddress = socket->localAddress();
            localPort = socket->localPort();
            peerAddress = socket->peerAddress();
            peerPort = socket->peerPort();
        }
    }
    publishEndpoints();
    if (socket->state() == QAbstractSocket::ConnectedState) {
        takeOverSocket();
        return;
    }
    if (socket->state() == QAbstractSocket::UnconnectedState) {
        if (socket->error() == QAbstractSocket::RemoteHostClosedError
            || socket->bytesAvailable() > 0) {
            // Qt saw the peer's end of stream (and closed the connection) before the flow
            // was made: what it read is still the stream, then Eof. Nothing can be written.
            adoptEnded(socket);
            return;
        }
        // Connecting may fail before we could listen to the socket's signals.
        fail(socket->error() != QAbstractSocket::UnknownSocketError
                     ? tcpSocketError(socket, errorEndpoint())
                     : Error(Error::Kind::Closed, QStringLiteral("the socket is not connected"),
                             errorEndpoint()),
             false);
        return;
    }
    QObject::connect(socket, &QTcpSocket::connected, q_ptr, [this] { takeOverSocket(); });
    QObject::connect(socket, &QTcpSocket::errorOccurred, q_ptr, [this, socket] {
        if (state == Flow::State::Connecting)
            fail(tcpSocketError(socket, errorEndpoint()), false);
    });
}

void TcpFlowPrivate::takeOverSocket()
{
    auto *socket = qobject_cast<QTcpSocket *>(m_connecting.data());
    if (!socket)
        return;
    if (waitForQtFlush(socket))
        return;
    {
        QMutexLocker locker(&infoMutex);
        localAddress = shared(socket->localAddress()).address;
        localPort = socket->localPort();
        peerAddress = shared(socket->peerAddress()).address;
        peerPort = socket->peerPort();
        if (targetHost.isEmpty())
            targetHost = socket->peerName();
    }
    takeOver(socket, socket->socketDescriptor());
}

void TcpFlowPrivate::abortConnecting()
{
    if (auto *socket = qobject_cast<QTcpSocket *>(m_connecting.data()))
        socket->abort();
}

Error TcpFlowPrivate::connectTimeoutError() const
{
    return Error(Error::Kind::TimedOut, QStringLiteral("connecting timed out"), errorEndpoint());
}

void TcpFlowPrivate::configureDescriptor()
{
    for (QAbstractSocket::SocketOption option :
         {QAbstractSocket::LowDelayOption, QAbstractSocket::KeepAliveOption,
          QAbstractSocket::SendBufferSizeSocketOption,
          QAbstractSocket::ReceiveBufferSizeSocketOption})
        applyOption(option);
}

// Sets the option's stored value on the descriptor, if both exist.
bool TcpFlowPrivate::applyOption(QAbstractSocket::SocketOption option)
{
    OptionLevel native;
    if (fd < 0 || !nativeOption(option, &native))
        return false;
    QMutexLocker locker(&infoMutex);
    if (!options[native.slot])
        return false;
    const int v = *options[native.slot];
    locker.unlock();
    return ::setsockopt(fd, native.level, native.name, &v, sizeof v) == 0;
}

void TcpFlowPrivate::adoptAccepted(int descriptor)
{
    QMutexLocker locker(&infoMutex);
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t localLength = sizeof local;
    socklen_t peerLength = sizeof peer;
    if (::getsockname(descriptor, reinterpret_cast<sockaddr *>(&local), &localLength) == 0) {
        localAddress = shared(QHostAddress(reinterpret_cast<sockaddr *>(&local))).address;
        localPort = ntohs(local.ss_family == AF_INET6
                                  ? reinterpret_cast<sockaddr_in6 *>(&local)->sin6_port
                                  : reinterpret_cast<sockaddr_in *>(&local)->sin_port);
    }
    if (::getpeername(descriptor, reinterpret_cast<sockaddr *>(&peer), &peerLength) == 0) {
        peerAddress = shared(QHostAddress(reinterpret_cast<sockaddr *>(&peer))).address;
        peerPort = ntohs(peer.ss_family == AF_INET6
                                 ? reinterpret_cast<sockaddr_in6 *>(&peer)->sin6_port
                                 : reinterpret_cast<sockaddr_in *>(&peer)->sin_port);
    }
    locker.unlock();
    adopt(descriptor);
}

// ---------------------------------------------------------------------------------------------

TcpFlow::TcpFlow(QTcpSocket *socket, QObject *parent) : TcpFlow(*new TcpFlowPrivate, parent)
{
    Q_D(TcpFlow);
    if (!socket) {
        d->fail(Error(Error::Kind::InvalidArgument, QStringLiteral("no socket given")), false);
        return;
    }
    d->wrap(socket);
}

TcpFlow::TcpFlow(TcpFlowPrivate &dd, QObject *parent) : Flow(dd, parent) {}

TcpFlow::~TcpFlow() = default;

QFuture<FlowResult<TcpFlow>> TcpFlow::connectToHost(const QString &host, quint16 port)
{
    return connectToHost(host, port, defaultConnectTimeout());
}

QFuture<FlowResult<TcpFlow>> TcpFlow::connectToHost(const QString &host, quint16 port,
                                                    QDeadlineTimer deadline)
{
    auto *d = new TcpFlowPrivate;
    d->targetHost = host; // known before any error, so that the error names it
    d->peerPort = port;
    d->peerPortKnown = true;
    auto *flow = new TcpFlow(*d, nullptr);
    auto *socket = new QTcpSocket;
    socket->connectToHost(host, port);
    d->wrap(socket);
    d->startConnectTimeout(deadline);
    return connectedFuture(flow);
}

std::chrono::milliseconds TcpFlow::defaultConnectTimeout()
{
    return std::chrono::milliseconds(defaultTimeoutMs.load());
}

void TcpFlow::setDefaultConnectTimeout(std::chrono::milliseconds timeout)
{
    defaultTimeoutMs.store(timeout.count());
}

// The address getters read what the flow's thread wrote under infoMutex: safe anywhere.
template<typename T>
static T locked(const TcpFlowPrivate *d, T TcpFlowPrivate::*field)
{
    QMutexLocker locker(&d->infoMutex);
    return d->*field;
}

QHostAddress TcpFlow::localAddress() const { return locked(d_func(), &TcpFlowPrivate::localAddress); }
quint16 TcpFlow::localPort() const { return locked(d_func(), &TcpFlowPrivate::localPort); }
QHostAddress TcpFlow::peerAddress() const { return locked(d_func(), &TcpFlowPrivate::peerAddress); }
quint16 TcpFlow::peerPort() const { return locked(d_func(), &TcpFlowPrivate::peerPort); }
QString TcpFlow::peerName() const { return locked(d_func(), &TcpFlowPrivate::targetHost); }
qintptr TcpFlow::socketDescriptor() const { return d_func()->fd; }

void TcpFlow::setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value)
{
    Q_D(TcpFlow);
    OptionLevel native;
    if (!nativeOption(option, &native)) {
        qCWarning(lcSocket) << "TcpFlow::setSocketOption: unsupported option" << option;
        return;
    }
    {
        QMutexLocker locker(&d->infoMutex);
        d->options[native.slot] = value.toInt();
    }
    d->runOnFlowThread([d, option] { d->applyOption(option); });
}

QVariant TcpFlow::socketOption(QAbstractSocket::SocketOption option) const
{
    Q_D(const TcpFlow);
    OptionLevel native;
    if (!nativeOption(option, &native))
        return QVariant();
    if (d->fd >= 0 && QThread::currentThread() == thread()) {
        int v = 0;
        socklen_t length = sizeof v;
        if (::getsockopt(d->fd, native.level, native.name, &v, &length) == 0)
            return option == QAbstractSocket::LowDelayOption
                            || option == QAbstractSocket::KeepAliveOption
                    ? QVariant(v != 0 ? 1 : 0)
                    : QVariant(v);
    }
    QMutexLocker locker(&d->infoMutex);
    return d->options[native.slot] ? QVariant(*d->options[native.slot]) : QVariant();
}

} // namespace rill
