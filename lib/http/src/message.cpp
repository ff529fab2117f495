// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/http/message.h>

#include <QtCore/QDebug>
#include <QtCore/QLocale>

namespace rill::http {

namespace {
// Lengths first: most names compared differ in length, and qstrnicmp() is a call.
bool sameName(QByteArrayView a, QByteArrayView b)
{
    return a.size() == b.size() && a.compare(b, Qt::CaseInsensitive) == 0;
}

QByteArrayView trimmed(QByteArrayView v)
{
    while (!v.isEmpty() && (v.front() == ' ' || v.front() == '\t'))
        v = v.sliced(1);
    while (!v.isEmpty() && (v.back() == ' ' || v.back() == '\t'))
        v.chop(1);
    return v;
}
} // namespace

Headers::Headers(std::initializer_list<Field> fields) : m_fields(fields) { }

void Headers::append(const QByteArray &name, const QByteArray &value)
{
    m_fields.append({name, value});
}

void Headers::set(const QByteArray &name, const QByteArray &value)
{
    qsizetype first = -1;
    for (qsizetype i = 0; i < m_fields.size();) {
        if (sameName(m_fields.at(i).first, name)) {
            if (first < 0) {
                first = i;
                m_fields[i].second = value;
                ++i;
            } else {
                m_fields.removeAt(i);
            }
        } else {
            ++i;
        }
    }
    if (first < 0)
        append(name, value);
}

qsizetype Headers::remove(QByteArrayView name)
{
    return m_fields.removeIf([&](const Field &f) { return sameName(f.first, name); });
}

bool Headers::contains(QByteArrayView name) const
{
    for (const Field &f : m_fields)
        if (sameName(f.first, name))
            return true;
    return false;
}

QByteArray Headers::value(QByteArrayView name, const QByteArray &defaultValue) const
{
    for (const Field &f : m_fields)
        if (sameName(f.first, name))
            return f.second;
    return defaultValue;
}

QList<QByteArray> Headers::values(QByteArrayView name) const
{
    QList<QByteArray> result;
    for (const Field &f : m_fields)
        if (sameName(f.first, name))
            result.append(f.second);
    return result;
}

bool Headers::hasToken(QByteArrayView name, QByteArrayView token) const
{
    for (const Field &f : m_fields) {
        if (!sameName(f.first, name))
            continue;
        QByteArrayView rest = f.second;
        for (;;) {
            const qsizetype comma = rest.indexOf(',');
            if (sameName(trimmed(comma < 0 ? rest : rest.first(comma)), token))
                return true;
            if (comma < 0)
                break;
            rest = rest.sliced(comma + 1);
        }
    }
    return false;
}

bool operator==(const Headers &a, const Headers &b)
{
    if (a.m_fields.size() != b.m_fields.size())
        return false;
    for (qsizetype i = 0; i < a.m_fields.size(); ++i)
        if (!sameName(a.m_fields.at(i).first, b.m_fields.at(i).first)
            || a.m_fields.at(i).second != b.m_fields.at(i).second)
            return false;
    return true;
}

QByteArray reasonPhrase(int status)
{
    switch (status) {
    case 100: return QByteArrayLiteral("Continue");
    case 101: return QByteArrayLiteral("Switching Protocols");
    case 200: return QByteArrayLiteral("OK");
    case 201: return QByteArrayLiteral("Created");
    case 202: return QByteArrayLiteral("Accepted");
    case 204: return QByteArrayLiteral("No Content");
    case 206: return QByteArrayLiteral("Partial Content");
    case 301: return QByteArrayLiteral("Moved Permanently");
    case 302: return QByteArrayLiteral("Found");
    case 303: return QByteArrayLiteral("See Other");
    case 304: return QByteArrayLiteral("Not Modified");
    case 307: return QByteArrayLiteral("Temporary Redirect");
    case 308: return QByteArrayLiteral("Permanent Redirect");
    case 400: return QByteArrayLiteral("Bad Request");
    case 401: return QByteArrayLiteral("Unauthorized");
    case 403: return QByteArrayLiteral("Forbidden");
    case 404: return QByteArrayLiteral("Not Found");
    case 405: return QByteArrayLiteral("Method Not Allowed");
    case 408: return QByteArrayLiteral("Request Timeout");
    case 409: return QByteArrayLiteral("Conflict");
    case 411: return QByteArrayLiteral("Length Required");
    case 413: return QByteArrayLiteral("Content Too Large");
    case 414: return QByteArrayLiteral("URI Too Long");
    case 415: return QByteArrayLiteral("Unsupported Media Type");
    case 417: return QByteArrayLiteral("Expectation Failed");
    case 429: return QByteArrayLiteral("Too Many Requests");
    case 431: return QByteArrayLiteral("Request Header Fields Too Large");
    case 500: return QByteArrayLiteral("Internal Server Error");
    case 501: return QByteArrayLiteral("Not Implemented");
    case 502: return QByteArrayLiteral("Bad Gateway");
    case 503: return QByteArrayLiteral("Service Unavailable");
    case 504: return QByteArrayLiteral("Gateway Timeout");
    case 505: return QByteArrayLiteral("HTTP Version Not Supported");
    default: return {};
    }
}

QByteArray httpDate(const QDateTime &time)
{
    return QLocale::c()
            .toString(time.toUTC(), QStringLiteral("ddd, dd MMM yyyy hh:mm:ss 'GMT'"))
            .toLatin1();
}

BodyFlow makeBodyFlow(Flow *flow)
{
    return BodyFlow(flow, [](Flow *f) {
        if (f)
            f->deleteLater();
    });
}

Request::Request(const QUrl &url, const QByteArray &method) : m_method(method)
{
    setUrl(url);
}

void Request::setUrl(const QUrl &url)
{
    m_url = url;
    QByteArray target = url.path(QUrl::FullyEncoded).toLatin1();
    if (target.isEmpty())
        target = "/";
    if (url.hasQuery())
        target += '?' + url.query(QUrl::FullyEncoded).toLatin1();
    m_target = target;
}

QString Request::path() const
{
    if (!m_target.startsWith('/'))
        return {};
    const qsizetype q = m_target.indexOf('?');
    const QByteArrayView encoded = QByteArrayView(m_target).first(q < 0 ? m_target.size() : q);
    // Most paths have nothing to decode: no decoded copy made for them.
    if (!encoded.contains('%'))
        return QString::fromUtf8(encoded);
    return QString::fromUtf8(QByteArray::fromPercentEncoding(encoded.toByteArray()));
}

QByteArray Request::query() const
{
    const qsizetype q = m_target.indexOf('?');
    return q < 0 ? QByteArray() : m_target.mid(q + 1);
}

Headers Request::trailers() const
{
    return m_bodyTrailers ? *m_bodyTrailers : m_trailers;
}

void Request::setTrailers(const Headers &trailers)
{
    m_trailers = trailers;
    m_bodyTrailers.reset();
}

std::shared_ptr<Headers> receiveTrailers(Request &request)
{
    auto slot = std::make_shared<Headers>();
    request.m_bodyTrailers = slot;
    return slot;
}

void Request::setBodyFlow(const BodyFlow &flow, qint64 length)
{
    m_bodyFlow = flow;
    m_bodyLength = flow ? length : -1;
}

Response::Response(int status, const QByteArray &body, const QByteArray &contentType)
    : m_status(status), m_reason(reasonPhrase(status)), m_body(body)
{
    if (!contentType.isEmpty())
        m_headers.append(QByteArrayLiteral("Content-Type"), contentType);
}

Response Response::fromError(const Error &error)
{
    Response response;
    response.m_error = error;
    return response;
}

void Response::setStatus(int status)
{
    m_status = status;
    m_reason = reasonPhrase(status);
}

Headers Response::trailers() const
{
    return m_bodyTrailers ? *m_bodyTrailers : m_trailers;
}

void Response::setTrailers(const Headers &trailers)
{
    m_trailers = trailers;
    m_bodyTrailers.reset();
}

std::shared_ptr<Headers> receiveTrailers(Response &response)
{
    auto slot = std::make_shared<Headers>();
    response.m_bodyTrailers = slot;
    return slot;
}

void Response::setBodyFlow(const BodyFlow &flow, qint64 length)
{
    m_bodyFlow = flow;
    m_bodyLength = flow ? length : -1;
}

QDebug operator<<(QDebug debug, const Headers &headers)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "Headers(";
    bool first = true;
    for (const Headers::Field &f : headers.fields()) {
        debug.noquote() << (first ? "" : ", ") << f.first << ": " << f.second;
        first = false;
    }
    debug << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const Request &request)
{
    QDebugStateSaver saver(debug);
    debug.nospace().noquote() << "Request(" << request.method() << ' ' << request.target()
                              << " HTTP/1." << request.minorVersion() << ", "
                              << request.headers().size() << " fields, ";
    if (request.bodyFlow())
        debug << "streamed body";
    else
        debug << request.body().size() << " bytes";
    debug << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const Response &response)
{
    QDebugStateSaver saver(debug);
    debug.nospace().noquote() << "Response(";
    if (response.isError()) {
        debug << errorMessage(response.error()) << ')';
        return debug;
    }
    debug << response.status() << ' ' << response.reason() << ", " << response.headers().size()
          << " fields, ";
    if (response.bodyFlow())
        debug << "streamed body";
    else
        debug << response.body().size() << " bytes";
    debug << ')';
    return debug;
}

} // namespace rill::http
