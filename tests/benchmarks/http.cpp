// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// http: Rill::Http against QHttpServer, nginx and QNetworkAccessManager over loopback.
//
// Server rows: wrk (one thread, keep-alive) on one core against each server on the other, all
// serving the same small body to GET /: rill::http::Server and QHttpServer in
// rill-http-bench-server (http/server.cpp), nginx (nginx-light) from a configuration written
// to a temporary folder. Every server stays up for the whole part; each round runs wrk once per
// server, in a rotated order, so drift on a shared machine hits them alike.
//
// Client rows: rill::http::Client against QNetworkAccessManager in this process (pinned to the
// client core), sequential keep-alive GETs to the same nginx: a small body, and 1 MiB bodies.
//
// One large file (1 GiB; RILL_BENCH_HTTP_BIG_MIB, 64 MiB with --quick), written once per run
// in the temporary folder: each server sends it once per round to curl (pinned like wrk), and
// each client downloads it once per round from nginx as a stream, read to its end and dropped.

#include "bench.h"

#include <rill/http/client.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QStandardPaths>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>

#include <csignal>
#include <cstdio>
#include <memory>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace bench {

namespace {

constexpr int StartMs = 20000;
const QByteArray SmallBody = QByteArrayLiteral("Hello, world!\n");
constexpr qint64 BigBody = MiB;
// The large file's path on the Qt servers (rill-http-bench-server --file) and on nginx.
const QString FileTarget = QStringLiteral("/file");
const QString NginxFileTarget = QStringLiteral("/huge.bin");

// A process pinned to `cpu` (all its threads and children) that dies with us.
void prepare(QProcess &process, const QString &program, const QStringList &args, int cpu)
{
    process.setProgram(program);
    process.setArguments(args);
    process.setChildProcessModifier([cpu] {
        // Between fork and exec: system calls only.
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(cpu, &set);
            ::sched_setaffinity(0, sizeof set, &set);
        }
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    });
}

// One server under test, up for the whole part.
struct Server
{
    QString name;
    QString missing; // why it does not run ("not built", "not installed"); empty if it runs
    std::unique_ptr<QProcess> process;
    quint16 port = 0;
    QString error;

    ~Server()
    {
        if (process && process->state() != QProcess::NotRunning) {
            process->closeWriteChannel(); // rill-http-bench-server leaves at its stdin's end
            process->terminate();         // nginx: fast shutdown
            if (!process->waitForFinished(3000)) {
                process->kill();
                process->waitForFinished(3000);
            }
        }
    }
};

// A free loopback port (for nginx, which must be told one); another program could take it
// before nginx does, then nginx fails to start and says so.
quint16 freePort()
{
    QTcpServer probe;
    return probe.listen(QHostAddress::LocalHost, 0) ? probe.serverPort() : 0;
}

// True once something accepts connections on the port.
bool waitForPort(quint16 port, int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs);
    while (!deadline.hasExpired()) {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, port);
        if (socket.waitForConnected(500))
            return true;
        spinFor(50);
    }
    return false;
}

void startQtServer(Server &s, const QString &program, const QString &mode, const QString &file, int cpu)
{
    s.process = std::make_unique<QProcess>();
    prepare(*s.process, program,
            {QStringLiteral("--mode"), mode, QStringLiteral("--body"), QString::fromLatin1(SmallBody),
             QStringLiteral("--file"), file},
            cpu);
    s.process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
    s.process->start();
    if (!s.process->waitForStarted(StartMs)) {
        s.error = QStringLiteral("%1 did not start: %2").arg(program, s.process->errorString());
        return;
    }
    QDeadlineTimer deadline(StartMs);
    while (!s.process->canReadLine() && !deadline.hasExpired() && s.process->state() == QProcess::Running)
        s.process->waitForReadyRead(100);
    s.port = quint16(s.process->readLine().trimmed().toUInt());
    if (s.port == 0)
        s.error = QStringLiteral("%1 --mode %2 did not start listening").arg(QFileInfo(program).fileName(), mode);
}

// nginx-light, one worker, in the foreground, everything it writes in `dir`.
void startNginx(Server &s, const QString &nginx, const QString &dir, int cpu)
{
    s.port = freePort();
    QDir().mkpath(dir + QStringLiteral("/www"));
    QFile big(dir + QStringLiteral("/www/big.bin"));
    if (!big.open(QIODevice::WriteOnly) || big.write(patternChunk(BigBody)) != BigBody) {
        s.error = QStringLiteral("cannot write %1").arg(big.fileName());
        return;
    }
    big.close();
    QByteArray escaped = SmallBody;
    escaped.replace("\n", "\\n");
    QByteArray conf;
    // As root the worker would drop to nobody, which cannot read our 0700 temporary folder.
    if (::geteuid() == 0)
        conf += "user root;\n";
    conf += "worker_processes 1;\n"
            "daemon off;\n"
            "pid " + QFile::encodeName(dir) + "/nginx.pid;\n"
            "error_log " + QFile::encodeName(dir) + "/error.log;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            "    access_log off;\n"
            "    client_body_temp_path " + QFile::encodeName(dir) + "/body;\n"
            "    proxy_temp_path " + QFile::encodeName(dir) + "/proxy;\n"
            "    fastcgi_temp_path " + QFile::encodeName(dir) + "/fastcgi;\n"
            "    uwsgi_temp_path " + QFile::encodeName(dir) + "/uwsgi;\n"
            "    scgi_temp_path " + QFile::encodeName(dir) + "/scgi;\n"
            "    keepalive_requests 100000000;\n"
            "    server {\n"
            "        listen 127.0.0.1:" + QByteArray::number(s.port) + ";\n"
            "        root " + QFile::encodeName(dir) + "/www;\n"
            "        location = / { default_type text/plain; return 200 \"" + escaped + "\"; }\n"
            // The large file as Debian's stock nginx.conf serves files (sendfile and
            // tcp_nopush on); the 1 MiB file keeps the plain read-and-write path of earlier runs.
            "        location = " + NginxFileTarget.toLatin1() + " { sendfile on; tcp_nopush on; }\n"
            "    }\n"
            "}\n";
    QFile confFile(dir + QStringLiteral("/nginx.conf"));
    if (!confFile.open(QIODevice::WriteOnly) || confFile.write(conf) != conf.size()) {
        s.error = QStringLiteral("cannot write %1").arg(confFile.fileName());
        return;
    }
    confFile.close();
    s.process = std::make_unique<QProcess>();
    prepare(*s.process, nginx,
            {QStringLiteral("-p"), dir, QStringLiteral("-e"), dir + QStringLiteral("/error.log"),
             QStringLiteral("-c"), confFile.fileName()},
            cpu);
    s.process->setProcessChannelMode(QProcess::MergedChannels);
    s.process->start();
    if (!s.process->waitForStarted(StartMs) || !waitForPort(s.port, StartMs)) {
        QFile log(dir + QStringLiteral("/error.log"));
        log.open(QIODevice::ReadOnly);
        s.error = QStringLiteral("nginx did not start: %1 %2")
                          .arg(QString::fromLocal8Bit(s.process->readAll()).trimmed(),
                               QString::fromLocal8Bit(log.readAll().right(300)).trimmed());
    }
}

struct WrkParams
{
    int connections = 50;
    int seconds = 5;
};

// One wrk run against the port: requests a second, or why not. Any socket error or a non-2xx
// answer fails the run: a server that drops connections must not look fast.
RunResult runWrk(const QString &wrk, quint16 port, const WrkParams &p, int cpu)
{
    QProcess process;
    prepare(process, wrk,
            {QStringLiteral("-t1"), QStringLiteral("-c%1").arg(p.connections), QStringLiteral("-d%1s").arg(p.seconds),
             QStringLiteral("http://127.0.0.1:%1/").arg(port)},
            cpu);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start();
    if (!process.waitForFinished((p.seconds + 60) * 1000)) {
        process.kill();
        process.waitForFinished(3000);
        return RunResult::failure(QStringLiteral("wrk did not finish"));
    }
    const QString out = QString::fromLocal8Bit(process.readAll());
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0)
        return RunResult::failure(QStringLiteral("wrk failed: %1").arg(out.right(300).trimmed()));
    for (const char *bad : {"Socket errors", "Non-2xx"}) {
        const qsizetype at = out.indexOf(QLatin1String(bad));
        if (at >= 0)
            return RunResult::failure(QStringLiteral("wrk: %1").arg(out.mid(at).section(QLatin1Char('\n'), 0, 0)));
    }
    const QRegularExpressionMatch m = QRegularExpression(QStringLiteral("Requests/sec:\\s+([0-9.]+)")).match(out);
    const double perSecond = m.hasMatch() ? m.captured(1).toDouble() : 0;
    if (perSecond <= 0)
        return RunResult::failure(QStringLiteral("wrk reported no requests: %1").arg(out.right(300).trimmed()));
    return RunResult::success(perSecond);
}

// Writes `bytes` of the benchmark's pattern to `path` in 1 MiB blocks (real data: a sparse
// file would be read from no disk page at all); an error message, or empty.
QString writeFile(const QString &path, qint64 bytes)
{
    const QByteArray block = patternChunk(MiB);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    for (qint64 left = bytes; left > 0; left -= block.size()) {
        const qint64 n = qMin<qint64>(left, block.size());
        if (file.write(block.constData(), n) != n)
            return QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
    }
    return QString();
}

// One curl download of `url` into /dev/null: MiB/s, or why not. Fewer bytes than `expected`,
// or a status other than 200, fails the run.
RunResult runCurl(const QString &curl, const QString &url, qint64 expected, int cpu)
{
    QProcess process;
    prepare(process, curl,
            {QStringLiteral("-s"), QStringLiteral("-o"), QStringLiteral("/dev/null"), QStringLiteral("-w"),
             QStringLiteral("%{http_code} %{size_download} %{time_total}"), url},
            cpu);
    process.start();
    if (!process.waitForFinished(600000)) {
        process.kill();
        process.waitForFinished(3000);
        return RunResult::failure(QStringLiteral("curl did not finish"));
    }
    const QStringList out = QString::fromLocal8Bit(process.readAllStandardOutput()).split(QLatin1Char(' '));
    if (process.exitStatus() != QProcess::NormalExit || process.exitCode() != 0 || out.size() != 3)
        return RunResult::failure(QStringLiteral("curl failed (exit %1): %2 %3")
                                          .arg(process.exitCode())
                                          .arg(out.join(QLatin1Char(' ')),
                                               QString::fromLocal8Bit(process.readAllStandardError()).trimmed()));
    const int status = out.at(0).toInt();
    const qint64 size = out.at(1).toLongLong();
    const double s = out.at(2).toDouble();
    if (status != 200 || size != expected || s <= 0)
        return RunResult::failure(QStringLiteral("curl: status %1, %2 of %3 bytes").arg(status).arg(size).arg(expected));
    return RunResult::success(double(size) / MiB / s);
}

// Pins the calling thread (the client) to `cpu` while it lives, then restores its mask.
class PinThisThread
{
public:
    explicit PinThisThread(int cpu)
    {
        m_saved = ::sched_getaffinity(0, sizeof m_old, &m_old) == 0;
        if (cpu < 0 || !m_saved)
            return;
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        ::sched_setaffinity(0, sizeof set, &set);
    }
    ~PinThisThread()
    {
        if (m_saved)
            ::sched_setaffinity(0, sizeof m_old, &m_old);
    }

private:
    cpu_set_t m_old;
    bool m_saved = false;
};

// What one GET gave: its status and body, or why it failed.
struct Got
{
    QString error;
    int status = 0;
    QByteArray body;
};
// Sends one GET and calls `done` with what came back.
using SendOne = std::function<void(std::function<void(const Got &)> done)>;

// `count` GETs one after the other through `send`, each body checked against `expected`;
// requests a second, or MiB/s when `bytesPerSecond`.
RunResult runSequential(const QString &who, const SendOne &send, int count, const QByteArray &expected,
                        bool bytesPerSecond)
{
    int done = 0;
    QString error;
    std::function<void()> next;
    const Clock::time_point start = Clock::now();
    Clock::time_point end;
    next = [&] {
        send([&](const Got &got) {
            if (!got.error.isEmpty() || got.status != 200 || got.body != expected) {
                error = !got.error.isEmpty() ? got.error
                                             : QStringLiteral("status %1, %2 bytes of body").arg(got.status).arg(got.body.size());
                wakeMain();
                return;
            }
            if (++done == count) {
                end = Clock::now();
                wakeMain();
                return;
            }
            next();
        });
    };
    next();
    if (!spinUntil([&] { return done == count || !error.isEmpty(); }, 600000))
        return RunResult::failure(QStringLiteral("%1: no answer after %2 of %3 requests").arg(who).arg(done).arg(count));
    if (!error.isEmpty())
        return RunResult::failure(QStringLiteral("%1: %2").arg(who, error));
    const double s = seconds(start, end);
    return RunResult::success(bytesPerSecond ? double(count) * double(expected.size()) / MiB / s : count / s);
}

// rill::http::Client, one kept-alive connection.
RunResult runRillClient(const QUrl &url, int count, const QByteArray &expected, bool bytesPerSecond)
{
    rill::http::Client client;
    client.setMaxConnectionsPerEndpoint(1);
    const SendOne send = [&](std::function<void(const Got &)> done) {
        client.get(url).then(&client, [done](const rill::http::Response &r) {
            done({r.isError() ? rill::errorMessage(r.error()) : QString(), r.status(), r.body()});
        });
    };
    return runSequential(QStringLiteral("Rill client"), send, count, expected, bytesPerSecond);
}

// QNetworkAccessManager, HTTP/1.1 (it keeps the connection alive by itself).
RunResult runQnam(const QUrl &url, int count, const QByteArray &expected, bool bytesPerSecond)
{
    QNetworkAccessManager manager;
    const SendOne send = [&](std::function<void(const Got &)> done) {
        QNetworkRequest request(url);
        request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
        QNetworkReply *reply = manager.get(request);
        QObject::connect(reply, &QNetworkReply::finished, &manager, [reply, done] {
            reply->deleteLater();
            done({reply->error() != QNetworkReply::NoError ? reply->errorString() : QString(),
                  reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt(), reply->readAll()});
        });
    };
    return runSequential(QStringLiteral("QNAM"), send, count, expected, bytesPerSecond);
}

// Reads a streamed response body to its end, counting and dropping the bytes (checking them
// against the pattern when `chunk` is set). A read whose result is ready comes back inside
// the call: loop then instead of recursing, one frame per read of a 1 GiB body.
class BodyDrain : public QObject
{
public:
    BodyDrain(rill::http::BodyFlow body, const QByteArray *chunk) : m_body(std::move(body)), m_chunk(chunk) {}
    void start() { pull(); }
    bool finished() const { return m_finished; }
    qint64 bytes() const { return m_bytes; }
    QString error() const { return m_error; }
    Clock::time_point end() const { return m_end; }

private:
    void pull()
    {
        do {
            m_again = false;
            m_inRead = true;
            m_body->read(this, [this](const rill::ReadResult &r) { onRead(r); });
            m_inRead = false;
        } while (m_again);
    }
    void onRead(const rill::ReadResult &r)
    {
        if (r.isData()) {
            const QByteArray data = r.data();
            if (m_chunk && !checkPattern(data.constData(), data.size(), m_bytes, *m_chunk)) {
                m_error = QStringLiteral("wrong bytes at offset %1").arg(m_bytes);
                m_finished = true;
                wakeMain();
                return;
            }
            m_bytes += data.size();
            if (m_inRead)
                m_again = true;
            else
                pull();
            return;
        }
        m_end = Clock::now();
        if (r.isError())
            m_error = rill::errorMessage(r.error());
        m_finished = true;
        wakeMain();
    }

    rill::http::BodyFlow m_body;
    const QByteArray *m_chunk;
    qint64 m_bytes = 0;
    QString m_error;
    Clock::time_point m_end;
    bool m_finished = false;
    bool m_inRead = false;
    bool m_again = false;
};

// The figure of one streamed download: MiB/s, or an error if anything but exactly `expected`
// bytes came.
RunResult downloadResult(const QString &who, const QString &error, qint64 got, qint64 expected, double s)
{
    if (!error.isEmpty())
        return RunResult::failure(QStringLiteral("%1: %2 (after %3 bytes)").arg(who, error).arg(got));
    if (got != expected)
        return RunResult::failure(QStringLiteral("%1: %2 of %3 bytes").arg(who).arg(got).arg(expected));
    return RunResult::success(double(got) / MiB / s);
}

// rill::http::Client, one GET of `expected` bytes with the body streamed (Client::BodyMode::Stream).
RunResult runRillDownload(const QUrl &url, qint64 expected, const QByteArray *chunk)
{
    rill::http::Client client;
    std::unique_ptr<BodyDrain> drain;
    QString error;
    const Clock::time_point start = Clock::now();
    client.send(rill::http::Request(url), rill::http::Client::BodyMode::Stream)
            .then(&client, [&](const rill::http::Response &r) {
                if (r.isError() || r.status() != 200 || !r.bodyFlow()) {
                    error = r.isError() ? rill::errorMessage(r.error()) : QStringLiteral("status %1").arg(r.status());
                    wakeMain();
                    return;
                }
                drain = std::make_unique<BodyDrain>(r.bodyFlow(), chunk);
                drain->start();
            });
    if (!spinUntil([&] { return !error.isEmpty() || (drain && drain->finished()); }, 600000))
        return RunResult::failure(QStringLiteral("Rill client: no end after %1 bytes").arg(drain ? drain->bytes() : 0));
    if (!error.isEmpty())
        return RunResult::failure(QStringLiteral("Rill client: %1").arg(error));
    return downloadResult(QStringLiteral("Rill client"), drain->error(), drain->bytes(), expected,
                          seconds(start, drain->end()));
}

// QNetworkAccessManager, one GET of `expected` bytes read as it comes (readyRead, readAll) and
// dropped.
RunResult runQnamDownload(const QUrl &url, qint64 expected, const QByteArray *chunk)
{
    QNetworkAccessManager manager;
    QNetworkRequest request(url);
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    qint64 got = 0;
    QString error;
    bool finished = false;
    const Clock::time_point start = Clock::now();
    Clock::time_point end;
    QNetworkReply *reply = manager.get(request); // the manager's child: goes with it
    const auto take = [&] {
        const QByteArray data = reply->readAll();
        if (chunk && error.isEmpty() && !checkPattern(data.constData(), data.size(), got, *chunk))
            error = QStringLiteral("wrong bytes at offset %1").arg(got);
        got += data.size();
    };
    QObject::connect(reply, &QIODevice::readyRead, &manager, take);
    QObject::connect(reply, &QNetworkReply::finished, &manager, [&] {
        take();
        end = Clock::now();
        const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
        // Wrong bytes, if any, say more than the status.
        if (error.isEmpty() && reply->error() != QNetworkReply::NoError)
            error = reply->errorString();
        else if (error.isEmpty() && status != 200)
            error = QStringLiteral("status %1").arg(status);
        finished = true;
        wakeMain();
    });
    if (!spinUntil([&] { return finished; }, 600000))
        return RunResult::failure(QStringLiteral("QNAM: no end after %1 bytes").arg(got));
    return downloadResult(QStringLiteral("QNAM"), error, got, expected, seconds(start, end));
}

} // namespace

void runHttp(Env &env, Report &report)
{
    const QString part = QStringLiteral("http");
    const QString wrk = QStandardPaths::findExecutable(QStringLiteral("wrk"));
    QString nginx = QStandardPaths::findExecutable(QStringLiteral("nginx"));
    if (nginx.isEmpty() && QFileInfo(QStringLiteral("/usr/sbin/nginx")).isExecutable())
        nginx = QStringLiteral("/usr/sbin/nginx"); // not on a plain user's PATH
    const QString serverProgram = QFileInfo(env.selfPath).dir().filePath(QStringLiteral("rill-http-bench-server"));
    if (!QFileInfo(serverProgram).isExecutable()) {
        report.addSkipped(part, QStringLiteral("rill-http-bench-server not built"));
        return;
    }

    const QString curl = QStandardPaths::findExecutable(QStringLiteral("curl"));

    // The large file, real bytes, in the folder nginx serves; removed when the part ends
    // (after the servers, which are declared later and so stop first).
    bool sizeOk = false;
    const qint64 knobMiB = qEnvironmentVariableIntValue("RILL_BENCH_HTTP_BIG_MIB", &sizeOk);
    const qint64 fileBytes = (sizeOk && knobMiB > 0 ? knobMiB : env.options.pick<qint64>(1024, 64, 8)) * MiB;
    const QString nginxDir = env.tempDir + QStringLiteral("/nginx");
    const QString filePath = nginxDir + QStringLiteral("/www") + NginxFileTarget;
    struct RemoveFile
    {
        QString path;
        ~RemoveFile() { QFile::remove(path); }
    } removeFile{filePath};
    QDir().mkpath(nginxDir + QStringLiteral("/www"));
    const QString fileError = writeFile(filePath, fileBytes);

    const QPair<int, int> cpus = pickCpus();
    const int reps = env.options.repetitions(3, 2);
    WrkParams params;
    params.seconds = env.options.pick(5, 2, 1);
    QStringList notes;
    if (cpus.first < 0)
        notes << QStringLiteral("only one CPU is available: nothing pinned");
    else
        notes << QStringLiteral("servers pinned to CPU %1, wrk and the clients to CPU %2").arg(cpus.first).arg(cpus.second);
    notes << QStringLiteral("load average at the part's start: %1").arg(loadAverage());

    // Column order: Rill, then the baselines.
    std::vector<std::unique_ptr<Server>> servers;
    for (const QString &name : {QStringLiteral("Rill"), QStringLiteral("QHttpServer"), QStringLiteral("nginx")}) {
        auto s = std::make_unique<Server>();
        s->name = name;
        servers.push_back(std::move(s));
    }
    startQtServer(*servers[0], serverProgram, QStringLiteral("rill"), filePath, cpus.first);
#ifdef RILL_BENCH_QHTTPSERVER
    startQtServer(*servers[1], serverProgram, QStringLiteral("qt"), filePath, cpus.first);
#else
    servers[1]->missing = QStringLiteral("not built (no Qt6::HttpServer at configure time: qt6-httpserver-dev)");
#endif
    if (nginx.isEmpty()) {
        servers[2]->missing = QStringLiteral("not installed (nginx-light)");
    } else {
        // The free port can be taken by another program before nginx binds it: try anew.
        for (int attempt = 0; attempt < 3; ++attempt) {
            servers[2] = std::make_unique<Server>();
            servers[2]->name = QStringLiteral("nginx");
            startNginx(*servers[2], nginx, nginxDir, cpus.first);
            if (servers[2]->error.isEmpty())
                break;
        }
    }

    // ---- servers under wrk
    std::printf("http:");
    std::fflush(stdout);
    if (wrk.isEmpty()) {
        report.addSkipped(QStringLiteral("http server"), QStringLiteral("wrk not installed"));
    } else {
        std::vector<QList<RunResult>> runs(servers.size());
        for (int rep = 0; rep < reps; ++rep) {
            for (size_t k = 0; k < servers.size(); ++k) {
                const size_t i = (k + size_t(rep)) % servers.size();
                Server &s = *servers[i];
                if (!s.missing.isEmpty())
                    continue;
                runs[i] << (s.error.isEmpty() ? runWrk(wrk, s.port, params, cpus.second) : RunResult::failure(s.error));
                std::printf(" .");
                std::fflush(stdout);
            }
        }
        Section section;
        section.part = part;
        section.title = QStringLiteral("server: wrk keep-alive GETs of a %1-byte body over loopback").arg(SmallBody.size());
        section.unit = QStringLiteral("requests/s");
        section.rillColumn = QStringLiteral("rill::http::Server");
        section.baselineColumns = {QStringLiteral("QHttpServer 6.4"), QStringLiteral("nginx (1 worker)")};
        section.notes = notes;
        section.notes << QStringLiteral("`wrk -t1 -c%1 -d%2s`, one run per server per round in a rotated order, median of %3")
                                 .arg(params.connections).arg(params.seconds).arg(reps);
        section.notes << QStringLiteral("no Unix-socket row: wrk 4.1 connects only over TCP");
        Row row;
        row.label = QStringLiteral("GET %1 B, %2 connections").arg(SmallBody.size()).arg(params.connections);
        row.volume = QStringLiteral("%1 s per run").arg(params.seconds);
        row.rill = summarize(servers[0]->name, runs[0]);
        for (size_t i = 1; i < servers.size(); ++i) {
            row.baselines << summarize(servers[i]->name, runs[i]);
            if (!servers[i]->missing.isEmpty())
                row.note += QStringLiteral("%1 %2. ").arg(servers[i]->name, servers[i]->missing);
        }
        row.note = row.note.trimmed();
        row.targets << ratioTarget(row, 0, 2.0, true, QStringLiteral(">=2x QHttpServer"));
        row.targets << ratioTarget(row, 1, 0.5, true, QStringLiteral(">=0.5x nginx"));
        section.rows << row;
        std::printf("\n");
        report.add(section);
    }

    // ---- the large file from each server, to curl. Run last, so that the rows measured before
    // it (wrk, then the clients) run as they did in earlier runs, not after QHttpServer's
    // fromFile() took and freed a gigabyte per download.
    const QString fileSize = formatBytes(fileBytes);
    const auto runFileDownloads = [&] {
        if (curl.isEmpty()) {
            report.addSkipped(QStringLiteral("http server file"), QStringLiteral("curl not installed"));
            return;
        }
        std::printf("http file:");
        std::fflush(stdout);
        std::vector<QList<RunResult>> runs(servers.size());
        for (int rep = 0; rep < reps; ++rep) {
            for (size_t k = 0; k < servers.size(); ++k) {
                const size_t i = (k + size_t(rep)) % servers.size();
                Server &s = *servers[i];
                if (!s.missing.isEmpty())
                    continue;
                const QString url = QStringLiteral("http://127.0.0.1:%1%2").arg(s.port).arg(i == 2 ? NginxFileTarget : FileTarget);
                runs[i] << (!fileError.isEmpty() ? RunResult::failure(fileError)
                                    : s.error.isEmpty() ? runCurl(curl, url, fileBytes, cpus.second)
                                                        : RunResult::failure(s.error));
                std::printf(" .");
                std::fflush(stdout);
            }
        }
        Section section;
        section.part = part;
        section.title = QStringLiteral("server: one %1 file download to curl over loopback").arg(fileSize);
        section.unit = QStringLiteral("MiB/s");
        section.rillColumn = QStringLiteral("rill::http::Server");
        section.baselineColumns = {QStringLiteral("QHttpServer 6.4"), QStringLiteral("nginx (1 worker)")};
        section.notes = notes;
        section.notes << QStringLiteral("`curl -s -o /dev/null` of a %1 file of real bytes (from the page cache), "
                                        "one run per server per round in a rotated order, median of %2")
                                 .arg(fileSize).arg(reps);
        section.notes << QStringLiteral("Rill streams the file (a DeviceFlow over a QFile as the body flow); QHttpServer "
                                        "6.4's fromFile() reads it whole into memory per request; nginx with sendfile "
                                        "and tcp_nopush on, as Debian's stock configuration has them");
        Row row;
        row.label = QStringLiteral("GET %1").arg(fileSize);
        row.volume = QStringLiteral("1 download per run");
        row.rill = summarize(servers[0]->name, runs[0]);
        for (size_t i = 1; i < servers.size(); ++i) {
            row.baselines << summarize(servers[i]->name, runs[i]);
            if (!servers[i]->missing.isEmpty())
                row.note += QStringLiteral("%1 %2. ").arg(servers[i]->name, servers[i]->missing);
        }
        row.note = row.note.trimmed();
        row.targets << ratioTarget(row, 1, 0.8, true, QStringLiteral(">=0.8x nginx"));
        section.rows << row;
        std::printf("\n");
        report.add(section);
    };

    // ---- clients against nginx
    Server &fast = *servers[2];
    if (!fast.missing.isEmpty()) {
        report.addSkipped(QStringLiteral("http client"), QStringLiteral("nginx %1").arg(fast.missing));
        runFileDownloads();
        return;
    }
    const QByteArray big = patternChunk(BigBody);
    const int smallCount = env.options.pick(10000, 3000, 200);
    const int bigCount = env.options.pick(300, 100, 10);
    const QUrl smallUrl(QStringLiteral("http://127.0.0.1:%1/").arg(fast.port));
    const QUrl bigUrl(QStringLiteral("http://127.0.0.1:%1/big.bin").arg(fast.port));
    const QUrl fileUrl(QStringLiteral("http://127.0.0.1:%1%2").arg(fast.port).arg(NginxFileTarget));
    // Every byte checked only when asked (--verify, --smoke): the check would cost more than
    // the download.
    const QByteArray pattern = env.options.verify ? patternChunk(MiB) : QByteArray();
    const QByteArray *check = env.options.verify ? &pattern : nullptr;
    QList<RunResult> rillSmall, qnamSmall, rillBig, qnamBig, rillFile, qnamFile;
    {
        PinThisThread pin(cpus.second);
        for (int rep = 0; rep < reps; ++rep) {
            const bool rillFirst = rep % 2 == 0;
            for (int k = 0; k < 2; ++k) {
                const bool rill = (k == 0) == rillFirst;
                if (!fast.error.isEmpty()) {
                    (rill ? rillSmall : qnamSmall) << RunResult::failure(fast.error);
                    (rill ? rillBig : qnamBig) << RunResult::failure(fast.error);
                    (rill ? rillFile : qnamFile) << RunResult::failure(fast.error);
                    continue;
                }
                if (rill) {
                    rillSmall << runRillClient(smallUrl, smallCount, SmallBody, false);
                    rillBig << runRillClient(bigUrl, bigCount, big, true);
                    rillFile << (fileError.isEmpty() ? runRillDownload(fileUrl, fileBytes, check) : RunResult::failure(fileError));
                } else {
                    qnamSmall << runQnam(smallUrl, smallCount, SmallBody, false);
                    qnamBig << runQnam(bigUrl, bigCount, big, true);
                    qnamFile << (fileError.isEmpty() ? runQnamDownload(fileUrl, fileBytes, check) : RunResult::failure(fileError));
                }
                std::printf(" .");
                std::fflush(stdout);
            }
        }
    }
    std::printf("\n");
    Section requests;
    requests.part = part;
    requests.title = QStringLiteral("client: sequential keep-alive GETs to nginx over loopback");
    requests.unit = QStringLiteral("requests/s");
    requests.rillColumn = QStringLiteral("rill::http::Client");
    requests.baselineColumns = {QStringLiteral("QNetworkAccessManager")};
    requests.notes = notes;
    requests.notes << QStringLiteral("one request at a time on one kept-alive connection, the body collected and "
                                     "checked; runs alternate, median of %1")
                              .arg(reps);
    Row small;
    small.label = QStringLiteral("GET %1 B").arg(SmallBody.size());
    small.volume = QStringLiteral("%1 requests").arg(smallCount);
    small.rill = summarize(QStringLiteral("Rill"), rillSmall);
    small.baselines = {summarize(QStringLiteral("QNAM"), qnamSmall)};
    small.targets << ratioTarget(small, 0, 2.0, true, QStringLiteral(">=2x QNAM"));
    requests.rows << small;
    report.add(requests);

    Section bulk = requests;
    bulk.title = QStringLiteral("client: sequential keep-alive downloads of 1 MiB from nginx over loopback");
    bulk.unit = QStringLiteral("MiB/s");
    bulk.rows.clear();
    Row download;
    download.label = QStringLiteral("GET 1 MiB");
    download.volume = QStringLiteral("%1 downloads").arg(bigCount);
    download.rill = summarize(QStringLiteral("Rill"), rillBig);
    download.baselines = {summarize(QStringLiteral("QNAM"), qnamBig)};
    download.targets << ratioTarget(download, 0, 1.0, true, QStringLiteral(">=1.00x QNAM"));
    bulk.rows << download;
    report.add(bulk);

    Section single = requests;
    single.title = QStringLiteral("client: one %1 body from nginx, streamed, over loopback").arg(fileSize);
    single.unit = QStringLiteral("MiB/s");
    single.notes = notes;
    single.notes << QStringLiteral("one GET per run; Rill reads the body as a flow (Client::BodyMode::Stream), QNAM "
                                   "with readyRead and readAll; both count the bytes and drop them; runs alternate, "
                                   "median of %1")
                            .arg(reps);
    single.rows.clear();
    Row whole;
    whole.label = QStringLiteral("GET %1").arg(fileSize);
    whole.volume = QStringLiteral("1 download per run");
    whole.rill = summarize(QStringLiteral("Rill"), rillFile);
    whole.baselines = {summarize(QStringLiteral("QNAM"), qnamFile)};
    whole.targets << ratioTarget(whole, 0, 1.0, true, QStringLiteral(">=1.00x QNAM"));
    single.rows << whole;
    report.add(single);

    runFileDownloads();
}

} // namespace bench
