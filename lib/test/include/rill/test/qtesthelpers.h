// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// QTest helpers for flows: wait for futures, read to the end, compare streams with a readable
/// difference, and run one test under every fault mode.

#include <rill/flow.h>
#include <rill/result.h>
#include <rill/test/faultplan.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFuture>
#include <QtCore/QFutureWatcher>
#include <QtCore/QList>
#include <QtCore/QTimer>

#include <chrono>
#include <utility>

namespace rill::test {

/// How long the helpers wait by default before they give up: 15 seconds. Long: a failure
/// means the thing never happens, not that it was slow.
inline constexpr std::chrono::milliseconds DefaultTimeout {15000};

/// Runs this thread's event loop until \a future is finished or \a deadline passes; true if it
/// finished. Works for futures finished by any thread; never sleeps.
template<typename T>
[[nodiscard]] bool waitForFinished(
    const QFuture<T> &future, QDeadlineTimer deadline = QDeadlineTimer(DefaultTimeout))
{
    if (future.isFinished())
        return true;
    QEventLoop loop;
    QFutureWatcher<T> watcher;
    QObject::connect(&watcher, &QFutureWatcherBase::finished, &loop, &QEventLoop::quit);
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    if (!deadline.isForever())
        timer.start(std::chrono::milliseconds(qMax<qint64>(deadline.remainingTime(), 0)));
    watcher.setFuture(future);
    if (!future.isFinished())
        loop.exec();
    return future.isFinished();
}

/// What readAll() read.
struct RILL_TEST_EXPORT ReadAll {
    QByteArray data; ///< The data of every read, in order.
    rill::ReadResult end; ///< The first result that was not data: Eof, or an error.
    int dataReads = 0; ///< Reads that resolved with data.
    /// True if a read resolved with Eof or an error; false if the deadline passed first (or a
    /// read finished without a result).
    bool finished = false;
    bool emptySegment = false; ///< A read resolved with data of zero bytes (never allowed).

    /// True if the stream ended with Eof (not an error, not the deadline).
    bool isEof() const { return finished && end.isEof(); }
};

/// Reads \a flow until Eof or an error, or until \a deadline passes (the read waiting then is
/// cancelled, so it consumes nothing).
RILL_TEST_EXPORT ReadAll readAll(
    rill::Flow *flow, QDeadlineTimer deadline = QDeadlineTimer(DefaultTimeout));

/// Writes \a data to \a flow in pieces of \a pieceSize bytes (all at once if 0 or less), each
/// after the one before was accepted; then shuts the write side down if \a shutdown is true.
/// Returns the result of the first write that was not Ok (or of the shutdown); an error of
/// kind TimedOut if \a deadline passes first.
RILL_TEST_EXPORT rill::WriteResult writeAll(rill::Flow *flow, const QByteArray &data,
    qsizetype pieceSize = 0, bool shutdown = false,
    QDeadlineTimer deadline = QDeadlineTimer(DefaultTimeout));

/// Where \a actual and \a expected first differ, with both sides around it as C string text
/// and a caret under the difference; empty if they are equal.
RILL_TEST_EXPORT QString streamDifference(const QByteArray &actual, const QByteArray &expected);

/// Bytes as a C string literal would show them ("HELLO\r\n"), at most \a maxBytes of them.
RILL_TEST_EXPORT QString printable(const QByteArray &bytes, qsizetype maxBytes = 120);

/// Fails the current QTest function (at \a file and \a line) with streamDifference() if
/// \a actual and \a expected differ; true if they are equal. RILL_COMPARE_STREAMS calls it.
RILL_TEST_EXPORT bool compareStreams(const QByteArray &actual, const QByteArray &expected,
    const char *actualExpression, const char *expectedExpression, const char *file, int line);

/// One fault mode of faultModes(): a data tag and its plan.
struct RILL_TEST_EXPORT FaultMode {
    QByteArray name; ///< The data tag: "whole", "one byte", "random split", ...
    FaultPlan plan; ///< The faults.
};

/// Every fault mode for a stream of \a streamSize bytes, each applied to \a direction (the
/// splits and delays to both directions):
/// - "whole": no fault (the baseline);
/// - "one byte": every segment one byte;
/// - "random split": segments of 1 to 7 bytes from the seed (FaultPlan::defaultSeed());
/// - "delayed": eight segments of streamSize / 8 bytes, each 1 ms late;
/// - "held writes": writes wait as if above the high-water mark;
/// - "stall at the middle": nothing after streamSize / 2 bytes (FaultPlan::Outcome::Stall);
/// - "eof at the middle": the stream ends after streamSize / 2 bytes (Outcome::Eof);
/// - "reset at the middle": a reset after streamSize / 2 bytes (Outcome::Reset).
RILL_TEST_EXPORT QList<FaultMode> faultModes(
    qint64 streamSize, FaultPlan::Direction direction = FaultPlan::Direction::Read);

/// Adds a column \a column of type FaultPlan and a row per faultModes() to the current QTest
/// data function, for a test that fetches it with RILL_FETCH_FAULTS (or QFETCH).
RILL_TEST_EXPORT void addFaultRows(qint64 streamSize,
    FaultPlan::Direction direction = FaultPlan::Direction::Read, const char *column = "faults");

/// Prints a plan's seed when the test function it lives in fails, so that the case replays.
///
/// RILL_FETCH_FAULTS makes one; make one for any plan with random choices that a test builds
/// itself. It prints (category rill.test, as a warning) from its destructor, so declare it
/// before what may fail.
class RILL_TEST_EXPORT SeedReporter {
public:
    /// Watches the test function for a failure, to print the seed of \a plan.
    explicit SeedReporter(const FaultPlan &plan);
    /// Prints the seed if the test function failed and the plan makes random choices.
    ~SeedReporter();

private:
    Q_DISABLE_COPY_MOVE(SeedReporter)
    FaultPlan m_plan;
};

} // namespace rill::test

/// Compares two byte streams; on a difference fails the test function with
/// rill::test::streamDifference() (offset, both sides as text, a caret) and returns.
#define RILL_COMPARE_STREAMS(actual, expected)                                                     \
    do {                                                                                           \
        if (!rill::test::compareStreams(                                                           \
                (actual), (expected), #actual, #expected, __FILE__, __LINE__))                     \
            return;                                                                                \
    } while (false)

/// Fetches the FaultPlan column \a name (see rill::test::addFaultRows()) into a variable of
/// that name, and prints its seed if the test fails.
#define RILL_FETCH_FAULTS(name)                                                                    \
    QFETCH(rill::test::FaultPlan, name);                                                           \
    const rill::test::SeedReporter rillSeedReporter_##name(name)
