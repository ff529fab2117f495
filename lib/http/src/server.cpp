// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/http/server.h>

#include "bytes_p.h"
#include "chunked_p.h"
#include "parser_p.h"
#include "promise_p.h"
#include "trace_p.h"

#include <rill/pipeflow.h>

#include <QtCore/QDateTime>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QPromise>
#include <QtCore/QTimer>

#include <chrono>
#include <limits>
#include <optional>

namespace rill::http {

Q_LOGGING_CATEGORY(lcServer, "rill.http.server", QtWarningMsg)

namespace {

struct Route
{
    QByteArray method;
    QString path;
    bool prefix = false;
    Server::Handler handler;            // or:
    Server::ImmediateHandler immediate; // answers at once, with no future
    Server::BodyMode mode = Server::BodyMode::Collect;

    bool matchesPath(const QString &p) const { return prefix ? p.startsWith(path) : p == path; }
};

// Response fields the connection writes itself, from the body it is given.
bool isFramingField(const QByteArray &name)
{
    return name.compare("content-length", Qt::CaseInsensitive) == 0
            || name.compare("transfer-encoding", Qt::CaseInsensitive) == 0
            || name.compare("connection", Qt::CaseInsensitive) == 0;
}

// "Date: ...\r\n" for now, formatted once a second per thread (as nginx does): formatting a
// date through QLocale cost a sixth of a small request.
const QByteArray &dateField()
{
    thread_local qint64 second = -1;
    thread_local QByteArray field;
    const qint64 now = QDateTime::currentSecsSinceEpoch();
    if (now != second) {
        second = now;
        field = "Date: " + httpDate(QDateTime::fromSecsSinceEpoch(now)) + "\r\n";
    }
    return field;
}

} // namespace

class Connection;

class ServerPrivate
{
public:
    explicit ServerPrivate(Server *server) : q(server), listener(new Listener(server)) { }

    void acceptNext();
    void connectionGone(Connection *connection);

    Server *q;
    Listener *listener;
    QList<std::shared_ptr<const Route>> routes;
    std::shared_ptr<const Route> fallback;
    QList<Connection *> connections;
    bool accepting = false;
    bool stopping = false;
    std::optional<QPromise<void>> stopPromise;
    QFuture<void> stopFuture;
    int headerTimeout = Server::DefaultHeaderTimeout;
    int idleTimeout = Server::DefaultIdleTimeout;
    qint64 maxHeaderSize = Server::DefaultMaxHeaderSize;
    qint64 maxBodySize = Server::DefaultMaxBodySize;
};

// One connection: reads and parses requests one at a time (a pipelined next request waits,
// unparsed, until the response before it is out), hands each to its handler, writes the
// response, and closes or waits for the next request.
class Connection : public QObject
{
public:
    Connection(ServerPrivate *server, Flow *flow)
        : QObject(server->q), d(server), m_flow(flow), m_parser(Parser::Type::Request)
    {
        flow->setParent(this);
        m_parser.setMaxHeadSize(qsizetype(d->maxHeaderSize));
        m_parser.onHead = [this](const MessageHead &head) { return onHead(head); };
        m_parser.onBody = [this](QByteArrayView data) { return onBody(data); };
        m_parser.onComplete = [this](const Headers &trailers) { onComplete(trailers); };
        m_timer.setSingleShot(true);
        QObject::connect(&m_timer, &QTimer::timeout, this, [this] { onTimeout(); });
        startTimer(Timer::Header);
        pump();
    }

    // Server::stop(): close now if no request is under way, else after its response.
    void stopGracefully()
    {
        if (!m_requestActive)
            closeConnection();
    }

    void abortConnection()
    {
        if (m_bodyWriter)
            m_bodyWriter->abort();
        m_flow->abort();
    }

private:
    enum class Timer { None, Header, Idle };

    // One deadline, moved per request with a store; the QTimer is restarted only when it would
    // fire too late, and when it fires early it is set again for the rest. Stopping and
    // starting a QTimer two or three times per request cost more than parsing the request.
    void startTimer(Timer kind)
    {
        m_timerKind = kind;
        if (kind == Timer::None)
            return; // a timer still running finds None when it fires
        const qint64 now = steadyMs();
        m_due = now + (kind == Timer::Header ? d->headerTimeout : d->idleTimeout);
        if (!m_timer.isActive() || m_timerFiresAt > m_due)
            armTimer(now);
    }

    // Sets m_timer to fire at m_due.
    void armTimer(qint64 now)
    {
        m_timerFiresAt = m_due;
        m_timer.start(int(qMin<qint64>(m_due - now, std::numeric_limits<int>::max())));
    }

    static qint64 steadyMs()
    {
        using namespace std::chrono;
        return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
    }

    void onTimeout()
    {
        if (m_closing || m_timerKind == Timer::None)
            return;
        if (const qint64 now = steadyMs(); now < m_due) {
            armTimer(now);
            return;
        }
        if (m_timerKind == Timer::Header) {
            qCDebug(lcServer) << m_flow->peerEndpoint() << "request head not complete in time";
            fail(408);
        } else {
            closeConnection();
        }
    }

    // Reads more when the parser needs bytes and nothing holds it back: a response still to
    // come for a complete request (pipelining waits), a streamed body's reader behind, or
    // gathered responses the flow has not accepted yet (the client is not reading).
    //
    // Pipelined requests already read are parsed and answered here one after the other; when
    // their handlers answer at once, their responses are gathered (queueResponse()) and leave
    // together in one writev when the loop stops, as Node and nginx do. A pump() from inside
    // that loop (a response finished, or a read that resolved at once) has it look again.
    void pump()
    {
        if (m_pumping) {
            m_pumpAgain = true;
            return;
        }
        m_pumping = true;
        do {
            m_pumpAgain = false;
            pumpOnce();
        } while (m_pumpAgain && !m_closing);
        m_pumping = false;
        flushBatch();
    }

    void pumpOnce()
    {
        while (!m_closing && !m_processing) {
            if (m_requestActive && m_messageDone) {
                // The next request waits for this response, unparsed; the client is still
                // read (up to a head's worth): a reset ends the connection now, not once a
                // handler that may never answer (a long poll) does.
                if (!m_reading && !m_clientDone && m_pending.size() < d->maxHeaderSize)
                    readNext();
                break;
            }
            if (m_bodyWritesPending > 0) {
                // The handler's reader is behind: push back on the client, and do not count
                // the handler's time against the client.
                startTimer(Timer::None);
                break;
            }
            if (m_batchBytes >= MaxBatchBytes)
                flushBatch();
            if (m_batchWrites > 0)
                break; // backpressure: the rest waits until the flow took what was answered
            if (!m_pending.isEmpty()) {
                const QByteArray data = std::exchange(m_pending, QByteArray());
                process(data);
                continue;
            }
            if (!m_reading)
                readNext();
            break;
        }
    }

    void readNext()
    {
        m_reading = true;
        m_flow->read(this, [this](const ReadResult &result) {
            m_reading = false;
            onRead(result);
        });
    }

    void onRead(const ReadResult &result)
    {
        if (m_closing)
            return;
        if (result.isData()) {
            if (m_timerKind == Timer::Idle && !m_requestActive)
                startTimer(Timer::Header); // the next request's first bytes
            m_pending += result.data();
            pump();
            return;
        }
        // The client ended its side (or failed): a request cut short is dropped; between
        // requests this is the normal end of a keep-alive connection.
        if (m_parser.inMessage() && result.isEof() && m_parser.finish() == Parser::Status::Complete) {
            pump();
            return;
        }
        if (m_bodyWriter && !m_messageDone)
            m_bodyWriter->abort(); // the handler reads an error, not a short body as complete
        if (m_requestActive && result.isEof() && m_messageDone) {
            m_clientDone = true; // answer what was asked, then close
            return;
        }
        if (result.isError())
            abortConnection();
        closeConnection();
    }

    void process(const QByteArray &data)
    {
        m_processing = true;
        m_feeding = &data;
        const Parser::Result result = m_parser.feed(data);
        m_feeding = nullptr;
        m_processing = false;
        if (m_parser.inMessage() && !m_parser.headComplete() && m_timerKind == Timer::Idle)
            startTimer(Timer::Header);
        switch (result.status) {
        case Parser::Status::NeedMore:
            break;
        case Parser::Status::Complete:
            m_pending = data.mid(result.consumed);
            break;
        case Parser::Status::HeadTooLarge:
            fail(431);
            return;
        case Parser::Status::Invalid:
            qCDebug(lcServer) << m_flow->peerEndpoint() << "bad request:" << m_parser.errorText();
            fail(m_errorStatus ? m_errorStatus : 400);
            return;
        }
        // A body that stops arriving is dropped after the idle timeout (as nginx's
        // client_body_timeout); while the handler works, no timer runs.
        if (m_requestActive)
            startTimer(m_messageDone ? Timer::None : Timer::Idle);
        writeBodyChunks();
        if (m_dispatch) {
            m_dispatch = false;
            dispatch();
        }
    }

    bool onHead(const MessageHead &head)
    {
        startTimer(Timer::None);
        m_trace.start(m_flow, ProbeExchange::Role::Server, head.method, head.target, head.minor);
        if (d->maxBodySize >= 0 && head.contentLength > d->maxBodySize) {
            m_errorStatus = 413;
            return false;
        }
        if (head.upgrade && head.method != "CONNECT") {
            // No protocol upgrades here: answer as HTTP/1.1 and ignore the Upgrade field.
        } else if (head.method == "CONNECT") {
            m_errorStatus = 405;
            return false;
        }
        m_head = head;
        m_request = Request();
        m_request.setMethod(head.method);
        m_request.setTarget(head.target);
        m_request.setMinorVersion(head.minor);
        m_request.setHeaders(head.headers);
        m_request.setPeerEndpoint(m_flow->peerEndpoint());
        m_requestActive = true;
        m_messageDone = false;
        m_bodyBytes = 0;
        m_body.clear();
        m_route = findRoute();
        if (head.minor == 1 && head.headers.hasToken("expect", "100-continue")) {
            flushBatch(); // after the answers to the requests before this one
            m_flow->write(QByteArrayLiteral("HTTP/1.1 100 Continue\r\n\r\n"));
        }
        if (m_route->mode == Server::BodyMode::Stream) {
            PipeFlow::Pair pair = PipeFlow::createPair();
            m_bodyWriter = std::move(pair.first);
            const qint64 length = head.chunked ? -1 : qMax<qint64>(head.contentLength, 0);
            m_bodyReader = pair.second.get();
            m_request.setBodyFlow(makeBodyFlow(pair.second.release()), length);
            m_bodyTrailers = receiveTrailers(m_request);
            m_dispatch = true;
        }
        return true;
    }

    bool onBody(QByteArrayView data)
    {
        m_bodyBytes += data.size();
        if (d->maxBodySize >= 0 && m_bodyBytes > d->maxBodySize) {
            m_errorStatus = 413;
            return false;
        }
        if (m_route->mode == Server::BodyMode::Collect)
            m_body.append(data);
        else if (m_bodyWriter)
            m_bodyChunks.append(shareOrCopy(data, m_feeding));
        return true;
    }

    void onComplete(const Headers &trailers)
    {
        m_messageDone = true;
        if (m_bodyTrailers) // before the body flow's Eof, which writeBodyChunks() brings
            *std::exchange(m_bodyTrailers, nullptr) = trailers;
        if (m_route->mode == Server::BodyMode::Collect) {
            m_request.setBody(m_body);
            m_request.setTrailers(trailers);
            m_body.clear();
            m_dispatch = true;
        }
    }

    // Streamed body: hand the bytes to the handler's flow; reading the client waits until the
    // flow took them.
    void writeBodyChunks()
    {
        if (!m_bodyWriter)
            return;
        PipeFlow *writer = m_bodyWriter.get();
        if (!m_bodyChunks.isEmpty()) {
            ++m_bodyWritesPending;
            writer->writev(std::exchange(m_bodyChunks, {}), this, [this](const WriteResult &) {
                // A reader that went away (or stopped) takes nothing more: the rest is
                // parsed and dropped, and the response decides the connection.
                --m_bodyWritesPending;
                if (m_messageDone && m_bodyWritesPending == 0)
                    endBody(m_bodyWriter, m_bodyReader);
                if (!m_messageDone && !m_closing)
                    startTimer(Timer::Idle);
                pump();
            });
        }
        if (m_messageDone && m_bodyWritesPending == 0)
            endBody(m_bodyWriter, m_bodyReader);
    }

    std::shared_ptr<const Route> findRoute()
    {
        const QString path = m_request.path();
        QByteArrayList allowed;
        for (const std::shared_ptr<const Route> &r : std::as_const(d->routes)) {
            if (!r->matchesPath(path))
                continue;
            if (r->method.isEmpty() || r->method == m_request.method()
                || (r->method == "GET" && m_request.method() == "HEAD"))
                return r;
            allowed.append(r->method);
            if (r->method == "GET")
                allowed.append("HEAD");
        }
        if (d->fallback)
            return d->fallback;
        auto none = std::make_shared<Route>();
        const int status = allowed.isEmpty() ? 404 : 405;
        const QByteArray allow = allowed.join(", ");
        none->immediate = [status, allow](const Request &) {
            Response r(status, reasonPhrase(status) + '\n', "text/plain");
            if (status == 405)
                r.headers().append("Allow", allow);
            return r;
        };
        return none;
    }

    void dispatch()
    {
        m_handling = true;
        if (m_route->immediate) {
            respond(m_route->immediate(m_request));
            return;
        }
        QFuture<Response> future = m_route->handler(m_request);
        if (future.isFinished()) {
            // Answered at once: respond now, so a pipelined burst's responses can be gathered.
            // A canceled (or failed) future has no result: 500.
            respond(!future.isCanceled() && future.resultCount() > 0 ? future.result() : Response());
            return;
        }
        thenIfAlive(
                future, this, [this](const Response &response) { respond(response); },
                [this] { respond(Response()); }); // cancelled: 500, as above
    }

    void respond(Response response)
    {
        if (m_closing || !m_handling)
            return;
        m_handling = false;
        if (response.status() == 0 || response.isError())
            response = Response(500, "Internal Server Error\n", "text/plain");
        const int status = response.status();
        const bool isHead = m_request.method() == "HEAD";
        const bool noBody = isHead || (status >= 100 && status < 200) || status == 204 || status == 304;
        m_keepAlive = m_head.keepAlive && !d->stopping && m_messageDone && !m_clientDone;

        ByteWriter head(256);
        head << "HTTP/1.1 " << status << ' ' << response.reason() << "\r\n";
        for (const Headers::Field &f : response.headers().fields())
            if (!isFramingField(f.first))
                head << f.first << ": " << f.second << "\r\n";
        if (!response.headers().contains("date"))
            head << dateField();
        m_streamBody = response.bodyFlow();
        m_chunked = false;
        m_bodyLength = m_streamBody ? response.bodyLength() : response.body().size();
        // Trailer fields need the chunked coding, which an HTTP/1.0 client does not read.
        m_trailers = noBody || m_request.minorVersion() < 1 ? Headers()
                                                            : sendableTrailers(response.trailers());
        if (status != 204 && status != 304 && !(status >= 100 && status < 200)) {
            if (m_bodyLength >= 0 && m_trailers.isEmpty()) {
                head << "Content-Length: " << m_bodyLength << "\r\n";
            } else if (m_request.minorVersion() >= 1) {
                m_chunked = true;
                if (!isHead)
                    head << "Transfer-Encoding: chunked\r\n" << trailerField(response.headers(), m_trailers);
            } else {
                m_keepAlive = false; // HTTP/1.0: the body ends with the connection
            }
        }
        if (!m_keepAlive)
            head << "Connection: close\r\n";
        else if (m_request.minorVersion() == 0)
            head << "Connection: keep-alive\r\n";
        head << "\r\n";
        const QByteArray out = head.take();
        m_trace.head(status, response.reason());
        m_status = status;
        m_sent = 0;
        m_responseStarted = true;
        if (noBody) {
            dropStreamBody();
            queueResponse(out);
        } else if (m_streamBody) {
            write({out}, false);
            streamBody();
        } else if (m_chunked) {
            m_sent = response.body().size();
            QByteArray body;
            if (!response.body().isEmpty())
                body = chunk(response.body()).join();
            queueResponse(out, body + lastChunk(m_trailers));
        } else {
            m_sent = response.body().size();
            queueResponse(out, response.body());
        }
    }

    // A response whose bytes are all here joins the batch that pump() writes in one writev;
    // the exchange is over for the connection, which goes on to the next request. Its
    // exchangeFinished() comes when the flow accepts (or refuses) the batch.
    // (A head and a body, not a list: no list allocated per response.)
    void queueResponse(const QByteArray &head, const QByteArray &body = QByteArray())
    {
        for (const QByteArray *b : {&head, &body}) {
            if (!b->isEmpty()) {
                m_batch.append(*b);
                m_batchBytes += b->size();
            }
        }
        m_batchExchanges.append({m_request, m_status, m_sent, m_bodyBytes, std::exchange(m_trace, {})});
        endExchange();
    }

    // Writes the gathered responses, if any, in one writev (a write of the flow's ledger).
    void flushBatch()
    {
        if (m_batchExchanges.isEmpty())
            return;
        const QList<QByteArray> buffers = std::exchange(m_batch, {});
        const QList<Exchange> exchanges = std::exchange(m_batchExchanges, {});
        m_batchBytes = 0;
        ++m_batchWrites;
        m_flow->writev(buffers, this, [this, exchanges](const WriteResult &r) {
            --m_batchWrites;
            const Error error = r.isOk() ? Error()
                    : r.isError()        ? r.error()
                                         : Error(Error::Kind::Closed, QStringLiteral("client went away"));
            for (const Exchange &e : exchanges) {
                Q_EMIT d->q->exchangeFinished(e.request, e.status, e.bodyBytes, error);
                ExchangeTrace trace = e.trace;
                trace.end(e.requestBytes, e.bodyBytes, error.isNone() ? QString() : errorMessage(error));
            }
            if (m_closing)
                return;
            if (!error.isNone()) {
                abortConnection();
                closeConnection();
                return;
            }
            pump();
        }, QDeadlineTimer(d->idleTimeout));
    }

    // A response write: bounded by the flow's high-water mark, and dropped when the client
    // takes nothing for the idle timeout. Gathered responses before it go first.
    void write(const QList<QByteArray> &buffers, bool last)
    {
        flushBatch();
        m_flow->writev(buffers, this, [this, last](const WriteResult &r) {
            if (m_closing)
                return;
            if (!r.isOk()) {
                finishResponse(r.isError() ? r.error() : Error(Error::Kind::Closed, QStringLiteral("client went away")));
                return;
            }
            if (last)
                finishResponse({});
        }, QDeadlineTimer(d->idleTimeout));
    }

    void streamBody()
    {
        m_streamBody->read(this, [this](const ReadResult &r) {
            if (m_closing)
                return;
            if (r.isData()) {
                QByteArray data = r.data();
                if (m_bodyLength >= 0 && m_sent + data.size() > m_bodyLength)
                    data.truncate(m_bodyLength - m_sent); // never past Content-Length
                m_sent += data.size();
                const QList<QByteArray> buffers = m_chunked ? chunk(data) : QList<QByteArray>{data};
                m_flow->writev(buffers, this, [this](const WriteResult &w) {
                    if (m_closing)
                        return;
                    if (!w.isOk()) {
                        finishResponse(w.isError() ? w.error() : Error(Error::Kind::Closed, QStringLiteral("client went away")));
                        return;
                    }
                    if (m_bodyLength >= 0 && m_sent >= m_bodyLength && m_chunked)
                        write({lastChunk(m_trailers)}, true);
                    else if (m_bodyLength >= 0 && m_sent >= m_bodyLength)
                        finishResponse({});
                    else
                        streamBody();
                }, QDeadlineTimer(d->idleTimeout));
                return;
            }
            if (r.isEof() && (m_bodyLength < 0 || m_sent == m_bodyLength)) {
                if (m_chunked)
                    write({lastChunk(m_trailers)}, true);
                else
                    finishResponse({});
                return;
            }
            // The body's flow failed or ended short of its Content-Length: the client must
            // not take what it got for the whole body.
            const Error error = r.isError() ? r.error()
                                            : Error(Error::Kind::Closed, QStringLiteral("response body ended after %1 of %2 bytes").arg(m_sent).arg(m_bodyLength));
            qCWarning(lcServer) << "response body failed:" << errorMessage(error);
            finishResponse(error);
        }, QDeadlineTimer(d->idleTimeout));
    }

    void finishResponse(const Error &error)
    {
        Q_EMIT d->q->exchangeFinished(m_request, m_status, m_sent, error);
        m_trace.end(m_bodyBytes, m_sent, error.isNone() ? QString() : errorMessage(error));
        if (!error.isNone()) {
            dropStreamBody();
            m_responseStarted = false;
            m_request = Request();
            m_requestActive = false;
            abortConnection();
            closeConnection();
            return;
        }
        endExchange();
    }

    // Lets go of the response's body flow, on the next turn of the event loop: this may run
    // inside that flow's own read callback (its last bytes made the response whole), which
    // must return into a live flow.
    void dropStreamBody()
    {
        if (BodyFlow body = std::exchange(m_streamBody, {}))
            QMetaObject::invokeMethod(this, [body] {}, Qt::QueuedConnection);
    }

    // The response is out (or gathered): close, or wait for the next request.
    void endExchange()
    {
        dropStreamBody();
        m_responseStarted = false;
        m_request = Request();
        m_requestActive = false;
        if (!m_keepAlive || m_clientDone || d->stopping) {
            closeConnection();
            return;
        }
        m_bodyWriter.reset();
        m_messageDone = false;
        startTimer(m_pending.isEmpty() ? Timer::Idle : Timer::Header);
        pump();
    }

    // An error status, then close; if a response is under way already, only close.
    void fail(int status)
    {
        if (m_closing)
            return;
        if (m_bodyWriter)
            m_bodyWriter->abort();
        flushBatch(); // the answers to the requests before this one go first
        if (!m_responseStarted) {
            QByteArray body = reasonPhrase(status) + '\n';
            QByteArray out = "HTTP/1.1 " + QByteArray::number(status) + ' ' + reasonPhrase(status)
                    + "\r\nContent-Type: text/plain\r\nContent-Length: "
                    + QByteArray::number(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
            m_flow->write(out);
            if (m_requestActive || m_parser.inMessage()) {
                Q_EMIT d->q->exchangeFinished(m_request, status, body.size(), {});
                // A request refused before its head was whole shows too, with what was wrong.
                if (!m_trace.isActive())
                    m_trace.start(m_flow, ProbeExchange::Role::Server, QByteArray(), QByteArray(), 1);
                m_trace.head(status, reasonPhrase(status));
                m_trace.end(m_bodyBytes, body.size(), status == 400 ? m_parser.errorText() : QString());
            }
        }
        m_requestActive = false;
        closeConnection();
    }

    void closeConnection()
    {
        if (m_closing)
            return;
        flushBatch(); // before the FIN: answered is answered
        m_closing = true;
        m_trace.end(m_bodyBytes, m_sent, QStringLiteral("connection closed before the response ended"));
        m_timer.stop();
        dropStreamBody();
        if (m_bodyWriter)
            m_bodyWriter->abort();
        QPointer<Connection> self(this);
        // The client gets our FIN after the queued bytes; close() keeps reading (and dropping)
        // until its end, so an unread request does not turn into a reset that loses the reply.
        // The flow as context (it finishes its futures before its QObject part goes): this
        // connection may be deleted first, taking the flow, its child, with it.
        m_flow->close(QDeadlineTimer(qMin(d->idleTimeout, 10000))).then(m_flow, [this, self](const CloseResult &) {
            if (self)
                d->connectionGone(this);
        });
    }

    // A gathered response, for its exchangeFinished() once the flow accepted it.
    struct Exchange
    {
        Request request;
        int status = 0;
        qint64 bodyBytes = 0;
        qint64 requestBytes = 0;
        ExchangeTrace trace;
    };
    // Gathered responses leave once they reach this, whatever comes after them.
    static constexpr qint64 MaxBatchBytes = 64 * 1024;

    ServerPrivate *d;
    Flow *m_flow;
    Parser m_parser;
    QTimer m_timer;
    Timer m_timerKind = Timer::None;
    qint64 m_due = 0;          // steadyMs() when the current timer kind expires
    qint64 m_timerFiresAt = 0; // when m_timer, if active, fires
    QByteArray m_pending;
    const QByteArray *m_feeding = nullptr; // what the parser is fed, while it is
    bool m_reading = false;
    bool m_processing = false;
    bool m_pumping = false;
    bool m_pumpAgain = false;
    bool m_closing = false;
    bool m_requestActive = false;
    bool m_messageDone = false;
    bool m_handling = false;
    bool m_responseStarted = false;
    bool m_dispatch = false;
    bool m_clientDone = false;
    bool m_keepAlive = true;
    bool m_chunked = false;
    Headers m_trailers; // the response's, sent after its last chunk
    int m_errorStatus = 0;
    int m_status = 0;
    MessageHead m_head;
    Request m_request;
    ExchangeTrace m_trace;
    std::shared_ptr<const Route> m_route; // shared: no copy of the handler per request
    QByteArray m_body;
    qint64 m_bodyBytes = 0;
    QList<QByteArray> m_bodyChunks;
    std::unique_ptr<PipeFlow> m_bodyWriter;
    QPointer<Flow> m_bodyReader;
    std::shared_ptr<Headers> m_bodyTrailers; // the handler's request's, until they come
    int m_bodyWritesPending = 0;
    BodyFlow m_streamBody;
    qint64 m_bodyLength = 0;
    qint64 m_sent = 0;
    QList<QByteArray> m_batch;
    QList<Exchange> m_batchExchanges;
    qint64 m_batchBytes = 0;
    int m_batchWrites = 0;
};

void ServerPrivate::acceptNext()
{
    if (!accepting || stopping)
        return;
    listener->accept().then(q, [this](FlowResult<Flow> result) {
        if (result.isOk()) {
            q->serveFlow(result.takeFlow().release());
            acceptNext();
            return;
        }
        if (result.error().kind() == Error::Kind::Closed || stopping) {
            accepting = false;
            return;
        }
        // Out of descriptors and the like: the listener retries by itself and says when it
        // has a connection again.
        qCWarning(lcServer) << "accept:" << errorMessage(result.error());
        QObject::connect(listener, &Listener::newConnection, q, [this] { acceptNext(); },
                         Qt::SingleShotConnection);
    });
}

void ServerPrivate::connectionGone(Connection *connection)
{
    if (!connections.removeOne(connection))
        return;
    connection->deleteLater();
    Q_EMIT q->connectionCountChanged(int(connections.size()));
    if (stopping && connections.isEmpty() && stopPromise) {
        stopPromise->finish();
        stopPromise.reset();
    }
}

Server::Server(QObject *parent) : QObject(parent), d(std::make_unique<ServerPrivate>(this)) { }

Server::~Server()
{
    // The accept waiting on the listener finishes now, while this server (its continuation's
    // context) is whole: Qt 6.4 asserts when a context is gone before its future finishes.
    if (d->listener->isListening())
        d->listener->close();
    d->stopping = true;
    const QList<Connection *> connections = d->connections; // they leave the list as they go
    for (Connection *c : connections)
        c->abortConnection();
    if (d->stopPromise)
        d->stopPromise->finish();
}

namespace {
std::shared_ptr<const Route> makeRoute(const QByteArray &method, const QString &path,
                                       Server::Handler handler, Server::ImmediateHandler immediate,
                                       Server::BodyMode mode)
{
    auto r = std::make_shared<Route>();
    r->method = method;
    r->prefix = path.endsWith(QLatin1Char('*'));
    r->path = r->prefix ? path.chopped(1) : path;
    r->handler = std::move(handler);
    r->immediate = std::move(immediate);
    r->mode = mode;
    return r;
}
} // namespace

void Server::route(const QByteArray &method, const QString &path, Handler handler, BodyMode mode)
{
    d->routes.append(makeRoute(method, path, std::move(handler), {}, mode));
}

void Server::route(const QByteArray &method, const QString &path, ImmediateHandler handler,
                   BodyMode mode)
{
    d->routes.append(makeRoute(method, path, {}, std::move(handler), mode));
}

void Server::setFallback(Handler handler, BodyMode mode)
{
    d->fallback = makeRoute({}, QStringLiteral("*"), std::move(handler), {}, mode);
}

void Server::setFallback(ImmediateHandler handler, BodyMode mode)
{
    d->fallback = makeRoute({}, QStringLiteral("*"), {}, std::move(handler), mode);
}

bool Server::listen(const Endpoint &endpoint)
{
    if (!d->listener->listen(endpoint))
        return false;
    d->stopping = false;
    d->accepting = true;
    d->acceptNext();
    return true;
}

Listener *Server::listener() const
{
    return d->listener;
}

Endpoint Server::endpoint() const
{
    return d->listener->endpoint();
}

void Server::serveFlow(Flow *flow)
{
    if (!flow)
        return;
    if (d->stopping) {
        flow->setParent(this);
        // The flow as context: it finishes its futures before its QObject part goes.
        flow->close().then(flow, [flow](const CloseResult &) { flow->deleteLater(); });
        return;
    }
    d->connections.append(new Connection(d.get(), flow));
    Q_EMIT connectionCountChanged(int(d->connections.size()));
}

QFuture<void> Server::stop()
{
    if (d->stopPromise)
        return d->stopFuture;
    d->stopping = true;
    d->accepting = false;
    if (d->listener->isListening())
        d->listener->close();
    if (d->connections.isEmpty()) {
        QPromise<void> done;
        done.start();
        done.finish();
        return done.future();
    }
    d->stopPromise.emplace();
    d->stopPromise->start();
    d->stopFuture = d->stopPromise->future();
    const QList<Connection *> connections = d->connections;
    for (Connection *c : connections)
        c->stopGracefully();
    return d->stopFuture;
}

int Server::connectionCount() const
{
    return int(d->connections.size());
}

int Server::headerTimeout() const
{
    return d->headerTimeout;
}

void Server::setHeaderTimeout(int milliseconds)
{
    d->headerTimeout = qMax(1, milliseconds);
}

int Server::idleTimeout() const
{
    return d->idleTimeout;
}

void Server::setIdleTimeout(int milliseconds)
{
    d->idleTimeout = qMax(1, milliseconds);
}

qint64 Server::maxHeaderSize() const
{
    return d->maxHeaderSize;
}

void Server::setMaxHeaderSize(qint64 bytes)
{
    d->maxHeaderSize = qMax<qint64>(64, bytes);
}

qint64 Server::maxBodySize() const
{
    return d->maxBodySize;
}

void Server::setMaxBodySize(qint64 bytes)
{
    d->maxBodySize = bytes < 0 ? -1 : bytes;
}

} // namespace rill::http
