// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Memory: each measurement runs in a fresh child process (rill-bench --child ...), so what
// earlier parts left on the heap does not count. The child prints one "RESULT {json}" line.

#include "bench.h"
#include "connections.h"
#include "drivers.h"

#include <rill/listener.h>
#include <rill/tcpflow.h>

#include <QtCore/QJsonDocument>
#include <QtCore/QProcess>
#include <QtNetwork/QTcpServer>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

namespace {

constexpr int Batch = 32; // below the listen backlog of 50
constexpr qsizetype StallWriteSize = 64 * KiB;

void printResult(const QJsonObject &o)
{
    std::printf("RESULT %s\n", QJsonDocument(o).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
}

int fail(const QString &why)
{
    std::fprintf(stderr, "rill-bench child: %s\n", qPrintable(why));
    return 1;
}

// How many connections with both ends in this process fit under the descriptor limit.
int connectionsThatFit(int wanted)
{
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const qint64 soft = qint64(limit.rlim_cur);
    return int(qMin<qint64>(wanted, (soft - 200) / 2));
}

// ---- idle flows: both ends of `count` loopback connections, each with a read pending

int idleRill(int count)
{
    QObject context;
    rill::TcpListener listener;
    if (!listener.listen(QHostAddress::LocalHost, 0))
        return fail(rill::errorMessage(listener.error()));
    std::vector<std::unique_ptr<rill::Flow>> flows;
    int readsEnded = 0;
    auto armRead = [&](rill::Flow *flow) {
        // An idle server connection: a read waits for the peer.
        flow->read().then(&context, [&readsEnded](rill::ReadResult) { ++readsEnded; });
    };
    std::function<void()> acceptLoop = [&] {
        listener.accept().then(&context, [&](rill::FlowResult<rill::TcpFlow> r) {
            if (!r.isOk())
                return;
            armRead(r.flow());
            flows.emplace_back(r.takeFlow().release());
            acceptLoop();
        });
    };
    acceptLoop();
    auto connectBatch = [&](int n) {
        const size_t before = flows.size();
        std::vector<std::unique_ptr<rill::Flow>> batch = connectTcpFlows(listener.serverPort(), n, 20000);
        if (!spinUntil([&] { return flows.size() >= before + size_t(n); }, 20000))
            return false;
        for (auto &flow : batch) {
            if (!flow || flow->state() != rill::Flow::State::Open)
                return false;
            armRead(flow.get());
            flows.push_back(std::move(flow));
        }
        return true;
    };
    // Warm up: one connection made and dropped, so one-time allocations are in the baseline.
    if (!connectBatch(1))
        return fail(QStringLiteral("warm-up connection failed"));
    flows.clear();
    spinFor(100);
    readsEnded = 0;
    trimHeap();
    const qint64 rss0 = residentBytes();
    for (int done = 0; done < count; done += Batch) {
        if (!connectBatch(qMin(Batch, count - done)))
            return fail(QStringLiteral("connecting failed after %1 connections").arg(done));
    }
    spinFor(300); // deferred deletes of the Qt sockets used for connecting
    const qint64 rss1 = residentBytes();
    QJsonObject o;
    o[QStringLiteral("connections")] = count;
    o[QStringLiteral("objects")] = qint64(flows.size());
    o[QStringLiteral("rss0")] = rss0;
    o[QStringLiteral("rss1")] = rss1;
    o[QStringLiteral("readsEnded")] = readsEnded;
    printResult(o);
    return 0;
}

int idleQt(int count)
{
    QObject context;
    QTcpServer server;
    server.setMaxPendingConnections(1000000);
    if (!server.listen(QHostAddress::LocalHost, 0))
        return fail(server.errorString());
    std::vector<std::unique_ptr<QTcpSocket>> sockets;
    int readyReads = 0;
    auto watch = [&](QTcpSocket *socket) {
        QObject::connect(socket, &QIODevice::readyRead, &context, [&readyReads] { ++readyReads; });
    };
    QObject::connect(&server, &QTcpServer::newConnection, &context, [&] {
        while (QTcpSocket *s = server.nextPendingConnection()) {
            s->setParent(nullptr);
            watch(s);
            sockets.emplace_back(s);
        }
    });
    auto connectBatch = [&](int n) {
        std::vector<QTcpSocket *> batch;
        for (int i = 0; i < n; ++i) {
            auto *s = new QTcpSocket;
            s->connectToHost(QHostAddress::LocalHost, server.serverPort());
            batch.push_back(s);
        }
        const size_t before = sockets.size();
        const bool ok = spinUntil([&] {
            return std::all_of(batch.begin(), batch.end(),
                               [](QTcpSocket *s) { return s->state() == QAbstractSocket::ConnectedState; })
                    && sockets.size() >= before + size_t(n);
        }, 20000);
        for (QTcpSocket *s : batch) {
            watch(s);
            sockets.emplace_back(s);
        }
        return ok;
    };
    if (!connectBatch(1))
        return fail(QStringLiteral("warm-up connection failed"));
    sockets.clear();
    spinFor(100);
    trimHeap();
    const qint64 rss0 = residentBytes();
    for (int done = 0; done < count; done += Batch) {
        if (!connectBatch(qMin(Batch, count - done)))
            return fail(QStringLiteral("connecting failed after %1 connections").arg(done));
    }
    spinFor(300);
    const qint64 rss1 = residentBytes();
    QJsonObject o;
    o[QStringLiteral("connections")] = count;
    o[QStringLiteral("objects")] = qint64(sockets.size());
    o[QStringLiteral("rss0")] = rss0;
    o[QStringLiteral("rss1")] = rss1;
    o[QStringLiteral("readyReads")] = readyReads;
    printResult(o);
    return 0;
}

// ---- a writer offered `offered` bytes while its peer never reads

// A plain listening socket; the accepted peer is never read.
struct StalledPeer
{
    int listener = -1;
    int peer = -1;
    quint16 port = 0;
    StalledPeer()
    {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof in;
        ::bind(listener, reinterpret_cast<sockaddr *>(&in), sizeof in);
        ::listen(listener, 4);
        ::getsockname(listener, reinterpret_cast<sockaddr *>(&in), &length);
        port = ntohs(in.sin_port);
    }
    bool accept()
    {
        peer = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        return peer >= 0;
    }
    ~StalledPeer()
    {
        if (peer >= 0)
            ::close(peer);
        ::close(listener);
    }
};

// Fresh data for every write, as a producer would make it.
QByteArray freshChunk()
{
    return QByteArray(StallWriteSize, 'x');
}

// Waits until `progress` stops moving for 500 ms (the writer is stuck) or `finished` holds.
void waitForStall(const std::function<qint64()> &progress, const std::function<bool()> &finished)
{
    qint64 last = -1;
    int still = 0;
    const Clock::time_point start = Clock::now();
    while (still < 5 && !finished() && secondsSince(start) < 60) {
        spinFor(100);
        const qint64 now = progress();
        still = now == last ? still + 1 : 0;
        last = now;
    }
}

int stallRill(qint64 offered)
{
    StalledPeer peer;
    std::unique_ptr<rill::Flow> flow = std::move(connectTcpFlows(peer.port, 1, 20000).front());
    if (!peer.accept() || !flow || flow->state() != rill::Flow::State::Open)
        return fail(QStringLiteral("connecting failed"));
    spinFor(100);
    trimHeap();
    const qint64 rss0 = residentBytes();
    QObject context;
    qint64 accepted = 0;
    qint64 handed = 0;
    bool failed = false;
    // The writer makes its next chunk only when the last one was accepted: backpressure.
    std::function<void()> pump = [&] {
        while (handed < offered) {
            QFuture<rill::WriteResult> f = flow->write(freshChunk());
            handed += StallWriteSize;
            if (!f.isFinished()) {
                f.then(&context, [&](rill::WriteResult r) {
                    if (!r.isOk()) {
                        failed = true;
                        return;
                    }
                    accepted += StallWriteSize;
                    pump();
                });
                return;
            }
            if (!f.result().isOk()) {
                failed = true;
                return;
            }
            accepted += StallWriteSize;
        }
    };
    pump();
    waitForStall([&] { return accepted; }, [&] { return failed || accepted >= offered; });
    const qint64 rss1 = residentBytes();
    QJsonObject o;
    o[QStringLiteral("offered")] = offered;
    o[QStringLiteral("accepted")] = accepted;
    o[QStringLiteral("bytesQueued")] = flow->bytesQueued();
    o[QStringLiteral("highWaterMark")] = flow->highWaterMark();
    o[QStringLiteral("failed")] = failed;
    o[QStringLiteral("rss0")] = rss0;
    o[QStringLiteral("rss1")] = rss1;
    o[QStringLiteral("peak")] = peakResidentBytes();
    printResult(o);
    flow->abort();
    return 0;
}

int stallQt(qint64 offered)
{
    StalledPeer peer;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, peer.port);
    if (!peer.accept() || !spinUntil([&] { return socket.state() == QAbstractSocket::ConnectedState; }, 20000))
        return fail(QStringLiteral("connecting failed"));
    spinFor(100);
    trimHeap();
    const qint64 rss0 = residentBytes();
    // QTcpSocket has no backpressure: write() takes everything, so the writer gives it all.
    qint64 handed = 0;
    while (handed < offered) {
        socket.write(freshChunk());
        handed += StallWriteSize;
    }
    waitForStall([&] { return socket.bytesToWrite(); }, [] { return false; });
    const qint64 rss1 = residentBytes();
    QJsonObject o;
    o[QStringLiteral("offered")] = offered;
    o[QStringLiteral("accepted")] = handed;
    o[QStringLiteral("bytesQueued")] = socket.bytesToWrite();
    o[QStringLiteral("rss0")] = rss0;
    o[QStringLiteral("rss1")] = rss1;
    o[QStringLiteral("peak")] = peakResidentBytes();
    printResult(o);
    socket.abort();
    return 0;
}

struct ChildResult
{
    bool ok = false;
    QString error;
    QJsonObject values;
};

ChildResult runChild(const Env &env, const QStringList &args)
{
    QProcess process;
    process.start(env.selfPath, QStringList{QStringLiteral("--child")} + args);
    ChildResult result;
    if (!process.waitForFinished(300000)) {
        process.kill();
        process.waitForFinished();
        result.error = QStringLiteral("the child process did not finish");
        return result;
    }
    const QByteArray out = process.readAllStandardOutput();
    for (const QByteArray &line : out.split('\n')) {
        if (line.startsWith("RESULT ")) {
            result.values = QJsonDocument::fromJson(line.mid(7)).object();
            result.ok = process.exitStatus() == QProcess::NormalExit && process.exitCode() == 0;
        }
    }
    if (!result.ok)
        result.error = QStringLiteral("child %1 failed: %2").arg(args.join(QLatin1Char(' ')),
                                                                  QString::fromLocal8Bit(process.readAllStandardError()).trimmed());
    return result;
}

} // namespace

int memoryChild(const QStringList &args)
{
    if (args.size() != 3)
        return fail(QStringLiteral("usage: --child idle|stall rill|qt N"));
    const QString what = args.at(0);
    const bool rill = args.at(1) == QLatin1String("rill");
    const qint64 n = args.at(2).toLongLong();
    if (what == QLatin1String("idle"))
        return rill ? idleRill(int(n)) : idleQt(int(n));
    if (what == QLatin1String("stall"))
        return rill ? stallRill(n) : stallQt(n);
    return fail(QStringLiteral("unknown child %1").arg(what));
}

void runMemory(Env &env, Report &report)
{
    const int reps = env.options.repetitions(3, 1);
    const int wantedFlows = env.options.pick(10000, 4000, 200);
    const int connections = connectionsThatFit(wantedFlows / 2);
    const qint64 offered = env.options.pick<qint64>(1 * GiB, 1 * GiB, 64 * MiB);

    // idle flows
    {
        QList<RunResult> rill, qt;
        std::printf("memory idle:");
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < 2; ++i) {
                const bool isRill = (i + rep) % 2 == 0;
                const ChildResult r = runChild(env, {QStringLiteral("idle"), isRill ? QStringLiteral("rill") : QStringLiteral("qt"),
                                                     QString::number(connections)});
                RunResult run = RunResult::failure(r.error);
                if (r.ok) {
                    const qint64 objects = r.values.value(QStringLiteral("objects")).toInteger();
                    if (objects != 2 * connections)
                        run = RunResult::failure(QStringLiteral("%1 objects open, %2 wanted").arg(objects).arg(2 * connections));
                    else
                        run = RunResult::success(double(r.values.value(QStringLiteral("rss1")).toInteger()
                                                        - r.values.value(QStringLiteral("rss0")).toInteger())
                                                 / double(objects) / KiB);
                }
                (isRill ? rill : qt) << run;
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        Section section;
        section.part = QStringLiteral("memory");
        section.title = QStringLiteral("RSS per idle connection end, each with a read pending (a fresh process per run)");
        section.unit = QStringLiteral("KiB per flow");
        section.higherIsBetter = false;
        section.decimals = 2;
        section.rillColumn = QStringLiteral("TcpFlow");
        section.baselineColumns = {QStringLiteral("raw QTcpSocket")};
        Row row;
        row.label = QStringLiteral("%1 idle flows").arg(2 * connections);
        row.volume = QStringLiteral("%1 connections").arg(connections);
        row.rill = summarize(QStringLiteral("TcpFlow"), rill);
        row.baselines = {summarize(QStringLiteral("raw QTcpSocket"), qt)};
        Target t;
        t.text = QStringLiteral("<= raw + 4 KiB");
        if (row.rill.ok() && row.baselines.at(0).ok()) {
            t.evaluated = true;
            t.met = row.rill.value - row.baselines.at(0).value <= 4.0;
            t.measured = QStringLiteral("+%1 KiB").arg(QString::number(row.rill.value - row.baselines.at(0).value, 'f', 2));
        }
        row.targets << t;
        section.rows << row;
        section.notes << QStringLiteral("both ends of each loopback connection are in the measuring process: "
                                        "%1 flows over %2 connections (the descriptor limit would not take "
                                        "%3 connections with both ends here); raw: QTcpServer + QTcpSocket with "
                                        "readyRead connected; median of %4 runs")
                                 .arg(2 * connections)
                                 .arg(connections)
                                 .arg(2 * connections)
                                 .arg(reps);
        report.add(section);
    }

    // a stalled peer
    {
        QList<RunResult> rill, qt;
        QStringList notes;
        std::printf("memory stall:");
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < 2; ++i) {
                const bool isRill = (i + rep) % 2 == 0;
                const ChildResult r = runChild(env, {QStringLiteral("stall"), isRill ? QStringLiteral("rill") : QStringLiteral("qt"),
                                                     QString::number(offered)});
                RunResult run = RunResult::failure(r.error);
                if (r.ok && r.values.value(QStringLiteral("failed")).toBool())
                    run = RunResult::failure(QStringLiteral("a write failed"));
                else if (r.ok) {
                    const qint64 rss0 = r.values.value(QStringLiteral("rss0")).toInteger();
                    const qint64 grown = qMax(r.values.value(QStringLiteral("rss1")).toInteger(),
                                              r.values.value(QStringLiteral("peak")).toInteger())
                            - rss0;
                    run = RunResult::success(double(grown) / MiB);
                    if (isRill && notes.isEmpty())
                        notes << QStringLiteral("TcpFlow: %1 of %2 accepted before the stall, %3 queued, high-water mark %4")
                                         .arg(formatBytes(r.values.value(QStringLiteral("accepted")).toInteger()),
                                              formatBytes(offered),
                                              QString::number(r.values.value(QStringLiteral("bytesQueued")).toInteger()),
                                              formatBytes(r.values.value(QStringLiteral("highWaterMark")).toInteger()));
                }
                (isRill ? rill : qt) << run;
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        Section section;
        section.part = QStringLiteral("memory");
        section.title = QStringLiteral("RSS growth of a writer whose peer never reads (peak over the process's "
                                       "resident size before writing)");
        section.unit = QStringLiteral("MiB");
        section.higherIsBetter = false;
        section.decimals = 1;
        section.rillColumn = QStringLiteral("TcpFlow");
        section.baselineColumns = {QStringLiteral("raw QTcpSocket")};
        Row row;
        row.label = QStringLiteral("stalled writer");
        row.volume = QStringLiteral("%1 offered").arg(formatBytes(offered));
        row.rill = summarize(QStringLiteral("TcpFlow"), rill);
        row.baselines = {summarize(QStringLiteral("raw QTcpSocket"), qt)};
        const double limit = double(rill::Flow::DefaultHighWaterMark) / MiB + 16;
        Target t;
        t.text = QStringLiteral("<= high-water mark + 16 MiB (%1 MiB)").arg(limit);
        if (row.rill.ok()) {
            t.evaluated = true;
            t.met = row.rill.high <= limit; // every run, not only the median
            t.measured = QStringLiteral("largest %1 MiB").arg(QString::number(row.rill.high, 'f', 1));
        }
        row.targets << t;
        section.rows << row;
        section.notes << QStringLiteral("the writer makes each %1 chunk fresh; TcpFlow's waits for each write's "
                                        "future, raw QTcpSocket's write() takes everything (Qt has no "
                                        "backpressure); median of %2 runs, target checked on the largest")
                                 .arg(formatBytes(StallWriteSize))
                                 .arg(reps)
                      << notes;
        report.add(section);
    }
}

} // namespace bench
