// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// c10k: one server thread holding many open TCP connections of which a few are busy, a 64-byte
// echo. Every server is its own process pinned to one core (its own dispatcher and environment),
// each with its own client process (c10kclient.cpp, plain epoll) pinned to the other core.
//
// All servers of a run are started and connected first and stay up to the end, so the rounds
// only measure: each round gives every server one window per (open, busy) case, the servers in
// a rotated order, and every ratio is the median of per-round ratios. A shared machine drifts by
// 2x between stretches of a few seconds; windows a second or two apart see the same weather.

#include "bench.h"
#include "plot.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QProcess>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace bench {

namespace {

constexpr int ServerStartMs = 20000;
constexpr int ConnectReplyMs = 330000; // the client gives up after 300 s itself
constexpr int RunReplyMs = 60000;
constexpr int SettleMs = 30;

struct Contender
{
    QString name;
    QString program;  // c10k-epoll-echo or rill-c10k-server
    QString mode;     // rill-c10k-server's --mode
    bool glib = true; // false: QT_NO_GLIB=1 (QEventDispatcherUNIX)
    QString reactor;  // RILL_REACTOR, for Rill
    int threads = 0;  // rill-c10k-server's --threads: worker threads, each with its reactor
};

// Column order: the Rill column first, then the baselines. Index 1 is the floor.
QList<Contender> contenders()
{
    const QString epoll = QStringLiteral("c10k-epoll-echo");
    const QString qt = QStringLiteral("rill-c10k-server");
    return {
        {QStringLiteral("Rill reactor"), qt, QStringLiteral("rill"), true, QStringLiteral("epoll")},
        {QStringLiteral("epoll (C)"), epoll, {}, true, {}},
        {QStringLiteral("QTcpSocket"), qt, QStringLiteral("qt"), true, {}},
        {QStringLiteral("QTcpSocket UNIX"), qt, QStringLiteral("qt"), false, {}},
        {QStringLiteral("Rill notifier"), qt, QStringLiteral("rill"), true, QStringLiteral("notifier")},
        {QStringLiteral("Rill reactor UNIX"), qt, QStringLiteral("rill"), false, QStringLiteral("epoll")},
        {QStringLiteral("Rill notifier UNIX"), qt, QStringLiteral("rill"), false, QStringLiteral("notifier")},
        // Accepting in one thread, serving in two others, all on the server's one CPU: what the
        // hand-off to worker threads costs where it cannot gain.
        {QStringLiteral("Rill 2 reactors"), qt, QStringLiteral("rill"), true, QStringLiteral("epoll"), 2},
        // The same server written with Flow's callback overloads: no future per message.
        {QStringLiteral("Rill callbacks"), qt, QStringLiteral("rill-callback"), true, QStringLiteral("epoll")},
        {QStringLiteral("Rill callbacks UNIX"), qt, QStringLiteral("rill-callback"), false, QStringLiteral("epoll")},
    };
}
constexpr int RillReactor = 0;
constexpr int Floor = 1;
constexpr int RawQt = 2;
constexpr int RawQtUnix = 3;
constexpr int RillNotifier = 4;
constexpr int RillReactorUnix = 5;
constexpr int RillNotifierUnix = 6;

// A child process pinned to one CPU that dies with us, driven by lines on stdin and stdout.
class Child
{
public:
    ~Child() { stop(); }

    bool start(const QString &program, const QStringList &args, const QProcessEnvironment &env, int cpu)
    {
        m_process = std::make_unique<QProcess>();
        m_process->setProgram(program);
        m_process->setArguments(args);
        m_process->setProcessEnvironment(env);
        m_process->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process->setChildProcessModifier([cpu] {
            // Between fork and exec: system calls only. Pinning here covers every thread the
            // program starts; the death signal keeps no server alive if rill-bench is killed.
            if (cpu >= 0) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(cpu, &set);
                ::sched_setaffinity(0, sizeof set, &set);
            }
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        });
        m_process->start();
        if (!m_process->waitForStarted(ServerStartMs)) {
            m_error = QStringLiteral("%1 did not start: %2").arg(QFileInfo(program).fileName(), m_process->errorString());
            return false;
        }
        return true;
    }
    qint64 pid() const { return m_process ? m_process->processId() : 0; }
    QString error() const { return m_error; }

    // The next line on stdout, or empty with error() set.
    QByteArray readLine(int timeoutMs)
    {
        QDeadlineTimer deadline(timeoutMs);
        while (!m_process->canReadLine()) {
            const qint64 left = deadline.remainingTime();
            if (left <= 0 || !m_process->waitForReadyRead(int(left))) {
                if (m_process->canReadLine())
                    break;
                m_error = m_process->state() != QProcess::Running
                        ? QStringLiteral("%1 exited").arg(QFileInfo(m_process->program()).fileName())
                        : QStringLiteral("%1 did not answer in %2 s")
                                  .arg(QFileInfo(m_process->program()).fileName())
                                  .arg(timeoutMs / 1000);
                return {};
            }
        }
        return m_process->readLine().trimmed();
    }

    // Sends a command and returns the answer's words after "ok", or nothing with error() set.
    QList<QByteArray> command(const QByteArray &line, int timeoutMs)
    {
        send(line);
        return reply(timeoutMs);
    }
    void send(const QByteArray &line)
    {
        m_process->write(line + '\n');
        m_process->waitForBytesWritten(5000);
    }
    QList<QByteArray> reply(int timeoutMs)
    {
        const QByteArray reply = readLine(timeoutMs);
        if (reply.isEmpty())
            return {};
        QList<QByteArray> words = reply.split(' ');
        if (words.first() != "ok") {
            m_error = QString::fromLocal8Bit(reply.startsWith("error ") ? reply.mid(6) : reply);
            return {};
        }
        words.removeFirst();
        return words;
    }

    // Moves every thread of the child to one CPU.
    void pin(int cpu)
    {
        if (cpu < 0 || !m_process)
            return;
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        QDir tasks(QStringLiteral("/proc/%1/task").arg(pid()));
        for (const QString &tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
            ::sched_setaffinity(tid.toInt(), sizeof set, &set);
    }

    // Closes stdin: the child leaves by itself.
    void requestStop()
    {
        if (m_process && m_process->state() != QProcess::NotRunning)
            m_process->closeWriteChannel();
    }
    // Asks the child to leave and kills it if it is not gone within a moment.
    void stop()
    {
        if (!m_process)
            return;
        if (m_process->state() != QProcess::NotRunning) {
            m_process->closeWriteChannel();
            if (!m_process->waitForFinished(10000)) {
                m_process->kill();
                m_process->waitForFinished(5000);
            }
        }
        m_process.reset();
    }

private:
    std::unique_ptr<QProcess> m_process;
    QString m_error;
};

// One server with its client, for one number of open connections.
struct Instance
{
    Child server;
    Child client;
    QString error;      // set: every figure of this instance fails with it
    QString dispatcher; // the server's event dispatcher class
    qint64 rss10 = 0;   // server RSS with the first few connections open, and with all
    qint64 rssAll = 0;
    double setupSeconds = 0; // connecting all but the first few
    double lastConnectSeconds = 0;
    int open = 0;
    int contender = 0;
    bool swapped = false; // set up on the opposite cores, moved over after
};

qint64 rssOf(qint64 pid)
{
    QFile f(QStringLiteral("/proc/%1/status").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith("VmRSS:")) {
            const QByteArray value = line.mid(6).trimmed();
            return value.left(value.indexOf(' ')).toLongLong() * KiB;
        }
    }
    return -1;
}

struct Case
{
    int level = 0; // index into the levels
    int open = 0;
    int busy = 0;
    QString label() const
    {
        return busy == open ? QStringLiteral("%1 open, all busy").arg(open)
                            : QStringLiteral("%1 open, %2 busy").arg(open).arg(busy);
    }
};

// One window: round trips a second, server CPU per round trip, client CPU share.
struct Window
{
    bool ok = false;
    QString error;
    double perSecond = 0;
    double cpuMicros = 0;
    double serverShare = 0; // of one core, over the window
    double clientShare = 0;
};

// Figure a over figure b, round by round, where both have one.
QList<double> perRoundRatios(const QList<Window> &a, const QList<Window> &b, bool cpu = false)
{
    QList<double> ratios;
    for (int r = 0; r < qMin(a.size(), b.size()); ++r) {
        if (!a.at(r).ok || !b.at(r).ok)
            continue;
        const double x = cpu ? a.at(r).cpuMicros : a.at(r).perSecond;
        const double y = cpu ? b.at(r).cpuMicros : b.at(r).perSecond;
        if (y > 0)
            ratios << x / y;
    }
    return ratios;
}

double medianRatio(const QList<Window> &a, const QList<Window> &b, bool cpu = false)
{
    return median(perRoundRatios(a, b, cpu));
}

Cell cellOf(const QString &name, const QList<Window> &windows, bool cpu)
{
    QList<RunResult> runs;
    for (const Window &w : windows)
        runs << (w.ok ? RunResult::success(cpu ? w.cpuMicros : w.perSecond) : RunResult::failure(w.error));
    Cell cell = summarize(name, runs);
    cell.errors.removeDuplicates(); // a server that failed fails every round the same way
    return cell;
}

Target boundTarget(const QString &text, double value, double bound, bool atLeast, const QString &unit)
{
    Target t;
    t.text = text;
    if (std::isnan(value))
        return t;
    t.evaluated = true;
    t.met = atLeast ? value >= bound : value <= bound;
    t.measured = QString::number(value, 'f', unit.isEmpty() ? 3 : 2) + (unit.isEmpty() ? QStringLiteral("x") : unit);
    return t;
}

} // namespace

void runC10k(Env &env, Report &report)
{
    const QString part = QStringLiteral("c10k");
    const QString dir = QFileInfo(env.selfPath).absolutePath();
    const QList<Contender> all = contenders();
    for (const QString &program : {QStringLiteral("c10k-epoll-echo"), QStringLiteral("rill-c10k-server")}) {
        if (!QFileInfo(dir + QLatin1Char('/') + program).isExecutable()) {
            report.addSkipped(part, QStringLiteral("%1 is not built next to rill-bench").arg(program));
            return;
        }
    }

    // Levels of open connections; a descriptor limit below 10,000 lowers the largest.
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    const int fit = int(qMin<rlim_t>(limit.rlim_max, 1000000)) - 100;
    // --quick keeps only the levels the targets are about: connecting 10,000 to each server is most
    // of its time.
    QList<int> levels = env.options.pick(QList<int>{10, 1000, 10000}, QList<int>{10, 10000}, QList<int>{10, 200});
    QStringList notes;
    for (int &n : levels) {
        if (n > fit) {
            notes << QStringLiteral("the descriptor limit (%1) allows %2 open connections, not %3")
                             .arg(qint64(limit.rlim_max))
                             .arg(fit)
                             .arg(n);
            n = fit;
        }
    }
    const int largest = levels.last();
    // Cases in the order of a round: the largest level first, ending with its 10 busy, then 10
    // open, so the windows of the target that compares those two are close in time.
    QList<Case> cases;
    auto addLevel = [&](int l, const QList<int> &busies) {
        const int open = levels.at(l);
        for (int busy : busies) {
            busy = busy < 0 ? open : busy; // -1: all
            const bool seen = std::any_of(cases.cbegin(), cases.cend(),
                                          [&](const Case &c) { return c.open == open && c.busy == busy; });
            if (busy <= open && !seen)
                cases << Case{l, open, busy};
        }
    };
    const int last = int(levels.size()) - 1;
    addLevel(last, {-1, 100, 10});
    addLevel(0, {-1});
    for (int l = last - 1; l >= 1; --l)
        addLevel(l, {10, 100, -1});

    const int rounds = env.options.reps > 0 ? env.options.reps : env.options.pick(5, 2, 1);
    // --smoke checks that every server answers, not how fast: its window is long enough for a
    // round trip even when a loaded machine (ctest -j2 beside other suites) starves the server.
    const int windowMs = env.options.pick(400, 100, 150);
    const int warmupMs = env.options.pick(50, 20, 5);
    const QPair<int, int> cpus = pickCpus();
    if (cpus.first < 0)
        notes << QStringLiteral("only one CPU is available: nothing pinned");

    // Start every server and its client, for every level, and connect them. Only the rounds are
    // measured (and the setup figures, roughly), so the setting up goes two at a time: the second
    // of each pair starts on the opposite cores and moves over once connected.
    const int S = int(all.size());
    std::vector<std::vector<std::unique_ptr<Instance>>> instances(size_t(levels.size()));
    std::vector<Instance *> order; // largest level first: the slowest to set up
    for (int l = 0; l < levels.size(); ++l) {
        for (int s = 0; s < S; ++s)
            instances[size_t(l)].push_back(std::make_unique<Instance>());
    }
    for (int l = int(levels.size()) - 1; l >= 0; --l) {
        for (int s = 0; s < S; ++s) {
            Instance *inst = instances[size_t(l)][size_t(s)].get();
            inst->open = levels.at(l);
            inst->contender = s;
            inst->swapped = order.size() % 2 == 1;
            order.push_back(inst);
        }
    }
    const Clock::time_point setupStart = Clock::now();
    std::printf("c10k setup:");
    std::fflush(stdout);
    for (Instance *inst : order) {
        const Contender &c = all.at(inst->contender);
        QProcessEnvironment pe = QProcessEnvironment::systemEnvironment();
        if (c.glib)
            pe.remove(QStringLiteral("QT_NO_GLIB"));
        else
            pe.insert(QStringLiteral("QT_NO_GLIB"), QStringLiteral("1"));
        if (c.reactor.isEmpty())
            pe.remove(QStringLiteral("RILL_REACTOR"));
        else
            pe.insert(QStringLiteral("RILL_REACTOR"), c.reactor);
        QStringList args = c.mode.isEmpty() ? QStringList() : QStringList{QStringLiteral("--mode"), c.mode};
        if (c.threads > 0)
            args << QStringLiteral("--threads") << QString::number(c.threads);
        const int serverCpu = inst->swapped ? cpus.second : cpus.first;
        const int clientCpu = inst->swapped ? cpus.first : cpus.second;
        if (!inst->server.start(dir + QLatin1Char('/') + c.program, args, pe, serverCpu)) {
            inst->error = inst->server.error();
            continue;
        }
        const QList<QByteArray> words = inst->server.readLine(ServerStartMs).split(' ');
        const int port = words.first().toInt();
        inst->dispatcher = words.size() > 1 ? QString::fromLatin1(words.at(1)) : QString();
        if (port <= 0)
            inst->error = QStringLiteral("%1 gave no port: %2").arg(c.program, inst->server.error());
        else if (!inst->client.start(env.selfPath,
                                     {QStringLiteral("--c10k-client"), QString::number(port),
                                      QString::number(inst->server.pid())},
                                     QProcessEnvironment::systemEnvironment(), clientCpu))
            inst->error = inst->client.error();
    }
    // Connects the pair's clients to `count(inst)` connections at once; false for those failed.
    auto connectPair = [](const std::vector<Instance *> &pair, const std::function<int(Instance *)> &count) {
        for (Instance *inst : pair) {
            if (inst->error.isEmpty())
                inst->client.send("connect " + QByteArray::number(count(inst)));
        }
        for (Instance *inst : pair) {
            if (!inst->error.isEmpty())
                continue;
            const QList<QByteArray> words = inst->client.reply(ConnectReplyMs);
            if (words.size() != 2)
                inst->error = inst->client.error();
            else
                inst->lastConnectSeconds = words.at(1).toDouble();
        }
    };
    auto few = [](Instance *inst) { return qMin(10, inst->open); };
    for (size_t i = 0; i < order.size(); i += 2) {
        const std::vector<Instance *> pair(order.begin() + qsizetype(i), order.begin() + qsizetype(qMin(i + 2, order.size())));
        // The first few, then all; the server's RSS after each.
        connectPair(pair, few);
        spinFor(SettleMs); // the servers are past the last echo's write
        for (Instance *inst : pair)
            inst->rss10 = inst->error.isEmpty() ? rssOf(inst->server.pid()) : 0;
        connectPair(pair, [](Instance *inst) { return inst->open; });
        spinFor(SettleMs);
        for (Instance *inst : pair) {
            if (!inst->error.isEmpty())
                continue;
            inst->rssAll = rssOf(inst->server.pid());
            inst->setupSeconds = inst->open > few(inst) ? inst->lastConnectSeconds : 0;
            if (inst->swapped) {
                inst->server.pin(cpus.first);
                inst->client.pin(cpus.second);
            }
        }
        std::printf(" .");
        std::fflush(stdout);
    }
    std::printf(" %.0f s\n", secondsSince(setupStart));

    // The rounds.
    // windows[case][contender][round]
    QList<QList<QList<Window>>> windows(cases.size(), QList<QList<Window>>(S));
    for (int r = 0; r < rounds; ++r) {
        const Clock::time_point roundStart = Clock::now();
        std::printf("c10k round %d:", r + 1);
        std::fflush(stdout);
        for (int ci = 0; ci < cases.size(); ++ci) {
            const Case &k = cases.at(ci);
            for (int j = 0; j < S; ++j) {
                const int s = (r + ci + j) % S;
                Instance &inst = *instances[size_t(k.level)][size_t(s)];
                Window w;
                if (!inst.error.isEmpty()) {
                    w.error = inst.error;
                } else {
                    const QList<QByteArray> words = inst.client.command(
                            QStringLiteral("run %1 %2 %3").arg(k.busy).arg(windowMs).arg(warmupMs).toLatin1(), RunReplyMs);
                    const double trips = words.size() == 4 ? words.at(0).toDouble() : 0;
                    const double secs = words.size() == 4 ? words.at(1).toDouble() : 0;
                    if (words.size() != 4) {
                        w.error = inst.client.error();
                        inst.error = w.error; // a failed client is in an unknown state
                    } else if (trips <= 0 || secs <= 0) {
                        w.error = QStringLiteral("no round trip in the window");
                    } else {
                        w.ok = true;
                        w.perSecond = trips / secs;
                        w.cpuMicros = words.at(2).toDouble() / 1000 / trips;
                        w.serverShare = words.at(2).toDouble() / 1e9 / secs;
                        w.clientShare = words.at(3).toDouble() / 1e9 / secs;
                    }
                }
                windows[ci][s] << w;
            }
            std::printf(" .");
            std::fflush(stdout);
        }
        std::printf(" %.0f s\n", secondsSince(roundStart));
    }

    // Everyone at once (the clients reset their connections, so no TIME_WAIT is left behind),
    // then wait for each; on an early return the destructors do the same one by one.
    for (auto &level : instances) {
        for (auto &inst : level) {
            inst->client.requestStop();
            inst->server.requestStop();
        }
    }
    for (auto &level : instances) {
        for (auto &inst : level) {
            inst->client.stop();
            inst->server.stop();
        }
    }

    QStringList baselineNames;
    for (int s = 1; s < S; ++s)
        baselineNames << all.at(s).name;
    const QString volume = QStringLiteral("%1 x %2 ms windows").arg(rounds).arg(windowMs);
    auto caseIndex = [&](int open, int busy) {
        for (int i = 0; i < cases.size(); ++i) {
            if (cases.at(i).open == open && cases.at(i).busy == busy)
                return i;
        }
        return -1;
    };
    const bool judged = largest == 10000; // the targets are set for 10,000 open

    // Round trips a second.
    {
        Section section;
        section.part = part;
        section.title = QStringLiteral("64 B echo round trips a second, one server thread on one core holding N "
                                       "open TCP connections of which B are busy, the client on the other");
        section.unit = QStringLiteral("round trips/s");
        section.decimals = 0;
        section.rillColumn = all.at(RillReactor).name;
        section.baselineColumns = baselineNames;
        for (int ci = 0; ci < cases.size(); ++ci) {
            const Case &k = cases.at(ci);
            Row row;
            row.label = k.label();
            row.volume = volume;
            row.rill = cellOf(all.at(RillReactor).name, windows[ci][RillReactor], false);
            for (int s = 1; s < S; ++s) {
                row.baselines << cellOf(all.at(s).name, windows[ci][s], false);
                row.ratios << medianRatio(windows[ci][RillReactor], windows[ci][s], false);
            }
            if (judged && k.open == largest) {
                const double bound = k.busy == k.open ? 0.7 : 0.6;
                const QString b = QString::number(bound, 'f', 2);
                row.targets << ratioTarget(row, Floor - 1, bound, true, QStringLiteral(">=%1x epoll").arg(b));
                row.targets << boundTarget(QStringLiteral("UNIX >=%1x epoll").arg(b),
                                           medianRatio(windows[ci][RillReactorUnix], windows[ci][Floor], false),
                                           bound, true, {});
                const int small = caseIndex(levels.first(), levels.first());
                if (k.busy == levels.first() && small >= 0) {
                    row.targets << boundTarget(QStringLiteral(">=0.90x itself with %1 open").arg(levels.first()),
                                               medianRatio(windows[ci][RillReactor], windows[small][RillReactor]),
                                               0.9, true, {});
                    row.targets << boundTarget(QStringLiteral("UNIX >=0.90x itself with %1 open").arg(levels.first()),
                                               medianRatio(windows[ci][RillReactorUnix], windows[small][RillReactorUnix]),
                                               0.9, true, {});
                }
            }
            // How busy each side's core was: a floor whose client (or server) had less than a
            // whole core, because the machine had other work, is lower than it could be.
            auto shares = [&](int s) {
                QList<double> server, client;
                for (const Window &w : windows[ci][s]) {
                    if (w.ok) {
                        server << w.serverShare;
                        client << w.clientShare;
                    }
                }
                return QStringLiteral("%1 server %2%, client %3%")
                        .arg(all.at(s).name, QString::number(median(server) * 100, 'f', 0),
                             QString::number(median(client) * 100, 'f', 0));
            };
            row.note = QStringLiteral("CPU use in the window, of one core: %1; %2").arg(shares(Floor), shares(RillReactor));
            section.rows << row;
        }
        QStringList dispatchers;
        for (int s = 0; s < S; ++s) {
            const QString d = instances[0][size_t(s)]->dispatcher;
            if (!d.isEmpty())
                dispatchers << QStringLiteral("%1: %2").arg(all.at(s).name, d);
        }
        section.notes << notes
                      << QStringLiteral("every server is its own process%1 with its own client process%2 (plain "
                                        "epoll, one 64-byte message outstanding per busy connection, every echo "
                                        "checked); idle connections send nothing")
                                 .arg(cpus.first < 0 ? QString() : QStringLiteral(" on CPU %1").arg(cpus.first),
                                      cpus.first < 0 ? QString() : QStringLiteral(" on CPU %1").arg(cpus.second))
                      << QStringLiteral("all servers are up and connected before the rounds; each round gives each "
                                        "one a %1 ms window (after %2 ms of warm-up) per case, in a rotated order; "
                                        "figures are medians of %3 rounds, ratios medians of per-round ratios")
                                 .arg(windowMs)
                                 .arg(warmupMs)
                                 .arg(rounds)
                      << QStringLiteral("Rill: TcpListener + TcpFlow, read() -> write() through the futures; "
                                        "callbacks: through read(context, callback) and write(buffer, context, "
                                        "callback) instead; "
                                        "reactor: RILL_REACTOR=epoll, notifier: RILL_REACTOR=notifier; "
                                        "QTcpSocket: QTcpServer + readyRead, read all, write, flush(); UNIX: "
                                        "QT_NO_GLIB=1, else Qt's default dispatcher (%1)")
                                 .arg(dispatchers.join(QStringLiteral(", ")))
                      << QStringLiteral("on loopback a round trip waits for wake-ups across the cores as much as "
                                        "for CPU: the floor's server seldom fills its core, and a server that "
                                        "answers later finds more connections ready per wake-up, so with all "
                                        "busy a slower one comes closer to the floor")
                      << QStringLiteral("targets: Rill reactor, 10 or 100 busy of %1 >=0.6x the epoll floor, all "
                                        "busy >=0.7x; 10 busy of %1 >=0.9x its own 10 open (median of per-round "
                                        "ratios); UNIX: the same for Rill reactor under QT_NO_GLIB=1")
                                 .arg(largest);
        report.add(section);
    }

    // Against the floor: every server's per-round ratio to the epoll server.
    {
        Section section;
        section.part = part;
        section.title = QStringLiteral("round trips a second against the epoll floor, the median of per-round "
                                       "ratios");
        section.unit = QStringLiteral("x epoll");
        section.decimals = 2;
        section.showRatios = false;
        section.rillColumn = all.at(RillReactor).name;
        for (int s = 0; s < S; ++s) {
            if (s != RillReactor && s != Floor)
                section.baselineColumns << all.at(s).name;
        }
        for (int ci = 0; ci < cases.size(); ++ci) {
            Row row;
            row.label = cases.at(ci).label();
            row.volume = volume;
            auto cell = [&](int s) {
                QList<RunResult> runs; // none if a server failed: that is reported with the figures
                for (double r : perRoundRatios(windows[ci][s], windows[ci][Floor]))
                    runs << RunResult::success(r);
                return summarize(all.at(s).name, runs);
            };
            row.rill = cell(RillReactor);
            for (int s = 0; s < S; ++s) {
                if (s != RillReactor && s != Floor)
                    row.baselines << cell(s);
            }
            section.rows << row;
        }
        report.add(section);
    }

    // Server CPU per round trip.
    {
        Section section;
        section.part = part;
        section.title = QStringLiteral("server CPU time per round trip (all its threads, over the window)");
        section.unit = QStringLiteral("us per round trip");
        section.higherIsBetter = false;
        section.decimals = 1;
        section.rillColumn = all.at(RillReactor).name;
        section.baselineColumns = baselineNames;
        for (int ci = 0; ci < cases.size(); ++ci) {
            Row row;
            row.label = cases.at(ci).label();
            row.volume = volume;
            row.rill = cellOf(all.at(RillReactor).name, windows[ci][RillReactor], true);
            row.rill.errors.clear();
            for (int s = 1; s < S; ++s) {
                Cell c = cellOf(all.at(s).name, windows[ci][s], true);
                c.errors.clear(); // reported with the round trips
                row.baselines << c;
                row.ratios << medianRatio(windows[ci][RillReactor], windows[ci][s], true);
            }
            section.rows << row;
        }
        section.notes << QStringLiteral("a server that is not busy all the time spends less per round trip than "
                                        "one that is: compare within a row");
        report.add(section);
    }

    // Memory per idle flow, and how long setting the connections up took.
    {
        Section memory;
        memory.part = part;
        memory.title = QStringLiteral("server RSS per idle connection: RSS with all open minus RSS with 10 open, "
                                      "over the difference (each proven by one round trip; a Rill flow keeps a "
                                      "read pending)");
        memory.unit = QStringLiteral("KiB per connection");
        memory.higherIsBetter = false;
        memory.decimals = 2;
        memory.rillColumn = all.at(RillReactor).name;
        memory.baselineColumns = baselineNames;
        Section setup;
        setup.part = part;
        setup.title = QStringLiteral("setting up connections 10 to N (connect and one round trip each, 32 at a "
                                     "time; two servers at once, one on each core: rough)");
        setup.unit = QStringLiteral("connections/s");
        setup.decimals = 0;
        setup.rillColumn = all.at(RillReactor).name;
        setup.baselineColumns = baselineNames;
        for (int l = 1; l < levels.size(); ++l) {
            const int open = levels.at(l);
            auto cellFor = [&](int s, bool mem) {
                const Instance &inst = *instances[size_t(l)][size_t(s)];
                QList<RunResult> runs;
                if (inst.rssAll <= 0 || inst.rss10 <= 0 || inst.setupSeconds <= 0)
                    return summarize(all.at(s).name, runs); // failed: reported above
                const int added = open - qMin(10, open);
                runs << RunResult::success(mem ? double(inst.rssAll - inst.rss10) / added / KiB
                                               : added / inst.setupSeconds);
                return summarize(all.at(s).name, runs);
            };
            Row m;
            m.label = QStringLiteral("%1 open").arg(open);
            m.volume = QStringLiteral("one process each");
            m.rill = cellFor(RillReactor, true);
            for (int s = 1; s < S; ++s)
                m.baselines << cellFor(s, true);
            if (judged && open == largest) {
                m.targets << boundTarget(QStringLiteral("<=3 KiB"), m.rill.ok() ? m.rill.value : std::nan(""), 3,
                                         false, QStringLiteral(" KiB"));
                const Cell &unix = m.baselines.at(RillReactorUnix - 1);
                m.targets << boundTarget(QStringLiteral("UNIX <=3 KiB"), unix.ok() ? unix.value : std::nan(""), 3,
                                         false, QStringLiteral(" KiB"));
            }
            memory.rows << m;
            Row u;
            u.label = QStringLiteral("%1 connections").arg(open);
            u.volume = QStringLiteral("once");
            u.rill = cellFor(RillReactor, false);
            for (int s = 1; s < S; ++s)
                u.baselines << cellFor(s, false);
            setup.rows << u;
        }
        memory.notes << QStringLiteral("measured once per server, after connecting and before the rounds; the "
                                       "kernel's socket memory is not in RSS");
        report.add(memory);
        report.add(setup);
    }

    // The plot: round trips a second against open flows, a panel per number busy, a line per
    // server, each point the median the first table shows.
    {
        struct Style
        {
            int contender;
            QString label;
            QString colour; // Okabe-Ito: apart for colour-blind eyes too
            LineChart::Marker marker;
        };
        // Greyscale still tells them apart: the marker's shape is the server, a dashed line and
        // a hollow marker the poll (UNIX) dispatcher. In pairs, so the legend's columns are the
        // servers and its rows the dispatchers; the floor last, drawn above the rest.
        const QList<Style> styles{
                {RawQt, QStringLiteral("raw Qt, GLib"), QStringLiteral("#D55E00"), LineChart::Marker::Circle},
                {RawQtUnix, QStringLiteral("raw Qt, poll"), QStringLiteral("#E69F00"), LineChart::Marker::Circle},
                {RillReactor, QStringLiteral("Rill reactor, GLib"), QStringLiteral("#0072B2"), LineChart::Marker::Triangle},
                {RillReactorUnix, QStringLiteral("Rill reactor, poll"), QStringLiteral("#56B4E9"), LineChart::Marker::Triangle},
                {RillNotifier, QStringLiteral("Rill notifier, GLib"), QStringLiteral("#009E73"), LineChart::Marker::Diamond},
                {RillNotifierUnix, QStringLiteral("Rill notifier, poll"), QStringLiteral("#CC79A7"), LineChart::Marker::Diamond},
                {Floor, QStringLiteral("epoll floor (C)"), QStringLiteral("#000000"), LineChart::Marker::Square},
        };
        LineChart chart;
        const QJsonObject machine = report.machine();
        chart.title = QStringLiteral("c10k: 64 B echo round trips a second against open flows, one server thread");
        chart.subtitle = QStringLiteral("rill-bench %1: medians of %2 round%3 of a %4 ms window per server and case; "
                                        "%5 cores, %6, Qt %7")
                                 .arg(env.options.smoke() ? QStringLiteral("--smoke")
                                              : env.options.quick() ? QStringLiteral("--quick")
                                                                    : QStringLiteral("(full)"))
                                 .arg(rounds)
                                 .arg(rounds == 1 ? QString() : QStringLiteral("s"))
                                 .arg(windowMs)
                                 .arg(machine.value(QStringLiteral("nproc")).toInt())
                                 .arg(machine.value(QStringLiteral("cpu")).toString(),
                                      machine.value(QStringLiteral("qt")).toString());
        chart.xLabel = QStringLiteral("open flows (log scale)");
        chart.yLabel = QStringLiteral("round trips a second");
        chart.unit = QStringLiteral("round trips/s");
        QList<int> opens = levels; // a descriptor limit can make two levels one
        std::sort(opens.begin(), opens.end());
        opens.erase(std::unique(opens.begin(), opens.end()), opens.end());
        for (int open : std::as_const(opens))
            chart.xs << open;
        for (const Style &style : styles)
            chart.series << LineChart::Series{style.label, style.colour, !all.at(style.contender).glib, style.marker};
        for (const int busy : {-1, 100, 10}) {
            LineChart::Panel panel;
            panel.title = busy < 0 ? QStringLiteral("all busy") : QStringLiteral("%1 busy").arg(busy);
            for (const Style &style : styles) {
                QList<double> values;
                for (int open : std::as_const(opens)) {
                    const int ci = caseIndex(open, busy < 0 ? open : busy);
                    const Cell cell = ci < 0 ? Cell() : cellOf(all.at(style.contender).name, windows[ci][style.contender], false);
                    values << (cell.runs.isEmpty() ? std::nan("") : cell.value);
                }
                panel.values << values;
            }
            chart.panels << panel;
        }
        chart.notes << QStringLiteral("Each server is its own process, one server thread on one core, its client (plain epoll) "
                                      "on the other; a busy flow has one 64-byte message outstanding, an idle one sends "
                                      "nothing. GLib: Qt's default event dispatcher; poll: QT_NO_GLIB=1 (Qt's UNIX "
                                      "dispatcher). Rill reactor: RILL_REACTOR=epoll; notifier: RILL_REACTOR=notifier.")
                    << QStringLiteral("Each panel has its own y scale, from 0. With %1 open, all busy is %1 busy; no "
                                      "point where fewer are open than busy, or where a server failed.")
                               .arg(opens.first());
        const QString path = !env.options.plotPath.isEmpty()
                ? env.options.plotPath
                : QDir::cleanPath(QFileInfo(env.options.jsonPath).path() + QStringLiteral("/c10k.svg"));
        QString error;
        if (writeSvg(path, chart, &error))
            std::printf("c10k plot: %s\n", qPrintable(path));
        else
            std::fprintf(stderr, "rill-bench: cannot write %s: %s\n", qPrintable(path), qPrintable(error));
    }
}

} // namespace bench
