// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::connectTo() and rill::Listener: any endpoint, for programs that take one from their
/// user.

#include <rill/endpoint.h>
#include <rill/flow.h>
#include <rill/flowresult.h>

#include <QtNetwork/QSslConfiguration>

#include <chrono>
#include <memory>

QT_FORWARD_DECLARE_CLASS(QThread)

namespace rill {

/// Connects to any \a endpoint ("tcp:HOST:PORT", "tls:HOST:PORT" or "unix:PATH"): a TcpFlow,
/// a TlsFlow or a LocalFlow, within that transport's default connect timeout.
///
/// "tls:HOST:PORT" connects as TlsFlow::connectToHost() with the default QSslConfiguration
/// (the system's authorities, HOST as SNI and as the name the certificate must carry) and
/// resolves once the handshake completed, or with its error (kind Tls).
///
/// Resolves as TcpFlow::connectToHost() or LocalFlow::connectToServer() does: with the
/// connected flow, owned by the result, or an error naming the endpoint (TimedOut when the
/// default connect timeout passes). The future is finished in the calling thread, where the
/// flow lives; that thread needs an event loop. A pipe or invalid endpoint resolves at once with
/// an error of kind InvalidArgument.
RILL_EXPORT QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint);
/// Connects to \a endpoint as connectTo(const Endpoint &) does, until \a deadline: then an
/// error of kind TimedOut.
RILL_EXPORT QFuture<FlowResult<Flow>> connectTo(const Endpoint &endpoint, QDeadlineTimer deadline);

class ListenerPrivate;

/// Listens on any endpoint: a TcpListener or a LocalListener behind one interface, for
/// programs that take an endpoint from their user.
///
/// The same thread rules, accept errors and worker threads as TcpListener.
///
/// **TLS.** "tls:HOST:PORT" listens on TCP and hands out TlsFlow servers, configured with
/// setTlsConfiguration() (its certificate and key at least), and only once their handshake
/// completed: accept() never resolves with a flow still handshaking. Each handshake has
/// handshakeTimeout() (10 s by default), so a silent client cannot hold a slot forever; a
/// failed or timed-out handshake is not handed out but reported with handshakeFailed() (and
/// logged in rill.tls at debug level). At most maxPendingConnections() handshakes run at once,
/// handshaken flows waiting for accept() included; past that, new clients wait in the kernel's
/// backlog, so a crowd of clients that never finish (or a server that stops calling accept())
/// cannot make the listener hold more. Handshakes run in the listener's thread; with worker
/// threads, the encrypted flows are moved to them.
class RILL_EXPORT Listener : public QObject
{
    Q_OBJECT
    /// Whether the listener is listening. \sa isListening()
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    /// The endpoint it listens on. \sa endpoint()
    Q_PROPERTY(rill::Endpoint endpoint READ endpoint NOTIFY listeningChanged)
public:
    /// A listener that is not listening yet, living in the calling thread.
    explicit Listener(QObject *parent = nullptr);
    /// Closes the listener; accepts still waiting resolve with an error of kind Closed.
    ~Listener() override;

    /// Listens on \a endpoint; call it in the listener's thread.
    ///
    /// "tcp:127.0.0.1:0" picks a free port; endpoint() then tells which. A TCP endpoint needs
    /// an address ("localhost" is taken as 127.0.0.1). Returns false on failure (already
    /// listening, a pipe or invalid endpoint, the transport's own errors), and error() says why.
    bool listen(const Endpoint &endpoint);
    /// Stops listening; call it in the listener's thread. Accepts still waiting resolve with an
    /// error of kind Closed.
    void close();
    /// True while listening; from any thread.
    bool isListening() const;
    /// The endpoint listened on, with the port picked.
    Endpoint endpoint() const;
    /// endpoint() as text.
    QString endpointString() const { return endpoint().toString(); }
    /// The error of the last listen(), or the last accept error.
    Error error() const;

    /// Takes the next connection as TcpListener::accept() does, as a Flow.
    ///
    /// Resolves with an error of kind Closed at once when the listener is not listening; else
    /// as TcpListener::accept() (deadline, accept errors, thread end, cancel), in the
    /// listener's thread.
    QFuture<FlowResult<Flow>> accept(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Connections accepted by the kernel and waiting for accept(); for "tls:", those still
    /// handshaking too.
    int pendingConnections() const;
    /// The most connections taken from the kernel and not yet handed out by accept() (for
    /// "tls:", handshakes running included); 30 unless set.
    int maxPendingConnections() const;
    /// Sets maxPendingConnections() to \a count (at least 1), as
    /// TcpListener::setMaxPendingConnections(). Call it in the listener's thread.
    void setMaxPendingConnections(int count);
    /// Spreads accepted flows over \a threads, as TcpListener::setWorkerThreads(); kept across
    /// listen() calls. Call it in the listener's thread.
    void setWorkerThreads(const QList<QThread *> &threads);
    /// The threads accepted flows are spread over; empty by default.
    QList<QThread *> workerThreads() const;

    /// Sets the configuration of the TLS flows a "tls:" listener makes to \a configuration:
    /// the server's certificate chain and private key; peerVerifyMode() VerifyPeer with
    /// caCertificates() to require client certificates. Applies to listen() calls after it.
    void setTlsConfiguration(const QSslConfiguration &configuration);
    /// The configuration for TLS flows; QSslConfiguration::defaultConfiguration() unless set.
    QSslConfiguration tlsConfiguration() const;
    /// Sets how long a TLS client may take to complete its handshake to \a timeout; after it
    /// the connection is dropped and handshakeFailed() says so (kind TimedOut).
    void setHandshakeTimeout(std::chrono::milliseconds timeout);
    /// The TLS handshake's time limit: 10 s unless set.
    std::chrono::milliseconds handshakeTimeout() const;

Q_SIGNALS:
    /// The listener started (\a listening true) or stopped listening.
    void listeningChanged(bool listening);
    /// A connection waits for accept().
    void newConnection();
    /// Accepting failed with \a error (once per episode); the listener retries by itself.
    void errorOccurred(const rill::Error &error);
    /// A TLS client's handshake failed with \a error (kind Tls, or TimedOut after
    /// handshakeTimeout()); the connection was dropped, not handed out.
    void handshakeFailed(const rill::Error &error);

private:
    std::unique_ptr<ListenerPrivate> d_rill;
    Q_DECLARE_PRIVATE_D(d_rill, Listener)
    Q_DISABLE_COPY(Listener)
};

} // namespace rill
