// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <sched.h>

// The harness every part of rill-bench shares: options, the receiver thread, waiting on the
// main thread's event loop, statistics, and the report (terminal table, JSON, Markdown).

#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>
#include <QtCore/QJsonObject>
#include <QtCore/QList>
#include <QtCore/QMutex>
#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QThread>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

constexpr qint64 KiB = 1024;
constexpr qint64 MiB = 1024 * KiB;
constexpr qint64 GiB = 1024 * MiB;

double secondsSince(Clock::time_point start);
double seconds(Clock::time_point from, Clock::time_point to);

enum class Mode { Full, Quick, Smoke };

struct Options
{
    Mode mode = Mode::Full;
    QStringList parts;       // empty: all
    int reps = 0;            // 0: the mode's default
    QString jsonPath = QStringLiteral("bench.json");
    QString markdownPath;    // empty: none
    QString plotPath;        // c10k's SVG plot; empty: c10k.svg in jsonPath's folder
    QString rillcatPath;     // empty: next to the build tree
    bool verify = false;     // check every byte's value, not only the count (on in --smoke)
    QStringList contenders;  // bulk, pingpong: only contenders whose name contains one of these
    QList<qint64> sizes;     // bulk, pingpong: only these write/message sizes

    bool wantsContender(const QString &name) const
    {
        if (contenders.isEmpty())
            return true;
        for (const QString &c : contenders) {
            if (name.contains(c, Qt::CaseInsensitive))
                return true;
        }
        return false;
    }
    bool wantsSize(qint64 size) const { return sizes.isEmpty() || sizes.contains(size); }

    bool wants(const QString &part) const { return parts.isEmpty() || parts.contains(part); }
    bool smoke() const { return mode == Mode::Smoke; }
    bool quick() const { return mode == Mode::Quick; }
    // Picks the figure for the current mode.
    template<typename T>
    T pick(T full, T quickValue, T smokeValue) const
    {
        return mode == Mode::Full ? full : mode == Mode::Quick ? quickValue : smokeValue;
    }
    int repetitions(int full, int quickValue) const
    {
        if (reps > 0)
            return reps;
        return pick(full, quickValue, 1);
    }
};

// A thread with an event loop and a context object living in it: the receiving side of every
// measurement runs here, so each contender has the same topology.
class Worker
{
public:
    Worker();
    ~Worker();
    QObject *context() const { return m_context; }
    QThread *thread() { return &m_thread; }
    // Runs f in the worker thread and waits for it.
    void call(std::function<void()> f);
    template<typename T>
    T get(std::function<T()> f)
    {
        T value{};
        call([&] { value = f(); });
        return value;
    }
    // Runs f in the worker thread later.
    void post(std::function<void()> f);

private:
    QThread m_thread;
    QObject *m_context = nullptr;
};

// Wakes the main thread's event loop (from any thread) so spinUntil() re-checks its condition.
void wakeMain();
// Runs the main thread's event loop until pred() holds or timeoutMs passed; false on timeout.
bool spinUntil(const std::function<bool()> &pred, int timeoutMs);
// Runs the event loop for a while (settling, not synchronising).
void spinFor(int ms);

// The end of one measured run, signalled from whichever thread sees it.
class Completion
{
public:
    void finish(); // stamps the time once
    void fail(const QString &why);
    bool done() const { return m_done.load(); }
    bool failed() const { return m_failed.load(); }
    QString error() const;
    Clock::time_point finishedAt() const { return m_at; }

private:
    std::atomic_bool m_done{false};
    std::atomic_bool m_failed{false};
    Clock::time_point m_at;
    mutable QMutex m_mutex;
    QString m_error;
};

// One contender's measurement: a figure per repetition, or the error that stopped it.
struct RunResult
{
    bool ok = false;
    double value = 0;
    QString error;
    static RunResult success(double v) { return {true, v, {}}; }
    static RunResult failure(const QString &why) { return {false, 0, why}; }
};

// A pattern that tells a misplaced or corrupted byte: the stream is chunk, chunk, chunk...
QByteArray patternChunk(qsizetype size);
// Checks bytes that start at stream offset `offset` against the repeated chunk.
bool checkPattern(const char *data, qint64 length, qint64 offset, const QByteArray &chunk);

// ---- statistics

struct Cell
{
    QString contender;
    QList<double> runs;     // one figure per repetition
    QList<double> samples;  // latencies: every sample of every repetition, pooled
    QStringList errors;
    double value = 0;       // the figure shown: median of runs (or a percentile of samples)
    double low = 0;         // spread: min and max of the per-repetition figures
    double high = 0;
    bool ok() const { return errors.isEmpty() && !runs.isEmpty(); }
    // ±half the range, in percent of the value
    double spreadPercent() const;
};

double median(QList<double> values);
double percentile(std::vector<double> &sorted, double p);
Cell summarize(const QString &contender, const QList<RunResult> &runs);

// ---- the report

struct Target
{
    QString text;  // "≥1.00× raw Qt"
    bool evaluated = false;
    bool met = false;
    QString measured; // the figure the target was judged on, e.g. "1.107x"
};

struct Row
{
    QString label;     // "tcp 64 B"
    QString volume;    // "8 MiB per run"
    Cell rill;
    QList<Cell> baselines; // in the section's column order; a missing one has no runs
    QList<Target> targets;
    QString note;
    // When set, ratio i is shown for baseline i instead of Rill / baseline (e.g. the median of
    // per-round ratios, which cancels drift between rounds); NaN: none.
    QList<double> ratios;
};

struct Section
{
    QString part;      // "bulk"
    QString title;
    QString unit;      // "MiB/s"
    bool higherIsBetter = true;
    int decimals = 0;
    QString rillColumn;        // "Rill"
    QStringList baselineColumns;
    QList<Row> rows;
    QStringList notes;
    bool showRatios = true; // false: the cells are ratios themselves, no ratio columns
};

// Ratio Rill/baseline, or NaN if either is missing.
double ratio(const Cell &rill, const Cell &baseline);
// The row's ratio to baseline `index`: row.ratios if set, else ratio(); NaN if missing.
double rowRatio(const Row &row, int index);
// A target on the ratio to baseline `index`: ratio >= bound (atLeast) or <= bound.
Target ratioTarget(const Row &row, int index, double bound, bool atLeast, const QString &text);

class Report
{
public:
    explicit Report(const Options &options);
    void add(const Section &section);
    void addSkipped(const QString &part, const QString &why);
    void addFailure(const QString &part, const QString &what);
    bool failed() const { return !m_failures.isEmpty(); }
    QStringList failures() const { return m_failures; }
    void printSection(const Section &section) const;
    void printSummary() const;
    bool writeJson(const QString &path, double elapsedSeconds) const;
    bool writeMarkdown(const QString &path, double elapsedSeconds) const;
    QJsonObject machine() const { return m_machine; }

private:
    const Options &m_options;
    QList<Section> m_sections;
    QStringList m_skipped;
    QStringList m_failures;
    QJsonObject m_machine;
};

QJsonObject machineInfo();
QString loadAverage();

// ---- memory

qint64 residentBytes();   // VmRSS
qint64 peakResidentBytes(); // VmHWM
void trimHeap();          // gives freed heap back, so a baseline is not inflated

// ---- the parts

// The first two CPUs we may run on; -1, -1 if there is only one (then nothing is pinned).
QPair<int, int> pickCpus();

// While it lives: the calling thread runs on one CPU and the worker's thread on another, so
// that the writer and the receiver of a throughput run never share a core and every contender
// gets the same placement. Restores both threads' CPU sets when it goes.
class PinnedThreads
{
public:
    explicit PinnedThreads(Worker *worker);
    ~PinnedThreads();
    Q_DISABLE_COPY_MOVE(PinnedThreads)
    // "writer on CPU 0, receiver on CPU 1", or why nothing was pinned.
    QString description() const { return m_description; }

private:
    Worker *m_worker;
    bool m_pinned = false;
    cpu_set_t m_mainSet;
    cpu_set_t m_workerSet;
    QString m_description;
};

struct Env
{
    Options options;
    Worker *worker = nullptr;
    QString tempDir;    // for Unix socket paths
    QString selfPath;   // this program, for child processes
};

void runBulk(Env &env, Report &report);
void runPingPong(Env &env, Report &report);
void runMany(Env &env, Report &report);
void runMemory(Env &env, Report &report);
void runRillcat(Env &env, Report &report);
void runChannel(Env &env, Report &report);
void runC10k(Env &env, Report &report);
void runTls(Env &env, Report &report);
void runProbe(Env &env, Report &report);
// The probe part's subscriber: rill-bench --probe-subscriber PID attaches to PID's probe.
int probeSubscriber(const QStringList &args);
void runHttp(Env &env, Report &report);
// The memory part's child processes: rill-bench --child KIND ARGS...
int memoryChild(const QStringList &args);
// The c10k part's client: rill-bench --c10k-client PORT SERVER_PID (argv without those two words).
int c10kClient(int argc, char **argv);

QString formatBytes(qint64 bytes);

} // namespace bench
