// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Many connections: N TCP connections at once, each sending its share of the volume to an echo
// in the worker thread and reading it back. The figure is the echoed bytes per second, all
// connections together.

#include "connections.h"
#include "drivers.h"

#include <cstdio>

namespace bench {

namespace {

constexpr int RunTimeoutMs = 180000;
constexpr qsizetype WriteSize = 16 * KiB;

// Counts echoed bytes over all connections; finishes when every one has all of its share back.
struct Tally
{
    qint64 expected = 0;
    qint64 got = 0;
    Completion *done = nullptr;
    void add(qint64 n)
    {
        got += n;
        if (got == expected)
            done->finish();
        else if (got > expected)
            done->fail(QStringLiteral("echoed %1 bytes, %2 were sent").arg(got).arg(expected));
    }
};

RunResult result(const Completion &done, bool finished, Clock::time_point start, const Tally &tally)
{
    if (!finished)
        return RunResult::failure(QStringLiteral("timed out with %1 of %2 bytes echoed").arg(tally.got).arg(tally.expected));
    if (done.failed())
        return RunResult::failure(done.error());
    return RunResult::success(double(tally.expected) / MiB / seconds(start, done.finishedAt()));
}

RunResult rillRun(Env &env, Connector &connector, int count, qint64 total)
{
    Many<rill::Flow, rill::Flow> many = connector.rillTcpMany(count);
    if (!many.error.isEmpty()) {
        connector.destroyMany(many);
        return RunResult::failure(many.error);
    }
    const qint64 share = total / count / KiB * KiB;
    Completion done;
    Tally tally{share * count, 0, &done};
    std::vector<FlowEcho *> echoes;
    env.worker->call([&] {
        for (rill::Flow *flow : many.servers) {
            echoes.push_back(new FlowEcho(flow));
            echoes.back()->start();
        }
    });
    const QByteArray chunk = patternChunk(WriteSize);
    std::vector<std::unique_ptr<FlowWriter>> writers;
    std::vector<std::unique_ptr<FlowReader>> readers;
    for (const auto &flow : many.clients) {
        writers.push_back(std::make_unique<FlowWriter>(flow.get(), chunk, share, [&done](const QString &why) {
            done.fail(QStringLiteral("sender: %1").arg(why));
        }));
        readers.push_back(std::make_unique<FlowReader>(
                flow.get(), [&tally](const QByteArray &d) { tally.add(d.size()); return true; },
                [&done](const QString &why) { done.fail(QStringLiteral("reader: %1").arg(why)); }));
    }
    const Clock::time_point start = Clock::now();
    for (size_t i = 0; i < writers.size(); ++i) {
        readers[i]->start();
        writers[i]->start();
    }
    const bool finished = spinUntil([&] { return done.done(); }, RunTimeoutMs);
    for (size_t i = 0; i < writers.size(); ++i) {
        writers[i]->stop();
        readers[i]->stop();
    }
    env.worker->call([&] {
        for (FlowEcho *e : echoes)
            e->stop();
    });
    connector.destroyMany(many);
    env.worker->call([&] { qDeleteAll(echoes); });
    return result(done, finished, start, tally);
}

RunResult qtRun(Env &env, Connector &connector, int count, qint64 total)
{
    Many<QTcpSocket, QTcpSocket> many = connector.qtTcpMany(count);
    if (!many.error.isEmpty()) {
        connector.destroyMany(many);
        return RunResult::failure(many.error);
    }
    const qint64 share = total / count / KiB * KiB;
    Completion done;
    Tally tally{share * count, 0, &done};
    std::vector<QtEcho *> echoes;
    env.worker->call([&] {
        for (QTcpSocket *socket : many.servers)
            echoes.push_back(new QtEcho(socket));
    });
    const QByteArray chunk = patternChunk(WriteSize);
    std::vector<std::unique_ptr<QtWriter>> writers;
    std::vector<std::unique_ptr<QtReader>> readers;
    for (const auto &socket : many.clients) {
        writers.push_back(std::make_unique<QtWriter>(socket.get(), chunk, share));
        readers.push_back(std::make_unique<QtReader>(socket.get(), [&tally](const char *, qint64 n) {
            tally.add(n);
            return true;
        }));
    }
    const Clock::time_point start = Clock::now();
    for (auto &w : writers)
        w->start();
    const bool finished = spinUntil([&] { return done.done(); }, RunTimeoutMs);
    for (size_t i = 0; i < writers.size(); ++i) {
        writers[i]->stop();
        readers[i]->stop();
    }
    connector.destroyMany(many);
    env.worker->call([&] { qDeleteAll(echoes); });
    return result(done, finished, start, tally);
}

} // namespace

void runMany(Env &env, Report &report)
{
    Connector connector(env);
    const PinnedThreads pinned(env.worker);
    const int reps = env.options.repetitions(3, 2);
    const qint64 total = env.options.pick<qint64>(512 * MiB, 128 * MiB, 4 * MiB);
    const QList<int> counts = env.options.smoke() ? QList<int>{1, 10} : QList<int>{1, 100, 1000};
    Section section;
    section.part = QStringLiteral("many");
    section.title = QStringLiteral("N TCP connections echoing at once (clients in the main thread, echoes in "
                                   "their own QThread), aggregate");
    section.unit = QStringLiteral("MiB/s echoed");
    section.decimals = 0;
    section.rillColumn = QStringLiteral("TcpFlow");
    section.baselineColumns = {QStringLiteral("raw QTcpSocket")};
    section.notes << QStringLiteral("each connection sends its share of the volume in %1 writes and reads the "
                                    "echo back; median of %2 runs, interleaved")
                          .arg(formatBytes(WriteSize))
                          .arg(reps)
                  << pinned.description().replace(QStringLiteral("writer"), QStringLiteral("clients"))
                                     .replace(QStringLiteral("receiver"), QStringLiteral("echoes"))
                          + QStringLiteral(" (for both contenders alike)");
    for (const int count : counts) {
        QList<RunResult> rill, qt;
        std::printf("many %d:", count);
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            if (rep % 2 == 0) {
                rill << rillRun(env, connector, count, total);
                qt << qtRun(env, connector, count, total);
            } else {
                qt << qtRun(env, connector, count, total);
                rill << rillRun(env, connector, count, total);
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        Row row;
        row.label = QStringLiteral("%1 connection%2").arg(count).arg(count == 1 ? QString() : QStringLiteral("s"));
        row.volume = formatBytes(total / count * count);
        row.rill = summarize(QStringLiteral("TcpFlow"), rill);
        row.baselines = {summarize(QStringLiteral("raw QTcpSocket"), qt)};
        if (count == 100)
            row.targets << ratioTarget(row, 0, 1.0, true, QStringLiteral(">=1.00x raw QTcpSocket"));
        section.rows << row;
    }
    report.add(section);
}

} // namespace bench
