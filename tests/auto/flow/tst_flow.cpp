// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// The Flow contract, checked on PipeFlow:
//   1. read: data (>= 1 byte), Eof or an error; pending reads served in call order; sticky ends.
//   2. write/writev: resolve on acceptance; the high-water mark; writesWaiting; Ok/Eof/error;
//      writev contiguity; empty writes; sticky failures.
//   3. close: flush, half-close, keep reading, resolve when the peer closed too.
//   4. shutdown(Write/Read/ReadWrite), abort, destruction: no future is ever left unfinished.
//   5. threads: calls from any thread, result() from other threads, then(context, f).
//   6. what can be observed: states and their signals, the write ledger, stats, bytesQueued,
//      highWaterMark, dataArrived/dataSent, errorOccurred.
#include "../shared/testutil.h"

#include <rill/flow.h>
#include <rill/pipeflow.h>

#include <QtCore/QFutureWatcher>
#include <QtCore/QProcess>
#include <QtCore/QSemaphore>
#include <QtTest/QtTest>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

namespace {

struct Pair
{
    std::unique_ptr<PipeFlow> a;
    std::unique_ptr<PipeFlow> b;
};

Pair makePair(qint64 bufferSize = PipeFlow::DefaultBufferSize)
{
    auto [a, b] = PipeFlow::createPair(bufferSize);
    return {std::move(a), std::move(b)};
}

QByteArray concatenated(const QList<QList<QVariant>> &spy, int argument = 0)
{
    QByteArray all;
    for (const QList<QVariant> &args : spy)
        all += args.at(argument).toByteArray();
    return all;
}

} // namespace

class TestFlow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // 1. read
    void readDeliversTheStreamInOrder();
    void pendingReadsAreServedInCallOrder();
    void eofIsSticky();
    void pendingReadsAllGetEof();
    void readErrorIsSticky();
    void eofStaysEofAfterPeerReset();

    // 2. write / writev
    void writeResolvesOnAcceptanceNotDelivery();
    void defaultHighWaterMark();
    void highWaterMarkIsPerFlow();
    void writesWaitAtHighWaterMark();
    void writesResolveAsThePeerReads();
    void writeLargerThanHighWaterMarkIsAccepted();
    void raisingHighWaterMarkReleasesWaitingWrites();
    void writevKeepsBuffersContiguousAndInOrder();
    void emptyWritesAreOkNoOps();
    void emptyWriteDoesNotWaitBehindBackpressure();
    void writeAfterShutdownWriteIsEof();
    void writeAfterCloseIsEof();
    void waitingWritesAreFlushedByShutdown();
    void writeFailureAfterPeerResetIsSticky();
    void writeEofStaysEofAfterAbort();
    void writeEofStaysEofAfterPeerReset();

    // 3. close
    void closeFlushesHalfClosesAndWaitsForThePeer();
    void secondCloseResolvesWithTheFirst();
    void closeResolvesWithoutAnyRead();
    void closeAfterClosedResolves();
    void closeAfterPeerHalfClosed();

    // 4. shutdown, abort, destruction
    void shutdownWriteDoesNotWaitForThePeer();
    void shutdownReadGivesEofAndDiscards();
    void shutdownReadEndsPendingReads();
    void shutdownReadWrite();
    void abortResetsThePeer();
    void abortFinishesEveryPendingFuture();
    void operationsAfterAbort();
    void destroyFinishesEveryPendingFuture();

    // 5. threads
    void workerThreadFlowsWithBlockingResults();
    void continuationsRunOnTheFlowThread();
    void continuationsOnTheMainThread();
    void callsFromAnotherThreadKeepTheirOrder();
    void writevFromManyThreadsStaysContiguous();
    void queuedCallToADestroyedFlowResolvesAborted();
    void destroyInWorkerFinishesOtherThreadsFutures();
    void abortFromAnotherThread();
    void threadFinishingFinishesFutures();
    void threadFinishingAfterMoveFinishesFutures();
    void movedToAnEndedThread();

    // 6. observation
    void stateSignalsFollowTheFlow();
    void closeStateSequence();
    void writeLedger();
    void writeLedgerRejectsAfterReset();
    void statsCountBytesAndOps();
    void bytesQueuedTracksTheSendQueue();
    void writesWaitingIsCounted();
    void dataArrivedAndDataSent();
    void errorOccurredAndError();
    void propertiesMatchGetters();
    void abortFromAHandler_data();
    void abortFromAHandler();
    void receiverDestroyedWhileConnected();
};

// ---------------------------------------------------------------------------------------------
// 1. read

void TestFlow::readDeliversTheStreamInOrder()
{
    auto [a, b] = makePair();
    const QByteArray one = pattern(10, 1), two = pattern(70000, 2), three = pattern(3, 3);
    a->write(one);
    a->write(two);
    a->write(three);
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, one + two + three, ReadResult::eof());
    QVERIFY2(d.dataReads >= 1, "no read resolved with data");
}

void TestFlow::pendingReadsAreServedInCallOrder()
{
    auto [a, b] = makePair();
    QList<int> finishOrder;
    std::vector<QFuture<ReadResult>> reads;
    for (int i = 0; i < 6; ++i) {
        reads.push_back(b->read());
        reads.back().then([&finishOrder, i](const ReadResult &) { finishOrder.append(i); });
    }
    for (const auto &r : reads)
        QVERIFY2(!r.isFinished(), "a read finished before anything was written");

    a->write("1");
    a->write("22");
    a->write("333");
    a->shutdown(Flow::Direction::Write);
    for (auto &r : reads)
        RILL_AWAIT_VOID(r);

    QCOMPARE(finishOrder, (QList<int>{0, 1, 2, 3, 4, 5}));
    QByteArray data;
    bool ended = false;
    for (int i = 0; i < 6; ++i) {
        ReadResult r;
        RILL_RESULT(reads[size_t(i)], r);
        if (r.isData()) {
            QVERIFY2(!ended, qPrintable(QStringLiteral("read %1 gave data after an earlier Eof").arg(i)));
            QVERIFY2(!r.data().isEmpty(), "a read resolved with zero bytes");
            data += r.data();
        } else {
            QCOMPARE(r, ReadResult::eof());
            ended = true;
        }
    }
    QCOMPARE(data, QByteArrayLiteral("122333"));
    QVERIFY2(ended, "the reads after the data did not get Eof");
}

void TestFlow::eofIsSticky()
{
    auto [a, b] = makePair();
    a->write("xyz");
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("xyz"), ReadResult::eof());
    for (int i = 0; i < 3; ++i) {
        auto f = b->read();
        ReadResult r;
        RILL_AWAIT(f, r);
        QVERIFY2(r.isEof(), qPrintable(QStringLiteral("read %1 after Eof gave %2").arg(i).arg(debugString(r))));
    }
    QCOMPARE(b->readState(), Flow::ReadState::Eof);
}

void TestFlow::pendingReadsAllGetEof()
{
    auto [a, b] = makePair();
    auto r1 = b->read(), r2 = b->read(), r3 = b->read();
    a->shutdown(Flow::Direction::Write);
    for (auto *f : {&r1, &r2, &r3}) {
        ReadResult r;
        RILL_AWAIT(*f, r);
        QVERIFY2(r.isEof(), qPrintable(QStringLiteral("a pending read gave %1 instead of Eof").arg(debugString(r))));
    }
}

void TestFlow::readErrorIsSticky()
{
    auto [a, b] = makePair();
    auto pending = b->read();
    a->abort();
    ReadResult first;
    RILL_AWAIT(pending, first);
    QVERIFY2(first.isError(), qPrintable(QStringLiteral("read after peer abort gave ") + debugString(first)));
    QCOMPARE(first.error().kind(), Error::Kind::Reset);
    for (int i = 0; i < 3; ++i) {
        auto f = b->read();
        ReadResult again;
        RILL_AWAIT(f, again);
        QVERIFY2(again == first, qPrintable(QStringLiteral("the read error is not sticky: %1 then %2")
                                                    .arg(debugString(first), debugString(again))));
    }
    QCOMPARE(b->readState(), Flow::ReadState::Failed);
}

void TestFlow::eofStaysEofAfterPeerReset()
{
    auto [a, b] = makePair();
    a->shutdown(Flow::Direction::Write);
    auto eof = b->read();
    ReadResult r;
    RILL_AWAIT(eof, r);
    QCOMPARE(r, ReadResult::eof());
    a->abort();
    QVERIFY2(spinUntil([&] { return b->state() == Flow::State::Closed; }),
             "the peer of an aborted flow never noticed the reset");
    auto later = b->read();
    RILL_AWAIT(later, r);
    QVERIFY2(r.isEof(), qPrintable(QStringLiteral("Eof is not sticky: after a reset a read gave ") + debugString(r)));
}

// ---------------------------------------------------------------------------------------------
// 2. write / writev

void TestFlow::writeResolvesOnAcceptanceNotDelivery()
{
    auto [a, b] = makePair(1);
    QSignalSpy arrived(b.get(), &Flow::dataArrived);
    const auto flowsFirst = destroyFirst(a, b);
    const QByteArray data = pattern(100 * 1024);
    auto w = a->write(data);
    WriteResult r;
    RILL_AWAIT(w, r);
    QCOMPARE(r, WriteResult::ok());
    QCOMPARE(b->stats().bytesRead, 0); // b never read: the write resolved without the peer
    QVERIFY2(b->stats().readOps == 0, "the peer read although nobody called read()");
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, data, ReadResult::eof());
    QCOMPARE(concatenated(arrived), data);
}

void TestFlow::defaultHighWaterMark()
{
    QCOMPARE(Flow::DefaultHighWaterMark, qint64(1024 * 1024));
    auto [a, b] = makePair();
    QCOMPARE(a->highWaterMark(), Flow::DefaultHighWaterMark);
    QCOMPARE(b->highWaterMark(), Flow::DefaultHighWaterMark);
    QCOMPARE(a->property("highWaterMark").toLongLong(), Flow::DefaultHighWaterMark);
}

void TestFlow::highWaterMarkIsPerFlow()
{
    auto [a, b] = makePair();
    QSignalSpy changed(a.get(), &Flow::highWaterMarkChanged);
    const auto flowsFirst = destroyFirst(a, b);
    a->setHighWaterMark(1000);
    QCOMPARE(a->highWaterMark(), qint64(1000));
    QCOMPARE(b->highWaterMark(), Flow::DefaultHighWaterMark);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toLongLong(), qint64(1000));
    QVERIFY2(a->setProperty("highWaterMark", qint64(2000)), "highWaterMark is not a writable property");
    QCOMPARE(a->highWaterMark(), qint64(2000));
    QCOMPARE(changed.count(), 2);
}

void TestFlow::writesWaitAtHighWaterMark()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(1000);
    QSignalSpy waiting(a.get(), &Flow::writesWaitingChanged);
    const auto flowsFirst = destroyFirst(a, b);
    const QByteArray chunk = pattern(600, 7);
    auto w1 = a->write(chunk);
    auto w2 = a->write(chunk); // the queue holds 600 < 1000: accepted
    WriteResult r;
    RILL_AWAIT(w1, r);
    QCOMPARE(r, WriteResult::ok());
    RILL_AWAIT(w2, r);
    QCOMPARE(r, WriteResult::ok());
    // Nothing ran in between: the queue is exactly what was accepted, at or above the mark.
    QCOMPARE(a->bytesQueued(), qint64(1200));
    auto w3 = a->write(chunk);
    auto w4 = a->write("x");
    QVERIFY2(!w3.isFinished() && !w4.isFinished(),
             "a write resolved while the queue was at or above the high-water mark");
    QCOMPARE(a->writesWaiting(), 2);
    QVERIFY2(!waiting.isEmpty() && waiting.last().at(0).toInt() == 2,
             "writesWaitingChanged did not report 2");
    // The peer reads: the waiting writes resolve Ok, in order, and the bytes arrive intact.
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, chunk + chunk + chunk + "x", ReadResult::eof());
    RILL_AWAIT(w3, r);
    QCOMPARE(r, WriteResult::ok());
    RILL_AWAIT(w4, r);
    QCOMPARE(r, WriteResult::ok());
    QCOMPARE(a->writesWaiting(), 0);
    QCOMPARE(waiting.last().at(0).toInt(), 0);
}

void TestFlow::writesResolveAsThePeerReads()
{
    // Much more than the pipe and the reader can hold: most writes must wait, and every
    // observation point must show the rule "writes wait only while bytesQueued >= mark".
    auto [a, b] = makePair(1024);
    const qint64 mark = 4096;
    a->setHighWaterMark(mark);
    std::vector<QFuture<WriteResult>> writes;
    QByteArray expected;
    for (int i = 0; i < 300; ++i) {
        const QByteArray chunk = pattern(1024, quint32(i + 100));
        expected += chunk;
        writes.push_back(a->write(chunk));
    }
    QVERIFY2(a->writesWaiting() > 0, "no write is waiting after 300 KiB with a 4 KiB mark");
    auto checkRule = [&]() -> bool {
        return a->writesWaiting() == 0 || a->bytesQueued() >= a->highWaterMark();
    };
    QByteArray got;
    while (got.size() < expected.size()) {
        auto f = b->read();
        QVERIFY2(spinUntil([&] {
                     QCoreApplication::processEvents();
                     return f.isFinished() || !checkRule();
                 }),
                 "a read never finished");
        QVERIFY2(checkRule(), qPrintable(QStringLiteral("%1 writes wait with only %2 bytes queued (mark %3)")
                                                 .arg(a->writesWaiting())
                                                 .arg(a->bytesQueued())
                                                 .arg(a->highWaterMark())));
        ReadResult r;
        RILL_RESULT(f, r);
        QVERIFY2(r.isData(), qPrintable(QStringLiteral("read gave ") + debugString(r)));
        got += r.data();
    }
    QVERIFY2(got == expected, describeMismatch(got, expected).constData());
    for (size_t i = 0; i < writes.size(); ++i) {
        WriteResult r;
        RILL_RESULT(writes[i], r);
        QVERIFY2(r.isOk(), qPrintable(QStringLiteral("write %1 gave %2").arg(i).arg(debugString(r))));
    }
}

void TestFlow::writeLargerThanHighWaterMarkIsAccepted()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(100);
    const QByteArray big = pattern(10000, 9);
    auto w1 = a->write(big);
    WriteResult r;
    RILL_AWAIT(w1, r);
    QVERIFY2(r.isOk(), "a write larger than the mark, into a queue below the mark, was not accepted");
    auto w2 = a->write("after");
    QVERIFY2(!w2.isFinished() || a->bytesQueued() < a->highWaterMark(),
             "a write resolved while the queue was above the mark");
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, big + "after", ReadResult::eof());
    RILL_AWAIT(w2, r);
    QCOMPARE(r, WriteResult::ok());
}

void TestFlow::raisingHighWaterMarkReleasesWaitingWrites()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(10);
    auto w1 = a->write(pattern(100));
    auto w2 = a->write("tail");
    QVERIFY2(!w2.isFinished(), "the write above the mark resolved at once");
    a->setHighWaterMark(1000);
    // The peer does not read: only the higher mark can let w2 in.
    WriteResult r;
    RILL_AWAIT(w2, r);
    QCOMPARE(r, WriteResult::ok());
    QCOMPARE(a->writesWaiting(), 0);
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, pattern(100) + "tail", ReadResult::eof());
}

void TestFlow::writevKeepsBuffersContiguousAndInOrder()
{
    auto [a, b] = makePair();
    QSignalSpy queued(a.get(), &Flow::writeQueued);
    const auto flowsFirst = destroyFirst(a, b);
    auto v1 = a->writev({QByteArrayLiteral("ab"), QByteArray(), QByteArrayLiteral("cd"), QByteArrayLiteral("e")});
    auto w = a->write("XY");
    auto v2 = a->writev({QByteArrayLiteral("1"), QByteArrayLiteral("23")});
    a->shutdown(Flow::Direction::Write);
    for (auto *f : {&v1, &w, &v2}) {
        WriteResult r;
        RILL_AWAIT(*f, r);
        QCOMPARE(r, WriteResult::ok());
    }
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("abcdeXY123"), ReadResult::eof());
    QCOMPARE(queued.count(), 3);
    QCOMPARE(queued.at(0).at(1).toLongLong(), qint64(5)); // a writev is one write of the total size
    QCOMPARE(queued.at(2).at(1).toLongLong(), qint64(3));
}

void TestFlow::emptyWritesAreOkNoOps()
{
    auto [a, b] = makePair();
    QList<QFuture<WriteResult>> writes{a->write(QByteArray()), a->writev({}),
                                       a->writev({QByteArray(), QByteArray()}), a->write("z")};
    for (int i = 0; i < writes.size(); ++i) {
        WriteResult r;
        RILL_AWAIT(writes[i], r);
        QVERIFY2(r.isOk(), qPrintable(QStringLiteral("empty write %1 gave %2").arg(i).arg(debugString(r))));
    }
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("z"), ReadResult::eof());
    QVERIFY2(d.dataReads == 1, "an empty write produced a read of its own");
}

void TestFlow::emptyWriteDoesNotWaitBehindBackpressure()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(1);
    auto w1 = a->write("0123456789");
    auto w2 = a->write("abcdefghij");
    QVERIFY2(!w2.isFinished(), "the write above the mark resolved at once");
    auto empty = a->write(QByteArray());
    auto emptyv = a->writev({});
    // Nobody reads b: only a no-op can resolve now.
    WriteResult r;
    RILL_AWAIT(empty, r);
    QCOMPARE(r, WriteResult::ok());
    RILL_AWAIT(emptyv, r);
    QCOMPARE(r, WriteResult::ok());
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("0123456789abcdefghij"), ReadResult::eof());
}

void TestFlow::writeAfterShutdownWriteIsEof()
{
    auto [a, b] = makePair();
    a->write("data");
    auto s = a->shutdown(Flow::Direction::Write);
    for (int i = 0; i < 3; ++i) {
        auto w = a->write("late");
        WriteResult r;
        RILL_AWAIT(w, r);
        QVERIFY2(r.isEof(), qPrintable(QStringLiteral("write %1 after shutdown(Write) gave %2").arg(i).arg(debugString(r))));
    }
    auto wv = a->writev({QByteArrayLiteral("x")});
    WriteResult r;
    RILL_AWAIT(wv, r);
    QCOMPARE(r, WriteResult::eof());
    RILL_AWAIT_VOID(s);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("data"), ReadResult::eof());
}

void TestFlow::writeAfterCloseIsEof()
{
    auto [a, b] = makePair();
    auto c = a->close();
    auto w = a->write("late");
    WriteResult r;
    RILL_AWAIT(w, r);
    QVERIFY2(r.isEof(), qPrintable(QStringLiteral("write after close() gave ") + debugString(r)));
    auto cb = b->close();
    const Drained da = readToEnd(a.get()), db = readToEnd(b.get());
    RILL_CHECK_DRAINED(da, QByteArray(), ReadResult::eof());
    RILL_CHECK_DRAINED(db, QByteArray(), ReadResult::eof());
    RILL_AWAIT_VOID(c);
    RILL_AWAIT_VOID(cb);
    auto w2 = a->write("later");
    RILL_AWAIT(w2, r);
    QVERIFY2(r.isEof(), qPrintable(QStringLiteral("write after the flow closed gave ") + debugString(r)));
}

void TestFlow::waitingWritesAreFlushedByShutdown()
{
    auto [a, b] = makePair(512);
    a->setHighWaterMark(256);
    std::vector<QFuture<WriteResult>> writes;
    QByteArray expected;
    for (int i = 0; i < 40; ++i) {
        const QByteArray chunk = pattern(200, quint32(i));
        expected += chunk;
        writes.push_back(a->write(chunk));
    }
    QVERIFY2(a->writesWaiting() > 0, "no write waits");
    auto s = a->shutdown(Flow::Direction::Write);
    auto late = a->write("late");
    WriteResult r;
    RILL_AWAIT(late, r);
    QCOMPARE(r, WriteResult::eof());
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, expected, ReadResult::eof());
    for (size_t i = 0; i < writes.size(); ++i) {
        RILL_RESULT(writes[i], r);
        QVERIFY2(r.isOk(), qPrintable(QStringLiteral("write %1, waiting when shutdown(Write) was called, gave %2")
                                              .arg(i).arg(debugString(r))));
    }
    RILL_AWAIT_VOID(s);
    QCOMPARE(a->writeState(), Flow::WriteState::Closed);
}

void TestFlow::writeFailureAfterPeerResetIsSticky()
{
    auto [a, b] = makePair();
    b->abort();
    QVERIFY2(spinUntil([&] { return a->state() == Flow::State::Closed; }),
             "the peer of an aborted flow never noticed the reset");
    QCOMPARE(a->writeState(), Flow::WriteState::Failed);
    auto w1 = a->write("x");
    WriteResult first;
    RILL_AWAIT(w1, first);
    QVERIFY2(first.isError() && first.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("a write after the peer's abort gave ") + debugString(first)));
    for (int i = 0; i < 3; ++i) {
        auto w = i == 1 ? a->writev({QByteArrayLiteral("y")}) : a->write("y");
        WriteResult again;
        RILL_AWAIT(w, again);
        QVERIFY2(again == first, qPrintable(QStringLiteral("the write failure is not sticky: %1 then %2")
                                                    .arg(debugString(first), debugString(again))));
    }
}

void TestFlow::writeEofStaysEofAfterAbort()
{
    // Contract 2: "Once a write fails, later writes fail the same way." A write after
    // shutdown(Write) gives Eof; aborting afterwards must not change what later writes give.
    auto [a, b] = makePair();
    a->write(pattern(1000)); // queued: the FIN waits for it
    a->shutdown(Flow::Direction::Write);
    auto w1 = a->write("x");
    WriteResult first;
    RILL_AWAIT(w1, first);
    QCOMPARE(first, WriteResult::eof());
    a->abort();
    auto w2 = a->write("y");
    WriteResult second;
    RILL_AWAIT(w2, second);
    QVERIFY2(second == first,
             qPrintable(QStringLiteral("a write after shutdown(Write) gave %1, then after abort() a write gave %2")
                                .arg(debugString(first), debugString(second))));
}

void TestFlow::writeEofStaysEofAfterPeerReset()
{
    // As above, with the failure coming from the peer: a reset while the FIN still waits for
    // the send queue to drain.
    auto [a, b] = makePair();
    a->write(pattern(1000));
    a->shutdown(Flow::Direction::Write);
    auto w1 = a->write("x");
    WriteResult first;
    RILL_AWAIT(w1, first);
    QCOMPARE(first, WriteResult::eof());
    b->abort();
    QVERIFY2(spinUntil([&] { return a->state() == Flow::State::Closed; }),
             "the peer of an aborted flow never noticed the reset");
    auto w2 = a->write("y");
    WriteResult second;
    RILL_AWAIT(w2, second);
    QVERIFY2(second == first,
             qPrintable(QStringLiteral("a write after shutdown(Write) gave %1, then after the peer's reset a write gave %2")
                                .arg(debugString(first), debugString(second))));
}

// ---------------------------------------------------------------------------------------------
// 3. close

void TestFlow::closeFlushesHalfClosesAndWaitsForThePeer()
{
    auto [a, b] = makePair(1024);
    a->setHighWaterMark(4096);
    QByteArray expected;
    std::vector<QFuture<WriteResult>> writes;
    for (int i = 0; i < 100; ++i) {
        const QByteArray chunk = pattern(1024, quint32(i + 1));
        expected += chunk;
        writes.push_back(a->write(chunk));
    }
    QVERIFY2(a->writesWaiting() > 0, "no write waits");
    auto closed = a->close();
    QCOMPARE(a->state(), Flow::State::Closing);

    // Everything queued, and everything that was waiting, reaches the peer, then Eof.
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, expected, ReadResult::eof());
    for (size_t i = 0; i < writes.size(); ++i) {
        WriteResult r;
        RILL_RESULT(writes[i], r);
        QVERIFY2(r.isOk(), qPrintable(QStringLiteral("write %1 was not flushed by close(): %2").arg(i).arg(debugString(r))));
    }
    QVERIFY2(spinUntil([&] { return a->writeState() == Flow::WriteState::Closed; }),
             "the closing flow's write side never closed");
    // The peer has not closed: close() must still wait, and a keeps reading.
    QVERIFY2(!closed.isFinished(), "close() resolved before the peer closed its side");
    QCOMPARE(a->state(), Flow::State::Closing);
    auto reply = b->write("reply after half-close");
    const Drained got = readToEnd(a.get(), qsizetype(22));
    QVERIFY2(got.finished, "the closing flow did not deliver what the peer sent");
    QCOMPARE(got.data, QByteArrayLiteral("reply after half-close"));
    QVERIFY2(!closed.isFinished(), "close() resolved before the peer closed its side");

    auto peerClosed = b->close();
    RILL_AWAIT_VOID(closed);
    RILL_AWAIT_VOID(peerClosed);
    QCOMPARE(a->state(), Flow::State::Closed);
    QCOMPARE(b->state(), Flow::State::Closed);
    auto last = a->read();
    ReadResult r;
    RILL_AWAIT(last, r);
    QCOMPARE(r, ReadResult::eof());
    WriteResult wr;
    RILL_AWAIT(reply, wr);
    QCOMPARE(wr, WriteResult::ok());
}

void TestFlow::secondCloseResolvesWithTheFirst()
{
    auto [a, b] = makePair();
    a->write(pattern(5000));
    auto c1 = a->close();
    auto c2 = a->close();
    // A watcher reports from the event loop: whichever reports first, the other close() must
    // already be finished (nothing may run between the two).
    bool c2DoneWhenC1 = false, c1DoneWhenC2 = false;
    int continuations = 0;
    QFutureWatcher<rill::CloseResult> w1, w2;
    connect(&w1, &QFutureWatcherBase::finished, this, [&] { c2DoneWhenC1 = c2.isFinished(); ++continuations; });
    connect(&w2, &QFutureWatcherBase::finished, this, [&] { c1DoneWhenC2 = c1.isFinished(); ++continuations; });
    w1.setFuture(c1);
    w2.setFuture(c2);
    auto reader = b->read();
    RILL_AWAIT_VOID(reader);
    auto aReads = a->read(); // a reads, so it sees b's end of stream
    auto cb = b->close();
    QVERIFY2(spinUntil([&] {
                 if (c1.isFinished() != c2.isFinished())
                     return true; // reported below
                 return c1.isFinished() && continuations == 2;
             }),
             "the two close() futures never resolved");
    QVERIFY2(c1.isFinished() == c2.isFinished(), "one close() future resolved before the other");
    QVERIFY2(c2DoneWhenC1 && c1DoneWhenC2, "the two close() futures did not resolve at the same moment");
    RILL_AWAIT_VOID(cb);
    ReadResult eof;
    RILL_RESULT(aReads, eof);
    QCOMPARE(eof, ReadResult::eof());
    QCOMPARE(a->state(), Flow::State::Closed);
}

void TestFlow::closeResolvesWithoutAnyRead()
{
    // Contract 3: close() resolves when the peer has closed its side too. Nothing was sent, so
    // there is nothing to read first: neither flow ever calls read().
    auto [a, b] = makePair();
    auto ca = a->close();
    auto cb = b->close();
    RILL_AWAIT_VOID(ca);
    RILL_AWAIT_VOID(cb);
    QCOMPARE(a->state(), Flow::State::Closed);
    QCOMPARE(b->state(), Flow::State::Closed);
}

void TestFlow::closeAfterClosedResolves()
{
    auto [a, b] = makePair();
    auto ca = a->close();
    auto cb = b->close();
    const Drained da = readToEnd(a.get()), db = readToEnd(b.get());
    RILL_CHECK_DRAINED(da, QByteArray(), ReadResult::eof());
    RILL_CHECK_DRAINED(db, QByteArray(), ReadResult::eof());
    RILL_AWAIT_VOID(ca);
    RILL_AWAIT_VOID(cb);
    auto again = a->close();
    RILL_AWAIT_VOID(again);
    QCOMPARE(a->state(), Flow::State::Closed);
}

void TestFlow::closeAfterPeerHalfClosed()
{
    auto [a, b] = makePair();
    b->write("request");
    b->shutdown(Flow::Direction::Write);
    const Drained req = readToEnd(a.get());
    RILL_CHECK_DRAINED(req, QByteArrayLiteral("request"), ReadResult::eof());
    a->write("response");
    auto closed = a->close();
    RILL_AWAIT_VOID(closed);
    QCOMPARE(a->state(), Flow::State::Closed);
    const Drained resp = readToEnd(b.get());
    RILL_CHECK_DRAINED(resp, QByteArrayLiteral("response"), ReadResult::eof());
    QVERIFY2(spinUntil([&] { return b->state() == Flow::State::Closed; }),
             "both directions ended but the peer is not Closed");
}

// ---------------------------------------------------------------------------------------------
// 4. shutdown, abort, destruction

void TestFlow::shutdownWriteDoesNotWaitForThePeer()
{
    auto [a, b] = makePair();
    a->write("request");
    auto s = a->shutdown(Flow::Direction::Write);
    RILL_AWAIT_VOID(s); // b has not read anything
    QCOMPARE(a->writeState(), Flow::WriteState::Closed);
    QCOMPARE(a->state(), Flow::State::Open);
    QCOMPARE(a->readState(), Flow::ReadState::Open);

    const Drained req = readToEnd(b.get());
    RILL_CHECK_DRAINED(req, QByteArrayLiteral("request"), ReadResult::eof());
    // The peer can still write back.
    auto w = b->write("response");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok());
    auto sb = b->shutdown(Flow::Direction::Write);
    const Drained resp = readToEnd(a.get());
    RILL_CHECK_DRAINED(resp, QByteArrayLiteral("response"), ReadResult::eof());
    RILL_AWAIT_VOID(sb);
    QVERIFY2(spinUntil([&] { return a->state() == Flow::State::Closed && b->state() == Flow::State::Closed; }),
             "both directions ended but the flows are not Closed");
}

void TestFlow::shutdownReadGivesEofAndDiscards()
{
    auto [a, b] = makePair();
    QSignalSpy arrived(b.get(), &Flow::dataArrived);
    const auto flowsFirst = destroyFirst(a, b);
    auto first = b->read();
    a->write("early");
    ReadResult r;
    RILL_AWAIT(first, r);
    QCOMPARE(r.data(), QByteArrayLiteral("early"));
    // Buffered, not read yet: shutdown(Read) discards it.
    a->write("buffered");
    QVERIFY2(spinUntil([&] { return arrived.count() >= 2; }),
             "the data never arrived at the reader (no read-ahead after a read)");
    auto s = b->shutdown(Flow::Direction::Read);
    RILL_AWAIT_VOID(s);
    auto afterShut = b->read();
    RILL_AWAIT(afterShut, r);
    QVERIFY2(r.isEof(), qPrintable(QStringLiteral("a read after shutdown(Read), with data buffered, gave ") + debugString(r)));
    QCOMPARE(b->readState(), Flow::ReadState::Eof);

    // What arrives now is discarded, and discarding keeps the writer from blocking forever.
    a->setHighWaterMark(4096);
    std::vector<QFuture<WriteResult>> writes;
    for (int i = 0; i < 512; ++i)
        writes.push_back(a->write(pattern(4096, quint32(i))));
    for (size_t i = 0; i < writes.size(); ++i) {
        WriteResult wr;
        RILL_AWAIT(writes[i], wr);
        QVERIFY2(wr.isOk(), qPrintable(QStringLiteral("write %1 to a read-shut peer gave %2").arg(i).arg(debugString(wr))));
    }
    const qint64 readBefore = b->stats().bytesRead;
    for (int i = 0; i < 3; ++i) {
        auto f = b->read();
        RILL_AWAIT(f, r);
        QVERIFY2(r.isEof(), qPrintable(QStringLiteral("a read after shutdown(Read) gave ") + debugString(r)));
    }
    QCOMPARE(b->stats().bytesRead, readBefore);

    // b's write side is untouched.
    auto w = b->write("still writing");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok());
    const Drained back = readToEnd(a.get(), qsizetype(13));
    QCOMPARE(back.data, QByteArrayLiteral("still writing"));
}

void TestFlow::shutdownReadEndsPendingReads()
{
    auto [a, b] = makePair();
    auto r1 = b->read(), r2 = b->read();
    auto s = b->shutdown(Flow::Direction::Read);
    RILL_AWAIT_VOID(s);
    for (auto *f : {&r1, &r2}) {
        ReadResult r;
        RILL_AWAIT(*f, r);
        QVERIFY2(r.isEof(), qPrintable(QStringLiteral("a read pending at shutdown(Read) gave ") + debugString(r)));
    }
    a->write("ignored");
    auto r3 = b->read();
    ReadResult r;
    RILL_AWAIT(r3, r);
    QCOMPARE(r, ReadResult::eof());
}

void TestFlow::shutdownReadWrite()
{
    auto [a, b] = makePair();
    b->write("to a");
    a->write("to b");
    auto s = a->shutdown(Flow::Direction::ReadWrite);
    RILL_AWAIT_VOID(s);
    QCOMPARE(a->readState(), Flow::ReadState::Eof);
    QCOMPARE(a->writeState(), Flow::WriteState::Closed);
    auto r = a->read();
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QCOMPARE(rr, ReadResult::eof());
    auto w = a->write("x");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::eof());
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("to b"), ReadResult::eof());
    auto cb = b->close();
    RILL_AWAIT_VOID(cb);
    QVERIFY2(spinUntil([&] { return a->state() == Flow::State::Closed; }),
             "a flow shut down both ways is not Closed once the peer closed");
}

void TestFlow::abortResetsThePeer()
{
    auto [a, b] = makePair();
    auto peerRead = b->read();
    a->abort();
    QCOMPARE(a->state(), Flow::State::Closed);
    ReadResult r;
    RILL_AWAIT(peerRead, r);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the peer's pending read gave ") + debugString(r)));
    auto w = b->write("x");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QVERIFY2(wr.isError() && wr.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the peer's later write gave ") + debugString(wr)));
    QCOMPARE(b->state(), Flow::State::Closed);
    QCOMPARE(b->error().kind(), Error::Kind::Reset);
}

void TestFlow::abortFinishesEveryPendingFuture()
{
    auto [a, b] = makePair(1);
    a->setHighWaterMark(10);
    auto read = a->read();
    auto accepted = a->write(pattern(100));
    auto waiting = a->write(pattern(100, 2));
    auto waitingv = a->writev({pattern(5, 3), pattern(5, 4)});
    auto shut = a->shutdown(Flow::Direction::Write); // waits for the queue
    auto closed = a->close();
    QVERIFY2(!read.isFinished() && !waiting.isFinished() && !waitingv.isFinished() && !shut.isFinished()
                     && !closed.isFinished(),
             "setup: the futures should be pending before abort()");
    a->abort();
    ReadResult r;
    RILL_AWAIT(read, r);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a pending read after abort() gave ") + debugString(r)));
    WriteResult wr;
    RILL_AWAIT(accepted, wr);
    QCOMPARE(wr, WriteResult::ok());
    for (auto *f : {&waiting, &waitingv}) {
        RILL_AWAIT(*f, wr);
        QVERIFY2(wr.isError() && wr.error().kind() == Error::Kind::Aborted,
                 qPrintable(QStringLiteral("a waiting write after abort() gave ") + debugString(wr)));
    }
    RILL_AWAIT_VOID(shut);
    RILL_AWAIT_VOID(closed);
    QCOMPARE(a->state(), Flow::State::Closed);
    QCOMPARE(a->error().kind(), Error::Kind::Aborted);
    QCOMPARE(a->writesWaiting(), 0);
    QCOMPARE(a->bytesQueued(), qint64(0));
}

void TestFlow::operationsAfterAbort()
{
    auto [a, b] = makePair();
    a->abort();
    a->abort(); // harmless
    auto r = a->read();
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QVERIFY2(rr.isError() && rr.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a read after abort() gave ") + debugString(rr)));
    auto r2 = a->read();
    ReadResult rr2;
    RILL_AWAIT(r2, rr2);
    QCOMPARE(rr2, rr);
    auto w = a->write("x");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QVERIFY2(wr.isError() && wr.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a write after abort() gave ") + debugString(wr)));
    auto c = a->close();
    auto s = a->shutdown(Flow::Direction::ReadWrite);
    RILL_AWAIT_VOID(c);
    RILL_AWAIT_VOID(s);
    QCOMPARE(a->state(), Flow::State::Closed);
}

void TestFlow::destroyFinishesEveryPendingFuture()
{
    auto [a, b] = makePair(1);
    a->setHighWaterMark(10);
    auto read = a->read();
    a->write(pattern(100));
    auto waiting = a->write(pattern(100, 2));
    auto shut = a->shutdown(Flow::Direction::Write);
    auto closed = a->close();
    auto peerRead = b->read();
    a.reset();
    QVERIFY2(read.isFinished() && waiting.isFinished() && shut.isFinished() && closed.isFinished(),
             "a future of a destroyed flow is unfinished");
    ReadResult r;
    RILL_RESULT(read, r);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a pending read of a destroyed flow gave ") + debugString(r)));
    WriteResult wr;
    RILL_RESULT(waiting, wr);
    QVERIFY2(wr.isError() && wr.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a waiting write of a destroyed flow gave ") + debugString(wr)));
    // The peer sees a prefix of the data, then a reset.
    const Drained d = readToEnd(b.get());
    QVERIFY2(d.finished, "the peer's reads never ended");
    QVERIFY2(pattern(100).startsWith(d.data), "the peer read bytes that were not written");
    QVERIFY2(d.end.isError() && d.end.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the peer of a destroyed flow ended with ") + debugString(d.end)));
    QVERIFY2(peerRead.isFinished(), "the peer's pending read is unfinished");
}

// ---------------------------------------------------------------------------------------------
// 5. threads

void TestFlow::workerThreadFlowsWithBlockingResults()
{
    WorkerThread worker;
    auto pair = makePair(4096);
    pair.a->setHighWaterMark(8192);
    PipeFlow *a = worker.adopt(std::move(pair.a));
    PipeFlow *b = worker.adopt(std::move(pair.b));

    // The main thread is not the flows' thread: it may block on result().
    QByteArray expected;
    QByteArray got;
    for (int i = 0; i < 50; ++i) {
        const QByteArray chunk = pattern(3000, quint32(i));
        expected += chunk;
        const WriteResult wr = a->write(chunk).result();
        QVERIFY2(wr.isOk(), qPrintable(QStringLiteral("write %1 gave %2").arg(i).arg(debugString(wr))));
        const ReadResult rr = b->read().result();
        QVERIFY2(rr.isData(), qPrintable(QStringLiteral("read %1 gave %2").arg(i).arg(debugString(rr))));
        got += rr.data();
    }
    a->shutdown(Flow::Direction::Write).waitForFinished();
    for (;;) {
        const ReadResult rr = b->read().result();
        if (!rr.isData()) {
            QCOMPARE(rr, ReadResult::eof());
            break;
        }
        got += rr.data();
    }
    QVERIFY2(got == expected, describeMismatch(got, expected).constData());
    auto ca = a->close();
    auto cb = b->close();
    QCOMPARE(a->read().result(), ReadResult::eof());
    RILL_AWAIT_VOID(ca);
    RILL_AWAIT_VOID(cb);
    QCOMPARE(worker.call([&] { return a->state(); }), Flow::State::Closed);
    QCOMPARE(worker.call([&] { return b->state(); }), Flow::State::Closed);
    QCOMPARE(worker.call([&] { return b->stats().bytesRead; }), qint64(expected.size()));
    worker.destroy(a);
    worker.destroy(b);
}

void TestFlow::continuationsRunOnTheFlowThread()
{
    WorkerThread worker;
    auto pair = makePair();
    PipeFlow *a = worker.adopt(std::move(pair.a));
    PipeFlow *b = worker.adopt(std::move(pair.b));
    Flow *flow = b;
    std::atomic<QThread *> ranIn{nullptr};
    // Set up in the flow's own thread, with the flow as context.
    QFuture<QByteArray> chained = worker.call([flow, &ranIn] {
        return flow->read().then(flow, [&ranIn](const ReadResult &r) {
            ranIn = QThread::currentThread();
            return r.data();
        });
    });
    a->write("ping");
    QCOMPARE(chained.result(), QByteArrayLiteral("ping"));
    QCOMPARE(ranIn.load(), worker.thread());
    worker.destroy(a);
    worker.destroy(b);
}

void TestFlow::continuationsOnTheMainThread()
{
    auto [a, b] = makePair();
    QThread *ranIn = nullptr;
    QByteArray collected;
    bool done = false;
    // A read loop in continuations, as protocol code writes it.
    std::function<void()> next = [&] {
        b->read().then(b.get(), [&](const ReadResult &r) {
            ranIn = QThread::currentThread();
            if (r.isData()) {
                collected += r.data();
                next();
            } else {
                done = true;
            }
        });
    };
    next();
    a->write("one ");
    a->write("two");
    a->shutdown(Flow::Direction::Write);
    QVERIFY2(spinUntil([&] { return done; }), "the continuation chain never saw Eof");
    QCOMPARE(collected, QByteArrayLiteral("one two"));
    QCOMPARE(ranIn, QThread::currentThread());
}

void TestFlow::callsFromAnotherThreadKeepTheirOrder()
{
    auto [a, b] = makePair(2048);
    a->setHighWaterMark(4096);
    QByteArray expected;
    for (int i = 0; i < 200; ++i)
        expected += pattern(500, quint32(i));
    std::atomic_bool writerDone = false, readerDone = false;
    std::atomic_int writeFailures = 0;
    QByteArray got;
    ReadResult end;
    Flow *writer = a.get();
    Flow *reader = b.get();
    // Plain threads without event loops: every call is queued to the flows' (main) thread,
    // and they block on result() while the main thread runs the flows.
    std::thread w([&] {
        for (int i = 0; i < 200; ++i) {
            if (!writer->write(expected.mid(i * 500, 500)).result().isOk())
                ++writeFailures;
        }
        writer->shutdown(Flow::Direction::Write).waitForFinished();
        writerDone = true;
    });
    std::thread r([&] {
        for (;;) {
            const ReadResult rr = reader->read().result();
            if (!rr.isData()) {
                end = rr;
                break;
            }
            got += rr.data();
        }
        readerDone = true;
    });
    const bool finished = spinUntil([&] { return writerDone && readerDone; });
    if (!finished) {
        a->abort(); // unblock the threads before failing
        b->abort();
    }
    w.join();
    r.join();
    QVERIFY2(finished, "the calls from other threads never completed");
    QCOMPARE(writeFailures.load(), 0);
    QCOMPARE(end, ReadResult::eof());
    QVERIFY2(got == expected, describeMismatch(got, expected).constData());
}

void TestFlow::writevFromManyThreadsStaysContiguous()
{
    auto [a, b] = makePair(4096);
    a->setHighWaterMark(8192);
    constexpr int Threads = 4;
    constexpr int PerThread = 60;
    // One record: "<t><kkk>" + body of (k % 97 + t) letters + "\n", in three buffers.
    auto body = [](int t, int k) { return QByteArray(k % 97 + t, char('a' + t)); };
    std::atomic_int done = 0;
    std::atomic_int failures = 0;
    Flow *flow = a.get();
    std::vector<std::thread> threads;
    for (int t = 0; t < Threads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<QFuture<WriteResult>> futures;
            for (int k = 0; k < PerThread; ++k) {
                const QByteArray head = QByteArray::number(t) + QByteArray::number(k).rightJustified(3, '0');
                futures.push_back(flow->writev({head, body(t, k), QByteArrayLiteral("\n")}));
            }
            for (auto &f : futures) {
                if (!f.result().isOk())
                    ++failures;
            }
            ++done;
        });
    }
    QByteArray got;
    ReadResult end;
    bool ended = false;
    std::function<void()> readNext = [&] {
        b->read().then(b.get(), [&](const ReadResult &r) {
            if (r.isData()) {
                got += r.data();
                readNext();
            } else {
                end = r;
                ended = true;
            }
        });
    };
    readNext();
    const bool written = spinUntil([&] { return done == Threads; });
    if (!written)
        a->abort();
    for (auto &t : threads)
        t.join();
    QVERIFY2(written, "the writing threads never finished");
    QCOMPARE(failures.load(), 0);
    a->shutdown(Flow::Direction::Write);
    QVERIFY2(spinUntil([&] { return ended; }), "the reader never saw Eof");
    QCOMPARE(end, ReadResult::eof());

    // Parse: every record whole, each thread's records in its call order.
    int next[Threads] = {};
    int records = 0;
    qsizetype pos = 0;
    while (pos < got.size()) {
        QVERIFY2(got.size() - pos >= 5, "a truncated record");
        const int t = got.at(pos) - '0';
        QVERIFY2(t >= 0 && t < Threads, qPrintable(QStringLiteral("bad record header at %1").arg(pos)));
        bool ok = false;
        const int k = got.mid(pos + 1, 3).toInt(&ok);
        QVERIFY2(ok, qPrintable(QStringLiteral("bad record number at %1").arg(pos)));
        QVERIFY2(k == next[t], qPrintable(QStringLiteral("thread %1: record %2 where %3 was expected (reordered)")
                                                  .arg(t).arg(k).arg(next[t])));
        const QByteArray expectedBody = body(t, k);
        QVERIFY2(pos + 5 + expectedBody.size() <= got.size(),
                 qPrintable(QStringLiteral("record %1/%2 is truncated").arg(t).arg(k)));
        QVERIFY2(got.mid(pos + 4, expectedBody.size()) == expectedBody,
                 qPrintable(QStringLiteral("record %1/%2 is not contiguous").arg(t).arg(k)));
        QVERIFY2(got.at(pos + 4 + expectedBody.size()) == '\n',
                 qPrintable(QStringLiteral("record %1/%2 is not contiguous").arg(t).arg(k)));
        pos += 5 + expectedBody.size();
        ++next[t];
        ++records;
    }
    QCOMPARE(records, Threads * PerThread);
}

void TestFlow::queuedCallToADestroyedFlowResolvesAborted()
{
    WorkerThread worker;
    auto pair = makePair();
    PipeFlow *a = worker.adopt(std::move(pair.a));
    PipeFlow *b = worker.adopt(std::move(pair.b));
    PipeFlow *flow = a;
    QSemaphore entered, proceed;
    // Hold the worker busy, queue calls behind it, then destroy the flow before they run.
    worker.post([&, flow] {
        entered.release();
        proceed.acquire();
        delete flow;
    });
    entered.acquire();
    QFuture<ReadResult> read = flow->read();
    QFuture<WriteResult> write = flow->write("never");
    auto closed = flow->close();
    proceed.release();
    const ReadResult r = read.result();
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a read queued to a flow destroyed first gave ") + debugString(r)));
    const WriteResult w = write.result();
    QVERIFY2(w.isError() && w.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a write queued to a flow destroyed first gave ") + debugString(w)));
    closed.waitForFinished();
    QVERIFY2(closed.isFinished(), "a close() queued to a flow destroyed first is unfinished");
    const ReadResult peer = b->read().result();
    QVERIFY2(peer.isError() && peer.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the peer of the destroyed flow read ") + debugString(peer)));
    worker.destroy(b);
}

void TestFlow::destroyInWorkerFinishesOtherThreadsFutures()
{
    WorkerThread worker;
    auto pair = makePair(1);
    PipeFlow *a = worker.adopt(std::move(pair.a));
    PipeFlow *b = worker.adopt(std::move(pair.b));
    a->setHighWaterMark(1);
    QFuture<ReadResult> read = a->read();
    // Far more than the mark, the pipe and any read-ahead can take: the last ones wait.
    std::vector<QFuture<WriteResult>> writes;
    for (int i = 0; i < 8; ++i)
        writes.push_back(a->write(pattern(100000, quint32(i))));
    auto closed = a->close();
    // Ordered behind the calls above in the worker's queue.
    worker.destroy(a);
    const ReadResult r = read.result();
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a pending read of a destroyed flow gave ") + debugString(r)));
    QCOMPARE(writes.front().result(), WriteResult::ok());
    for (size_t i = 0; i < writes.size(); ++i) {
        const WriteResult w = writes[i].result();
        QVERIFY2(w.isOk() || (w.isError() && w.error().kind() == Error::Kind::Aborted),
                 qPrintable(QStringLiteral("write %1 of a destroyed flow gave ").arg(i) + debugString(w)));
    }
    const WriteResult last = writes.back().result();
    QVERIFY2(last.isError() && last.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("a waiting write of a destroyed flow gave ") + debugString(last)));
    closed.waitForFinished();
    QVERIFY2(closed.isFinished(), "close() of a destroyed flow is unfinished");
    worker.destroy(b);
}

void TestFlow::abortFromAnotherThread()
{
    WorkerThread worker;
    auto pair = makePair();
    PipeFlow *a = worker.adopt(std::move(pair.a));
    PipeFlow *b = worker.adopt(std::move(pair.b));
    QFuture<ReadResult> own = a->read();
    QFuture<ReadResult> peer = b->read();
    a->abort();
    const ReadResult r = own.result();
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("the aborted flow's read gave ") + debugString(r)));
    const ReadResult p = peer.result();
    QVERIFY2(p.isError() && p.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the peer's read gave ") + debugString(p)));
    const WriteResult w = b->write("x").result();
    QVERIFY2(w.isError() && w.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the peer's write gave ") + debugString(w)));
    worker.destroy(a);
    worker.destroy(b);
}

// The flow's thread finishes with the flow alive and futures pending: nothing could resolve
// them any more, so the flow aborts itself then; later calls finish at once.
void TestFlow::threadFinishingFinishesFutures()
{
    auto thread = std::make_unique<QThread>();
    thread->start();
    auto pair = makePair(1);
    PipeFlow *a = pair.a.release();
    PipeFlow *b = pair.b.release();
    a->moveToThread(thread.get());
    b->moveToThread(thread.get());
    auto cleanUp = qScopeGuard([&] {
        if (thread) {
            thread->quit();
            thread->wait();
        }
        delete a; // their thread has finished: nothing else touches them
        delete b;
    });
    a->setHighWaterMark(1);
    QFuture<ReadResult> read = a->read();
    // Far more than the mark, the pipe and b's read-ahead take: the last one waits.
    QFuture<WriteResult> accepted = a->write(pattern(100000, 1));
    for (int i = 2; i < 8; ++i)
        a->write(pattern(100000, quint32(i)));
    QFuture<WriteResult> waiting = a->write(pattern(100000, 8));
    auto closed = a->close();
    // Queued behind the calls above: once it ran, they all reached the flow.
    QMetaObject::invokeMethod(a, [] {}, Qt::BlockingQueuedConnection);
    QVERIFY(!waiting.isFinished());
    QVERIFY(!read.isFinished());

    thread->quit();
    QVERIFY(thread->wait(QDeadlineTimer(DefaultTimeout)));
    QVERIFY2(read.isFinished(), "a read stayed pending after its flow's thread finished");
    QVERIFY2(read.result().isError() && read.result().error().kind() == Error::Kind::Aborted,
             qPrintable(debugString(read.result())));
    QCOMPARE(accepted.result(), WriteResult::ok());
    QVERIFY2(waiting.isFinished() && waiting.result().isError()
                     && waiting.result().error().kind() == Error::Kind::Aborted,
             "the waiting write did not finish Aborted");
    QVERIFY(closed.isFinished());
    QCOMPARE(a->state(), Flow::State::Closed);
    QVERIFY2(a->error().message().contains(QLatin1String("thread")), qPrintable(a->error().message()));

    QFuture<ReadResult> late = a->read();
    auto lateClose = a->close();
    QVERIFY2(late.isFinished() && lateClose.isFinished(),
             "a call after the flow's thread finished did not finish at once");
    QCOMPARE(late.result().error().kind(), Error::Kind::Aborted);

    // Also once the QThread object itself is gone.
    thread.reset();
    QFuture<WriteResult> orphan = a->write("x");
    QVERIFY2(orphan.isFinished(), "a call after the flow's QThread was deleted did not finish at once");
    // The flow's sticky result: close() had ended the write side cleanly before the abort.
    QCOMPARE(orphan.result(), WriteResult::eof());
}

// A flow moved to another thread with a read pending: that thread's end aborts it too, though
// no operation was called on the flow in its new thread.
void TestFlow::threadFinishingAfterMoveFinishesFutures()
{
    auto thread = std::make_unique<QThread>();
    thread->start();
    auto pair = makePair();
    PipeFlow *a = pair.a.release();
    PipeFlow *b = pair.b.release();
    auto cleanUp = qScopeGuard([&] {
        thread->quit();
        thread->wait();
        delete a; // their thread has finished: nothing else touches them
        delete b;
    });
    QFuture<ReadResult> read = a->read(); // in this thread, before the move
    QVERIFY(!read.isFinished());
    a->moveToThread(thread.get());
    b->moveToThread(thread.get());
    // Posted after the move: once it ran, whatever the move left queued for the flow ran too.
    QMetaObject::invokeMethod(a, [] {}, Qt::BlockingQueuedConnection);
    QVERIFY(!read.isFinished());

    thread->quit();
    QVERIFY(thread->wait(QDeadlineTimer(DefaultTimeout)));
    QVERIFY2(read.isFinished(), "a read left pending by a move stayed pending after the new thread finished");
    QVERIFY2(read.result().isError() && read.result().error().kind() == Error::Kind::Aborted,
             qPrintable(debugString(read.result())));
}

// A flow moved to a thread that has already finished never joins it, so that thread's end never
// aborted it: the first call made afterwards does, here, and everything finishes at once, as
// after any thread end. A continuation of a pending future runs here too, and may call back
// into the flow.
void TestFlow::movedToAnEndedThread()
{
    auto thread = std::make_unique<QThread>();
    thread->start();
    thread->quit();
    QVERIFY(thread->wait(QDeadlineTimer(DefaultTimeout)));
    auto pair = makePair();
    PipeFlow *a = pair.a.release();
    auto cleanUp = qScopeGuard([&] { delete a; }); // its thread has finished: nothing else touches it
    QFuture<ReadResult> inner;
    QFuture<void> pending = a->read().then([a, &inner](const ReadResult &) { inner = a->read(); });
    a->moveToThread(thread.get());

    QFuture<ReadResult> read = a->read();
    QVERIFY2(read.isFinished(), "a read on a flow whose thread had ended stayed pending");
    QVERIFY2(read.result().isError() && read.result().error().kind() == Error::Kind::Aborted,
             qPrintable(debugString(read.result())));
    QVERIFY2(pending.isFinished() && inner.isFinished(),
             "the read pending before the move, or the one its continuation made, did not finish");
    QCOMPARE(inner.result(), read.result());
    QCOMPARE(a->state(), Flow::State::Closed);
    // The peer, still in this thread, sees the abort as any peer does.
    QFuture<ReadResult> peerRead = pair.b->read();
    QTRY_VERIFY(peerRead.isFinished());
    QVERIFY2(!peerRead.result().isData(), qPrintable(debugString(peerRead.result())));
}

// ---------------------------------------------------------------------------------------------
// 6. observation

void TestFlow::stateSignalsFollowTheFlow()
{
    auto [a, b] = makePair();
    QSignalSpy aWrite(a.get(), &Flow::writeStateChanged);
    QSignalSpy aRead(a.get(), &Flow::readStateChanged);
    QSignalSpy aState(a.get(), &Flow::stateChanged);
    QSignalSpy bWrite(b.get(), &Flow::writeStateChanged);
    QSignalSpy bRead(b.get(), &Flow::readStateChanged);
    QSignalSpy bState(b.get(), &Flow::stateChanged);
    const auto flowsFirst = destroyFirst(a, b);
    QCOMPARE(a->state(), Flow::State::Open);
    QCOMPARE(a->readState(), Flow::ReadState::Open);
    QCOMPARE(a->writeState(), Flow::WriteState::Open);

    a->write("x");
    auto s = a->shutdown(Flow::Direction::Write);
    RILL_AWAIT_VOID(s);
    QCOMPARE(aWrite.count(), 2);
    QCOMPARE(aWrite.at(0).at(0).value<Flow::WriteState>(), Flow::WriteState::ShuttingDown);
    QCOMPARE(aWrite.at(1).at(0).value<Flow::WriteState>(), Flow::WriteState::Closed);
    QCOMPARE(a->writeState(), Flow::WriteState::Closed);

    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("x"), ReadResult::eof());
    QCOMPARE(bRead.count(), 1);
    QCOMPARE(bRead.at(0).at(0).value<Flow::ReadState>(), Flow::ReadState::Eof);
    QCOMPARE(b->readState(), Flow::ReadState::Eof);
    QCOMPARE(aState.count(), 0);
    QCOMPARE(bState.count(), 0);

    auto sb = b->shutdown(Flow::Direction::Write);
    RILL_AWAIT_VOID(sb);
    const Drained d2 = readToEnd(a.get());
    RILL_CHECK_DRAINED(d2, QByteArray(), ReadResult::eof());
    QVERIFY2(spinUntil([&] { return aState.count() == 1 && bState.count() == 1; }),
             "stateChanged(Closed) was not emitted once both directions ended");
    QCOMPARE(aState.at(0).at(0).value<Flow::State>(), Flow::State::Closed);
    QCOMPARE(bState.at(0).at(0).value<Flow::State>(), Flow::State::Closed);
    QCOMPARE(aRead.count(), 1);
    QCOMPARE(aRead.at(0).at(0).value<Flow::ReadState>(), Flow::ReadState::Eof);
    QCOMPARE(bWrite.last().at(0).value<Flow::WriteState>(), Flow::WriteState::Closed);
    QCOMPARE(a->state(), Flow::State::Closed);
    QCOMPARE(b->state(), Flow::State::Closed);
}

void TestFlow::closeStateSequence()
{
    auto [a, b] = makePair();
    QSignalSpy aState(a.get(), &Flow::stateChanged);
    QSignalSpy bState(b.get(), &Flow::stateChanged);
    QSignalSpy bRead(b.get(), &Flow::readStateChanged);
    QSignalSpy bError(b.get(), &Flow::errorOccurred);
    const auto flowsFirst = destroyFirst(a, b);
    auto ca = a->close();
    QCOMPARE(aState.count(), 1);
    QCOMPARE(aState.at(0).at(0).value<Flow::State>(), Flow::State::Closing);
    const Drained db = readToEnd(b.get());
    RILL_CHECK_DRAINED(db, QByteArray(), ReadResult::eof());
    QCOMPARE(bRead.count(), 1);
    QCOMPARE(bRead.at(0).at(0).value<Flow::ReadState>(), Flow::ReadState::Eof);
    auto aRead = a->read();
    auto cb = b->close();
    RILL_AWAIT_VOID(ca);
    RILL_AWAIT_VOID(cb);
    QCOMPARE(aState.count(), 2);
    QCOMPARE(aState.at(1).at(0).value<Flow::State>(), Flow::State::Closed);
    QCOMPARE(bState.last().at(0).value<Flow::State>(), Flow::State::Closed);
    QCOMPARE(bError.count(), 0);
    QVERIFY2(a->error().isNone() && b->error().isNone(), "a clean close left an error");
    ReadResult r;
    RILL_RESULT(aRead, r);
    QCOMPARE(r, ReadResult::eof());
}

void TestFlow::writeLedger()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(4);
    QStringList log;
    connect(a.get(), &Flow::writeQueued, this,
            [&](quint64 id, qint64 size) { log << QStringLiteral("q%1:%2").arg(id).arg(size); });
    connect(a.get(), &Flow::writeAccepted, this, [&](quint64 id) { log << QStringLiteral("a%1").arg(id); });
    connect(a.get(), &Flow::writeSent, this, [&](quint64 id) { log << QStringLiteral("s%1").arg(id); });
    connect(a.get(), &Flow::writeRejected, this, [&](quint64 id, const WriteResult &r) {
        log << QStringLiteral("r%1:%2").arg(id).arg(debugString(r));
    });
    QSignalSpy bQueued(b.get(), &Flow::writeQueued);
    const auto flowsFirst = destroyFirst(a, b);

    a->write("abc");                                                // 1: accepted (queue 0 < 4)
    a->writev({QByteArrayLiteral("de"), QByteArrayLiteral("fgh")}); // 2: accepted (queue 3 < 4)
    a->write(QByteArray());                                         // 3: empty, a no-op
    a->write("ij");                                                 // 4: waits (queue 8 >= 4)
    a->shutdown(Flow::Direction::Write);
    a->write("late");                                               // 5: rejected
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, QByteArrayLiteral("abcdefghij"), ReadResult::eof());

    auto indexOf = [&](const QString &entry) { return log.indexOf(entry); };
    const QString all = log.join(QLatin1Char(' '));
    // Queued: every call, ids from 1 in call order, with its size.
    QStringList queued;
    for (const QString &e : log)
        if (e.startsWith(QLatin1Char('q')))
            queued << e;
    QCOMPARE(queued, (QStringList{QStringLiteral("q1:3"), QStringLiteral("q2:5"), QStringLiteral("q3:0"),
                                  QStringLiteral("q4:2"), QStringLiteral("q5:4")}));
    for (int id : {1, 2, 3, 4}) {
        const int q = indexOf(queued[id - 1]);
        const int acc = indexOf(QStringLiteral("a%1").arg(id));
        const int sent = indexOf(QStringLiteral("s%1").arg(id));
        QVERIFY2(acc > q, qPrintable(QStringLiteral("write %1 not accepted after being queued: %2").arg(id).arg(all)));
        QVERIFY2(sent > acc, qPrintable(QStringLiteral("write %1 not sent after being accepted: %2").arg(id).arg(all)));
        QCOMPARE(log.count(QStringLiteral("a%1").arg(id)), 1);
        QCOMPARE(log.count(QStringLiteral("s%1").arg(id)), 1);
    }
    QVERIFY2(indexOf(QStringLiteral("a1")) < indexOf(QStringLiteral("a2"))
                     && indexOf(QStringLiteral("a2")) < indexOf(QStringLiteral("a4")),
             qPrintable(QStringLiteral("writes accepted out of order: ") + all));
    QVERIFY2(indexOf(QStringLiteral("s1")) < indexOf(QStringLiteral("s2"))
                     && indexOf(QStringLiteral("s2")) < indexOf(QStringLiteral("s4")),
             qPrintable(QStringLiteral("writes sent out of order: ") + all));
    QVERIFY2(indexOf(QStringLiteral("r5:") + debugString(WriteResult::eof())) > indexOf(QStringLiteral("q5:4")),
             qPrintable(QStringLiteral("the write after shutdown(Write) was not rejected with Eof: ") + all));
    QVERIFY2(indexOf(QStringLiteral("a5")) < 0 && indexOf(QStringLiteral("s5")) < 0,
             qPrintable(QStringLiteral("a rejected write was accepted or sent: ") + all));
    // Ids are per flow.
    b->write("b's first");
    QCOMPARE(bQueued.count(), 1);
    QCOMPARE(bQueued.at(0).at(0).toULongLong(), quint64(1));
}

void TestFlow::writeLedgerRejectsAfterReset()
{
    auto [a, b] = makePair(1);
    a->setHighWaterMark(1);
    QSignalSpy rejected(a.get(), &Flow::writeRejected);
    QSignalSpy accepted(a.get(), &Flow::writeAccepted);
    const auto flowsFirst = destroyFirst(a, b);
    a->write(pattern(10));              // 1, accepted
    auto waiting = a->write(pattern(10)); // 2, waits
    b->abort();
    WriteResult r;
    RILL_AWAIT(waiting, r);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("a write waiting when the peer aborted gave ") + debugString(r)));
    QCOMPARE(accepted.count(), 1);
    QCOMPARE(rejected.count(), 1);
    QCOMPARE(rejected.at(0).at(0).toULongLong(), quint64(2));
    QCOMPARE(rejected.at(0).at(1).value<WriteResult>(), r);
}

void TestFlow::statsCountBytesAndOps()
{
    auto [a, b] = makePair();
    QCOMPARE(a->stats().bytesWritten, 0);
    a->write(pattern(10));
    a->writev({pattern(5), pattern(15)});
    a->write(pattern(30));
    auto s = a->shutdown(Flow::Direction::Write);
    RILL_AWAIT_VOID(s); // the FIN follows the last byte handed to the pipe
    const Drained d = readToEnd(b.get());
    QVERIFY2(d.finished && d.end.isEof(), "the reader did not reach Eof");
    const rill::FlowStats as = a->stats();
    const rill::FlowStats bs = b->stats();
    QCOMPARE(as.bytesWritten, qint64(60));
    QCOMPARE(as.writeOps, qint64(3));
    QCOMPARE(as.bytesRead, qint64(0));
    QCOMPARE(as.readOps, qint64(0));
    QCOMPARE(bs.bytesRead, qint64(60));
    QCOMPARE(bs.readOps, qint64(d.dataReads));
    QCOMPARE(bs.bytesWritten, qint64(0));
    QCOMPARE(bs.writeOps, qint64(0));
}

void TestFlow::bytesQueuedTracksTheSendQueue()
{
    auto [a, b] = makePair(); // the pipe's buffer can take all of it
    QSignalSpy queued(a.get(), &Flow::bytesQueuedChanged);
    const auto flowsFirst = destroyFirst(a, b);
    QCOMPARE(a->bytesQueued(), qint64(0));
    a->write(pattern(5000));
    QCOMPARE(a->bytesQueued(), qint64(5000)); // accepted, nothing handed over yet
    a->write(pattern(3000));
    QCOMPARE(a->bytesQueued(), qint64(8000));
    QCOMPARE(queued.count(), 2);
    QCOMPARE(queued.at(0).at(0).toLongLong(), qint64(5000));
    QCOMPARE(queued.at(1).at(0).toLongLong(), qint64(8000));
    // The pipe takes it all, without any read().
    QVERIFY2(spinUntil([&] { return a->bytesQueued() == 0; }), "the send queue never drained");
    QCOMPARE(queued.last().at(0).toLongLong(), qint64(0));
    for (const auto &args : queued)
        QVERIFY2(args.at(0).toLongLong() >= 0 && args.at(0).toLongLong() <= 8000, "bytesQueuedChanged out of range");
    QCOMPARE(a->stats().bytesWritten, qint64(8000));
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, pattern(5000) + pattern(3000), ReadResult::eof());
}

void TestFlow::writesWaitingIsCounted()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(1);
    QSignalSpy waiting(a.get(), &Flow::writesWaitingChanged);
    const auto flowsFirst = destroyFirst(a, b);
    QCOMPARE(a->writesWaiting(), 0);
    a->write(pattern(10));
    auto w2 = a->write("b");
    auto w3 = a->writev({QByteArrayLiteral("c")});
    QCOMPARE(a->writesWaiting(), 2);
    QCOMPARE(waiting.count(), 2);
    QCOMPARE(waiting.at(0).at(0).toInt(), 1);
    QCOMPARE(waiting.at(1).at(0).toInt(), 2);
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, pattern(10) + "bc", ReadResult::eof());
    QCOMPARE(a->writesWaiting(), 0);
    QCOMPARE(waiting.last().at(0).toInt(), 0);
    WriteResult r;
    RILL_RESULT(w2, r);
    QCOMPARE(r, WriteResult::ok());
    RILL_RESULT(w3, r);
    QCOMPARE(r, WriteResult::ok());
}

void TestFlow::dataArrivedAndDataSent()
{
    auto [a, b] = makePair(100);
    QSignalSpy sent(a.get(), &Flow::dataSent);
    QSignalSpy arrived(b.get(), &Flow::dataArrived);
    const auto flowsFirst = destroyFirst(a, b);
    const QByteArray payload = pattern(20000, 5);
    a->write(payload.left(7000));
    a->writev({payload.mid(7000, 3000), payload.mid(10000)});
    a->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(b.get());
    RILL_CHECK_DRAINED(d, payload, ReadResult::eof());
    QVERIFY2(concatenated(sent) == payload, "dataSent does not add up to what was written");
    QVERIFY2(concatenated(arrived) == payload, "dataArrived does not add up to what was read");
    for (const auto &args : sent)
        QVERIFY2(!args.at(0).toByteArray().isEmpty(), "dataSent with no bytes");
    for (const auto &args : arrived)
        QVERIFY2(!args.at(0).toByteArray().isEmpty(), "dataArrived with no bytes");
    // Nothing flows once the direction is closed.
    const int sentCount = sent.count();
    auto late = a->write("late");
    RILL_AWAIT_VOID(late);
    QCOMPARE(sent.count(), sentCount);
}

void TestFlow::errorOccurredAndError()
{
    auto [a, b] = makePair();
    QVERIFY2(a->error().isNone() && b->error().isNone(), "a fresh flow reports an error");
    QSignalSpy aErrors(a.get(), &Flow::errorOccurred);
    QSignalSpy bErrors(b.get(), &Flow::errorOccurred);
    const auto flowsFirst = destroyFirst(a, b);
    a->abort();
    QCOMPARE(aErrors.count(), 1);
    QCOMPARE(aErrors.at(0).at(0).value<Error>().kind(), Error::Kind::Aborted);
    QCOMPARE(a->error().kind(), Error::Kind::Aborted);
    QVERIFY2(spinUntil([&] { return bErrors.count() > 0; }), "the peer never emitted errorOccurred");
    QCOMPARE(bErrors.count(), 1);
    QCOMPARE(bErrors.at(0).at(0).value<Error>(), b->error());
    QCOMPARE(b->error().kind(), Error::Kind::Reset);
    a->abort();
    auto w = b->write("x");
    RILL_AWAIT_VOID(w);
    QCOMPARE(aErrors.count(), 1);
    QCOMPARE(bErrors.count(), 1);
}

void TestFlow::propertiesMatchGetters()
{
    auto [a, b] = makePair();
    a->setHighWaterMark(10);
    a->write(pattern(20));
    a->write("w");
    QCOMPARE(a->property("state").value<Flow::State>(), a->state());
    QCOMPARE(a->property("readState").value<Flow::ReadState>(), a->readState());
    QCOMPARE(a->property("writeState").value<Flow::WriteState>(), a->writeState());
    QCOMPARE(a->property("highWaterMark").toLongLong(), qint64(10));
    QCOMPARE(a->property("bytesQueued").toLongLong(), a->bytesQueued());
    QCOMPARE(a->property("writesWaiting").toInt(), 1);
    QCOMPARE(a->property("error").value<Error>(), a->error());
    QCOMPARE(a->property("localEndpoint").toString(), a->localEndpoint().toString());
    QCOMPARE(a->property("peerEndpoint").toString(), a->peerEndpoint().toString());
    a->abort();
    QCOMPARE(a->property("error").value<Error>().kind(), Error::Kind::Aborted);
}

// Some checks can crash or hang the process when they fail: they run in a child process (this
// same executable, running only that test function and row), which is killed if it hangs. In
// the child, isChild() is true and the function does the risky part itself.
static bool isChild()
{
    return qEnvironmentVariableIsSet("RILL_TEST_CHILD");
}

// Runs "function" or "function:row" in a child process; QVERIFY2s that it ended cleanly.
static void runInChild(const QString &testCase, const char *whatBreaks)
{
    QProcess child;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("RILL_TEST_CHILD"), QStringLiteral("1"));
    child.setProcessEnvironment(env);
    child.setProcessChannelMode(QProcess::MergedChannels);
    child.start(QCoreApplication::applicationFilePath(), {testCase});
    QVERIFY2(child.waitForStarted(), "could not start the child process");
    const bool finished = child.waitForFinished(int(DefaultTimeout.count()));
    if (!finished) {
        child.kill();
        child.waitForFinished();
    }
    // The lines that tell: test failures, the signal, the library's frames of a stack trace.
    QStringList telling;
    const QList<QByteArray> lines = child.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (telling.size() < 30
            && (line.startsWith("FAIL!") || line.startsWith("QFATAL") || line.contains("Received signal")
                || line.contains("malloc") || line.contains("   Loc:") || line.contains("rill::")))
            telling << QString::fromLocal8Bit(line.left(240));
    }
    const QString output = telling.join(QLatin1Char('\n'));
    const QString report = QStringLiteral("%1 (child process %2)\n--- child output\n%3")
                                   .arg(QLatin1String(whatBreaks),
                                        !finished ? QStringLiteral("hung and was killed")
                                                  : child.exitStatus() == QProcess::CrashExit
                                                ? QStringLiteral("crashed")
                                                : QStringLiteral("exited with %1").arg(child.exitCode()),
                                        output);
    QVERIFY2(finished && child.exitStatus() == QProcess::NormalExit && child.exitCode() == 0, qPrintable(report));
}

void TestFlow::abortFromAHandler_data()
{
    QTest::addColumn<QString>("handler");
    for (const char *h : {"writeAccepted", "writeSent", "dataSent", "bytesQueuedChanged", "writesWaitingChanged",
                          "writeStateChanged", "peer dataArrived", "read continuation", "write continuation"})
        QTest::newRow(h) << QString::fromLatin1(h);
}

void TestFlow::abortFromAHandler()
{
    // abort() can be called from anywhere on the flow's thread, including from a handler of
    // the flow's own signals and from a synchronous continuation of its futures.
    QFETCH(QString, handler);
    if (!isChild()) {
        runInChild(QStringLiteral("abortFromAHandler:") + handler,
                   "abort() called from a handler of the flow's own signal or future broke the flow");
        return;
    }
    auto [a, b] = makePair(); // the pipe takes the whole queue in one go: several writes per hand-over
    a->setHighWaterMark(3000);
    bool done = false;
    Flow *victim = handler.startsWith(QLatin1String("peer")) ? static_cast<Flow *>(b.get()) : a.get();
    auto abortOnce = [&] {
        if (!done) {
            done = true;
            victim->abort();
        }
    };
    if (handler == QLatin1String("writeAccepted"))
        connect(a.get(), &Flow::writeAccepted, this, [&](quint64 id) { if (id == 2) abortOnce(); });
    else if (handler == QLatin1String("writeSent"))
        connect(a.get(), &Flow::writeSent, this, [&](quint64) { abortOnce(); });
    else if (handler == QLatin1String("dataSent"))
        connect(a.get(), &Flow::dataSent, this, [&](const QByteArray &) { abortOnce(); });
    else if (handler == QLatin1String("bytesQueuedChanged"))
        connect(a.get(), &Flow::bytesQueuedChanged, this, [&](qint64 n) { if (n < 2000) abortOnce(); });
    else if (handler == QLatin1String("writesWaitingChanged"))
        connect(a.get(), &Flow::writesWaitingChanged, this, [&](int n) { if (n == 1) abortOnce(); });
    else if (handler == QLatin1String("writeStateChanged"))
        connect(a.get(), &Flow::writeStateChanged, this, [&](Flow::WriteState) { abortOnce(); });
    else if (handler == QLatin1String("peer dataArrived"))
        connect(b.get(), &Flow::dataArrived, this, [&](const QByteArray &) { abortOnce(); });

    std::vector<QFuture<WriteResult>> writes;
    for (int i = 0; i < 6; ++i)
        writes.push_back(a->write(pattern(1000, quint32(i))));
    if (handler == QLatin1String("write continuation"))
        writes[4].then([&](const WriteResult &) { abortOnce(); });
    QFuture<ReadResult> read = b->read();
    if (handler == QLatin1String("read continuation"))
        read.then([&](const ReadResult &) { abortOnce(); });
    if (handler == QLatin1String("writeStateChanged"))
        a->shutdown(Flow::Direction::Write);

    const Drained d = readToEnd(b.get());
    QVERIFY2(d.finished, "the peer's reads never ended");
    QVERIFY2(done, "setup: the handler never ran");
    QVERIFY2(spinUntil([&] { return a->state() == Flow::State::Closed && b->state() == Flow::State::Closed; }),
             "the flows did not close after the abort");
    for (size_t i = 0; i < writes.size(); ++i)
        QVERIFY2(writes[i].isFinished(), qPrintable(QStringLiteral("write %1 is unfinished after abort()").arg(i)));
    QCOMPARE(a->bytesQueued(), qint64(0));
    QCOMPARE(a->writesWaiting(), 0);
    // Whatever was delivered is a prefix of what was written.
    QByteArray written;
    for (int i = 0; i < 6; ++i)
        written += pattern(1000, quint32(i));
    QVERIFY2(written.startsWith(d.data), "the peer read bytes that were never written");
}

void TestFlow::receiverDestroyedWhileConnected()
{
    // Observers come and go while a flow lives (a QSignalSpy, a view, a logger): destroying a
    // receiver connected to a flow must not hang. ~QObject calls the sender's
    // disconnectNotify() with a Qt-internal signal/slot mutex held (one of a pool, picked by
    // object address); Qt forbids calling QObject functions such as isSignalConnected() from
    // there.
    if (!isChild()) {
        runInChild(QStringLiteral("receiverDestroyedWhileConnected"),
                   "destroying receivers connected to a flow hung (deadlock: Flow::disconnectNotify() "
                   "calls isSignalConnected(), which Qt forbids there)");
        return;
    }
    auto [a, b] = makePair();
    // Many receivers at different addresses, so some share the flow's mutex.
    std::vector<std::unique_ptr<QObject>> receivers;
    for (int i = 0; i < 1000; ++i) {
        receivers.push_back(std::make_unique<QObject>());
        connect(a.get(), &Flow::dataArrived, receivers.back().get(), [](const QByteArray &) {});
        connect(a.get(), &Flow::stateChanged, receivers.back().get(), [](Flow::State) {});
    }
    receivers.clear();
}

QTEST_GUILESS_MAIN(TestFlow)
#include "tst_flow.moc"
