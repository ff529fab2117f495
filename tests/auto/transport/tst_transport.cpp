// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// The public transport interface: a flow over a transport written only against
// rill/transport.h (the example in docs/examples/transport) gives data, Eof and half-close both
// ways, backpressure when the transport is slow to accept, abort, errors of both kinds, and,
// from the machinery alone, deadlines, cancellation, the idle timeout, stats and the thread hop.
#include "../shared/testutil.h"

#include "../../../docs/examples/transport/queuetransport.h"

#include <rill/transport.h>

#include <QtCore/QFutureWatcher>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <atomic>
#include <memory>

using namespace std::chrono_literals;
using example::createQueuePair;
using example::QueuePair;
using rill::CloseResult;
using rill::Error;
using rill::Flow;
using rill::ReadResult;
using rill::Transport;
using rill::TransportFlow;
using rill::WriteResult;
using namespace rilltest;

namespace {

constexpr qint64 KiB = 1024;


// A one-flow transport: what is written comes back as input. It opens only when told, cannot
// end one direction alone (shutdownWrite() reports Unsupported), and counts the thread hops.
// Everything it reports is queued on the flow's event loop, as the rules want.
class EchoTransport final : public Transport {
public:
    QString name() const override { return QStringLiteral("echo"); }
    QString peerName() const override { return QStringLiteral("echo:self"); }
    void start() override { started = true; }
    void startWriting() override { schedule(); }
    void setReadEnabled(bool enabled) override
    {
        if (enabled)
            schedule();
    }
    void shutdownWrite() override
    {
        m_shutdown = true;
        schedule();
    }
    void abort() override { aborted = true; }
    void release() override { released = true; }
    void leaveThread() override { ++leaves; }
    void joinThread() override
    {
        ++joins;
        joinedIn = QThread::currentThread();
    }

    // Opens the flow from the event loop, as a transport that connects would.
    void open()
    {
        QMetaObject::invokeMethod(
            flow(), [this] { opened(); }, Qt::QueuedConnection);
    }

    bool started = false;
    bool aborted = false;
    bool released = false;
    int leaves = 0;
    std::atomic<int> joins {0};
    std::atomic<QThread *> joinedIn {nullptr};

private:
    void schedule()
    {
        if (std::exchange(m_scheduled, true))
            return;
        QMetaObject::invokeMethod(
            flow(),
            [this] {
                m_scheduled = false;
                work();
            },
            Qt::QueuedConnection);
    }
    void work()
    {
        // Echo: what leaves comes back, while the flow wants it.
        if (bytesToWrite() > 0 && isReadEnabled()) {
            const QList<QByteArray> data = queuedData();
            qint64 n = 0;
            for (const QByteArray &buffer : data) {
                n += buffer.size();
                m_loop.append(buffer);
            }
            written(n);
        }
        if (isReadEnabled() && !m_loop.isEmpty())
            received(std::exchange(m_loop, {}));
        if (m_shutdown) {
            m_shutdown = false;
            writeFailed(Error(Error::Kind::Unsupported,
                QStringLiteral("an echo cannot end one direction alone"), peerName()));
        }
    }
    QByteArray m_loop;
    bool m_scheduled = false;
    bool m_shutdown = false;
};

} // namespace

class TestTransport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void dataAndEofBothWays();
    void halfCloseBothWays();
    void closeEndsBothSides();
    void backpressureWhenTheTransportIsSlowToAccept();
    void largeTransferThroughASmallWire();
    void abortResetsThePeer();
    void destroyingAnEndResetsThePeer();
    void transportErrorFailsTheFlow();
    void writeErrorFailsTheWriteSideAlone();
    void unsupportedHalfCloseIsAnError();
    void connectingUntilOpened();
    void readDeadline();
    void writeDeadlineWithdrawsTheWrite();
    void closeDeadlineAborts();
    void cancelledReadConsumesNothing();
    void cancelledWaitingWriteIsWithdrawn();
    void idleTimeout();
    void statsAndLedger();
    void operationsFromAnotherThread();
    void movesToAnotherThread();
    void nullTransportFails();
};

void TestTransport::dataAndEofBothWays()
{
    QueuePair p = createQueuePair();
    QCOMPARE(p.a->transportName(), QStringLiteral("queue"));
    QCOMPARE(p.a->state(), Flow::State::Open);
    p.a->write("ping");
    p.a->shutdown(Flow::Direction::Write);
    p.b->write("pong");
    p.b->shutdown(Flow::Direction::Write);
    const Drained atB = readToEnd(p.b.get());
    const Drained atA = readToEnd(p.a.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("ping"), ReadResult::eof());
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("pong"), ReadResult::eof());
    QTRY_COMPARE(p.a->state(), Flow::State::Closed);
    QTRY_COMPARE(p.b->state(), Flow::State::Closed);
    QVERIFY(p.a->error().isNone());
    QVERIFY(p.b->error().isNone());
}

void TestTransport::halfCloseBothWays()
{
    QueuePair p = createQueuePair();
    // A ends its side first; B reads A's end of stream and then still answers.
    auto shut = p.a->shutdown(Flow::Direction::Write);
    WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, WriteResult::ok());
    QCOMPARE(p.a->writeState(), Flow::WriteState::Closed);
    ReadResult r;
    auto atB = p.b->read();
    RILL_AWAIT(atB, r);
    QCOMPARE(r, ReadResult::eof());
    QCOMPARE(p.b->readState(), Flow::ReadState::Eof);
    QCOMPARE(p.b->writeState(), Flow::WriteState::Open);
    // A's writes give Eof now, B's go through.
    auto late = p.a->write("late");
    RILL_AWAIT(late, w);
    QCOMPARE(w, WriteResult::eof());
    p.b->write("answer after your end");
    auto bShut = p.b->shutdown(Flow::Direction::Write);
    const Drained atA = readToEnd(p.a.get());
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("answer after your end"), ReadResult::eof());
    RILL_AWAIT(bShut, w);
    QCOMPARE(w, WriteResult::ok());
    QTRY_COMPARE(p.a->state(), Flow::State::Closed);
    QTRY_COMPARE(p.b->state(), Flow::State::Closed);

    // And the other way round: B first.
    QueuePair q = createQueuePair();
    q.b->write("from b");
    q.b->shutdown(Flow::Direction::Write);
    const Drained atA2 = readToEnd(q.a.get());
    RILL_CHECK_DRAINED(atA2, QByteArrayLiteral("from b"), ReadResult::eof());
    q.a->write("from a");
    q.a->shutdown(Flow::Direction::Write);
    const Drained atB2 = readToEnd(q.b.get());
    RILL_CHECK_DRAINED(atB2, QByteArrayLiteral("from a"), ReadResult::eof());
}

void TestTransport::closeEndsBothSides()
{
    QueuePair p = createQueuePair();
    p.a->write("bye");
    auto closeA = p.a->close();
    const Drained atB = readToEnd(p.b.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("bye"), ReadResult::eof());
    QVERIFY(!closeA.isFinished()); // it waits for B's end
    auto closeB = p.b->close();
    CloseResult c;
    RILL_AWAIT(closeA, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
    RILL_AWAIT(closeB, c);
    QVERIFY2(c.isOk(), qPrintable(debugString(c)));
    QCOMPARE(p.a->state(), Flow::State::Closed);
}

void TestTransport::backpressureWhenTheTransportIsSlowToAccept()
{
    QueuePair p = createQueuePair(4 * KiB);
    p.a->setHighWaterMark(8 * KiB);
    p.transportA->setAccepting(false);
    const QByteArray block = pattern(4 * KiB, 3);
    QList<QFuture<WriteResult>> writes;
    for (int i = 0; i < 6; ++i)
        writes.append(p.a->write(block));
    // Two blocks reach the mark; the rest wait while the transport takes nothing.
    QVERIFY(writes.at(0).isFinished());
    QVERIFY(writes.at(1).isFinished());
    QVERIFY(!writes.at(2).isFinished());
    QCOMPARE(p.a->writesWaiting(), 4);
    QCOMPARE(p.a->bytesQueued(), 8 * KiB);
    QTest::qWait(0); // a turn of the event loop: still nothing accepted
    QVERIFY(!writes.at(2).isFinished());
    QCOMPARE(p.a->stats().bytesWritten, qint64(0));

    // The transport takes bytes again: the writes are accepted in order as B reads.
    p.transportA->setAccepting(true);
    const Drained atB = readToEnd(p.b.get(), 6 * 4 * KiB);
    QVERIFY(atB.finished);
    QByteArray expected;
    for (int i = 0; i < 6; ++i)
        expected += block;
    QVERIFY2(atB.data == expected, describeMismatch(atB.data, expected).constData());
    for (const auto &write : writes) {
        WriteResult w;
        RILL_AWAIT(write, w);
        QCOMPARE(w, WriteResult::ok());
    }
    QCOMPARE(p.a->writesWaiting(), 0);
    QTRY_COMPARE(p.a->bytesQueued(), qint64(0));
}

void TestTransport::largeTransferThroughASmallWire()
{
    QueuePair p = createQueuePair(1 * KiB);
    p.a->setHighWaterMark(16 * KiB);
    const QByteArray data = pattern(1024 * KiB, 7);
    // Writes respecting backpressure: each write waits for the previous one's acceptance.
    auto writer = std::make_shared<std::function<void(qsizetype)>>();
    *writer = [&, writer](qsizetype offset) {
        if (offset >= data.size()) {
            p.a->shutdown(Flow::Direction::Write);
            return;
        }
        p.a->write(data.mid(offset, 10000)).then(p.a.get(), [writer, offset](const WriteResult &w) {
            if (w.isOk())
                (*writer)(offset + 10000);
        });
    };
    (*writer)(0);
    const Drained atB = readToEnd(p.b.get());
    RILL_CHECK_DRAINED(atB, data, ReadResult::eof());
    QVERIFY(atB.dataReads > 1);
    *writer = nullptr; // the function holds itself: break the cycle
}

void TestTransport::abortResetsThePeer()
{
    QueuePair p = createQueuePair();
    auto pendingA = p.a->read();
    auto pendingB = p.b->read();
    p.a->abort();
    ReadResult r;
    RILL_AWAIT(pendingA, r);
    QVERIFY2(isKind(r, Error::Kind::Aborted), qPrintable(debugString(r)));
    RILL_AWAIT(pendingB, r);
    QVERIFY2(isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
    QCOMPARE(r.error().endpoint(), QStringLiteral("queue:a"));
    QCOMPARE(p.b->state(), Flow::State::Closed);
    auto w = p.b->write("x");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QVERIFY2(isKind(wr, Error::Kind::Reset), qPrintable(debugString(wr)));
}

void TestTransport::destroyingAnEndResetsThePeer()
{
    QueuePair p = createQueuePair();
    auto pending = p.b->read();
    p.a.reset();
    ReadResult r;
    RILL_AWAIT(pending, r);
    QVERIFY2(isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
}

void TestTransport::transportErrorFailsTheFlow()
{
    QueuePair p = createQueuePair();
    QSignalSpy errors(p.a.get(), &Flow::errorOccurred);
    p.b->write("before the fault");
    const Drained first = readToEnd(p.a.get(), 16);
    QVERIFY(first.finished);
    p.b->write("kept");
    QTRY_COMPARE(p.b->stats().bytesWritten, qint64(16 + 4));
    auto pending = p.a->read(); // takes "kept"
    ReadResult r;
    RILL_AWAIT(pending, r);
    QCOMPARE(r.data(), QByteArrayLiteral("kept"));
    const Error broken(
        Error::Kind::Other, QStringLiteral("the wire broke"), QStringLiteral("queue:b"));
    auto waiting = p.a->read();
    p.transportA->breakWith(broken);
    RILL_AWAIT(waiting, r);
    QCOMPARE(r, ReadResult::fromError(broken));
    QCOMPARE(p.a->state(), Flow::State::Closed);
    QCOMPARE(p.a->error(), broken);
    QCOMPARE(errors.size(), 1);
    // Sticky: every later operation gets the same error.
    auto w = p.a->write("after");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::fromError(broken));
    auto c = p.a->close();
    CloseResult cr;
    RILL_AWAIT(c, cr);
    QCOMPARE(cr.error(), broken);
    // The other end sees the reset the failing end's abort made.
    auto atB = p.b->read();
    RILL_AWAIT(atB, r);
    QVERIFY2(isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
}

void TestTransport::writeErrorFailsTheWriteSideAlone()
{
    QueuePair p = createQueuePair(1);
    p.transportA->setAccepting(false);
    QSignalSpy lost(p.a.get(), &Flow::writeLost);
    QSignalSpy errors(p.a.get(), &Flow::errorOccurred);
    auto w = p.a->write("queued, never sent");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok()); // accepted
    auto shut = p.a->shutdown(Flow::Direction::Write);
    const Error broken(Error::Kind::Closed, QStringLiteral("the wire cannot carry more"));
    p.transportA->breakWritingWith(broken);
    RILL_AWAIT(shut, wr);
    QCOMPARE(wr, WriteResult::fromError(broken)); // loss said, not silent
    QCOMPARE(p.a->writeState(), Flow::WriteState::Failed);
    QCOMPARE(lost.size(), 1);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(p.a->stats().bytesUnsent, qint64(18));
    // Reading goes on.
    QCOMPARE(p.a->readState(), Flow::ReadState::Open);
    p.b->write("still readable");
    p.b->shutdown(Flow::Direction::Write);
    const Drained atA = readToEnd(p.a.get());
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("still readable"), ReadResult::eof());
    QTRY_COMPARE(p.a->state(), Flow::State::Closed);
}

void TestTransport::unsupportedHalfCloseIsAnError()
{
    auto transport = std::make_unique<EchoTransport>();
    EchoTransport *echo = transport.get();
    TransportFlow flow(std::move(transport));
    echo->open();
    flow.write("hello");
    auto r = flow.read();
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QCOMPARE(rr.data(), QByteArrayLiteral("hello"));
    auto shut = flow.shutdown(Flow::Direction::Write);
    WriteResult w;
    RILL_AWAIT(shut, w);
    QVERIFY2(isKind(w, Error::Kind::Unsupported), qPrintable(debugString(w)));
    QCOMPARE(w.error().endpoint(), QStringLiteral("echo:self"));
    QCOMPARE(rill::errorKindName(Error::Kind::Unsupported), QStringLiteral("unsupported"));
    QCOMPARE(flow.writeState(), Flow::WriteState::Failed);
    QCOMPARE(flow.readState(), Flow::ReadState::Open);
}

void TestTransport::connectingUntilOpened()
{
    auto transport = std::make_unique<EchoTransport>();
    EchoTransport *echo = transport.get();
    TransportFlow flow(std::move(transport));
    QVERIFY(echo->started);
    QCOMPARE(flow.state(), Flow::State::Connecting);
    QCOMPARE(flow.transportName(), QStringLiteral("echo"));
    // Writes queue up and reads wait while connecting.
    auto w = flow.write("early");
    auto r = flow.read();
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok());
    QTest::qWait(0);
    QVERIFY(!r.isFinished());
    QSignalSpy states(&flow, &Flow::stateChanged);
    echo->open();
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QCOMPARE(rr.data(), QByteArrayLiteral("early"));
    QCOMPARE(flow.state(), Flow::State::Open);
    QCOMPARE(states.size(), 1);
    flow.abort();
    QVERIFY(echo->aborted);
    QVERIFY(!echo->released);
}

void TestTransport::readDeadline()
{
    QueuePair p = createQueuePair();
    auto r = p.a->read(QDeadlineTimer(30ms));
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QVERIFY2(isKind(rr, Error::Kind::TimedOut), qPrintable(debugString(rr)));
    QCOMPARE(rr.error().endpoint(), QStringLiteral("queue:b"));
    // Nothing consumed, the flow still usable.
    QCOMPARE(p.a->state(), Flow::State::Open);
    p.b->write("later");
    auto next = p.a->read();
    RILL_AWAIT(next, rr);
    QCOMPARE(rr.data(), QByteArrayLiteral("later"));
}

void TestTransport::writeDeadlineWithdrawsTheWrite()
{
    QueuePair p = createQueuePair();
    p.a->setHighWaterMark(4);
    p.transportA->setAccepting(false);
    QSignalSpy rejected(p.a.get(), &Flow::writeRejected);
    auto first = p.a->write("full");
    auto second = p.a->write("waits", QDeadlineTimer(30ms));
    WriteResult w;
    RILL_AWAIT(second, w);
    QVERIFY2(isKind(w, Error::Kind::TimedOut), qPrintable(debugString(w)));
    QCOMPARE(rejected.size(), 1);
    QCOMPARE(p.a->writesWaiting(), 0);
    // The withdrawn write is never sent.
    p.transportA->setAccepting(true);
    p.a->shutdown(Flow::Direction::Write);
    const Drained atB = readToEnd(p.b.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("full"), ReadResult::eof());
    RILL_AWAIT(first, w);
    QCOMPARE(w, WriteResult::ok());
}

void TestTransport::closeDeadlineAborts()
{
    QueuePair p = createQueuePair();
    auto c = p.a->close(QDeadlineTimer(30ms)); // B never ends its side
    CloseResult cr;
    RILL_AWAIT(c, cr);
    QVERIFY2(
        cr.isError() && cr.error().kind() == Error::Kind::TimedOut, qPrintable(debugString(cr)));
    QCOMPARE(p.a->state(), Flow::State::Closed);
    auto atB = p.b->read();
    ReadResult r;
    RILL_AWAIT(atB, r);
    // A's end of stream came first (close() sends it), then the reset of the abort.
    if (r.isEof())
        RILL_AWAIT(atB = p.b->read(), r);
    QVERIFY2(r.isEof() || isKind(r, Error::Kind::Reset), qPrintable(debugString(r)));
}

void TestTransport::cancelledReadConsumesNothing()
{
    QueuePair p = createQueuePair();
    auto cancelled = p.a->read();
    cancelled.cancel();
    QVERIFY(waitFor(cancelled));
    QVERIFY(cancelled.isCanceled());
    p.b->write("for the next read");
    auto next = p.a->read();
    ReadResult r;
    RILL_AWAIT(next, r);
    QCOMPARE(r.data(), QByteArrayLiteral("for the next read"));
}

void TestTransport::cancelledWaitingWriteIsWithdrawn()
{
    QueuePair p = createQueuePair();
    p.a->setHighWaterMark(1);
    p.transportA->setAccepting(false);
    QSignalSpy rejected(p.a.get(), &Flow::writeRejected);
    p.a->write("a");
    auto waiting = p.a->write("withdrawn");
    QVERIFY(!waiting.isFinished());
    waiting.cancel();
    QVERIFY(waitFor(waiting));
    QCOMPARE(rejected.size(), 1);
    QCOMPARE(rejected.at(0).at(1).value<WriteResult>().error().kind(), Error::Kind::Canceled);
    p.transportA->setAccepting(true);
    p.a->shutdown(Flow::Direction::Write);
    const Drained atB = readToEnd(p.b.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("a"), ReadResult::eof());
}

void TestTransport::idleTimeout()
{
    QueuePair p = createQueuePair();
    QSignalSpy idle(p.a.get(), &Flow::idleTimedOut);
    p.a->setIdleAction(Flow::IdleAction::Abort);
    p.a->setIdleTimeout(30ms);
    QVERIFY(idle.wait(DefaultTimeout.count()));
    QCOMPARE(p.a->state(), Flow::State::Closed);
    QCOMPARE(p.a->error().kind(), Error::Kind::TimedOut);
}

void TestTransport::statsAndLedger()
{
    QueuePair p = createQueuePair();
    QSignalSpy sent(p.a.get(), &Flow::writeSent);
    QSignalSpy sentData(p.a.get(), &Flow::dataSent);
    QSignalSpy arrived(p.b.get(), &Flow::dataArrived);
    p.a->writev({QByteArrayLiteral("ab"), QByteArray(), QByteArrayLiteral("cd")});
    p.a->write("efg");
    p.a->shutdown(Flow::Direction::Write);
    const Drained atB = readToEnd(p.b.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("abcdefg"), ReadResult::eof());
    QTRY_COMPARE(sent.size(), 2);
    QCOMPARE(sent.at(0).at(0).toULongLong(), 1ull);
    QCOMPARE(sent.at(1).at(0).toULongLong(), 2ull);
    QByteArray seen;
    for (const auto &args : std::as_const(sentData))
        seen += args.at(0).toByteArray();
    QCOMPARE(seen, QByteArrayLiteral("abcdefg"));
    seen.clear();
    for (const auto &args : std::as_const(arrived))
        seen += args.at(0).toByteArray();
    QCOMPARE(seen, QByteArrayLiteral("abcdefg"));
    QCOMPARE(p.a->stats().bytesWritten, qint64(7));
    QCOMPARE(p.a->stats().writeOps, qint64(2));
    QCOMPARE(p.b->stats().bytesRead, qint64(7));
}

void TestTransport::operationsFromAnotherThread()
{
    QueuePair p = createQueuePair();
    WorkerThread worker;
    // The futures are made and waited on in the worker; the flows run here.
    QFuture<WriteResult> w = worker.call([&] { return p.a->write("from a thread"); });
    QFuture<ReadResult> r = worker.call([&] { return p.b->read(); });
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QCOMPARE(rr.data(), QByteArrayLiteral("from a thread"));
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok());
}

void TestTransport::movesToAnotherThread()
{
    auto transport = std::make_unique<EchoTransport>();
    EchoTransport *echo = transport.get();
    auto flow = std::make_unique<TransportFlow>(std::move(transport));
    echo->open();
    QTRY_COMPARE(flow->state(), Flow::State::Open);
    WorkerThread worker;
    TransportFlow *moved = worker.adopt(std::move(flow));
    QCOMPARE(echo->leaves, 1);
    QTRY_COMPARE(echo->joins.load(), 1);
    QCOMPARE(echo->joinedIn.load(), worker.thread());
    // Called from here, carried out there.
    auto w = moved->write("over there");
    auto r = moved->read();
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QCOMPARE(rr.data(), QByteArrayLiteral("over there"));
    WriteResult wr;
    RILL_AWAIT(w, wr);
    QCOMPARE(wr, WriteResult::ok());
    worker.destroy(moved);
}

void TestTransport::nullTransportFails()
{
    TransportFlow flow(nullptr);
    QTRY_COMPARE(flow.state(), Flow::State::Closed);
    QCOMPARE(flow.error().kind(), Error::Kind::InvalidArgument);
    auto r = flow.read();
    ReadResult rr;
    RILL_AWAIT(r, rr);
    QVERIFY2(isKind(rr, Error::Kind::InvalidArgument), qPrintable(debugString(rr)));
}

QTEST_GUILESS_MAIN(TestTransport)
#include "tst_transport.moc"
