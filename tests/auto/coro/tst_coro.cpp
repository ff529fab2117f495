// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// co_await on Rill's futures with QCoro: the futures a flow returns are plain QFutures, so
// protocol code can be written as coroutines, on the flow's thread or on another one.
#include "../shared/testutil.h"

#include <rill/flow.h>
#include <rill/pipeflow.h>

#include <QCoroFuture>
#include <QCoroTask>

#include <QtTest/QtTest>

using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ReadResult;
using rill::WriteResult;
using namespace rilltest;

namespace {

// What a coroutine reports back (coroutines cannot use QVERIFY).
struct Outcome
{
    QByteArray data;
    ReadResult end;
    WriteResult writeFailure;
    QThread *resumedIn = nullptr;
    bool wrongThread = false;
};

// Writes the chunks one by one, each after the previous was accepted, then half-closes.
QCoro::Task<WriteResult> sendAll(Flow *flow, QList<QByteArray> chunks)
{
    for (const QByteArray &chunk : chunks) {
        const WriteResult r = co_await flow->write(chunk);
        if (!r.isOk())
            co_return r;
    }
    co_await flow->shutdown(Flow::Direction::Write);
    co_return WriteResult::ok();
}

// Reads to the end of the stream, noting where the coroutine was resumed.
QCoro::Task<Outcome> receiveAll(Flow *flow, QThread *expectedThread)
{
    Outcome outcome;
    for (;;) {
        const ReadResult r = co_await flow->read();
        outcome.resumedIn = QThread::currentThread();
        if (outcome.resumedIn != expectedThread)
            outcome.wrongThread = true;
        if (!r.isData()) {
            outcome.end = r;
            co_return outcome;
        }
        outcome.data += r.data();
    }
}

// A request/response server: reads the request to Eof, answers, closes.
QCoro::Task<QByteArray> serveOnce(Flow *flow)
{
    QByteArray request;
    for (;;) {
        const ReadResult r = co_await flow->read();
        if (!r.isData())
            break;
        request += r.data();
    }
    const QByteArray reply = "you said: " + request;
    co_await flow->write(reply);
    co_await flow->close();
    co_return request;
}

QCoro::Task<QByteArray> askOnce(Flow *flow, QByteArray request)
{
    const QList<QByteArray> parts{request.left(3), request.mid(3)};
    co_await flow->writev(parts);
    co_await flow->shutdown(Flow::Direction::Write);
    QByteArray reply;
    for (;;) {
        const ReadResult r = co_await flow->read();
        if (!r.isData())
            break;
        reply += r.data();
    }
    co_await flow->close();
    co_return reply;
}

QCoro::Task<ReadResult> readOnce(Flow *flow)
{
    co_return co_await flow->read();
}

QCoro::Task<bool> closeAndReport(Flow *flow)
{
    co_await flow->close();
    co_return flow->state() == Flow::State::Closed;
}

// close(), reading what the peer still sends until its end of stream; true if that was Eof.
QCoro::Task<bool> closeAndDrain(Flow *flow)
{
    auto closed = flow->close();
    ReadResult r;
    do {
        r = co_await flow->read();
    } while (r.isData());
    co_await closed;
    co_return r.isEof();
}

// Runs the event loop until the task is done; false at the deadline.
template<typename T>
[[nodiscard]] bool finish(QCoro::Task<T> &task, std::chrono::milliseconds timeout = DefaultTimeout)
{
    return spinUntil([&] { return task.isReady(); }, timeout);
}

} // namespace

class TestCoro : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void requestResponse();
    void bulkWithBackpressure();
    void awaitingAnAbortedFlow();
    void awaitingADestroyedFlow();
    void flowsInAWorkerThread();
};

void TestCoro::requestResponse()
{
    auto [client, server] = PipeFlow::createPair();
    QCoro::Task<QByteArray> served = serveOnce(server.get());
    QCoro::Task<QByteArray> asked = askOnce(client.get(), QByteArrayLiteral("GET /hello"));
    QVERIFY2(finish(asked) && finish(served), "the request/response coroutines never finished");
    QCOMPARE(QCoro::waitFor(served), QByteArrayLiteral("GET /hello"));
    QCOMPARE(QCoro::waitFor(asked), QByteArrayLiteral("you said: GET /hello"));
    QCOMPARE(client->state(), Flow::State::Closed);
    QCOMPARE(server->state(), Flow::State::Closed);
}

void TestCoro::bulkWithBackpressure()
{
    auto [a, b] = PipeFlow::createPair(4096);
    a->setHighWaterMark(8192);
    QList<QByteArray> chunks;
    QByteArray expected;
    for (int i = 0; i < 400; ++i) {
        chunks << pattern(1500 + i, quint32(i));
        expected += chunks.last();
    }
    QCoro::Task<WriteResult> sent = sendAll(a.get(), chunks);
    QCoro::Task<Outcome> received = receiveAll(b.get(), QThread::currentThread());
    QVERIFY2(finish(sent) && finish(received), "the bulk transfer never finished");
    QCOMPARE(QCoro::waitFor(sent), WriteResult::ok());
    const Outcome out = QCoro::waitFor(received);
    QVERIFY2(out.data == expected, describeMismatch(out.data, expected).constData());
    QCOMPARE(out.end, ReadResult::eof());
    QVERIFY2(!out.wrongThread, "a coroutine resumed outside the thread that awaited");
}

void TestCoro::awaitingAnAbortedFlow()
{
    auto [a, b] = PipeFlow::createPair();
    QCoro::Task<ReadResult> own = readOnce(a.get());
    QCoro::Task<ReadResult> peer = readOnce(b.get());
    QCoro::Task<bool> closing = closeAndReport(a.get());
    a->abort();
    QVERIFY2(finish(own) && finish(peer) && finish(closing), "a coroutine awaiting an aborted flow never resumed");
    const ReadResult r = QCoro::waitFor(own);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("co_await read() on the aborted flow gave ") + debugString(r)));
    const ReadResult p = QCoro::waitFor(peer);
    QVERIFY2(p.isError() && p.error().kind() == Error::Kind::Reset,
             qPrintable(QStringLiteral("co_await read() on the peer gave ") + debugString(p)));
    QVERIFY2(QCoro::waitFor(closing), "co_await close() resumed but the flow is not Closed");
}

void TestCoro::awaitingADestroyedFlow()
{
    auto [a, b] = PipeFlow::createPair();
    QCoro::Task<ReadResult> own = readOnce(a.get());
    a.reset();
    QVERIFY2(finish(own), "a coroutine awaiting a destroyed flow never resumed");
    const ReadResult r = QCoro::waitFor(own);
    QVERIFY2(r.isError() && r.error().kind() == Error::Kind::Aborted,
             qPrintable(QStringLiteral("co_await read() on a destroyed flow gave ") + debugString(r)));
}

void TestCoro::flowsInAWorkerThread()
{
    // The coroutines run here; the flows live in a worker thread. co_await resumes here.
    WorkerThread worker;
    auto [ownedA, ownedB] = PipeFlow::createPair(2048);
    ownedA->setHighWaterMark(4096);
    PipeFlow *a = worker.adopt(std::move(ownedA));
    PipeFlow *b = worker.adopt(std::move(ownedB));
    QList<QByteArray> chunks;
    QByteArray expected;
    for (int i = 0; i < 200; ++i) {
        chunks << pattern(1000 + 3 * i, quint32(i + 7));
        expected += chunks.last();
    }
    QCoro::Task<WriteResult> sent = sendAll(a, chunks);
    QCoro::Task<Outcome> received = receiveAll(b, QThread::currentThread());
    QVERIFY2(finish(sent) && finish(received), "the coroutines awaiting worker-thread flows never finished");
    QCOMPARE(QCoro::waitFor(sent), WriteResult::ok());
    const Outcome out = QCoro::waitFor(received);
    QVERIFY2(out.data == expected, describeMismatch(out.data, expected).constData());
    QCOMPARE(out.end, ReadResult::eof());
    QVERIFY2(!out.wrongThread, "co_await resumed outside the awaiting thread");
    QCoro::Task<bool> ca = closeAndDrain(a);
    QCoro::Task<bool> cb = closeAndDrain(b);
    QVERIFY2(finish(ca) && finish(cb), "co_await close() on worker-thread flows never resumed");
    QVERIFY2(QCoro::waitFor(ca) && QCoro::waitFor(cb), "a closing flow did not read Eof");
    QCOMPARE(worker.call([a] { return a->state(); }), Flow::State::Closed);
    QCOMPARE(worker.call([b] { return b->state(); }), Flow::State::Closed);
    worker.destroy(a);
    worker.destroy(b);
}

QTEST_GUILESS_MAIN(TestCoro)
#include "tst_coro.moc"
