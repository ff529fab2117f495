// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Bulk throughput: the main thread writes `total` bytes in writes of one size, the worker
// thread reads them; the clock runs from the first write to the receiver's last byte.

#include "bulkrun.h"
#include "connections.h"
#include "drivers.h"

#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

namespace {

enum class Contender { RillTcp, QtTcp, PosixTcp, QCoroTcp, RillLocal, QtLocal, PosixUnix, QCoroLocal, RillPipe };

const QList<Contender> AllContenders{Contender::RillTcp,   Contender::QtTcp,     Contender::PosixTcp,
                                     Contender::QCoroTcp,  Contender::RillLocal, Contender::QtLocal,
                                     Contender::PosixUnix, Contender::QCoroLocal, Contender::RillPipe};

QString nameOf(Contender c)
{
    switch (c) {
    case Contender::RillTcp: return QStringLiteral("TcpFlow");
    case Contender::QtTcp: return QStringLiteral("raw QTcpSocket");
    case Contender::PosixTcp: return QStringLiteral("POSIX TCP");
    case Contender::QCoroTcp: return QStringLiteral("QCoro QTcpSocket");
    case Contender::RillLocal: return QStringLiteral("LocalFlow");
    case Contender::QtLocal: return QStringLiteral("raw QLocalSocket");
    case Contender::PosixUnix: return QStringLiteral("POSIX Unix");
    case Contender::QCoroLocal: return QStringLiteral("QCoro QLocalSocket");
    case Contender::RillPipe: return QStringLiteral("PipeFlow");
    }
    return {};
}

template<typename Socket>
RunResult qcoroRun(Env &env, QtPair<Socket> pair, qsizetype size, qint64 total)
{
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    const QByteArray chunk = patternChunk(size);
    Sink sink{total, 0, env.options.verify ? chunk : QByteArray(), &done};
    StopFlag stop = std::make_shared<std::atomic_bool>(false);
    env.worker->call([&] {
        qcoroRead(pair.server, [&sink](const QByteArray &d) { return sink.onData(d.constData(), d.size()); },
                  stop, &done);
    });
    const Clock::time_point start = Clock::now();
    qcoroWrite(pair.client.get(), chunk, total, stop, &done);
    const bool finished = spinUntil([&] { return done.done(); }, BulkRunTimeoutMs);
    *stop = true;
    deleteQCoroPair(env.worker, pair.client.release(), pair.server);
    pair.server = nullptr;
    return finish(done, finished, start, total, sink);
}

RunResult posixRun(Env &env, Connector &connector, Transport transport, qsizetype size, qint64 total)
{
    PosixPair pair = connector.posix(transport);
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    const QByteArray chunk = patternChunk(size);
    Sink sink{total, 0, env.options.verify ? chunk : QByteArray(), &done};
    const int fd = pair.server;
    env.worker->post([&sink, &done, fd] {
        QByteArray buffer(ReadSize, Qt::Uninitialized);
        for (;;) {
            const ssize_t n = ::recv(fd, buffer.data(), size_t(ReadSize), 0);
            if (n <= 0) {
                done.fail(QStringLiteral("receiver: %1").arg(n == 0 ? QStringLiteral("end of stream")
                                                                    : QStringLiteral("recv failed")));
                return;
            }
            if (!sink.onData(buffer.constData(), n))
                return;
        }
    });
    const Clock::time_point start = Clock::now();
    bool sent = true;
    for (qint64 offset = 0; offset < total && sent; offset += chunk.size())
        sent = sendAll(pair.client, chunk.constData(), qMin<qint64>(chunk.size(), total - offset));
    if (!sent)
        done.fail(QStringLiteral("sender: send failed"));
    const bool finished = spinUntil([&] { return done.done(); }, BulkRunTimeoutMs);
    ::shutdown(pair.server, SHUT_RDWR); // unblocks the receiver if it still waits
    env.worker->call([] {});            // the receiver has returned
    Connector::closePair(pair);
    return finish(done, finished, start, total, sink);
}

RunResult runOnce(Env &env, Connector &connector, Contender c, qsizetype size, qint64 total)
{
    switch (c) {
    case Contender::RillTcp: return rillRun(env, connector, Transport::Tcp, size, total);
    case Contender::RillLocal: return rillRun(env, connector, Transport::Local, size, total);
    case Contender::RillPipe: return rillRun(env, connector, Transport::Pipe, size, total);
    case Contender::QtTcp: return qtRun(env, connector.qtTcp(), size, total);
    case Contender::QtLocal: return qtRun(env, connector.qtLocal(), size, total);
    case Contender::PosixTcp: return posixRun(env, connector, Transport::Tcp, size, total);
    case Contender::PosixUnix: return posixRun(env, connector, Transport::Local, size, total);
    case Contender::QCoroTcp: return qcoroRun(env, connector.qtTcp(), size, total);
    case Contender::QCoroLocal: return qcoroRun(env, connector.qtLocal(), size, total);
    }
    return RunResult::failure(QStringLiteral("unknown contender"));
}

struct SizePlan
{
    qsizetype size;
    qint64 total;
};

QList<SizePlan> plan(const Options &o)
{
    // Small writes cost per call, so they move less to stay within the time budget.
    return {
        {64, o.pick<qint64>(16 * MiB, 4 * MiB, 256 * KiB)},
        {1 * KiB, o.pick<qint64>(128 * MiB, 32 * MiB, 1 * MiB)},
        {16 * KiB, o.pick<qint64>(1 * GiB, 256 * MiB, 2 * MiB)},
        {64 * KiB, o.pick<qint64>(2 * GiB, 512 * MiB, 4 * MiB)},
        {1 * MiB, o.pick<qint64>(2 * GiB, 512 * MiB, 4 * MiB)},
    };
}

} // namespace

void runBulk(Env &env, Report &report)
{
    Connector connector(env);
    const PinnedThreads pinned(env.worker);
    const int reps = env.options.repetitions(3, 2);
    Section section;
    section.part = QStringLiteral("bulk");
    section.title = QStringLiteral("throughput over loopback, writer in the main thread, receiver in its own QThread");
    section.unit = QStringLiteral("MiB/s");
    section.decimals = 0;
    section.rillColumn = QStringLiteral("Rill");
    section.baselineColumns = {QStringLiteral("raw Qt"), QStringLiteral("POSIX blocking"), QStringLiteral("QCoro")};
    section.notes << QStringLiteral("tcp: TcpFlow vs QTcpSocket / blocking TCP sockets / QCoro on QTcpSocket; "
                                    "unix: LocalFlow vs QLocalSocket / blocking Unix sockets / QCoro on "
                                    "QLocalSocket; pipe: PipeFlow (in memory) vs the same Unix-socket baselines")
                  << QStringLiteral("median of %1 runs per contender, ±half the range; contenders interleaved, "
                                    "their order rotated each round; volume per run in the volume column")
                          .arg(reps)
                  << QStringLiteral("raw Qt keeps at most %1 in the socket's buffer (Rill's default high-water "
                                    "mark); the raw Qt and POSIX receivers read %2 at a time (so does Rill's "
                                    "engine), QCoro's reads all there is")
                          .arg(formatBytes(QtWriteBound), formatBytes(ReadSize))
                  << pinned.description() + QStringLiteral(" (for every contender alike)");

    QList<Row> groupRows[3]; // tcp, unix, pipe: each group's sizes together
    for (const SizePlan &p : plan(env.options)) {
        if (!env.options.wantsSize(p.size))
            continue;
        QHash<int, QList<RunResult>> results;
        std::printf("bulk %s:", qPrintable(formatBytes(p.size)));
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < AllContenders.size(); ++i) {
                const Contender c = AllContenders.at((i + rep) % AllContenders.size());
                if (!env.options.wantsContender(nameOf(c)))
                    continue;
                results[int(c)] << runOnce(env, connector, c, p.size, p.total);
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        auto cell = [&](Contender c) { return summarize(nameOf(c), results.value(int(c))); };
        struct Group
        {
            QString label;
            Contender rill, qt, posix, qcoro;
        };
        const QList<Group> groups{
                {QStringLiteral("tcp"), Contender::RillTcp, Contender::QtTcp, Contender::PosixTcp, Contender::QCoroTcp},
                {QStringLiteral("unix"), Contender::RillLocal, Contender::QtLocal, Contender::PosixUnix, Contender::QCoroLocal},
                {QStringLiteral("pipe"), Contender::RillPipe, Contender::QtLocal, Contender::PosixUnix, Contender::QCoroLocal},
        };
        for (int gi = 0; gi < groups.size(); ++gi) {
            const Group &g = groups.at(gi);
            Row row;
            row.label = QStringLiteral("%1 %2").arg(g.label, formatBytes(p.size));
            row.volume = formatBytes(p.total);
            row.rill = cell(g.rill);
            row.baselines = {cell(g.qt), cell(g.posix), cell(g.qcoro)};
            if (g.rill == Contender::RillTcp) {
                row.targets << ratioTarget(row, 0, 1.0, true, QStringLiteral(">=1.00x raw Qt"));
                if (p.size >= 64 * KiB)
                    row.targets << ratioTarget(row, 1, 1.0, true, QStringLiteral(">=1.00x POSIX"));
            }
            groupRows[gi] << row;
        }
    }
    for (const QList<Row> &rows : groupRows)
        section.rows << rows;
    report.add(section);
}

} // namespace bench
