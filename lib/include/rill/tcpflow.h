// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

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

// A TCP connection as a flow, with true half-close in both directions.
//
// Once connected, the flow owns the connection's descriptor itself: QTcpSocket closes the
// whole socket when the peer half-closes and drops what it had not sent, so the flow takes the
// descriptor over (see the README). The addresses, ports and socket options are here instead.
class RILL_EXPORT TcpFlow : public Flow
{
    Q_OBJECT
    Q_PROPERTY(QHostAddress localAddress READ localAddress NOTIFY endpointsChanged)
    Q_PROPERTY(quint16 localPort READ localPort NOTIFY endpointsChanged)
    Q_PROPERTY(QHostAddress peerAddress READ peerAddress NOTIFY endpointsChanged)
    Q_PROPERTY(quint16 peerPort READ peerPort NOTIFY endpointsChanged)
    Q_PROPERTY(QString peerName READ peerName NOTIFY endpointsChanged)
public:
    // Wraps a socket that is connected or still connecting, and takes ownership of it. Bytes
    // the socket already received are delivered to read() first. The socket object is deleted
    // once the flow has taken over its connection; use the flow's accessors from then on.
    explicit TcpFlow(QTcpSocket *socket, QObject *parent = nullptr);
    ~TcpFlow() override;

    // Connects to host:port (a name or an address literal). Resolves with the connected flow,
    // or an error (refused, host not found, timed out, access denied) naming the endpoint. The
    // flow lives in the calling thread, which needs an event loop.
    static QFuture<FlowResult<TcpFlow>> connectToHost(const QString &host, quint16 port);
    // At the deadline (a duration such as 500ms is a deadline that far from now), an error of
    // kind TimedOut.
    static QFuture<FlowResult<TcpFlow>> connectToHost(const QString &host, quint16 port,
                                                      QDeadlineTimer deadline);
    static std::chrono::milliseconds defaultConnectTimeout();
    static void setDefaultConnectTimeout(std::chrono::milliseconds timeout);

    QHostAddress localAddress() const;
    quint16 localPort() const;
    QHostAddress peerAddress() const;
    quint16 peerPort() const;
    QString peerName() const;

    // The descriptor while the flow holds one, else -1.
    qintptr socketDescriptor() const;

    // LowDelayOption (TCP_NODELAY) is on by default. Supported: LowDelayOption,
    // KeepAliveOption, SendBufferSizeSocketOption, ReceiveBufferSizeSocketOption. Options set
    // while connecting apply once connected.
    void setSocketOption(QAbstractSocket::SocketOption option, const QVariant &value);
    QVariant socketOption(QAbstractSocket::SocketOption option) const;

private:
    friend class TcpListenerPrivate;
    explicit TcpFlow(TcpFlowPrivate &dd, QObject *parent);
    Q_DECLARE_PRIVATE_D(d_rill, TcpFlow)
    Q_DISABLE_COPY(TcpFlow)
};

} // namespace rill
