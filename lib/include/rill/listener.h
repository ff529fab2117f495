// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/endpoint.h>
#include <rill/localflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QList>
#include <QtNetwork/QHostAddress>

QT_FORWARD_DECLARE_CLASS(QThread)

namespace rill {

class TcpListenerPrivate;
class LocalListenerPrivate;

// Threads, for both listeners: accept(), setMaxPendingConnections() and every getter may be
// called from any thread. listen() and close() must be called in the listener's own thread
// (as for QTcpServer); the accepted flows live there too.
//
// Accept errors: when the kernel cannot accept (out of descriptors, EMFILE; out of memory),
// every accept() waiting then resolves with that error (kind OutOfResources), errorOccurred()
// says it once per episode, and the listener keeps listening: it tries again by itself, after
// 100 ms and then up to every second, and newConnection() comes once it succeeds.

// Worker threads, for both listeners: by default an accepted flow lives in the listener's
// thread. setWorkerThreads() spreads accepted flows over the given threads instead, in turn
// (round robin over those running), so that each thread serves its flows with its own reactor:
// one thread per core serves as many connections as one thread, on every core. A flow is moved
// to its thread before its accept() resolves; use it from anywhere (every flow function may be
// called from any thread; give continuations the flow as context to run them in its thread),
// and delete it with deleteLater(). The threads stay the caller's, and must outlive the
// listener or be taken out of it first: end them after closing the listener; flows still in a
// thread when it ends are aborted (the flow contract). A thread not running is skipped; with
// none running, flows stay in the listener's thread (and a warning says so once).

// Accepts TCP connections as flows. Connections the kernel accepted wait in a queue of
// maxPendingConnections(); past that the listener stops accepting until accept() is called.
class RILL_EXPORT TcpListener : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(rill::Endpoint endpoint READ endpoint NOTIFY listeningChanged)
public:
    explicit TcpListener(QObject *parent = nullptr);
    ~TcpListener() override;

    // Port 0 picks a free port; serverPort() tells which. On failure, error() says why.
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    void close();
    bool isListening() const;
    QHostAddress serverAddress() const;
    quint16 serverPort() const;
    Endpoint endpoint() const; // tcp:127.0.0.1:4711
    Error error() const;       // of the last listen(), or the last accept error

    // Resolves with the next connection, in arrival order; with an error of kind Closed if the
    // listener is closed or destroyed first, TimedOut at the deadline (nothing is taken), or an
    // accept error (see above).
    QFuture<FlowResult<TcpFlow>> accept(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    int pendingConnections() const; // accepted by the kernel, waiting for accept()
    int maxPendingConnections() const;
    void setMaxPendingConnections(int count);
    void setWorkerThreads(const QList<QThread *> &threads); // see "Worker threads" above
    QList<QThread *> workerThreads() const;

Q_SIGNALS:
    void listeningChanged(bool listening);
    void newConnection(); // a connection waits for accept()
    void errorOccurred(const rill::Error &error); // accepting failed; the listener retries

private:
    std::unique_ptr<TcpListenerPrivate> d_rill;
    Q_DECLARE_PRIVATE_D(d_rill, TcpListener)
    Q_DISABLE_COPY(TcpListener)
};

// Accepts local (Unix domain) socket connections as flows. The socket file is created readable
// and writable by its owner only. listen() replaces a stale socket file (one nobody listens on)
// and refuses any other existing file.
class RILL_EXPORT LocalListener : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(rill::Endpoint endpoint READ endpoint NOTIFY listeningChanged)
public:
    explicit LocalListener(QObject *parent = nullptr);
    ~LocalListener() override;

    bool listen(const QString &name);
    void close();
    bool isListening() const;
    QString serverName() const;
    QString fullServerName() const;
    Endpoint endpoint() const; // unix:/tmp/x.sock
    Error error() const;

    QFuture<FlowResult<LocalFlow>> accept(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    int pendingConnections() const;
    int maxPendingConnections() const;
    void setMaxPendingConnections(int count);
    void setWorkerThreads(const QList<QThread *> &threads); // see "Worker threads" above
    QList<QThread *> workerThreads() const;

Q_SIGNALS:
    void listeningChanged(bool listening);
    void newConnection();
    void errorOccurred(const rill::Error &error);

private:
    std::unique_ptr<LocalListenerPrivate> d_rill;
    Q_DECLARE_PRIVATE_D(d_rill, LocalListener)
    Q_DISABLE_COPY(LocalListener)
};

} // namespace rill
