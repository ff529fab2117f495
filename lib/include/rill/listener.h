// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/localflow.h>
#include <rill/tcpflow.h>

#include <QtNetwork/QHostAddress>

namespace rill {

class TcpListenerPrivate;
class LocalListenerPrivate;

// Accepts TCP connections as flows. Connections the kernel accepted wait in a queue of
// maxPendingConnections(); past that the listener stops accepting until accept() is called.
class RILL_EXPORT TcpListener : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(QString endpoint READ endpoint NOTIFY listeningChanged)
public:
    explicit TcpListener(QObject *parent = nullptr);
    ~TcpListener() override;

    // Port 0 picks a free port; serverPort() tells which. On failure, error() says why.
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    void close();
    bool isListening() const;
    QHostAddress serverAddress() const;
    quint16 serverPort() const;
    QString endpoint() const; // "tcp:127.0.0.1:4711"
    Error error() const;

    // Resolves with the next connection, in arrival order; with an error of kind Closed if the
    // listener is closed or destroyed first.
    QFuture<FlowResult<TcpFlow>> accept();
    int pendingConnections() const; // accepted by the kernel, waiting for accept()
    int maxPendingConnections() const;
    void setMaxPendingConnections(int count);

Q_SIGNALS:
    void listeningChanged(bool listening);
    void newConnection(); // a connection waits for accept()

private:
    std::unique_ptr<TcpListenerPrivate> d;
    Q_DISABLE_COPY(TcpListener)
};

// Accepts local (Unix domain) socket connections as flows. The socket file is created readable
// and writable by its owner only. listen() replaces a stale socket file (one nobody listens on)
// and refuses any other existing file.
class RILL_EXPORT LocalListener : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(QString endpoint READ endpoint NOTIFY listeningChanged)
public:
    explicit LocalListener(QObject *parent = nullptr);
    ~LocalListener() override;

    bool listen(const QString &name);
    void close();
    bool isListening() const;
    QString serverName() const;
    QString fullServerName() const;
    QString endpoint() const; // "unix:/tmp/x.sock"
    Error error() const;

    QFuture<FlowResult<LocalFlow>> accept();
    int pendingConnections() const;
    int maxPendingConnections() const;
    void setMaxPendingConnections(int count);

Q_SIGNALS:
    void listeningChanged(bool listening);
    void newConnection();

private:
    std::unique_ptr<LocalListenerPrivate> d;
    Q_DISABLE_COPY(LocalListener)
};

} // namespace rill
