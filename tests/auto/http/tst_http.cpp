// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
//
// rill::http (rill/http/*.h): the server against curl, Python's http.client and raw sockets;
// the client against Python's http.server (on a Unix socket too) and scripted raw replies.

#include "../shared/testutil.h"

#include <rill/http/client.h>
#include <rill/http/server.h>
#include <rill/pipeflow.h>
#include <rill/probe.h>

#include <QtCore/QCryptographicHash>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QSslKey>
#include <QtTest/QtTest>

using namespace rill;
using namespace rill::http;
using namespace std::chrono_literals;

namespace {

constexpr qint64 MiB = 1024 * 1024;

qint64 bulkBytes()
{
    const int mib = qEnvironmentVariableIntValue("RILL_HTTP_BULK_MIB");
    return rilltest::heavyVolume((mib > 0 ? mib : 64) * MiB);
}

QString peersScript()
{
    return QStringLiteral(RILL_TEST_DATA_DIR "/peers.py");
}

// A flow that gives `total` bytes of a pattern, made as they are read, and counts them: the
// memory a slow reader can make the server hold shows in `produced`.
class Generator : public QObject
{
public:
    explicit Generator(qint64 total) : m_total(total), m_chunk(rilltest::pattern(64 * 1024, 7)) { }

    // A PipeFlow end fed as its peer end drains.
    BodyFlow start()
    {
        PipeFlow::Pair pair = PipeFlow::createPair(256 * 1024);
        m_writer = std::move(pair.first);
        m_writer->setParent(nullptr);
        pump();
        return makeBodyFlow(pair.second.release());
    }
    qint64 produced() const { return m_produced; }
    QByteArray sha256() const { return m_hash.result(); }

private:
    void pump()
    {
        if (!m_writer)
            return;
        if (m_produced >= m_total) {
            m_writer->shutdown(Flow::Direction::Write);
            return;
        }
        const QByteArray piece = m_chunk.left(qMin<qint64>(m_chunk.size(), m_total - m_produced));
        m_produced += piece.size();
        m_hash.addData(piece);
        m_writer->write(piece).then(this, [this](const WriteResult &r) {
            if (r.isOk())
                pump();
        });
    }

    qint64 m_total;
    qint64 m_produced = 0;
    QByteArray m_chunk;
    QCryptographicHash m_hash {QCryptographicHash::Sha256};
    std::unique_ptr<PipeFlow> m_writer;
};

// Runs a program to its end while this thread's event loop (and so the server) runs.
struct Run
{
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

Run run(const QString &program, const QStringList &arguments, std::chrono::milliseconds timeout = 120s,
        const QByteArray &input = {})
{
    QProcess process;
    process.start(program, arguments);
    Run result;
    if (!process.waitForStarted(10000))
        return result;
    process.write(input);
    process.closeWriteChannel();
    if (!rilltest::spinUntil([&] { return process.state() == QProcess::NotRunning; }, timeout)) {
        process.kill();
        process.waitForFinished();
        return result;
    }
    result.exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    result.out = process.readAllStandardOutput();
    result.err = process.readAllStandardError();
    return result;
}

Run python(const QStringList &arguments, std::chrono::milliseconds timeout = 120s,
           const QByteArray &input = {})
{
    return run(QStringLiteral("python3"), QStringList {peersScript()} + arguments, timeout, input);
}

// A raw exchange: bytes out, everything the server sent until it closed.
QByteArray rawExchange(const Endpoint &server, const QByteArray &request, const QString &wait = {})
{
    QStringList args {QStringLiteral("raw"), server.host(), QString::number(server.port()),
                      QStringLiteral("-")};
    if (!wait.isEmpty())
        args << wait;
    const Run r = python(args, 120s, request.toHex()); // on stdin: too long for an argument
    return QByteArray::fromHex(r.out.trimmed());
}

// A server helper process (Python) that prints "ready" once it listens.
std::unique_ptr<QProcess> startPeerServer(const QStringList &arguments)
{
    auto process = std::make_unique<QProcess>();
    process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    process->start(QStringLiteral("python3"), QStringList {peersScript()} + arguments);
    if (!process->waitForStarted(10000))
        return nullptr;
    if (!rilltest::spinUntil([&] { return process->canReadLine() || process->state() == QProcess::NotRunning; }))
        return nullptr;
    if (process->readLine().trimmed() != "ready")
        return nullptr;
    return process;
}

// A peer server of peers.py (MODE and its arguments after the socket's path) on a Unix socket
// in a temporary folder, killed when it goes; request() makes a request that goes to it.
struct UnixPeer
{
    QTemporaryDir dir;
    QString path;
    std::unique_ptr<QProcess> process;

    bool start(const QString &mode, const QStringList &more = {})
    {
        if (!dir.isValid())
            return false;
        path = dir.filePath(QStringLiteral("peer.sock"));
        process = startPeerServer(QStringList{mode, path} + more);
        return bool(process);
    }
    // Answers every connection with \a reply, then closes.
    bool startScript(const QByteArray &reply)
    {
        return start(QStringLiteral("script"), {QString::fromLatin1(reply.toHex())});
    }
    Request request(const QString &url = QStringLiteral("http://localhost/"),
                    const QByteArray &method = QByteArrayLiteral("GET")) const
    {
        Request r{QUrl(url), method};
        r.setEndpoint(Endpoint::local(path));
        return r;
    }
    ~UnixPeer()
    {
        if (process) {
            process->kill();
            process->waitForFinished();
        }
    }
};

// Waits for a response future; false if it never finished.
bool awaited(const QFuture<Response> &future, Response *out, std::chrono::milliseconds timeout = 60s)
{
    if (!rilltest::waitFor(future, timeout) || future.resultCount() != 1)
        return false;
    *out = future.result();
    return true;
}

QFuture<Response> ready(const Response &r)
{
    return QtFuture::makeReadyFuture(r);
}

// The usual routes: GET /hello and POST /echo (collected), both immediate handlers (no
// future), POST /sha256 (streamed: answers the body's hash and size), GET /bulk?N (streamed,
// chunked, N bytes of Generator), GET /unanswered (an immediate handler's status 0: 500).
void addRoutes(Server &server, std::shared_ptr<Generator> *lastGenerator = nullptr)
{
    server.route("GET", QStringLiteral("/hello"), [](const Request &) {
        return Response(200, "hello\n", "text/plain");
    });
    server.route("GET", QStringLiteral("/unanswered"), [](const Request &) { return Response(); });
    server.route("POST", QStringLiteral("/echo"), [](const Request &request) {
        Response r(200, request.body(), "application/octet-stream");
        r.headers().append("X-Trailer-Count", QByteArray::number(request.trailers().size()));
        return r;
    });
    server.route("POST", QStringLiteral("/sha256"), [](const Request &request) {
        auto promise = std::make_shared<QPromise<Response>>();
        promise->start();
        auto hash = std::make_shared<QCryptographicHash>(QCryptographicHash::Sha256);
        auto size = std::make_shared<qint64>(0);
        BodyFlow body = request.bodyFlow();
        auto step = std::make_shared<std::function<void()>>();
        *step = [promise, hash, size, body, step]() {
            body->read().then(body.get(), [promise, hash, size, body, step](const ReadResult &r) {
                if (r.isData()) {
                    hash->addData(r.data());
                    *size += r.data().size();
                    (*step)();
                    return;
                }
                promise->addResult(r.isEof() ? Response(200, hash->result().toHex() + ' ' + QByteArray::number(*size))
                                             : Response(500, errorMessage(r.error()).toUtf8()));
                promise->finish();
                *step = nullptr; // breaks the cycle
            });
        };
        (*step)();
        return promise->future();
    }, Server::BodyMode::Stream);
    server.route("GET", QStringLiteral("/bulk"), [lastGenerator](const Request &request) {
        auto generator = std::make_shared<Generator>(request.query().toLongLong());
        if (lastGenerator)
            *lastGenerator = generator;
        Response r(200);
        BodyFlow flow = generator->start();
        // The generator lives as long as the body flow.
        r.setBodyFlow(BodyFlow(flow.get(), [flow, generator](Flow *) { }), -1);
        return ready(r);
    });
}

// The usual routes on tcp:127.0.0.1 (a free port); `most`, if given, follows the highest
// number of connections the server reaches.
bool listenWithRoutes(Server &server, int *most = nullptr)
{
    addRoutes(server);
    if (most) {
        QObject::connect(&server, &Server::connectionCountChanged, &server,
                         [most](int n) { *most = qMax(*most, n); });
    }
    return server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0));
}

} // namespace

class TestHttp : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void headers();
    void curlOverTcp();
    void curlOverUnixSocket();
    void bulkBothWaysWithCurl();
    void clientBulkStreamed();
    void keepAlive1000WithHttpClient();
    void pipelining();
    void pipelinedResponsesGathered();
    void limits_data();
    void limits();
    void slowloris();
    void neverReadingClient();
    void concurrent100();
    void poolMaximum();
    void poolIdleExpiry();
    void clientAgainstPythonUnixServer();
    void clientRawReplies_data();
    void clientRawReplies();
    void clientRefused();
    void overGivenFlows();
    void httpsBothWays();
    void gracefulStopWithDownloadInFlight();
    void clientDeletedWithBodyUnread();
    void clientDeletedWhileConnecting_data();
    void clientDeletedWhileConnecting();
    void requestBodyFlowOutlivesExchange();
    void handlerAnswersAfterClientReset_data();
    void handlerAnswersAfterClientReset();
    void exchangesReported();
    void trailersOfStreamedBodies();
    void trailersSent();
};

void TestHttp::headers()
{
    Headers h {{"Host", "a"}, {"Set-Cookie", "x=1"}};
    h.append("set-cookie", "y=2");
    QCOMPARE(h.value("HOST"), QByteArray("a"));
    QCOMPARE(h.values("Set-Cookie"), QList<QByteArray>({"x=1", "y=2"}));
    QCOMPARE(h.fields().at(2).first, QByteArray("set-cookie")); // kept as written
    h.set("SET-COOKIE", "z=3");
    QCOMPARE(h.values("set-cookie"), QList<QByteArray>({"z=3"}));
    QCOMPARE(h.size(), 2);
    h.append("Connection", "keep-alive, Close");
    QVERIFY(h.hasToken("connection", "close"));
    QVERIFY(h.hasToken("connection", "KEEP-ALIVE"));
    QVERIFY(!h.hasToken("connection", "keep")); // a token, not a prefix
    QVERIFY(!h.hasToken("connection", "keep-alive, close")); // one token, not the list
    QVERIFY(!h.hasToken("upgrade", "close"));
    Headers tokens {{"TE", ",\ttrailers ,"}, {"te", " gzip\t"}};
    QVERIFY(tokens.hasToken("te", "trailers"));
    QVERIFY(tokens.hasToken("te", "gzip")); // in a later field of the same name
    QVERIFY(tokens.hasToken("te", "")); // the empty elements a list may hold
    QVERIFY(!tokens.hasToken("te", "deflate"));
    QCOMPARE(h.remove("connection"), 1);
    QVERIFY(!h.contains("Connection"));
    QCOMPARE(reasonPhrase(431), QByteArray("Request Header Fields Too Large"));
    QCOMPARE(httpDate(QDateTime(QDate(1994, 11, 6), QTime(8, 49, 37), Qt::UTC)),
             QByteArray("Sun, 06 Nov 1994 08:49:37 GMT"));
    const Request request(QUrl(QStringLiteral("http://example.org:8080/a%20b?x=1")), "POST");
    QCOMPARE(request.target(), QByteArray("/a%20b?x=1"));
    QCOMPARE(request.path(), QStringLiteral("/a b"));
    QCOMPARE(request.query(), QByteArray("x=1"));
    QCOMPARE(rilltest::debugString(Response(404)), QStringLiteral("Response(404 Not Found, 0 fields, 0 bytes)"));
    QCOMPARE(rilltest::debugString(request),
             QStringLiteral("Request(POST /a%20b?x=1 HTTP/1.1, 0 fields, 0 bytes)"));
}

void TestHttp::curlOverTcp()
{
    Server server;
    QVERIFY(listenWithRoutes(server));
    const QString base = QStringLiteral("http://127.0.0.1:%1").arg(server.endpoint().port());
    Run r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), base + QStringLiteral("/hello")});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(r.out, QByteArray("hello\n"));
    r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("--data-binary"),
                                     QStringLiteral("ping"), base + QStringLiteral("/echo")});
    QCOMPARE(r.out, QByteArray("ping"));
    // Chunked upload with extensions and trailers, HTTP/1.1, read by curl (trailers counted).
    const QByteArray chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                               "Connection: close\r\n\r\n"
                               "4;name=value\r\nWiki\r\n5;a;b=\"c\"\r\npedia\r\n0\r\nX-Sum: 9\r\nX-Two: 2\r\n\r\n";
    QByteArray reply = rawExchange(server.endpoint(), chunked);
    QVERIFY2(reply.startsWith("HTTP/1.1 200 OK\r\n"), reply.constData());
    QVERIFY(reply.contains("X-Trailer-Count: 2\r\n"));
    QVERIFY(reply.endsWith("\r\n\r\nWikipedia"));
    // HTTP/1.0: answered 1.0-style (close), and a streamed body of unknown length ends with the
    // connection instead of being chunked.
    reply = rawExchange(server.endpoint(), "GET /bulk?100 HTTP/1.0\r\n\r\n");
    QVERIFY2(reply.startsWith("HTTP/1.1 200 OK\r\n"), reply.constData());
    QVERIFY(reply.contains("Connection: close\r\n"));
    QVERIFY(!reply.contains("chunked"));
    QCOMPARE(reply.mid(reply.indexOf("\r\n\r\n") + 4), rilltest::pattern(64 * 1024, 7).left(100));
    // 404, 405 with Allow; HEAD has the length but no body.
    reply = rawExchange(server.endpoint(), "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QVERIFY(reply.startsWith("HTTP/1.1 404 Not Found\r\n"));
    reply = rawExchange(server.endpoint(), "DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QVERIFY(reply.startsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
    QVERIFY(reply.contains("Allow: GET, HEAD\r\n"));
    reply = rawExchange(server.endpoint(), "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QVERIFY(reply.contains("Content-Length: 6\r\n"));
    QVERIFY(reply.endsWith("\r\n\r\n"));
    reply = rawExchange(server.endpoint(), "GET /unanswered HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    QVERIFY2(reply.startsWith("HTTP/1.1 500 Internal Server Error\r\n"), reply.constData());
}

void TestHttp::curlOverUnixSocket()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("http.sock"));
    Server server;
    addRoutes(server);
    QVERIFY(server.listen(Endpoint::local(path)));
    Run r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("--unix-socket"), path,
                                         QStringLiteral("http://localhost/hello")});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(r.out, QByteArray("hello\n"));

    // And our client over the same socket.
    Client client;
    Request request(QUrl(QStringLiteral("http://docker/echo")), "POST");
    request.setEndpoint(Endpoint::local(path));
    request.setBody("over unix");
    Response response;
    QVERIFY(awaited(client.send(request), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.status(), 200);
    QCOMPARE(response.body(), QByteArray("over unix"));
}

void TestHttp::bulkBothWaysWithCurl()
{
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const qint64 size = bulkBytes();
    // Upload: curl sends a file with Content-Length; the streamed handler hashes it.
    const QString file = dir.filePath(QStringLiteral("up.bin"));
    QCryptographicHash hash(QCryptographicHash::Sha256);
    {
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        const QByteArray block = rilltest::pattern(MiB, 3);
        for (qint64 n = 0; n < size; n += block.size()) {
            const QByteArray piece = block.left(qMin<qint64>(block.size(), size - n));
            f.write(piece);
            hash.addData(piece);
        }
    }
    Server server;
    server.setMaxBodySize(-1);
    std::shared_ptr<Generator> generator;
    addRoutes(server, &generator);
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const QString base = QStringLiteral("http://127.0.0.1:%1").arg(server.endpoint().port());
    // -T streams the file (--data-binary would read it whole first); it asks for 100-continue.
    Run r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("-X"), QStringLiteral("POST"),
                                         QStringLiteral("-T"), file, base + QStringLiteral("/sha256")});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(r.out, hash.result().toHex() + ' ' + QByteArray::number(size));

    // Download: chunked, of unknown length, checked by curl's bytes.
    const QString down = dir.filePath(QStringLiteral("down.bin"));
    r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("-o"), down,
                                     base + QStringLiteral("/bulk?") + QString::number(size)});
    QCOMPARE(r.exitCode, 0);
    QFile f(down);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(f.size(), size);
    QCryptographicHash got(QCryptographicHash::Sha256);
    QVERIFY(got.addData(&f));
    QVERIFY(generator);
    QCOMPARE(got.result(), generator->sha256());
}

void TestHttp::clientBulkStreamed()
{
    // Our client against our server, both bodies streamed: up with Content-Length from a
    // generator, down chunked into a streamed response body.
    const qint64 size = bulkBytes();
    Server server;
    server.setMaxBodySize(-1);
    std::shared_ptr<Generator> down;
    addRoutes(server, &down);
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const QString base = QStringLiteral("http://127.0.0.1:%1").arg(server.endpoint().port());
    Client client;

    Generator up(size);
    Request request(QUrl(base + QStringLiteral("/sha256")), "POST");
    request.setBodyFlow(up.start(), size);
    QFuture<Response> future = client.send(request);
    QVERIFY(rilltest::waitFor(future, 120s));
    Response response = future.result();
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.body(), up.sha256().toHex() + ' ' + QByteArray::number(size));

    future = client.send(Request(QUrl(base + QStringLiteral("/bulk?") + QString::number(size))),
                         Client::BodyMode::Stream);
    RILL_AWAIT(future, response);
    QCOMPARE(response.status(), 200);
    QVERIFY(response.bodyFlow());
    QCryptographicHash got(QCryptographicHash::Sha256);
    qint64 total = 0;
    for (;;) {
        QFuture<ReadResult> read = response.bodyFlow()->read();
        ReadResult r;
        RILL_AWAIT(read, r);
        if (!r.isData()) {
            QVERIFY2(r.isEof(), qPrintable(rilltest::debugString(r)));
            break;
        }
        got.addData(r.data());
        total += r.data().size();
    }
    QCOMPARE(total, size);
    QCOMPARE(got.result(), down->sha256());
    response = Response();
    QTRY_COMPARE(client.idleConnectionCount(), 1); // kept alive for the next request
}

void TestHttp::keepAlive1000WithHttpClient()
{
    Server server;
    addRoutes(server);
    QSet<QString> peers;
    int exchanges = 0;
    connect(&server, &Server::exchangeFinished, this, [&](const Request &request, int, qint64, const Error &) {
        peers.insert(request.peerEndpoint().toString());
        ++exchanges;
    });
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const Run r = python({QStringLiteral("keepalive"), QStringLiteral("127.0.0.1"),
                          QString::number(server.endpoint().port()), QStringLiteral("1000")});
    QCOMPARE(r.out.trimmed(), QByteArray("1000"));
    QCOMPARE(exchanges, 1000);
    QCOMPARE(peers.size(), 1); // one connection

    // Our client, 1000 requests, one pooled connection.
    Client client;
    const QUrl url(QStringLiteral("http://127.0.0.1:%1/hello").arg(server.endpoint().port()));
    for (int i = 0; i < 1000; ++i) {
        Response response;
        QVERIFY(awaited(client.get(url), &response));
        QCOMPARE(response.body(), QByteArray("hello\n"));
    }
    QCOMPARE(peers.size(), 2);
}

void TestHttp::pipelining()
{
    Server server;
    QVERIFY(listenWithRoutes(server));
    const QByteArray requests = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
                                "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
                                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\ntwo";
    const QByteArray reply = rawExchange(server.endpoint(), requests);
    const qsizetype a = reply.indexOf("HTTP/1.1 200 OK");
    const qsizetype b = reply.indexOf("\r\n\r\none");
    const qsizetype c = reply.indexOf("HTTP/1.1 404");
    const qsizetype d = reply.indexOf("\r\n\r\ntwo");
    QVERIFY2(a == 0 && a < b && b < c && c < d, reply.constData());
    QCOMPARE(reply.count("HTTP/1.1 "), 4);
}

void TestHttp::pipelinedResponsesGathered()
{
    // A burst of pipelined requests in one send, answered at once by their handlers: the
    // responses leave in fewer writes than there are responses (gathered into writevs), in
    // order. The server serves a flow accepted here, so the test sees its write ledger.
    Server server;
    addRoutes(server);
    Listener listener;
    QVERIFY(listener.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    int writes = 0;
    int exchanges = 0;
    connect(&server, &Server::exchangeFinished, this, [&] { ++exchanges; });
    listener.accept().then(&listener, [&](FlowResult<Flow> result) {
        if (!result.isOk())
            return;
        Flow *flow = result.takeFlow().release();
        connect(flow, &Flow::writeQueued, this, [&] { ++writes; });
        server.serveFlow(flow);
    });
    constexpr int Count = 50;
    QByteArray requests;
    for (int i = 0; i < Count; ++i) {
        if (i % 2)
            requests += "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n"
                    + QByteArray::number(1000 + i);
        else
            requests += "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    requests += "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const QByteArray reply = rawExchange(listener.endpoint(), requests);
    QCOMPARE(reply.count("HTTP/1.1 200 OK"), Count + 1);
    qsizetype at = 0;
    for (int i = 0; i < Count; ++i) {
        const QByteArray body = i % 2 ? "\r\n\r\n" + QByteArray::number(1000 + i) : QByteArray("\r\n\r\nhello\n");
        const qsizetype next = reply.indexOf(body, at);
        QVERIFY2(next > at, qPrintable(QStringLiteral("response %1 missing or out of order").arg(i)));
        at = next;
    }
    QTRY_COMPARE(exchanges, Count + 1);
    // However the burst arrives (one read or several), each read's complete requests share one
    // write: far fewer writes than responses.
    QVERIFY2(writes > 0 && writes <= Count / 4, qPrintable(QStringLiteral("%1 writes for %2 responses").arg(writes).arg(Count + 1)));
}

void TestHttp::limits_data()
{
    QTest::addColumn<QByteArray>("request");
    QTest::addColumn<QByteArray>("status");
    QTest::newRow("head too large")
            << QByteArray("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + QByteArray(70 * 1024, 'a') + "\r\n\r\n")
            << QByteArray("431");
    QTest::newRow("target too large")
            << QByteArray("GET /" + QByteArray(70 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n")
            << QByteArray("431");
    QTest::newRow("content-length and transfer-encoding")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
            << QByteArray("400");
    QTest::newRow("differing content-lengths")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde")
            << QByteArray("400");
    QTest::newRow("invalid content-length")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n")
            << QByteArray("400");
    // Past qint64 (llhttp takes up to 2^64 - 1); it read as negative before (fuzz_http_request).
    QTest::newRow("content-length past 2^63")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 12838073687773020152\r\n\r\n")
            << QByteArray("400");
    QTest::newRow("chunked not last")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n")
            << QByteArray("400");
    QTest::newRow("malformed request line") << QByteArray("GET\r\n\r\n") << QByteArray("400");
    QTest::newRow("space in field name")
            << QByteArray("GET / HTTP/1.1\r\nHost : x\r\n\r\n") << QByteArray("400");
    QTest::newRow("bad chunk size")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            << QByteArray("400");
    QTest::newRow("body too large (length)")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n")
            << QByteArray("413");
    QTest::newRow("body too large (chunked)")
            << QByteArray("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + QByteArray(2048, 'b') + "\r\n0\r\n\r\n")
            << QByteArray("413");
}

void TestHttp::limits()
{
    QFETCH(QByteArray, request);
    QFETCH(QByteArray, status);
    Server server;
    server.setMaxBodySize(1000);
    QVERIFY(listenWithRoutes(server));
    // rawExchange() returns once the server closed: each of these closes the connection.
    const QByteArray reply = rawExchange(server.endpoint(), request);
    QVERIFY2(reply.startsWith("HTTP/1.1 " + status + ' '), reply.left(200).constData());
    QVERIFY(reply.contains("Connection: close\r\n"));
    QCOMPARE(reply.count("HTTP/1.1"), 1); // nothing after it was taken as a request
    QTRY_COMPARE(server.connectionCount(), 0);
}

void TestHttp::slowloris()
{
    // A head that does not complete in time: 408 and close, while other clients are served.
    Server server;
    server.setHeaderTimeout(300);
    QVERIFY(listenWithRoutes(server));
    const QByteArray reply = rawExchange(server.endpoint(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                                         QStringLiteral("3"));
    QVERIFY2(reply.startsWith("HTTP/1.1 408 Request Timeout\r\n"), reply.constData());
    QCOMPARE(reply.count("HTTP/1.1"), 1);
}

void TestHttp::neverReadingClient()
{
    // A client asks for 1 GiB and reads nothing: the server makes only what the send queue,
    // the pipe and the kernel's buffers hold, then drops the client after its idle timeout.
    Server server;
    server.setIdleTimeout(500);
    std::shared_ptr<Generator> generator;
    addRoutes(server, &generator);
    QSignalSpy finished(&server, &Server::exchangeFinished);
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const Run r = python({QStringLiteral("noread"), QStringLiteral("127.0.0.1"),
                          QString::number(server.endpoint().port()), QStringLiteral("/bulk?1073741824")});
    QCOMPARE(r.out, QByteArray("sent\nclosed\n"));
    QTRY_COMPARE(finished.size(), 1);
    const Error error = finished.first().at(3).value<Error>();
    QCOMPARE(error.kind(), Error::Kind::TimedOut);
    QVERIFY(generator);
    QVERIFY2(generator->produced() < 32 * MiB, QByteArray::number(generator->produced()).constData());
    QTRY_COMPARE(server.connectionCount(), 0);
}

void TestHttp::concurrent100()
{
    Server server;
    int most = 0;
    QVERIFY(listenWithRoutes(server, &most));
    Client client;
    client.setMaxConnectionsPerEndpoint(100);
    const QString base = QStringLiteral("http://127.0.0.1:%1/echo").arg(server.endpoint().port());
    QList<QFuture<Response>> futures;
    for (int i = 0; i < 100; ++i) {
        Request request {QUrl(base), "POST"};
        request.setBody(QByteArray::number(i));
        futures.append(client.send(request));
    }
    for (int i = 0; i < 100; ++i) {
        Response response;
        RILL_AWAIT(futures[i], response);
        QCOMPARE(response.body(), QByteArray::number(i));
    }
    QCOMPARE(most, 100);
}

void TestHttp::poolMaximum()
{
    Server server;
    int most = 0;
    QVERIFY(listenWithRoutes(server, &most));
    Client client;
    client.setMaxConnectionsPerEndpoint(3);
    const QUrl url(QStringLiteral("http://127.0.0.1:%1/hello").arg(server.endpoint().port()));
    QList<QFuture<Response>> futures;
    for (int i = 0; i < 50; ++i)
        futures.append(client.get(url));
    for (QFuture<Response> &f : futures) {
        Response response;
        RILL_AWAIT(f, response);
        QCOMPARE(response.status(), 200);
    }
    QVERIFY(most <= 3);
    QCOMPARE(client.idleConnectionCount(), most);
}

void TestHttp::poolIdleExpiry()
{
    Server server;
    QVERIFY(listenWithRoutes(server));
    const quint16 port = server.endpoint().port();
    const QUrl url(QStringLiteral("http://127.0.0.1:%1/hello").arg(port));
    Client client;
    QCOMPARE(client.idleTimeout(), Client::DefaultIdleTimeout);
    QVERIFY(client.idleTimeout() < server.idleTimeout()); // the client lets go first
    Response response;

    // The client expires an idle connection: its own timeout, the server's is a minute.
    QVERIFY(awaited(client.get(url), &response));
    QCOMPARE(response.body(), QByteArray("hello\n"));
    QTRY_COMPARE(client.idleConnectionCount(), 1);
    QCOMPARE(server.connectionCount(), 1);
    client.setIdleTimeout(20); // counts from now for the connection already idle
    QTRY_COMPARE(client.idleConnectionCount(), 0);
    QTRY_COMPARE(server.connectionCount(), 0); // closed by the client, seen by the server
    // The next request opens a new connection, which expires in turn.
    QVERIFY(awaited(client.get(url), &response));
    QCOMPARE(response.body(), QByteArray("hello\n"));
    QTRY_COMPARE(client.idleConnectionCount(), 0);
    QTRY_COMPARE(server.connectionCount(), 0);

    // The server closes an idle connection (a graceful stop here) while the client would keep
    // it for long: it leaves the pool at once, and a new server is reached afresh.
    client.setIdleTimeout(0); // no limit
    QVERIFY(awaited(client.get(url), &response));
    QTRY_COMPARE(client.idleConnectionCount(), 1);
    QFuture<void> stopped = server.stop();
    QVERIFY(rilltest::waitFor(stopped));
    QTRY_COMPARE(client.idleConnectionCount(), 0);
    Server again;
    addRoutes(again);
    QVERIFY(again.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), port)));
    QVERIFY(awaited(client.get(url), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.body(), QByteArray("hello\n"));
    QTRY_COMPARE(client.idleConnectionCount(), 1); // a new connection, pooled
    QCOMPARE(again.connectionCount(), 1);
}

void TestHttp::clientAgainstPythonUnixServer()
{
    UnixPeer peer;
    QVERIFY(peer.start(QStringLiteral("unixserver")));
    Client client;
    Request request = peer.request(QStringLiteral("http://localhost/info"));
    Response response;
    QVERIFY(awaited(client.send(request), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.status(), 200);
    QCOMPARE(response.body(), QByteArray("hello from python\n"));
    QCOMPARE(response.headers().value("content-type"), QByteArray("text/plain"));
    QVERIFY(response.rawHead().startsWith("HTTP/1.1 200 OK\r\n"));
    request.setMethod("POST");
    request.setBody(rilltest::pattern(300000));
    QVERIFY(awaited(client.send(request), &response));
    QCOMPARE(response.body(), rilltest::pattern(300000));
    QCOMPARE(client.idleConnectionCount(), 1);
}

void TestHttp::clientRawReplies_data()
{
    QTest::addColumn<QByteArray>("reply");
    QTest::addColumn<int>("status");        // 0: the exchange fails
    QTest::addColumn<QByteArray>("body");   // or the error's words
    QTest::newRow("chunked with extensions and trailers")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Sum: 1\r\n\r\n")
            << 200 << QByteArray("Wikipedia");
    QTest::newRow("http/1.0 to the end") << QByteArray("HTTP/1.0 200 OK\r\n\r\nuntil the end") << 200
                                         << QByteArray("until the end");
    QTest::newRow("100 continue first")
            << QByteArray("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
            << 201 << QByteArray("ok");
    QTest::newRow("truncated body")
            << QByteArray("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort") << 0
            << QByteArray("truncated after 5 bytes");
    QTest::newRow("truncated chunked")
            << QByteArray("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab") << 0
            << QByteArray("truncated");
    QTest::newRow("malformed status line") << QByteArray("HTTP/1.1 abc\r\n\r\n") << 0
                                           << QByteArray("malformed response");
    QTest::newRow("not http") << QByteArray("SSH-2.0-OpenSSH\r\n") << 0
                              << QByteArray("malformed response");
    QTest::newRow("nothing") << QByteArray() << 0 << QByteArray("closed before a response");
}

void TestHttp::clientRawReplies()
{
    QFETCH(QByteArray, reply);
    QFETCH(int, status);
    QFETCH(QByteArray, body);
    UnixPeer peer;
    QVERIFY(peer.startScript(reply));
    Client client;
    Response response;
    QVERIFY(awaited(client.send(peer.request()), &response));
    if (status) {
        QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
        QCOMPARE(response.status(), status);
        QCOMPARE(response.body(), body);
    } else {
        QVERIFY(response.isError());
        const QString message = errorMessage(response.error());
        QVERIFY2(message.contains(QString::fromLatin1(body)) && message.startsWith(QStringLiteral("unix:")),
                 qPrintable(message));
    }
}

void TestHttp::clientRefused()
{
    QTemporaryDir dir;
    Client client;
    Request request(QUrl(QStringLiteral("http://localhost/")));
    request.setEndpoint(Endpoint::local(dir.filePath(QStringLiteral("none.sock"))));
    Response response;
    QVERIFY(awaited(client.send(request), &response));
    QVERIFY(response.isError());
    QVERIFY2(errorMessage(response.error()).contains(dir.path()), qPrintable(errorMessage(response.error())));
    QVERIFY(awaited(client.get(QUrl(QStringLiteral("ftp://example.org/"))), &response));
    QCOMPARE(response.error().kind(), Error::Kind::InvalidArgument);
}

void TestHttp::overGivenFlows()
{
    // No socket at all: the server serves one end of a PipeFlow pair, the client sends over the
    // other, a chunked upload with a streamed response back, then a second request on the same
    // flow (kept alive).
    Server server;
    std::shared_ptr<Generator> down;
    addRoutes(server, &down);
    PipeFlow::Pair pair = PipeFlow::createPair();
    server.serveFlow(pair.first.release());
    QCOMPARE(server.connectionCount(), 1);
    Client client;
    Generator up(3 * MiB + 5);
    Request request(QUrl(QStringLiteral("http://pipe/sha256")), "POST");
    request.setBodyFlow(up.start()); // unknown length: chunked
    Response response;
    QVERIFY(awaited(client.sendOver(pair.second.get(), request), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.body(), up.sha256().toHex() + ' ' + QByteArray::number(3 * MiB + 5));
    QVERIFY(awaited(client.sendOver(pair.second.get(), Request(QUrl(QStringLiteral("http://pipe/bulk?1000000"))),
                                    Client::BodyMode::Stream),
                    &response));
    const rilltest::Drained drained = rilltest::readToEnd(response.bodyFlow().get());
    QVERIFY(drained.end.isEof());
    QCOMPARE(QCryptographicHash::hash(drained.data, QCryptographicHash::Sha256), down->sha256());
    QVERIFY(awaited(client.sendOver(pair.second.get(), Request(QUrl(QStringLiteral("http://pipe/hello")))), &response));
    QCOMPARE(response.body(), QByteArray("hello\n"));
    QCOMPARE(server.connectionCount(), 1);
    QCOMPARE(client.idleConnectionCount(), 0); // a given flow is never pooled
}

void TestHttp::httpsBothWays()
{
    // The server on a tls: listener, curl and our client (https://) against it; a certificate
    // for localhost made at test time.
    if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
        QSKIP("no openssl command to make a certificate");
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString cert = dir.filePath(QStringLiteral("cert.pem"));
    const QString key = dir.filePath(QStringLiteral("key.pem"));
    const Run made = run(QStringLiteral("openssl"),
                         {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
                          QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:prime256v1"), QStringLiteral("-nodes"),
                          QStringLiteral("-keyout"), key, QStringLiteral("-out"), cert, QStringLiteral("-days"), QStringLiteral("2"),
                          QStringLiteral("-subj"), QStringLiteral("/CN=localhost"),
                          QStringLiteral("-addext"), QStringLiteral("subjectAltName=DNS:localhost")});
    QCOMPARE(made.exitCode, 0);
    const QList<QSslCertificate> certificates = QSslCertificate::fromPath(cert);
    QCOMPARE(certificates.size(), 1);
    QFile keyFile(key);
    QVERIFY(keyFile.open(QIODevice::ReadOnly));
    const QSslKey privateKey(&keyFile, QSsl::Ec);
    QVERIFY(!privateKey.isNull());

    Server server;
    addRoutes(server);
    QSslConfiguration serverConfig = QSslConfiguration::defaultConfiguration();
    serverConfig.setLocalCertificate(certificates.first());
    serverConfig.setPrivateKey(privateKey);
    server.listener()->setTlsConfiguration(serverConfig);
    QVERIFY(server.listen(Endpoint::tls(QStringLiteral("127.0.0.1"), 0)));
    const quint16 port = server.endpoint().port();
    const QString url = QStringLiteral("https://localhost:%1/echo").arg(port);
    const Run r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("--cacert"), cert,
                                               QStringLiteral("--resolve"), QStringLiteral("localhost:%1:127.0.0.1").arg(port),
                                               QStringLiteral("--data-binary"), QStringLiteral("secret"), url});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(r.out, QByteArray("secret"));

    Client client;
    Request request(QUrl(url), "POST");
    request.setEndpoint(Endpoint::tls(QStringLiteral("localhost"), port));
    request.setBody("over tls");
    Response response;
    // The system's authorities do not know this certificate: refused, in plain words.
    QVERIFY(awaited(client.send(request), &response));
    QVERIFY(response.isError());
    QCOMPARE(response.error().kind(), Error::Kind::Tls);
    QSslConfiguration clientConfig = QSslConfiguration::defaultConfiguration();
    clientConfig.setCaCertificates(certificates);
    client.setTlsConfiguration(clientConfig);
    QVERIFY(awaited(client.send(request), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.body(), QByteArray("over tls"));
}

void TestHttp::gracefulStopWithDownloadInFlight()
{
    Server server;
    std::shared_ptr<Generator> generator;
    addRoutes(server, &generator);
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const Endpoint endpoint = server.endpoint();
    Client client;
    const qint64 size = 8 * MiB;
    Response response;
    QVERIFY(awaited(client.send(Request(QUrl(QStringLiteral("http://127.0.0.1:%1/bulk?%2").arg(endpoint.port()).arg(size))),
                           Client::BodyMode::Stream), &response));
    QCOMPARE(response.status(), 200);
    // A second, idle connection: closed by stop() at once.
    Client other;
    Response hello;
    QVERIFY(awaited(other.get(QUrl(QStringLiteral("http://127.0.0.1:%1/hello").arg(endpoint.port()))), &hello));
    QCOMPARE(server.connectionCount(), 2);

    QFuture<void> stopped = server.stop();
    QVERIFY(!stopped.isFinished());
    QTRY_COMPARE(server.connectionCount(), 1); // the idle one went
    QVERIFY(!server.listener()->isListening());
    const rilltest::Drained drained = rilltest::readToEnd(response.bodyFlow().get(), -1, 60s);
    QVERIFY(drained.finished);
    QVERIFY2(drained.end.isEof(), qPrintable(rilltest::debugString(drained.end)));
    QCOMPARE(drained.data.size(), size);
    RILL_AWAIT_VOID(stopped);
    QCOMPARE(server.connectionCount(), 0);
}

// The Python "hold" peer: its port, then a line "closed" each time a client closes on it.
struct HoldPeer
{
    std::unique_ptr<QProcess> process;
    quint16 port = 0;

    explicit HoldPeer(const QByteArray &reply)
        : process(startPeerServer({QStringLiteral("hold"), reply.isNull() ? QStringLiteral("-") : QString::fromLatin1(reply.toHex())}))
    {
        if (process && rilltest::spinUntil([&] { return process->canReadLine(); }))
            port = process->readLine().trimmed().toUShort();
    }
    ~HoldPeer()
    {
        if (process) {
            process->kill();
            process->waitForFinished();
        }
    }
    bool sawClose()
    {
        return rilltest::spinUntil([&] { return process->canReadLine(); }, 30s)
                && process->readLine().trimmed() == "closed";
    }
};

void TestHttp::clientDeletedWithBodyUnread()
{
    // The client goes while the response body streams and nobody reads it (rillhttp --fail
    // does this): its connection closes, the body's reader gets an error, not Eof. The exchange
    // was the context of the read waiting on the connection; Qt 6.4 asserts when a context is
    // gone before its future finishes.
    HoldPeer peer("HTTP/1.1 418 I'm a Teapot\r\nContent-Length: 16\r\n\r\nshort");
    QVERIFY(peer.port);
    auto client = std::make_unique<Client>();
    Response response;
    QVERIFY(awaited(client->send(Request(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(peer.port))),
                                 Client::BodyMode::Stream),
                    &response));
    QCOMPARE(response.status(), 418);
    client.reset();
    QVERIFY(peer.sawClose());
    const rilltest::Drained drained = rilltest::readToEnd(response.bodyFlow().get());
    QVERIFY(drained.end.isError());
    QVERIFY(drained.data.size() <= 5);
}

void TestHttp::clientDeletedWhileConnecting_data()
{
    QTest::addColumn<bool>("tls");
    QTest::newRow("tcp connect finishing after") << false;
    QTest::newRow("tls handshake never answered") << true;
}

void TestHttp::clientDeletedWhileConnecting()
{
    // The connect (or handshake) outlives the client: what it makes is closed, nothing else
    // runs. The TLS handshake ends at the client's connect timeout.
    QFETCH(bool, tls);
    HoldPeer peer {QByteArray()};
    QVERIFY(peer.port);
    auto client = std::make_unique<Client>();
    client->setConnectTimeout(300);
    Request request(QUrl(QStringLiteral("http://localhost/")));
    request.setEndpoint(tls ? Endpoint::tls(QStringLiteral("127.0.0.1"), peer.port)
                            : Endpoint::tcp(QStringLiteral("127.0.0.1"), peer.port));
    QFuture<Response> future = client->send(request);
    client.reset();
    QVERIFY(future.isFinished());
    QCOMPARE(future.result().error().kind(), Error::Kind::Aborted);
    QVERIFY(peer.sawClose());
}

void TestHttp::requestBodyFlowOutlivesExchange()
{
    // The server answers before taking the streamed request body; the body's flow is the
    // caller's and outlives the exchange, whose read on it then finishes with no one to run.
    UnixPeer peer;
    QVERIFY(peer.startScript("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
    PipeFlow::Pair pair = PipeFlow::createPair();
    const QPointer<PipeFlow> reader(pair.second.get());
    Response response;
    {
        Client client;
        Request request = peer.request(QStringLiteral("http://localhost/up"), "POST");
        request.setBodyFlow(makeBodyFlow(pair.second.release()));
        QVERIFY(awaited(client.send(request), &response));
        QCOMPARE(response.body(), QByteArray("ok"));
    }
    // The reader goes with the request, and the writer learns it.
    QTRY_VERIFY(reader.isNull());
    QTRY_COMPARE(pair.first->error().kind(), Error::Kind::Reset);
}

void TestHttp::handlerAnswersAfterClientReset_data()
{
    QTest::addColumn<bool>("streamed");
    QTest::newRow("collected body") << false;
    QTest::newRow("streamed body") << true;
}

void TestHttp::handlerAnswersAfterClientReset()
{
    // A handler still working when its client resets: the connection ends at once (a long
    // poll may never answer), and the answer that comes later goes nowhere; a streamed body
    // in it is dropped, and its writer learns so. The server serves on.
    QFETCH(bool, streamed);
    Server server;
    addRoutes(server);
    std::shared_ptr<QPromise<Response>> pending;
    server.route("GET", QStringLiteral("/later"), [&pending](const Request &) {
        pending = std::make_shared<QPromise<Response>>();
        pending->start();
        return pending->future();
    });
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const Run hangup = python({QStringLiteral("hangup"), QStringLiteral("127.0.0.1"),
                               QString::number(server.endpoint().port()), QStringLiteral("/later")});
    QCOMPARE(hangup.out.trimmed(), QByteArray("reset"));
    QTRY_VERIFY(pending);
    QTRY_COMPARE(server.connectionCount(), 0);
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);

    std::unique_ptr<PipeFlow> writer;
    {
        Response answer(200);
        if (streamed) {
            PipeFlow::Pair pair = PipeFlow::createPair();
            writer = std::move(pair.first);
            answer.setBodyFlow(makeBodyFlow(pair.second.release()), -1);
        } else {
            answer.setBody("too late\n");
        }
        pending->addResult(std::move(answer));
        pending->finish();
        pending.reset(); // the handler lets go: nobody holds the answer now
    }
    if (writer)
        QTRY_COMPARE(writer->error().kind(), Error::Kind::Reset);
    Client client;
    Response response;
    QVERIFY(awaited(client.get(QUrl(QStringLiteral("http://127.0.0.1:%1/hello").arg(server.endpoint().port()))), &response));
    QCOMPARE(response.body(), QByteArray("hello\n"));
}

// What inspectors show of HTTP (Probe::watchExchanges(), the HTTP tab): every exchange the
// server and the client run, each step reported whole under one id.
void TestHttp::exchangesReported()
{
    QVERIFY(!Probe::isTracingExchanges()); // nobody watches: the server and client trace nothing
    QList<ProbeExchange> reports;
    auto watcher = std::make_unique<QObject>();
    Probe::watchExchanges(watcher.get(), [&reports](const ProbeExchange &e) { reports << e; });
    QVERIFY(Probe::isTracingExchanges());
    // The last report of each exchange that finished, in the order they started.
    auto finished = [&reports](ProbeExchange::Role role) {
        QList<ProbeExchange> out;
        QHash<quint64, ProbeExchange> last;
        QList<quint64> order;
        for (const ProbeExchange &e : std::as_const(reports)) {
            if (e.role != role)
                continue;
            if (!last.contains(e.id))
                order << e.id;
            last[e.id] = e;
        }
        for (quint64 id : order)
            if (last[id].isFinished())
                out << last[id];
        return out;
    };

    Server server;
    QVERIFY(listenWithRoutes(server));
    const QString base = QStringLiteral("http://127.0.0.1:%1").arg(server.endpoint().port());
    // Two requests on one kept-alive connection of curl's, then a 404 on another.
    Run r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), base + QStringLiteral("/hello"),
                                         QStringLiteral("--next"), QStringLiteral("--data-binary"),
                                         QStringLiteral("ping"), base + QStringLiteral("/echo")});
    QCOMPARE(r.exitCode, 0);
    QCOMPARE(r.out, QByteArray("hello\nping"));
    QTRY_COMPARE(finished(ProbeExchange::Role::Server).size(), 2);
    r = run(QStringLiteral("curl"), {QStringLiteral("-sS"), base + QStringLiteral("/nope")});
    QTRY_COMPARE(finished(ProbeExchange::Role::Server).size(), 3);
    QList<ProbeExchange> done = finished(ProbeExchange::Role::Server);
    const ProbeExchange hello = done[0];
    QCOMPARE(hello.method, QStringLiteral("GET"));
    QCOMPARE(hello.target, QStringLiteral("/hello"));
    QCOMPARE(hello.protocol, QStringLiteral("HTTP/1.1"));
    QCOMPARE(hello.status, 200);
    QCOMPARE(hello.reason, QStringLiteral("OK"));
    QCOMPARE(hello.requestBytes, 0);
    QCOMPARE(hello.responseBytes, 6);
    QVERIFY(hello.flow != 0);
    QVERIFY(hello.started.isValid());
    QVERIFY(qAbs(hello.started.msecsTo(QDateTime::currentDateTime())) < 600000);
    QVERIFY(hello.headersMs >= 0 && hello.durationMs >= hello.headersMs);
    QVERIFY(hello.error.isEmpty());
    // Its first report came when the request was there, before any answer.
    const auto first = std::find_if(reports.cbegin(), reports.cend(),
                                    [&](const ProbeExchange &e) { return e.id == hello.id; });
    QCOMPARE(first->status, 0);
    QVERIFY(!first->isFinished());
    QCOMPARE(first->target, QStringLiteral("/hello"));
    const ProbeExchange echo = done[1];
    QCOMPARE(echo.method, QStringLiteral("POST"));
    QCOMPARE(echo.requestBytes, 4);
    QCOMPARE(echo.responseBytes, 4);
    QCOMPARE(echo.flow, hello.flow); // the same connection
    QVERIFY(echo.id != hello.id);
    QCOMPARE(done[2].status, 404);
    QVERIFY(done[2].flow != hello.flow);

    // Refused before its head was whole: shown with what was wrong.
    const QByteArray reply = rawExchange(server.endpoint(), "GET\r\n\r\n");
    QVERIFY(reply.startsWith("HTTP/1.1 400 "));
    QTRY_COMPARE(finished(ProbeExchange::Role::Server).size(), 4);
    const ProbeExchange bad = finished(ProbeExchange::Role::Server).last();
    QCOMPARE(bad.status, 400);
    QVERIFY(bad.method.isEmpty());
    QVERIFY2(!bad.error.isEmpty(), qPrintable(bad.error));

    // The client's end: a response, then one cut short, with why.
    UnixPeer python;
    QVERIFY(python.start(QStringLiteral("unixserver")));
    Client client;
    Response response;
    QVERIFY(awaited(client.send(python.request(QStringLiteral("http://localhost/info"))), &response));
    QCOMPARE(response.status(), 200);
    QTRY_COMPARE(finished(ProbeExchange::Role::Client).size(), 1);
    const ProbeExchange got = finished(ProbeExchange::Role::Client).first();
    QCOMPARE(got.method, QStringLiteral("GET"));
    QCOMPARE(got.target, QStringLiteral("/info"));
    QCOMPARE(got.status, 200);
    QCOMPARE(got.responseBytes, response.body().size());
    QVERIFY(got.error.isEmpty());
    QVERIFY(got.flow != 0);
    UnixPeer cutter;
    QVERIFY(cutter.startScript("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
    QVERIFY(awaited(client.send(cutter.request(QStringLiteral("http://localhost/info"))), &response));
    QVERIFY(response.isError());
    QTRY_COMPARE(finished(ProbeExchange::Role::Client).size(), 2);
    const ProbeExchange cut = finished(ProbeExchange::Role::Client).last();
    QCOMPARE(cut.status, 200);
    QCOMPARE(cut.responseBytes, 5);
    QVERIFY2(cut.error.contains(QStringLiteral("truncated")), qPrintable(cut.error));

    // Watching stops with its context: nothing is traced any more.
    watcher.reset();
    QVERIFY(!Probe::isTracingExchanges());
}

// Trailers after a chunked body that streams: the handler's request (server) and the streamed
// response (client) have them once their body flow gave Eof.
void TestHttp::trailersOfStreamedBodies()
{
    Server server;
    server.route("POST", QStringLiteral("/trailers"), [](const Request &request) {
        auto promise = std::make_shared<QPromise<Response>>();
        promise->start();
        BodyFlow body = request.bodyFlow();
        auto size = std::make_shared<qint64>(0);
        auto step = std::make_shared<std::function<void()>>();
        *step = [promise, body, size, step, request]() {
            body->read().then(body.get(), [promise, size, step, request](const ReadResult &r) {
                if (r.isData()) {
                    *size += r.data().size();
                    (*step)();
                    return;
                }
                const Headers trailers = request.trailers(); // the copy the handler was given
                promise->addResult(Response(200, QByteArray::number(*size) + ' '
                                                 + trailers.value("x-sum") + ' '
                                                 + QByteArray::number(trailers.size())));
                promise->finish();
                *step = nullptr;
            });
        };
        (*step)();
        return promise->future();
    }, Server::BodyMode::Stream);
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const QByteArray reply = rawExchange(server.endpoint(),
            "POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            "4;name=value\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Sum: 9\r\nX-Two: 2\r\n\r\n");
    QVERIFY2(reply.startsWith("HTTP/1.1 200 OK\r\n"), reply.constData());
    QVERIFY2(reply.endsWith("\r\n\r\n9 9 2"), reply.constData());

    UnixPeer peer;
    QVERIFY(peer.startScript("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "4;x=y\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Sum: 1\r\n\r\n"));
    Client client;
    Response response;
    QVERIFY(awaited(client.send(peer.request(), Client::BodyMode::Stream), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QVERIFY(response.bodyFlow());
    const rilltest::Drained drained = rilltest::readToEnd(response.bodyFlow().get());
    QVERIFY(drained.finished && drained.end.isEof());
    QCOMPARE(drained.data, QByteArray("Wikipedia"));
    QCOMPARE(response.trailers().value("x-sum"), QByteArray("1"));
    QCOMPARE(response.trailers().size(), 1);
    // Set by hand, they are the caller's.
    Response copy = response;
    copy.setTrailers({});
    QCOMPARE(copy.trailers().size(), 0);
    QCOMPARE(response.trailers().size(), 1);
}

void TestHttp::trailersSent()
{
    // The server: a response's trailer fields go after its last chunk, whatever its body (a
    // buffer, or a flow of known length, which then goes in chunks too), announced in a
    // Trailer field; fields that frame the message are never trailers; HTTP/1.0 gets none.
    Server server;
    const Headers trailers{{"X-Checksum", "abc"}, {"Content-Length", "99"}, {"X-Two", "2"}};
    server.route("GET", QStringLiteral("/buffer"), [trailers](const Request &) {
        Response r(200, "hello", "text/plain");
        r.setTrailers(trailers);
        return r;
    });
    std::vector<std::unique_ptr<Flow>> writers; // a pipe's writing end, destroyed, resets it
    server.route("GET", QStringLiteral("/stream"), [trailers, &writers](const Request &) {
        PipeFlow::Pair pair = PipeFlow::createPair();
        pair.first->write("streamed");
        pair.first->shutdown(Flow::Direction::Write);
        writers.push_back(std::move(pair.first));
        Response r(200);
        r.setBodyFlow(BodyFlow(std::move(pair.second)), 8);
        r.setTrailers(trailers);
        return r;
    });
    QVERIFY(server.listen(Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)));
    const QByteArray lastChunk = "0\r\nX-Checksum: abc\r\nX-Two: 2\r\n\r\n";
    for (const QByteArray &path : {QByteArrayLiteral("/buffer"), QByteArrayLiteral("/stream")}) {
        const QByteArray reply = rawExchange(server.endpoint(),
                "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        const qsizetype headEnd = reply.indexOf("\r\n\r\n");
        QVERIFY2(reply.startsWith("HTTP/1.1 200 OK\r\n") && headEnd > 0, reply.constData());
        const QByteArray head = reply.left(headEnd + 2).toLower();
        QVERIFY2(head.contains("\r\ntransfer-encoding: chunked\r\n"), reply.constData());
        QVERIFY2(head.contains("\r\ntrailer: x-checksum, x-two\r\n"), reply.constData());
        QVERIFY2(!head.contains("content-length"), reply.constData());
        const QByteArray body = path == "/buffer" ? "hello" : "streamed";
        QVERIFY2(reply.endsWith("\r\n\r\n" + QByteArray::number(body.size(), 16) + "\r\n" + body
                                + "\r\n" + lastChunk),
                 reply.constData());
    }
    const QByteArray old = rawExchange(server.endpoint(), "GET /buffer HTTP/1.0\r\n\r\n");
    QVERIFY2(old.contains("\r\nContent-Length: 5\r\n") && old.endsWith("\r\n\r\nhello")
                     && !old.contains("X-Checksum"),
             old.constData());

    // curl reads them (its header output gets trailer fields after the body).
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString headers = dir.filePath(QStringLiteral("headers"));
    QProcess curl;
    curl.start(QStringLiteral("curl"), {QStringLiteral("-sS"), QStringLiteral("-D"), headers,
                                        QStringLiteral("http://127.0.0.1:%1/stream").arg(server.endpoint().port())});
    QVERIFY(rilltest::spinUntil([&curl] { return curl.state() == QProcess::NotRunning; })); // the server is in this thread
    QCOMPARE(curl.exitCode(), 0);
    QCOMPARE(curl.readAllStandardOutput(), QByteArray("streamed"));
    QFile headerFile(headers);
    QVERIFY(headerFile.open(QIODevice::ReadOnly));
    const QByteArray curlHeaders = headerFile.readAll();
    QVERIFY2(curlHeaders.contains("X-Checksum: abc\r\n"), curlHeaders.constData());

    // The client: a buffered and a streamed request body with trailers, to the server above
    // (llhttp reads them), which echoes how many trailer fields came.
    addRoutes(server);
    Client client;
    Request buffered{QUrl(QStringLiteral("http://127.0.0.1:%1/echo").arg(server.endpoint().port())), "POST"};
    buffered.setBody("up");
    buffered.setTrailers(trailers);
    Response response;
    QVERIFY(awaited(client.send(buffered), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.body(), QByteArray("up"));
    QCOMPARE(response.headers().value("x-trailer-count"), QByteArray("2"));

    PipeFlow::Pair pair = PipeFlow::createPair();
    pair.first->write("streamed up");
    auto shut = pair.first->shutdown(Flow::Direction::Write);
    Request streamed = buffered;
    streamed.setBody({});
    streamed.setBodyFlow(BodyFlow(std::move(pair.second)), 11);
    QVERIFY(awaited(client.send(streamed), &response));
    QVERIFY2(!response.isError(), qPrintable(errorMessage(response.error())));
    QCOMPARE(response.body(), QByteArray("streamed up"));
    QCOMPARE(response.headers().value("x-trailer-count"), QByteArray("2"));
    WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, WriteResult::ok());
}

QTEST_GUILESS_MAIN(TestHttp)
#include "tst_http.moc"
