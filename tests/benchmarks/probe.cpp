// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// What the probe (rill/probe.h) costs the app's flows: TcpFlow bulk (64 KiB writes) and ping-pong
// (64 B) with no probe, with the probe started and nobody attached, and with one subscriber
// attached, taking turns. The subscriber is what an inspector is: another process (this program
// run with --probe-subscriber PID) whose ProbeClient reads and decodes every event.

#include "bulkrun.h"
#include "connections.h"
#include "drivers.h"

#include <rill/probe.h>

#include <QtCore/QLoggingCategory>
#include <QtCore/QProcess>

#include <cstdio>

namespace bench {

namespace {

constexpr int SubscriberTimeoutMs = 30000;
constexpr int PingTimeoutMs = 120000;
constexpr int Warmup = 50; // round trips not counted

enum class Setting { NoProbe, Started, Subscribed };
const QList<Setting> AllSettings{Setting::NoProbe, Setting::Started, Setting::Subscribed};

QString nameOf(Setting s)
{
    switch (s) {
    case Setting::NoProbe: return QStringLiteral("no probe");
    case Setting::Started: return QStringLiteral("probe started, no subscriber");
    case Setting::Subscribed: return QStringLiteral("one subscriber attached");
    }
    return {};
}

// The subscriber process, attached for one run.
class Subscriber
{
public:
    // Starts it and waits until its ProbeClient is attached (it prints "attached").
    bool start(const QString &self, QString *error)
    {
        m_process.setProgram(self);
        m_process.setArguments({QStringLiteral("--probe-subscriber"),
                                QString::number(QCoreApplication::applicationPid())});
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start();
        const bool attached = spinUntil(
                [&] {
                    m_out += m_process.readAllStandardOutput();
                    return m_out.contains("attached\n") || m_process.state() == QProcess::NotRunning;
                },
                SubscriberTimeoutMs);
        if (attached && m_out.contains("attached\n"))
            return true;
        *error = QStringLiteral("the subscriber did not attach: %1").arg(QString::fromLocal8Bit(m_out));
        m_process.kill();
        m_process.waitForFinished();
        return false;
    }

    // Once the probe stopped: the subscriber ends, saying how many events it got and lost.
    QString finish()
    {
        spinUntil([&] { return m_process.state() == QProcess::NotRunning; }, SubscriberTimeoutMs);
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
            return QStringLiteral("the subscriber did not end");
        }
        m_out += m_process.readAllStandardOutput();
        const QList<QByteArray> lines = m_out.trimmed().split('\n');
        return QString::fromLocal8Bit(lines.last());
    }

private:
    QProcess m_process;
    QByteArray m_out;
};

// One round trip after another of `message` to a FlowEcho in the worker: the run's median, µs.
RunResult pingPong(Env &env, Connector &connector, const QByteArray &message, int rounds)
{
    FlowPair pair = connector.rill(Transport::Tcp);
    if (!pair)
        return RunResult::failure(pair.error);
    Completion done;
    std::vector<double> samples;
    samples.reserve(size_t(rounds));
    FlowEcho *echo = nullptr;
    env.worker->call([&] {
        echo = new FlowEcho(pair.server);
        echo->start();
    });
    rill::Flow *client = pair.client.get();
    qint64 got = 0;
    int round = 0;
    Clock::time_point sentAt;
    auto send = [&] {
        sentAt = Clock::now();
        QFuture<rill::WriteResult> w = client->write(message);
        if (w.isFinished() && !w.result().isOk())
            done.fail(QStringLiteral("write: %1").arg(describe(w.result())));
    };
    FlowReader reader(
            client,
            [&](const QByteArray &d) {
                if (got + d.size() > message.size()
                    || (env.options.verify && message.mid(got, d.size()) != d)) {
                    done.fail(QStringLiteral("the echo differs from the message"));
                    return false;
                }
                got += d.size();
                if (got < message.size())
                    return true;
                got = 0;
                if (round++ >= Warmup)
                    samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - sentAt).count());
                if (round == rounds + Warmup) {
                    done.finish();
                    return false;
                }
                send();
                return true;
            },
            [&done](const QString &why) { done.fail(QStringLiteral("read: %1").arg(why)); });
    send();
    reader.start();
    const bool finished = spinUntil([&] { return done.done(); }, PingTimeoutMs);
    reader.stop();
    pair.client.reset();
    env.worker->call([&] {
        echo->stop();
        delete pair.server;
        delete echo;
    });
    if (!finished)
        return RunResult::failure(QStringLiteral("timed out after %1 round trips").arg(round));
    if (done.failed())
        return RunResult::failure(done.error());
    std::sort(samples.begin(), samples.end());
    return RunResult::success(percentile(samples, 50));
}

// Runs `measure` under `setting`: the probe started (and a subscriber attached) around it.
template<typename Measure>
RunResult runUnder(Env &env, Setting setting, QStringList *subscriberNotes, Measure measure)
{
    if (setting == Setting::NoProbe)
        return measure();
    if (!rill::Probe::start())
        return RunResult::failure(QStringLiteral("the probe did not start"));
    Subscriber subscriber;
    QString error;
    if (setting == Setting::Subscribed && !subscriber.start(env.selfPath, &error)) {
        rill::Probe::stop();
        return RunResult::failure(error);
    }
    const RunResult result = measure();
    rill::Probe::stop(); // says goodbye to the subscriber, which then ends
    if (setting == Setting::Subscribed)
        *subscriberNotes << subscriber.finish();
    return result;
}

// The median over the rounds of (setting's figure / no probe's figure) in the same round: the
// machine's drift between rounds cancels.
double medianRoundRatio(const QList<RunResult> &with, const QList<RunResult> &without)
{
    QList<double> ratios;
    for (int i = 0; i < qMin(with.size(), without.size()); ++i) {
        if (with.at(i).ok && without.at(i).ok && without.at(i).value > 0)
            ratios << with.at(i).value / without.at(i).value;
    }
    return ratios.isEmpty() ? std::nan("") : median(ratios);
}

} // namespace

void runProbe(Env &env, Report &report)
{
    // The probe says where it listens each time it starts: not news here.
    QLoggingCategory::setFilterRules(QStringLiteral("rill.probe.info=false"));
    Connector connector(env);
    const int reps = env.options.repetitions(5, 3);
    const qint64 bulkTotal = env.options.pick<qint64>(1 * GiB, 256 * MiB, 4 * MiB);
    const int rounds = env.options.pick(20000, 5000, 200);
    const QByteArray ping = patternChunk(64);

    QHash<int, QList<RunResult>> bulk, pings;
    QStringList bulkNotes, pingNotes; // what each subscriber saw
    std::printf("probe:");
    std::fflush(stdout);
    for (int rep = 0; rep < reps; ++rep) {
        for (int i = 0; i < AllSettings.size(); ++i) {
            const Setting s = AllSettings.at((i + rep) % AllSettings.size());
            bulk[int(s)] << runUnder(env, s, &bulkNotes, [&] {
                return rillRun(env, connector, Transport::Tcp, 64 * KiB, bulkTotal);
            });
            pings[int(s)] << runUnder(env, s, &pingNotes,
                                      [&] { return pingPong(env, connector, ping, rounds); });
        }
        std::printf(" .");
        std::fflush(stdout);
    }
    std::printf("\n");

    auto section = [&](const QString &title, const QString &unit, bool higherIsBetter, int decimals) {
        Section s;
        s.part = QStringLiteral("probe");
        s.title = title;
        s.unit = unit;
        s.higherIsBetter = higherIsBetter;
        s.decimals = decimals;
        s.rillColumn = QStringLiteral("with the probe");
        s.baselineColumns = {QStringLiteral("no probe")};
        s.notes << QStringLiteral("TcpFlow over loopback; each round runs no probe, the probe started "
                                  "(Probe::start()) with nobody attached, and the probe with one "
                                  "subscriber (another process's ProbeClient reading every event), in "
                                  "a rotated order; ratio = the median over the %1 rounds of the "
                                  "round's figure / the same round's no-probe figure")
                           .arg(reps);
        return s;
    };
    auto addRows = [&](Section &s, const QHash<int, QList<RunResult>> &results, const QString &label,
                       const QString &volume, const QStringList &notes) {
        if (!notes.isEmpty())
            s.notes << QStringLiteral("what the subscriber got, run by run: %1%2")
                               .arg(notes.join(QStringLiteral("; ")),
                                    notes.join(QString()).contains(QLatin1String("cut off"))
                                            ? QStringLiteral(" (a subscriber cut off for not keeping up "
                                                             "was attached for only part of its run)")
                                            : QString());
        for (const Setting setting : {Setting::Started, Setting::Subscribed}) {
            Row row;
            row.label = QStringLiteral("%1, %2").arg(label, nameOf(setting));
            row.volume = volume;
            row.rill = summarize(nameOf(setting), results.value(int(setting)));
            row.baselines = {summarize(nameOf(Setting::NoProbe), results.value(int(Setting::NoProbe)))};
            row.ratios = {medianRoundRatio(results.value(int(setting)),
                                           results.value(int(Setting::NoProbe)))};
            // Throughput: at least 0.98 (0.90) of no probe; round trips: at most 1.02 (1.10).
            const double bound = setting == Setting::Started ? 0.02 : 0.10;
            row.targets << (s.higherIsBetter
                                    ? ratioTarget(row, 0, 1 - bound, true,
                                                  QStringLiteral(">=%1x no probe").arg(1 - bound, 0, 'f', 2))
                                    : ratioTarget(row, 0, 1 + bound, false,
                                                  QStringLiteral("<=%1x no probe").arg(1 + bound, 0, 'f', 2)));
            s.rows << row;
        }
    };

    Section bulkSection = section(QStringLiteral("bulk throughput with the probe"), QStringLiteral("MiB/s"), true, 0);
    addRows(bulkSection, bulk, QStringLiteral("tcp 64 KiB"), formatBytes(bulkTotal), bulkNotes);
    Section pingSection = section(QStringLiteral("ping-pong round trip with the probe"), QStringLiteral("µs"), false, 1);
    pingSection.notes << QStringLiteral("each run's figure is its median round trip (%1 round trips, %2 "
                                        "warm-up ones not counted)")
                                 .arg(rounds)
                                 .arg(Warmup);
    addRows(pingSection, pings, QStringLiteral("tcp 64 B median"), QStringLiteral("%1 RTTs").arg(rounds),
            pingNotes);
    report.add(bulkSection);
    report.add(pingSection);
}

int probeSubscriber(const QStringList &args)
{
    QLoggingCategory::setFilterRules(QStringLiteral("rill.probe.info=false"));
    bool ok = false;
    const qint64 pid = args.value(0).toLongLong(&ok);
    rill::ProbeClient client;
    QString error;
    if (!ok || !client.attach(pid, &error)) {
        std::fprintf(stderr, "rill-bench --probe-subscriber: %s\n", qPrintable(ok ? error : QStringLiteral("needs a PID")));
        return 1;
    }
    qint64 events = 0;
    QObject::connect(&client, &rill::ProbeClient::eventReceived, [&events] { ++events; });
    QObject::connect(&client, &rill::ProbeClient::attached, [] {
        std::printf("attached\n");
        std::fflush(stdout);
    });
    QObject::connect(&client, &rill::ProbeClient::ended, [&] {
        // Cut off: the rest of that run had no subscriber, which the figures must say.
        const bool cutOff = client.endReason().contains(QLatin1String("cut this inspector off"));
        std::printf("%lld events, %lld lost%s\n", qlonglong(events), qlonglong(client.eventsLost()),
                    cutOff ? ", then cut off" : "");
        std::fflush(stdout);
        QCoreApplication::quit();
    });
    return QCoreApplication::exec();
}

} // namespace bench
