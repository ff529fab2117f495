// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/flow.h>
#include <rill/flowresult.h>

#include <chrono>

QT_BEGIN_NAMESPACE
class QLocalSocket;
QT_END_NAMESPACE

namespace rill {

class LocalFlowPrivate;

// A local socket (a Unix domain socket) as a flow, with true half-close in both directions.
//
// On Unix the flow takes over the socket's descriptor once connected, as TcpFlow does. On
// Windows a local socket is a named pipe, which cannot half-close: there shutdown(Write)
// fails the write side with an error of kind Unsupported instead of losing data silently.
class RILL_EXPORT LocalFlow : public Flow
{
    Q_OBJECT
    Q_PROPERTY(QString serverName READ serverName NOTIFY endpointsChanged)
    Q_PROPERTY(QString fullServerName READ fullServerName NOTIFY endpointsChanged)
public:
    // Wraps a socket that is connected or still connecting, and takes ownership of it.
    explicit LocalFlow(QLocalSocket *socket, QObject *parent = nullptr);
    ~LocalFlow() override;

    // Connects to a local server by name or path (as QLocalSocket::connectToServer). Resolves
    // with the connected flow or an error (refused, not found, access denied, timed out at
    // the deadline: a duration such as 500ms is a deadline that far from now).
    static QFuture<FlowResult<LocalFlow>> connectToServer(const QString &name);
    static QFuture<FlowResult<LocalFlow>> connectToServer(const QString &name,
                                                          QDeadlineTimer deadline);
    static std::chrono::milliseconds defaultConnectTimeout(); // 30 s unless changed
    static void setDefaultConnectTimeout(std::chrono::milliseconds timeout);

    QString serverName() const;
    QString fullServerName() const;
    qintptr socketDescriptor() const;

private:
    friend class LocalListenerPrivate;
    explicit LocalFlow(LocalFlowPrivate &dd, QObject *parent);
    Q_DECLARE_PRIVATE_D(d_rill, LocalFlow)
    Q_DISABLE_COPY(LocalFlow)
};

} // namespace rill
