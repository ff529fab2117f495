// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Rill::Test, the kit for users' QTest suites, tests itself:
//
//   1. A line parser under every fault mode: a correct one passes, a deliberately broken one
//      (it takes each read for whole lines) passes with whole writes and is caught under
//      one-byte segments.
//   2. FaultyFlow keeps the Flow contract under every fault mode, over PipeFlow and over a real
//      TcpFlow pair on 127.0.0.1, faults on reads and on writes: the bytes up to the fault, the
//      end the plan says, every future finishes, the write ledger and the stats agree.
//   3. Seeds: the same seed splits the same way; RILL_TEST_SEED forces it; a failed test prints
//      it (checked in a child process running a test meant to fail).
//   4. ScriptedFlow: a conversation played, writes matched whatever their split, a mismatch
//      reported with its offset and both sides, verify() listing what was left unplayed,
//      wait(), waitUntil(), stall() and reset().
//   5. The QTest helpers: readAll() with a deadline consumes nothing more, streamDifference().
//   6. Trying to break it: cancel a read of a faulty flow, delete it with writes waiting, wrap a
//      flow that failed already, or nothing.
//
// Knobs: RILL_TESTKIT_BYTES (default 4096) sets the stream size of part 2, for longer runs.
#include "../shared/testutil.h"

#include <rill/listener.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>
#include <rill/test/faultyflow.h>
#include <rill/test/qtesthelpers.h>
#include <rill/test/scriptedflow.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QLoggingCategory>
#include <QtCore/QProcess>
#include <QtCore/QSet>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <functional>
#include <memory>

using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using rill::test::FaultPlan;
using rill::test::FaultyFlow;
using rill::test::Script;
using rill::test::ScriptedFlow;
using namespace std::chrono_literals;

Q_LOGGING_CATEGORY(lcTestkit, "rill.test.testkit", QtWarningMsg)

namespace {

using Direction = FaultPlan::Direction;
using Outcome = FaultPlan::Outcome;

// How long a test waits to see that a stalled stream stays stalled. Any value shows the stall
// (it is for good); short keeps the suite fast.
constexpr auto StallWindow = 150ms;

qint64 streamBytes()
{
    bool ok = false;
    const qint64 bytes = qEnvironmentVariableIntValue("RILL_TESTKIT_BYTES", &ok);
    return ok && bytes > 0 ? bytes : 4096;
}

// ---- 1. the line parsers under test

using LineParser = std::function<QList<QByteArray>(
    Flow *, ReadResult *end, std::chrono::milliseconds readTimeout)>;

// Reads lines ending in '\n' until Eof or an error, keeping a partial line across reads.
QList<QByteArray> correctParser(Flow *flow, ReadResult *end, std::chrono::milliseconds readTimeout)
{
    QList<QByteArray> lines;
    QByteArray partial;
    for (;;) {
        QFuture<ReadResult> read = flow->read(QDeadlineTimer(readTimeout));
        if (!rill::test::waitForFinished(read) || read.resultCount() != 1)
            return lines;
        const ReadResult result = read.result();
        if (!result.isData()) {
            *end = result;
            return lines;
        }
        partial += result.data();
        for (qsizetype at; (at = partial.indexOf('\n')) >= 0;) {
            lines.append(partial.left(at));
            partial.remove(0, at + 1);
        }
    }
}

// The classic bug: takes every read for whole lines, so a line split across reads breaks.
QList<QByteArray> brokenParser(Flow *flow, ReadResult *end, std::chrono::milliseconds readTimeout)
{
    QList<QByteArray> lines;
    for (;;) {
        QFuture<ReadResult> read = flow->read(QDeadlineTimer(readTimeout));
        if (!rill::test::waitForFinished(read) || read.resultCount() != 1)
            return lines;
        const ReadResult result = read.result();
        if (!result.isData()) {
            *end = result;
            return lines;
        }
        QList<QByteArray> parts = result.data().split('\n');
        if (parts.last().isEmpty())
            parts.removeLast();
        lines += parts;
    }
}

const QByteArray Text = "HELLO world\nsecond line\n\nfourth, after an empty one\nthe end\n";

// Runs a parser over a faulty pipe carrying Text in one write; the lines it found.
struct ParserRun {
    QList<QByteArray> lines;
    ReadResult end;
};

ParserRun runParser(const LineParser &parser, const FaultPlan &plan)
{
    auto [ours, peer] = PipeFlow::createPair();
    FaultyFlow flow(std::move(ours), plan);
    peer->write(Text);
    peer->shutdown(Flow::Direction::Write);
    ParserRun run;
    // A stall is caught by the parser's read deadline; other plans must not meet it.
    run.lines = parser(&flow, &run.end,
        plan.outcome() == FaultPlan::Outcome::Stall ? StallWindow : rill::test::DefaultTimeout);
    return run;
}

// The lines of Text's first `bytes` bytes that are complete.
QList<QByteArray> completeLines(qsizetype bytes)
{
    const QByteArray head = Text.left(bytes);
    QList<QByteArray> lines = head.left(head.lastIndexOf('\n') + 1).split('\n');
    lines.removeLast();
    return lines;
}

QByteArray joined(const QList<QByteArray> &lines)
{
    return lines.join('|');
}

// ---- 2. pairs of flows

struct Pair {
    std::unique_ptr<Flow> ours;
    std::unique_ptr<Flow> peer;
    QString error;
};

Pair makePair(const QString &transport)
{
    Pair pair;
    if (transport == QLatin1String("pipe")) {
        auto [a, b] = PipeFlow::createPair();
        pair.ours = std::move(a);
        pair.peer = std::move(b);
        return pair;
    }
    rill::TcpListener listener;
    if (!listener.listen(QHostAddress::LocalHost, 0)) {
        pair.error = QStringLiteral("listen failed");
        return pair;
    }
    auto accepted = listener.accept();
    auto connected
        = rill::TcpFlow::connectToHost(QStringLiteral("127.0.0.1"), listener.serverPort());
    if (!rill::test::waitForFinished(accepted) || !rill::test::waitForFinished(connected)) {
        pair.error = QStringLiteral("connecting took too long");
        return pair;
    }
    auto a = accepted.result();
    auto c = connected.result();
    if (!a.isOk() || !c.isOk()) {
        pair.error = QStringLiteral("connecting failed");
        return pair;
    }
    pair.ours = c.takeFlow();
    pair.peer = a.takeFlow();
    return pair;
}

// The write ledger of a flow, as its signals tell it.
struct Ledger {
    explicit Ledger(Flow *flow)
    {
        QObject::connect(flow, &Flow::writeQueued, &context,
            [this](quint64 id, qint64 size) { queued.insert(id, size); });
        QObject::connect(
            flow, &Flow::writeAccepted, &context, [this](quint64 id) { accepted[id]++; });
        QObject::connect(flow, &Flow::writeRejected, &context,
            [this](quint64 id, const WriteResult &) { rejected[id]++; });
        QObject::connect(flow, &Flow::writeSent, &context, [this](quint64 id) { sent[id]++; });
        QObject::connect(
            flow, &Flow::writeLost, &context, [this](quint64 id, const Error &) { lost[id]++; });
    }

    // Empty if consistent for a flow that ended: every write accepted or rejected once, every
    // accepted one sent or lost once; else what is wrong.
    QString check() const
    {
        for (auto it = queued.cbegin(); it != queued.cend(); ++it) {
            const quint64 id = it.key();
            const int a = accepted.value(id), r = rejected.value(id);
            if (a + r != 1)
                return QStringLiteral("write %1: accepted %2 times, rejected %3 times")
                    .arg(id)
                    .arg(a)
                    .arg(r);
            const int s = sent.value(id), l = lost.value(id);
            if (a == 1 && s + l != 1)
                return QStringLiteral("write %1: sent %2 times, lost %3 times")
                    .arg(id)
                    .arg(s)
                    .arg(l);
            if (r == 1 && s + l != 0)
                return QStringLiteral("write %1 was rejected, then sent or lost").arg(id);
        }
        for (const auto *map : {&accepted, &rejected, &sent, &lost}) {
            for (auto it = map->cbegin(); it != map->cend(); ++it) {
                if (!queued.contains(it.key()))
                    return QStringLiteral("write %1 was never queued").arg(it.key());
            }
        }
        return {};
    }

    qint64 acceptedBytes() const
    {
        qint64 bytes = 0;
        for (auto it = accepted.cbegin(); it != accepted.cend(); ++it)
            bytes += queued.value(it.key());
        return bytes;
    }

    QObject context;
    QMap<quint64, qint64> queued;
    QMap<quint64, int> accepted, rejected, sent, lost;
};

bool isError(const ReadResult &result, Error::Kind kind)
{
    return result.isError() && result.error().kind() == kind;
}

} // namespace

class TestTestkit : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void lineParserUnderEveryFault_data();
    void lineParserUnderEveryFault();
    void brokenParserIsCaughtByOneByteSegments();

    void faultsKeepTheContract_data();
    void faultsKeepTheContract();
    void segmentsHaveThePlannedSizes();
    void delayedReadsArriveLate();
    void heldWritesWait();
    void shortStallResumes();

    void sameSeedSameSplit();
    void seedIsPrintedOnFailure();
    void failsWithRandomPlan(); // run only as the child of seedIsPrintedOnFailure

    void scriptPlaysAConversation();
    void scriptMatchesWritesWhateverTheirSplit();
    void scriptMismatchReportsOffsetAndBothSides();
    void scriptUnexpectedEndOfStream();
    void verifyListsUnplayedSteps();
    void scriptWaitsStallsAndResets();
    void scriptBehindFaults_data();
    void scriptBehindFaults();

    void readAllWithDeadlineConsumesNothingMore();
    void streamDifferenceIsReadable();
    void compareStreamsFailsTheTest();

    void cancelReadOnFaultyFlow();
    void deleteWithWritesWaiting();
    void wrapFlowThatFailed();
    void wrapNothing();
    void wrapConnectingFlow();
};

// ---- 1

void TestTestkit::lineParserUnderEveryFault_data()
{
    rill::test::addFaultRows(Text.size());
}

void TestTestkit::lineParserUnderEveryFault()
{
    RILL_FETCH_FAULTS(faults);
    const ParserRun run = runParser(correctParser, faults);
    const qsizetype middle = Text.size() / 2;
    switch (faults.outcome()) {
    case Outcome::Complete:
        QCOMPARE(run.lines, Text.chopped(1).split('\n'));
        QVERIFY(run.end.isEof());
        break;
    case Outcome::Stall: // the parser's read deadline caught it
        QCOMPARE(run.lines, completeLines(middle));
        break;
    case Outcome::Eof:
        QCOMPARE(run.lines, completeLines(middle));
        QVERIFY(run.end.isEof());
        break;
    case Outcome::Reset:
        QCOMPARE(run.lines, completeLines(middle));
        QVERIFY2(isError(run.end, Error::Kind::Reset), qPrintable(rilltest::debugString(run.end)));
        break;
    }
}

void TestTestkit::brokenParserIsCaughtByOneByteSegments()
{
    const QList<QByteArray> expected = Text.chopped(1).split('\n');
    // Whole writes hide the bug: one read carries every line.
    const ParserRun whole = runParser(brokenParser, FaultPlan());
    QCOMPARE(joined(whole.lines), joined(expected));
    // One byte a read shows it: the kit must catch it, so the broken result must differ.
    const ParserRun oneByte = runParser(brokenParser, FaultPlan().oneByte());
    QVERIFY(oneByte.end.isEof());
    QVERIFY2(oneByte.lines != expected, "one-byte segments did not expose the broken parser");
    QVERIFY(!rill::test::streamDifference(joined(oneByte.lines), joined(expected)).isEmpty());
    // And the correct parser passes the very same plan.
    const ParserRun correct = runParser(correctParser, FaultPlan().oneByte());
    QCOMPARE(correct.lines, expected);
}

// ---- 2

void TestTestkit::faultsKeepTheContract_data()
{
    QTest::addColumn<QString>("transport");
    QTest::addColumn<FaultPlan::Direction>("direction");
    QTest::addColumn<FaultPlan>("faults");
    for (const char *transport : {"pipe", "tcp"}) {
        for (Direction direction : {Direction::Read, Direction::Write}) {
            const char *side = direction == Direction::Read ? "reads" : "writes";
            for (const rill::test::FaultMode &mode :
                rill::test::faultModes(streamBytes(), direction)) {
                QTest::addRow("%s, %s, %s", transport, side, mode.name.constData())
                    << QString::fromLatin1(transport) << direction << mode.plan;
            }
        }
    }
}

void TestTestkit::faultsKeepTheContract()
{
    QFETCH(QString, transport);
    QFETCH(FaultPlan::Direction, direction);
    RILL_FETCH_FAULTS(faults);

    Pair pair = makePair(transport);
    QVERIFY2(pair.ours && pair.peer, qPrintable(pair.error));
    std::unique_ptr<Flow> peer = std::move(pair.peer);
    auto flow = std::make_unique<FaultyFlow>(std::move(pair.ours), faults);
    Ledger ledger(flow.get());

    const qint64 size = streamBytes();
    const qint64 middle = qMax<qint64>(size / 2, 1);
    const QByteArray toUs = rilltest::pattern(size, 1);
    const QByteArray fromUs = rilltest::pattern(size, 2);
    const Outcome outcome = faults.outcome();
    const bool readFault = direction == Direction::Read && outcome != Outcome::Complete;
    const bool writeFault = direction == Direction::Write && outcome != Outcome::Complete;

    // Ours writes in pieces (several writes to account for), then ends its side; so does the
    // peer, in one write.
    QList<QFuture<WriteResult>> ourWrites;
    for (qint64 at = 0; at < size; at += 512)
        ourWrites.append(flow->write(fromUs.mid(at, 512)));
    QFuture<WriteResult> ourShutdown = flow->shutdown(Flow::Direction::Write);
    QFuture<WriteResult> peerWrite = peer->write(toUs);
    QFuture<WriteResult> peerShutdown = peer->shutdown(Flow::Direction::Write);

    const rill::test::ReadAll ours = rill::test::readAll(flow.get(),
        QDeadlineTimer(
            readFault && outcome == Outcome::Stall ? StallWindow : rill::test::DefaultTimeout));
    const rill::test::ReadAll theirs = rill::test::readAll(peer.get(),
        QDeadlineTimer(
            writeFault && outcome == Outcome::Stall ? StallWindow : rill::test::DefaultTimeout));
    QVERIFY(!ours.emptySegment);
    QVERIFY(!theirs.emptySegment);

    // What we read.
    if (!readFault) {
        if (outcome == Outcome::Reset && ours.finished && ours.end.isError()) {
            // A reset injected into our writes fails the whole flow: reads end with it.
            QVERIFY(toUs.startsWith(ours.data));
            QVERIFY(isError(ours.end, Error::Kind::Reset));
        } else {
            RILL_COMPARE_STREAMS(ours.data, toUs);
            QVERIFY2(ours.isEof(), qPrintable(rilltest::debugString(ours.end)));
        }
    } else {
        RILL_COMPARE_STREAMS(ours.data, toUs.left(middle));
        switch (outcome) {
        case Outcome::Stall:
            QVERIFY2(!ours.finished, "a stalled stream ended");
            break;
        case Outcome::Eof:
            QVERIFY(ours.isEof());
            break;
        case Outcome::Reset:
            QVERIFY2(
                isError(ours.end, Error::Kind::Reset), qPrintable(rilltest::debugString(ours.end)));
            QCOMPARE(flow->error().kind(), Error::Kind::Reset);
            break;
        case Outcome::Complete:
            break;
        }
    }

    // What the peer read of ours.
    if (!writeFault) {
        if (outcome == Outcome::Reset) {
            // Our reads were reset: what was sent before may or may not have made it.
            QVERIFY(fromUs.startsWith(theirs.data));
            QVERIFY(theirs.finished);
        } else {
            RILL_COMPARE_STREAMS(theirs.data, fromUs);
            QVERIFY2(theirs.isEof(), qPrintable(rilltest::debugString(theirs.end)));
        }
    } else {
        switch (outcome) {
        case Outcome::Stall:
            RILL_COMPARE_STREAMS(theirs.data, fromUs.left(middle));
            QVERIFY2(!theirs.finished, "a stalled stream ended");
            break;
        case Outcome::Eof:
            RILL_COMPARE_STREAMS(theirs.data, fromUs.left(middle));
            QVERIFY(theirs.isEof());
            break;
        case Outcome::Reset:
            // A reset may drop what was still in flight (TCP discards it).
            QVERIFY(fromUs.left(middle).startsWith(theirs.data));
            QVERIFY(theirs.finished);
            if (transport == QLatin1String("pipe"))
                QVERIFY2(isError(theirs.end, Error::Kind::Reset),
                    qPrintable(rilltest::debugString(theirs.end)));
            break;
        case Outcome::Complete:
            break;
        }
        QCOMPARE(flow->bytesPassed(), middle);
    }

    // End it: close when all went well (both ends done), abort otherwise; then every future
    // finishes, and the ledger and the stats agree.
    QFuture<rill::CloseResult> closed = flow->close(QDeadlineTimer(rill::test::DefaultTimeout));
    if (outcome == Outcome::Complete) {
        QVERIFY(rill::test::waitForFinished(closed));
        QVERIFY2(
            closed.result().isOk(), qPrintable(rilltest::debugString(closed.result().error())));
    } else {
        flow->abort();
    }
    for (const QFuture<WriteResult> &write : std::as_const(ourWrites))
        QVERIFY2(rill::test::waitForFinished(write), "a write never finished");
    QVERIFY2(rill::test::waitForFinished(ourShutdown), "shutdown never finished");
    QVERIFY2(rill::test::waitForFinished(closed), "close never finished");
    peer->abort();
    QVERIFY(rill::test::waitForFinished(peerWrite));
    QVERIFY(rill::test::waitForFinished(peerShutdown));
    if (outcome == Outcome::Complete) {
        for (const QFuture<WriteResult> &write : std::as_const(ourWrites))
            QVERIFY(write.result().isOk());
        QVERIFY(ourShutdown.result().isOk());
    }

    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(ledger.queued.size(), ourWrites.size());
    const QString ledgerProblem = ledger.check();
    QVERIFY2(ledgerProblem.isEmpty(), qPrintable(ledgerProblem));
    const rill::FlowStats stats = flow->stats();
    QCOMPARE(stats.bytesRead, qint64(ours.data.size()));
    QCOMPARE(stats.bytesWritten, flow->bytesPassed());
    QCOMPARE(stats.bytesWritten + stats.bytesUnsent, ledger.acceptedBytes());
    QCOMPARE(flow->bytesDelivered(), qint64(ours.data.size()));
}

void TestTestkit::segmentsHaveThePlannedSizes()
{
    const QByteArray data = rilltest::pattern(100, 3);
    for (const qsizetype segment : {1, 7, 64}) {
        auto [ours, peer] = PipeFlow::createPair();
        FaultyFlow flow(std::move(ours), FaultPlan().segments(segment));
        peer->write(data);
        peer->shutdown(Flow::Direction::Write);
        QByteArray got;
        for (;;) {
            auto read = flow.read();
            QVERIFY(rill::test::waitForFinished(read));
            const ReadResult result = read.result();
            if (!result.isData())
                break;
            const qsizetype expected = qMin(segment, data.size() - got.size());
            QCOMPARE(result.data().size(), expected);
            got += result.data();
        }
        RILL_COMPARE_STREAMS(got, data);
    }
}

void TestTestkit::delayedReadsArriveLate()
{
    auto [ours, peer] = PipeFlow::createPair();
    FaultyFlow flow(std::move(ours), FaultPlan().delay(30ms));
    QElapsedTimer clock;
    clock.start();
    peer->write("x");
    auto read = flow.read();
    QVERIFY(rill::test::waitForFinished(read));
    QCOMPARE(read.result().data(), QByteArray("x"));
    QVERIFY2(clock.elapsed() >= 30, qPrintable(QString::number(clock.elapsed())));
}

void TestTestkit::heldWritesWait()
{
    auto [ours, peer] = PipeFlow::createPair();
    FaultyFlow flow(std::move(ours), FaultPlan().holdWrites(20ms));
    QCOMPARE(flow.highWaterMark(), qint64(1));
    auto first = flow.write("a");
    auto second = flow.write("b");
    QVERIFY(rill::test::waitForFinished(first));
    QVERIFY(first.result().isOk());
    // The second waits as if above the high-water mark until the first was handed on.
    QVERIFY(!second.isFinished());
    QCOMPARE(flow.writesWaiting(), 1);
    QVERIFY(rill::test::waitForFinished(second));
    QVERIFY(second.result().isOk());
    QCOMPARE(rill::test::readAll(peer.get(), QDeadlineTimer(StallWindow)).data, QByteArray("ab"));
}

void TestTestkit::shortStallResumes()
{
    auto [ours, peer] = PipeFlow::createPair();
    FaultyFlow flow(std::move(ours), FaultPlan().stallAfter(3, Direction::Read, 20ms));
    QSignalSpy faults(&flow, &FaultyFlow::faultInjected);
    peer->write("abcdef");
    peer->shutdown(Flow::Direction::Write);
    const rill::test::ReadAll all = rill::test::readAll(&flow);
    QCOMPARE(all.data, QByteArray("abcdef"));
    QVERIFY(all.isEof());
    QCOMPARE(faults.size(), 1);
    QCOMPARE(faults.at(0).at(0).value<FaultPlan::Direction>(), Direction::Read);
}

// ---- 3

void TestTestkit::sameSeedSameSplit()
{
    const QByteArray data = rilltest::pattern(300, 4);
    const auto sizes = [&](quint64 seed) {
        auto [ours, peer] = PipeFlow::createPair();
        FaultyFlow flow(std::move(ours), FaultPlan().randomSegments(9).setSeed(seed));
        peer->write(data);
        peer->shutdown(Flow::Direction::Write);
        QList<qsizetype> sizes;
        QByteArray got;
        for (;;) {
            auto read = flow.read();
            if (!rill::test::waitForFinished(read) || !read.result().isData())
                break;
            sizes.append(read.result().data().size());
            got += read.result().data();
        }
        if (got != data)
            sizes.clear();
        return sizes;
    };
    const QList<qsizetype> first = sizes(77);
    QVERIFY(!first.isEmpty());
    QCOMPARE(sizes(77), first);
    QVERIFY(sizes(78) != first);
    for (qsizetype size : first)
        QVERIFY(size >= 1 && size <= 9);
    // Without setSeed() the process's seed is used, forced by RILL_TEST_SEED if set.
    QCOMPARE(FaultPlan().seed(), FaultPlan::defaultSeed());
    bool forced = false;
    const quint64 variable = qEnvironmentVariable(FaultPlan::SeedVariable).toULongLong(&forced, 0);
    if (forced)
        QCOMPARE(FaultPlan::defaultSeed(), variable);
}

void TestTestkit::seedIsPrintedOnFailure()
{
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("RILL_TEST_SEED"), QStringLiteral("4242"));
    env.insert(QStringLiteral("RILL_TESTKIT_CHILD"), QStringLiteral("1"));
    child.setProcessEnvironment(env);
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(), {QStringLiteral("failsWithRandomPlan")});
    QVERIFY(child.waitForStarted());
    QVERIFY(child.waitForFinished(int(rill::test::DefaultTimeout.count())));
    const QString output = QString::fromLocal8Bit(child.readAll());
    QVERIFY2(child.exitCode() != 0, qPrintable(output));
    QVERIFY2(output.contains(QLatin1String("FAIL!  : TestTestkit::failsWithRandomPlan()")),
        qPrintable(output));
    QVERIFY2(output.contains(QLatin1String("replay with RILL_TEST_SEED=4242")), qPrintable(output));
}

void TestTestkit::failsWithRandomPlan()
{
    if (qEnvironmentVariableIsEmpty("RILL_TESTKIT_CHILD"))
        QSKIP("runs only as the child of seedIsPrintedOnFailure");
    const FaultPlan plan = FaultPlan().randomSegments(5);
    const rill::test::SeedReporter reporter(plan);
    QCOMPARE(plan.seed(), quint64(4242));
    QFAIL("failing on purpose, to print the seed");
}

// ---- 4

namespace {

// A tiny server under test: reads a line, answers it in two writes, then echoes until Eof and
// closes its side.
void runGreeter(Flow *flow, QList<QFuture<WriteResult>> *writes)
{
    flow->read().then(flow, [flow, writes](const ReadResult &hello) {
        if (!hello.isData())
            return;
        writes->append(flow->write("O"));
        writes->append(flow->write("K\r\n"));
        auto loop = std::make_shared<std::function<void()>>();
        *loop = [flow, writes, loop] {
            flow->read().then(flow, [flow, writes, loop](const ReadResult &result) {
                if (result.isData()) {
                    writes->append(flow->write(result.data()));
                    (*loop)();
                } else {
                    writes->append(flow->shutdown(Flow::Direction::Write));
                    *loop = nullptr; // breaks the cycle
                }
            });
        };
        (*loop)();
    });
}

} // namespace

void TestTestkit::scriptPlaysAConversation()
{
    ScriptedFlow flow(Script()
                          .send("HELLO\r\n")
                          .expect("OK\r\n")
                          .send("ping\n")
                          .expect("ping\n")
                          .eof()
                          .expectEof());
    QSignalSpy finished(&flow, &ScriptedFlow::finished);
    QList<QFuture<WriteResult>> writes;
    runGreeter(&flow, &writes);
    QTRY_VERIFY2_WITH_TIMEOUT(flow.isFinished(), qPrintable(flow.report()), 15000);
    QCOMPARE(finished.size(), 1);
    QVERIFY(flow.unplayed().isEmpty());
    QVERIFY(flow.report().isEmpty());
    QVERIFY(flow.verify());
    QCOMPARE(flow.written(), QByteArray("OK\r\nping\n"));
    for (const auto &write : std::as_const(writes)) {
        QVERIFY(rill::test::waitForFinished(write));
        QVERIFY(write.result().isOk());
    }
    auto closed = flow.close();
    QVERIFY(rill::test::waitForFinished(closed));
    QVERIFY(closed.result().isOk());
}

void TestTestkit::scriptMatchesWritesWhateverTheirSplit()
{
    const QByteArray message = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    for (qsizetype piece : {1, 2, 5, 100}) {
        // The script's own steps split the message differently from the writes.
        ScriptedFlow flow(Script().expect(message.left(10)).expect(message.mid(10)).expectEof());
        const WriteResult result = rill::test::writeAll(&flow, message, piece, true);
        QVERIFY2(result.isOk(), qPrintable(rilltest::debugString(result)));
        QTRY_VERIFY_WITH_TIMEOUT(flow.isFinished(), 15000);
        QVERIFY(flow.verify());
    }
}

void TestTestkit::scriptMismatchReportsOffsetAndBothSides()
{
    ScriptedFlow flow(Script().send("HELLO\r\n").expect("OK\r\nREADY\r\n").eof());
    QSignalSpy mismatches(&flow, &ScriptedFlow::mismatchFound);
    auto hello = flow.read();
    QVERIFY(rill::test::waitForFinished(hello));
    auto pendingRead = flow.read(); // waits: the script sends nothing more before the expect
    flow.write("OK\r\nREDY\r\n");
    QTRY_COMPARE_WITH_TIMEOUT(mismatches.size(), 1, 15000);
    const QList<rill::test::ScriptMismatch> found = flow.mismatches();
    QCOMPARE(found.size(), 1);
    QCOMPARE(found.at(0).step, 1);
    QCOMPARE(found.at(0).offset, qint64(6)); // "OK\r\nRE" matched, 'D' is not 'A'
    QCOMPARE(found.at(0).expected, QByteArray("ADY\r\n"));
    QCOMPARE(found.at(0).actual, QByteArray("DY\r\n"));
    const QString text = found.at(0).description;
    QVERIFY2(text.contains(QLatin1String("first difference at offset 6")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("actual: \"OK\\r\\nREDY\\r\\n\"")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("expected: \"OK\\r\\nREADY\\r\\n\"")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("step 2 (expect")), qPrintable(text));
    // The play ended: the flow failed, so the code under test does not hang.
    QVERIFY(rill::test::waitForFinished(pendingRead));
    QVERIFY(pendingRead.result().isError());
    QCOMPARE(flow.error().kind(), Error::Kind::Other);
    QVERIFY(!flow.isFinished());
    QVERIFY(flow.report().contains(text));
    QVERIFY(flow.report().contains(QLatin1String("step 3: eof")));
    QEXPECT_FAIL("", "verify() must fail after a mismatch", Continue);
    // The last check: had verify() not failed, QTest would fail the expectation unmet.
    flow.verify();
}

void TestTestkit::scriptUnexpectedEndOfStream()
{
    ScriptedFlow flow(Script().expect("QUIT\r\n"));
    QSignalSpy mismatches(&flow, &ScriptedFlow::mismatchFound);
    flow.write("QU");
    flow.shutdown(Flow::Direction::Write);
    QTRY_COMPARE_WITH_TIMEOUT(mismatches.size(), 1, 15000);
    const rill::test::ScriptMismatch mismatch = flow.mismatches().value(0);
    QCOMPARE(mismatch.offset, qint64(2));
    QCOMPARE(mismatch.expected, QByteArray("IT\r\n"));
    QVERIFY2(mismatch.description.contains(QLatin1String("ended its stream")),
        qPrintable(mismatch.description));
    // Bytes after the script's end are a mismatch too.
    ScriptedFlow shortScript(Script().expect("A"));
    QSignalSpy extra(&shortScript, &ScriptedFlow::mismatchFound);
    shortScript.write("AB");
    QTRY_COMPARE_WITH_TIMEOUT(extra.size(), 1, 15000);
    QCOMPARE(shortScript.mismatches().value(0).offset, qint64(1));
    QCOMPARE(shortScript.mismatches().value(0).actual, QByteArray("B"));
}

void TestTestkit::verifyListsUnplayedSteps()
{
    ScriptedFlow flow(Script().send("one\n").expect("two\n").send("three\n").eof());
    auto read = flow.read();
    QVERIFY(rill::test::waitForFinished(read));
    flow.write("tw");
    QTRY_COMPARE_WITH_TIMEOUT(flow.written(), QByteArray("tw"), 15000);
    QCOMPARE(flow.currentStep(), 1);
    const QStringList left = flow.unplayed();
    QCOMPARE(left.size(), 3);
    QCOMPARE(left.at(0), QStringLiteral("step 2: expect \"two\\n\" (2 of 4 bytes matched)"));
    QCOMPARE(left.at(1), QStringLiteral("step 3: send \"three\\n\""));
    QCOMPARE(left.at(2), QStringLiteral("step 4: eof"));
    QVERIFY(flow.mismatches().isEmpty());
    QVERIFY(flow.report().startsWith(QLatin1String("left unplayed:")));
    QEXPECT_FAIL("", "verify() must fail with steps left unplayed", Continue);
    // The last check: had verify() not failed, QTest would fail the expectation unmet.
    flow.verify();
}

void TestTestkit::scriptWaitsStallsAndResets()
{
    {
        ScriptedFlow flow(Script().wait(30ms).send("late"));
        QElapsedTimer clock;
        clock.start();
        auto read = flow.read();
        QVERIFY(rill::test::waitForFinished(read));
        QCOMPARE(read.result().data(), QByteArray("late"));
        QVERIFY2(clock.elapsed() >= 30, qPrintable(QString::number(clock.elapsed())));
    }
    {
        bool ready = false;
        ScriptedFlow flow(
            Script().waitUntil([&ready] { return ready; }, QStringLiteral("ready")).send("go"));
        QCOMPARE(flow.unplayed().value(0), QStringLiteral("step 1: wait until ready"));
        auto read = flow.read();
        QTimer::singleShot(10ms, [&ready] { ready = true; });
        QVERIFY(rill::test::waitForFinished(read));
        QCOMPARE(read.result().data(), QByteArray("go"));
        QVERIFY(ready);
    }
    {
        // A stalled peer takes nothing: writes wait at the high-water mark, and an abort
        // finishes them.
        ScriptedFlow flow(Script().stall());
        flow.setHighWaterMark(1);
        auto first = flow.write("a");
        auto second = flow.write("b");
        QVERIFY(rill::test::waitForFinished(first));
        QVERIFY(!rill::test::waitForFinished(second, QDeadlineTimer(StallWindow)));
        QCOMPARE(flow.unplayed(), QStringList {QStringLiteral("step 1: stall")});
        flow.abort();
        QVERIFY(rill::test::waitForFinished(second));
        QVERIFY(rilltest::isKind(second.result(), Error::Kind::Aborted));
    }
    {
        ScriptedFlow flow(Script().send("partial").reset());
        const rill::test::ReadAll all = rill::test::readAll(&flow);
        QCOMPARE(all.data, QByteArray("partial"));
        QVERIFY(isError(all.end, Error::Kind::Reset));
        QVERIFY(flow.verify()); // the reset was scripted: nothing is left
    }
}

void TestTestkit::scriptBehindFaults_data()
{
    QTest::addColumn<FaultPlan>("faults");
    using D = Direction;
    QTest::newRow("one byte") << FaultPlan().oneByte(D::Read).oneByte(D::Write);
    QTest::newRow("random split")
        << FaultPlan().randomSegments(3, D::Read).randomSegments(3, D::Write);
    QTest::newRow("held writes") << FaultPlan().holdWrites(1ms);
}

// A scripted peer behind a FaultyFlow: the script is played whatever the split, both ways.
void TestTestkit::scriptBehindFaults()
{
    RILL_FETCH_FAULTS(faults);
    auto script = std::make_unique<ScriptedFlow>(
        Script().send("HELLO\r\n").expect("OK\r\n").eof().expectEof());
    ScriptedFlow *peer = script.get();
    FaultyFlow flow(std::move(script), faults);
    // The script ends its side only after our answer.
    const WriteResult answered = rill::test::writeAll(&flow, "OK\r\n");
    QVERIFY2(answered.isOk(), qPrintable(rilltest::debugString(answered)));
    const rill::test::ReadAll hello = rill::test::readAll(&flow);
    QCOMPARE(hello.data, QByteArray("HELLO\r\n"));
    QVERIFY(hello.isEof());
    auto shutdown = flow.shutdown(Flow::Direction::Write);
    QVERIFY(rill::test::waitForFinished(shutdown));
    QVERIFY(shutdown.result().isOk());
    QTRY_VERIFY2_WITH_TIMEOUT(peer->isFinished(), qPrintable(peer->report()), 15000);
    QVERIFY(peer->verify());
    QCOMPARE(flow.innerFlow(), peer);
}

// ---- 5

void TestTestkit::readAllWithDeadlineConsumesNothingMore()
{
    auto [ours, peer] = PipeFlow::createPair();
    peer->write("abc");
    const rill::test::ReadAll first = rill::test::readAll(ours.get(), QDeadlineTimer(StallWindow));
    QCOMPARE(first.data, QByteArray("abc"));
    QVERIFY(!first.finished);
    // The read waiting at the deadline was withdrawn: the next bytes go to the next read.
    peer->write("def");
    peer->shutdown(Flow::Direction::Write);
    const rill::test::ReadAll second = rill::test::readAll(ours.get());
    QCOMPARE(second.data, QByteArray("def"));
    QVERIFY(second.isEof());
}

void TestTestkit::streamDifferenceIsReadable()
{
    QVERIFY(rill::test::streamDifference("same", "same").isEmpty());
    const QString text = rill::test::streamDifference("HELLO\r\nW0RLD", "HELLO\r\nWORLD\r\n");
    QVERIFY2(text.startsWith(
                 QLatin1String("first difference at offset 8 (actual 12 bytes, expected 14)")),
        qPrintable(text));
    const QStringList lines = text.split(QLatin1Char('\n'));
    QCOMPARE(lines.size(), 4);
    QCOMPARE(lines.at(1), QStringLiteral("   actual: \"HELLO\\r\\nW0RLD\""));
    QCOMPARE(lines.at(3), QStringLiteral(" expected: \"HELLO\\r\\nWORLD\\r\\n\""));
    // The caret stands under the '0'.
    QCOMPARE(lines.at(2).indexOf(QLatin1Char('^')), lines.at(1).indexOf(QLatin1Char('0')));
    QVERIFY(rill::test::streamDifference("ab", "abc")
                .startsWith(QLatin1String("actual ends at offset 2")));
    QVERIFY(rill::test::streamDifference("abcd", "ab")
                .startsWith(QLatin1String("actual has 2 bytes more")));
    QCOMPARE(rill::test::printable("a\x01\"\n"), QStringLiteral("\"a\\x01\\\"\\n\""));
}

void TestTestkit::compareStreamsFailsTheTest()
{
    RILL_COMPARE_STREAMS(QByteArray("equal"), QByteArray("equal"));
    QEXPECT_FAIL("", "the streams differ", Abort);
    RILL_COMPARE_STREAMS(QByteArray("abc"), QByteArray("abd"));
}

// ---- 6

void TestTestkit::cancelReadOnFaultyFlow()
{
    auto [ours, peer] = PipeFlow::createPair();
    FaultyFlow flow(std::move(ours), FaultPlan().oneByte().delay(20ms));
    auto cancelled = flow.read();
    peer->write("xy");
    cancelled.cancel();
    QVERIFY(rill::test::waitForFinished(cancelled));
    QCOMPARE(cancelled.resultCount(), 0);
    peer->shutdown(Flow::Direction::Write);
    const rill::test::ReadAll all = rill::test::readAll(&flow);
    QCOMPARE(all.data, QByteArray("xy"));
    QVERIFY(all.isEof());
}

void TestTestkit::deleteWithWritesWaiting()
{
    auto [ours, peer] = PipeFlow::createPair();
    auto flow = std::make_unique<FaultyFlow>(
        std::move(ours), FaultPlan().holdWrites(1000ms).stallAfter(0, Direction::Write));
    QList<QFuture<WriteResult>> writes;
    for (int i = 0; i < 5; ++i)
        writes.append(flow->write(QByteArray(10, 'x')));
    auto read = flow->read();
    auto shutdown = flow->shutdown(Flow::Direction::Write);
    QVERIFY(writes.at(0).isFinished() || rill::test::waitForFinished(writes.at(0)));
    QVERIFY(!writes.at(1).isFinished());
    flow.reset();
    for (const auto &write : std::as_const(writes))
        QVERIFY(rill::test::waitForFinished(write));
    QVERIFY(rill::test::waitForFinished(read));
    QVERIFY(rill::test::waitForFinished(shutdown));
    QVERIFY(rilltest::isKind(writes.at(1).result(), Error::Kind::Aborted));
    QVERIFY(isError(read.result(), Error::Kind::Aborted));
    // The peer sees the wrapped flow go away as a reset.
    const rill::test::ReadAll theirs = rill::test::readAll(peer.get());
    QVERIFY(theirs.data.isEmpty());
    QVERIFY(isError(theirs.end, Error::Kind::Reset));
}

void TestTestkit::wrapFlowThatFailed()
{
    auto [ours, peer] = PipeFlow::createPair();
    peer.reset(); // ours is reset
    QTRY_COMPARE_WITH_TIMEOUT(ours->state(), Flow::State::Closed, 15000);
    const Error original = ours->error();
    QCOMPARE(original.kind(), Error::Kind::Reset);
    FaultyFlow flow(std::move(ours), FaultPlan().oneByte());
    auto read = flow.read();
    auto write = flow.write("x");
    QVERIFY(rill::test::waitForFinished(read));
    QVERIFY(rill::test::waitForFinished(write));
    QVERIFY(isError(read.result(), Error::Kind::Reset));
    // A write made while the flow was still connecting may have been accepted before it failed.
    QVERIFY(write.result().isOk() || rilltest::isKind(write.result(), Error::Kind::Reset));
    QCOMPARE(flow.error().kind(), Error::Kind::Reset);
    QCOMPARE(flow.state(), Flow::State::Closed);
    auto later = flow.write("y");
    QVERIFY(rill::test::waitForFinished(later));
    QVERIFY(rilltest::isKind(later.result(), Error::Kind::Reset));
}

void TestTestkit::wrapNothing()
{
    FaultyFlow flow(nullptr);
    auto read = flow.read();
    QVERIFY(rill::test::waitForFinished(read));
    QVERIFY(isError(read.result(), Error::Kind::InvalidArgument));
    QCOMPARE(flow.innerFlow(), nullptr);
}

void TestTestkit::wrapConnectingFlow()
{
    rill::TcpListener listener;
    QVERIFY(listener.listen(QHostAddress::LocalHost, 0));
    auto *socket = new QTcpSocket;
    socket->connectToHost(QHostAddress::LocalHost, listener.serverPort());
    FaultyFlow flow(std::make_unique<rill::TcpFlow>(socket), FaultPlan().oneByte());
    QCOMPARE(flow.state(), Flow::State::Connecting);
    auto write = flow.write("hi");
    auto accepted = listener.accept();
    QVERIFY(rill::test::waitForFinished(accepted));
    std::unique_ptr<rill::TcpFlow> peer = accepted.result().takeFlow();
    QVERIFY(peer);
    QTRY_COMPARE_WITH_TIMEOUT(flow.state(), Flow::State::Open, 15000);
    QVERIFY(rill::test::waitForFinished(write));
    QVERIFY(write.result().isOk());
    flow.shutdown(Flow::Direction::Write);
    const rill::test::ReadAll theirs = rill::test::readAll(peer.get());
    QCOMPARE(theirs.data, QByteArray("hi"));
    QVERIFY(theirs.isEof());
    QVERIFY(flow.peerEndpoint().isValid());
}

QTEST_GUILESS_MAIN(TestTestkit)
#include "tst_testkit.moc"
