// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/http/client.h>

#include "bytes_p.h"
#include "chunked_p.h"
#include "parser_p.h"
#include "promise_p.h"
#include "trace_p.h"

#include <rill/connect.h>
#include <rill/pipeflow.h>
#include <rill/tlsflow.h>

#include <QtCore/QHash>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QPromise>
#include <QtCore/QTimer>

#include <functional>

namespace rill::http {

Q_LOGGING_CATEGORY(lcClient, "rill.http.client", QtWarningMsg)

class Exchange;

class ClientPrivate
{
public:
    explicit ClientPrivate(Client *client) : q(client) { }

    void acquire(Exchange *exchange);
    void release(const QString &key, Flow *flow, bool reusable);
    void connectFor(Exchange *exchange);
    QFuture<Response> start(const Request &request, Client::BodyMode mode,
                            QDeadlineTimer deadline, Flow *givenFlow);
    QFuture<Response> follow(const Request &request, Client::BodyMode mode,
                             QDeadlineTimer deadline, int redirectsLeft);

    void watchIdle(const QString &key, Flow *flow);
    void stopIdleTimer(Flow *flow);

    Client *q;
    QList<Exchange *> exchanges;
    bool destroying = false;
    QHash<QString, QList<Flow *>> idle;
    QHash<Flow *, QTimer *> idleTimers; // an idle flow's expiry; the timer is the flow's child
    int idleTimeout = Client::DefaultIdleTimeout;
    QHash<QString, int> open;
    QHash<QString, QList<QPointer<Exchange>>> waiting;
    int maxConnections = Client::DefaultMaxConnectionsPerEndpoint;
    qint64 maxBodySize = Client::DefaultMaxBodySize;
    int connectTimeout = 30000;
    int headerTimeout = 0;
    int maxRedirects = 0;
    QSslConfiguration tlsConfiguration = QSslConfiguration::defaultConfiguration();
};

// One request and its response over one connection (from the pool, new, or given).
class Exchange : public QObject
{
public:
    Exchange(ClientPrivate *client, const Request &request, Client::BodyMode mode,
             QDeadlineTimer deadline, Endpoint endpoint)
        : QObject(client->q), d(client), m_request(request), m_mode(mode), m_deadline(deadline),
          m_endpoint(endpoint), m_key(endpoint.toString())
    {
        m_promise.start();
        newParser();
        d->exchanges.append(this);
    }

    ~Exchange() override
    {
        m_dying = true; // continuations run from the aborts below must not act
        m_trace.end(requestBytes(), m_bodyBytes, QStringLiteral("request dropped"));
        resolve(Response::fromError(fail(Error::Kind::Aborted, QStringLiteral("request dropped"))));
        if (m_bodyWriter)
            m_bodyWriter->abort();
        if (m_flow && m_ownsFlow)
            m_flow->deleteLater();
        d->exchanges.removeOne(this);
    }

    QFuture<Response> future() { return m_promise.future(); }
    QString key() const { return m_key; }
    Endpoint endpoint() const { return m_endpoint; }
    QDeadlineTimer deadline() const { return m_deadline; }
    bool retried() const { return m_retried; }

    // Runs over \a flow; \a owned: from the pool (given back after), else the caller's.
    void run(Flow *flow, bool owned, bool reused)
    {
        m_flow = flow;
        m_ownsFlow = owned;
        m_reused = reused;
        if (owned)
            flow->setParent(this);
        m_trace.start(flow, ProbeExchange::Role::Client, m_request.method(), m_request.target(),
                      m_request.minorVersion());
        sendHead();
        readMore();
    }

    void connectFailed(const Error &error)
    {
        m_connectFailed = true;
        resolve(Response::fromError(error.endpoint().isEmpty() ? error.withEndpoint(m_key) : error));
        deleteLater();
    }

private:
    qint64 requestBytes() const
    {
        return m_request.bodyFlow() ? m_bodySent : m_request.body().size();
    }

    Error fail(Error::Kind kind, const QString &message) const
    {
        return Error(kind, message, m_key);
    }

    void resolve(const Response &response)
    {
        if (m_resolved)
            return;
        m_resolved = true;
        m_promise.addResult(response);
        m_promise.finish();
    }

    QByteArray head() const
    {
        const QUrl url = m_request.url();
        ByteWriter out(256);
        out << m_request.method() << ' ' << m_request.target() << " HTTP/1."
            << m_request.minorVersion() << "\r\n";
        const Headers headers = m_request.headers();
        if (!headers.contains("host") && !url.host().isEmpty()) {
            const QByteArray host = url.host(QUrl::FullyEncoded).toLatin1();
            out << "Host: ";
            if (host.contains(':'))
                out << '[' << host << ']';
            else
                out << host;
            if (url.port() > 0)
                out << ':' << url.port();
            out << "\r\n";
        } else if (!headers.contains("host")) {
            out << "Host: localhost\r\n";
        }
        for (const Headers::Field &f : headers.fields()) {
            if (f.first.compare("content-length", Qt::CaseInsensitive) == 0
                || f.first.compare("transfer-encoding", Qt::CaseInsensitive) == 0)
                continue;
            out << f.first << ": " << f.second << "\r\n";
        }
        if (isChunked()) {
            out << "Transfer-Encoding: chunked\r\n" << trailerField(headers, trailers());
        } else if (m_request.bodyFlow()) {
            out << "Content-Length: " << m_request.bodyLength() << "\r\n";
        } else if (!m_request.body().isEmpty() || m_request.method() == "POST"
                   || m_request.method() == "PUT" || m_request.method() == "PATCH") {
            out << "Content-Length: " << m_request.body().size() << "\r\n";
        }
        out << "\r\n";
        return out.take();
    }

    // The request's trailer fields that may be sent; they need the chunked coding (HTTP/1.1).
    Headers trailers() const
    {
        return m_request.minorVersion() >= 1 ? sendableTrailers(m_request.trailers()) : Headers();
    }

    // A streamed body of unknown length, or any body with trailer fields, goes in chunks.
    bool isChunked() const
    {
        return (m_request.bodyFlow() && m_request.bodyLength() < 0) || !trailers().isEmpty();
    }

    void sendHead()
    {
        const QByteArray h = head();
        m_requestSent = false;
        if (m_request.bodyFlow()) {
            write({h}, false);
            sendBody();
        } else if (isChunked()) {
            QList<QByteArray> buffers{h};
            if (!m_request.body().isEmpty())
                buffers << chunk(m_request.body());
            write(buffers << lastChunk(trailers()), true);
        } else {
            write({h, m_request.body()}, true);
        }
    }

    // Writes part of the request; \a next runs once the flow accepted it (so a streamed body
    // is read no faster than the connection takes it).
    void write(const QList<QByteArray> &buffers, bool last, std::function<void()> next = {})
    {
        m_flow->writev(buffers, this, [this, last, next](const WriteResult &r) {
            if (m_dying)
                return;
            if (!r.isOk()) {
                // The server may have answered (and closed) before taking the whole request:
                // the response, if it comes, still counts.
                m_writeFailed = true;
                if (r.isError() && r.error().kind() == Error::Kind::TimedOut)
                    finishWith(fail(Error::Kind::TimedOut, QStringLiteral("request deadline passed while sending")));
                return;
            }
            if (last)
                m_requestSent = true;
            if (next && !m_done)
                next();
        }, m_deadline);
    }

    void sendBody()
    {
        m_request.bodyFlow()->read(this, [this](const ReadResult &r) {
            if (m_dying || m_done || m_writeFailed)
                return;
            const bool chunked = isChunked();
            const qint64 length = m_request.bodyLength(); // -1: unknown
            if (r.isData()) {
                m_bodySent += r.data().size();
                if (length >= 0 && m_bodySent > length) {
                    finishWith(fail(Error::Kind::InvalidArgument, QStringLiteral("request body longer than its length of %1 bytes").arg(length)));
                    return;
                }
                write(chunked ? chunk(r.data()) : QList<QByteArray>{r.data()}, false, [this] { sendBody(); });
                return;
            }
            if (r.isEof() && (length < 0 || m_bodySent == length)) {
                write({chunked ? lastChunk(trailers()) : QByteArray()}, true);
                return;
            }
            finishWith(r.isError() ? fail(r.error().kind(), QStringLiteral("request body failed: ") + r.error().message())
                                   : fail(Error::Kind::Closed, QStringLiteral("request body ended after %1 of %2 bytes").arg(m_bodySent).arg(m_request.bodyLength())));
        }, m_deadline);
    }

    QDeadlineTimer readDeadline() const
    {
        if (!m_headDone && d->headerTimeout > 0) {
            const QDeadlineTimer head(d->headerTimeout);
            return head < m_deadline ? head : m_deadline;
        }
        return m_deadline;
    }

    void readMore()
    {
        if (m_done || m_reading || m_bodyWritesPending > 0)
            return;
        if (!m_pending.isEmpty()) {
            process(std::exchange(m_pending, QByteArray()));
            return;
        }
        m_reading = true;
        m_flow->read(this, [this](const ReadResult &r) {
            if (m_dying)
                return;
            m_reading = false;
            onRead(r);
        }, readDeadline());
    }

    void onRead(const ReadResult &r)
    {
        if (m_done)
            return;
        if (r.isData()) {
            m_received += r.data().size();
            process(r.data());
            return;
        }
        if (r.isError() && r.error().kind() == Error::Kind::TimedOut) {
            finishWith(fail(Error::Kind::TimedOut, m_headDone ? QStringLiteral("response body not complete in time")
                                                              : QStringLiteral("no response head in time")));
            return;
        }
        if (m_received == 0 && m_reused && !m_retried) {
            retry(); // a kept-alive connection the server had closed meanwhile
            return;
        }
        if (r.isEof() && m_parser->inMessage()) {
            if (m_parser->finish() == Parser::Status::Complete && m_done) {
                complete(); // a body delimited by the end of the connection
                return;
            }
            finishWith(fail(Error::Kind::Truncated, m_headDone
                                    ? QStringLiteral("response body truncated after %1 bytes").arg(m_bodyBytes)
                                    : QStringLiteral("response head truncated")));
            return;
        }
        if (r.isEof()) {
            finishWith(fail(Error::Kind::Closed, QStringLiteral("connection closed before a response")));
            return;
        }
        finishWith(r.error().endpoint().isEmpty() ? r.error().withEndpoint(m_key) : r.error());
    }

    void process(const QByteArray &data)
    {
        if (!m_headDone)
            m_raw.append(data);
        m_feeding = &data;
        const Parser::Result result = m_parser->feed(data);
        m_feeding = nullptr;
        switch (result.status) {
        case Parser::Status::NeedMore:
            break;
        case Parser::Status::Complete:
            m_pending = data.mid(result.consumed);
            if (m_informational) {
                m_informational = false; // a 100 Continue: the real response follows
                m_raw = m_pending;
                m_pending.clear();
                process(m_raw.isEmpty() ? QByteArray() : std::exchange(m_raw, QByteArray()));
                return;
            }
            break;
        case Parser::Status::HeadTooLarge:
            finishWith(fail(Error::Kind::Other, QStringLiteral("response head too large")));
            return;
        case Parser::Status::Invalid:
            if (m_error.isNone())
                m_error = fail(Error::Kind::Other, QStringLiteral("malformed response: ") + m_parser->errorText());
            finishWith(m_error);
            return;
        }
        if (m_bodyWriter && !m_chunks.isEmpty()) {
            ++m_bodyWritesPending;
            m_bodyWriter->writev(std::exchange(m_chunks, {}), this, [this](const WriteResult &w) {
                if (m_dying)
                    return;
                --m_bodyWritesPending;
                if (!w.isOk() && !m_done) {
                    m_readerGone = true; // nobody reads the body: drop the connection
                    finishWith(fail(Error::Kind::Aborted, QStringLiteral("response body reader went away")));
                    return;
                }
                if (m_done)
                    complete();
                else
                    readMore();
            });
        }
        if (m_done)
            complete();
        else
            readMore();
    }

    bool onHead(const MessageHead &h)
    {
        if (h.status >= 100 && h.status < 200 && h.status != 101) {
            m_informational = true;
            return true;
        }
        m_headDone = true;
        m_keepAlive = h.keepAlive;
        m_trace.head(h.status, h.reason);
        Response r;
        r.setStatus(h.status);
        r.setReason(h.reason);
        r.setMinorVersion(h.minor);
        r.setHeaders(h.headers);
        const qsizetype end = m_raw.indexOf("\r\n\r\n");
        r.setRawHead(end >= 0 ? m_raw.left(end + 4) : m_raw);
        m_raw.clear();
        if (m_mode == Client::BodyMode::Collect && h.contentLength > d->maxBodySize) {
            m_error = fail(Error::Kind::Other, QStringLiteral("response body of %1 bytes is over the limit of %2").arg(h.contentLength).arg(d->maxBodySize));
            return false;
        }
        m_response = r;
        // The whole body in one allocation, not a doubling series of copies; bounded, since
        // the length is the server's word until the bytes come.
        if (m_mode == Client::BodyMode::Collect && h.contentLength > 0)
            m_body.reserve(qsizetype(qMin<qint64>(h.contentLength, 64 * 1024 * 1024)));
        if (m_mode == Client::BodyMode::Stream) {
            PipeFlow::Pair pair = PipeFlow::createPair();
            m_bodyWriter = std::move(pair.first);
            m_bodyReader = pair.second.get();
            r.setBodyFlow(makeBodyFlow(pair.second.release()), h.contentLength);
            m_bodyTrailers = receiveTrailers(r);
            resolve(r);
        }
        return true;
    }

    bool onBody(QByteArrayView data)
    {
        m_bodyBytes += data.size();
        if (m_mode == Client::BodyMode::Collect) {
            if (m_bodyBytes > d->maxBodySize) {
                m_error = fail(Error::Kind::Other, QStringLiteral("response body over the limit of %1 bytes").arg(d->maxBodySize));
                return false;
            }
            m_body.append(data);
        } else {
            m_chunks.append(shareOrCopy(data, m_feeding));
        }
        return true;
    }

    void onComplete(const Headers &trailers)
    {
        if (m_informational)
            return;
        m_done = true;
        m_response.setTrailers(trailers);
        if (m_bodyTrailers) // before the body flow's Eof, which complete() brings
            *std::exchange(m_bodyTrailers, nullptr) = trailers;
    }

    // The response ended: give back or drop the connection, end the streamed body.
    void complete()
    {
        if (m_bodyWriter) {
            if (m_bodyWritesPending > 0)
                return; // the last writev's continuation calls process() -> complete() again
            endBody(m_bodyWriter, m_bodyReader);
        } else {
            m_response.setBody(m_body);
            resolve(m_response);
        }
        m_trace.end(requestBytes(), m_bodyBytes);
        releaseFlow(m_keepAlive && m_requestSent && !m_writeFailed && m_pending.isEmpty());
        deleteLater();
    }

    void finishWith(const Error &error)
    {
        m_done = true;
        m_trace.end(requestBytes(), m_bodyBytes, errorMessage(error));
        if (m_bodyWriter) {
            m_bodyWriter->abort(); // the reader gets an error, never Eof for a cut body
            m_bodyWriter.reset();
        }
        resolve(Response::fromError(error));
        if (m_flow)
            m_flow->abort();
        releaseFlow(false);
        deleteLater();
    }

    void releaseFlow(bool reusable)
    {
        if (!m_flow || m_released)
            return;
        m_released = true;
        if (m_ownsFlow) {
            m_flow->setParent(nullptr);
            Flow *flow = std::exchange(m_flow, nullptr);
            d->release(m_key, flow, reusable && !m_readerGone);
        }
    }

    void newParser()
    {
        m_parser = std::make_unique<Parser>(Parser::Type::Response);
        m_parser->setExpectNoBody(m_request.method() == "HEAD");
        m_parser->onHead = [this](const MessageHead &head) { return onHead(head); };
        m_parser->onBody = [this](QByteArrayView data) { return onBody(data); };
        m_parser->onComplete = [this](const Headers &trailers) { onComplete(trailers); };
    }

    void retry()
    {
        m_retried = true;
        m_trace.end(requestBytes(), m_bodyBytes,
                    QStringLiteral("kept-alive connection closed by the server; sent again"));
        m_released = true;
        Flow *dead = std::exchange(m_flow, nullptr);
        dead->abort();
        dead->deleteLater();
        --d->open[m_key];
        newParser();
        m_released = false;
        m_raw.clear();
        if (m_request.bodyFlow()) {
            finishWith(fail(Error::Kind::Closed, QStringLiteral("kept-alive connection closed by the server")));
            return;
        }
        d->connectFor(this);
    }

    ClientPrivate *d;
    Request m_request;
    Client::BodyMode m_mode;
    QDeadlineTimer m_deadline;
    Endpoint m_endpoint;
    QString m_key;
    std::unique_ptr<Parser> m_parser;
    ExchangeTrace m_trace;
    const QByteArray *m_feeding = nullptr; // what the parser is fed, while it is
    std::shared_ptr<Headers> m_bodyTrailers; // the streamed response's, until they come
    QPromise<Response> m_promise;
    Flow *m_flow = nullptr;
    bool m_ownsFlow = false;
    bool m_reused = false;
    bool m_retried = false;
    bool m_released = false;
    bool m_resolved = false;
    bool m_reading = false;
    bool m_headDone = false;
    bool m_done = false;
    bool m_informational = false;
    bool m_keepAlive = false;
    bool m_requestSent = false;
    bool m_writeFailed = false;
    bool m_readerGone = false;
    bool m_connectFailed = false;
    bool m_dying = false;
    qint64 m_received = 0;
    qint64 m_bodyBytes = 0;
    qint64 m_bodySent = 0;
    QByteArray m_raw;
    QByteArray m_pending;
    QByteArray m_body;
    QList<QByteArray> m_chunks;
    int m_bodyWritesPending = 0;
    std::unique_ptr<PipeFlow> m_bodyWriter;
    QPointer<Flow> m_bodyReader;
    Response m_response;
    Error m_error;
};

void ClientPrivate::acquire(Exchange *exchange)
{
    const QString key = exchange->key();
    QList<Flow *> &free = idle[key];
    while (!free.isEmpty()) {
        Flow *flow = free.takeLast();
        QObject::disconnect(flow, nullptr, q, nullptr);
        stopIdleTimer(flow);
        if (flow->readState() == Flow::ReadState::Open && flow->writeState() == Flow::WriteState::Open) {
            exchange->run(flow, true, true);
            return;
        }
        --open[key];
        flow->abort();
        flow->deleteLater();
    }
    if (open.value(key) >= maxConnections) {
        waiting[key].append(exchange);
        return;
    }
    ++open[key];
    connectFor(exchange);
}

void ClientPrivate::connectFor(Exchange *exchange)
{
    QDeadlineTimer deadline(connectTimeout);
    if (exchange->deadline() < deadline)
        deadline = exchange->deadline();
    QPointer<Exchange> target(exchange);
    const QString key = exchange->key();
    const Endpoint endpoint = exchange->endpoint();
    QFuture<FlowResult<Flow>> connecting;
    if (endpoint.type() == Endpoint::Type::Tls) {
        connecting = TlsFlow::connectToHost(endpoint.host(), endpoint.port(), tlsConfiguration, deadline)
                             .then([](FlowResult<TlsFlow> r) {
                                 if (!r.isOk())
                                     return FlowResult<Flow>::fromError(r.error());
                                 return FlowResult<Flow>::fromFlow(r.takeFlow().release());
                             });
    } else {
        connecting = connectTo(endpoint, deadline);
    }
    // The connect may outlive the client: then what it made is deleted with its result.
    thenIfAlive(connecting, q, [this, target, key](FlowResult<Flow> result) {
        if (!result.isOk()) {
            --open[key];
            if (target)
                target->connectFailed(result.error());
            release(key, nullptr, false);
            return;
        }
        Flow *flow = result.takeFlow().release();
        if (!target) {
            release(key, flow, true);
            return;
        }
        target->run(flow, true, false);
    });
}

void ClientPrivate::release(const QString &key, Flow *flow, bool reusable)
{
    if (destroying) {
        if (flow)
            flow->deleteLater();
        return;
    }
    if (flow && !reusable) {
        --open[key];
        flow->abort();
        flow->deleteLater();
        flow = nullptr;
    }
    QList<QPointer<Exchange>> &queue = waiting[key];
    while (!queue.isEmpty()) {
        QPointer<Exchange> next = queue.takeFirst();
        if (!next)
            continue;
        if (flow) {
            next->run(flow, true, true);
        } else if (open.value(key) < maxConnections) {
            ++open[key];
            connectFor(next);
        } else {
            queue.prepend(next);
        }
        return;
    }
    if (flow) {
        flow->setParent(q);
        idle[key].append(flow);
        watchIdle(key, flow);
    }
}

// An idle connection the server closes (its idle timeout, a graceful stop) leaves the pool at
// once, our end closed too, instead of failing the next request that would take it. One idle
// for idleTimeout() is closed by us: servers close idle connections after a while too, and a
// request sent just as they do fails; so do the NATs and firewalls that forget a quiet one.
void ClientPrivate::watchIdle(const QString &key, Flow *flow)
{
    auto drop = [this, key, flow] {
        if (!idle[key].removeOne(flow))
            return;
        QObject::disconnect(flow, nullptr, q, nullptr);
        stopIdleTimer(flow);
        --open[key];
        // The flow as context: the client may go first (Qt 6.4 asserts on a dead context).
        flow->close(QDeadlineTimer(1000)).then(flow, [flow](const CloseResult &) { flow->deleteLater(); });
        release(key, nullptr, false); // a waiting request may connect now
    };
    QObject::connect(flow, &Flow::readStateChanged, q, drop);
    QObject::connect(flow, &Flow::errorOccurred, q, drop);
    if (idleTimeout > 0) {
        auto *timer = new QTimer(flow);
        timer->setSingleShot(true);
        QObject::connect(timer, &QTimer::timeout, q, drop);
        timer->start(idleTimeout);
        idleTimers.insert(flow, timer);
    }
}

void ClientPrivate::stopIdleTimer(Flow *flow)
{
    // Later, not now: this may run from the timer's own timeout.
    if (QTimer *timer = idleTimers.take(flow)) {
        timer->stop();
        timer->deleteLater();
    }
}

QFuture<Response> ClientPrivate::start(const Request &request, Client::BodyMode mode,
                                       QDeadlineTimer deadline, Flow *givenFlow)
{
    const Endpoint endpoint = givenFlow ? givenFlow->peerEndpoint() : Client::endpointFor(request);
    if (!givenFlow && !endpoint.isValid()) {
        return QtFuture::makeReadyFuture(Response::fromError(Error(Error::Kind::InvalidArgument,
                QStringLiteral("not an http:// or https:// URL: %1").arg(request.url().toString()),
                request.url().toString())));
    }
    auto *exchange = new Exchange(this, request, mode, deadline, endpoint);
    QFuture<Response> future = exchange->future();
    if (givenFlow)
        exchange->run(givenFlow, false, false);
    else
        acquire(exchange);
    return future;
}

QFuture<Response> ClientPrivate::follow(const Request &request, Client::BodyMode mode,
                                        QDeadlineTimer deadline, int redirectsLeft)
{
    QFuture<Response> first = start(request, mode, deadline, nullptr);
    if (redirectsLeft <= 0)
        return first;
    QPointer<Client> client(q);
    return first.then(q, [this, client, request, mode, deadline, redirectsLeft](const Response &r) {
        const int s = r.status();
        const bool redirect = s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
        if (!client || !redirect || !r.headers().contains("location"))
            return QtFuture::makeReadyFuture(r);
        const QUrl next = request.url().resolved(QUrl::fromEncoded(r.headers().value("location")));
        if (next.scheme() != request.url().scheme())
            return QtFuture::makeReadyFuture(r); // same scheme only
        Request again = request;
        again.setUrl(next);
        if (s == 303 || ((s == 301 || s == 302) && request.method() == "POST")) {
            again.setMethod("GET");
            again.setBody({});
            again.headers().remove("content-type");
        }
        return follow(again, mode, deadline, redirectsLeft - 1);
    }).unwrap();
}

Client::Client(QObject *parent) : QObject(parent), d(std::make_unique<ClientPrivate>(this)) { }

Client::~Client()
{
    // Exchanges first, while the pool they report to still exists.
    d->destroying = true;
    const QList<Exchange *> exchanges = d->exchanges;
    qDeleteAll(exchanges);
    for (const QList<Flow *> &flows : std::as_const(d->idle))
        for (Flow *flow : flows)
            flow->abort();
}

QFuture<Response> Client::send(const Request &request, BodyMode mode, QDeadlineTimer deadline)
{
    if (d->maxRedirects > 0 && !request.bodyFlow())
        return d->follow(request, mode, deadline, d->maxRedirects);
    return d->start(request, mode, deadline, nullptr);
}

QFuture<Response> Client::get(const QUrl &url, QDeadlineTimer deadline)
{
    return send(Request(url), BodyMode::Collect, deadline);
}

QFuture<Response> Client::sendOver(Flow *flow, const Request &request, BodyMode mode,
                                   QDeadlineTimer deadline)
{
    if (!flow) {
        return QtFuture::makeReadyFuture(Response::fromError(
                Error(Error::Kind::InvalidArgument, QStringLiteral("no flow to send the request over"))));
    }
    return d->start(request, mode, deadline, flow);
}

Endpoint Client::endpointFor(const Request &request)
{
    if (request.endpoint().isValid())
        return request.endpoint();
    const QUrl url = request.url();
    if (url.host().isEmpty())
        return {};
    if (url.scheme() == QLatin1String("http"))
        return Endpoint::tcp(url.host(), quint16(url.port(80)));
    if (url.scheme() == QLatin1String("https"))
        return Endpoint::tls(url.host(), quint16(url.port(443)));
    return {};
}

int Client::idleConnectionCount() const
{
    int n = 0;
    for (const QList<Flow *> &flows : std::as_const(d->idle))
        n += int(flows.size());
    return n;
}

int Client::maxConnectionsPerEndpoint() const
{
    return d->maxConnections;
}

void Client::setMaxConnectionsPerEndpoint(int count)
{
    d->maxConnections = qMax(1, count);
}

qint64 Client::maxBodySize() const
{
    return d->maxBodySize;
}

void Client::setMaxBodySize(qint64 bytes)
{
    d->maxBodySize = qMax<qint64>(0, bytes);
}

int Client::connectTimeout() const
{
    return d->connectTimeout;
}

void Client::setConnectTimeout(int milliseconds)
{
    d->connectTimeout = qMax(1, milliseconds);
}

int Client::headerTimeout() const
{
    return d->headerTimeout;
}

void Client::setHeaderTimeout(int milliseconds)
{
    d->headerTimeout = qMax(0, milliseconds);
}

int Client::idleTimeout() const
{
    return d->idleTimeout;
}

void Client::setIdleTimeout(int milliseconds)
{
    d->idleTimeout = qMax(0, milliseconds);
    // The connections idle now count their time from here, under the new limit.
    for (auto it = d->idleTimers.cbegin(); it != d->idleTimers.cend(); ++it) {
        if (d->idleTimeout > 0)
            it.value()->start(d->idleTimeout);
        else
            it.value()->stop();
    }
}

int Client::maxRedirects() const
{
    return d->maxRedirects;
}

void Client::setMaxRedirects(int count)
{
    d->maxRedirects = qMax(0, count);
}

QSslConfiguration Client::tlsConfiguration() const
{
    return d->tlsConfiguration;
}

void Client::setTlsConfiguration(const QSslConfiguration &configuration)
{
    d->tlsConfiguration = configuration;
}

} // namespace rill::http
