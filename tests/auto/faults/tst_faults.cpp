// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Fault injection: socket flows over TCP (loopback) and Unix sockets, against peers that fail
// (peer.py: resets, a SIGKILL, closing at once, never reading) and against faults on our side
// (destruction and thread shutdown with operations pending, abort() during close(), close()
// with a writev() waiting, shutdown(Read) with data arriving, refused connections).
//
// Every case checks, for each transport:
//   (a) every pending future finishes, with the result the contract gives (Reset, Aborted, Eof,
//       Refused, ...), and operations after the fault finish at once with the same result;
//   (b) nothing is duplicated or reordered: what the peer received is an exact prefix of what
//       the flow accepted, and what the flow read is an exact prefix of what the peer sent;
//   (c) no descriptor leaks: the process holds as many descriptors after the case (flows,
//       listeners and peers destroyed, deferred deletes done) as before it (cleanup()).
//
// The existing socket suites (SocketFlowSuite in ../shared/sockettest.h) already cover a reset
// with a read pending, a killed stalled peer, refusals with operations waiting, and abort() or
// destruction with one read, one write and a shutdown pending; this suite does not repeat them.
// Synchronisation is on futures, peer events and conditions with deadlines; nothing sleeps.
#include "../shared/sockettest.h"

#include <QtCore/QFileInfo>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtTest/QtTest>

#include <malloc.h>

using namespace sockettest;
using rill::Error;
using rill::Flow;
using rill::ReadResult;
using rill::WriteResult;

using rilltest::isKind;

namespace {


QString describe(const ReadResult &result) { return rilltest::debugString(result); }
QString describe(const WriteResult &result) { return rilltest::debugString(result); }

// Adds the first `bytes` bytes of what transfer offers to hash.
void addPrefix(QCryptographicHash *hash, const Transfer &transfer, qint64 bytes, qint64 chunk)
{
    for (qint64 index = 0; index * chunk < bytes; ++index)
        hash->addData(transfer.chunkData(index, qMin(chunk, bytes - index * chunk)));
}

} // namespace

class tst_Faults : public QObject {
    Q_OBJECT
public:
    enum class Transport { Tcp, Local };
    Q_ENUM(Transport)

private:
    // The flow under test (it connected, with rill::connectTo) and the peer at the other end.
    struct Link {
        std::unique_ptr<Peer> peer;
        std::unique_ptr<Flow> flow;
        QString endpoint; // where the peer listens

        QByteArray why(const QString &what) const
        {
            QString text = what;
            if (flow)
                text += QStringLiteral("\n  flow: %1 -> %2, state %3/%4/%5, error %6, "
                                       "bytesQueued %7, writesWaiting %8")
                            .arg(flow->localEndpoint().toString(), flow->peerEndpoint().toString(),
                                QString::fromLatin1(rilltest::enumName(flow->state())),
                                QString::fromLatin1(rilltest::enumName(flow->readState())),
                                QString::fromLatin1(rilltest::enumName(flow->writeState())),
                                rilltest::debugString(flow->error()))
                            .arg(flow->bytesQueued())
                            .arg(flow->writesWaiting());
            if (peer)
                text += peer->describe();
            return text.toUtf8();
        }
    };

    static void addTransportRows()
    {
        QTest::addColumn<Transport>("transport");
        QTest::newRow("tcp") << Transport::Tcp;
        QTest::newRow("unix") << Transport::Local;
    }

    QString freshPath(const QString &stem)
    {
        return m_dir.filePath(QStringLiteral("%1-%2").arg(stem).arg(++m_counter));
    }

    // A file holding data, for "peer.py ... --file": then the test knows every byte sent.
    QString dataFile(const QByteArray &data)
    {
        const QString path = freshPath(QStringLiteral("data"));
        QFile file(path);
        if (!file.open(QIODevice::WriteOnly) || file.write(data) != data.size())
            return {};
        return path;
    }

    // Starts peer.py MODE ENDPOINT --listen [options]; sets link->endpoint.
    bool startListeningPeer(Transport transport, QStringList peerArguments, Link *link,
                            QString *why)
    {
        link->peer = std::make_unique<Peer>();
        const QString mode = peerArguments.takeFirst();
        const QString where = transport == Transport::Tcp
            ? QStringLiteral("tcp:127.0.0.1:0")
            : QStringLiteral("unix:") + freshPath(QStringLiteral("peer.sock"));
        if (!link->peer->startPython(
                QStringList {mode, where, QStringLiteral("--listen")} + peerArguments)) {
            *why = QStringLiteral("the peer did not start") + link->peer->describe();
            return false;
        }
        const auto listening = link->peer->waitForEvent(QStringLiteral("listening"));
        if (!listening) {
            *why = QStringLiteral("the peer did not listen") + link->peer->describe();
            return false;
        }
        link->endpoint = listening->value(QLatin1String("endpoint")).toString();
        return true;
    }

    // rill::connectTo, awaited. Null and *error set on failure.
    static std::unique_ptr<Flow> connectFlow(const QString &endpointText, Error *error)
    {
        const rill::Endpoint endpoint = rill::Endpoint::parse(endpointText, error);
        if (!endpoint.isValid())
            return nullptr;
        auto future = rill::connectTo(endpoint);
        if (!rilltest::waitFor(future)) {
            *error = Error(Error::Kind::TimedOut, QStringLiteral("connectTo() never finished"));
            return nullptr;
        }
        auto result = future.result();
        *error = result.error();
        return result.takeFlow();
    }

    // A listening peer and a flow connected to it, open.
    bool openLink(Transport transport, const QStringList &peerArguments, Link *link, QString *why)
    {
        if (!startListeningPeer(transport, peerArguments, link, why))
            return false;
        Error error;
        link->flow = connectFlow(link->endpoint, &error);
        if (!link->flow) {
            *why = QStringLiteral("connecting to the peer failed: ") + rill::errorMessage(error)
                + link->peer->describe();
            return false;
        }
        if (!link->peer->waitForEvent(QStringLiteral("connected"))) {
            *why = QString::fromUtf8(link->why(QStringLiteral("the peer never accepted")));
            return false;
        }
        if (link->flow->state() != Flow::State::Open) {
            *why = QString::fromUtf8(link->why(QStringLiteral("the new flow is not open")));
            return false;
        }
        return true;
    }

    // Offers writes until they wait: the peer reads nothing (mode sink --hold or stall).
    static bool fillUntilBlocked(Transfer *fill, quint32 seed, QString *why)
    {
        fill->send(4 * GiB, seed);
        if (fill->runUntilBlocked())
            return true;
        *why = QStringLiteral("writes never waited although the peer reads nothing: ")
            + fill->describe();
        return false;
    }

    // The peer's "ended" report after a fault on our side: it read a prefix of what the flow
    // accepted (fill's stream), at most `handedOver` bytes (what the kernel took); over a Unix
    // socket exactly that much. How it ended: TCP shows the abort as a reset; a Unix socket
    // has no reset, so the peer sees a plain end of stream (nothing it sent was left unread).
    void checkPeerAfterAbort(Transport transport, Link &link, const Transfer &fill,
                             qint64 handedOver)
    {
        link.peer->command("go");
        const auto ended = link.peer->waitForEvent(QStringLiteral("ended"));
        QVERIFY2(ended, link.why(QStringLiteral("the peer never saw the connection end")));
        const qint64 received = ended->value(QLatin1String("received")).toInteger();
        const QString how = ended->value(QLatin1String("how")).toString();
        QCOMPARE(how,
            transport == Transport::Tcp ? QStringLiteral("reset") : QStringLiteral("eof"));
        QVERIFY2(received <= handedOver && handedOver <= fill.accepted(),
            link.why(QStringLiteral("the peer received %1 bytes, the kernel took %2, %3 were "
                                    "accepted")
                         .arg(received)
                         .arg(handedOver)
                         .arg(fill.accepted())));
        if (transport == Transport::Local)
            QVERIFY2(received == handedOver,
                link.why(QStringLiteral("bytes the kernel took were lost: %1 of %2")
                             .arg(received)
                             .arg(handedOver)));
        QVERIFY2(ended->value(QLatin1String("received_sha256")).toString()
                == fill.prefixHash(received),
            link.why(QStringLiteral("what the peer received is not a prefix of what the flow "
                                    "accepted")));
    }

    QTemporaryDir m_dir;
    int m_counter = 0;
    int m_descriptorsBefore = -1;

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void peerResetsWhileWeSend_data() { addTransportRows(); }
    void peerResetsWhileWeSend();
    void peerResetsWhileItSends_data() { addTransportRows(); }
    void peerResetsWhileItSends();
    void peerKilledMidTransfer_data() { addTransportRows(); }
    void peerKilledMidTransfer();
    void peerAcceptsAndCloses_data();
    void peerAcceptsAndCloses();
    void refused_data();
    void refused();
    void destroyedWithOperationsPending_data();
    void destroyedWithOperationsPending();
    void threadQuitsWithOperationsPending_data();
    void threadQuitsWithOperationsPending();
    void abortDuringClose_data();
    void abortDuringClose();
    void peerResetsDuringClose_data() { addTransportRows(); }
    void peerResetsDuringClose();
    void closeWhileWritevWaits_data() { addTransportRows(); }
    void closeWhileWritevWaits();
    void shutdownReadWithDataInFlight_data() { addTransportRows(); }
    void shutdownReadWithDataInFlight();
    void neverReadingPeer_data() { addTransportRows(); }
    void neverReadingPeer();
};

void tst_Faults::initTestCase()
{
    QVERIFY2(m_dir.isValid(), qPrintable(m_dir.errorString()));
    QVERIFY2(!QStandardPaths::findExecutable(QStringLiteral("python3")).isEmpty(),
        "python3 is needed: the peers are Python programs");
    // Whatever Qt opens once per process (around QProcess, the network layer) is open before
    // the first descriptor count.
    for (Transport transport : {Transport::Tcp, Transport::Local}) {
        Link link;
        QString why;
        QVERIFY2(openLink(transport, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
        auto closed = link.flow->close();
        RILL_AWAIT_VOID(closed);
        QVERIFY2(link.peer->waitForExit(), link.why(QStringLiteral("the warm-up peer did not end")));
    }
}

void tst_Faults::init()
{
    deleteDeferred();
    m_descriptorsBefore = openDescriptorCount();
}

void tst_Faults::cleanup()
{
    const QString leak = descriptorLeak(m_descriptorsBefore);
    QVERIFY2(leak.isEmpty() || QTest::currentTestFailed(), qPrintable(leak));
}

// ---- The peer resets (close with SO_LINGER 0) mid-transfer.

// We send; the peer reads 1 MiB, then resets with our later bytes unread.
void tst_Faults::peerResetsWhileWeSend()
{
    QFETCH(Transport, transport);
    Link link;
    QString why;
    QVERIFY2(openLink(transport,
                 {QStringLiteral("read-then-reset"), QStringLiteral("--after"),
                     QString::number(1 * MiB)},
                 &link, &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    Transfer transfer(flow);
    transfer.send(1 * GiB, 41); // far more than the buffers hold: a write is always in flight
    transfer.setReading(true);
    QVERIFY2(transfer.run(),
        link.why(QStringLiteral("the transfer never ended: ") + transfer.describe()));
    const auto reset = link.peer->waitForEvent(QStringLiteral("reset"));
    QVERIFY2(reset, link.why(QStringLiteral("the peer did not reset")));

    // (a) The pending read gives Reset. The write side: Reset over TCP; over a Unix socket the
    // kernel reports a closed peer to a writer as EPIPE, which the flow takes for "the peer is
    // gone": Closed when accepted bytes were left unsent (the usual case here), Eof when none
    // were; Reset when the read side saw ECONNRESET first. Which comes first is a race.
    QVERIFY2(isKind(transfer.readEnd(), Error::Kind::Reset),
        link.why(QStringLiteral("the pending read gave ") + describe(transfer.readEnd())));
    QVERIFY(transfer.writeFailure().has_value());
    const WriteResult writeEnd = *transfer.writeFailure();
    QVERIFY2(isKind(writeEnd, Error::Kind::Reset)
            || (transport == Transport::Local
                && (writeEnd.isEof() || isKind(writeEnd, Error::Kind::Closed))),
        link.why(QStringLiteral("writing gave ") + describe(writeEnd)));
    QFuture<ReadResult> laterRead = flow->read();
    QFuture<WriteResult> laterWrite = flow->write("after the reset");
    QVERIFY2(laterRead.isFinished() && laterWrite.isFinished(),
        "operations after the reset must finish at once");
    QCOMPARE(laterRead.result(), transfer.readEnd());
    QCOMPARE(laterWrite.result(), writeEnd);
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(descriptorOf(flow), qintptr(-1));

    // (b) The peer read a prefix of what was accepted, in order.
    const qint64 received = reset->value(QLatin1String("received")).toInteger();
    QVERIFY2(received >= 1 * MiB && received <= transfer.accepted(),
        link.why(QStringLiteral("the peer read %1 bytes of %2 accepted")
                     .arg(received)
                     .arg(transfer.accepted())));
    QVERIFY2(reset->value(QLatin1String("received_sha256")).toString()
            == transfer.prefixHash(received),
        link.why(QStringLiteral("what the peer read is not a prefix of what was accepted")));
}

// The peer sends 8 MiB and resets, leaving our request unread (so a Unix socket reports the
// reset too); we read all along.
void tst_Faults::peerResetsWhileItSends()
{
    QFETCH(Transport, transport);
    const QByteArray data = rilltest::pattern(8 * MiB, 42);
    const QString file = dataFile(data);
    QVERIFY(!file.isEmpty());
    Link link;
    QString why;
    QVERIFY2(openLink(transport,
                 {QStringLiteral("reset"), QStringLiteral("--peek"), QStringLiteral("--file"),
                     file},
                 &link, &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    QFuture<WriteResult> request = flow->write("a request the peer never reads");
    Transfer transfer(flow);
    transfer.setReading(true, true);
    QVERIFY2(transfer.run(),
        link.why(QStringLiteral("reading never ended: ") + transfer.describe()));
    QVERIFY2(link.peer->waitForEvent(QStringLiteral("reset")),
        link.why(QStringLiteral("the peer did not reset")));

    // (a)
    QVERIFY2(isKind(transfer.readEnd(), Error::Kind::Reset),
        link.why(QStringLiteral("reading ended with ") + describe(transfer.readEnd())));
    QVERIFY2(!transfer.emptyRead(), "a read resolved with zero bytes");
    WriteResult requestResult;
    RILL_AWAIT(request, requestResult);
    QVERIFY2(requestResult.isOk(), "a write accepted before the reset must stay accepted");
    QFuture<ReadResult> laterRead = flow->read();
    QFuture<WriteResult> laterWrite = flow->write("after the reset");
    QVERIFY2(laterRead.isFinished() && laterWrite.isFinished(),
        "operations after the reset must finish at once");
    QVERIFY2(isKind(laterRead.result(), Error::Kind::Reset), qPrintable(describe(laterRead.result())));
    QVERIFY2(isKind(laterWrite.result(), Error::Kind::Reset),
        qPrintable(describe(laterWrite.result())));
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(descriptorOf(flow), qintptr(-1));

    // (b) What we read is a prefix of what the peer sent.
    const QByteArray received = transfer.receivedData();
    QVERIFY2(data.startsWith(received),
        (QByteArray("what the flow read is not a prefix of what the peer sent: ")
            + rilltest::describeMismatch(received, data.left(received.size())))
            .constData());
    qInfo("read %lld of the %lld bytes the peer sent before its reset", qint64(received.size()),
        qint64(data.size()));
}

// ---- The peer process is killed (SIGKILL) while data flows both ways.

void tst_Faults::peerKilledMidTransfer()
{
    QFETCH(Transport, transport);
    const QByteArray data = rilltest::pattern(32 * MiB, 43);
    const QString file = dataFile(data);
    QVERIFY(!file.isEmpty());
    Link link;
    QString why;
    QVERIFY2(openLink(transport, {QStringLiteral("bulk"), QStringLiteral("--file"), file}, &link,
                 &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    Transfer transfer(flow);
    transfer.send(1 * GiB, 44);
    transfer.setReading(true, true);
    QVERIFY2(runUntil([&] {
        transfer.step();
        return (transfer.received() >= 1 * MiB && transfer.accepted() >= 1 * MiB)
            || transfer.finished();
    }),
        link.why(QStringLiteral("nothing moved: ") + transfer.describe()));
    QVERIFY2(!transfer.finished(), link.why(QStringLiteral("ended before the kill: ")
                                       + transfer.describe()));
    link.peer->kill();
    QVERIFY2(transfer.run(),
        link.why(QStringLiteral("the transfer never ended: ") + transfer.describe()));

    // (a) The kernel closes the dead peer's socket: an end of stream, or a reset when our
    // bytes were left unread in it. Either way every future finished, and later ones agree.
    const ReadResult readEnd = transfer.readEnd();
    QVERIFY2(readEnd.isEof() || isKind(readEnd, Error::Kind::Reset),
        link.why(QStringLiteral("reading ended with ") + describe(readEnd)));
    QVERIFY(transfer.writeFailure().has_value());
    const WriteResult writeEnd = *transfer.writeFailure();
    QVERIFY2(writeEnd.isEof() || isKind(writeEnd, Error::Kind::Reset)
                 || isKind(writeEnd, Error::Kind::Closed),
        link.why(QStringLiteral("writing ended with ") + describe(writeEnd)));
    QVERIFY2(runUntil([&] { return flow->state() == Flow::State::Closed; }),
        link.why(QStringLiteral("both directions ended, yet the flow is not closed")));
    QCOMPARE(descriptorOf(flow), qintptr(-1));
    QFuture<ReadResult> laterRead = flow->read();
    QFuture<WriteResult> laterWrite = flow->write("after the kill");
    QVERIFY(laterRead.isFinished() && laterWrite.isFinished());
    QCOMPARE(laterRead.result(), readEnd);
    QCOMPARE(laterWrite.result(), writeEnd);

    // (b)
    const QByteArray received = transfer.receivedData();
    QVERIFY2(data.startsWith(received),
        (QByteArray("what the flow read is not a prefix of what the peer sent: ")
            + rilltest::describeMismatch(received, data.left(received.size())))
            .constData());
    qInfo("read %lld bytes, %lld accepted, before the kill ended it: %s / %s",
        qint64(received.size()), transfer.accepted(), qPrintable(describe(readEnd)),
        qPrintable(describe(writeEnd)));
}

// ---- The peer accepts and closes at once.

void tst_Faults::peerAcceptsAndCloses_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<QString>("how");
    for (Transport transport : {Transport::Tcp, Transport::Local}) {
        const char *name = transport == Transport::Tcp ? "tcp" : "unix";
        for (const char *how : {"clean close", "reset after our request", "reset at once"})
            QTest::addRow("%s, %s", name, how) << transport << QString::fromLatin1(how);
    }
}

void tst_Faults::peerAcceptsAndCloses()
{
    QFETCH(Transport, transport);
    QFETCH(QString, how);
    const bool clean = how == QLatin1String("clean close");
    const bool afterRequest = how == QLatin1String("reset after our request");
    Link link;
    QString why;
    QVERIFY2(startListeningPeer(transport,
                 clean ? QStringList {QStringLiteral("close")}
                       : afterRequest ? QStringList {QStringLiteral("reset"), QStringLiteral("--peek")}
                                      : QStringList {QStringLiteral("reset")},
                 &link, &why),
        qPrintable(why));
    Error error;
    link.flow = connectFlow(link.endpoint, &error);
    if (!link.flow) {
        // A TCP reset can beat the connect's completion being noticed: then connecting fails
        // (Qt reports it as refused). That is a right answer too; what matters is that it
        // finished and left nothing open.
        QVERIFY2(!clean && !afterRequest && transport == Transport::Tcp && !error.isNone(),
            link.why(QStringLiteral("connecting failed: ") + rilltest::debugString(error)));
        qInfo("the reset came before the connection was established: %s",
            qPrintable(rilltest::debugString(error)));
        return;
    }
    Flow *flow = link.flow.get();
    QFuture<WriteResult> request;
    if (afterRequest)
        request = flow->write("a request the peer never reads");
    QFuture<ReadResult> read = flow->read();
    ReadResult readResult;
    RILL_AWAIT(read, readResult);

    if (clean) {
        // Our end of stream; the write side stays open until the kernel says the peer is gone.
        QCOMPARE(readResult, ReadResult::eof());
        QCOMPARE(flow->readState(), Flow::ReadState::Eof);
        QFuture<WriteResult> write = flow->write("after the peer closed");
        WriteResult writeResult;
        RILL_AWAIT(write, writeResult);
        QVERIFY2(writeResult.isOk() || writeResult.isEof()
                || isKind(writeResult, Error::Kind::Reset),
            qPrintable(describe(writeResult)));
    } else if (afterRequest || transport == Transport::Tcp) {
        QVERIFY2(isKind(readResult, Error::Kind::Reset),
            link.why(QStringLiteral("the read gave ") + describe(readResult)));
        QFuture<WriteResult> later = flow->write("after the reset");
        QVERIFY(later.isFinished());
        QVERIFY2(isKind(later.result(), Error::Kind::Reset), qPrintable(describe(later.result())));
    } else {
        // A Unix socket closed with nothing unread in it ends like a clean close: there is no
        // reset to see.
        QCOMPARE(readResult, ReadResult::eof());
    }
    if (afterRequest) {
        WriteResult requestResult;
        RILL_AWAIT(request, requestResult);
        QVERIFY2(requestResult.isOk(), "a write accepted before the reset must stay accepted");
    }
    auto closed = flow->close();
    RILL_AWAIT_VOID(closed);
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(descriptorOf(flow), qintptr(-1));
    QVERIFY2(link.peer->waitForExit(), link.why(QStringLiteral("the peer did not exit")));
}

// ---- Nobody listens.

void tst_Faults::refused_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<QString>("where");
    QTest::addColumn<Error::Kind>("kind");
    QTest::newRow("tcp, a port nobody listens on")
        << Transport::Tcp << QStringLiteral("port") << Error::Kind::Refused;
    QTest::newRow("unix, a path that does not exist")
        << Transport::Local << QStringLiteral("missing") << Error::Kind::HostNotFound;
    QTest::newRow("unix, a stale socket file")
        << Transport::Local << QStringLiteral("stale") << Error::Kind::Refused;
}

// connectTo() fails with the right kind, naming the endpoint, again and again without leaking;
// a flow over a socket still connecting fails every operation issued meanwhile.
void tst_Faults::refused()
{
    QFETCH(Transport, transport);
    QFETCH(QString, where);
    QFETCH(Error::Kind, kind);
    QString endpoint;
    int held = -1; // a TCP port bound without listening, so nobody else takes it
    auto release = qScopeGuard([&] {
        if (held >= 0)
            ::close(held);
    });
    if (where == QLatin1String("port")) {
        quint16 port = 0;
        held = bindRefusingPort(&port);
        QVERIFY2(held >= 0, strerror(errno));
        endpoint = QStringLiteral("tcp:127.0.0.1:%1").arg(port);
    } else if (where == QLatin1String("missing")) {
        endpoint = QStringLiteral("unix:") + freshPath(QStringLiteral("nobody.sock"));
    } else {
        endpoint = QStringLiteral("unix:") + freshPath(QStringLiteral("stale.sock"));
        Peer python;
        QVERIFY2(python.startPython({QStringLiteral("bind-only"), endpoint})
                && python.waitForEvent(QStringLiteral("bound")) && python.waitForExit(),
            qPrintable(python.describe()));
        QVERIFY(QFileInfo::exists(rill::Endpoint::parse(endpoint).path()));
    }
    Q_UNUSED(transport);

    for (int i = 0; i < 50; ++i) {
        Error error;
        std::unique_ptr<Flow> flow = connectFlow(endpoint, &error);
        QVERIFY2(!flow, "connecting where nobody listens succeeded");
        QVERIFY2(error.kind() == kind, qPrintable(rilltest::debugString(error)));
        QVERIFY2(rill::errorMessage(error).contains(endpoint),
            qPrintable(QStringLiteral("\"%1\" does not name %2")
                           .arg(rill::errorMessage(error), endpoint)));
    }

    // A flow over a Qt socket that is still connecting (or failed to already).
    std::unique_ptr<Flow> flow;
    const rill::Endpoint parsed = rill::Endpoint::parse(endpoint);
    if (parsed.type() == rill::Endpoint::Type::Tcp) {
        auto *socket = new QTcpSocket;
        socket->connectToHost(QHostAddress(parsed.host()), parsed.port());
        flow = std::make_unique<rill::TcpFlow>(socket);
    } else {
        auto *socket = new QLocalSocket;
        socket->connectToServer(parsed.path());
        flow = std::make_unique<rill::LocalFlow>(socket);
    }
    QList<QFuture<ReadResult>> reads {flow->read(), flow->read()};
    // The first write fills the queue to the high-water mark (it may be accepted while
    // connecting: it resolves when queued, not when sent); the others wait behind it.
    QFuture<WriteResult> first = flow->write(rilltest::pattern(flow->highWaterMark(), 1));
    QList<QFuture<WriteResult>> writes {flow->write("waits"),
        flow->writev({QByteArray("a"), QByteArray(), QByteArray("b")})};
    QList<QFuture<void>> ends {rilltest::asVoid(flow->shutdown(Flow::Direction::Write)),
                              rilltest::asVoid(flow->close())};
    for (const auto &read : reads) {
        ReadResult result;
        RILL_AWAIT(read, result);
        QVERIFY2(isKind(result, kind), qPrintable(describe(result)));
    }
    for (const auto &write : writes) {
        WriteResult result;
        RILL_AWAIT(write, result);
        QVERIFY2(isKind(result, kind), qPrintable(describe(result)));
    }
    WriteResult firstResult;
    RILL_AWAIT(first, firstResult);
    QVERIFY2(firstResult.isOk() || isKind(firstResult, kind), qPrintable(describe(firstResult)));
    for (const auto &end : ends)
        RILL_AWAIT_VOID(end);
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(flow->bytesQueued(), 0);
    QCOMPARE(descriptorOf(flow.get()), qintptr(-1));
}

// ---- Our side ends the flow with operations pending.

void tst_Faults::destroyedWithOperationsPending_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<bool>("fromAnotherThread");
    QTest::newRow("tcp, operations called here") << Transport::Tcp << false;
    QTest::newRow("tcp, operations called from another thread") << Transport::Tcp << true;
    QTest::newRow("unix, operations called here") << Transport::Local << false;
    QTest::newRow("unix, operations called from another thread") << Transport::Local << true;
}

namespace {
// Operations pending on a flow, and what each must have finished with.
struct Pending {
    QList<QFuture<ReadResult>> reads;
    QList<QFuture<WriteResult>> writes;
    QList<QFuture<void>> ends;

    // Two reads, a write and a writev (both behind a full queue), shutdown(Write) and close().
    void issue(Flow *flow, quint32 seed)
    {
        reads << flow->read() << flow->read();
        writes << flow->write(rilltest::pattern(64 * KiB, seed))
               << flow->writev({rilltest::pattern(1000, seed + 1), QByteArray(),
                      rilltest::pattern(5000, seed + 2)});
        ends << rilltest::asVoid(flow->shutdown(Flow::Direction::Write))
             << rilltest::asVoid(flow->close());
    }

    bool allFinished() const
    {
        for (const auto &f : reads)
            if (!f.isFinished())
                return false;
        for (const auto &f : writes)
            if (!f.isFinished())
                return false;
        for (const auto &f : ends)
            if (!f.isFinished())
                return false;
        return true;
    }
    int finishedCount() const
    {
        int n = 0;
        for (const auto &f : reads)
            n += f.isFinished();
        for (const auto &f : writes)
            n += f.isFinished();
        for (const auto &f : ends)
            n += f.isFinished();
        return n;
    }

    // Everything finished; reads and writes with Aborted. Empty if so, else what is wrong.
    // afterCleanEnd: the calls were made after an earlier shutdown(Write) ended the write side
    // cleanly, so writes give its sticky Eof rather than the abort's error.
    QString checkAborted(bool afterCleanEnd = false) const
    {
        if (!allFinished())
            return QStringLiteral("%1 of %2 operations never finished")
                .arg(reads.size() + writes.size() + ends.size() - finishedCount())
                .arg(reads.size() + writes.size() + ends.size());
        for (const auto &f : reads) {
            if (f.resultCount() != 1 || !isKind(f.result(), Error::Kind::Aborted))
                return QStringLiteral("a read gave ")
                    + (f.resultCount() ? describe(f.result()) : QStringLiteral("no value"));
        }
        for (const auto &f : writes) {
            const bool expected = f.resultCount() == 1
                    && (afterCleanEnd ? f.result().isEof() : isKind(f.result(), Error::Kind::Aborted));
            if (!expected)
                return QStringLiteral("a write gave ")
                    + (f.resultCount() ? describe(f.result()) : QStringLiteral("no value"));
        }
        return {};
    }
};
} // namespace

// Reads, waiting writes and writevs, shutdown and close pending when the flow is destroyed:
// all finish at once, Aborted; also those whose queued call from another thread had not even
// reached the flow yet. The peer gets a prefix of what was accepted.
void tst_Faults::destroyedWithOperationsPending()
{
    QFETCH(Transport, transport);
    QFETCH(bool, fromAnotherThread);
    Link link;
    QString why;
    QVERIFY2(openLink(transport, {QStringLiteral("sink"), QStringLiteral("--hold")}, &link, &why),
        qPrintable(why));
    Transfer fill(link.flow.get());
    QVERIFY2(fillUntilBlocked(&fill, 81, &why), link.why(why));
    Flow *flow = link.flow.get();

    Pending delivered; // calls that reached the flow
    Pending undelivered; // calls still queued for the flow's thread when it is destroyed
    if (fromAnotherThread) {
        rilltest::WorkerThread worker;
        worker.call([&] { delivered.issue(flow, 82); });
        QCoreApplication::processEvents(); // delivers the queued calls
        QCOMPARE(flow->writesWaiting(), 3);
        QCOMPARE(flow->state(), Flow::State::Closing);
        worker.call([&] { undelivered.issue(flow, 85); });
        QVERIFY(!undelivered.allFinished());
    } else {
        delivered.issue(flow, 82);
        QCOMPARE(flow->writesWaiting(), 3);
    }
    QCOMPARE(delivered.finishedCount(), 0);
    const QFuture<WriteResult> fillWrite = fill.pendingWrite();
    const qint64 handedOver = flow->stats().bytesWritten;

    link.flow.reset();
    QVERIFY2(fillWrite.isFinished() && isKind(fillWrite.result(), Error::Kind::Aborted),
        "the waiting write did not finish Aborted at once");
    QString wrong = delivered.checkAborted();
    QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
    wrong = undelivered.checkAborted();
    QVERIFY2(wrong.isEmpty(), qPrintable(QStringLiteral("queued calls: ") + wrong));

    checkPeerAfterAbort(transport, link, fill, handedOver);
}

void tst_Faults::threadQuitsWithOperationsPending_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<bool>("deleteLaterOnFinished");
    QTest::newRow("tcp, deleteLater() on QThread::finished") << Transport::Tcp << true;
    QTest::newRow("tcp, deleted after the thread ended") << Transport::Tcp << false;
    QTest::newRow("unix, deleteLater() on QThread::finished") << Transport::Local << true;
    QTest::newRow("unix, deleted after the thread ended") << Transport::Local << false;
}

// The flow lives in a QThread whose event loop quits while operations called from this thread
// wait. The flow aborts itself as its thread finishes (nothing else could ever resolve what is
// pending): every future finishes Aborted then, without waiting for the flow to be destroyed,
// and calls made after that finish Aborted at once. Destroying it later (deleteLater() on
// QThread::finished, or its owner once the thread is gone) changes nothing.
void tst_Faults::threadQuitsWithOperationsPending()
{
    QFETCH(Transport, transport);
    QFETCH(bool, deleteLaterOnFinished);
    Link link;
    QString why;
    QVERIFY2(startListeningPeer(transport, {QStringLiteral("sink"), QStringLiteral("--hold")},
                 &link, &why),
        qPrintable(why));

    QThread thread;
    thread.setObjectName(QStringLiteral("flow-thread"));
    auto *context = new QObject;
    context->moveToThread(&thread);
    thread.start();
    auto stop = qScopeGuard([&] {
        thread.quit();
        thread.wait();
        delete context;
    });
    auto inThread = [context](auto &&f) {
        QMetaObject::invokeMethod(context, std::forward<decltype(f)>(f),
            Qt::BlockingQueuedConnection);
    };

    QFuture<rill::FlowResult<Flow>> connecting;
    const rill::Endpoint endpoint = rill::Endpoint::parse(link.endpoint);
    inThread([&] { connecting = rill::connectTo(endpoint); });
    QVERIFY2(rilltest::waitFor(connecting), "connecting never finished");
    QVERIFY2(connecting.result().isOk(), qPrintable(rilltest::debugString(connecting.result().error())));
    Flow *flow = connecting.result().takeFlow().release();
    QPointer<Flow> alive(flow);
    auto cleanUp = qScopeGuard([&] {
        // Only if the test failed half-way: end the flow in its thread, or here once it ended.
        if (!alive)
            return;
        if (thread.isRunning())
            inThread([&] { delete alive.data(); });
        else
            delete alive.data();
    });
    QCOMPARE(flow->thread(), &thread);
    QVERIFY2(link.peer->waitForEvent(QStringLiteral("connected")),
        link.why(QStringLiteral("the peer never accepted")));
    if (deleteLaterOnFinished)
        QObject::connect(&thread, &QThread::finished, flow, &QObject::deleteLater);

    // Fill the queue in the flow's thread, where the Transfer can watch it.
    Transfer fill(flow);
    bool blocked = false;
    inThread([&] { blocked = fillUntilBlocked(&fill, 91, &why); });
    QVERIFY2(blocked, qPrintable(why));

    Pending pending; // called from here, delivered to the flow's thread
    pending.issue(flow, 92);
    // Calls are delivered in order: once this one runs, all of the above reached the flow.
    int waiting = -1;
    qint64 handedOver = -1;
    inThread([&] {
        waiting = flow->writesWaiting();
        handedOver = flow->stats().bytesWritten;
    });
    QCOMPARE(waiting, 3);
    QCOMPARE(pending.finishedCount(), 0);
    const QFuture<WriteResult> fillWrite = fill.pendingWrite();

    thread.quit();
    QVERIFY2(thread.wait(QDeadlineTimer(rilltest::DefaultTimeout)),
        "the thread did not finish");
    QVERIFY2(fillWrite.isFinished() && isKind(fillWrite.result(), Error::Kind::Aborted),
        "the waiting write did not finish Aborted as the thread finished");
    const QString wrong = pending.checkAborted();
    QVERIFY2(wrong.isEmpty(), qPrintable(wrong));
    if (deleteLaterOnFinished) {
        QVERIFY2(!alive, "deleteLater() on QThread::finished did not delete the flow");
    } else {
        QVERIFY(alive);
        QCOMPARE(flow->state(), Flow::State::Closed);
        QCOMPARE(flow->error().kind(), Error::Kind::Aborted);
        // Calls made now could never reach the flow's thread: they finish at once.
        Pending late;
        late.issue(flow, 93);
        QVERIFY2(late.allFinished(), "calls made after the thread finished did not finish at once");
        const QString lateWrong = late.checkAborted(true);
        QVERIFY2(lateWrong.isEmpty(), qPrintable(QStringLiteral("after the thread: ") + lateWrong));
        delete flow; // its thread has finished: nothing else touches it
        QVERIFY(!alive);
    }

    checkPeerAfterAbort(transport, link, fill, handedOver);
}

void tst_Faults::abortDuringClose_data()
{
    QTest::addColumn<Transport>("transport");
    QTest::addColumn<bool>("flushing");
    QTest::newRow("tcp, while close() flushes the queue") << Transport::Tcp << true;
    QTest::newRow("tcp, after the FIN, waiting for the peer's") << Transport::Tcp << false;
    QTest::newRow("unix, while close() flushes the queue") << Transport::Local << true;
    QTest::newRow("unix, after the FIN, waiting for the peer's") << Transport::Local << false;
}

// abort() while close() is pending: close() finishes at once, reads and waiting writes get
// Aborted. Flushing, the peer gets a prefix of the queue; after the FIN, it got everything.
void tst_Faults::abortDuringClose()
{
    QFETCH(Transport, transport);
    QFETCH(bool, flushing);
    Link link;
    QString why;
    if (flushing) {
        QVERIFY2(openLink(transport, {QStringLiteral("sink"), QStringLiteral("--hold")}, &link,
                     &why),
            qPrintable(why));
        Flow *flow = link.flow.get();
        Transfer fill(flow);
        QVERIFY2(fillUntilBlocked(&fill, 101, &why), link.why(why));
        QFuture<ReadResult> read = flow->read();
        auto closed = flow->close();
        QCOMPARE(flow->state(), Flow::State::Closing);
        QCOMPARE(flow->writeState(), Flow::WriteState::ShuttingDown);
        QFuture<WriteResult> late = flow->write("after close()");
        QVERIFY2(late.isFinished() && late.result().isEof(),
            "a write after close() must be refused with Eof at once");
        QVERIFY(!closed.isFinished() && !read.isFinished());
        const QFuture<WriteResult> fillWrite = fill.pendingWrite();
        QVERIFY(!fillWrite.isFinished());
        const qint64 handedOver = flow->stats().bytesWritten;

        flow->abort();
        QVERIFY2(closed.isFinished(), "close() did not finish at abort()");
        QVERIFY2(read.isFinished() && isKind(read.result(), Error::Kind::Aborted),
            qPrintable(describe(read.result())));
        QVERIFY2(fillWrite.isFinished() && isKind(fillWrite.result(), Error::Kind::Aborted),
            qPrintable(describe(fillWrite.result())));
        QCOMPARE(flow->state(), Flow::State::Closed);
        QCOMPARE(flow->bytesQueued(), 0);
        QCOMPARE(descriptorOf(flow), qintptr(-1));
        auto again = flow->close();
        QVERIFY2(again.isFinished(), "close() after abort() must finish at once");
        checkPeerAfterAbort(transport, link, fill, handedOver);
        return;
    }

    QVERIFY2(openLink(transport,
                 {QStringLiteral("read-then-reply"), QStringLiteral("--hold"),
                     QStringLiteral("--text"), QStringLiteral("a reply nobody reads")},
                 &link, &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    Transfer transfer(flow);
    transfer.send(2 * MiB, 102);
    QVERIFY2(transfer.run(), link.why(transfer.describe()));
    QVERIFY(transfer.allAccepted());
    QFuture<ReadResult> read = flow->read();
    auto closed = flow->close();
    const auto eof = link.peer->waitForEvent(QStringLiteral("eof"));
    QVERIFY2(eof, link.why(QStringLiteral("the peer never saw our end of stream")));
    QVERIFY2(eof->value(QLatin1String("received")).toInteger() == 2 * MiB
            && eof->value(QLatin1String("received_sha256")).toString() == transfer.sentHash(),
        link.why(QStringLiteral("close() did not deliver every accepted byte before the FIN")));
    QVERIFY(runUntil([&] { return flow->writeState() == Flow::WriteState::Closed; }));
    QVERIFY2(!closed.isFinished() && !read.isFinished(),
        link.why(QStringLiteral("close() finished before the peer ended its side")));
    QCOMPARE(flow->state(), Flow::State::Closing);

    flow->abort();
    QVERIFY2(closed.isFinished(), "close() did not finish at abort()");
    QVERIFY2(read.isFinished() && isKind(read.result(), Error::Kind::Aborted),
        qPrintable(describe(read.result())));
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(descriptorOf(flow), qintptr(-1));
    // The connection is gone: the peer's reply fails (TCP: our reset; Unix: nobody there).
    link.peer->command("go");
    const auto error = link.peer->waitForEvent(QStringLiteral("error"));
    QVERIFY2(error, link.why(QStringLiteral("the peer could still send")));
    const int errnoValue = error->value(QLatin1String("errno")).toInt();
    QVERIFY2(errnoValue == EPIPE || errnoValue == ECONNRESET, link.why(QStringLiteral("errno %1").arg(errnoValue)));
}

// The peer resets while close() flushes a full queue: close() finishes, the pending read and
// the waiting write fail (Reset; the write may see Eof over a Unix socket, as above).
void tst_Faults::peerResetsDuringClose()
{
    QFETCH(Transport, transport);
    Link link;
    QString why;
    QVERIFY2(openLink(transport, {QStringLiteral("stall")}, &link, &why), qPrintable(why));
    Flow *flow = link.flow.get();
    Transfer fill(flow);
    QVERIFY2(fillUntilBlocked(&fill, 103, &why), link.why(why));
    QFuture<ReadResult> read = flow->read();
    auto closed = flow->close();
    const QFuture<WriteResult> waiting = fill.pendingWrite();
    QCOMPARE(flow->state(), Flow::State::Closing);
    link.peer->command("reset");
    QVERIFY2(link.peer->waitForEvent(QStringLiteral("reset")),
        link.why(QStringLiteral("the peer did not reset")));
    QVERIFY2(runUntil([&] { return closed.isFinished() && read.isFinished() && waiting.isFinished(); }),
        link.why(QStringLiteral("close(), the read or the waiting write never finished")));
    QVERIFY2(isKind(read.result(), Error::Kind::Reset),
        link.why(QStringLiteral("the read gave ") + describe(read.result())));
    const WriteResult writeResult = waiting.result();
    QVERIFY2(isKind(writeResult, Error::Kind::Reset)
            || (transport == Transport::Local && writeResult.isEof()),
        link.why(QStringLiteral("the waiting write gave ") + describe(writeResult)));
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(flow->bytesQueued(), 0);
    QCOMPARE(descriptorOf(flow), qintptr(-1));
}

// close() while a writev() waits above the high-water mark: the writev is still accepted
// (close() flushes what waits too), its buffers arrive whole, contiguous and before the FIN;
// writes issued after close() are refused with Eof and never arrive; close() resolves once the
// peer ended its side.
void tst_Faults::closeWhileWritevWaits()
{
    QFETCH(Transport, transport);
    const QByteArray reply = "the peer's last words";
    Link link;
    QString why;
    QVERIFY2(openLink(transport,
                 {QStringLiteral("sink"), QStringLiteral("--hold"), QStringLiteral("--text"),
                     QString::fromLatin1(reply)},
                 &link, &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    Transfer fill(flow);
    QVERIFY2(fillUntilBlocked(&fill, 111, &why), link.why(why));
    const QList<QByteArray> buffers {rilltest::pattern(100 * KiB, 112), QByteArray(),
        rilltest::pattern(1, 113), rilltest::pattern(300 * KiB, 114)};
    QFuture<WriteResult> writev = flow->writev(buffers);
    QVERIFY2(!writev.isFinished() && flow->writesWaiting() == 2,
        link.why(QStringLiteral("the writev should wait behind the fill's write")));
    auto closed = flow->close();
    QCOMPARE(flow->state(), Flow::State::Closing);
    QFuture<WriteResult> late = flow->write("after close()");
    QFuture<WriteResult> lateVector = flow->writev({QByteArray("after"), QByteArray("close()")});
    QVERIFY2(late.isFinished() && lateVector.isFinished(), "writes after close() must finish at once");
    QCOMPARE(late.result(), WriteResult::eof());
    QCOMPARE(lateVector.result(), WriteResult::eof());
    QVERIFY(!writev.isFinished() && !closed.isFinished());

    link.peer->command("go");
    QVERIFY2(runUntil([&] {
        fill.step(); // harvests the fill's write; its next one is refused (Eof)
        return closed.isFinished();
    }),
        link.why(QStringLiteral("close() never finished: ") + fill.describe()));
    WriteResult writevResult;
    RILL_RESULT(writev, writevResult);
    QCOMPARE(writevResult, WriteResult::ok());
    QVERIFY2(fill.writeFailure() && fill.writeFailure()->isEof(), qPrintable(fill.describe()));

    const auto ended = link.peer->waitForEvent(QStringLiteral("ended"));
    QVERIFY2(ended, link.why(QStringLiteral("the peer did not finish reading")));
    QCOMPARE(ended->value(QLatin1String("how")).toString(), QStringLiteral("eof"));
    QCryptographicHash expected(QCryptographicHash::Sha256);
    addPrefix(&expected, fill, fill.accepted(), 64 * KiB);
    qint64 expectedSize = fill.accepted();
    for (const QByteArray &buffer : buffers) {
        expected.addData(buffer);
        expectedSize += buffer.size();
    }
    QVERIFY2(ended->value(QLatin1String("received")).toInteger() == expectedSize
            && ended->value(QLatin1String("received_sha256")).toString()
                == QString::fromLatin1(expected.result().toHex()),
        link.why(QStringLiteral("the peer did not get exactly the accepted writes and then the "
                                "writev (expected %1 bytes)")
                     .arg(expectedSize)));
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(descriptorOf(flow), qintptr(-1));
    // What the peer sent before its end of stream is still read.
    const rilltest::Drained drained = rilltest::readToEnd(flow);
    RILL_CHECK_DRAINED(drained, reply, ReadResult::eof());
}

// shutdown(Read) while the peer sends: flow.h says "reads give Eof from now on and what arrives
// is discarded; resolves at once". So a pending read gives Eof at once, the bytes already read
// are a prefix of the peer's, nothing more is delivered, the write side goes on, and the peer
// sees no error: the flow keeps draining (no SHUT_RD), the peer's whole send completes.
void tst_Faults::shutdownReadWithDataInFlight()
{
    QFETCH(Transport, transport);
    const QByteArray data = rilltest::pattern(16 * MiB, 121);
    const QString file = dataFile(data);
    QVERIFY(!file.isEmpty());
    Link link;
    QString why;
    QVERIFY2(openLink(transport, {QStringLiteral("bulk"), QStringLiteral("--file"), file}, &link,
                 &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    Transfer transfer(flow);
    transfer.send(8 * MiB, 122);
    transfer.setReading(true, true); // close() only after shutdown(Read), below
    QVERIFY2(runUntil([&] {
        transfer.step();
        return transfer.received() >= 1 * MiB || transfer.readDone();
    }),
        link.why(transfer.describe()));
    QVERIFY2(!transfer.readDone() && transfer.received() < data.size(),
        link.why(QStringLiteral("the peer's data ended before the shutdown: ")
            + transfer.describe()));

    QFuture<ReadResult> pending = flow->read(); // waits behind the transfer's read
    auto shut = flow->shutdown(Flow::Direction::Read);
    QVERIFY2(shut.isFinished(), "shutdown(Read) must resolve at once");
    ReadResult pendingResult;
    RILL_RESULT(pending, pendingResult);
    QCOMPARE(pendingResult, ReadResult::eof());
    transfer.step();
    QVERIFY(transfer.readDone());
    QCOMPARE(transfer.readEnd(), ReadResult::eof());
    QCOMPARE(flow->readState(), Flow::ReadState::Eof);
    QCOMPARE(flow->writeState(), Flow::WriteState::Open);
    const qint64 bytesRead = flow->stats().bytesRead;
    QCOMPARE(bytesRead, transfer.received());
    transfer.setEnd(Transfer::End::Close);

    QVERIFY2(transfer.run(BulkTimeout),
        link.why(QStringLiteral("writing and closing after shutdown(Read) never finished: ")
            + transfer.describe()));
    QVERIFY2(!transfer.writeFailure(), link.why(transfer.describe()));
    QFuture<ReadResult> later = flow->read();
    QVERIFY(later.isFinished());
    QCOMPARE(later.result(), ReadResult::eof());
    QCOMPARE(flow->stats().bytesRead, bytesRead);
    QCOMPARE(flow->state(), Flow::State::Closed);

    const auto done = link.peer->waitForEvent(QStringLiteral("done"));
    QVERIFY2(done, link.why(QStringLiteral("the peer saw an error or did not finish")));
    QCOMPARE(done->value(QLatin1String("sent")).toInteger(), qint64(data.size()));
    QVERIFY2(done->value(QLatin1String("received")).toInteger() == 8 * MiB
            && done->value(QLatin1String("received_sha256")).toString() == transfer.sentHash(),
        link.why(QStringLiteral("the write side lost or changed bytes after shutdown(Read)")));
    QVERIFY2(link.peer->waitForExit() && link.peer->exitCode() == 0, link.why(QStringLiteral("the peer failed")));
    const QByteArray received = transfer.receivedData();
    QVERIFY2(data.startsWith(received),
        (QByteArray("what the flow read is not a prefix of what the peer sent: ")
            + rilltest::describeMismatch(received, data.left(received.size())))
            .constData());
}

// A peer that never reads while we offer 64 MiB: the kernel's buffers and the flow's queue
// fill, then writes wait and memory stays near the high-water mark; abort() ends it all.
void tst_Faults::neverReadingPeer()
{
    QFETCH(Transport, transport);
    constexpr qint64 offer = 64 * MiB;
    constexpr qint64 chunk = 64 * KiB;
    Link link;
    QString why;
    QVERIFY2(openLink(transport, {QStringLiteral("sink"), QStringLiteral("--hold")}, &link, &why),
        qPrintable(why));
    Flow *flow = link.flow.get();
    const qint64 highWaterMark = flow->highWaterMark();
    // What the process may grow by: the queue (high-water mark + one write of 64 KiB), plus a
    // few MiB for the allocator's slack and the event loop. The kernel's buffers are not ours.
    const qint64 limit = highWaterMark + 8 * MiB;
    ::malloc_trim(0);
    const qint64 residentBefore = residentBytes();
    QVERIFY(residentBefore > 0);

    Transfer transfer(flow);
    transfer.send(offer, 131, chunk);
    QFuture<ReadResult> read = flow->read();
    QVERIFY2(transfer.runUntilBlocked(),
        link.why(QStringLiteral("the writer was never held back: ") + transfer.describe()));
    // Still held back after a round trip to the peer, the writer trying all along.
    link.peer->command("ping");
    QVERIFY2(runUntil([&] {
        transfer.step();
        return link.peer->takeEvent(QStringLiteral("pong")).has_value();
    }),
        link.why(QStringLiteral("the peer did not answer")));
    transfer.step();
    const qint64 growth = residentBytes() - residentBefore;
    const qint64 inKernel = flow->stats().bytesWritten;
    qInfo("offered %lld KiB, accepted %lld KiB, queued %lld KiB, in the kernel %lld KiB, "
          "writes waiting %d, RSS growth %lld KiB (limit %lld KiB%s)",
        transfer.offered() / KiB, transfer.accepted() / KiB, flow->bytesQueued() / KiB,
        inKernel / KiB, flow->writesWaiting(), growth / KiB, limit / KiB,
        rilltest::Sanitized ? ", not checked under AddressSanitizer" : "");
    QVERIFY2(transfer.writePending() && flow->writesWaiting() == 1 && transfer.offered() < offer,
        link.why(QStringLiteral("the writer got past the peer that reads nothing: ")
            + transfer.describe()));
    QVERIFY2(flow->bytesQueued() >= highWaterMark && flow->bytesQueued() < highWaterMark + chunk,
        link.why(QStringLiteral("the queue is not at the high-water mark")));
    QCOMPARE(transfer.accepted(), transfer.offered() - chunk);
    QCOMPARE(transfer.accepted(), inKernel + flow->bytesQueued());
    QVERIFY2(!read.isFinished(), "a read finished although the peer sends nothing");
    if (!rilltest::Sanitized)
        QVERIFY2(growth < limit,
            qPrintable(QStringLiteral("memory grew by %1 KiB, more than %2 KiB")
                           .arg(growth / KiB)
                           .arg(limit / KiB)));

    auto shutdown = flow->shutdown(Flow::Direction::Write);
    auto closed = flow->close();
    const QFuture<WriteResult> waiting = transfer.pendingWrite();
    QVERIFY(!shutdown.isFinished() && !closed.isFinished());
    flow->abort();
    QVERIFY2(waiting.isFinished() && isKind(waiting.result(), Error::Kind::Aborted),
        qPrintable(describe(waiting.result())));
    QVERIFY2(read.isFinished() && isKind(read.result(), Error::Kind::Aborted),
        qPrintable(describe(read.result())));
    QVERIFY2(shutdown.isFinished() && closed.isFinished(),
        "shutdown() and close() must finish at abort()");
    QCOMPARE(flow->state(), Flow::State::Closed);
    QCOMPARE(flow->bytesQueued(), 0);
    QCOMPARE(descriptorOf(flow), qintptr(-1));
    checkPeerAfterAbort(transport, link, transfer, inKernel);
}

QTEST_GUILESS_MAIN(tst_Faults)
#include "tst_faults.moc"
