// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include "socketflow_p.h"

#include <rill/tcpflow.h>

#include <array>
#include <optional>

QT_BEGIN_NAMESPACE
class QTcpSocket;
QT_END_NAMESPACE

namespace rill {

Error socketError(QAbstractSocket::SocketError error, const QString &errorString,
                  const QString &endpoint);
Error tcpSocketError(const QTcpSocket *socket, const QString &endpoint);

class TcpFlowPrivate final : public SocketFlowPrivate
{
    Q_DECLARE_PUBLIC(TcpFlow)
public:
    TcpFlowPrivate();

    QString transportName() const override { return QStringLiteral("tcp"); }
    Endpoint currentLocalEndpoint() const override;
    Endpoint currentPeerEndpoint() const override;
    QString errorEndpoint() const override;

    void wrap(QTcpSocket *socket);
    void adoptAccepted(int descriptor);
    bool applyOption(QAbstractSocket::SocketOption option);

    // Written under infoMutex on the flow's thread; TcpFlow's getters read them anywhere.
    QHostAddress localAddress;
    quint16 localPort = 0;
    QHostAddress peerAddress;
    quint16 peerPort = 0;
    bool peerPortKnown = false; // a port given to connectToHost(), 0 included
    QString targetHost; // the name connected to, for messages before an address is known
    // The supported options (see nativeOption), set before or after connecting. A fixed array,
    // not a hash: an idle flow pays for every byte it holds.
    std::array<std::optional<int>, 4> options;

protected:
    void abortConnecting() override;
    Error connectTimeoutError() const override;
    void configureDescriptor() override;

    void takeOverSocket() override;
};

} // namespace rill
