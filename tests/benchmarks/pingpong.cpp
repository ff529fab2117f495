// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Ping-pong: the main thread sends a message and waits for all of it to come back from an echo
// in the worker thread; each round trip is one sample.

#include "connections.h"
#include "drivers.h"

#include <cstdio>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {

namespace {

constexpr int RunTimeoutMs = 120000;
constexpr int Warmup = 50; // round trips not counted: connection warm-up

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

// The client's bookkeeping, the same for every contender that reads in pieces.
struct Pinger
{
    QByteArray message;
    int rounds = 0;     // counted round trips wanted
    int round = 0;      // round trips done, warm-up included
    qint64 got = 0;
    bool verify = false;
    Clock::time_point sentAt;
    std::vector<double> *samples = nullptr;
    Completion *done = nullptr;
    std::function<void()> send;

    void start()
    {
        sentAt = Clock::now();
        send();
    }

    bool onData(const char *data, qint64 n)
    {
        if (got + n > message.size()) {
            done->fail(QStringLiteral("got %1 bytes back for a %2-byte message").arg(got + n).arg(message.size()));
            return false;
        }
        if (verify && std::memcmp(data, message.constData() + got, size_t(n)) != 0) {
            done->fail(QStringLiteral("the echo differs from the message"));
            return false;
        }
        got += n;
        if (got < message.size())
            return true;
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - sentAt).count();
        if (round++ >= Warmup)
            samples->push_back(us);
        got = 0;
        if (round == rounds + Warmup) {
            done->finish();
            return false;
        }
        sentAt = Clock::now();
        send();
        return true;
    }
};

struct Run
{
    bool ok = false;
    QString error;
    std::vector<double> samples;
};

Run finish(Completion &done, bool finished, std::vector<double> samples)
{
    Run run;
    if (!finished)
        run.error = QStringLiteral("timed out after %1 round trips").arg(samples.size());
    else if (done.failed())
        run.error = done.error();
    else
        run.ok = true;
    run.samples = std::move(samples);
    return run;
}

Run rillRun(Env &env, Connector &connector, Transport transport, const QByteArray &message, int rounds)
{
    FlowPair pair = connector.rill(transport);
    if (!pair)
        return {false, pair.error, {}};
    Completion done;
    std::vector<double> samples;
    samples.reserve(size_t(rounds));
    FlowEcho *echo = nullptr;
    env.worker->call([&] {
        echo = new FlowEcho(pair.server);
        echo->start();
    });
    rill::Flow *client = pair.client.get();
    Pinger pinger{message, rounds, 0, 0, env.options.verify, {}, &samples, &done, {}};
    pinger.send = [client, &message, &done] {
        QFuture<rill::WriteResult> w = client->write(message);
        if (w.isFinished() && !w.result().isOk())
            done.fail(QStringLiteral("write: %1").arg(describe(w.result())));
    };
    FlowReader reader(
            client, [&pinger](const QByteArray &d) { return pinger.onData(d.constData(), d.size()); },
            [&done](const QString &why) { done.fail(QStringLiteral("read: %1").arg(why)); });
    pinger.start();
    reader.start();
    const bool finished = spinUntil([&] { return done.done(); }, RunTimeoutMs);
    reader.stop();
    pair.client.reset();
    env.worker->call([&] {
        echo->stop();
        delete pair.server;
        delete echo;
    });
    return finish(done, finished, std::move(samples));
}

template<typename Socket>
Run qtRun(Env &env, QtPair<Socket> pair, const QByteArray &message, int rounds)
{
    if (!pair)
        return {false, pair.error, {}};
    Completion done;
    std::vector<double> samples;
    samples.reserve(size_t(rounds));
    QtEcho *echo = nullptr;
    env.worker->call([&] { echo = new QtEcho(pair.server); });
    Socket *client = pair.client.get();
    Pinger pinger{message, rounds, 0, 0, env.options.verify, {}, &samples, &done, {}};
    pinger.send = [client, &message] { client->write(message); };
    QtReader reader(client, [&pinger](const char *d, qint64 n) { return pinger.onData(d, n); });
    pinger.start();
    const bool finished = spinUntil([&] { return done.done(); }, RunTimeoutMs);
    reader.stop();
    pair.client.reset();
    env.worker->call([&] {
        delete pair.server;
        delete echo;
    });
    return finish(done, finished, std::move(samples));
}

template<typename Socket>
QCoro::Task<> qcoroPing(Socket *socket, QByteArray message, int rounds, bool verify,
                        std::vector<double> *samples, StopFlag stop, Completion *done)
{
    for (int round = 0; round < rounds + Warmup && !*stop; ++round) {
        const Clock::time_point sentAt = Clock::now();
        co_await qCoro(socket).write(message);
        QByteArray back;
        while (back.size() < message.size() && !*stop) {
            const QByteArray data = co_await qCoro(socket).readAll();
            if (data.isEmpty() && socket->state() != Socket::ConnectedState) {
                done->fail(QStringLiteral("QCoro read: the connection ended"));
                co_return;
            }
            back += data;
        }
        if (*stop)
            co_return;
        if (back.size() != message.size() || (verify && back != message)) {
            done->fail(QStringLiteral("the echo differs from the message"));
            co_return;
        }
        if (round >= Warmup)
            samples->push_back(std::chrono::duration<double, std::micro>(Clock::now() - sentAt).count());
    }
    done->finish();
}

template<typename Socket>
Run qcoroRun(Env &env, QtPair<Socket> pair, const QByteArray &message, int rounds)
{
    if (!pair)
        return {false, pair.error, {}};
    Completion done;
    std::vector<double> samples;
    samples.reserve(size_t(rounds));
    StopFlag stop = std::make_shared<std::atomic_bool>(false);
    env.worker->call([&] { qcoroEcho(pair.server, stop); });
    qcoroPing(pair.client.get(), message, rounds, env.options.verify, &samples, stop, &done);
    const bool finished = spinUntil([&] { return done.done(); }, RunTimeoutMs);
    *stop = true;
    deleteQCoroPair(env.worker, pair.client.release(), pair.server);
    return finish(done, finished, std::move(samples));
}

Run posixRun(Env &env, Connector &connector, Transport transport, const QByteArray &message, int rounds)
{
    PosixPair pair = connector.posix(transport);
    if (!pair)
        return {false, pair.error, {}};
    Completion done;
    std::vector<double> samples;
    samples.reserve(size_t(rounds));
    const int server = pair.server;
    env.worker->post([server] {
        QByteArray buffer(ReadSize, Qt::Uninitialized);
        for (;;) {
            const ssize_t n = ::recv(server, buffer.data(), size_t(ReadSize), 0);
            if (n <= 0 || !sendAll(server, buffer.constData(), n))
                return;
        }
    });
    QByteArray back(message.size(), Qt::Uninitialized);
    for (int round = 0; round < rounds + Warmup; ++round) {
        const Clock::time_point sentAt = Clock::now();
        if (!sendAll(pair.client, message.constData(), message.size())
            || !recvAll(pair.client, back.data(), back.size())) {
            done.fail(QStringLiteral("send or recv failed"));
            break;
        }
        if (round >= Warmup)
            samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sentAt).count());
        if (env.options.verify && back != message) {
            done.fail(QStringLiteral("the echo differs from the message"));
            break;
        }
    }
    done.finish();
    ::shutdown(pair.client, SHUT_RDWR); // ends the echo loop
    env.worker->call([] {});
    Connector::closePair(pair);
    return finish(done, true, std::move(samples));
}

Run runOnce(Env &env, Connector &connector, Contender c, const QByteArray &message, int rounds)
{
    switch (c) {
    case Contender::RillTcp: return rillRun(env, connector, Transport::Tcp, message, rounds);
    case Contender::RillLocal: return rillRun(env, connector, Transport::Local, message, rounds);
    case Contender::RillPipe: return rillRun(env, connector, Transport::Pipe, message, rounds);
    case Contender::QtTcp: return qtRun(env, connector.qtTcp(), message, rounds);
    case Contender::QtLocal: return qtRun(env, connector.qtLocal(), message, rounds);
    case Contender::PosixTcp: return posixRun(env, connector, Transport::Tcp, message, rounds);
    case Contender::PosixUnix: return posixRun(env, connector, Transport::Local, message, rounds);
    case Contender::QCoroTcp: return qcoroRun(env, connector.qtTcp(), message, rounds);
    case Contender::QCoroLocal: return qcoroRun(env, connector.qtLocal(), message, rounds);
    }
    return {false, QStringLiteral("unknown contender"), {}};
}

struct Metric
{
    QString name;
    double p; // percentile; 50 is the median
};

// One metric of one contender: the figure over all pooled samples; the spread is that of the
// per-repetition figures.
Cell metricCell(const QString &contender, const QList<Run> &runs, const Metric &m)
{
    Cell cell;
    cell.contender = contender;
    std::vector<double> pooled;
    for (const Run &run : runs) {
        if (!run.ok) {
            cell.errors << run.error;
            continue;
        }
        std::vector<double> sorted = run.samples;
        std::sort(sorted.begin(), sorted.end());
        cell.runs << percentile(sorted, m.p);
        pooled.insert(pooled.end(), run.samples.begin(), run.samples.end());
    }
    if (cell.runs.isEmpty())
        return cell;
    std::sort(pooled.begin(), pooled.end());
    cell.value = percentile(pooled, m.p);
    cell.low = *std::min_element(cell.runs.cbegin(), cell.runs.cend());
    cell.high = *std::max_element(cell.runs.cbegin(), cell.runs.cend());
    return cell;
}

} // namespace

void runPingPong(Env &env, Report &report)
{
    Connector connector(env);
    const int reps = env.options.repetitions(3, 2);
    const int rounds = env.options.pick(5000, 2000, 200);
    Section section;
    section.part = QStringLiteral("pingpong");
    section.title = QStringLiteral("round trip to an echo in its own QThread");
    section.unit = QStringLiteral("µs");
    section.higherIsBetter = false;
    section.decimals = 1;
    section.rillColumn = QStringLiteral("Rill");
    section.baselineColumns = {QStringLiteral("raw Qt"), QStringLiteral("POSIX blocking"), QStringLiteral("QCoro")};
    section.notes << QStringLiteral("contenders per transport as in bulk; percentiles over the %1 x %2 round "
                                    "trips of all runs pooled; ± is half the range of the per-run figures; "
                                    "%3 warm-up round trips per run not counted; TCP_NODELAY on everywhere")
                          .arg(reps)
                          .arg(rounds)
                          .arg(Warmup);

    const QList<Metric> metrics{{QStringLiteral("median"), 50}, {QStringLiteral("p99"), 99}, {QStringLiteral("p99.9"), 99.9}};
    QList<Row> groupRows[3];
    for (const qsizetype size : {qsizetype(64), qsizetype(4 * KiB)}) {
        if (!env.options.wantsSize(size))
            continue;
        const QByteArray message = patternChunk(size);
        QHash<int, QList<Run>> results;
        std::printf("pingpong %s:", qPrintable(formatBytes(size)));
        std::fflush(stdout);
        for (int rep = 0; rep < reps; ++rep) {
            for (int i = 0; i < AllContenders.size(); ++i) {
                const Contender c = AllContenders.at((i + rep) % AllContenders.size());
                if (!env.options.wantsContender(nameOf(c)))
                    continue;
                results[int(c)] << runOnce(env, connector, c, message, rounds);
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf("\n");
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
            for (const Metric &m : metrics) {
                auto cell = [&](Contender c) { return metricCell(nameOf(c), results.value(int(c)), m); };
                Row row;
                row.label = QStringLiteral("%1 %2 %3").arg(g.label, formatBytes(size), m.name);
                row.volume = QStringLiteral("%1 RTTs").arg(reps * rounds);
                row.rill = cell(g.rill);
                row.baselines = {cell(g.qt), cell(g.posix), cell(g.qcoro)};
                if (g.rill == Contender::RillTcp && m.p == 50)
                    row.targets << ratioTarget(row, 0, 1.1, false, QStringLiteral("<=1.10x raw Qt"));
                groupRows[gi] << row;
            }
        }
    }
    for (const QList<Row> &rows : groupRows)
        section.rows << rows;
    report.add(section);
}

} // namespace bench
