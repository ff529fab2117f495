// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// TLS over loopback: rill::TlsFlow over a TcpFlow against QSslSocket, both TLS 1.3 with the same
// cipher suite. Bulk throughput (the main thread writes, the worker thread reads, as in the bulk
// part) and handshakes a second (connect, full handshake, drop). Certificates are made at run
// time with the openssl command.

#include "bulkrun.h"
#include "connections.h"
#include "drivers.h"

#include <rill/listener.h>
#include <rill/tcpflow.h>
#include <rill/tlsflow.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QProcess>
#include <QtCore/QStandardPaths>
#include <QtNetwork/QSslCipher>
#include <QtNetwork/QSslConfiguration>
#include <QtNetwork/QSslKey>
#include <QtNetwork/QSslSocket>
#include <QtNetwork/QTcpServer>

#include <cstdio>
#include <deque>

namespace bench {

namespace {

const QString Suite = QStringLiteral("TLS_AES_128_GCM_SHA256");
constexpr int TlsConnectTimeoutMs = 10000;

enum class Contender { Rill, Qt };
const QList<Contender> AllContenders{Contender::Rill, Contender::Qt};

QString nameOf(Contender c)
{
    return c == Contender::Rill ? QStringLiteral("TlsFlow") : QStringLiteral("QSslSocket");
}

// ---- certificates

bool openssl(const QString &dir, const QString &line, QString *why)
{
    QProcess p;
    p.setWorkingDirectory(dir);
    p.start(QStringLiteral("openssl"), line.split(u' ', Qt::SkipEmptyParts));
    if (!p.waitForFinished(60000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        *why = QStringLiteral("openssl %1: %2").arg(line, QString::fromLocal8Bit(p.readAllStandardError()));
        return false;
    }
    return true;
}

struct Certificates
{
    QSslConfiguration server;
    QSslConfiguration client;
    QString error;
};

// A CA and a server certificate for localhost and 127.0.0.1 (EC P-256), in dir.
Certificates makeCertificates(const QString &dir)
{
    Certificates c;
    QFile ext(dir + QStringLiteral("/server.ext"));
    if (!ext.open(QIODevice::WriteOnly)) {
        c.error = QStringLiteral("cannot write %1").arg(ext.fileName());
        return c;
    }
    ext.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    ext.close();
    const QString ec = QStringLiteral("-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes");
    const QStringList lines{
            QStringLiteral("req -x509 %1 -keyout ca.key -out ca.crt -days 2 -subj /CN=rill-bench-CA").arg(ec),
            QStringLiteral("req %1 -keyout server.key -out server.csr -subj /CN=localhost").arg(ec),
            QStringLiteral("x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt "
                           "-days 2 -extfile server.ext"),
    };
    for (const QString &line : lines) {
        if (!openssl(dir, line, &c.error))
            return c;
    }
    const auto ca = QSslCertificate::fromPath(dir + QStringLiteral("/ca.crt"));
    const auto cert = QSslCertificate::fromPath(dir + QStringLiteral("/server.crt"));
    QFile keyFile(dir + QStringLiteral("/server.key"));
    if (ca.isEmpty() || cert.isEmpty() || !keyFile.open(QIODevice::ReadOnly)) {
        c.error = QStringLiteral("cannot load the certificates made in %1").arg(dir);
        return c;
    }
    const QSslKey key(keyFile.readAll(), QSsl::Ec);
    if (key.isNull()) {
        c.error = QStringLiteral("cannot load server.key");
        return c;
    }
    QSslConfiguration base = QSslConfiguration::defaultConfiguration();
    base.setProtocol(QSsl::TlsV1_3);
    base.setCiphers({QSslCipher(Suite)});
    c.server = base;
    c.server.setLocalCertificate(cert.first());
    c.server.setPrivateKey(key);
    c.client = base;
    c.client.setCaCertificates(ca);
    return c;
}

// ---- the servers, in the worker thread

template<typename T>
class Queue
{
public:
    void push(T *item)
    {
        {
            QMutexLocker lock(&m_mutex);
            m_items.push_back(item);
        }
        wakeMain();
    }
    T *take()
    {
        QMutexLocker lock(&m_mutex);
        if (m_items.empty())
            return nullptr;
        T *item = m_items.front();
        m_items.pop_front();
        return item;
    }

private:
    QMutex m_mutex;
    std::deque<T *> m_items;
};

// What both servers share: encrypted connections are kept for the main thread (keep) or read
// until they end and then deleted (handshake runs); handshakes and failures are counted.
struct ServerState
{
    std::atomic_bool keep{true};
    std::atomic_int handshakes{0};
    std::atomic_int failures{0};
    QMutex mutex;
    QString lastError;
    QString cipher; // the suite the last handshake negotiated
    QSsl::SslProtocol protocol = QSsl::UnknownProtocol;

    void failed(const QString &why)
    {
        {
            QMutexLocker lock(&mutex);
            lastError = why;
        }
        failures.fetch_add(1);
        wakeMain();
    }
    void encrypted(const QString &suite, QSsl::SslProtocol p)
    {
        {
            QMutexLocker lock(&mutex);
            cipher = suite;
            protocol = p;
        }
        handshakes.fetch_add(1);
        wakeMain();
    }
    QString error()
    {
        QMutexLocker lock(&mutex);
        return lastError;
    }
    QString negotiated()
    {
        QMutexLocker lock(&mutex);
        return cipher;
    }
    QSsl::SslProtocol negotiatedProtocol()
    {
        QMutexLocker lock(&mutex);
        return protocol;
    }
};

// Reads a flow until it ends, then deletes it.
void drainAndDelete(rill::Flow *flow, QObject *context)
{
    flow->read().then(context, [flow, context](const rill::ReadResult &r) {
        if (r.isData()) {
            drainAndDelete(flow, context);
            return;
        }
        flow->deleteLater();
    });
}

struct RillServer
{
    rill::TcpListener *listener = nullptr;
    QSslConfiguration configuration;
    QObject *context = nullptr;
    ServerState state;
    Queue<rill::Flow> accepted;

    void acceptLoop()
    {
        listener->accept().then(context, [this](rill::FlowResult<rill::TcpFlow> r) {
            if (!r.isOk())
                return; // the listener closed
            auto *tls = new rill::TlsFlow(r.takeFlow().release(), rill::TlsFlow::Mode::Server, configuration);
            rill::TlsFlow::handshake(tls).then(context, [this](rill::FlowResult<rill::TlsFlow> h) {
                if (!h.isOk()) {
                    state.failed(rill::errorMessage(h.error()));
                    return;
                }
                rill::TlsFlow *flow = h.takeFlow().release();
                state.encrypted(flow->sessionCipherName(), flow->sessionProtocol());
                if (state.keep.load())
                    accepted.push(flow);
                else
                    drainAndDelete(flow, context);
            });
            acceptLoop();
        });
    }
};

class QtServer : public QTcpServer
{
public:
    QSslConfiguration configuration;
    ServerState state;
    Queue<QSslSocket> accepted;

protected:
    void incomingConnection(qintptr descriptor) override
    {
        auto *socket = new QSslSocket;
        socket->setSslConfiguration(configuration);
        if (!socket->setSocketDescriptor(descriptor)) {
            state.failed(socket->errorString());
            delete socket;
            return;
        }
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        QObject::connect(socket, &QSslSocket::encrypted, socket, [this, socket] {
            socket->setProperty("benchEncrypted", true);
            state.encrypted(socket->sessionCipher().name(), socket->sessionProtocol());
            if (state.keep.load()) {
                QObject::disconnect(socket, nullptr, socket, nullptr);
                accepted.push(socket);
            } else {
                // readyRead: read everything (nothing comes); the client's drop ends it.
                QObject::connect(socket, &QIODevice::readyRead, socket, [socket] { socket->readAll(); });
            }
        });
        QObject::connect(socket, &QAbstractSocket::disconnected, socket, [socket] { socket->deleteLater(); });
        QObject::connect(socket, &QAbstractSocket::errorOccurred, socket, [this, socket](QAbstractSocket::SocketError e) {
            // A client's drop after the handshake is how each handshake run ends.
            if (!socket->property("benchEncrypted").toBool())
                state.failed(socket->errorString());
            Q_UNUSED(e);
            socket->deleteLater();
        });
        QObject::connect(socket, &QSslSocket::sslErrors, socket, [this](const QList<QSslError> &errors) {
            state.failed(errors.isEmpty() ? QStringLiteral("ssl errors") : errors.first().errorString());
        });
        socket->startServerEncryption();
    }
};

class Tls
{
public:
    Tls(Env &env, const Certificates &certs) : m_env(env), m_client(certs.client)
    {
        env.worker->call([&] {
            m_rill = std::make_unique<RillServer>();
            m_rill->context = env.worker->context();
            m_rill->configuration = certs.server;
            m_rill->listener = new rill::TcpListener;
            if (!m_rill->listener->listen(QHostAddress::LocalHost, 0))
                m_error = QStringLiteral("TcpListener: %1").arg(rill::errorMessage(m_rill->listener->error()));
            m_rillPort = m_rill->listener->serverPort();
            m_rill->acceptLoop();
            m_qt = std::make_unique<QtServer>();
            m_qt->configuration = certs.server;
            m_qt->setMaxPendingConnections(100000);
            if (!m_qt->listen(QHostAddress::LocalHost, 0))
                m_error = QStringLiteral("QTcpServer: %1").arg(m_qt->errorString());
            m_qtPort = m_qt->serverPort();
        });
    }
    ~Tls()
    {
        m_env.worker->call([&] {
            delete m_pendingRill;
            delete m_pendingQt;
            delete m_rill->listener;
            m_rill.reset();
            m_qt.reset();
        });
        // Connections still reading end with the worker's context object's next events.
    }
    QString error() const { return m_error; }

    void keepServers(bool keep)
    {
        m_rill->state.keep = keep;
        m_qt->state.keep = keep;
    }

    // A connected, encrypted TlsFlow pair; the server end in the worker thread.
    FlowPair rillPair()
    {
        FlowPair pair;
        auto f = rill::TlsFlow::connectToHost(QStringLiteral("127.0.0.1"), m_rillPort, m_client);
        ServerState &s = m_rill->state;
        if (!spinUntil([&] { return f.isFinished() && (!f.result().isOk() || s.failures > 0 || peekRill()); },
                       TlsConnectTimeoutMs)) {
            pair.error = QStringLiteral("TlsFlow: the handshake timed out");
            return pair;
        }
        rill::FlowResult<rill::TlsFlow> r = f.result();
        if (!r.isOk()) {
            pair.error = QStringLiteral("TlsFlow: %1").arg(rill::errorMessage(r.error()));
            return pair;
        }
        rill::Flow *server = m_pendingRill;
        m_pendingRill = nullptr;
        if (!server) {
            pair.error = QStringLiteral("TlsFlow server: %1").arg(s.error());
            return pair;
        }
        m_rillCipher = r.flow()->sessionCipherName();
        m_rillProtocol = r.flow()->sessionProtocol();
        pair.client.reset(r.takeFlow().release());
        pair.server = server;
        return pair;
    }

    QtPair<QSslSocket> qtPair()
    {
        QtPair<QSslSocket> pair;
        std::unique_ptr<QSslSocket> socket = connectQt();
        ServerState &s = m_qt->state;
        if (!spinUntil([&] { return socket->isEncrypted() && (s.failures > 0 || peekQt()); }, TlsConnectTimeoutMs)
            || !m_pendingQt) {
            pair.error = QStringLiteral("QSslSocket: the handshake failed: %1 / server: %2")
                                 .arg(socket->errorString(), s.error());
            return pair;
        }
        m_qtCipher = socket->sessionCipher().name();
        m_qtProtocol = socket->sessionProtocol();
        pair.client = std::move(socket);
        pair.server = m_pendingQt;
        m_pendingQt = nullptr;
        return pair;
    }

    // count handshakes, each: connect, handshake until both ends are encrypted, drop.
    RunResult rillHandshakes(int count)
    {
        ServerState &s = m_rill->state;
        const int before = s.handshakes;
        const int failuresBefore = s.failures;
        const Clock::time_point start = Clock::now();
        for (int i = 0; i < count; ++i) {
            auto f = rill::TlsFlow::connectToHost(QStringLiteral("127.0.0.1"), m_rillPort, m_client);
            if (!spinUntil([&] { return f.isFinished() && (s.handshakes >= before + i + 1 || s.failures > failuresBefore); },
                           TlsConnectTimeoutMs))
                return RunResult::failure(QStringLiteral("handshake %1 timed out").arg(i));
            rill::FlowResult<rill::TlsFlow> r = f.result();
            if (!r.isOk())
                return RunResult::failure(QStringLiteral("handshake %1: %2").arg(i).arg(rill::errorMessage(r.error())));
            if (s.failures > failuresBefore)
                return RunResult::failure(QStringLiteral("server: %1").arg(s.error()));
            r.flow()->abort(); // the result deletes it
        }
        const double elapsed = secondsSince(start);
        if (s.handshakes != before + count)
            return RunResult::failure(QStringLiteral("the server completed %1 handshakes, not %2")
                                              .arg(s.handshakes - before).arg(count));
        return RunResult::success(count / elapsed);
    }

    RunResult qtHandshakes(int count)
    {
        ServerState &s = m_qt->state;
        const int before = s.handshakes;
        const int failuresBefore = s.failures;
        const Clock::time_point start = Clock::now();
        for (int i = 0; i < count; ++i) {
            std::unique_ptr<QSslSocket> socket = connectQt();
            if (!spinUntil([&] { return (socket->isEncrypted() && s.handshakes >= before + i + 1) || s.failures > failuresBefore
                                        || socket->state() == QAbstractSocket::UnconnectedState; },
                           TlsConnectTimeoutMs))
                return RunResult::failure(QStringLiteral("handshake %1 timed out").arg(i));
            if (!socket->isEncrypted() || s.failures > failuresBefore)
                return RunResult::failure(QStringLiteral("handshake %1: %2 / server: %3")
                                                  .arg(i).arg(socket->errorString(), s.error()));
            socket->abort();
        }
        const double elapsed = secondsSince(start);
        if (s.handshakes != before + count)
            return RunResult::failure(QStringLiteral("the server completed %1 handshakes, not %2")
                                              .arg(s.handshakes - before).arg(count));
        return RunResult::success(count / elapsed);
    }

    // What each side negotiated, client and server: "TLS_AES_128_GCM_SHA256 TLSv1.3".
    QString rillNegotiated() const { return describe(m_rillCipher, m_rillProtocol, m_rill->state); }
    QString qtNegotiated() const { return describe(m_qtCipher, m_qtProtocol, m_qt->state); }
    // Whether the last pair's two ends both negotiated Suite over TLS 1.3.
    bool negotiatedAsAsked(bool rill) const
    {
        ServerState &server = rill ? m_rill->state : m_qt->state;
        return (rill ? m_rillCipher : m_qtCipher) == Suite && server.negotiated() == Suite
                && (rill ? m_rillProtocol : m_qtProtocol) == QSsl::TlsV1_3
                && server.negotiatedProtocol() == QSsl::TlsV1_3;
    }

private:
    static QString protocolName(QSsl::SslProtocol p)
    {
        return p == QSsl::TlsV1_3 ? QStringLiteral("TLS 1.3") : p == QSsl::TlsV1_2 ? QStringLiteral("TLS 1.2")
                                                                                   : QStringLiteral("protocol %1").arg(int(p));
    }
    static QString describe(const QString &cipher, QSsl::SslProtocol p, ServerState &server)
    {
        return QStringLiteral("client %1 %2, server %3 %4")
                .arg(cipher, protocolName(p), server.negotiated(), protocolName(server.negotiatedProtocol()));
    }
    bool peekRill()
    {
        if (!m_pendingRill)
            m_pendingRill = m_rill->accepted.take();
        return m_pendingRill != nullptr;
    }
    bool peekQt()
    {
        if (!m_pendingQt)
            m_pendingQt = m_qt->accepted.take();
        return m_pendingQt != nullptr;
    }
    std::unique_ptr<QSslSocket> connectQt()
    {
        auto socket = std::make_unique<QSslSocket>();
        socket->setSslConfiguration(m_client);
        QObject::connect(socket.get(), &QSslSocket::encrypted, [] { wakeMain(); });
        socket->connectToHostEncrypted(QStringLiteral("127.0.0.1"), m_qtPort);
        socket->setSocketOption(QAbstractSocket::LowDelayOption, 1);
        return socket;
    }

    Env &m_env;
    QSslConfiguration m_client;
    std::unique_ptr<RillServer> m_rill; // worker thread
    std::unique_ptr<QtServer> m_qt;     // worker thread
    quint16 m_rillPort = 0;
    quint16 m_qtPort = 0;
    QString m_error;
    rill::Flow *m_pendingRill = nullptr;
    QSslSocket *m_pendingQt = nullptr;
    QString m_rillCipher, m_qtCipher;
    QSsl::SslProtocol m_rillProtocol = QSsl::UnknownProtocol, m_qtProtocol = QSsl::UnknownProtocol;
};

RunResult rillBulk(Env &env, Tls &tls, qsizetype size, qint64 total)
{
    return flowSinkRun(env, tls.rillPair(), size, total,
                       [total](rill::Flow *flow, const QByteArray &chunk, Completion &done) {
                           FlowWriter writer(flow, chunk, total, senderFailed(done));
                           return runWriter(writer, done);
                       });
}

// Whether something listens on 127.0.0.1:port (IPv4, /proc/net/tcp).
bool listening(quint16 port)
{
    QFile f(QStringLiteral("/proc/net/tcp"));
    if (!f.open(QIODevice::ReadOnly))
        return false;
    const QByteArray local = QByteArrayLiteral("0100007F:") + QByteArray::number(port, 16).toUpper().rightJustified(4, '0');
    for (const QByteArray &line : f.readAll().split('\n')) {
        const QList<QByteArray> fields = line.simplified().split(' ');
        if (fields.size() > 3 && fields.at(1) == local && fields.at(3) == "0A")
            return true;
    }
    return false;
}

// The raw anchor: `head -c total /dev/zero | openssl s_client` into `openssl s_server | wc -c`,
// TLS 1.3 with Suite; from starting the client to the server's exit (its count checked).
RunResult opensslRun(const QString &dir, qint64 total)
{
    quint16 port = 0;
    {
        QTcpServer probe;
        if (!probe.listen(QHostAddress::LocalHost, 0))
            return RunResult::failure(QStringLiteral("no free port: %1").arg(probe.errorString()));
        port = probe.serverPort();
    }
    const QString common = QStringLiteral("-tls1_3 -ciphersuites %1").arg(Suite);
    QProcess server;
    server.setWorkingDirectory(dir);
    // Its standard input stays open (s_server ends a connection at its input's end).
    server.start(QStringLiteral("/bin/sh"),
                 {QStringLiteral("-c"),
                  QStringLiteral("openssl s_server -quiet -naccept 1 -accept 127.0.0.1:%1 -cert server.crt "
                                 "-key server.key %2 2>/dev/null | wc -c")
                          .arg(port)
                          .arg(common)});
    if (!server.waitForStarted(10000))
        return RunResult::failure(QStringLiteral("openssl s_server did not start"));
    QDeadlineTimer up(10000);
    while (!listening(port)) {
        if (up.hasExpired() || server.state() != QProcess::Running) {
            server.kill();
            server.waitForFinished(5000);
            return RunResult::failure(QStringLiteral("openssl s_server is not listening on port %1").arg(port));
        }
        QThread::msleep(2);
    }
    QProcess client;
    client.setWorkingDirectory(dir);
    client.setStandardOutputFile(QProcess::nullDevice());
    const Clock::time_point start = Clock::now();
    client.start(QStringLiteral("/bin/sh"),
                 {QStringLiteral("-c"),
                  QStringLiteral("head -c %1 /dev/zero | openssl s_client -quiet -no_ign_eof -connect "
                                 "127.0.0.1:%2 %3 -CAfile ca.crt -verify_return_error 2>/dev/null")
                          .arg(total)
                          .arg(port)
                          .arg(common)});
    const bool serverDone = server.waitForFinished(BulkRunTimeoutMs);
    const Clock::time_point end = Clock::now();
    const bool clientDone = client.waitForFinished(10000);
    if (!serverDone || !clientDone) {
        server.kill();
        client.kill();
        server.waitForFinished(5000);
        client.waitForFinished(5000);
        return RunResult::failure(QStringLiteral("openssl s_server / s_client did not finish"));
    }
    if (client.exitStatus() != QProcess::NormalExit || client.exitCode() != 0)
        return RunResult::failure(QStringLiteral("openssl s_client failed (exit %1)").arg(client.exitCode()));
    const qint64 got = server.readAllStandardOutput().trimmed().toLongLong();
    if (got != total)
        return RunResult::failure(QStringLiteral("openssl s_server received %1 bytes, %2 were sent").arg(got).arg(total));
    return RunResult::success(double(total) / MiB / seconds(start, end));
}

struct SizePlan
{
    qsizetype size;
    qint64 total;
};

} // namespace

void runTls(Env &env, Report &report)
{
    if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty()) {
        report.addSkipped(QStringLiteral("tls"), QStringLiteral("the openssl command is not installed"));
        return;
    }
    const QString dir = env.tempDir + QStringLiteral("/tls");
    QDir().mkpath(dir);
    const Certificates certs = makeCertificates(dir);
    if (!certs.error.isEmpty()) {
        report.addFailure(QStringLiteral("tls"), certs.error);
        return;
    }
    Tls tls(env, certs);
    if (!tls.error().isEmpty()) {
        report.addFailure(QStringLiteral("tls"), tls.error());
        return;
    }
    const Options &o = env.options;
    const int reps = o.repetitions(3, 2);
    const QList<SizePlan> plan{
            {16 * KiB, o.pick<qint64>(512 * MiB, 128 * MiB, 2 * MiB)},
            {64 * KiB, o.pick<qint64>(512 * MiB, 128 * MiB, 2 * MiB)},
            {1 * MiB, o.pick<qint64>(512 * MiB, 128 * MiB, 2 * MiB)},
    };
    const int handshakes = o.pick(300, 100, 20);

    Section section;
    section.part = QStringLiteral("tls");
    section.title = QStringLiteral("TLS 1.3 over loopback: TlsFlow over TcpFlow against QSslSocket");
    section.unit = QStringLiteral("MiB/s");
    section.decimals = 0;
    section.rillColumn = QStringLiteral("TlsFlow");
    section.baselineColumns = {QStringLiteral("QSslSocket"), QStringLiteral("openssl s_client")};
    // The raw anchor writes what s_client reads from its input, 16 KiB at a time: the 16 KiB row.
    const QString anchor = QStringLiteral("openssl s_client");
    QList<RunResult> anchorRuns;

    bool negotiatedOk = true;
    QString negotiatedRill, negotiatedQt;
    tls.keepServers(true);
    for (const SizePlan &p : plan) {
        if (!o.wantsSize(p.size))
            continue;
        QHash<int, QList<RunResult>> results;
        std::printf("tls bulk %s:", qPrintable(formatBytes(p.size)));
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < AllContenders.size(); ++i) {
                const Contender c = AllContenders.at((i + rep) % AllContenders.size());
                if (!o.wantsContender(nameOf(c)))
                    continue;
                results[int(c)] << (c == Contender::Rill ? rillBulk(env, tls, p.size, p.total)
                                                         : qtRun(env, tls.qtPair(), p.size, p.total));
                if (results[int(c)].last().ok)
                    negotiatedOk = negotiatedOk && tls.negotiatedAsAsked(c == Contender::Rill);
            }
            if (p.size == 16 * KiB && o.wantsContender(anchor))
                anchorRuns << opensslRun(dir, p.total);
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        Row row;
        row.label = QStringLiteral("bulk %1").arg(formatBytes(p.size));
        row.volume = formatBytes(p.total);
        row.rill = summarize(nameOf(Contender::Rill), results.value(int(Contender::Rill)));
        row.baselines = {summarize(nameOf(Contender::Qt), results.value(int(Contender::Qt))),
                         summarize(anchor, p.size == 16 * KiB ? anchorRuns : QList<RunResult>())};
        row.targets << ratioTarget(row, 0, 1.0, true, QStringLiteral(">=1.00x QSslSocket"));
        if (p.size == 64 * KiB)
            row.targets << ratioTarget(row, 0, 1.3, true, QStringLiteral(">=1.30x QSslSocket"));
        section.rows << row;
    }

    Section hs = section;
    hs.rows.clear();
    hs.baselineColumns = {QStringLiteral("QSslSocket")};
    hs.title = QStringLiteral("TLS 1.3 handshakes a second over loopback: TlsFlow against QSslSocket");
    hs.unit = QStringLiteral("handshakes/s");
    tls.keepServers(false);
    {
        QHash<int, QList<RunResult>> results;
        std::printf("tls handshakes:");
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < AllContenders.size(); ++i) {
                const Contender c = AllContenders.at((i + rep) % AllContenders.size());
                if (!o.wantsContender(nameOf(c)))
                    continue;
                results[int(c)] << (c == Contender::Rill ? tls.rillHandshakes(handshakes) : tls.qtHandshakes(handshakes));
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        Row row;
        row.label = QStringLiteral("handshakes/s");
        row.volume = QStringLiteral("%1 handshakes per run").arg(handshakes);
        row.rill = summarize(nameOf(Contender::Rill), results.value(int(Contender::Rill)));
        row.baselines = {summarize(nameOf(Contender::Qt), results.value(int(Contender::Qt)))};
        row.targets << ratioTarget(row, 0, 1.0, true, QStringLiteral(">=1.00x QSslSocket"));
        hs.rows << row;
    }

    section.notes << QStringLiteral("both sides TLS 1.3 with only %1 allowed (QSslConfiguration::setCiphers); "
                                    "negotiated: TlsFlow %2; QSslSocket %3")
                             .arg(Suite, tls.rillNegotiated(), tls.qtNegotiated())
                  << QStringLiteral("a CA and a server certificate (EC P-256, for 127.0.0.1) made at start with "
                                    "openssl; the client verifies the server against the CA")
                  << QStringLiteral("bulk: the client writes in the main thread, the server reads in its own "
                                    "QThread (%1 reads); QSslSocket's writer keeps at most %2 in its plain and "
                                    "encrypted buffers together, TlsFlow's queue has its default high-water "
                                    "mark; the clock runs from the first write to the reader's last byte")
                             .arg(formatBytes(ReadSize), formatBytes(QtWriteBound))
                  << QStringLiteral("openssl s_client (the raw anchor, 16 KiB row only): `head -c N /dev/zero | "
                                    "openssl s_client -quiet -no_ign_eof` into `openssl s_server -quiet "
                                    "-naccept 1 | wc -c` (its count checked), same protocol and suite, timed "
                                    "from starting the client (process start and handshake included) to the "
                                    "server's exit")
                  << QStringLiteral("handshakes: one at a time from the main thread: connect, full handshake "
                                    "until both ends are encrypted (no session resumption), abort; the server "
                                    "in the worker thread reads each connection until it ends")
                  << QStringLiteral("median of %1 runs per contender, ±half the range; contenders alternate, "
                                    "their order rotated each round")
                             .arg(reps);
    // Each section gets the notes about it.
    hs.notes = {section.notes.at(0), section.notes.at(1), section.notes.at(4), section.notes.at(5)};
    section.notes.removeAt(4);
    report.add(section);
    report.add(hs);
    if (!negotiatedOk)
        report.addFailure(QStringLiteral("tls"), QStringLiteral("not both %1 over TLS 1.3: TlsFlow %2; QSslSocket %3")
                                                         .arg(Suite, tls.rillNegotiated(), tls.qtNegotiated()));
}

} // namespace bench
