// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::http::Server, an HTTP/1.1 server on any listener or flow.

#include <rill/http/message.h>

#include <rill/connect.h>

#include <QtCore/QFuture>
#include <QtCore/QObject>

#include <functional>
#include <memory>

namespace rill::http {

class ServerPrivate;

/// An HTTP/1.1 server on any rill::Listener (tcp:, unix:, tls:) or on flows given to it.
///
/// Handlers, chosen by method and path, get the request and answer with a future of a
/// response, whose body is a buffer or streams from a flow. Requests on a connection are
/// answered one after the other, in order, pipelined or not; keep-alive with an idle timeout.
///
/// **Limits**, each answered with its status and then the connection closes: a request line
/// and header fields over maxHeaderSize() 431; a body over maxBodySize() 413; a head not
/// complete within headerTimeout() 408; malformed 400, request smuggling included
/// (Content-Length with Transfer-Encoding, a repeated Content-Length). A client that does not
/// read is held by the connection's high-water mark, and dropped when a write waits longer
/// than idleTimeout().
///
/// **Threads.** The server and its connections live in the server's thread.
class RILL_HTTP_EXPORT Server : public QObject
{
    Q_OBJECT
    /// How long a request's head may take to arrive, in milliseconds. \sa setHeaderTimeout()
    Q_PROPERTY(int headerTimeout READ headerTimeout WRITE setHeaderTimeout)
    /// How long a connection may wait idle between requests, in milliseconds.
    /// \sa setIdleTimeout()
    Q_PROPERTY(int idleTimeout READ idleTimeout WRITE setIdleTimeout)
    /// The limit of a request line and header fields together, in bytes.
    /// \sa setMaxHeaderSize()
    Q_PROPERTY(qint64 maxHeaderSize READ maxHeaderSize WRITE setMaxHeaderSize)
    /// The limit of a request body, in bytes; -1 for none. \sa setMaxBodySize()
    Q_PROPERTY(qint64 maxBodySize READ maxBodySize WRITE setMaxBodySize)
    /// The open connections. \sa connectionCount()
    Q_PROPERTY(int connectionCount READ connectionCount NOTIFY connectionCountChanged)

public:
    /// How a handler gets the request body.
    enum class BodyMode {
        /// In Request::body(), complete (at most maxBodySize()) before the handler is called.
        Collect,
        /// As Request::bodyFlow(), while it arrives; the handler is called after the head.
        /// The flow gives Eof at the body's end, and pushes back on the client while unread.
        Stream,
    };
    Q_ENUM(BodyMode)

    /// Answers a request: a future of the response, finished in the server's thread or any
    /// other. A response of status 0 (an unfinished or failed future included) is answered
    /// 500.
    using Handler = std::function<QFuture<Response>(const Request &request)>;
    /// Answers a request at once, with no future made for it: for handlers that never wait
    /// (a QFuture costs about 4,000 instructions on Qt 6.4, a tenth of a small request's
    /// work). A response of status 0 is answered 500.
    using ImmediateHandler = std::function<Response(const Request &request)>;

    /// headerTimeout()'s default: 30 s.
    static constexpr int DefaultHeaderTimeout = 30000;
    /// idleTimeout()'s default: 60 s.
    static constexpr int DefaultIdleTimeout = 60000;
    /// maxHeaderSize()'s default: 64 KiB.
    static constexpr qint64 DefaultMaxHeaderSize = 64 * 1024;
    /// maxBodySize()'s default: 16 MiB.
    static constexpr qint64 DefaultMaxBodySize = 16 * 1024 * 1024;

    /// A server with no routes, not listening.
    explicit Server(QObject *parent = nullptr);
    /// Aborts the open connections.
    ~Server() override;

    /// Routes requests of \a method (any method if empty) for \a path to \a handler, their
    /// body given as \a mode says. A \a path ending in "*" matches every path that starts
    /// with what comes before it. The first route added that matches wins; a path that
    /// matches only under other methods is answered 405 with Allow, no match at all 404
    /// (unless a fallback is set).
    void route(const QByteArray &method, const QString &path, Handler handler,
               BodyMode mode = BodyMode::Collect);
    /// Routes as route(const QByteArray &, const QString &, Handler, BodyMode) does, to a
    /// \a handler that answers at once.
    void route(const QByteArray &method, const QString &path, ImmediateHandler handler,
               BodyMode mode = BodyMode::Collect);
    /// Routes every request no route matched to \a handler, their body given as \a mode says.
    void setFallback(Handler handler, BodyMode mode = BodyMode::Collect);
    /// Routes every request no route matched to \a handler, which answers at once.
    void setFallback(ImmediateHandler handler, BodyMode mode = BodyMode::Collect);

    /// Listens on \a endpoint (tcp:HOST:PORT, unix:PATH, tls: with
    /// listener()->setTlsConfiguration() first) and serves what it accepts. False if it cannot
    /// listen: listener()->error() says why.
    bool listen(const Endpoint &endpoint);
    /// The listener listen() uses; configure it (TLS, worker threads) before listen().
    Listener *listener() const;
    /// Where the server listens (the real port of tcp:HOST:0); invalid if it does not.
    Endpoint endpoint() const;
    /// Serves the connection \a flow (taking it over: it becomes the server's child), as if
    /// it had been accepted.
    void serveFlow(Flow *flow);

    /// Stops gracefully: stops accepting, lets the responses in flight finish (each with
    /// Connection: close), closes idle connections; resolves once no connection is left.
    QFuture<void> stop();

    /// The open connections.
    int connectionCount() const;

    /// How long a request's head may take, from its first byte (or from the connection's
    /// start), in milliseconds; 408 after it.
    int headerTimeout() const;
    /// Sets the header timeout to \a milliseconds (at least 1).
    void setHeaderTimeout(int milliseconds);
    /// How long a kept-alive connection may wait for its next request (and a response's
    /// write for the client to take it) in milliseconds; closed after it.
    int idleTimeout() const;
    /// Sets the idle timeout to \a milliseconds (at least 1).
    void setIdleTimeout(int milliseconds);
    /// The limit of a request line and header fields, in bytes; 431 beyond it.
    qint64 maxHeaderSize() const;
    /// Sets the limit of a request line and header fields to \a bytes.
    void setMaxHeaderSize(qint64 bytes);
    /// The limit of a request body, in bytes (-1: none); 413 beyond it.
    qint64 maxBodySize() const;
    /// Sets the limit of a request body to \a bytes, -1 for none.
    void setMaxBodySize(qint64 bytes);

Q_SIGNALS:
    /// A response to \a request went out with \a status and \a bodyBytes of body, or could
    /// not (\a error says why). For logs and inspectors.
    void exchangeFinished(const rill::http::Request &request, int status, qint64 bodyBytes,
                          const rill::Error &error);
    /// The number of open connections changed to \a count.
    void connectionCountChanged(int count);

private:
    std::unique_ptr<ServerPrivate> d;
    Q_DISABLE_COPY(Server)
};

} // namespace rill::http
