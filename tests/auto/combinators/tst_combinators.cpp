// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::copy() and rill::proxy() (rill/combinators.h), over PipeFlow pairs and over real sockets
// whose far ends are Python peers (tests/auto/shared/peer.py).
#include "../shared/sockettest.h"

#include <rill/combinators.h>
#include <rill/listener.h>
#include <rill/pipeflow.h>

#include <QtCore/QTemporaryDir>
#include <QtTest/QtTest>

using namespace std::chrono_literals;
using rill::CopyOption;
using rill::CopyOptions;
using rill::CopyResult;
using rill::Error;
using rill::Flow;
using rill::PipeFlow;
using rill::ProxyResult;
using sockettest::KiB;
using sockettest::MiB;
using sockettest::Peer;
using sockettest::Transfer;


namespace {

template<typename T>
QByteArray describe(const T &value)
{
    return rilltest::debugString(value).toUtf8();
}

// Offers all of data to flow at once, in writes of chunk bytes (those above the high-water mark
// wait, in order), then optionally its end of stream.
void offer(Flow *flow, const QByteArray &data, qint64 chunk, bool end)
{
    for (qsizetype offset = 0; offset < data.size(); offset += chunk)
        flow->write(data.mid(offset, chunk));
    if (end)
        flow->shutdown(Flow::Direction::Write);
}

bool isKind(const Error &error, Error::Kind kind)
{
    return error.kind() == kind;
}

// A TCP listener on loopback and a Unix-socket listener in a temporary folder, both listening.
struct Listeners
{
    QTemporaryDir dir;
    rill::TcpListener tcp;
    rill::LocalListener local;

    // Empty when both listen; else why not.
    QString listen()
    {
        if (!dir.isValid())
            return QStringLiteral("no temporary folder");
        if (!tcp.listen(QHostAddress::LocalHost, 0))
            return rill::errorMessage(tcp.error());
        if (!local.listen(dir.filePath(QStringLiteral("flows.sock"))))
            return rill::errorMessage(local.error());
        return {};
    }
};

} // namespace

class tst_Combinators : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cleanup();

    // copy() over PipeFlow pairs
    void copyMovesEverything_data();
    void copyMovesEverything();
    void copyEchoesIntoItsSource();
    void copyReportsTheSourceError();
    void copyReportsTheDestinationError_data();
    void copyReportsTheDestinationError();
    void copyFinishesWhenAFlowIsDestroyed_data();
    void copyFinishesWhenAFlowIsDestroyed();
    void copyWithoutAFlow();
    void copyStopsReadingWhileTheDestinationStalls();
    void copyAcrossThreads_data();
    void copyAcrossThreads();

    // proxy() over PipeFlow pairs
    void proxyCarriesHalfClose_data();
    void proxyCarriesHalfClose();
    void proxyMovesBothWaysAtOnce();
    void proxyResetsBothSidesOnError_data();
    void proxyResetsBothSidesOnError();

    // over real sockets, with Python peers
    void proxyRequestResponseFromTcpToUnix();
    void proxyBulkBothWaysOverSockets_data();
    void proxyBulkBothWaysOverSockets();
    void copyBackpressureOverSockets_data();
    void copyBackpressureOverSockets();
    void proxyPeerResetOverTcp();
    void spliceDestinationResetMidway_data();
    void spliceDestinationResetMidway();
    void spliceSourceAbortedMidway();
    void spliceDestinationMovesToAnotherThread();
    void twoCopiesIntoOneDestination();

private:
    // A flow accepted from a listener, for a peer that connects to it.
    template<typename Listener>
    std::unique_ptr<Flow> accepted(Listener &listener)
    {
        auto future = listener.accept();
        if (!rilltest::waitFor(future))
            return nullptr;
        auto result = future.result();
        return std::unique_ptr<Flow>(result.takeFlow().release());
    }
};

void tst_Combinators::cleanup()
{
    // Finished operations delete themselves later: let them, so leaks and crashes show here.
    sockettest::deleteDeferred();
}

// ---------------------------------------------------------------------------------------------
// copy()

void tst_Combinators::copyMovesEverything_data()
{
    QTest::addColumn<qint64>("size");
    QTest::addColumn<qint64>("chunk");
    QTest::addColumn<bool>("shutdown");
    for (bool shutdown : {true, false}) {
        const char *how = shutdown ? "shut down" : "left open";
        QTest::addRow("empty, %s", how) << qint64(0) << qint64(1) << shutdown;
        QTest::addRow("one byte, %s", how) << qint64(1) << qint64(1) << shutdown;
        QTest::addRow("700 writes of 7 bytes, %s", how) << qint64(4900) << qint64(7) << shutdown;
        QTest::addRow("4 MiB in 64 KiB writes, %s", how) << 4 * MiB << 64 * KiB << shutdown;
    }
}

void tst_Combinators::copyMovesEverything()
{
    QFETCH(qint64, size);
    QFETCH(qint64, chunk);
    QFETCH(bool, shutdown);
    auto [sourcePeer, source] = PipeFlow::createPair();
    auto [destination, destinationPeer] = PipeFlow::createPair();
    const QByteArray data = rilltest::pattern(size, 7);
    offer(sourcePeer.get(), data, chunk, true);

    QFuture<CopyResult> copying =
            rill::copy(source.get(), destination.get(),
                       shutdown ? CopyOption::ShutdownDestination : CopyOption::NoOptions);
    const rilltest::Drained drained = rilltest::readToEnd(destinationPeer.get(), shutdown ? -1 : size);
    if (shutdown) {
        RILL_CHECK_DRAINED(drained, data, rill::ReadResult::eof());
    } else {
        QVERIFY2(drained.finished, "the destination's peer never got all the bytes");
        QVERIFY2(drained.data == data, rilltest::describeMismatch(drained.data, data).constData());
    }

    CopyResult result;
    RILL_AWAIT(copying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.failedSide(), CopyResult::Side::None);
    const rill::CopyStats stats = result.stats();
    QCOMPARE(stats.bytesRead, size);
    QCOMPARE(stats.bytesWritten, size);
    QVERIFY2(stats.readOps == stats.writeOps, "each segment read must be written once");
    QVERIFY2(stats.readOps == source->stats().readOps,
             "the copy's reads must be the source's reads that gave data");
    QVERIFY2(size == 0 ? stats.readOps == 0 : stats.readOps >= 1 && stats.readOps <= size,
             describe(result));
    QVERIFY2(stats.durationNs > 0, "the copy took no time at all");

    if (shutdown) {
        QCOMPARE(destination->writeState(), Flow::WriteState::Closed);
    } else {
        // Not asked to: the destination stays usable, and its peer sees no end of stream.
        QCOMPARE(destination->writeState(), Flow::WriteState::Open);
        destination->write("tail");
        destination->shutdown(Flow::Direction::Write);
        const rilltest::Drained rest = rilltest::readToEnd(destinationPeer.get());
        RILL_CHECK_DRAINED(rest, QByteArray("tail"), rill::ReadResult::eof());
    }
}

void tst_Combinators::copyEchoesIntoItsSource()
{
    auto [peer, flow] = PipeFlow::createPair();
    const QByteArray data = rilltest::pattern(1 * MiB, 3);
    QFuture<CopyResult> echoing = rill::copy(flow.get(), flow.get(), CopyOption::ShutdownDestination);
    offer(peer.get(), data, 16 * KiB, true);
    const rilltest::Drained drained = rilltest::readToEnd(peer.get());
    RILL_CHECK_DRAINED(drained, data, rill::ReadResult::eof());
    CopyResult result;
    RILL_AWAIT(echoing, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.stats().bytesWritten, data.size());
    QVERIFY2(rilltest::spinUntil([&] { return flow->state() == Flow::State::Closed; }),
             "both directions of the echoing flow ended, yet it is not closed");
}

void tst_Combinators::copyReportsTheSourceError()
{
    auto [sourcePeer, source] = PipeFlow::createPair();
    auto [destination, destinationPeer] = PipeFlow::createPair();
    QFuture<CopyResult> copying =
            rill::copy(source.get(), destination.get(), CopyOption::ShutdownDestination);
    sourcePeer->write("first");
    const rilltest::Drained first = rilltest::readToEnd(destinationPeer.get(), 5);
    QVERIFY2(first.finished && first.data == "first", "the first segment did not arrive");
    sourcePeer->abort();

    CopyResult result;
    RILL_AWAIT(copying, result);
    QCOMPARE(result.failedSide(), CopyResult::Side::Source);
    QVERIFY2(isKind(result.error(), Error::Kind::Reset), describe(result));
    QCOMPARE(result.stats().bytesRead, 5);
    QCOMPARE(result.stats().bytesWritten, 5);
    // A failed copy does not shut the destination down: a clean end would hide the cut.
    QCOMPARE(destination->writeState(), Flow::WriteState::Open);
}

void tst_Combinators::copyReportsTheDestinationError_data()
{
    QTest::addColumn<QString>("fault");
    QTest::addColumn<Error::Kind>("kind");
    QTest::newRow("the destination's peer resets") << QStringLiteral("peer reset") << Error::Kind::Reset;
    QTest::newRow("the destination is aborted") << QStringLiteral("abort") << Error::Kind::Aborted;
    QTest::newRow("the destination's write side was shut down")
            << QStringLiteral("shutdown") << Error::Kind::Closed;
}

void tst_Combinators::copyReportsTheDestinationError()
{
    QFETCH(QString, fault);
    QFETCH(Error::Kind, kind);
    auto [sourcePeer, source] = PipeFlow::createPair();
    auto [destination, destinationPeer] = PipeFlow::createPair();
    QFuture<CopyResult> copying = rill::copy(source.get(), destination.get());
    sourcePeer->write("first");
    const rilltest::Drained first = rilltest::readToEnd(destinationPeer.get(), 5);
    QVERIFY2(first.finished && first.data == "first", "the first segment did not arrive");

    if (fault == QLatin1String("peer reset")) {
        destinationPeer->abort();
        QVERIFY2(rilltest::spinUntil([&] { return destination->state() == Flow::State::Closed; }),
                 "the destination never learned that its peer reset");
    } else if (fault == QLatin1String("abort")) {
        destination->abort();
    } else {
        RILL_AWAIT_VOID(destination->shutdown(Flow::Direction::Write));
    }
    QVERIFY2(!copying.isFinished(), "the copy cannot know before it writes again");
    sourcePeer->write("second");

    CopyResult result;
    RILL_AWAIT(copying, result);
    QCOMPARE(result.failedSide(), CopyResult::Side::Destination);
    QVERIFY2(isKind(result.error(), kind), describe(result));
    QCOMPARE(result.stats().bytesRead, 11);
    QCOMPARE(result.stats().bytesWritten, 5);
    QCOMPARE(result.stats().readOps, 2);
    QCOMPARE(result.stats().writeOps, 1);
}

void tst_Combinators::copyFinishesWhenAFlowIsDestroyed_data()
{
    QTest::addColumn<bool>("destroySource");
    QTest::addColumn<bool>("stalled");
    QTest::newRow("the source, while the copy reads") << true << false;
    QTest::newRow("the source, while a write waits") << true << true;
    QTest::newRow("the destination, while the copy reads") << false << false;
    QTest::newRow("the destination, while a write waits") << false << true;
}

void tst_Combinators::copyFinishesWhenAFlowIsDestroyed()
{
    QFETCH(bool, destroySource);
    QFETCH(bool, stalled);
    auto [sourcePeer, source] = PipeFlow::createPair();
    auto [destination, destinationPeer] = PipeFlow::createPair(16 * KiB);
    destination->setHighWaterMark(16 * KiB);
    QFuture<CopyResult> copying = rill::copy(source.get(), destination.get());
    if (stalled) {
        // The destination's peer reads nothing: its queue fills and a write waits.
        offer(sourcePeer.get(), rilltest::pattern(1 * MiB, 5), 16 * KiB, false);
        QVERIFY2(rilltest::spinUntil([&] { return destination->writesWaiting() > 0; }),
                 "the destination never held a write back");
    } else {
        sourcePeer->write("first");
        const rilltest::Drained first = rilltest::readToEnd(destinationPeer.get(), 5);
        QVERIFY2(first.finished && first.data == "first", "the first segment did not arrive");
    }
    QVERIFY2(!copying.isFinished(), "the copy finished early");

    if (destroySource)
        source.reset();
    else
        destination.reset();

    CopyResult result;
    RILL_AWAIT(copying, result);
    QCOMPARE(result.failedSide(),
             destroySource ? CopyResult::Side::Source : CopyResult::Side::Destination);
    QVERIFY2(isKind(result.error(), Error::Kind::Aborted), describe(result));
}

void tst_Combinators::copyWithoutAFlow()
{
    auto [a, b] = PipeFlow::createPair();
    QFuture<CopyResult> noSource = rill::copy(nullptr, b.get());
    QFuture<CopyResult> noDestination = rill::copy(a.get(), nullptr);
    QVERIFY2(noSource.isFinished() && noDestination.isFinished(), "a copy without a flow waits");
    QCOMPARE(noSource.result().failedSide(), CopyResult::Side::Source);
    QVERIFY(isKind(noSource.result().error(), Error::Kind::InvalidArgument));
    QCOMPARE(noDestination.result().failedSide(), CopyResult::Side::Destination);
    QVERIFY(isKind(noDestination.result().error(), Error::Kind::InvalidArgument));
}

void tst_Combinators::copyStopsReadingWhileTheDestinationStalls()
{
    const qint64 total = 64 * MiB;
    auto [sourcePeer, source] = PipeFlow::createPair();
    auto [destination, destinationPeer] = PipeFlow::createPair();
    Transfer writer(sourcePeer.get());
    writer.send(total, 11);
    writer.setEnd(Transfer::End::ShutdownWrite);
    QFuture<CopyResult> copying =
            rill::copy(source.get(), destination.get(), CopyOption::ShutdownDestination);

    // Nobody reads the destination's peer: the destination's queue fills and a copy write
    // waits; then the source's buffers fill and the writer is held back.
    QVERIFY2(sockettest::runUntil([&] {
                 writer.step();
                 return destination->writesWaiting() > 0 && writer.writePending();
             }),
             qPrintable(QStringLiteral("the copy never stalled: ") + writer.describe()));
    const qint64 taken = source->stats().bytesRead;
    for (int i = 0; i < 200; ++i) {
        QCoreApplication::processEvents();
        writer.step();
    }
    QCOMPARE(source->stats().bytesRead, taken); // the copy read on while its write waited
    // What the copy took fits in the destination's queue and pipe and its peer's read-ahead;
    // what the writer got accepted, in that plus the source's own buffers.
    QVERIFY2(taken <= 4 * MiB, qPrintable(QStringLiteral("the copy took %1 bytes").arg(taken)));
    QVERIFY2(writer.accepted() <= 8 * MiB && writer.accepted() < total,
             qPrintable(QStringLiteral("the writer got %1 bytes accepted").arg(writer.accepted())));
    QVERIFY2(!copying.isFinished(), "the copy finished while stalled");

    // The peer reads again: everything arrives, in order.
    Transfer reader(destinationPeer.get());
    reader.setReading(true);
    QVERIFY2(sockettest::runUntil(
                     [&] {
                         writer.step();
                         reader.step();
                         return writer.finished() && reader.finished();
                     },
                     sockettest::BulkTimeout),
             qPrintable(writer.describe() + QStringLiteral(" / ") + reader.describe()));
    QCOMPARE(reader.received(), total);
    QCOMPARE(reader.receivedHash(), writer.sentHash());
    QCOMPARE(reader.readEnd(), rill::ReadResult::eof());
    CopyResult result;
    RILL_AWAIT(copying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.stats().bytesWritten, total);
}

void tst_Combinators::copyAcrossThreads_data()
{
    QTest::addColumn<bool>("sourceElsewhere");
    QTest::newRow("the source in another thread") << true;
    QTest::newRow("the destination in another thread") << false;
}

void tst_Combinators::copyAcrossThreads()
{
    QFETCH(bool, sourceElsewhere);
    rilltest::WorkerThread worker;
    auto [sourcePeerOwned, sourceOwned] = PipeFlow::createPair();
    auto [destinationOwned, destinationPeerOwned] = PipeFlow::createPair();
    std::unique_ptr<PipeFlow> local[2];
    Flow *sourcePeer;
    Flow *source;
    Flow *destination;
    Flow *destinationPeer;
    if (sourceElsewhere) {
        sourcePeer = worker.adopt(std::move(sourcePeerOwned));
        source = worker.adopt(std::move(sourceOwned));
        destination = destinationOwned.get();
        destinationPeer = destinationPeerOwned.get();
        local[0] = std::move(destinationOwned);
        local[1] = std::move(destinationPeerOwned);
    } else {
        sourcePeer = sourcePeerOwned.get();
        source = sourceOwned.get();
        destination = worker.adopt(std::move(destinationOwned));
        destinationPeer = worker.adopt(std::move(destinationPeerOwned));
        local[0] = std::move(sourcePeerOwned);
        local[1] = std::move(sourceOwned);
    }
    const QByteArray data = rilltest::pattern(4 * MiB, 13);
    QFuture<CopyResult> copying = rill::copy(source, destination, CopyOption::ShutdownDestination);
    offer(sourcePeer, data, 64 * KiB, true);
    const rilltest::Drained drained = rilltest::readToEnd(destinationPeer);
    RILL_CHECK_DRAINED(drained, data, rill::ReadResult::eof());
    CopyResult result;
    RILL_AWAIT(copying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.stats().bytesWritten, data.size());
}

// ---------------------------------------------------------------------------------------------
// proxy()

void tst_Combinators::proxyCarriesHalfClose_data()
{
    QTest::addColumn<bool>("aEndsFirst");
    QTest::newRow("a's peer ends first") << true;
    QTest::newRow("b's peer ends first") << false;
}

void tst_Combinators::proxyCarriesHalfClose()
{
    QFETCH(bool, aEndsFirst);
    auto [aPeer, a] = PipeFlow::createPair();
    auto [b, bPeer] = PipeFlow::createPair();
    QFuture<ProxyResult> proxying = rill::proxy(a.get(), b.get());
    Flow *first = aEndsFirst ? aPeer.get() : bPeer.get();
    Flow *second = aEndsFirst ? bPeer.get() : aPeer.get();
    const QByteArray request("request");
    const QByteArray response("the response, sent after the request's end");

    first->write(request);
    first->shutdown(Flow::Direction::Write);
    const rilltest::Drained atSecond = rilltest::readToEnd(second);
    RILL_CHECK_DRAINED(atSecond, request, rill::ReadResult::eof()); // the half-close came through
    QVERIFY2(!proxying.isFinished(), "the proxy ended with one direction still open");
    QCOMPARE(first->readState(), Flow::ReadState::Open);

    second->write(response);
    second->shutdown(Flow::Direction::Write);
    const rilltest::Drained atFirst = rilltest::readToEnd(first);
    RILL_CHECK_DRAINED(atFirst, response, rill::ReadResult::eof());

    ProxyResult result;
    RILL_AWAIT(proxying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.failedSide(), ProxyResult::Side::None);
    QCOMPARE(result.aToB().stats().bytesWritten, (aEndsFirst ? request : response).size());
    QCOMPARE(result.bToA().stats().bytesWritten, (aEndsFirst ? response : request).size());
    QVERIFY2(rilltest::spinUntil([&] {
                 return a->state() == Flow::State::Closed && b->state() == Flow::State::Closed;
             }),
             "both directions ended, yet the proxied flows are not closed");
}

void tst_Combinators::proxyMovesBothWaysAtOnce()
{
    const qint64 size = 16 * MiB;
    auto [aPeer, a] = PipeFlow::createPair();
    auto [b, bPeer] = PipeFlow::createPair();
    QFuture<ProxyResult> proxying = rill::proxy(a.get(), b.get());
    Transfer atA(aPeer.get());
    Transfer atB(bPeer.get());
    atA.send(size, 21);
    atB.send(size / 2, 22);
    for (Transfer *t : {&atA, &atB}) {
        t->setEnd(Transfer::End::ShutdownWrite);
        t->setReading(true);
    }
    QVERIFY2(sockettest::runUntil(
                     [&] {
                         atA.step();
                         atB.step();
                         return atA.finished() && atB.finished();
                     },
                     sockettest::BulkTimeout),
             qPrintable(atA.describe() + QStringLiteral(" / ") + atB.describe()));
    QCOMPARE(atB.received(), size);
    QCOMPARE(atB.receivedHash(), atA.sentHash());
    QCOMPARE(atA.received(), size / 2);
    QCOMPARE(atA.receivedHash(), atB.sentHash());
    ProxyResult result;
    RILL_AWAIT(proxying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.aToB().stats().bytesRead, size);
    QCOMPARE(result.bToA().stats().bytesRead, size / 2);
}

void tst_Combinators::proxyResetsBothSidesOnError_data()
{
    QTest::addColumn<QString>("fault");
    QTest::addColumn<ProxyResult::Side>("side");
    QTest::addColumn<Error::Kind>("kind");
    QTest::newRow("a's peer resets") << QStringLiteral("a peer") << ProxyResult::Side::A
                                     << Error::Kind::Reset;
    QTest::newRow("b's peer resets") << QStringLiteral("b peer") << ProxyResult::Side::B
                                     << Error::Kind::Reset;
    QTest::newRow("a is destroyed") << QStringLiteral("a") << ProxyResult::Side::A
                                    << Error::Kind::Aborted;
    QTest::newRow("b is aborted") << QStringLiteral("b") << ProxyResult::Side::B
                                  << Error::Kind::Aborted;
}

void tst_Combinators::proxyResetsBothSidesOnError()
{
    QFETCH(QString, fault);
    QFETCH(ProxyResult::Side, side);
    QFETCH(Error::Kind, kind);
    auto [aPeer, a] = PipeFlow::createPair();
    auto [b, bPeer] = PipeFlow::createPair();
    QFuture<ProxyResult> proxying = rill::proxy(a.get(), b.get());
    aPeer->write("hello");
    const rilltest::Drained hello = rilltest::readToEnd(bPeer.get(), 5);
    QVERIFY2(hello.finished && hello.data == "hello", "the proxy did not carry the first bytes");

    Flow *survivingPeer = side == ProxyResult::Side::A ? bPeer.get() : aPeer.get();
    if (fault == QLatin1String("a peer"))
        aPeer->abort();
    else if (fault == QLatin1String("b peer"))
        bPeer->abort();
    else if (fault == QLatin1String("a"))
        a.reset();
    else
        b->abort();

    ProxyResult result;
    RILL_AWAIT(proxying, result);
    QCOMPARE(result.failedSide(), side);
    QVERIFY2(isKind(result.error(), kind), describe(result));
    QVERIFY2(result.aToB().isError() && result.bToA().isError(),
             "a failed proxy must stop both directions");
    // The other peer sees its stream cut (a reset), not a clean end.
    const rilltest::Drained rest = rilltest::readToEnd(survivingPeer);
    QVERIFY2(rest.finished, "the surviving peer's read never ended: its stream was not reset");
    QVERIFY2(rest.end.isError() && isKind(rest.end.error(), Error::Kind::Reset),
             qPrintable(QStringLiteral("the surviving peer's read ended with ")
                        + rilltest::debugString(rest.end)));
}

// ---------------------------------------------------------------------------------------------
// Real sockets

void tst_Combinators::proxyRequestResponseFromTcpToUnix()
{
    Listeners listeners;
    const QString notListening = listeners.listen();
    QVERIFY2(notListening.isEmpty(), qPrintable(notListening));
    rill::TcpListener &tcp = listeners.tcp;
    rill::LocalListener &local = listeners.local;
    const QString request = QStringLiteral("GET / over a half-closed stream");
    const QString response = QStringLiteral("200 OK, sent after the request's end of stream");
    Peer client;
    Peer server;
    QVERIFY2(client.startPython({QStringLiteral("send-then-shutdown"), tcp.endpoint().toString(),
                                 QStringLiteral("--text"), request}),
             qPrintable(client.describe()));
    QVERIFY2(server.startPython({QStringLiteral("read-then-reply"), local.endpoint().toString(),
                                 QStringLiteral("--text"), response}),
             qPrintable(server.describe()));
    std::unique_ptr<Flow> a = accepted(tcp);
    std::unique_ptr<Flow> b = accepted(local);
    QVERIFY2(a && b, "accepting the peers failed");

    QFuture<ProxyResult> proxying = rill::proxy(a.get(), b.get());
    const auto eof = server.waitForEvent(QStringLiteral("eof"));
    QVERIFY2(eof, qPrintable(QStringLiteral("the server never saw the request's end")
                             + server.describe()));
    QCOMPARE(eof->value(QLatin1String("received_sha256")).toString(),
             sockettest::sha256Hex(request.toUtf8()));
    const auto done = client.waitForEvent(QStringLiteral("done"));
    QVERIFY2(done, qPrintable(QStringLiteral("the client never got the response")
                              + client.describe()));
    QCOMPARE(done->value(QLatin1String("received_sha256")).toString(),
             sockettest::sha256Hex(response.toUtf8()));

    ProxyResult result;
    RILL_AWAIT(proxying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.aToB().stats().bytesWritten, request.toUtf8().size());
    QCOMPARE(result.bToA().stats().bytesWritten, response.toUtf8().size());
}

// How a copy between socket flows moves the bytes.
enum class Path { Splice, NoSpliceOption, Observed };

void tst_Combinators::proxyBulkBothWaysOverSockets_data()
{
    QTest::addColumn<Path>("path");
    QTest::newRow("spliced") << Path::Splice;
    QTest::newRow("copied: NoSplice") << Path::NoSpliceOption;
    QTest::newRow("copied: a data observer") << Path::Observed;
}

void tst_Combinators::proxyBulkBothWaysOverSockets()
{
    QFETCH(Path, path);
    const qint64 size = 32 * MiB;
    Listeners listeners;
    const QString notListening = listeners.listen();
    QVERIFY2(notListening.isEmpty(), qPrintable(notListening));
    rill::TcpListener &tcp = listeners.tcp;
    rill::LocalListener &local = listeners.local;
    Peer one;
    Peer two;
    const QString bytes = QString::number(size);
    QVERIFY2(one.startPython({QStringLiteral("bulk"), tcp.endpoint().toString(), QStringLiteral("--bytes"),
                              bytes, QStringLiteral("--seed"), QStringLiteral("1")}),
             qPrintable(one.describe()));
    QVERIFY2(two.startPython({QStringLiteral("bulk"), local.endpoint().toString(), QStringLiteral("--bytes"),
                              bytes, QStringLiteral("--seed"), QStringLiteral("2")}),
             qPrintable(two.describe()));
    std::unique_ptr<Flow> a = accepted(tcp);
    std::unique_ptr<Flow> b = accepted(local);
    QVERIFY2(a && b, "accepting the peers failed");

    qint64 observed = 0;
    if (path == Path::Observed)
        connect(a.get(), &Flow::dataArrived, this, [&](const QByteArray &d) { observed += d.size(); });
    QFuture<ProxyResult> proxying = rill::proxy(
            a.get(), b.get(),
            path == Path::NoSpliceOption ? CopyOption::NoSplice : CopyOption::NoOptions);
    const auto doneOne = one.waitForEvent(QStringLiteral("done"), sockettest::BulkTimeout);
    const auto doneTwo = two.waitForEvent(QStringLiteral("done"), sockettest::BulkTimeout);
    QVERIFY2(doneOne && doneTwo, qPrintable(one.describe() + two.describe()));
    QCOMPARE(doneOne->value(QLatin1String("received")).toInteger(), size);
    QCOMPARE(doneOne->value(QLatin1String("received_sha256")).toString(),
             doneTwo->value(QLatin1String("sent_sha256")).toString());
    QCOMPARE(doneTwo->value(QLatin1String("received")).toInteger(), size);
    QCOMPARE(doneTwo->value(QLatin1String("received_sha256")).toString(),
             doneOne->value(QLatin1String("sent_sha256")).toString());
    ProxyResult result;
    RILL_AWAIT(proxying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.aToB().stats().bytesWritten, size);
    QCOMPARE(result.bToA().stats().bytesWritten, size);
    // Splice takes both directions unless told not to; an observer of a's bytes keeps both of
    // a's directions' data flowing through the process (dataArrived for one, the other's
    // destination is observed too).
    // (What a flow had read ahead before the proxy started goes through the process.)
    const qint64 aToB = result.aToB().stats().bytesSpliced;
    const qint64 bToA = result.bToA().stats().bytesSpliced;
    if (path == Path::Splice) {
        QVERIFY2(aToB > 0 && size - aToB <= 64 * KiB, describe(result));
        QVERIFY2(bToA > 0 && size - bToA <= 64 * KiB, describe(result));
    } else {
        QCOMPARE(aToB, 0);
        QCOMPARE(bToA, 0);
    }
    QCOMPARE(a->stats().bytesReadSpliced, aToB);
    QCOMPARE(b->stats().bytesWrittenSpliced, aToB);
    QCOMPARE(b->stats().bytesReadSpliced, bToA);
    QCOMPARE(a->stats().bytesWrittenSpliced, bToA);
    // Bytes a took in before the observer connected went unseen: at most its read-ahead.
    if (path == Path::Observed)
        QVERIFY2(observed >= size - 64 * KiB && observed <= size, describe(observed));
    else
        QCOMPARE(observed, 0);
}

// The most a TCP connection's kernel buffers may hold (receive plus send, autotuned), so a test
// can offer more than that.
static qint64 tcpBufferLimit()
{
    qint64 total = 0;
    for (const char *path : {"/proc/sys/net/ipv4/tcp_rmem", "/proc/sys/net/ipv4/tcp_wmem"}) {
        QFile file(QString::fromLatin1(path));
        if (file.open(QIODevice::ReadOnly))
            total += file.readAll().simplified().split(' ').value(2).toLongLong();
    }
    return total;
}

// Runs events until value() stops changing: the same (non-zero) value at ten checks in a row,
// each after the event loop had its chance to move bytes.
template<typename Value>
[[nodiscard]] bool runUntilStill(Value &&value)
{
    qint64 last = -1;
    int same = 0;
    return sockettest::runUntil([&] {
        const qint64 now = value();
        same = now == last && now > 0 ? same + 1 : 0;
        last = now;
        return same >= 10;
    });
}

void tst_Combinators::copyBackpressureOverSockets_data()
{
    QTest::addColumn<Path>("path");
    QTest::addColumn<bool>("observeMidway");
    QTest::newRow("copied") << Path::NoSpliceOption << false;
    QTest::newRow("spliced") << Path::Splice << false;
    QTest::newRow("spliced, then observed") << Path::Splice << true;
}

// A destination that stops reading stops the copy from reading; nothing is lost. Spliced, the
// bound is the copy's pipe; an observer that connects midway turns the copy to the copying path
// and sees every byte from there on.
void tst_Combinators::copyBackpressureOverSockets()
{
    QFETCH(Path, path);
    QFETCH(bool, observeMidway);
    const qint64 size = qMax(64 * MiB, (2 * tcpBufferLimit() / MiB + 1) * MiB);
    Listeners listeners;
    const QString notListening = listeners.listen();
    QVERIFY2(notListening.isEmpty(), qPrintable(notListening));
    rill::TcpListener &tcp = listeners.tcp;
    rill::LocalListener &local = listeners.local;
    Peer sender;
    Peer staller;
    QVERIFY2(sender.startPython({QStringLiteral("send-then-shutdown"), tcp.endpoint().toString(),
                                 QStringLiteral("--bytes"), QString::number(size)}),
             qPrintable(sender.describe()));
    QVERIFY2(staller.startPython({QStringLiteral("stall"), local.endpoint().toString()}),
             qPrintable(staller.describe()));
    std::unique_ptr<Flow> source = accepted(tcp);
    std::unique_ptr<Flow> destination = accepted(local);
    QVERIFY2(source && destination, "accepting the peers failed");

    CopyOptions options = CopyOption::ShutdownDestination;
    if (path == Path::NoSpliceOption)
        options |= CopyOption::NoSplice;
    QFuture<CopyResult> copying = rill::copy(source.get(), destination.get(), options);
    if (path == Path::NoSpliceOption) {
        QVERIFY2(sockettest::runUntil([&] { return destination->writesWaiting() > 0; }),
                 qPrintable(QStringLiteral("the destination never held a write back")
                            + staller.describe()));
    } else {
        QVERIFY2(runUntilStill([&] { return source->stats().bytesRead; }),
                 qPrintable(QStringLiteral("the copy never stopped reading") + staller.describe()));
        QCOMPARE(destination->writesWaiting(), 0);
        // What the source had read ahead before the copy went through the process; the rest
        // was spliced.
        QVERIFY2(source->stats().bytesReadSpliced > 0, describe(source->stats()));
        QVERIFY2(source->stats().bytesRead - source->stats().bytesReadSpliced <= 64 * KiB,
                 describe(source->stats()));
    }
    const qint64 taken = source->stats().bytesRead;
    const qint64 takenSpliced = source->stats().bytesReadSpliced;
    for (int i = 0; i < 200; ++i)
        QCoreApplication::processEvents();
    QCOMPARE(source->stats().bytesRead, taken); // the copy read on while its write waited
    QVERIFY2(taken <= 8 * MiB, qPrintable(QStringLiteral("the copy took %1 bytes").arg(taken)));
    // The kernel's buffers hold less than half of what the sender offers: it is held back.
    QVERIFY2(!sender.hasEvent(QStringLiteral("sent")), "the sender got everything out");

    qint64 observed = 0;
    if (observeMidway) {
        connect(source.get(), &Flow::dataArrived, this,
                [&](const QByteArray &data) { observed += data.size(); });
    }
    staller.command("go");
    const auto eof = staller.waitForEvent(QStringLiteral("eof"), sockettest::BulkTimeout);
    const auto sent = sender.waitForEvent(QStringLiteral("sent"), sockettest::BulkTimeout);
    QVERIFY2(eof && sent, qPrintable(sender.describe() + staller.describe()));
    QCOMPARE(eof->value(QLatin1String("received")).toInteger(), size);
    QCOMPARE(eof->value(QLatin1String("received_sha256")).toString(),
             sent->value(QLatin1String("sent_sha256")).toString());
    CopyResult result;
    RILL_AWAIT(copying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.stats().bytesWritten, size);
    const qint64 spliced = result.stats().bytesSpliced;
    const qint64 readSpliced = source->stats().bytesReadSpliced;
    if (path == Path::NoSpliceOption) {
        QCOMPARE(spliced, 0);
    } else if (!observeMidway) {
        QVERIFY2(size - readSpliced <= 64 * KiB, describe(source->stats()));
        QCOMPARE(spliced, readSpliced);
    } else {
        // Before the observer came: spliced in; what was still in the pipe then left through
        // the process; everything after it was seen.
        QCOMPARE(readSpliced, takenSpliced);
        QVERIFY2(spliced > 0 && spliced <= takenSpliced, describe(result));
        QCOMPARE(observed, size - taken);
    }
    QCOMPARE(destination->stats().bytesWrittenSpliced, spliced);
}

void tst_Combinators::proxyPeerResetOverTcp()
{
    rill::TcpListener tcp;
    QVERIFY(tcp.listen(QHostAddress::LocalHost, 0));
    Peer client;
    Peer server;
    QVERIFY2(client.startPython({QStringLiteral("stall"), tcp.endpoint().toString()}),
             qPrintable(client.describe()));
    std::unique_ptr<Flow> a = accepted(tcp);
    QVERIFY2(server.startPython({QStringLiteral("stall"), tcp.endpoint().toString()}),
             qPrintable(server.describe()));
    std::unique_ptr<Flow> b = accepted(tcp);
    QVERIFY2(a && b, "accepting the peers failed");
    QVERIFY2(client.waitForEvent(QStringLiteral("connected")), qPrintable(client.describe()));
    QVERIFY2(server.waitForEvent(QStringLiteral("connected")), qPrintable(server.describe()));
    const QString clientEndpoint = a->peerEndpoint().toString();

    QFuture<ProxyResult> proxying = rill::proxy(a.get(), b.get());
    client.command("reset");
    QVERIFY2(client.waitForEvent(QStringLiteral("reset")), qPrintable(client.describe()));

    ProxyResult result;
    RILL_AWAIT(proxying, result);
    QCOMPARE(result.failedSide(), ProxyResult::Side::A);
    QVERIFY2(isKind(result.error(), Error::Kind::Reset), describe(result));
    QVERIFY2(rill::errorMessage(result.error()).contains(clientEndpoint),
             qPrintable(rill::errorMessage(result.error())));
    // The server's stream was cut: it must see a reset, not a clean end of stream.
    server.command("go");
    const auto error = server.waitForEvent(QStringLiteral("error"));
    QVERIFY2(error && error->value(QLatin1String("errno")).toInt() == ECONNRESET,
             qPrintable(QStringLiteral("the server did not see a reset") + server.describe()));
}

void tst_Combinators::spliceDestinationResetMidway_data()
{
    QTest::addColumn<Path>("path");
    QTest::newRow("spliced") << Path::Splice;
    QTest::newRow("copied") << Path::NoSpliceOption;
}

// The destination's peer resets after taking part of the stream: the copy fails on the
// destination's side, whichever path it took, and says what it had moved.
void tst_Combinators::spliceDestinationResetMidway()
{
    QFETCH(Path, path);
    const qint64 size = 64 * MiB;
    Listeners listeners;
    const QString notListening = listeners.listen();
    QVERIFY2(notListening.isEmpty(), qPrintable(notListening));
    rill::TcpListener &tcp = listeners.tcp;
    rill::LocalListener &local = listeners.local;
    Peer sender;
    Peer resetter;
    QVERIFY2(sender.startPython({QStringLiteral("send-then-shutdown"), local.endpoint().toString(),
                                 QStringLiteral("--bytes"), QString::number(size)}),
             qPrintable(sender.describe()));
    QVERIFY2(resetter.startPython({QStringLiteral("read-then-reset"), tcp.endpoint().toString(),
                                   QStringLiteral("--after"), QString::number(MiB)}),
             qPrintable(resetter.describe()));
    std::unique_ptr<Flow> source = accepted(local);
    std::unique_ptr<Flow> destination = accepted(tcp);
    QVERIFY2(source && destination, "accepting the peers failed");

    QFuture<CopyResult> copying = rill::copy(
            source.get(), destination.get(),
            path == Path::NoSpliceOption ? CopyOption::NoSplice : CopyOption::NoOptions);
    QVERIFY2(resetter.waitForEvent(QStringLiteral("reset")), qPrintable(resetter.describe()));
    CopyResult result;
    RILL_AWAIT(copying, result);
    QCOMPARE(result.failedSide(), CopyResult::Side::Destination);
    QVERIFY2(isKind(result.error(), Error::Kind::Reset) || isKind(result.error(), Error::Kind::Closed),
             describe(result));
    QVERIFY2(result.stats().bytesWritten >= MiB, describe(result));
    QVERIFY2(result.stats().bytesRead >= result.stats().bytesWritten, describe(result));
    if (path == Path::Splice) {
        // All but what the source had read ahead before the copy started.
        QVERIFY2(result.stats().bytesSpliced > 0, describe(result));
        QVERIFY2(result.stats().bytesWritten - result.stats().bytesSpliced <= 64 * KiB,
                 describe(result));
    } else {
        QCOMPARE(result.stats().bytesSpliced, 0);
    }
    // The copy never closes its flows: the source is still open and readable.
    QCOMPARE(source->readState(), Flow::ReadState::Open);
}

// Aborting the source in the middle of a splice ends the copy with the source's error, and
// every descriptor (the flows', the copy's pipe) is gone once the flows are.
void tst_Combinators::spliceSourceAbortedMidway()
{
    const int descriptorsBefore = sockettest::openDescriptorCount();
    {
        rill::TcpListener tcp;
        QVERIFY(tcp.listen(QHostAddress::LocalHost, 0));
        Peer sender;
        Peer staller;
        QVERIFY2(sender.startPython({QStringLiteral("send-then-shutdown"), tcp.endpoint().toString(),
                                     QStringLiteral("--bytes"), QString::number(64 * MiB)}),
                 qPrintable(sender.describe()));
        std::unique_ptr<Flow> source = accepted(tcp);
        QVERIFY2(staller.startPython({QStringLiteral("stall"), tcp.endpoint().toString()}),
                 qPrintable(staller.describe()));
        std::unique_ptr<Flow> destination = accepted(tcp);
        QVERIFY2(source && destination, "accepting the peers failed");

        QFuture<CopyResult> copying = rill::copy(source.get(), destination.get());
        QVERIFY2(runUntilStill([&] { return source->stats().bytesReadSpliced; }),
                 qPrintable(QStringLiteral("the splice never started or never stopped")
                            + staller.describe()));
        const int descriptorsSplicing = sockettest::openDescriptorCount();
        source->abort();
        CopyResult result;
        RILL_AWAIT(copying, result);
        QCOMPARE(result.failedSide(), CopyResult::Side::Source);
        QVERIFY2(isKind(result.error(), Error::Kind::Aborted), describe(result));
        QVERIFY2(result.stats().bytesSpliced > 0, describe(result));
        // The source's descriptor and the copy's two pipe ends are closed.
        QVERIFY2(sockettest::runUntil([&] {
                     return sockettest::openDescriptorCount() <= descriptorsSplicing - 3;
                 }),
                 qPrintable(QStringLiteral("%1 descriptors open, %2 while splicing")
                                    .arg(sockettest::openDescriptorCount())
                                    .arg(descriptorsSplicing)));
        // The destination is whole and still takes writes.
        QCOMPARE(destination->writeState(), Flow::WriteState::Open);
    }
    sockettest::deleteDeferred();
    QVERIFY2(sockettest::runUntil([&] {
                 sockettest::deleteDeferred();
                 return sockettest::openDescriptorCount() <= descriptorsBefore;
             }),
             qPrintable(QStringLiteral("%1 descriptors open, %2 before")
                                .arg(sockettest::openDescriptorCount())
                                .arg(descriptorsBefore)));
}

// A splice runs in one thread: a destination moved to another one midway takes its direction
// back, and the copy goes on by copying, the pipe's bytes first. Nothing is lost or reordered.
void tst_Combinators::spliceDestinationMovesToAnotherThread()
{
    const qint64 size = qMax(64 * MiB, (2 * tcpBufferLimit() / MiB + 1) * MiB);
    Listeners listeners;
    const QString notListening = listeners.listen();
    QVERIFY2(notListening.isEmpty(), qPrintable(notListening));
    rill::TcpListener &tcp = listeners.tcp;
    rill::LocalListener &local = listeners.local;
    Peer sender;
    Peer staller;
    QVERIFY2(sender.startPython({QStringLiteral("send-then-shutdown"), tcp.endpoint().toString(),
                                 QStringLiteral("--bytes"), QString::number(size)}),
             qPrintable(sender.describe()));
    QVERIFY2(staller.startPython({QStringLiteral("stall"), local.endpoint().toString()}),
             qPrintable(staller.describe()));
    std::unique_ptr<Flow> source = accepted(tcp);
    std::unique_ptr<Flow> destinationOwner = accepted(local);
    QVERIFY2(source && destinationOwner, "accepting the peers failed");

    QFuture<CopyResult> copying =
            rill::copy(source.get(), destinationOwner.get(), CopyOption::ShutdownDestination);
    QVERIFY2(runUntilStill([&] { return source->stats().bytesReadSpliced; }),
             qPrintable(QStringLiteral("the splice never started or never stopped")
                        + staller.describe()));
    QThread worker;
    worker.start();
    Flow *destination = destinationOwner.release();
    destination->moveToThread(&worker);
    staller.command("go");
    const auto eof = staller.waitForEvent(QStringLiteral("eof"), sockettest::BulkTimeout);
    const auto sent = sender.waitForEvent(QStringLiteral("sent"), sockettest::BulkTimeout);
    QVERIFY2(eof && sent, qPrintable(sender.describe() + staller.describe()));
    QCOMPARE(eof->value(QLatin1String("received")).toInteger(), size);
    QCOMPARE(eof->value(QLatin1String("received_sha256")).toString(),
             sent->value(QLatin1String("sent_sha256")).toString());
    CopyResult result;
    RILL_AWAIT(copying, result);
    QVERIFY2(result.isOk(), describe(result));
    QCOMPARE(result.stats().bytesWritten, size);
    QVERIFY2(result.stats().bytesSpliced > 0 && result.stats().bytesSpliced < size,
             describe(result));
    QMetaObject::invokeMethod(destination, [destination] { delete destination; },
                              Qt::BlockingQueuedConnection);
    worker.quit();
    worker.wait();
}

// Two sources copied into one destination: one copy holds the destination's write side for its
// splice, the other copies meanwhile, its segments leaving between the splice's. Every byte
// arrives, and neither copy waits for the other.
void tst_Combinators::twoCopiesIntoOneDestination()
{
    const qint64 size = 16 * MiB;
    Listeners listeners;
    const QString notListening = listeners.listen();
    QVERIFY2(notListening.isEmpty(), qPrintable(notListening));
    rill::TcpListener &tcp = listeners.tcp;
    rill::LocalListener &local = listeners.local;
    Peer one;
    Peer two;
    Peer sink;
    QVERIFY2(one.startPython({QStringLiteral("send-then-shutdown"), tcp.endpoint().toString(),
                              QStringLiteral("--bytes"), QString::number(size)}),
             qPrintable(one.describe()));
    std::unique_ptr<Flow> first = accepted(tcp);
    QVERIFY2(two.startPython({QStringLiteral("send-then-shutdown"), tcp.endpoint().toString(),
                              QStringLiteral("--bytes"), QString::number(size)}),
             qPrintable(two.describe()));
    std::unique_ptr<Flow> second = accepted(tcp);
    QVERIFY2(sink.startPython({QStringLiteral("sink"), local.endpoint().toString()}),
             qPrintable(sink.describe()));
    std::unique_ptr<Flow> destination = accepted(local);
    QVERIFY2(first && second && destination, "accepting the peers failed");

    QFuture<CopyResult> copyingFirst = rill::copy(first.get(), destination.get());
    QFuture<CopyResult> copyingSecond = rill::copy(second.get(), destination.get());
    CopyResult resultFirst;
    CopyResult resultSecond;
    RILL_AWAIT(copyingFirst, resultFirst);
    RILL_AWAIT(copyingSecond, resultSecond);
    QVERIFY2(resultFirst.isOk(), describe(resultFirst));
    QVERIFY2(resultSecond.isOk(), describe(resultSecond));
    QCOMPARE(resultFirst.stats().bytesWritten, size);
    QCOMPARE(resultSecond.stats().bytesWritten, size);
    // One splices while the other copies; once the first is done the second may splice too.
    QVERIFY2(resultFirst.stats().bytesSpliced > 0, describe(resultFirst));
    QVERIFY2(resultSecond.stats().bytesSpliced < size, describe(resultSecond));
    QCOMPARE(destination->stats().bytesWrittenSpliced,
             resultFirst.stats().bytesSpliced + resultSecond.stats().bytesSpliced);
    destination->shutdown(Flow::Direction::Write);
    const auto ended = sink.waitForEvent(QStringLiteral("ended"), sockettest::BulkTimeout);
    QVERIFY2(ended, qPrintable(sink.describe()));
    QCOMPARE(ended->value(QLatin1String("how")).toString(), QStringLiteral("eof"));
    QCOMPARE(ended->value(QLatin1String("received")).toInteger(), 2 * size);
}

QTEST_GUILESS_MAIN(tst_Combinators)
#include "tst_combinators.moc"
