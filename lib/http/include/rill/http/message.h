// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::http::Headers, Request and Response: the value types of Rill::Http.

#include <rill/http/httpglobal.h>

#include <rill/endpoint.h>
#include <rill/error.h>
#include <rill/flow.h>

#include <QtCore/QByteArray>
#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QUrl>

#include <initializer_list>
#include <memory>
#include <utility>

QT_FORWARD_DECLARE_CLASS(QDebug)

/// HTTP/1.1 over any rill::Flow: value types, rill::http::Server and rill::http::Client.
namespace rill::http {

/// Header fields in the order they were added or received. Names compare case-insensitively
/// (ASCII), are kept as written, and a repeated field stays repeated (Set-Cookie).
class RILL_HTTP_EXPORT Headers
{
public:
    /// One field: its name as written and its value.
    using Field = std::pair<QByteArray, QByteArray>;

    /// No fields.
    Headers() = default;
    /// The fields \a fields, in order.
    Headers(std::initializer_list<Field> fields);

    /// Appends the field \a name: \a value, keeping any earlier field of that name.
    void append(const QByteArray &name, const QByteArray &value);
    /// Replaces every field named \a name by one with \a value (appended if there was none,
    /// else at the first one's place).
    void set(const QByteArray &name, const QByteArray &value);
    /// Removes every field named \a name; returns how many there were.
    qsizetype remove(QByteArrayView name);
    /// Whether a field is named \a name.
    bool contains(QByteArrayView name) const;
    /// The value of the first field named \a name, or \a defaultValue.
    QByteArray value(QByteArrayView name, const QByteArray &defaultValue = {}) const;
    /// The values of every field named \a name, in order.
    QList<QByteArray> values(QByteArrayView name) const;
    /// Whether the comma-separated list in the fields named \a name holds \a token
    /// (case-insensitively), as "close" in "Connection: keep-alive, close".
    bool hasToken(QByteArrayView name, QByteArrayView token) const;
    /// All fields, in order.
    QList<Field> fields() const { return m_fields; }
    /// The number of fields.
    qsizetype size() const { return m_fields.size(); }
    /// Whether there are no fields.
    bool isEmpty() const { return m_fields.isEmpty(); }
    /// Removes every field.
    void clear() { m_fields.clear(); }

    /// Equal when the same fields come in the same order (names compared case-insensitively).
    friend RILL_HTTP_EXPORT bool operator==(const Headers &a, const Headers &b);
    /// Not equal.
    friend bool operator!=(const Headers &a, const Headers &b) { return !(a == b); }

private:
    QList<Field> m_fields;
};

/// The reason phrase RFC 9110 gives \a status ("Not Found" for 404); empty if unknown.
RILL_HTTP_EXPORT QByteArray reasonPhrase(int status);
/// \a time as an HTTP date (RFC 9110 IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".
RILL_HTTP_EXPORT QByteArray httpDate(const QDateTime &time);

/// A message body that streams: a flow whose read() gives the body's bytes, then Eof at its
/// end. Shared by the copies of the message; the flow is deleted (deleteLater) with the last.
using BodyFlow = std::shared_ptr<Flow>;

/// Makes a BodyFlow of \a flow, taking it over: it is deleted with deleteLater() once the last
/// copy of the BodyFlow goes.
RILL_HTTP_EXPORT BodyFlow makeBodyFlow(Flow *flow);

/// An HTTP request: method, target, version, header fields and a body (a buffer, or a flow).
///
/// A client sends one to url(); a server's handler receives one, with target() as it came and
/// path() decoded. Cheap to copy: the body buffer is implicitly shared, a body flow shared.
class RILL_HTTP_EXPORT Request
{
public:
    /// A GET of no URL, HTTP/1.1.
    Request() = default;
    /// A request of \a method for \a url.
    explicit Request(const QUrl &url, const QByteArray &method = QByteArrayLiteral("GET"));

    /// The method, "GET" by default; case-sensitive, as HTTP says.
    QByteArray method() const { return m_method; }
    /// Sets the method to \a method.
    void setMethod(const QByteArray &method) { m_method = method; }
    /// The absolute URL (client side): scheme http or https, host, port, path and query.
    QUrl url() const { return m_url; }
    /// Sets the URL to \a url; the target becomes its path and query.
    void setUrl(const QUrl &url);
    /// The request-target as sent on the request line, such as "/a%20b?x=1".
    QByteArray target() const { return m_target; }
    /// Sets the request-target to \a target.
    void setTarget(const QByteArray &target) { m_target = target; }
    /// The target's path, percent-decoded ("/a b"); empty if the target is not a path.
    QString path() const;
    /// The target's query, as sent (without "?").
    QByteArray query() const;
    /// The HTTP version's minor number: 1 for HTTP/1.1 (the default), 0 for HTTP/1.0.
    int minorVersion() const { return m_minor; }
    /// Sets the HTTP version to 1.\a minor (0 or 1).
    void setMinorVersion(int minor) { m_minor = minor; }
    /// The header fields, in order.
    Headers headers() const { return m_headers; }
    /// The header fields, to change them.
    Headers &headers() { return m_headers; }
    /// Sets the header fields to \a headers.
    void setHeaders(const Headers &headers) { m_headers = headers; }
    /// The trailer fields that came after a chunked body (server side), in order. For a body
    /// streamed to the handler (Server::BodyMode::Stream) they are here, in every copy of the
    /// request, once its bodyFlow() gave Eof.
    Headers trailers() const;
    /// Sets the trailer fields to \a trailers. A client sends them after the body's last
    /// chunk: with trailers the body goes in chunks (HTTP/1.1 only; an HTTP/1.0 request sends
    /// none), announced in a `Trailer` field unless the headers have one. Fields that frame
    /// or route a message (Content-Length, Transfer-Encoding, Connection, Host, Trailer, TE)
    /// are never sent as trailers.
    void setTrailers(const Headers &trailers);

    /// The body as a buffer: what a client sends (unless bodyFlow() is set), or what a server
    /// collected for its handler (Server::BodyMode::Collect).
    QByteArray body() const { return m_body; }
    /// Sets the body to \a body; a client sends it with Content-Length.
    void setBody(const QByteArray &body) { m_body = body; }
    /// The body as a flow: what a client streams from, or what a server's handler reads the
    /// body from (Server::BodyMode::Stream); null if none.
    BodyFlow bodyFlow() const { return m_bodyFlow; }
    /// Sets the body to stream from \a flow, \a length bytes (Content-Length), or with -1 of
    /// unknown length (chunked).
    void setBodyFlow(const BodyFlow &flow, qint64 length = -1);
    /// The body's length: the Content-Length received or to send; -1 if unknown (chunked).
    qint64 bodyLength() const { return m_bodyLength; }

    /// Where a client connects for this request instead of the URL's host and port
    /// (unix:/run/docker.sock); the URL's host is then only the Host field. Invalid by default.
    Endpoint endpoint() const { return m_endpoint; }
    /// Sets where a client connects for this request to \a endpoint.
    void setEndpoint(const Endpoint &endpoint) { m_endpoint = endpoint; }
    /// The peer that sent the request (server side).
    Endpoint peerEndpoint() const { return m_peer; }
    /// Sets the peer that sent the request to \a peer.
    void setPeerEndpoint(const Endpoint &peer) { m_peer = peer; }

private:
    QByteArray m_method = QByteArrayLiteral("GET");
    QUrl m_url;
    QByteArray m_target = QByteArrayLiteral("/");
    int m_minor = 1;
    Headers m_headers;
    Headers m_trailers;
    QByteArray m_body;
    BodyFlow m_bodyFlow;
    qint64 m_bodyLength = -1;
    Endpoint m_endpoint;
    Endpoint m_peer;
    std::shared_ptr<const Headers> m_bodyTrailers; // a received streamed body's, once they came
    friend std::shared_ptr<Headers> receiveTrailers(Request &request);
};

/// An HTTP response: status and reason, version, header fields and a body (a buffer, or a
/// flow); or, on a client, the error that kept it from arriving.
///
/// Cheap to copy: the body buffer is implicitly shared, a body flow shared.
class RILL_HTTP_EXPORT Response
{
public:
    /// No response: status 0.
    Response() = default;
    /// A response of \a status, with its reason phrase, and \a body (Content-Length).
    explicit Response(int status, const QByteArray &body = {},
                      const QByteArray &contentType = {});
    /// A failed exchange: status 0 and \a error.
    static Response fromError(const Error &error);

    /// The status code, 0 when no response arrived (isError()).
    int status() const { return m_status; }
    /// Sets the status to \a status and the reason to its phrase.
    void setStatus(int status);
    /// The reason phrase, as received or set.
    QByteArray reason() const { return m_reason; }
    /// Sets the reason phrase to \a reason.
    void setReason(const QByteArray &reason) { m_reason = reason; }
    /// The HTTP version's minor number: 1 for HTTP/1.1, 0 for HTTP/1.0.
    int minorVersion() const { return m_minor; }
    /// Sets the HTTP version to 1.\a minor.
    void setMinorVersion(int minor) { m_minor = minor; }
    /// The header fields, in order.
    Headers headers() const { return m_headers; }
    /// The header fields, to change them.
    Headers &headers() { return m_headers; }
    /// Sets the header fields to \a headers.
    void setHeaders(const Headers &headers) { m_headers = headers; }
    /// The trailer fields that came after a chunked body (client side), in order. For a body
    /// streamed (Client::BodyMode::Stream) they are here, in every copy of the response, once
    /// its bodyFlow() gave Eof.
    Headers trailers() const;
    /// Sets the trailer fields to \a trailers. A server sends them after the body's last
    /// chunk: with trailers the body goes in chunks, even one of known length, announced in a
    /// `Trailer` field unless the headers have one; an HTTP/1.0 client, and a response without
    /// a body (HEAD, 204, 304), gets none. Fields that frame or route a message
    /// (Content-Length, Transfer-Encoding, Connection, Host, Trailer, TE) are never sent as
    /// trailers.
    void setTrailers(const Headers &trailers);

    /// The body as a buffer: what a server sends (unless bodyFlow() is set), or what a client
    /// collected (Client::BodyMode::Collect).
    QByteArray body() const { return m_body; }
    /// Sets the body to \a body.
    void setBody(const QByteArray &body) { m_body = body; }
    /// The body as a flow: what a server streams from, or what a client reads the body from
    /// (Client::BodyMode::Stream); null if none.
    BodyFlow bodyFlow() const { return m_bodyFlow; }
    /// Sets the body to stream from \a flow, \a length bytes (Content-Length), or with -1 of
    /// unknown length (chunked to HTTP/1.1 clients, to the end of the connection otherwise).
    void setBodyFlow(const BodyFlow &flow, qint64 length = -1);
    /// The body's length: the Content-Length received or to send; -1 if unknown.
    qint64 bodyLength() const { return m_bodyLength; }

    /// The header block as it was received (client side): the status line and the fields,
    /// up to and including the empty line. What "curl -i" prints.
    QByteArray rawHead() const { return m_rawHead; }
    /// Sets the header block as received to \a head.
    void setRawHead(const QByteArray &head) { m_rawHead = head; }

    /// Whether the exchange failed (no complete response head; or, for a collected body, no
    /// complete body): error() says why, naming the endpoint.
    bool isError() const { return !m_error.isNone(); }
    /// What broke: refused, timed out, a malformed status line, a truncated body...
    Error error() const { return m_error; }

private:
    int m_status = 0;
    QByteArray m_reason;
    int m_minor = 1;
    Headers m_headers;
    Headers m_trailers;
    QByteArray m_body;
    BodyFlow m_bodyFlow;
    qint64 m_bodyLength = -1;
    QByteArray m_rawHead;
    Error m_error;
    std::shared_ptr<const Headers> m_bodyTrailers; // a received streamed body's, once they came
    friend std::shared_ptr<Headers> receiveTrailers(Response &response);
};

/// Writes \a headers to \a debug, as Headers("Host: a", ...).
RILL_HTTP_EXPORT QDebug operator<<(QDebug debug, const Headers &headers);
/// Writes \a request to \a debug: method, target, version, field count and body size.
RILL_HTTP_EXPORT QDebug operator<<(QDebug debug, const Request &request);
/// Writes \a response to \a debug: status, reason, field count and body size, or the error.
RILL_HTTP_EXPORT QDebug operator<<(QDebug debug, const Response &response);

} // namespace rill::http

Q_DECLARE_METATYPE(rill::http::Headers)
Q_DECLARE_METATYPE(rill::http::Request)
Q_DECLARE_METATYPE(rill::http::Response)
