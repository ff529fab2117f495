// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// What the throughput parts share (bulk, channel): the receiver's count and check, the figure
// of a run, and the raw Qt contender (QtWriter in the main thread, QtReader in the worker).

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
    const bool finished = spinUntil([&] { return done.done(); }, BulkRunTimeoutMs);
    writer.stop();
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
