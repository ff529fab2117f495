// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// What is particular to PipeFlow: createPair and ownership, the reset of one end when the other
// is destroyed or aborted, the per-direction buffer (bufferSize), the "pipe:N" endpoints, and
// the two ends living in two different threads.
#include "../shared/testutil.h"

#include <rill/flow.h>
#include <rill/pipeflow.h>

#include <QtCore/QPointer>
#include <QtCore/QRegularExpression>
#include <QtTest/QtTest>

#include <atomic>
#include <functional>
#include <memory>

using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

class TestPipeFlow : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void createPairGivesTwoConnectedEnds();
    void ownershipCanGoToAParent();
    void endpointsArePipeN();
    void destroyingOneEndResetsTheOther_data();
    void destroyingOneEndResetsTheOther();
    void abortingOneEndResetsTheOther_data();
    void abortingOneEndResetsTheOther();
    void destroyingAClosedEndDoesNotReset();
    void destroyingBothEnds();
    void defaultBufferSize();
    void bufferSizeBoundsEachDirection_data();
    void bufferSizeBoundsEachDirection();
    void endsInTwoThreads_data();
    void endsInTwoThreads();
    void destroyInOneThreadResetsTheOtherThread();
};

namespace {

// Brings a pair into one of a few situations before one end goes away.
enum class Setup { Idle, DataInFlight, DyingEndHalfClosed, PeerHalfClosed };

struct Prepared
{
    QByteArray inFlight;           // what the dying end wrote and the survivor has not read
    bool survivorSawEof = false;   // the survivor already read the dying end's Eof
    bool survivorWriteShut = false;
};

} // namespace

Q_DECLARE_METATYPE(Setup)

void TestPipeFlow::createPairGivesTwoConnectedEnds()
{
    auto [a, b] = PipeFlow::createPair();
    QVERIFY2(a && b, "createPair() returned a null end");
    QVERIFY2(a.get() != b.get(), "createPair() returned the same end twice");
    QVERIFY2(a->parent() == nullptr && b->parent() == nullptr, "the ends must come without a parent");
    QCOMPARE(a->thread(), QThread::currentThread());
    QCOMPARE(b->thread(), QThread::currentThread());
    QCOMPARE(a->transportName(), QStringLiteral("pipe"));
    QCOMPARE(b->transportName(), QStringLiteral("pipe"));
    for (Flow *f : {static_cast<Flow *>(a.get()), static_cast<Flow *>(b.get())}) {
        QCOMPARE(f->state(), Flow::State::Open);
        QCOMPARE(f->readState(), Flow::ReadState::Open);
        QCOMPARE(f->writeState(), Flow::WriteState::Open);
        QCOMPARE(f->bytesQueued(), qint64(0));
        QVERIFY2(f->error().isNone(), "a new end reports an error");
    }
    // Connected, both ways.
    a->write("ping");
    a->shutdown(Flow::Direction::Write);
    b->write("pong");
    b->shutdown(Flow::Direction::Write);
    const Drained atB = readToEnd(b.get());
    const Drained atA = readToEnd(a.get());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("ping"), ReadResult::eof());
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("pong"), ReadResult::eof());
}

void TestPipeFlow::ownershipCanGoToAParent()
{
    auto parent = std::make_unique<QObject>();
    auto [a, b] = PipeFlow::createPair();
    a->setParent(parent.get());
    QPointer<PipeFlow> watchA = a.release();
    auto pending = b->read();
    parent.reset();
    QVERIFY2(watchA.isNull(), "deleting the parent did not delete the end");
    ReadResult r;
    RILL_AWAIT(pending, r);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the other end read ") + debugString(r)));
}

void TestPipeFlow::endpointsArePipeN()
{
    auto [a, b] = PipeFlow::createPair();
    auto [c, d] = PipeFlow::createPair();
    const QRegularExpression shape(QStringLiteral("^pipe:\\d+$"));
    for (Flow *f : {static_cast<Flow *>(a.get()), static_cast<Flow *>(b.get()),
                    static_cast<Flow *>(c.get()), static_cast<Flow *>(d.get())}) {
        QVERIFY2(shape.match(f->localEndpoint().toString()).hasMatch(),
                 qPrintable(QStringLiteral("local endpoint \"%1\" is not pipe:N").arg(f->localEndpoint().toString())));
        QVERIFY2(shape.match(f->peerEndpoint().toString()).hasMatch(),
                 qPrintable(QStringLiteral("peer endpoint \"%1\" is not pipe:N").arg(f->peerEndpoint().toString())));
        QCOMPARE(f->property("localEndpoint").toString(), f->localEndpoint().toString());
        QCOMPARE(f->property("peerEndpoint").toString(), f->peerEndpoint().toString());
    }
    QCOMPARE(a->peerEndpoint().toString(), b->localEndpoint().toString());
    QCOMPARE(b->peerEndpoint().toString(), a->localEndpoint().toString());
    QVERIFY2(a->localEndpoint().toString() != b->localEndpoint().toString(), "the two ends have the same endpoint");
    const QSet<QString> all{a->localEndpoint().toString(), b->localEndpoint().toString(), c->localEndpoint().toString(), d->localEndpoint().toString()};
    QCOMPARE(all.size(), 4); // unique across pairs
}

static void setupColumns()
{
    QTest::addColumn<Setup>("setup");
    QTest::addColumn<bool>("dyingIsFirst");
    for (bool first : {true, false}) {
        const char *which = first ? "first end goes" : "second end goes";
        QTest::addRow("idle, %s", which) << Setup::Idle << first;
        QTest::addRow("data in flight, %s", which) << Setup::DataInFlight << first;
        QTest::addRow("dying end half-closed, %s", which) << Setup::DyingEndHalfClosed << first;
        QTest::addRow("survivor half-closed, %s", which) << Setup::PeerHalfClosed << first;
    }
}

// Fills in what the survivor can still expect; the caller checks QTest::currentTestFailed().
static void prepare(Setup setup, Flow *dying, Flow *survivor, Prepared &p)
{
    switch (setup) {
    case Setup::Idle:
        break;
    case Setup::DataInFlight:
        p.inFlight = pattern(50000, 3);
        dying->write(p.inFlight);
        break;
    case Setup::DyingEndHalfClosed: {
        dying->write("last words");
        dying->shutdown(Flow::Direction::Write);
        const Drained d = readToEnd(survivor);
        QVERIFY2(d.finished && d.data == "last words" && d.end.isEof(),
                 "setup: the survivor did not read the half-closed end's data and Eof");
        p.survivorSawEof = true;
        break;
    }
    case Setup::PeerHalfClosed: {
        auto s = survivor->shutdown(Flow::Direction::Write);
        QVERIFY2(waitFor(s), "setup: shutdown(Write) never resolved");
        p.survivorWriteShut = true;
        break;
    }
    }
}

// What the survivor must see once the other end was destroyed or aborted while open.
static void checkSurvivorWasReset(Flow *survivor, const Prepared &p, const QString &goneEndpoint,
                                  QFuture<ReadResult> pendingRead, QSignalSpy &errors)
{
    QVERIFY2(spinUntil([&] { return survivor->state() == Flow::State::Closed; }),
             "the survivor never noticed that the other end went away");
    QCOMPARE(errors.count(), 1);
    const Error e = errors.at(0).at(0).value<Error>();
    QCOMPARE(e.kind(), Error::Kind::Reset);
    QCOMPARE(e.endpoint(), goneEndpoint);
    QCOMPARE(survivor->error(), e);

    if (pendingRead.isValid()) {
        ReadResult r;
        RILL_AWAIT(pendingRead, r);
        QVERIFY2(r.isError() && r.error() == e,
                 qPrintable(QStringLiteral("the survivor's pending read gave ") + debugString(r)));
    }
    const Drained d = readToEnd(survivor);
    QVERIFY2(d.finished, "the survivor's reads never ended");
    QVERIFY2(p.inFlight.startsWith(d.data), "the survivor read bytes that were never written");
    if (p.survivorSawEof) {
        QVERIFY2(d.end.isEof(), qPrintable(QStringLiteral("Eof is not sticky: after the reset the survivor read ")
                                                   + debugString(d.end)));
        QCOMPARE(survivor->readState(), Flow::ReadState::Eof);
    } else {
        QVERIFY2(d.end.isError() && d.end.error() == e,
                 qPrintable(QStringLiteral("the survivor's read ended with ") + debugString(d.end)));
        QCOMPARE(survivor->readState(), Flow::ReadState::Failed);
    }

    auto w = survivor->write("anyone there?");
    WriteResult wr;
    RILL_AWAIT(w, wr);
    if (p.survivorWriteShut) {
        QVERIFY2(wr.isEof(), qPrintable(QStringLiteral("a write after the survivor's shutdown(Write) gave ")
                                                + debugString(wr)));
    } else {
        QVERIFY2(wr.isError() && wr.error() == e,
                 qPrintable(QStringLiteral("the survivor's write after the reset gave ") + debugString(wr)));
        QCOMPARE(survivor->writeState(), Flow::WriteState::Failed);
    }
    auto c = survivor->close();
    RILL_AWAIT_VOID(c);
}

void TestPipeFlow::destroyingOneEndResetsTheOther_data()
{
    setupColumns();
}

void TestPipeFlow::destroyingOneEndResetsTheOther()
{
    QFETCH(Setup, setup);
    QFETCH(bool, dyingIsFirst);
    auto [a, b] = PipeFlow::createPair();
    std::unique_ptr<PipeFlow> &dying = dyingIsFirst ? a : b;
    std::unique_ptr<PipeFlow> &survivor = dyingIsFirst ? b : a;
    Prepared p;
    prepare(setup, dying.get(), survivor.get(), p);
    if (QTest::currentTestFailed())
        return;
    const QString goneEndpoint = dying->localEndpoint().toString();
    QSignalSpy errors(survivor.get(), &Flow::errorOccurred);
    const auto flowsFirst = destroyFirst(a, b);
    QFuture<ReadResult> pending;
    if (!p.survivorSawEof && p.inFlight.isEmpty())
        pending = survivor->read();
    dying.reset();
    checkSurvivorWasReset(survivor.get(), p, goneEndpoint, pending, errors);
}

void TestPipeFlow::abortingOneEndResetsTheOther_data()
{
    setupColumns();
}

void TestPipeFlow::abortingOneEndResetsTheOther()
{
    QFETCH(Setup, setup);
    QFETCH(bool, dyingIsFirst);
    auto [a, b] = PipeFlow::createPair();
    Flow *dying = dyingIsFirst ? a.get() : b.get();
    Flow *survivor = dyingIsFirst ? b.get() : a.get();
    Prepared p;
    prepare(setup, dying, survivor, p);
    if (QTest::currentTestFailed())
        return;
    QSignalSpy errors(survivor, &Flow::errorOccurred);
    QSignalSpy ownErrors(dying, &Flow::errorOccurred);
    const auto flowsFirst = destroyFirst(a, b);
    QFuture<ReadResult> pending;
    if (!p.survivorSawEof && p.inFlight.isEmpty())
        pending = survivor->read();
    dying->abort();
    QCOMPARE(dying->state(), Flow::State::Closed);
    QCOMPARE(dying->error().kind(), Error::Kind::Aborted);
    QCOMPARE(ownErrors.count(), 1);
    checkSurvivorWasReset(survivor, p, dying->localEndpoint().toString(), pending, errors);
}

void TestPipeFlow::destroyingAClosedEndDoesNotReset()
{
    auto [a, b] = PipeFlow::createPair();
    a->write("from a");
    b->write("from b");
    auto ca = a->close();
    auto cb = b->close();
    const Drained atA = readToEnd(a.get()), atB = readToEnd(b.get());
    RILL_CHECK_DRAINED(atA, QByteArrayLiteral("from b"), ReadResult::eof());
    RILL_CHECK_DRAINED(atB, QByteArrayLiteral("from a"), ReadResult::eof());
    RILL_AWAIT_VOID(ca);
    RILL_AWAIT_VOID(cb);
    QSignalSpy errors(b.get(), &Flow::errorOccurred);
    const auto flowsFirst = destroyFirst(a, b);
    a.reset();
    // Let anything the destruction might have posted run.
    auto probe = b->read();
    ReadResult r;
    RILL_AWAIT(probe, r);
    QCOMPARE(r, ReadResult::eof());
    QCoreApplication::processEvents();
    QCOMPARE(errors.count(), 0);
    QVERIFY2(b->error().isNone(), qPrintable(QStringLiteral("destroying a closed end gave the other ")
                                             + debugString(b->error())));
    QCOMPARE(b->state(), Flow::State::Closed);
}

void TestPipeFlow::destroyingBothEnds()
{
    {
        auto [a, b] = PipeFlow::createPair(16);
        auto ra = a->read();
        auto wb = b->write(pattern(100000));
        a.reset();
        auto rb = b->read();
        b.reset();
        QVERIFY2(ra.isFinished() && wb.isFinished() && rb.isFinished(),
                 "a future is unfinished after both ends were destroyed");
    }
    {
        // The second end is destroyed before it could notice the first one went.
        auto [a, b] = PipeFlow::createPair();
        auto rb = b->read();
        a.reset();
        b.reset();
        QVERIFY2(rb.isFinished(), "a pending read is unfinished after both ends were destroyed");
        ReadResult r;
        RILL_RESULT(rb, r);
        QVERIFY2(r.isError(), qPrintable(QStringLiteral("the read gave ") + debugString(r)));
        QCoreApplication::processEvents(); // nothing posted to the dead ends may run
    }
}

void TestPipeFlow::defaultBufferSize()
{
    QCOMPARE(PipeFlow::DefaultBufferSize, qint64(256 * 1024));
}

void TestPipeFlow::bufferSizeBoundsEachDirection_data()
{
    QTest::addColumn<qint64>("bufferSize");
    QTest::addColumn<bool>("fromFirst");
    for (qint64 size : {qint64(1), qint64(1000), qint64(16384), PipeFlow::DefaultBufferSize}) {
        QTest::addRow("%lld, first to second", size) << size << true;
        QTest::addRow("%lld, second to first", size) << size << false;
    }
}

void TestPipeFlow::bufferSizeBoundsEachDirection()
{
    QFETCH(qint64, bufferSize);
    QFETCH(bool, fromFirst);
    auto [a, b] = bufferSize == PipeFlow::DefaultBufferSize ? PipeFlow::createPair()
                                                             : PipeFlow::createPair(bufferSize);
    Flow *writer = fromFirst ? a.get() : b.get();
    Flow *reader = fromFirst ? b.get() : a.get();
    constexpr qint64 Chunk = 1000;
    // In the pipe: handed over by the writer, not yet taken by the reader. The pipe may round
    // up by less than one chunk, as a socket buffer does.
    qint64 sent = 0, arrived = 0, maxInPipe = 0;
    connect(writer, &Flow::dataSent, this, [&](const QByteArray &d) {
        sent += d.size();
        maxInPipe = qMax(maxInPipe, sent - arrived);
    });
    connect(reader, &Flow::dataArrived, this, [&](const QByteArray &d) { arrived += d.size(); });

    // More than the pipe and any read-ahead of the reader can hold.
    const qint64 total = bufferSize + 256 * 1024;
    QByteArray expected;
    for (qint64 i = 0; expected.size() < total; ++i) {
        const QByteArray chunk = pattern(Chunk, quint32(i));
        expected += chunk;
        writer->write(chunk);
    }
    QVERIFY2(spinUntil([&] { return sent - arrived >= bufferSize; }),
             qPrintable(QStringLiteral("the pipe never filled up to its %1 bytes (holds %2)")
                                .arg(bufferSize).arg(sent - arrived)));
    QVERIFY2(maxInPipe < bufferSize + Chunk,
             qPrintable(QStringLiteral("the pipe held %1 bytes, more than its %2 plus one chunk")
                                .arg(maxInPipe).arg(bufferSize)));
    QVERIFY2(writer->bytesQueued() > 0, "the writer's queue drained although nobody reads");

    writer->shutdown(Flow::Direction::Write);
    const Drained d = readToEnd(reader);
    RILL_CHECK_DRAINED(d, expected, ReadResult::eof());
    QVERIFY2(maxInPipe < bufferSize + Chunk,
             qPrintable(QStringLiteral("the pipe held %1 bytes, more than its %2 plus one chunk")
                                .arg(maxInPipe).arg(bufferSize)));
}

namespace {

// One side of a full-duplex exchange, driven by continuations on its flow's thread: it writes
// its chunks one after the other (each once the previous was accepted), then half-closes;
// meanwhile it reads to Eof; then it closes.
struct Side
{
    Flow *flow = nullptr;
    QList<QByteArray> toSend;
    QByteArray received;
    ReadResult readEnd;
    WriteResult writeFailure;
    QThread *ranIn = nullptr;
    bool wrongThread = false;
    bool sendDone = false;
    bool readDone = false;
    std::atomic_bool closed = false;

    void noteThread()
    {
        if (QThread::currentThread() != flow->thread())
            wrongThread = true;
    }
    void start()
    {
        ranIn = QThread::currentThread();
        sendNext(0);
        readNext();
    }
    void sendNext(qsizetype i)
    {
        if (i == toSend.size()) {
            flow->shutdown(Flow::Direction::Write).then(flow, [this](const rill::WriteResult &) {
                noteThread();
                sendDone = true;
                maybeClose();
            });
            return;
        }
        flow->write(toSend.at(i)).then(flow, [this, i](const WriteResult &r) {
            noteThread();
            if (!r.isOk()) {
                writeFailure = r;
                sendDone = true;
                maybeClose();
                return;
            }
            sendNext(i + 1);
        });
    }
    void readNext()
    {
        flow->read().then(flow, [this](const ReadResult &r) {
            noteThread();
            if (r.isData()) {
                received += r.data();
                readNext();
                return;
            }
            readEnd = r;
            readDone = true;
            maybeClose();
        });
    }
    void maybeClose()
    {
        if (!sendDone || !readDone)
            return;
        flow->close().then(flow, [this](const rill::CloseResult &) {
            noteThread();
            closed = true;
        });
    }
};

} // namespace

void TestPipeFlow::endsInTwoThreads_data()
{
    QTest::addColumn<qint64>("bufferSize");
    QTest::addColumn<qint64>("highWaterMark");
    QTest::addColumn<int>("chunks");
    QTest::addColumn<int>("chunkSize");
    QTest::newRow("defaults, 4 MiB each way") << PipeFlow::DefaultBufferSize << Flow::DefaultHighWaterMark << 256 << 16384;
    QTest::newRow("small pipe, small mark") << qint64(512) << qint64(1024) << 2000 << 700;
    QTest::newRow("one-byte pipe") << qint64(1) << qint64(1) << 500 << 300;
}

void TestPipeFlow::endsInTwoThreads()
{
    QFETCH(qint64, bufferSize);
    QFETCH(qint64, highWaterMark);
    QFETCH(int, chunks);
    QFETCH(int, chunkSize);
    // The sides outlive the threads: continuations still pending when a failed test unwinds
    // run while the threads delete the flows.
    Side sideA, sideB;
    WorkerThread threadA("pipe-end-a"), threadB("pipe-end-b");
    auto [ownedA, ownedB] = PipeFlow::createPair(bufferSize);
    ownedA->setHighWaterMark(highWaterMark);
    ownedB->setHighWaterMark(highWaterMark);
    PipeFlow *a = threadA.adopt(std::move(ownedA));
    PipeFlow *b = threadB.adopt(std::move(ownedB));

    sideA.flow = a;
    sideB.flow = b;
    QByteArray fromA, fromB;
    for (int i = 0; i < chunks; ++i) {
        sideA.toSend << pattern(chunkSize, quint32(2 * i));
        sideB.toSend << pattern(chunkSize + i % 7, quint32(2 * i + 1));
        fromA += sideA.toSend.last();
        fromB += sideB.toSend.last();
    }
    threadA.post([&] { sideA.start(); });
    threadB.post([&] { sideB.start(); });
    const bool done = spinUntil([&] { return sideA.closed && sideB.closed; }, 60s);
    if (!done) {
        a->abort(); // finish what is pending before the threads are stopped
        b->abort();
    }
    QVERIFY2(done, "the full-duplex exchange between two threads never finished");
    // The sides' state is written in their threads: read it there.
    QCOMPARE(threadA.call([&] { return a->state(); }), Flow::State::Closed);
    QCOMPARE(threadB.call([&] { return b->state(); }), Flow::State::Closed);
    const QByteArray atB = threadB.call([&] { return sideB.received; });
    const QByteArray atA = threadA.call([&] { return sideA.received; });
    QVERIFY2(atB == fromA, ("first to second: " + describeMismatch(atB, fromA)).constData());
    QVERIFY2(atA == fromB, ("second to first: " + describeMismatch(atA, fromB)).constData());
    QCOMPARE(threadA.call([&] { return sideA.readEnd; }), ReadResult::eof());
    QCOMPARE(threadB.call([&] { return sideB.readEnd; }), ReadResult::eof());
    QCOMPARE(threadA.call([&] { return sideA.writeFailure; }), WriteResult::ok());
    QCOMPARE(threadB.call([&] { return sideB.writeFailure; }), WriteResult::ok());
    QVERIFY2(!threadA.call([&] { return sideA.wrongThread; }) && !threadB.call([&] { return sideB.wrongThread; }),
             "a continuation with the flow as context ran outside the flow's thread");
    QCOMPARE(threadA.call([&] { return sideA.ranIn; }), threadA.thread());
    QCOMPARE(threadB.call([&] { return sideB.ranIn; }), threadB.thread());
    QCOMPARE(threadA.call([&] { return a->stats().bytesWritten; }), qint64(fromA.size()));
    QCOMPARE(threadB.call([&] { return b->stats().bytesRead; }), qint64(fromA.size()));
    threadA.destroy(a);
    threadB.destroy(b);
}

void TestPipeFlow::destroyInOneThreadResetsTheOtherThread()
{
    WorkerThread threadA("pipe-end-a"), threadB("pipe-end-b");
    auto [ownedA, ownedB] = PipeFlow::createPair();
    PipeFlow *a = threadA.adopt(std::move(ownedA));
    PipeFlow *b = threadB.adopt(std::move(ownedB));
    const QString aEndpoint = a->localEndpoint().toString();
    QFuture<ReadResult> pending = b->read();
    QFuture<ReadResult> own = a->read();
    threadA.destroy(a);
    const ReadResult r = pending.result();
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Reset && r.error().endpoint() == aEndpoint,
             qPrintable(QStringLiteral("the other thread's end read ") + debugString(r)));
    const ReadResult o = own.result();
    QVERIFY2(o.isError() && o.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("the destroyed end's pending read gave ") + debugString(o)));
    const WriteResult w = b->write("x").result();
    QVERIFY2(w.isError() && w.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("the other thread's end wrote ") + debugString(w)));
    threadB.destroy(b);
}

QTEST_GUILESS_MAIN(TestPipeFlow)
#include "tst_pipeflow.moc"
