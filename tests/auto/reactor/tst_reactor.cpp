// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT

// The reactor per thread (issue "A reactor that scales"): one epoll set behind one notifier and
// one timer per thread, or the notifier fallback (RILL_REACTOR=notifier; ctest runs this suite
// both ways, and under QT_NO_GLIB=1). Each ordering that could lose readiness or touch a dead
// flow has its case; the sanitizer run catches a touched dead flow. Peers are Python's socket
// module (tests/auto/shared/peer.py) except where a case needs both ends in one batch.
//
// RILL_REACTOR_FLOWS sets how many flows manyFlowsOnOneThread opens (default 2000).

#include "../shared/sockettest.h"
#include "../shared/testutil.h"

#include <rill/listener.h>
#include <rill/localflow.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QAbstractEventDispatcher>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>
#include <QtCore/QThreadStorage>
#include <QtCore/QTimer>
#include <QtGui/QGuiApplication>
#include <QtNetwork/QLocalSocket>
#include <QtTest/QTest>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <set>
#include <vector>

using namespace std::chrono_literals;
using namespace sockettest;
using rill::Flow;
using rill::ReadResult;
using rill::WriteResult;

namespace {

bool epollExpected()
{
    const QByteArray wanted = qgetenv("RILL_REACTOR").trimmed().toLower();
    return wanted.isEmpty() || wanted == "epoll";
}

template<typename T> int dispatcherChildren(QThread *thread = QThread::currentThread())
{
    QAbstractEventDispatcher *dispatcher = QAbstractEventDispatcher::instance(thread);
    return dispatcher ? int(dispatcher->findChildren<T *>().size()) : -1;
}

int activeDispatcherTimers()
{
    const QList<QTimer *> timers = QAbstractEventDispatcher::instance()->findChildren<QTimer *>();
    return int(std::count_if(timers.begin(), timers.end(), [](QTimer *t) { return t->isActive(); }));
}

// Connected TCP pairs inside this process, both ends flows of this thread: for the cases that
// need both ends' events in one batch of the same reactor.
struct LocalPairs {
    rill::TcpListener listener;
    std::vector<std::unique_ptr<Flow>> clients;
    std::vector<std::unique_ptr<Flow>> servers;

    bool open(int count, QString *why)
    {
        listener.setMaxPendingConnections(count + 1);
        if (!listener.listen(QHostAddress::LocalHost, 0)) {
            *why = rill::errorMessage(listener.error());
            return false;
        }
        for (int i = 0; i < count; ++i) {
            auto connecting
                = rill::TcpFlow::connectToHost(QStringLiteral("127.0.0.1"), listener.serverPort());
            auto accepting = listener.accept();
            if (!rilltest::waitFor(connecting) || !rilltest::waitFor(accepting)) {
                *why = QStringLiteral("connect or accept never finished");
                return false;
            }
            auto client = connecting.result();
            auto server = accepting.result();
            if (!client.flow() || !server.flow()) {
                *why = rill::errorMessage(client.flow() ? server.error() : client.error());
                return false;
            }
            clients.push_back(client.takeFlow());
            servers.push_back(server.takeFlow());
        }
        return true;
    }
};

// Raises the soft descriptor limit to the hard one; the new soft limit.
rlim_t raiseDescriptorLimit()
{
    rlimit limit {};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
    return limit.rlim_cur;
}

} // namespace

class tst_Reactor : public SocketFlowSuite {
    Q_OBJECT
public:
    tst_Reactor() : SocketFlowSuite(Transport::Tcp) { }

    // The shared socket suite (SocketFlowSuite's cases, over TCP) runs first, on this run's
    // reactor; then the cases below.
private Q_SLOTS:
    void reactorInUse()
    {
        qInfo("reactor: %s, dispatcher: %s", epollExpected() ? "epoll" : "notifier",
            QAbstractEventDispatcher::instance()->metaObject()->className());
    }

    // With epoll, a hundred open flows are one notifier of the thread's dispatcher; with the
    // fallback, each flow has its own. This is what makes a wake-up cost the ready flows only.
    void idleFlowsShareOneNotifier()
    {
        LocalPairs pairs;
        QString why;
        QVERIFY2(pairs.open(50, &why), qPrintable(why));
        std::vector<QFuture<ReadResult>> reads;
        for (auto *side : {&pairs.clients, &pairs.servers})
            for (auto &flow : *side)
                reads.push_back(flow->read());
        QCoreApplication::processEvents();
        const int notifiers = dispatcherChildren<QSocketNotifier>();
        if (epollExpected())
            QVERIFY2(notifiers == 1, qPrintable(QStringLiteral("%1 notifiers").arg(notifiers)));
        else
            QVERIFY2(notifiers >= 100, qPrintable(QStringLiteral("%1 notifiers").arg(notifiers)));
        for (auto &flow : pairs.clients)
            QVERIFY(flow->findChildren<QSocketNotifier *>().isEmpty());
    }

    // Deadlines of many flows share the thread's one timer: no QTimer per flow, and each
    // deadline still fires on its own. With epoll that timer is in the epoll set, so the
    // dispatcher waits without a timeout (an armed Qt timer makes every wait of the thread
    // arm a kernel timer, which doubled a ping-pong's round trip); the fallback uses a QTimer.
    void deadlinesShareOneTimer()
    {
        std::vector<rill::PipeFlow::Pair> pairs;
        std::vector<QFuture<ReadResult>> reads;
        for (int i = 0; i < 200; ++i) {
            pairs.push_back(rill::PipeFlow::createPair());
            reads.push_back(pairs.back().first->read(QDeadlineTimer(20 + (i % 10) * 10)));
        }
        // One flow gets data before its deadline: its timer entry must go, the others stay.
        QVERIFY(pairs[7].second->write("data").isFinished());
        QVERIFY(dispatcherChildren<QTimer>() <= 1);
        QCOMPARE(activeDispatcherTimers(), epollExpected() ? 0 : 1);
        for (const auto &pair : pairs)
            QVERIFY(pair.first->findChildren<QTimer *>().isEmpty());
        for (size_t i = 0; i < reads.size(); ++i) {
            ReadResult result;
            RILL_AWAIT(reads[i], result);
            if (i == 7)
                QCOMPARE(result, ReadResult::fromData(QByteArray("data")));
            else
                QCOMPARE(result.error().kind(), rill::Error::Kind::TimedOut);
        }
    }

    // The peer's data and its end of stream wait in the kernel before the flow exists, so the
    // flow's first wake-up sees both (and, for the large case, more than one wake-up's budget).
    void dataAndEndInOneWakeUp_data()
    {
        QTest::addColumn<int>("size");
        QTest::newRow("5 bytes") << 5;
        QTest::newRow("1 MiB") << int(MiB);
    }
    void dataAndEndInOneWakeUp()
    {
        QFETCH(int, size);
        QString why;
        const QString endpoint = startListener(&why);
        QVERIFY2(!endpoint.isEmpty(), qPrintable(why));
        Peer peer;
        QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), endpoint,
            QStringLiteral("--bytes"), QString::number(size)}));
        const auto sent = peer.waitForEvent(QStringLiteral("sent"));
        QVERIFY2(sent, qPrintable(peer.describe()));
        std::unique_ptr<Flow> flow = acceptFlow(&why);
        QVERIFY2(flow, qPrintable(why));
        const rilltest::Drained drained = rilltest::readToEnd(flow.get());
        QVERIFY2(drained.finished, "a read never finished");
        QCOMPARE(drained.data.size(), qsizetype(size));
        QCOMPARE(sha256Hex(drained.data), sent->value(QLatin1String("sent_sha256")).toString());
        QCOMPARE(drained.end, ReadResult::eof());
        WriteResult shut;
        RILL_AWAIT(flow->shutdown(Flow::Direction::Write), shut);
        QCOMPARE(shut, WriteResult::ok());
        QVERIFY2(peer.waitForEvent(QStringLiteral("done")), qPrintable(peer.describe()));
    }

    // The kernel's send buffer fills (the peer reads nothing), then drains: every byte arrives
    // and the FIN follows, so the writable edge after the drain was not lost.
    void sendBufferFillsThenDrains()
    {
        Link link;
        QString why;
        QVERIFY2(
            openLink(Role::Client, {QStringLiteral("sink"), QStringLiteral("--hold")}, &link, &why),
            qPrintable(why));
        Transfer transfer(link.flow.get());
        transfer.send(
            32 * MiB, 7, 256 * KiB); // more than the kernel buffers hold, sanitized or not
        transfer.setEnd(Transfer::End::ShutdownWrite);
        QVERIFY2(transfer.runUntilBlocked(), qPrintable(transfer.describe()));
        link.peer->command("go");
        QVERIFY2(transfer.run(60s), qPrintable(transfer.describe() + link.peer->describe()));
        QVERIFY(!transfer.writeFailure());
        const auto ended = link.peer->waitForEvent(QStringLiteral("ended"));
        QVERIFY2(ended, link.why(QStringLiteral("the peer never saw the end")));
        QCOMPARE(ended->value(QLatin1String("how")).toString(), QStringLiteral("eof"));
        QCOMPARE(ended->value(QLatin1String("received_sha256")).toString(), transfer.sentHash());
    }

    // The peer resets while a write waits for room: the waiting write, the read and close()
    // all finish with the error; nothing hangs on a readiness that will never come again.
    void peerResetWhileAWriteWaits()
    {
        Link link;
        QString why;
        QVERIFY2(openLink(Role::Client, {QStringLiteral("stall")}, &link, &why), qPrintable(why));
        link.flow->setHighWaterMark(64 * KiB);
        Transfer transfer(link.flow.get());
        transfer.send(rilltest::heavyVolume(64 * MiB), 3, 256 * KiB);
        QVERIFY2(transfer.runUntilBlocked(), qPrintable(transfer.describe()));
        const QFuture<WriteResult> waiting = transfer.pendingWrite();
        const QFuture<ReadResult> read = link.flow->read();
        link.peer->command("reset");
        WriteResult written;
        RILL_AWAIT(waiting, written);
        QVERIFY2(written.isError(), qPrintable(rilltest::debugString(written)));
        ReadResult readResult;
        RILL_AWAIT(read, readResult);
        QVERIFY2(readResult.isError(), qPrintable(rilltest::debugString(readResult)));
        QCOMPARE(link.flow->state(), Flow::State::Closed);
        rill::CloseResult closed;
        RILL_AWAIT(link.flow->close(), closed);
        QVERIFY(!closed.isOk());
    }

    // Sixteen flows become readable in one batch; the first continuation to run destroys the
    // other fifteen, and opens new flows on the descriptor numbers they freed. The rest of the
    // batch must skip the dead flows (ASan) and must not hand their events to the new ones.
    void flowsDestroyedAndNumbersReusedWithinOneBatch()
    {
        constexpr int Count = 16;
        LocalPairs pairs;
        QString why;
        QVERIFY2(pairs.open(Count, &why), qPrintable(why));
        std::set<qintptr> freed;
        for (auto &flow : pairs.clients)
            freed.insert(descriptorOf(flow.get()));

        int dataContinuations = 0;
        bool destroying = false;
        std::vector<std::unique_ptr<Flow>> reborn; // flows on reused numbers
        std::vector<int> rebornPeers; // their socketpair ends, ours to write
        std::vector<QFuture<ReadResult>> rebornReads;
        qintptr survivor = -1;
        std::vector<QFuture<void>> continuations;
        for (int i = 0; i < Count; ++i) {
            Flow *self = pairs.clients[size_t(i)].get();
            continuations.push_back(self->read().then([&, self](const ReadResult &result) {
                if (destroying || !result.isData())
                    return; // a flow destroyed below: its read ends Aborted
                ++dataContinuations;
                destroying = true;
                survivor = descriptorOf(self);
                freed.erase(survivor);
                for (auto &flow : pairs.clients) {
                    if (flow.get() != self)
                        flow.reset(); // a direct delete, inside the reactor's batch
                }
                // New flows on the freed numbers: takeover dups to the lowest free number.
                for (int tries = 0; tries < 3 * Count; ++tries) {
                    int ends[2];
                    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends) != 0)
                        break;
                    auto *socket = new QLocalSocket;
                    socket->setSocketDescriptor(ends[0]);
                    auto flow = std::make_unique<rill::LocalFlow>(socket);
                    const bool reused = freed.count(descriptorOf(flow.get())) > 0;
                    rebornReads.push_back(flow->read());
                    reborn.push_back(std::move(flow));
                    rebornPeers.push_back(ends[1]);
                    if (reused)
                        break;
                }
                destroying = false;
            }));
        }
        // All sixteen become readable before this thread's loop runs again: one batch.
        for (auto &server : pairs.servers)
            QVERIFY(server->write(QByteArray("x")).isFinished());
        QVERIFY(rilltest::spinUntil([&] { return dataContinuations > 0; }));
        QTRY_VERIFY(std::all_of(continuations.begin(), continuations.end(),
            [](const QFuture<void> &f) { return f.isFinished(); }));
        QCOMPARE(dataContinuations, 1);
        bool anyReused = false;
        for (auto &flow : reborn)
            anyReused = anyReused || freed.count(descriptorOf(flow.get())) > 0;
        QVERIFY2(anyReused, "no new flow got a freed descriptor number");
        // A few turns of the loop: no new flow may take a dead one's event for its own.
        for (int i = 0; i < 20; ++i)
            QCoreApplication::processEvents();
        for (const auto &read : rebornReads)
            QVERIFY2(!read.isFinished(), "a new flow's read finished without data");
        // The new flows work: each reads exactly what its own peer sends.
        for (size_t i = 0; i < reborn.size(); ++i) {
            const QByteArray message = "reborn-" + QByteArray::number(qulonglong(i));
            QCOMPARE(::write(rebornPeers[i], message.constData(), size_t(message.size())),
                ssize_t(message.size()));
            ReadResult result;
            RILL_AWAIT(rebornReads[i], result);
            QCOMPARE(result, ReadResult::fromData(message));
            ::close(rebornPeers[i]);
        }
        QVERIFY(survivor >= 0);
    }

    // A flow with a read waiting (one with a deadline, one for data) moves to another thread:
    // the new thread's reactor serves both, the old one never touches the flow again.
    void flowMovesToAnotherThread()
    {
        Link link;
        QString why;
        QVERIFY2(openLink(Role::Client, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
        Flow *flow = link.flow.get();
        std::atomic<QThread *> timedOutIn {nullptr};
        std::atomic<QThread *> dataIn {nullptr};
        QFuture<ReadResult> late = flow->read(QDeadlineTimer(150)).then([&](ReadResult r) {
            timedOutIn = QThread::currentThread();
            return r;
        });
        QFuture<ReadResult> data = flow->read().then([&](ReadResult r) {
            dataIn = QThread::currentThread();
            return r;
        });
        QThread worker;
        worker.start();
        link.flow.release()->moveToThread(&worker);
        auto stop = qScopeGuard([&] {
            QMetaObject::invokeMethod(
                flow, [flow] { delete flow; }, Qt::BlockingQueuedConnection);
            worker.quit();
            worker.wait();
        });
        ReadResult timedOut;
        RILL_AWAIT(late, timedOut);
        QCOMPARE(timedOut.error().kind(), rill::Error::Kind::TimedOut);
        QCOMPARE(timedOutIn.load(), &worker);
        QMetaObject::invokeMethod(flow, [flow] { flow->write("moved"); });
        ReadResult echoed;
        RILL_AWAIT(data, echoed);
        QCOMPARE(echoed, ReadResult::fromData(QByteArray("moved")));
        QCOMPARE(dataIn.load(), &worker);
        if (epollExpected())
            QTRY_COMPARE(dispatcherChildren<QSocketNotifier>(&worker), 1);
    }

    // A thread ends with a flow still open: its read ends Aborted, the registration goes with
    // it, and the next thread gets a reactor of its own that works.
    void threadEndTakesRegistrationsDown()
    {
        for (int round = 0; round < 2; ++round) {
            Peer peer;
            QVERIFY(peer.startPython({QStringLiteral("echo"), QStringLiteral("tcp:127.0.0.1:0"),
                QStringLiteral("--listen")}));
            const auto listening = peer.waitForEvent(QStringLiteral("listening"));
            QVERIFY2(listening, qPrintable(peer.describe()));
            const rill::Endpoint endpoint
                = rill::Endpoint::parse(listening->value(QLatin1String("endpoint")).toString());
            QThread worker;
            worker.start();
            auto context = std::make_unique<QObject>(); // deleted here once the thread ended
            context->moveToThread(&worker);
            Flow *flow = nullptr;
            QFuture<ReadResult> echo;
            QFuture<ReadResult> pending;
            QString failure;
            QMetaObject::invokeMethod(
                context.get(),
                [&] {
                    auto connecting
                        = rill::TcpFlow::connectToHost(endpoint.host(), endpoint.port());
                    if (!rilltest::waitFor(connecting)) {
                        failure = QStringLiteral("connect never finished");
                        return;
                    }
                    auto result = connecting.result();
                    flow = result.takeFlow().release();
                    if (!flow) {
                        failure = rill::errorMessage(result.error());
                        return;
                    }
                    flow->write("round");
                    echo = flow->read();
                    if (!rilltest::waitFor(echo))
                        failure = QStringLiteral("the echo never came");
                    pending = flow->read();
                },
                Qt::BlockingQueuedConnection);
            QVERIFY2(failure.isEmpty(), qPrintable(failure));
            QVERIFY(flow);
            ReadResult echoed;
            RILL_RESULT(echo, echoed);
            QCOMPARE(echoed, ReadResult::fromData(QByteArray("round")));
            QVERIFY(!pending.isFinished());
            worker.quit();
            QVERIFY(worker.wait(10000));
            context.reset();
            ReadResult ended;
            RILL_AWAIT(pending, ended);
            QCOMPARE(ended.error().kind(), rill::Error::Kind::Aborted);
            QCOMPARE(flow->state(), Flow::State::Closed);
            QCOMPARE(descriptorOf(flow), qintptr(-1));
            delete flow;
        }
    }

    // A thread whose flows go with it (deleteLater() on QThread::finished) closes its reactor's
    // descriptor before it is seen as finished: nothing is left for the thread's exit, which
    // comes after QThread::wait() has returned. QThreadStorage values are destroyed after the
    // flows' deferred deletion and before wait() returns, so one of them looks.
    void threadEndClosesItsReactor()
    {
        Peer peer;
        QVERIFY(peer.startPython({QStringLiteral("echo"), QStringLiteral("tcp:127.0.0.1:0"),
            QStringLiteral("--listen")}));
        const auto listening = peer.waitForEvent(QStringLiteral("listening"));
        QVERIFY2(listening, qPrintable(peer.describe()));
        const rill::Endpoint endpoint
            = rill::Endpoint::parse(listening->value(QLatin1String("endpoint")).toString());

        struct CountAtEnd
        {
            std::atomic<int> *count;
            ~CountAtEnd() { count->store(openDescriptorCount()); }
        };
        std::atomic<int> atEnd {-1};
        int before = -1;
        QString failure;
        QThread worker;
        worker.start();
        auto context = std::make_unique<QObject>();
        context->moveToThread(&worker);
        QMetaObject::invokeMethod(
            context.get(),
            [&] {
                static QThreadStorage<CountAtEnd *> storage;
                storage.setLocalData(new CountAtEnd {&atEnd});
                before = openDescriptorCount(); // no reactor in this thread yet
                auto connecting = rill::TcpFlow::connectToHost(endpoint.host(), endpoint.port());
                if (!rilltest::waitFor(connecting)) {
                    failure = QStringLiteral("connect never finished");
                    return;
                }
                Flow *flow = connecting.result().takeFlow().release();
                if (!flow) {
                    failure = rill::errorMessage(connecting.result().error());
                    return;
                }
                QObject::connect(&worker, &QThread::finished, flow, &QObject::deleteLater);
                flow->read(); // a registration and a pending read when the thread ends
            },
            Qt::BlockingQueuedConnection);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        worker.quit();
        QVERIFY(worker.wait(10000));
        context.reset();
        QCOMPARE(atEnd.load(), before);
    }

    // Thousands of open flows on one thread, a few busy: every byte echoed back exactly, no
    // idle flow sees anything, and all of them end cleanly.
    void manyFlowsOnOneThread()
    {
        const rlim_t limit = raiseDescriptorLimit();
        int count = qEnvironmentVariableIntValue("RILL_REACTOR_FLOWS");
        if (count <= 0)
            count = 2000;
        count = int(qMin<rlim_t>(rlim_t(count), limit > 400 ? limit - 300 : 0));
        QVERIFY2(count >= 100, "too few descriptors for this case");
        Peer peer;
        QVERIFY(peer.startPython({QStringLiteral("echo-many"), QStringLiteral("tcp:127.0.0.1:0"),
            QStringLiteral("--count"), QString::number(count)}));
        const auto listening = peer.waitForEvent(QStringLiteral("listening"));
        QVERIFY2(listening, qPrintable(peer.describe()));
        const rill::Endpoint endpoint
            = rill::Endpoint::parse(listening->value(QLatin1String("endpoint")).toString());

        std::vector<std::unique_ptr<Flow>> flows;
        std::vector<QFuture<rill::FlowResult<rill::TcpFlow>>> connecting;
        for (int i = 0; i < count; ++i)
            connecting.push_back(rill::TcpFlow::connectToHost(endpoint.host(), endpoint.port()));
        for (auto &future : connecting) {
            QVERIFY2(rilltest::waitFor(future, 60s), "a connect never finished");
            auto result = future.result();
            QVERIFY2(result.flow(), qPrintable(rill::errorMessage(result.error())));
            flows.push_back(result.takeFlow());
        }
        QVERIFY2(peer.waitForEvent(QStringLiteral("accepted"), 60s), qPrintable(peer.describe()));

        constexpr int Busy = 8;
        constexpr int Messages = 50;
        std::vector<QFuture<ReadResult>> idleReads;
        for (size_t i = Busy; i < flows.size(); ++i)
            idleReads.push_back(flows[i]->read());
        // Busy flows: each message written, then read back to its last byte before the next.
        struct Busyness {
            int message = 0;
            QByteArray expected;
            QByteArray received;
            QFuture<ReadResult> read;
            bool failed = false;
        };
        std::vector<Busyness> busy(Busy);
        auto next = [&](int i) {
            Busyness &b = busy[size_t(i)];
            b.expected = rilltest::pattern(
                1 + (b.message * 977 + i * 131) % 9000, quint32(i * 1000 + b.message));
            b.received.clear();
            flows[size_t(i)]->write(b.expected);
            b.read = flows[size_t(i)]->read();
        };
        for (int i = 0; i < Busy; ++i)
            next(i);
        const bool done = runUntil(
            [&] {
                bool all = true;
                for (int i = 0; i < Busy; ++i) {
                    Busyness &b = busy[size_t(i)];
                    while (b.message < Messages && !b.failed && b.read.isFinished()) {
                        const ReadResult r = b.read.result();
                        if (!r.isData()) {
                            b.failed = true;
                            break;
                        }
                        b.received += r.data();
                        if (b.received.size() < b.expected.size()) {
                            b.read = flows[size_t(i)]->read();
                        } else {
                            b.failed = b.received != b.expected;
                            if (++b.message < Messages && !b.failed)
                                next(i);
                        }
                    }
                    all = all && (b.message == Messages || b.failed);
                }
                return all;
            },
            120s);
        QVERIFY2(done, "the busy flows never finished their exchanges");
        for (int i = 0; i < Busy; ++i)
            QVERIFY2(!busy[size_t(i)].failed,
                qPrintable(QStringLiteral("busy flow %1: wrong bytes or an early end at "
                                          "message %2")
                               .arg(i)
                               .arg(busy[size_t(i)].message)));
        for (const auto &read : idleReads)
            QVERIFY2(!read.isFinished(), "an idle flow's read finished");

        // Every flow closes: our FIN, the peer's answer, Eof on each idle read.
        std::vector<QFuture<rill::CloseResult>> closes;
        for (auto &flow : flows)
            closes.push_back(flow->close());
        for (size_t i = 0; i < closes.size(); ++i) {
            QVERIFY2(rilltest::waitFor(closes[i], 60s),
                qPrintable(QStringLiteral("close() of flow %1 never finished").arg(i)));
            QVERIFY2(
                closes[i].result().isOk(), qPrintable(rilltest::debugString(closes[i].result())));
        }
        for (const auto &read : idleReads) {
            QVERIFY(read.isFinished());
            QCOMPARE(read.result(), ReadResult::eof());
        }
        peer.closeInput();
        QVERIFY2(peer.waitForEvent(QStringLiteral("done")), qPrintable(peer.describe()));
    }

    // This suite runs under QGuiApplication: a GUI thread's timer and a flow share the thread
    // and neither starves the other.
    void timerAndFlowShareTheGuiThread()
    {
        QVERIFY(qobject_cast<QGuiApplication *>(QCoreApplication::instance()));
        Link link;
        QString why;
        QVERIFY2(openLink(Role::Client, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
        int ticks = 0;
        QTimer timer;
        QObject::connect(&timer, &QTimer::timeout, [&] { ++ticks; });
        timer.start(1);
        int roundTrips = 0;
        QFuture<ReadResult> read;
        QByteArray message = "ping-0";
        link.flow->write(message);
        read = link.flow->read();
        QString failure;
        const bool done = runUntil(
            [&] {
                while (read.isFinished() && failure.isEmpty()) {
                    const ReadResult r = read.result();
                    if (r != ReadResult::fromData(message)) {
                        failure = rilltest::debugString(r);
                        break;
                    }
                    message = "ping-" + QByteArray::number(++roundTrips);
                    link.flow->write(message);
                    read = link.flow->read();
                }
                return !failure.isEmpty() || (ticks >= 50 && roundTrips >= 500);
            },
            30s);
        QVERIFY2(failure.isEmpty(), qPrintable(failure));
        QVERIFY2(done,
            qPrintable(QStringLiteral("%1 ticks, %2 round trips").arg(ticks).arg(roundTrips)));
    }
};

QTEST_MAIN(tst_Reactor)
#include "tst_reactor.moc"
