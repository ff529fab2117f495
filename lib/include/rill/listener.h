// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::TcpListener and rill::LocalListener, which accept connections as flows.

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

/// Accepts TCP connections as flows (TcpFlow).
///
/// Connections the kernel accepted wait in a queue of maxPendingConnections(); past that the
/// listener stops accepting until accept() is called.
///
/// **Threads**, for both listeners: accept(), setMaxPendingConnections() and every getter may
/// be called from any thread. listen() and close() must be called in the listener's own thread
/// (as for QTcpServer); the accepted flows live there too, unless worker threads are set. When
/// the listener's thread finishes, it aborts its waiting accepts and closes.
///
/// **Accept errors:** when the kernel cannot accept (out of descriptors, EMFILE; out of
/// memory), every accept() waiting then resolves with that error (kind OutOfResources),
/// errorOccurred() says it once per episode, and the listener keeps listening: it tries again
/// by itself, after 100 ms and then up to every second, and newConnection() comes once it
/// succeeds.
///
/// **Worker threads:** by default an accepted flow lives in the listener's thread.
/// setWorkerThreads() spreads accepted flows over the given threads instead, in turn (round
/// robin over those running), so that each thread serves its flows with its own reactor: one
/// thread per core serves as many connections as one thread, on every core. A flow is moved to
/// its thread before its accept() resolves; use it from anywhere (every flow function may be
/// called from any thread; give continuations the flow as context to run them in its thread),
/// and delete it with deleteLater(). The threads stay the caller's, and must outlive the
/// listener or be taken out of it first: end them after closing the listener; flows still in a
/// thread when it ends are aborted (the flow contract). A thread not running is skipped; with
/// none running, flows stay in the listener's thread (and a warning says so once).
///
/// \sa Listener, TcpFlow::connectToHost()
class RILL_EXPORT TcpListener : public QObject
{
    Q_OBJECT
    /// Whether the listener is listening. \sa isListening()
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    /// The endpoint it listens on. \sa endpoint()
    Q_PROPERTY(rill::Endpoint endpoint READ endpoint NOTIFY listeningChanged)
public:
    /// A listener that is not listening yet, living in the calling thread.
    explicit TcpListener(QObject *parent = nullptr);
    /// Closes the listener; accepts still waiting resolve with an error of kind Closed.
    ~TcpListener() override;

    /// Listens on \a address and \a port; call it in the listener's thread.
    ///
    /// Port 0 picks a free port; serverPort() tells which. Returns false on failure, and
    /// error() says why (such as AddressInUse).
    bool listen(const QHostAddress &address = QHostAddress::LocalHost, quint16 port = 0);
    /// Stops listening; call it in the listener's thread. Accepts still waiting resolve with an
    /// error of kind Closed.
    void close();
    /// True while listening; from any thread.
    bool isListening() const;
    /// The address listened on.
    QHostAddress serverAddress() const;
    /// The port listened on (the one picked, after listen() with port 0).
    quint16 serverPort() const;
    /// The endpoint listened on, such as tcp:127.0.0.1:4711.
    Endpoint endpoint() const;
    /// The error of the last listen(), or the last accept error.
    Error error() const;

    /// Takes the next connection: resolves with its flow, in arrival order, owned by the result.
    ///
    /// May be called from any thread; the future is finished in the listener's thread, the flow
    /// already moved to its worker thread if there are any (setWorkerThreads()).
    /// - **Closed:** an error of kind Closed if the listener is closed or destroyed first, or
    ///   is not listening.
    /// - **Deadline:** at \a deadline, an error of kind TimedOut; nothing is taken.
    /// - **Accept errors:** an error of kind OutOfResources when the kernel cannot accept (see
    ///   the class description); the listener keeps listening.
    /// - **Thread end:** an error of kind Aborted when the listener's thread finishes first.
    /// - **Cancel:** a cancelled accept takes no connection: the connection goes to the next
    ///   accept() waiting, or waits for one.
    QFuture<FlowResult<TcpFlow>> accept(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Connections accepted by the kernel and waiting for accept().
    int pendingConnections() const;
    /// The bound of the queue of waiting connections; past it the listener stops accepting.
    int maxPendingConnections() const;
    /// Sets the bound of the queue of waiting connections to \a count.
    void setMaxPendingConnections(int count);
    /// Spreads accepted flows over \a threads, in turn; an empty list keeps them in the
    /// listener's thread. See "Worker threads" in the class description.
    void setWorkerThreads(const QList<QThread *> &threads);
    /// The threads accepted flows are spread over; empty by default.
    QList<QThread *> workerThreads() const;

Q_SIGNALS:
    /// The listener started (\a listening true) or stopped listening.
    void listeningChanged(bool listening);
    /// A connection waits for accept().
    void newConnection();
    /// Accepting failed with \a error (once per episode); the listener retries by itself.
    void errorOccurred(const rill::Error &error);

private:
    std::unique_ptr<TcpListenerPrivate> d_rill;
    Q_DECLARE_PRIVATE_D(d_rill, TcpListener)
    Q_DISABLE_COPY(TcpListener)
};

/// Accepts local (Unix domain) socket connections as flows (LocalFlow).
///
/// The socket file is created readable and writable by its owner only. listen() replaces a
/// stale socket file (one nobody listens on) and refuses any other existing file. Threads,
/// accept errors and worker threads are as for TcpListener.
///
/// \sa Listener, LocalFlow::connectToServer()
class RILL_EXPORT LocalListener : public QObject
{
    Q_OBJECT
    /// Whether the listener is listening. \sa isListening()
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    /// The endpoint it listens on. \sa endpoint()
    Q_PROPERTY(rill::Endpoint endpoint READ endpoint NOTIFY listeningChanged)
public:
    /// A listener that is not listening yet, living in the calling thread.
    explicit LocalListener(QObject *parent = nullptr);
    /// Closes the listener (removing its socket file); accepts still waiting resolve with an
    /// error of kind Closed.
    ~LocalListener() override;

    /// Listens on the socket \a name (a name or a path, as QLocalServer::listen()); call it in
    /// the listener's thread. Returns false on failure, and error() says why.
    bool listen(const QString &name);
    /// Stops listening and removes the socket file if it is still its own; call it in the
    /// listener's thread. Accepts still waiting resolve with an error of kind Closed.
    void close();
    /// True while listening; from any thread.
    bool isListening() const;
    /// The name given to listen().
    QString serverName() const;
    /// The socket file's full path.
    QString fullServerName() const;
    /// The endpoint listened on, such as unix:/tmp/x.sock.
    Endpoint endpoint() const;
    /// The error of the last listen(), or the last accept error.
    Error error() const;

    /// Takes the next connection: resolves with its flow, in arrival order, owned by the result.
    ///
    /// May be called from any thread; the future is finished in the listener's thread, the flow
    /// already moved to its worker thread if there are any (setWorkerThreads()).
    /// - **Closed:** an error of kind Closed if the listener is closed or destroyed first, or
    ///   is not listening.
    /// - **Deadline:** at \a deadline, an error of kind TimedOut; nothing is taken.
    /// - **Accept errors:** an error of kind OutOfResources when the kernel cannot accept (see
    ///   the class description); the listener keeps listening.
    /// - **Thread end:** an error of kind Aborted when the listener's thread finishes first.
    /// - **Cancel:** a cancelled accept takes no connection: the connection goes to the next
    ///   accept() waiting, or waits for one.
    QFuture<FlowResult<LocalFlow>> accept(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Connections accepted by the kernel and waiting for accept().
    int pendingConnections() const;
    /// The bound of the queue of waiting connections; past it the listener stops accepting.
    int maxPendingConnections() const;
    /// Sets the bound of the queue of waiting connections to \a count.
    void setMaxPendingConnections(int count);
    /// Spreads accepted flows over \a threads, as TcpListener::setWorkerThreads().
    void setWorkerThreads(const QList<QThread *> &threads);
    /// The threads accepted flows are spread over; empty by default.
    QList<QThread *> workerThreads() const;

Q_SIGNALS:
    /// The listener started (\a listening true) or stopped listening.
    void listeningChanged(bool listening);
    /// A connection waits for accept().
    void newConnection();
    /// Accepting failed with \a error (once per episode); the listener retries by itself.
    void errorOccurred(const rill::Error &error);

private:
    std::unique_ptr<LocalListenerPrivate> d_rill;
    Q_DECLARE_PRIVATE_D(d_rill, LocalListener)
    Q_DISABLE_COPY(LocalListener)
};

} // namespace rill
