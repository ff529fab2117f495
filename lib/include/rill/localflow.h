// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::LocalFlow, a local (Unix domain) socket connection as a flow.

#include <rill/flow.h>
#include <rill/flowresult.h>

#include <chrono>

QT_BEGIN_NAMESPACE
class QLocalSocket;
QT_END_NAMESPACE

namespace rill {

class LocalFlowPrivate;

/// A local socket (a Unix domain socket) as a flow, with true half-close in both directions.
///
/// On Unix the flow takes over the socket's descriptor once connected, as TcpFlow does. On
/// Windows a local socket is a named pipe, which cannot half-close: there shutdown(Write)
/// fails the write side with an error of kind Unsupported instead of losing data silently.
/// A Unix socket has no reset: after abort() the peer reads end of stream (Flow::abort()).
///
/// \sa LocalListener, connectTo()
class RILL_EXPORT LocalFlow : public Flow
{
    Q_OBJECT
    /// The server's name as given. \sa serverName()
    Q_PROPERTY(QString serverName READ serverName NOTIFY endpointsChanged)
    /// The socket's path. \sa fullServerName()
    Q_PROPERTY(QString fullServerName READ fullServerName NOTIFY endpointsChanged)
public:
    /// Wraps \a socket, connected or still connecting, and takes ownership of it.
    ///
    /// Bytes the socket already received are delivered to read() first; if it had seen the
    /// peer's end of stream, read() then gives Eof and writes give Eof.
    explicit LocalFlow(QLocalSocket *socket, QObject *parent = nullptr);
    /// Drops the connection as Flow::~Flow() does.
    ~LocalFlow() override;

    /// Connects to a local server by \a name or path (as QLocalSocket::connectToServer()),
    /// within defaultConnectTimeout().
    ///
    /// Resolves with the connected flow, owned by the result, or with an error naming the
    /// endpoint: kind Refused (nobody listens on the socket), HostNotFound, AccessDenied, or
    /// TimedOut when the default connect timeout passes.
    /// The future is finished in the calling thread, where the flow lives; that thread needs an
    /// event loop. Cancelling the future does not stop the attempt: a flow it makes is then
    /// deleted, never handed out.
    static QFuture<FlowResult<LocalFlow>> connectToServer(const QString &name);
    /// Connects to \a name as connectToServer(const QString &) does, until \a deadline: then an
    /// error of kind TimedOut.
    ///
    /// A duration such as 500ms converts to a deadline that far from now.
    static QFuture<FlowResult<LocalFlow>> connectToServer(const QString &name,
                                                          QDeadlineTimer deadline);
    /// The bound of connectToServer() without a deadline, and of connectTo() for Unix sockets:
    /// 30 s unless changed.
    static std::chrono::milliseconds defaultConnectTimeout();
    /// Sets the default connect timeout to \a timeout, for every thread.
    static void setDefaultConnectTimeout(std::chrono::milliseconds timeout);

    /// The server's name as given to connectToServer() (or the listener's, for an accepted flow).
    QString serverName() const;
    /// The socket's full path.
    QString fullServerName() const;
    /// The descriptor while the flow holds one, else -1.
    qintptr socketDescriptor() const;

private:
    friend class LocalListenerPrivate;
    explicit LocalFlow(LocalFlowPrivate &dd, QObject *parent);
    Q_DECLARE_PRIVATE_D(d_rill, LocalFlow)
    Q_DISABLE_COPY(LocalFlow)
};

} // namespace rill
