// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Flow contract v2, one test per decision of the README's contract table: close() never waits
// on the application's reading, a read from a continuation while the flow fails finishes,
// errors are sticky and said once, a cancelled read consumes nothing, accept errors are
// reported and recovered from, a peer that goes away with bytes queued is a loss that is said,
// setters are visible at once from any thread, a wrapped socket that saw the peer's end keeps
// its bytes; and deadlines. Pipes where the behaviour is the machinery's, real sockets with a
// Python peer where the kernel is part of it.
#include "../shared/sockettest.h"
#include "../shared/testutil.h"

#include <rill/listener.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QFutureWatcher>
#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtCore/QSemaphore>
#include <QtCore/QThread>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <memory>

using namespace std::chrono_literals;
using rill::CloseResult;
using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using sockettest::Peer;

using rilltest::isKind;

namespace {
constexpr qint64 KiB = 1024;
constexpr qint64 MiB = 1024 * KiB;

// Writes from a (one end of PipeFlow::createPair(1), its peer reading nothing) until its next
// write must wait: with a high-water mark of 1, the first write fills the peer's read-ahead, the
// second the pipe's buffer, and the third stays queued above the mark. Returns what it wrote.
QByteArray fillUntilWritesWait(Flow *a, int seed)
{
    a->setHighWaterMark(1);
    const QByteArray first = rilltest::pattern(256 * KiB, seed);
    a->write(first);
    a->write("second");
    a->write("third");
    return first + "secondthird";
}


// Fills the process's descriptor table, so the next accept() fails with EMFILE; released on
// destruction. The limit is lowered first so that this takes few descriptors.
class DescriptorExhaustion
{
public:
    DescriptorExhaustion()
    {
        ::getrlimit(RLIMIT_NOFILE, &m_saved);
        rlimit lower = m_saved;
        lower.rlim_cur = qMin<rlim_t>(m_saved.rlim_cur, 4096);
        ::setrlimit(RLIMIT_NOFILE, &lower);
        for (;;) {
            const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                break;
            m_fds.push_back(fd);
        }
    }
    ~DescriptorExhaustion()
    {
        release();
        ::setrlimit(RLIMIT_NOFILE, &m_saved);
    }
    void release()
    {
        for (int fd : std::exchange(m_fds, {}))
            ::close(fd);
    }
    bool exhausted() const { return !m_fds.empty(); }

private:
    rlimit m_saved{};
    std::vector<int> m_fds;
};
} // namespace

class tst_Contract : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void closeDoesNotWaitOnReading_pipe();
    void closeDoesNotWaitOnReading_sockets_data();
    void closeDoesNotWaitOnReading_sockets();
    void closedFromTheConnectContinuation_data() { closeDoesNotWaitOnReading_sockets_data(); }
    void closedFromTheConnectContinuation();
    void closeKeepsWhatFitsForReaders();
    void readFromContinuationWhileFailing();
    void abortFromContinuationKeepsTheFirstError();
    void cancelledReadConsumesNothing();
    void cancelledReadFinishesAtOnce();
    void cancelledReadAfterMoveIsWithdrawnInTheNewThread();
    void cancelledWaitingWriteIsWithdrawn();
    void cancelledWaitingWriteIsWithdrawnAtOnce();
    void callbackRunsInContextThread();
    void callbackOfDestroyedContextTakesNothing();
    void callbacksWhenTheFlowIsDestroyed();
    void callbackDeadlines();
    void callbackFromAnotherThread();
    void callbackLostToAContextDestroyedGivesTheBytesBack();
    void callbackInAnotherThreadHoldsLaterReads();
    void callbackLostAfterTheReadSideFailedIsReported();
    void readDeadline();
    void writeDeadline();
    void closeDeadline();
    void idleTimeout();
    void peerGoneWithBytesQueued_pipe();
    void peerGoneWithBytesQueued_tcp();
    void setterVisibleAtOnceFromAnotherThread();
    void wrappedSocketThatSawTheEnd();
    void acceptErrorsAreReported_data();
    void acceptErrorsAreReported();
    void acceptDeadline();
    void listenerThreadEnds();

private:
    QTemporaryDir m_dir;
};

// 4 MiB from a peer that has ended its side, nothing read: close() resolves anyway, says what
// it discarded, and later reads give the kept bytes and then Discarded, never a plain Eof.
void tst_Contract::closeDoesNotWaitOnReading_pipe()
{
    auto [a, b] = PipeFlow::createPair();
    const QByteArray data = rilltest::pattern(4 * MiB, 7);
    QFuture<WriteResult> written = b->write(data);
    auto shut = b->shutdown(Flow::Direction::Write);
    auto closed = a->close();
    CloseResult result;
    RILL_AWAIT(closed, result);
    QVERIFY2(result.isOk(), qPrintable(rilltest::debugString(result)));
    QVERIFY2(result.bytesDiscarded() > 0, "close() discarded nothing of 4 MiB unread");
    QCOMPARE(a->stats().bytesDiscarded, result.bytesDiscarded());
    WriteResult shutResult;
    RILL_AWAIT(shut, shutResult);
    QCOMPARE(shutResult, WriteResult::ok());
    const rilltest::Drained drained = rilltest::readToEnd(a.get());
    QVERIFY(drained.finished);
    QVERIFY2(data.startsWith(drained.data), "the kept bytes are not the stream's beginning");
    QCOMPARE(drained.data.size() + result.bytesDiscarded(), data.size());
    QVERIFY2(isKind(drained.end, Error::Kind::Discarded), qPrintable(rilltest::debugString(drained.end)));
}

void tst_Contract::closeDoesNotWaitOnReading_sockets_data()
{
    QTest::addColumn<bool>("tcp");
    QTest::newRow("tcp") << true;
    QTest::newRow("unix") << false;
}

// A continuation of connectTo() takes the flow and closes it at once. The connect future runs
// it inside its own settling, and the close's state change called back in there: a second
// result then owned the flow, and deleted it (deleteLater) under the caller who owns it.
void tst_Contract::closedFromTheConnectContinuation()
{
    QFETCH(bool, tcp);
    rill::Listener listener;
    const QString where = tcp ? QStringLiteral("tcp:127.0.0.1:0")
                              : QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("cont.sock"));
    QVERIFY2(listener.listen(rill::Endpoint::parse(where)), qPrintable(errorMessage(listener.error())));
    auto accepted = listener.accept();
    std::unique_ptr<Flow> owned;
    QPointer<Flow> watched;
    bool closed = false;
    QObject context;
    rill::connectTo(rill::Endpoint::parse(listener.endpointString()))
            .then(&context, [&](rill::FlowResult<Flow> r) {
                owned = r.takeFlow();
                watched = owned.get();
                if (owned)
                    owned->close().then(&context, [&closed](const CloseResult &) { closed = true; });
            });
    // The other end closes too (our close waits for that), then ours resolves.
    rill::FlowResult<Flow> peer;
    RILL_AWAIT(accepted, peer);
    QVERIFY(peer.isOk());
    auto peerClosed = peer.flow()->close();
    QTRY_VERIFY(closed);
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    if (!watched) {
        (void)owned.release(); // deleted already: not again
        QFAIL("the library deleted a flow its caller owns");
    }
    QCOMPARE(watched->state(), Flow::State::Closed);
    CloseResult c;
    RILL_AWAIT(peerClosed, c);
    QVERIFY2(c.isOk(), qPrintable(rilltest::debugString(c)));
}

// The same over real sockets: a Python peer sends 4 MiB and ends its side; we close() without
// reading. (A TCP peer's FIN cannot arrive while our receive window is full, so the flow must
// take input while it closes.)
void tst_Contract::closeDoesNotWaitOnReading_sockets()
{
    QFETCH(bool, tcp);
    rill::Listener listener;
    const QString where = tcp ? QStringLiteral("tcp:127.0.0.1:0")
                              : QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("close.sock"));
    QVERIFY2(listener.listen(rill::Endpoint::parse(where)), qPrintable(errorMessage(listener.error())));
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), listener.endpointString(),
                              QStringLiteral("--bytes"), QString::number(4 * MiB)}));
    auto accepted = listener.accept();
    rill::FlowResult<Flow> r;
    RILL_AWAIT(accepted, r);
    QVERIFY(r.isOk());
    std::unique_ptr<Flow> flow = r.takeFlow();
    auto closed = flow->close(10s);
    CloseResult result;
    RILL_AWAIT(closed, result);
    QVERIFY2(result.isOk(), qPrintable(rilltest::debugString(result)));
    QVERIFY2(peer.waitForEvent(QStringLiteral("done")), "the peer did not see our end of stream");
    const rilltest::Drained drained = rilltest::readToEnd(flow.get());
    QVERIFY(drained.finished);
    QCOMPARE(drained.data.size() + result.bytesDiscarded(), 4 * MiB);
    QVERIFY(result.bytesDiscarded() > 0 ? isKind(drained.end, Error::Kind::Discarded)
                                         : drained.end.isEof());
}

// Below the bound nothing is lost: a reader that reads after close() gets everything, then Eof.
void tst_Contract::closeKeepsWhatFitsForReaders()
{
    auto [a, b] = PipeFlow::createPair();
    const QByteArray data = rilltest::pattern(200 * KiB, 8);
    b->write(data);
    b->shutdown(Flow::Direction::Write);
    auto closed = a->close();
    CloseResult result;
    RILL_AWAIT(closed, result);
    QCOMPARE(result, CloseResult::ok());
    const rilltest::Drained drained = rilltest::readToEnd(a.get());
    RILL_CHECK_DRAINED(drained, data, ReadResult::eof());
}

// A continuation on shutdown(Write), run when the peer resets, calls read(): that read must
// finish (it used to queue behind the failure and wait until the flow was deleted).
void tst_Contract::readFromContinuationWhileFailing()
{
    auto [a, b] = PipeFlow::createPair(1);
    a->setHighWaterMark(1);
    a->write(rilltest::pattern(64 * KiB, 1));
    QFuture<WriteResult> waiting = a->write("waits");
    QFuture<ReadResult> fromContinuation;
    bool ran = false;
    auto shut = a->shutdown(Flow::Direction::Write).then(a.get(), [&](const WriteResult &) {
        ran = true;
        fromContinuation = a->read();
    });
    b->abort();
    QTRY_VERIFY_WITH_TIMEOUT(ran, 15000);
    QVERIFY2(rilltest::waitFor(fromContinuation), "a read made from a continuation never finished");
    QVERIFY2(isKind(fromContinuation.result(), Error::Kind::Reset),
             qPrintable(rilltest::debugString(fromContinuation.result())));
    QVERIFY(isKind(waiting.result(), Error::Kind::Reset));
}

// abort() from a continuation while the flow fails: errorOccurred once, with the first error,
// and every later call gets that same error.
void tst_Contract::abortFromContinuationKeepsTheFirstError()
{
    auto [a, b] = PipeFlow::createPair(1);
    a->setHighWaterMark(1);
    a->write(rilltest::pattern(64 * KiB, 2));
    QFuture<WriteResult> waiting = a->write("waits");
    QFuture<ReadResult> pending = a->read();
    QSignalSpy errors(a.get(), &Flow::errorOccurred);
    waiting.then(a.get(), [&](const WriteResult &) { a->abort(); });
    b->abort();
    QVERIFY(rilltest::waitFor(pending));
    QTRY_COMPARE(a->state(), Flow::State::Closed);
    QCoreApplication::processEvents();
    QCOMPARE(errors.size(), 1);
    QCOMPARE(errors.at(0).at(0).value<Error>().kind(), Error::Kind::Reset);
    QVERIFY(isKind(pending.result(), Error::Kind::Reset));
    auto later = a->read();
    QVERIFY(isKind(later.result(), Error::Kind::Reset));
    QCOMPARE(a->error().kind(), Error::Kind::Reset);
}

// auto f = read(); f.cancel(); then the peer sends "AAAA" and "BBBB": nothing is lost.
// A cancelled read finishes when cancel() is called, not when data or the end arrives: whoever
// waits on it (a QFutureWatcher, waitForFinished() in another thread) is not left hanging.
void tst_Contract::cancelledReadFinishesAtOnce()
{
    auto [a, b] = PipeFlow::createPair();
    QFuture<ReadResult> cancelled = a->read();
    QFutureWatcher<ReadResult> watcher;
    QSignalSpy finished(&watcher, &QFutureWatcherBase::finished);
    watcher.setFuture(cancelled);
    cancelled.cancel();
    QTRY_COMPARE(finished.size(), 1);
    QCOMPARE(cancelled.resultCount(), 0);
    QFuture<ReadResult> other = a->read();
    std::unique_ptr<QThread> canceller(QThread::create([other]() mutable {
        other.cancel();
        other.waitForFinished();
    }));
    canceller->start();
    QTRY_VERIFY(canceller->isFinished());
    QVERIFY(other.isFinished());
    b->write("after");
    b->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(a.get());
    RILL_CHECK_DRAINED(drained, QByteArray("after"), ReadResult::eof());
}

// A read that waited long enough to be watched for cancel() in one thread, then the flow moved:
// the cancel is handled in the flow's new thread (a watcher left in the old one would touch the
// flow from there), and the bytes still go to the next read.
void tst_Contract::cancelledReadAfterMoveIsWithdrawnInTheNewThread()
{
    auto [a, b] = PipeFlow::createPair();
    QFuture<ReadResult> cancelled = a->read();
    // Synchronised on a timer of this thread due later than the flow's cancel watching.
    auto [c, d] = PipeFlow::createPair();
    QFuture<ReadResult> timesOut = c->read(QDeadlineTimer(20));
    QVERIFY(rilltest::waitFor(timesOut));
    QVERIFY(isKind(timesOut.result(), Error::Kind::TimedOut));

    QThread thread;
    thread.start();
    a->moveToThread(&thread);
    const auto cleanup = qScopeGuard([&] {
        QMetaObject::invokeMethod(a.get(), [&] { a.reset(); }, Qt::BlockingQueuedConnection);
        thread.quit();
        thread.wait();
    });
    std::atomic<QThread *> finishedIn{nullptr};
    // Runs in the thread that finishes the cancelled future.
    const QFuture<ReadResult> handled = cancelled.onCanceled([&finishedIn] {
        finishedIn = QThread::currentThread();
        return ReadResult::eof();
    });
    cancelled.cancel();
    QTRY_VERIFY(cancelled.isFinished());
    QTRY_VERIFY(finishedIn.load() != nullptr);
    QCOMPARE(finishedIn.load(), &thread);
    b->write("kept");
    QFuture<ReadResult> next;
    QMetaObject::invokeMethod(a.get(), [&] { next = a->read(); }, Qt::BlockingQueuedConnection);
    QVERIFY(rilltest::waitFor(next));
    QCOMPARE(next.result(), ReadResult::fromData("kept"));
}

void tst_Contract::cancelledReadConsumesNothing()
{
    auto [a, b] = PipeFlow::createPair();
    QFuture<ReadResult> cancelled = a->read();
    cancelled.cancel();
    QFuture<ReadResult> second = a->read();
    second.cancel();
    b->write("AAAA");
    b->write("BBBB");
    b->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(a.get());
    RILL_CHECK_DRAINED(drained, QByteArray("AAAABBBB"), ReadResult::eof());
    QCOMPARE(a->stats().bytesRead, 8);
}

// A write cancelled while it waits above the high-water mark is never sent; the ledger says so.
void tst_Contract::cancelledWaitingWriteIsWithdrawn()
{
    auto [a, b] = PipeFlow::createPair(1);
    a->setHighWaterMark(1);
    QSignalSpy rejected(a.get(), &Flow::writeRejected);
    a->write("first");
    QFuture<WriteResult> withdrawn = a->write("never");
    QFuture<WriteResult> third = a->write("third");
    QCOMPARE(a->writesWaiting(), 2);
    withdrawn.cancel();
    a->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(b.get());
    RILL_CHECK_DRAINED(drained, QByteArray("firstthird"), ReadResult::eof());
    QCOMPARE(rejected.size(), 1);
    QCOMPARE(rejected.at(0).at(0).value<quint64>(), quint64(2));
    QCOMPARE(third.result(), WriteResult::ok());
}

// The withdrawal happens when cancel() is called, not when the queue drains: here the peer does
// not read, so the queue does not drain, yet the ledger says Canceled, writesWaiting drops, and a
// write from another thread's cancel() is withdrawn the same way.
void tst_Contract::cancelledWaitingWriteIsWithdrawnAtOnce()
{
    auto [a, b] = PipeFlow::createPair(1);
    QSignalSpy rejected(a.get(), &Flow::writeRejected);
    const QByteArray written = fillUntilWritesWait(a.get(), 3);
    QTRY_COMPARE(a->writesWaiting(), 0); // "third" stays queued: the writes below must wait
    QFuture<WriteResult> withdrawn = a->write("never");
    QFuture<WriteResult> other = a->write("also never");
    QCOMPARE(a->writesWaiting(), 2);
    withdrawn.cancel();
    QTRY_COMPARE(rejected.size(), 1);
    QCOMPARE(rejected.at(0).at(0).value<quint64>(), quint64(4));
    QCOMPARE(rejected.at(0).at(1).value<WriteResult>().error().kind(), Error::Kind::Canceled);
    QCOMPARE(a->writesWaiting(), 1);
    std::unique_ptr<QThread> canceller(QThread::create([other]() mutable { other.cancel(); }));
    canceller->start();
    QVERIFY(canceller->wait(5000));
    QTRY_COMPARE(rejected.size(), 2);
    QCOMPARE(rejected.at(1).at(0).value<quint64>(), quint64(5));
    QCOMPARE(a->writesWaiting(), 0);
    a->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(b.get());
    RILL_CHECK_DRAINED(drained, written, ReadResult::eof());
}

// A read still waiting at its deadline times out, consumes nothing, and the flow goes on.
// read(context, callback): the result goes to the callback in the context's thread, at once
// when that is the flow's thread and the data is there, else through that thread's loop.
void tst_Contract::callbackRunsInContextThread()
{
    auto [a, b] = PipeFlow::createPair();
    QObject here;
    std::optional<ReadResult> got;
    a->read(&here, [&](const ReadResult &r) { got = r; });
    QVERIFY(!got);
    b->write("now");
    QTRY_VERIFY(got.has_value());
    QCOMPARE(*got, ReadResult::fromData("now"));
    // A result that is ready is given inside the call.
    b->shutdown(Flow::Direction::Write);
    QFuture<ReadResult> eof = a->read();
    ReadResult r;
    RILL_AWAIT(eof, r);
    QCOMPARE(r, ReadResult::eof());
    got.reset();
    a->read(&here, [&](const ReadResult &r) { got = r; });
    QCOMPARE(got, std::optional(ReadResult::eof()));

    // In another thread's context: through that thread's event loop.
    QThread thread;
    QObject there;
    there.moveToThread(&thread);
    thread.start();
    std::atomic<QThread *> ranIn{nullptr};
    QByteArray data;
    a->write("later");
    b->read(&there, [&](const ReadResult &r) {
        data = r.data();
        ranIn = QThread::currentThread();
    });
    QTRY_COMPARE(ranIn.load(), &thread);
    QCOMPARE(data, QByteArray("later"));
    std::optional<WriteResult> written;
    a->write("accepted", &here, [&](const WriteResult &r) { written = r; });
    QCOMPARE(written, std::optional(WriteResult::ok())); // accepted at once, in this thread
    thread.quit();
    QVERIFY(thread.wait(5000));
}

// A read whose context is gone when its data comes takes nothing: the next read gets the bytes.
void tst_Contract::callbackOfDestroyedContextTakesNothing()
{
    auto [a, b] = PipeFlow::createPair();
    bool ran = false;
    {
        QObject gone;
        a->read(&gone, [&](const ReadResult &) { ran = true; });
    }
    QFuture<ReadResult> next = a->read();
    b->write("kept");
    ReadResult r;
    RILL_AWAIT(next, r);
    QCOMPARE(r, ReadResult::fromData("kept"));
    QVERIFY(!ran);
    QCOMPARE(a->stats().readOps, 1);

    // A waiting write's bytes go even so; only its call is dropped.
    auto [c, d] = PipeFlow::createPair(1);
    const QByteArray written = fillUntilWritesWait(c.get(), 5);
    {
        QObject gone;
        c->write("sent", &gone, [&](const WriteResult &) { ran = true; });
        QVERIFY(c->writesWaiting() > 0); // the last one, ours, waits
    }
    c->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(d.get());
    RILL_CHECK_DRAINED(drained, written + "sent", ReadResult::eof());
    QVERIFY(!ran);
}

// Every callback runs: a flow destroyed with reads and writes waiting gives them Aborted,
// except those whose context is the flow itself (their context is going).
void tst_Contract::callbacksWhenTheFlowIsDestroyed()
{
    auto [a, b] = PipeFlow::createPair(1);
    a->setHighWaterMark(1);
    QObject context;
    std::optional<ReadResult> read;
    std::optional<WriteResult> accepted, waiting;
    int ranForTheFlow = 0;
    a->read(&context, [&](const ReadResult &r) { read = r; });
    a->write("fills the queue", &context, [&](const WriteResult &r) { accepted = r; });
    a->write("waits", &context, [&](const WriteResult &r) { waiting = r; });
    a->read(a.get(), [&](const ReadResult &) { ++ranForTheFlow; });
    QCOMPARE(accepted, std::optional(WriteResult::ok()));
    QVERIFY(!waiting && !read);
    a.reset();
    QVERIFY(read && isKind(*read, Error::Kind::Aborted));
    QVERIFY(waiting && isKind(*waiting, Error::Kind::Aborted));
    QCOMPARE(ranForTheFlow, 0);
}

void tst_Contract::callbackDeadlines()
{
    auto [a, b] = PipeFlow::createPair();
    QObject context;
    std::optional<ReadResult> timed;
    a->read(&context, [&](const ReadResult &r) { timed = r; }, QDeadlineTimer(50ms));
    QTRY_VERIFY(timed.has_value());
    QVERIFY2(isKind(*timed, Error::Kind::TimedOut), qPrintable(rilltest::debugString(*timed)));
    QCOMPARE(a->readState(), Flow::ReadState::Open);

    auto [c, d] = PipeFlow::createPair(1);
    const QByteArray written = fillUntilWritesWait(c.get(), 5);
    std::optional<WriteResult> withdrawn;
    c->write("late", &context, [&](const WriteResult &r) { withdrawn = r; }, QDeadlineTimer(50ms));
    QVERIFY(c->writesWaiting() > 0); // the last one, ours, waits
    QTRY_VERIFY(withdrawn.has_value());
    QVERIFY2(isKind(*withdrawn, Error::Kind::TimedOut), qPrintable(rilltest::debugString(*withdrawn)));
    c->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(d.get());
    RILL_CHECK_DRAINED(drained, written, ReadResult::eof()); // nothing of "late"
}

// Called from another thread than the flow's, the operation runs in the flow's thread and the
// callback in the context's.
void tst_Contract::callbackFromAnotherThread()
{
    auto [a, b] = PipeFlow::createPair();
    QObject context; // this thread's
    std::optional<ReadResult> got;
    std::atomic<QThread *> ranIn{nullptr};
    std::unique_ptr<QThread> caller(QThread::create([&, flow = a.get()] {
        flow->read(&context, [&](const ReadResult &r) {
            ranIn = QThread::currentThread();
            got = r;
        });
    }));
    caller->start();
    QVERIFY(caller->wait(5000));
    b->write("across");
    QTRY_VERIFY(got.has_value());
    QCOMPARE(ranIn.load(), QThread::currentThread());
    QCOMPARE(*got, ReadResult::fromData("across"));
}

// A context in another thread, destroyed after a read's data was sent to it and before its
// thread ran the callback: Qt drops the queued call, and with it the data. The bytes go back in
// front of the stream, in order: the next read gets them, then what came after.
void tst_Contract::callbackLostToAContextDestroyedGivesTheBytesBack()
{
    auto [a, b] = PipeFlow::createPair();
    rilltest::WorkerThread other;
    auto *context = other.adopt(std::make_unique<QObject>());
    rilltest::ThreadHold hold(other); // the call posted to context waits
    std::atomic<bool> called{false};
    a->read(context, [&](const ReadResult &) { called = true; });
    b->write("lost? ");
    QTRY_COMPARE(a->stats().bytesRead, qint64(6)); // sent to the other thread's call
    QFuture<ReadResult> next = a->read();          // waits while the bytes are in flight
    b->write("no: here");
    hold.release(context); // the queued call is dropped with its context
    QVERIFY(rilltest::waitFor(next));
    QVERIFY2(next.result().isData() && next.result().data().startsWith("lost? "),
             qPrintable(rilltest::debugString(next.result())));
    const QByteArray first = next.result().data();
    const rilltest::Drained rest = rilltest::readToEnd(a.get(), 14 - first.size());
    QVERIFY(rest.finished);
    QCOMPARE(first + rest.data, QByteArray("lost? no: here"));
    QVERIFY(!called);
    QCOMPARE(a->stats().bytesRead, qint64(14));
    QCOMPARE(a->stats().readOps, qint64(1 + rest.dataReads));
    QCOMPARE(a->stats().bytesDiscarded, qint64(0));
}

// While a read's data is on its way to a callback in another thread, later reads wait until the
// callback has run, even with data buffered: had the call been dropped, its bytes must still
// come first.
void tst_Contract::callbackInAnotherThreadHoldsLaterReads()
{
    auto [a, b] = PipeFlow::createPair();
    rilltest::WorkerThread other;
    QSignalSpy arrived(a.get(), &Flow::dataArrived);
    QFuture<ReadResult> next;
    std::atomic<bool> nextFinishedFirst{true};
    std::atomic<bool> called{false};
    {
        rilltest::ThreadHold hold(other);
        a->read(other.context(), [&](const ReadResult &r) {
            nextFinishedFirst = next.isFinished();
            called = r == ReadResult::fromData("first");
        });
        b->write("first");
        QTRY_COMPARE(a->stats().bytesRead, qint64(5));
        next = a->read();
        b->write("second");
        QTRY_COMPARE(arrived.count(), 2); // "second" is buffered, not given to next
    }
    QTRY_VERIFY(called);
    QVERIFY2(!nextFinishedFirst, "a later read was served while the data before it was in flight");
    QVERIFY(rilltest::waitFor(next));
    QCOMPARE(next.result(), ReadResult::fromData("second"));
}

// The read side failed while the data was in flight: later reads got the failure, so bytes
// that come back then cannot be read in order. They are counted discarded, and rill.flow warns.
void tst_Contract::callbackLostAfterTheReadSideFailedIsReported()
{
    auto [a, b] = PipeFlow::createPair();
    rilltest::WorkerThread other;
    auto *context = other.adopt(std::make_unique<QObject>());
    rilltest::ThreadHold hold(other);
    a->read(context, [](const ReadResult &) {});
    b->write("gone");
    QTRY_COMPARE(a->stats().bytesRead, qint64(4));
    QFuture<ReadResult> next = a->read();
    a->abort();
    QVERIFY(rilltest::waitFor(next));
    QVERIFY(isKind(next.result(), Error::Kind::Aborted));
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression(QStringLiteral(
            ": lost 4 bytes read for a callback in another thread: its context was destroyed "
            "before the callback ran, and the read side had ended meanwhile$")));
    hold.release(context);
    QTRY_COMPARE(a->stats().bytesDiscarded, qint64(4));
    QCOMPARE(a->stats().bytesRead, qint64(0));
}

void tst_Contract::readDeadline()
{
    auto [a, b] = PipeFlow::createPair();
    QFuture<ReadResult> timed = a->read(50ms);
    QVERIFY(rilltest::waitFor(timed));
    QVERIFY2(isKind(timed.result(), Error::Kind::TimedOut), qPrintable(rilltest::debugString(timed.result())));
    QCOMPARE(a->readState(), Flow::ReadState::Open);
    b->write("after");
    QFuture<ReadResult> next = a->read(5s);
    ReadResult r;
    RILL_AWAIT(next, r);
    QCOMPARE(r, ReadResult::fromData("after"));
    // An expired deadline takes what is buffered, or times out at once, consuming nothing.
    b->write("buffered");
    // (QTRY_* evaluate their expression once more after it held: no side effects in it.)
    ReadResult polled = ReadResult::fromError(Error(Error::Kind::TimedOut, QString()));
    const auto poll = [&] {
        QFuture<ReadResult> f = a->read(QDeadlineTimer(0));
        if (!f.isFinished())
            return false; // a read with a past deadline must never wait
        polled = f.result();
        return !isKind(polled, Error::Kind::TimedOut);
    };
    QVERIFY2(sockettest::runUntil(poll), qPrintable(rilltest::debugString(polled)));
    QCOMPARE(polled, ReadResult::fromData("buffered"));
}

// A write waiting at its deadline is withdrawn: nothing of it sent.
void tst_Contract::writeDeadline()
{
    auto [a, b] = PipeFlow::createPair(1);
    const QByteArray written = fillUntilWritesWait(a.get(), 5);
    QFuture<WriteResult> late = a->write("late", 50ms);
    QVERIFY(rilltest::waitFor(late));
    QVERIFY2(isKind(late.result(), Error::Kind::TimedOut), qPrintable(rilltest::debugString(late.result())));
    QCOMPARE(a->writesWaiting(), 0);
    a->shutdown(Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(b.get());
    RILL_CHECK_DRAINED(drained, written, ReadResult::eof());
}

// A peer that never ends its side: close(deadline) aborts at the deadline and says TimedOut.
void tst_Contract::closeDeadline()
{
    auto [a, b] = PipeFlow::createPair();
    QFuture<CloseResult> closed = a->close(50ms);
    QVERIFY(rilltest::waitFor(closed));
    QCOMPARE(closed.result().error().kind(), Error::Kind::TimedOut);
    QCOMPARE(a->state(), Flow::State::Closed);
    QCOMPARE(a->error().kind(), Error::Kind::TimedOut);
    // The peer had our end of stream first (close() sends it), then the reset.
    QTRY_COMPARE(b->error().kind(), Error::Kind::Reset);
}

void tst_Contract::idleTimeout()
{
    auto [a, b] = PipeFlow::createPair();
    QSignalSpy idle(a.get(), &Flow::idleTimedOut);
    a->setIdleTimeout(30ms);
    QCOMPARE(a->idleTimeout(), 30);
    QTRY_VERIFY(idle.size() >= 1);
    QCOMPARE(a->state(), Flow::State::Open);
    a->setIdleAction(Flow::IdleAction::Abort);
    QTRY_COMPARE(a->state(), Flow::State::Closed);
    QCOMPARE(a->error().kind(), Error::Kind::TimedOut);
}

// The peer goes away while we hold accepted bytes: the loss is said, never a clean end.
void tst_Contract::peerGoneWithBytesQueued_pipe()
{
    auto [a, b] = PipeFlow::createPair(64 * KiB);
    a->setHighWaterMark(16 * MiB);
    QSignalSpy errors(a.get(), &Flow::errorOccurred);
    QSignalSpy lost(a.get(), &Flow::writeLost);
    QFuture<WriteResult> accepted = a->write(rilltest::pattern(4 * MiB, 3));
    QCOMPARE(accepted.result(), WriteResult::ok());
    auto shut = a->shutdown(Flow::Direction::Write);
    b.reset(); // destroying an open end resets the other
    WriteResult result;
    RILL_AWAIT(shut, result);
    QVERIFY2(result.isError(), qPrintable(rilltest::debugString(result)));
    QVERIFY(a->stats().bytesUnsent > 0);
    QCOMPARE(a->stats().bytesUnsent + a->stats().bytesWritten, 4 * MiB);
    QCOMPARE(errors.size(), 1);
    QCOMPARE(lost.size(), 1);
}

// Over TCP: the peer closes without reading while 8 MiB of ours are accepted. shutdown()
// reports the loss (the kernel says reset or broken pipe), as does copy with its side.
void tst_Contract::peerGoneWithBytesQueued_tcp()
{
    rill::TcpListener listener;
    QVERIFY(listener.listen());
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("close"), listener.endpoint().toString()}));
    auto accepted = listener.accept();
    rill::FlowResult<rill::TcpFlow> r;
    RILL_AWAIT(accepted, r);
    std::unique_ptr<rill::TcpFlow> flow = r.takeFlow();
    QVERIFY(peer.waitForEvent(QStringLiteral("closed")));
    flow->setHighWaterMark(16 * MiB);
    QSignalSpy errors(flow.get(), &Flow::errorOccurred);
    QFuture<WriteResult> written = flow->write(rilltest::pattern(8 * MiB, 4));
    auto shut = flow->shutdown(Flow::Direction::Write);
    WriteResult result;
    RILL_AWAIT(shut, result);
    QVERIFY2(result.isError(), qPrintable(QStringLiteral("shutdown() after the peer vanished gave ")
                                          + rilltest::debugString(result)));
    QVERIFY(flow->stats().bytesUnsent > 0);
    QCOMPARE(flow->writeState(), Flow::WriteState::Failed);
    QTRY_COMPARE(errors.size(), 1);
}

// setHighWaterMark() from another thread: highWaterMark() says the new value right after.
void tst_Contract::setterVisibleAtOnceFromAnotherThread()
{
    QThread thread;
    thread.start();
    auto [a, b] = PipeFlow::createPair();
    a->moveToThread(&thread);
    // The flow is deleted in its thread and the thread stopped however the test ends.
    const auto cleanup = qScopeGuard([&] {
        QMetaObject::invokeMethod(a.get(), [&] { a.reset(); }, Qt::BlockingQueuedConnection);
        thread.quit();
        thread.wait();
    });
    // Connected before the setter (the signal comes from the flow's thread, possibly before
    // QTRY looks), and queued to this thread, where the values are read.
    QList<qint64> changed;
    QObject receiver;
    connect(a.get(), &Flow::highWaterMarkChanged, &receiver,
            [&changed](qint64 bytes) { changed.append(bytes); });
    a->setHighWaterMark(12345);
    QCOMPARE(a->highWaterMark(), 12345);
    QTRY_COMPARE(changed, QList<qint64>{12345});
}

// A QTcpSocket that already read the peer's bytes and its FIN (Qt then closes it): the flow
// made from it gives those bytes, then Eof, and writes give Eof.
void tst_Contract::wrappedSocketThatSawTheEnd()
{
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), QStringLiteral("tcp:127.0.0.1:0"),
                              QStringLiteral("--listen"), QStringLiteral("--text"), QStringLiteral("hello")}));
    const auto listening = peer.waitForEvent(QStringLiteral("listening"));
    QVERIFY(listening);
    const rill::Endpoint at = rill::Endpoint::parse(listening->value(QLatin1String("endpoint")).toString());
    QVERIFY(at.isValid());
    auto *socket = new QTcpSocket;
    socket->connectToHost(at.host(), at.port());
    QTRY_COMPARE_WITH_TIMEOUT(socket->state(), QAbstractSocket::UnconnectedState, 15000);
    QCOMPARE(socket->bytesAvailable(), 5);
    rill::TcpFlow flow(socket);
    const rilltest::Drained drained = rilltest::readToEnd(&flow);
    RILL_CHECK_DRAINED(drained, QByteArray("hello"), ReadResult::eof());
    auto w = flow.write("late");
    QVERIFY(rilltest::waitFor(w));
    QCOMPARE(w.result(), WriteResult::eof());
    QVERIFY(flow.error().isNone());
}

void tst_Contract::acceptErrorsAreReported_data()
{
    QTest::addColumn<bool>("tcp");
    QTest::newRow("tcp") << true;
    QTest::newRow("unix") << false;
}

// Out of descriptors: the waiting accept() gets the error, errorOccurred says it once, and once
// descriptors are free again the listener accepts by itself (no busy loop meanwhile).
void tst_Contract::acceptErrorsAreReported()
{
    QFETCH(bool, tcp);
    rill::Listener listener;
    const QString where = tcp ? QStringLiteral("tcp:127.0.0.1:0")
                              : QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("emfile.sock"));
    QVERIFY(listener.listen(rill::Endpoint::parse(where)));
    QSignalSpy errors(&listener, &rill::Listener::errorOccurred);
    QSignalSpy incoming(&listener, &rill::Listener::newConnection);
    const rill::Endpoint at = listener.endpoint();
    // The client's descriptor is made before the table is full; the kernel completes its
    // connection without any accept().
    const int client = ::socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QVERIFY(client >= 0);
    QFuture<rill::FlowResult<Flow>> first = listener.accept();
    {
        DescriptorExhaustion full;
        QVERIFY(full.exhausted());
        int rc;
        if (tcp) {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(at.port());
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            rc = ::connect(client, reinterpret_cast<sockaddr *>(&address), sizeof address);
        } else {
            sockaddr_un address{};
            address.sun_family = AF_UNIX;
            const QByteArray path = QFile::encodeName(at.path());
            memcpy(address.sun_path, path.constData(), size_t(path.size()));
            rc = ::connect(client, reinterpret_cast<sockaddr *>(&address), sizeof address);
        }
        QCOMPARE(rc, 0);
        QVERIFY2(rilltest::waitFor(first), "accept() stayed pending while accepting failed");
        QVERIFY(!first.result().isOk());
        QCOMPARE(first.result().error().kind(), Error::Kind::OutOfResources);
        QCOMPARE(errors.size(), 1);
    }
    QTRY_COMPARE_WITH_TIMEOUT(incoming.size(), 1, 15000);
    QFuture<rill::FlowResult<Flow>> second = listener.accept();
    rill::FlowResult<Flow> r;
    RILL_AWAIT(second, r);
    QVERIFY2(r.isOk(), qPrintable(errorMessage(r.error())));
    QCOMPARE(errors.size(), 1);
    ::close(client);
}

void tst_Contract::acceptDeadline()
{
    rill::TcpListener listener;
    QVERIFY(listener.listen());
    auto timed = listener.accept(30ms);
    QVERIFY(rilltest::waitFor(timed));
    QCOMPARE(timed.result().error().kind(), Error::Kind::TimedOut);
    QVERIFY(listener.isListening());
}

// The listener's thread finishes with the listener alive and an accept() waiting from another
// thread: the accept ends Aborted, and so does one made afterwards, at once.
void tst_Contract::listenerThreadEnds()
{
    QThread thread;
    auto *listener = new rill::TcpListener;
    listener->moveToThread(&thread);
    thread.start();
    bool listening = false;
    QMetaObject::invokeMethod(
            listener, [&] { listening = listener->listen(); }, Qt::BlockingQueuedConnection);
    QVERIFY(listening);
    auto waiting = listener->accept();
    // The accept reached the listener's thread once a call queued after it has run there.
    QMetaObject::invokeMethod(listener, [] {}, Qt::BlockingQueuedConnection);
    QVERIFY(!waiting.isFinished());
    thread.quit();
    QVERIFY(thread.wait(10000));
    QVERIFY(rilltest::waitFor(waiting));
    QCOMPARE(waiting.result().error().kind(), Error::Kind::Aborted);
    QVERIFY(!listener->isListening());
    auto late = listener->accept();
    QVERIFY(late.isFinished());
    QCOMPARE(late.result().error().kind(), Error::Kind::Aborted);
    delete listener;
}

QTEST_MAIN(tst_Contract)
#include "tst_contract.moc"
