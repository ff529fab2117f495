// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::Channel against raw Qt: small messages written through a channel over TcpFlow and
// LocalFlow against QTcpSocket/QLocalSocket::write() of the same messages (and Flow::write() of
// each message, what a channel saves), and 100-byte lines read with readLine() against a
// QTcpSocket canReadLine()/readLine() loop. Writer in the main thread, reader in the worker.

#include "bulkrun.h"

#include <cstdio>

namespace bench {

namespace {

enum class Contender { ChannelTcp, QtTcp, FlowTcp, ChannelLocal, QtLocal, FlowLocal };

const QList<Contender> WriteContenders{Contender::ChannelTcp,   Contender::QtTcp,
                                       Contender::FlowTcp,      Contender::ChannelLocal,
                                       Contender::QtLocal,      Contender::FlowLocal};

QString nameOf(Contender c)
{
    switch (c) {
    case Contender::ChannelTcp: return QStringLiteral("Channel over TcpFlow");
    case Contender::QtTcp: return QStringLiteral("raw QTcpSocket");
    case Contender::FlowTcp: return QStringLiteral("TcpFlow write()");
    case Contender::ChannelLocal: return QStringLiteral("Channel over LocalFlow");
    case Contender::QtLocal: return QStringLiteral("raw QLocalSocket");
    case Contender::FlowLocal: return QStringLiteral("LocalFlow write()");
    }
    return {};
}

RunResult channelRun(Env &env, Connector &connector, Transport transport, qsizetype size, qint64 total)
{
    return flowSinkRun(env, connector, transport, size, total,
                       [total](rill::Flow *flow, const QByteArray &chunk, Completion &done) {
                           rill::Channel channel(flow);
                           ChannelWriter writer(&channel, chunk, total, senderFailed(done));
                           return runWriter(writer, done);
                       });
}

RunResult writeOnce(Env &env, Connector &connector, Contender c, qsizetype size, qint64 total)
{
    switch (c) {
    case Contender::ChannelTcp: return channelRun(env, connector, Transport::Tcp, size, total);
    case Contender::ChannelLocal: return channelRun(env, connector, Transport::Local, size, total);
    case Contender::FlowTcp: return rillRun(env, connector, Transport::Tcp, size, total);
    case Contender::FlowLocal: return rillRun(env, connector, Transport::Local, size, total);
    case Contender::QtTcp: return qtRun(env, connector.qtTcp(), size, total);
    case Contender::QtLocal: return qtRun(env, connector.qtLocal(), size, total);
    }
    return RunResult::failure(QStringLiteral("unknown contender"));
}

// ---- lines

constexpr qsizetype LineSize = 100;

// 655 lines of 99 pattern bytes and "\n": the writers' chunk, about 64 KiB.
QByteArray lineChunk()
{
    QByteArray chunk = patternChunk(655 * LineSize);
    for (qsizetype i = 0; i < chunk.size(); ++i) {
        if (chunk.at(i) == '\n')
            chunk[i] = ' ';
        if (i % LineSize == LineSize - 1)
            chunk[i] = '\n';
    }
    return chunk;
}

// Checks every line is a whole line of the stream (in --verify mode, its bytes too).
bool takeLine(Sink &sink, const QByteArray &line)
{
    if (line.size() != LineSize || !line.endsWith('\n')) {
        sink.done->fail(QStringLiteral("a line of %1 bytes at offset %2").arg(line.size()).arg(sink.got));
        return false;
    }
    return sink.onData(line.constData(), line.size());
}

// How the channel's reader takes its lines.
enum class LineReading {
    Each,     // readLine() for every line, awaited
    TryFirst, // tryReadLine() while the buffer has lines, readLine() when it runs dry
    Callback, // readLine(max, context, callback), the next read made from the callback
};

RunResult channelLinesRun(Env &env, Connector &connector, qint64 total, LineReading how)
{
    FlowPair pair = connector.rill(Transport::Tcp);
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    const QByteArray chunk = lineChunk();
    Sink sink{total, 0, env.options.verify ? chunk : QByteArray(), &done};
    rill::Channel *channel = nullptr;
    FlowReader *reader = nullptr;
    ChannelLineReader *callbackReader = nullptr;
    env.worker->call([&] {
        channel = new rill::Channel(pair.server);
        auto onLine = [&sink](const QByteArray &line) { return takeLine(sink, line); };
        auto onEnd = [&done](const QString &why) { done.fail(QStringLiteral("receiver: %1").arg(why)); };
        if (how == LineReading::Callback) {
            callbackReader = new ChannelLineReader(channel, 64 * 1024, onLine, onEnd);
            return;
        }
        FlowReader::TryRead tryRead;
        if (how == LineReading::TryFirst)
            tryRead = [channel] { return channel->tryReadLine(64 * 1024); };
        reader = new FlowReader([channel] { return channel->readLine(64 * 1024); }, onLine, onEnd,
                                std::move(tryRead));
    });
    FlowWriter writer(pair.client.get(), chunk, total, senderFailed(done));
    const Clock::time_point start = Clock::now();
    env.worker->post([reader, callbackReader] {
        if (reader)
            reader->start();
        else
            callbackReader->start();
    });
    const bool finished = runWriter(writer, done);
    pair.client.reset();
    env.worker->call([&] {
        if (reader)
            reader->stop();
        else
            callbackReader->stop();
        delete reader;
        delete callbackReader;
        delete channel;
        delete pair.server;
    });
    return finish(done, finished, start, total, sink);
}

RunResult qtLinesRun(Env &env, QtPair<QTcpSocket> pair, qint64 total)
{
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    const QByteArray chunk = lineChunk();
    Sink sink{total, 0, env.options.verify ? chunk : QByteArray(), &done};
    QtLineReader *reader = nullptr;
    env.worker->call([&] {
        reader = new QtLineReader(pair.server,
                                  [&sink](const QByteArray &line) { return takeLine(sink, line); });
        reader->start();
    });
    QtWriter writer(pair.client.get(), chunk, total);
    const Clock::time_point start = Clock::now();
    const bool finished = runWriter(writer, done);
    pair.client.reset();
    env.worker->call([&] {
        reader->stop();
        delete pair.server;
        delete reader;
    });
    return finish(done, finished, start, total, sink);
}

} // namespace

void runChannel(Env &env, Report &report)
{
    Connector connector(env);
    const int reps = env.options.repetitions(3, 2);

    Section writes;
    writes.part = QStringLiteral("channel");
    writes.title = QStringLiteral("small messages through a Channel, writer in the main thread, "
                                  "receiver in its own QThread");
    writes.unit = QStringLiteral("MiB/s");
    writes.rillColumn = QStringLiteral("Channel");
    writes.baselineColumns = {QStringLiteral("raw Qt"), QStringLiteral("Flow::write() each")};
    writes.notes << QStringLiteral("Channel::write() of each message, until it refuses, then on "
                                   "drained(); the channel flushes by itself (end of turn, 64 KiB). "
                                   "Raw Qt: QTcpSocket/QLocalSocket::write() of each message, at most "
                                   "%1 in its buffer. Flow::write() each: one future per message")
                            .arg(formatBytes(QtWriteBound))
                 << QStringLiteral("median of %1 runs per contender, ±half the range, interleaved")
                            .arg(reps);
    const QList<std::pair<qsizetype, qint64>> sizes{
            {64, env.options.pick<qint64>(128 * MiB, 16 * MiB, 256 * KiB)},
            {1 * KiB, env.options.pick<qint64>(128 * MiB, 32 * MiB, 1 * MiB)}};
    QList<Row> rows[2]; // tcp, unix
    for (const auto &[size, total] : sizes) {
        if (!env.options.wantsSize(size))
            continue;
        QHash<int, QList<RunResult>> results;
        std::printf("channel writes %s:", qPrintable(formatBytes(size)));
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < WriteContenders.size(); ++i) {
                const Contender c = WriteContenders.at((i + rep) % WriteContenders.size());
                if (env.options.wantsContender(nameOf(c)))
                    results[int(c)] << writeOnce(env, connector, c, size, total);
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        auto cell = [&](Contender c) { return summarize(nameOf(c), results.value(int(c))); };
        const Contender groups[2][3] = {{Contender::ChannelTcp, Contender::QtTcp, Contender::FlowTcp},
                                        {Contender::ChannelLocal, Contender::QtLocal, Contender::FlowLocal}};
        for (int g = 0; g < 2; ++g) {
            Row row;
            row.label = QStringLiteral("%1 %2").arg(g == 0 ? QStringLiteral("tcp") : QStringLiteral("unix"),
                                                    formatBytes(size));
            row.volume = formatBytes(total);
            row.rill = cell(groups[g][0]);
            row.baselines = {cell(groups[g][1]), cell(groups[g][2])};
            row.targets << ratioTarget(row, 0, 1.5, true, QStringLiteral(">=1.50x raw Qt"));
            rows[g] << row;
        }
    }
    writes.rows << rows[0] << rows[1];
    report.add(writes);

    Section lines;
    lines.part = QStringLiteral("channel");
    lines.title = QStringLiteral("100-byte lines read over TCP, reader in its own QThread");
    lines.unit = QStringLiteral("MiB/s");
    lines.rillColumn = QStringLiteral("Channel");
    lines.baselineColumns = {QStringLiteral("raw QTcpSocket")};
    lines.notes << QStringLiteral("readLine() each: Channel::readLine() awaited line by line (then() "
                                  "only when not already finished); tryReadLine() first: lines taken "
                                  "with tryReadLine() while buffered, readLine() when the buffer runs "
                                  "dry; readLine() callback: readLine(max, context, callback), the "
                                  "next read made from the callback (no future); against QTcpSocket "
                                  "canReadLine()/readLine() on readyRead; both writers send 64 KiB "
                                  "chunks of lines");
    const qint64 lineTotal = env.options.pick<qint64>(32 * MiB, 8 * MiB, 512 * KiB) / (655 * LineSize)
            * (655 * LineSize);
    if (env.options.wantsSize(LineSize)) {
        QList<RunResult> eachRuns;
        QList<RunResult> tryRuns;
        QList<RunResult> callbackRuns;
        QList<RunResult> qtRuns;
        std::printf("channel lines:");
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            // The four in turn, starting with each in turn.
            for (int i = 0; i < 4; ++i) {
                switch ((rep + i) % 4) {
                case 0:
                    eachRuns << channelLinesRun(env, connector, lineTotal, LineReading::Each);
                    break;
                case 1:
                    tryRuns << channelLinesRun(env, connector, lineTotal, LineReading::TryFirst);
                    break;
                case 2:
                    callbackRuns << channelLinesRun(env, connector, lineTotal, LineReading::Callback);
                    break;
                case 3:
                    qtRuns << qtLinesRun(env, connector.qtTcp(), lineTotal);
                    break;
                }
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
        const Cell qt = summarize(QStringLiteral("QTcpSocket::readLine"), qtRuns);
        for (LineReading how : {LineReading::Each, LineReading::TryFirst, LineReading::Callback}) {
            Row row;
            row.volume = formatBytes(lineTotal);
            switch (how) {
            case LineReading::Each:
                row.label = QStringLiteral("tcp 100 B lines, readLine() each");
                row.rill = summarize(QStringLiteral("Channel::readLine"), eachRuns);
                break;
            case LineReading::TryFirst:
                row.label = QStringLiteral("tcp 100 B lines, tryReadLine() first");
                row.rill = summarize(QStringLiteral("Channel::tryReadLine"), tryRuns);
                break;
            case LineReading::Callback:
                row.label = QStringLiteral("tcp 100 B lines, readLine() callback");
                row.rill = summarize(QStringLiteral("Channel::readLine callback"), callbackRuns);
                break;
            }
            row.baselines = {qt};
            row.targets << ratioTarget(row, 0, 1.0, true, QStringLiteral(">=1.00x raw Qt"));
            lines.rows << row;
        }
    }
    report.add(lines);
}

} // namespace bench
