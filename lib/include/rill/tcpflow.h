// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::TcpFlow, a TCP connection as a flow.

#include <rill/flow.h>
#include <rill/flowresult.h>

#include <QtNetwork/QAbstractSocket>
#include <QtNetwork/QHostAddress>

#include <chrono>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace rill {

class TcpFlowPrivate;

/// A TCP connection as a flow, with true half-close in both directions.
///
/// Once connected, the flow owns the connection's descriptor itself: QTcpSocket closes the
/// whole socket when the peer half-closes and drops what it had not sent, so the flow takes the
/// descriptor over (see the README). The addresses, ports and socket options are here instead.
/// Everything else, the contract included, is Flow's.
///
/// \sa TcpListener, connectTo()
class RILL_EXPORT TcpFlow : public Flow
{
    Q_OBJECT
    /// Our address. \sa localAddress()
    Q_PROPERTY(QHostAddress localAddress READ localAddress NOTIFY endpointsChanged)
    /// Our port. \sa localPort()
    Q_PROPERTY(quint16 localPort READ localPort NOTIFY endpointsChanged)
    /// The peer's address. \sa peerAddress()
    Q_PROPERTY(QHostAddress peerAddress READ peerAddress NOTIFY endpointsChanged)
    /// The peer's port. \sa peerPort()
    Q_PROPERTY(quint16 peerPort READ peerPort NOTIFY endpointsChanged)
    /// The host name connected to. \sa peerName()
    Q_PROPERTY(QString peerName READ peerName NOTIFY endpointsChanged)
public:
    /// Wraps \a socket, connected or still connecting, and takes ownership of it.
    ///
    /// Bytes the socket already received are delivered to read() first; if it had seen the
    /// peer's end of stream, read() then gives Eof and writes give Eof. The socket object is
    /// deleted once the flow has taken over its connection; use the flow's accessors from then
    /// on. A null \a socket gives a failed flow (kind Error::Kind::InvalidArgument).
    explicit TcpFlow(QTcpSocket *socket, QObject *parent = nullptr);
    /// Drops the connection as Flow::~Flow() does.
    ~TcpFlow() override;

    /// Connects to \a host (a name or an address literal) on \a port, within
    /// defaultConnectTimeout().
    ///
    /// Resolves with the connected flow, owned by the result, or with an error naming the
    /// endpoint: kind Refused, HostNotFound, AccessDenied, or TimedOut when the default connect
    /// timeout passes.
    /// The future is finished in the calling thread, where the flow lives; that thread needs an
    /// event loop. Cancelling the future does not stop the attempt: a flow it makes is then
    /// deleted, never handed out.
    static QFuture<FlowResult<TcpFlow>> connectToHost(const QString &host, quint16 port);
    /// Connects to \a host on \a port as connectToHost(const QString &, quint16) does, until
    /// \a deadline: then an error of kind TimedOut.
    ///
    /// A duration such as 500ms converts to a deadline that far from now.
    static QFuture<FlowResult<TcpFlow>> connectToHost(const QString &host, quint16 port,
                                                      QDeadlineTimer deadline);
    /// The bound of connectToHost() without a deadline, and of connectTo() for TCP: 30 s unless
    /// changed.
    static std::chrono::milliseconds defaultConnectTimeout();
    /// Sets the default connect timeout to \a timeout, for every thread.
    static void setDefaultConnectTimeout(std::chrono::milliseconds timeout);

    /// Our address, once connected; from any thread.
    QHostAddress localAddress() const;
    /// Our port, once connected; from any thread.
    quint16 localPort() const;
    /// The peer's address, once connected; from any thread.
    QHostAddress peerAddress() const;
    /// The peer's port; from any thread.
    quint16 peerPort() const;
    /// The host name given to connectToHost(), or empty.
    QString peerName() const;

    /// The descriptor while the flow holds one, else -1.
    qintptr socketDescriptor() const;

    /// Sets \a option to \a value; from another thread, the descriptor gets it in the flow's
    /// thread.
    ///
    /// LowDelayOption (TCP_NODELAY) is on by default. Supported: LowDelayOption,
    /// KeepAliveOption, SendBufferSizeSocketOption, ReceiveBufferSizeSocketOption. Options set
    /// while connecting apply once connected.
    void setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value);
    /// The value of \a option: in the flow's thread the descriptor's own, elsewhere the value
    /// set with setSocketOption() (an invalid QVariant for one never set).
    QVariant socketOption(QAbstractSocket::SocketOption option) const;

private:
    friend class TcpListenerPrivate;
    explicit TcpFlow(TcpFlowPrivate &dd, QObject *parent);
    Q_DECLARE_PRIVATE_D(d_rill, TcpFlow)
    Q_DISABLE_COPY(TcpFlow)
};

} // namespace rill
