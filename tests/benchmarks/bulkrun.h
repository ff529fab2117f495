// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// What the throughput parts share (bulk, channel): the receiver's count and check, the figure
// of a run, the Rill contenders (a writer in the main thread, FlowReader in the worker) and the
// raw Qt contender (QtWriter in the main thread, QtReader in the worker).

#include "connections.h"
#include "drivers.h"

namespace bench {

constexpr int BulkRunTimeoutMs = 180000;

// Counts (and in --verify mode checks) what the receiver gets; finishes at exactly `total`.
struct Sink
{
    qint64 total = 0;
    qint64 got = 0;
    QByteArray verify;
    Completion *done = nullptr;

    bool onData(const char *data, qint64 n)
    {
        if (!verify.isEmpty() && !checkPattern(data, n, got, verify)) {
            done->fail(QStringLiteral("received wrong bytes near offset %1").arg(got));
            return false;
        }
        got += n;
        if (got > total) {
            done->fail(QStringLiteral("received %1 bytes, %2 were sent").arg(got).arg(total));
            return false;
        }
        if (got == total) {
            done->finish();
            return false;
        }
        return true;
    }
};

inline RunResult finish(const Completion &done, bool finished, Clock::time_point start,
                        qint64 total, const Sink &sink)
{
    if (!finished)
        return RunResult::failure(QStringLiteral("timed out after %1 of %2 bytes").arg(sink.got).arg(total));
    if (done.failed())
        return RunResult::failure(done.error());
    return RunResult::success(double(total) / MiB / seconds(start, done.finishedAt()));
}

inline std::function<void(const QString &)> senderFailed(Completion &done)
{
    return [&done](const QString &why) { done.fail(QStringLiteral("sender: %1").arg(why)); };
}

// Starts the writer, runs the event loop until the receiver saw everything, stops the writer.
// False on timeout.
template<typename Writer>
bool runWriter(Writer &writer, const Completion &done)
{
    writer.start();
    const bool finished = spinUntil([&] { return done.done(); }, BulkRunTimeoutMs);
    writer.stop();
    return finished;
}

// A flow pair (client end in the main thread, server end in the worker): a FlowReader on the
// server end in the worker; write(client, chunk, done) writes `total` bytes in the main thread
// and returns whether the receiver saw them all in time.
template<typename Write>
RunResult flowSinkRun(Env &env, FlowPair pair, qsizetype size, qint64 total, Write write)
{
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    const QByteArray chunk = patternChunk(size);
    Sink sink{total, 0, env.options.verify ? chunk : QByteArray(), &done};
    FlowReader *reader = nullptr;
    env.worker->call([&] {
        reader = new FlowReader(
                pair.server, [&sink](const QByteArray &d) { return sink.onData(d.constData(), d.size()); },
                [&done](const QString &why) { done.fail(QStringLiteral("receiver: %1").arg(why)); });
        reader->start();
    });
    const Clock::time_point start = Clock::now();
    const bool finished = write(pair.client.get(), chunk, done);
    pair.client.reset();
    env.worker->call([&] {
        reader->stop();
        delete pair.server;
        delete reader;
    });
    return finish(done, finished, start, total, sink);
}

// The same over a new pair of the connector's.
template<typename Write>
RunResult flowSinkRun(Env &env, Connector &connector, Transport transport, qsizetype size,
                      qint64 total, Write write)
{
    return flowSinkRun(env, connector.rill(transport), size, total, std::move(write));
}

// Rill: Flow::write() of each chunk (FlowWriter).
inline RunResult rillRun(Env &env, Connector &connector, Transport transport, qsizetype size,
                         qint64 total)
{
    return flowSinkRun(env, connector, transport, size, total,
                       [total](rill::Flow *flow, const QByteArray &chunk, Completion &done) {
                           FlowWriter writer(flow, chunk, total, senderFailed(done));
                           return runWriter(writer, done);
                       });
}

template<typename Socket>
RunResult qtRun(Env &env, QtPair<Socket> pair, qsizetype size, qint64 total)
{
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    const QByteArray chunk = patternChunk(size);
    Sink sink{total, 0, env.options.verify ? chunk : QByteArray(), &done};
    QtReader *reader = nullptr;
    env.worker->call([&] {
        reader = new QtReader(pair.server, [&sink](const char *d, qint64 n) { return sink.onData(d, n); });
        reader->start();
    });
    QtWriter writer(pair.client.get(), chunk, total);
    const Clock::time_point start = Clock::now();
    writer.start();
    const bool finished = spinUntil([&] { return done.done() || writer.failed(); }, BulkRunTimeoutMs);
    writer.stop();
    if (writer.failed())
        done.fail(QStringLiteral("sender: %1").arg(pair.client->errorString()));
    pair.client.reset();
    env.worker->call([&] {
        reader->stop();
        delete pair.server;
        delete reader;
    });
    pair.server = nullptr;
    return finish(done, finished, start, total, sink);
}

} // namespace bench
