// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "bench.h"

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFile>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QSysInfo>
#include <QtCore/QTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <malloc.h>
#include <unistd.h>

namespace bench {

double seconds(Clock::time_point from, Clock::time_point to)
{
    return std::chrono::duration<double>(to - from).count();
}

double secondsSince(Clock::time_point start)
{
    return seconds(start, Clock::now());
}

// ---- Worker

Worker::Worker()
{
    m_thread.setObjectName(QStringLiteral("rill-bench receiver"));
    m_thread.start();
    m_context = new QObject;
    m_context->moveToThread(&m_thread);
}

Worker::~Worker()
{
    call([this] { delete m_context; });
    m_thread.quit();
    m_thread.wait();
}

QPair<int, int> pickCpus()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0)
        return {-1, -1};
    QList<int> cpus;
    for (int i = 0; i < CPU_SETSIZE && cpus.size() < 2; ++i) {
        if (CPU_ISSET(i, &set))
            cpus << i;
    }
    return cpus.size() < 2 ? QPair<int, int>{-1, -1} : QPair<int, int>{cpus.at(0), cpus.at(1)};
}

PinnedThreads::PinnedThreads(Worker *worker) : m_worker(worker)
{
    const QPair<int, int> cpus = pickCpus();
    if (cpus.first < 0 || !worker) {
        m_description = QStringLiteral("nothing pinned (one CPU)");
        return;
    }
    const auto pin = [](int cpu, cpu_set_t *previous) {
        ::sched_getaffinity(0, sizeof *previous, previous);
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        return ::sched_setaffinity(0, sizeof set, &set) == 0;
    };
    bool ok = pin(cpus.first, &m_mainSet);
    worker->call([&] { ok = pin(cpus.second, &m_workerSet) && ok; });
    m_pinned = true;
    m_description = ok ? QStringLiteral("writer pinned to CPU %1, receiver to CPU %2")
                                 .arg(cpus.first)
                                 .arg(cpus.second)
                       : QStringLiteral("pinning refused: threads not pinned");
}

PinnedThreads::~PinnedThreads()
{
    if (!m_pinned)
        return;
    ::sched_setaffinity(0, sizeof m_mainSet, &m_mainSet);
    m_worker->call([this] { ::sched_setaffinity(0, sizeof m_workerSet, &m_workerSet); });
}

void Worker::call(std::function<void()> f)
{
    QMetaObject::invokeMethod(m_context, std::move(f), Qt::BlockingQueuedConnection);
}

void Worker::post(std::function<void()> f)
{
    QMetaObject::invokeMethod(m_context, std::move(f), Qt::QueuedConnection);
}

void wakeMain()
{
    QMetaObject::invokeMethod(QCoreApplication::instance(), [] {}, Qt::QueuedConnection);
}

bool spinUntil(const std::function<bool()> &pred, int timeoutMs)
{
    if (pred())
        return true;
    QDeadlineTimer deadline(timeoutMs);
    QTimer tick; // bounds each wait, so the deadline is seen even if nobody wakes us
    tick.start(50);
    while (!pred()) {
        if (deadline.hasExpired())
            return false;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    }
    return true;
}

void spinFor(int ms)
{
    QDeadlineTimer deadline(ms);
    QTimer tick;
    tick.start(qMax(1, ms / 10));
    while (!deadline.hasExpired())
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents);
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
}

// ---- Completion

void Completion::finish()
{
    if (m_done.load())
        return;
    m_at = Clock::now();
    m_done.store(true);
    wakeMain();
}

void Completion::fail(const QString &why)
{
    {
        QMutexLocker lock(&m_mutex);
        if (m_error.isEmpty())
            m_error = why;
    }
    m_failed.store(true);
    if (!m_done.load()) {
        m_at = Clock::now();
        m_done.store(true);
    }
    wakeMain();
}

QString Completion::error() const
{
    QMutexLocker lock(&m_mutex);
    return m_error;
}

// ---- pattern

QByteArray patternChunk(qsizetype size)
{
    QByteArray chunk(size, Qt::Uninitialized);
    for (qsizetype i = 0; i < size; ++i)
        chunk[i] = char((i * 131 + i / 251 + 7) & 0xff);
    return chunk;
}

bool checkPattern(const char *data, qint64 length, qint64 offset, const QByteArray &chunk)
{
    const qint64 size = chunk.size();
    qint64 at = offset % size;
    for (qint64 i = 0; i < length; ++i) {
        if (data[i] != chunk.at(at))
            return false;
        if (++at == size)
            at = 0;
    }
    return true;
}

// ---- statistics

double median(QList<double> values)
{
    if (values.isEmpty())
        return std::nan("");
    std::sort(values.begin(), values.end());
    const qsizetype n = values.size();
    return n % 2 ? values.at(n / 2) : (values.at(n / 2 - 1) + values.at(n / 2)) / 2;
}

double percentile(std::vector<double> &sorted, double p)
{
    if (sorted.empty())
        return std::nan("");
    // nearest rank
    const size_t rank = size_t(std::ceil(p / 100.0 * double(sorted.size())));
    return sorted.at(std::clamp<size_t>(rank, 1, sorted.size()) - 1);
}

double Cell::spreadPercent() const
{
    if (runs.size() < 2 || value == 0)
        return 0;
    return (high - low) / 2 / value * 100;
}

Cell summarize(const QString &contender, const QList<RunResult> &runs)
{
    Cell cell;
    cell.contender = contender;
    for (const RunResult &r : runs) {
        if (r.ok)
            cell.runs << r.value;
        else
            cell.errors << r.error;
    }
    if (!cell.runs.isEmpty()) {
        cell.value = median(cell.runs);
        cell.low = *std::min_element(cell.runs.cbegin(), cell.runs.cend());
        cell.high = *std::max_element(cell.runs.cbegin(), cell.runs.cend());
    }
    return cell;
}

double ratio(const Cell &rill, const Cell &baseline)
{
    if (!rill.ok() || !baseline.ok() || baseline.value == 0)
        return std::nan("");
    return rill.value / baseline.value;
}

double rowRatio(const Row &row, int index)
{
    if (index < 0)
        return std::nan("");
    if (index < row.ratios.size())
        return row.ratios.at(index);
    if (index >= row.baselines.size())
        return std::nan("");
    return ratio(row.rill, row.baselines.at(index));
}

Target ratioTarget(const Row &row, int index, double bound, bool atLeast, const QString &text)
{
    Target t;
    t.text = text;
    if (index < 0 || index >= row.baselines.size())
        return t;
    const double r = rowRatio(row, index);
    if (std::isnan(r))
        return t;
    t.evaluated = true;
    t.met = atLeast ? r >= bound : r <= bound;
    t.measured = QStringLiteral("%1x").arg(QString::number(r, 'f', 3));
    return t;
}

QString formatBytes(qint64 bytes)
{
    if (bytes >= GiB && bytes % GiB == 0)
        return QStringLiteral("%1 GiB").arg(bytes / GiB);
    if (bytes >= MiB && bytes % MiB == 0)
        return QStringLiteral("%1 MiB").arg(bytes / MiB);
    if (bytes >= KiB && bytes % KiB == 0)
        return QStringLiteral("%1 KiB").arg(bytes / KiB);
    if (bytes >= MiB)
        return QStringLiteral("%1 MiB").arg(QString::number(double(bytes) / MiB, 'f', 1));
    return QStringLiteral("%1 B").arg(bytes);
}

// ---- machine

QString loadAverage()
{
    QFile f(QStringLiteral("/proc/loadavg"));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QList<QByteArray> parts = f.readAll().split(' ');
    return parts.size() >= 3 ? QStringLiteral("%1 %2 %3").arg(QString::fromLatin1(parts[0]),
                                                               QString::fromLatin1(parts[1]),
                                                               QString::fromLatin1(parts[2]))
                             : QString();
}

QJsonObject machineInfo()
{
    QJsonObject m;
    m[QStringLiteral("nproc")] = int(::sysconf(_SC_NPROCESSORS_ONLN));
    QString cpu;
    QFile f(QStringLiteral("/proc/cpuinfo"));
    if (f.open(QIODevice::ReadOnly)) {
        for (const QByteArray &line : f.readAll().split('\n')) {
            if (line.startsWith("model name")) {
                cpu = QString::fromLatin1(line.mid(line.indexOf(':') + 1)).trimmed();
                break;
            }
        }
    }
    m[QStringLiteral("cpu")] = cpu;
    m[QStringLiteral("qt")] = QString::fromLatin1(qVersion());
    m[QStringLiteral("kernel")] = QSysInfo::kernelVersion();
    m[QStringLiteral("os")] = QSysInfo::prettyProductName();
    m[QStringLiteral("loadavgAtStart")] = loadAverage();
    m[QStringLiteral("fdLimit")] = int(::sysconf(_SC_OPEN_MAX));
    return m;
}

// ---- memory

namespace {
qint64 statusField(const char *name)
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(name)) {
            const QByteArray value = line.mid(line.indexOf(':') + 1).trimmed();
            return value.left(value.indexOf(' ')).toLongLong() * 1024;
        }
    }
    return -1;
}
} // namespace

qint64 residentBytes()
{
    return statusField("VmRSS:");
}

qint64 peakResidentBytes()
{
    return statusField("VmHWM:");
}

void trimHeap()
{
    ::malloc_trim(0);
}

// ---- report

Report::Report(const Options &options) : m_options(options), m_machine(machineInfo()) {}

void Report::add(const Section &section)
{
    m_sections << section;
    for (const Row &row : section.rows) {
        auto note = [&](const Cell &c) {
            for (const QString &e : c.errors)
                m_failures << QStringLiteral("%1 %2 %3: %4").arg(section.part, row.label, c.contender, e);
        };
        note(row.rill);
        for (const Cell &c : row.baselines)
            note(c);
    }
    printSection(section);
}

void Report::addSkipped(const QString &part, const QString &why)
{
    m_skipped << QStringLiteral("%1: %2").arg(part, why);
    std::printf("\n== %s: SKIPPED: %s\n", qPrintable(part), qPrintable(why));
    std::fflush(stdout);
}

void Report::addFailure(const QString &part, const QString &what)
{
    m_failures << QStringLiteral("%1: %2").arg(part, what);
}

namespace {

QString number(double v, int decimals)
{
    if (std::isnan(v))
        return QStringLiteral("-");
    // three significant figures at least, so small figures are not shown as 0
    int d = decimals;
    const double a = std::fabs(v);
    if (a > 0 && a < 10 && d < 2)
        d = a < 1 ? 3 : 2;
    return QString::number(v, 'f', d);
}

QString cellText(const Cell &c, int decimals)
{
    if (!c.errors.isEmpty())
        return QStringLiteral("FAILED");
    if (c.runs.isEmpty())
        return QStringLiteral("-");
    QString s = number(c.value, decimals);
    if (c.runs.size() > 1)
        s += QStringLiteral(" ±%1%").arg(QString::number(c.spreadPercent(), 'f', 0));
    return s;
}

QString ratioText(double r)
{
    return std::isnan(r) ? QStringLiteral("-") : QStringLiteral("%1x").arg(QString::number(r, 'f', 2));
}

QString targetsText(const Row &row)
{
    QStringList parts;
    for (const Target &t : row.targets) {
        const QString verdict = !t.evaluated ? QStringLiteral("n/a")
                : t.met                       ? QStringLiteral("met")
                                              : QStringLiteral("MISSED");
        parts << (t.measured.isEmpty() ? QStringLiteral("%1 %2").arg(t.text, verdict)
                                       : QStringLiteral("%1 %2 (%3)").arg(t.text, verdict, t.measured));
    }
    return parts.join(QStringLiteral("; "));
}

QList<QStringList> tableOf(const Section &s)
{
    QList<QStringList> table;
    QStringList header{QStringLiteral("case"), QStringLiteral("volume"), s.rillColumn};
    for (const QString &b : s.baselineColumns) {
        header << b;
        if (s.showRatios)
            header << QStringLiteral("ratio");
    }
    header << QStringLiteral("targets");
    table << header;
    for (const Row &row : s.rows) {
        QStringList line{row.label, row.volume, cellText(row.rill, s.decimals)};
        for (int i = 0; i < s.baselineColumns.size(); ++i) {
            const Cell c = i < row.baselines.size() ? row.baselines.at(i) : Cell();
            line << cellText(c, s.decimals);
            if (s.showRatios)
                line << ratioText(rowRatio(row, i));
        }
        line << targetsText(row);
        table << line;
    }
    return table;
}

QString sectionHeading(const Section &s)
{
    const QString better = s.higherIsBetter ? QStringLiteral("higher is better")
                                            : QStringLiteral("lower is better");
    return QStringLiteral("%1: %2 (%3, %4)")
            .arg(s.part, s.title, s.unit,
                 s.showRatios ? better + QStringLiteral("; ratio = Rill / baseline") : better);
}

QJsonObject cellJson(const Cell &c)
{
    QJsonObject o;
    o[QStringLiteral("contender")] = c.contender;
    if (c.ok()) {
        o[QStringLiteral("value")] = c.value;
        o[QStringLiteral("min")] = c.low;
        o[QStringLiteral("max")] = c.high;
    }
    QJsonArray runs;
    for (double r : c.runs)
        runs << r;
    o[QStringLiteral("runs")] = runs;
    if (!c.errors.isEmpty())
        o[QStringLiteral("errors")] = QJsonArray::fromStringList(c.errors);
    return o;
}

} // namespace

void Report::printSection(const Section &s) const
{
    const QList<QStringList> table = tableOf(s);
    QList<int> widths;
    for (const QStringList &line : table) {
        for (int i = 0; i < line.size(); ++i) {
            if (widths.size() <= i)
                widths << 0;
            widths[i] = qMax(widths[i], int(line.at(i).size()));
        }
    }
    std::printf("\n== %s\n", qPrintable(sectionHeading(s)));
    for (const QStringList &line : table) {
        QString out;
        for (int i = 0; i < line.size(); ++i) {
            const bool last = i == line.size() - 1;
            out += last ? line.at(i) : line.at(i).leftJustified(widths.at(i) + 2);
        }
        std::printf("%s\n", qPrintable(out.trimmed()));
    }
    for (const QString &n : s.notes)
        std::printf("   note: %s\n", qPrintable(n));
    for (const Row &row : s.rows) {
        if (!row.note.isEmpty())
            std::printf("   %s: %s\n", qPrintable(row.label), qPrintable(row.note));
    }
    std::fflush(stdout);
}

void Report::printSummary() const
{
    std::printf("\n== targets\n");
    int met = 0, missed = 0;
    for (const Section &s : m_sections) {
        for (const Row &row : s.rows) {
            for (const Target &t : row.targets) {
                if (!t.evaluated)
                    continue;
                t.met ? ++met : ++missed;
                if (!t.met)
                    std::printf("MISSED  %s %s: %s\n", qPrintable(s.part), qPrintable(row.label),
                                qPrintable(t.text));
            }
        }
    }
    std::printf("%d met, %d missed\n", met, missed);
    for (const QString &s : m_skipped)
        std::printf("skipped: %s\n", qPrintable(s));
    for (const QString &f : m_failures)
        std::printf("FAILED: %s\n", qPrintable(f));
    std::fflush(stdout);
}

bool Report::writeJson(const QString &path, double elapsedSeconds) const
{
    QJsonObject root;
    QJsonObject machine = m_machine;
    machine[QStringLiteral("loadavgAtEnd")] = loadAverage();
    root[QStringLiteral("machine")] = machine;
    root[QStringLiteral("mode")] = m_options.smoke() ? QStringLiteral("smoke")
            : m_options.quick()                       ? QStringLiteral("quick")
                                                      : QStringLiteral("full");
    root[QStringLiteral("elapsedSeconds")] = elapsedSeconds;
    QJsonArray sections;
    for (const Section &s : m_sections) {
        QJsonObject so;
        so[QStringLiteral("part")] = s.part;
        so[QStringLiteral("title")] = s.title;
        so[QStringLiteral("unit")] = s.unit;
        so[QStringLiteral("higherIsBetter")] = s.higherIsBetter;
        so[QStringLiteral("baselines")] = QJsonArray::fromStringList(s.baselineColumns);
        so[QStringLiteral("notes")] = QJsonArray::fromStringList(s.notes);
        QJsonArray rows;
        for (const Row &row : s.rows) {
            QJsonObject ro;
            ro[QStringLiteral("case")] = row.label;
            ro[QStringLiteral("volume")] = row.volume;
            ro[QStringLiteral("rill")] = cellJson(row.rill);
            QJsonArray bs;
            for (int i = 0; i < row.baselines.size(); ++i) {
                const Cell &c = row.baselines.at(i);
                QJsonObject co = cellJson(c);
                const double r = s.showRatios ? rowRatio(row, i) : std::nan("");
                if (!std::isnan(r))
                    co[QStringLiteral("ratio")] = r;
                bs << co;
            }
            ro[QStringLiteral("baselines")] = bs;
            QJsonArray ts;
            for (const Target &t : row.targets) {
                QJsonObject to;
                to[QStringLiteral("target")] = t.text;
                if (!t.measured.isEmpty())
                    to[QStringLiteral("measured")] = t.measured;
                to[QStringLiteral("status")] = !t.evaluated ? QStringLiteral("n/a")
                        : t.met                              ? QStringLiteral("met")
                                                             : QStringLiteral("missed");
                ts << to;
            }
            ro[QStringLiteral("targets")] = ts;
            if (!row.note.isEmpty())
                ro[QStringLiteral("note")] = row.note;
            rows << ro;
        }
        so[QStringLiteral("rows")] = rows;
        sections << so;
    }
    root[QStringLiteral("sections")] = sections;
    root[QStringLiteral("skipped")] = QJsonArray::fromStringList(m_skipped);
    root[QStringLiteral("failures")] = QJsonArray::fromStringList(m_failures);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    f.write(QJsonDocument(root).toJson());
    return true;
}

bool Report::writeMarkdown(const QString &path, double elapsedSeconds) const
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    QString md;
    md += QStringLiteral("Machine: %1 cores, %2, Qt %3, Linux %4; load average %5 at the start, "
                         "%6 at the end; %7 s in all.\n")
                  .arg(m_machine[QStringLiteral("nproc")].toInt())
                  .arg(m_machine[QStringLiteral("cpu")].toString(),
                       m_machine[QStringLiteral("qt")].toString(),
                       m_machine[QStringLiteral("kernel")].toString(),
                       m_machine[QStringLiteral("loadavgAtStart")].toString(), loadAverage(),
                       QString::number(elapsedSeconds, 'f', 0));
    for (const Section &s : m_sections) {
        md += QStringLiteral("\n### %1\n\n").arg(sectionHeading(s));
        const QList<QStringList> table = tableOf(s);
        for (int i = 0; i < table.size(); ++i) {
            QStringList cells = table.at(i);
            for (QString &c : cells)
                c.replace(QLatin1Char('|'), QStringLiteral("\\|"));
            md += QStringLiteral("| %1 |\n").arg(cells.join(QStringLiteral(" | ")));
            if (i == 0)
                md += QStringLiteral("|%1\n").arg(QStringLiteral("---|").repeated(cells.size()));
        }
        if (!s.notes.isEmpty() || std::any_of(s.rows.cbegin(), s.rows.cend(),
                                              [](const Row &r) { return !r.note.isEmpty(); }))
            md += QLatin1Char('\n');
        for (const QString &n : s.notes)
            md += QStringLiteral("- %1\n").arg(n);
        for (const Row &row : s.rows) {
            if (!row.note.isEmpty())
                md += QStringLiteral("- %1: %2\n").arg(row.label, row.note);
        }
    }
    if (!m_skipped.isEmpty()) {
        md += QLatin1Char('\n');
        for (const QString &s : m_skipped)
            md += QStringLiteral("- skipped: %1\n").arg(s);
    }
    f.write(md.toUtf8());
    return true;
}

} // namespace bench
