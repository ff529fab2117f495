// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include "socketflow_p.h"

#include <rill/localflow.h>

QT_BEGIN_NAMESPACE
class QLocalSocket;
QT_END_NAMESPACE

namespace rill {

class LocalFlowPrivate final : public SocketFlowPrivate
{
    Q_DECLARE_PUBLIC(LocalFlow)
public:
    QString transportName() const override { return QStringLiteral("unix"); }
    Endpoint currentLocalEndpoint() const override;
    Endpoint currentPeerEndpoint() const override;
    QString errorEndpoint() const override;

    void wrap(QLocalSocket *socket);

    QString serverName;     // written under infoMutex: LocalFlow's getters read it anywhere
    QString fullServerName;
    bool accepted = false; // the server side of a connection

protected:
    void abortConnecting() override;
    Error connectTimeoutError() const override;

    void takeOverSocket() override;
};

} // namespace rill
