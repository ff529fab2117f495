// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::http::Client, HTTP/1.1 requests over any endpoint or flow.

#include <rill/http/message.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QObject>
#include <QtNetwork/QSslConfiguration>

#include <memory>

namespace rill::http {

class ClientPrivate;

/// Sends HTTP/1.1 requests: to http:// and https:// URLs, to any URL over the endpoint a
/// request names (Request::setEndpoint(), such as unix:/run/docker.sock), or over a flow.
///
/// Connections are kept alive in a pool per endpoint, at most
/// maxConnectionsPerEndpoint() open at once (more requests wait for one), and closed after
/// idleTimeout() without a request. A response arrives as
/// a future, its body collected (at most maxBodySize()) or streamed as a flow that pushes back
/// on the connection while unread. Request bodies go with Content-Length, or chunked when
/// streamed from a flow of unknown length; response bodies may be of Content-Length, chunked,
/// or (HTTP/1.0) end with the connection. Redirects are followed only up to
/// maxRedirects() (0 by default), and only to the same scheme.
///
/// A failed exchange resolves with a Response whose error() names the endpoint and says what
/// broke: refused, timed out, a malformed status line, a truncated body.
///
/// **Threads.** The client and its connections live in the client's thread; call it from
/// there. Its futures may be waited on from any other thread.
class RILL_HTTP_EXPORT Client : public QObject
{
    Q_OBJECT
    /// The most connections open to one endpoint. \sa setMaxConnectionsPerEndpoint()
    Q_PROPERTY(int maxConnectionsPerEndpoint READ maxConnectionsPerEndpoint WRITE
                       setMaxConnectionsPerEndpoint)
    /// The limit of a collected response body, in bytes. \sa setMaxBodySize()
    Q_PROPERTY(qint64 maxBodySize READ maxBodySize WRITE setMaxBodySize)
    /// How long connecting may take, in milliseconds. \sa setConnectTimeout()
    Q_PROPERTY(int connectTimeout READ connectTimeout WRITE setConnectTimeout)
    /// How long the response head may take after the request, in milliseconds.
    /// \sa setHeaderTimeout()
    Q_PROPERTY(int headerTimeout READ headerTimeout WRITE setHeaderTimeout)
    /// How long a kept-alive connection may wait idle in the pool, in milliseconds.
    /// \sa setIdleTimeout()
    Q_PROPERTY(int idleTimeout READ idleTimeout WRITE setIdleTimeout)
    /// How many redirects to follow (same scheme only). \sa setMaxRedirects()
    Q_PROPERTY(int maxRedirects READ maxRedirects WRITE setMaxRedirects)
    /// The TLS configuration of https:// (tls:) connections. \sa setTlsConfiguration()
    Q_PROPERTY(QSslConfiguration tlsConfiguration READ tlsConfiguration WRITE setTlsConfiguration)

public:
    /// How the response body arrives.
    enum class BodyMode {
        /// In Response::body(), complete before the future resolves; over maxBodySize() the
        /// exchange fails.
        Collect,
        /// As Response::bodyFlow(): the future resolves with the head, the flow gives the
        /// body's bytes, then Eof at its end (an error if it was cut short).
        Stream,
    };
    Q_ENUM(BodyMode)

    /// maxConnectionsPerEndpoint()'s default: 6.
    static constexpr int DefaultMaxConnectionsPerEndpoint = 6;
    /// maxBodySize()'s default: 64 MiB.
    static constexpr qint64 DefaultMaxBodySize = 64 * 1024 * 1024;
    /// idleTimeout()'s default: 30 s, half of Server::DefaultIdleTimeout, so that against a
    /// Rill server the client lets a connection go before the server does.
    static constexpr int DefaultIdleTimeout = 30000;

    /// A client with an empty pool.
    explicit Client(QObject *parent = nullptr);
    /// Closes the pool's connections; pending exchanges resolve with an error of kind Aborted.
    ~Client() override;

    /// Sends \a request to its URL (or its endpoint()), the response body arriving as \a mode
    /// says; the whole exchange must end by \a deadline (else an error of kind TimedOut).
    QFuture<Response> send(const Request &request, BodyMode mode = BodyMode::Collect,
                           QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Sends a GET of \a url, its body collected.
    QFuture<Response> get(const QUrl &url,
                          QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Sends \a request over \a flow, which the client neither pools nor owns, and which must
    /// live in the client's thread; the URL only gives the target and Host.
    QFuture<Response> sendOver(Flow *flow, const Request &request,
                               BodyMode mode = BodyMode::Collect,
                               QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));

    /// The endpoint a request goes to: its endpoint() if set, else tcp: (http) or tls:
    /// (https) of its URL's host and port; invalid for other URLs.
    static Endpoint endpointFor(const Request &request);

    /// Idle kept-alive connections in the pool.
    int idleConnectionCount() const;

    /// The most connections open to one endpoint (default 6).
    int maxConnectionsPerEndpoint() const;
    /// Sets the most connections open to one endpoint to \a count (at least 1).
    void setMaxConnectionsPerEndpoint(int count);
    /// The limit of a collected response body, in bytes (default 64 MiB).
    qint64 maxBodySize() const;
    /// Sets the limit of a collected response body to \a bytes.
    void setMaxBodySize(qint64 bytes);
    /// How long connecting may take, in milliseconds (default 30 s).
    int connectTimeout() const;
    /// Sets how long connecting may take to \a milliseconds.
    void setConnectTimeout(int milliseconds);
    /// How long the response head may take once the request is sent, in milliseconds
    /// (default 0: only the exchange's deadline).
    int headerTimeout() const;
    /// Sets how long the response head may take to \a milliseconds, 0 for no limit.
    void setHeaderTimeout(int milliseconds);
    /// How long a kept-alive connection may wait in the pool for the next request, in
    /// milliseconds (default 30 s; 0: no limit); then the client closes it. A connection the
    /// server closes leaves the pool at once, whatever this says.
    int idleTimeout() const;
    /// Sets the idle timeout to \a milliseconds, 0 for none; the connections idle now count
    /// their time from this call.
    void setIdleTimeout(int milliseconds);
    /// How many redirects (301, 302, 303, 307, 308 with Location) to follow, to the same
    /// scheme only; 0 (the default) follows none.
    int maxRedirects() const;
    /// Sets how many redirects to follow to \a count.
    void setMaxRedirects(int count);
    /// The TLS configuration of https:// (tls:) connections: by default
    /// QSslConfiguration::defaultConfiguration(), the system's certificate authorities.
    QSslConfiguration tlsConfiguration() const;
    /// Sets the TLS configuration of new https:// connections to \a configuration (the
    /// authorities to trust, a client certificate...).
    void setTlsConfiguration(const QSslConfiguration &configuration);

private:
    friend class ClientPrivate;
    std::unique_ptr<ClientPrivate> d;
    Q_DISABLE_COPY(Client)
};

} // namespace rill::http
