// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// TcpFlow over real loopback connections to peers that are not Qt (peer.py, socat).
// The behaviours every socket flow shows (half-close both ways, nothing lost, backpressure,
// faults, the descriptor) are SocketFlowSuite's slots (../shared/sockettest.h), run here over
// TCP. This file adds what only TCP has:
//   6. addresses and ports, LowDelayOption (on by default, settable) and other options, a
//      TcpFlow over a QTcpSocket from QTcpServer or still connecting, whose own signals stay
//      silent once the flow took the connection over; IPv6 loopback.
//   7. a reset that only a write-through saw (the kernel reports it once) still ends the reads.
//   8. data a reader holds from bulk reads stays intact (a guard for reusing read buffers).
#include "../shared/sockettest.h"

#include <QtCore/QPointer>
#include <QtNetwork/QTcpServer>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

#include <netinet/tcp.h>

using namespace sockettest;
using rill::TcpFlow;

namespace {

// The port in "tcp:HOST:PORT".
quint16 portOf(const QString &endpoint)
{
    return rill::Endpoint::parse(endpoint).port();
}

quint16 boundPort(qintptr fd, bool peer)
{
    sockaddr_storage address {};
    socklen_t length = sizeof address;
    auto *raw = reinterpret_cast<sockaddr *>(&address);
    if ((peer ? ::getpeername(int(fd), raw, &length) : ::getsockname(int(fd), raw, &length)) != 0)
        return 0;
    if (address.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6 *>(&address)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in *>(&address)->sin_port);
}

} // namespace

class tst_TcpFlow : public SocketFlowSuite {
    Q_OBJECT
public:
    tst_TcpFlow() : SocketFlowSuite(Transport::Tcp) { }

private Q_SLOTS:
    void addressesAreTheConnections_data() { addRoleRows(); }
    void addressesAreTheConnections();
    void lowDelayIsOnAndSettable_data() { addRoleRows(); }
    void lowDelayIsOnAndSettable();
    void optionsSetWhileConnectingApply();
    void wrapsAcceptedQTcpSocket_data();
    void wrapsAcceptedQTcpSocket();
    void wrapsConnectingQTcpSocket();
    void ipv6Loopback();
    void resetTakenByWriteThrough();
    void bulkReadsKeepTheirData();
};

void tst_TcpFlow::addressesAreTheConnections()
{
    QFETCH(Role, role);
    Link link;
    QString why;
    QVERIFY2(openLink(role, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
    auto *tcp = qobject_cast<TcpFlow *>(link.flow.get());
    QVERIFY2(tcp, "a TCP connection must give a TcpFlow");

    // The peer's own view: its local endpoint is our peer, its peer is us.
    const QString peersLocal = link.connected.value(QLatin1String("local")).toString();
    const QString peersPeer = link.connected.value(QLatin1String("peer")).toString();
    QCOMPARE(tcp->localEndpoint().toString(), peersPeer);
    QCOMPARE(tcp->peerEndpoint().toString(), peersLocal);
    QCOMPARE(tcp->localAddress().toString(), QStringLiteral("127.0.0.1"));
    QCOMPARE(tcp->peerAddress().toString(), QStringLiteral("127.0.0.1"));
    QCOMPARE(tcp->localPort(), portOf(peersPeer));
    QCOMPARE(tcp->peerPort(), portOf(peersLocal));
    if (role == Role::Client)
        QCOMPARE(tcp->peerName(), QStringLiteral("127.0.0.1"));

    // And the descriptor is that very connection.
    const qintptr fd = tcp->socketDescriptor();
    QVERIFY(fd >= 0);
    QCOMPARE(boundPort(fd, false), tcp->localPort());
    QCOMPARE(boundPort(fd, true), tcp->peerPort());
}

void tst_TcpFlow::lowDelayIsOnAndSettable()
{
    QFETCH(Role, role);
    Link link;
    QString why;
    QVERIFY2(openLink(role, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
    auto *tcp = qobject_cast<TcpFlow *>(link.flow.get());
    QVERIFY(tcp);
    const qintptr fd = tcp->socketDescriptor();
    QVERIFY(fd >= 0);

    QCOMPARE(tcp->socketOption(QAbstractSocket::LowDelayOption).toInt(), 1);
    QVERIFY2(intOption(fd, IPPROTO_TCP, TCP_NODELAY) > 0, "TCP_NODELAY is not set on the socket");

    tcp->setSocketOption(QAbstractSocket::LowDelayOption, 0);
    QCOMPARE(tcp->socketOption(QAbstractSocket::LowDelayOption).toInt(), 0);
    QCOMPARE(intOption(fd, IPPROTO_TCP, TCP_NODELAY), 0);
    tcp->setSocketOption(QAbstractSocket::LowDelayOption, 1);
    QCOMPARE(tcp->socketOption(QAbstractSocket::LowDelayOption).toInt(), 1);
    QVERIFY(intOption(fd, IPPROTO_TCP, TCP_NODELAY) > 0);

    QCOMPARE(intOption(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    tcp->setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    QCOMPARE(tcp->socketOption(QAbstractSocket::KeepAliveOption).toInt(), 1);
    QVERIFY(intOption(fd, SOL_SOCKET, SO_KEEPALIVE) > 0);

    tcp->setSocketOption(QAbstractSocket::SendBufferSizeSocketOption, 64 * 1024);
    QVERIFY2(tcp->socketOption(QAbstractSocket::SendBufferSizeSocketOption).toInt() >= 64 * 1024,
        "the kernel's send buffer size is reported");
    QCOMPARE(tcp->socketOption(QAbstractSocket::SendBufferSizeSocketOption).toInt(),
        intOption(fd, SOL_SOCKET, SO_SNDBUF));

    // The connection still works with its options changed.
    QFuture<rill::WriteResult> write = tcp->write("ping");
    auto shutdown = tcp->shutdown(rill::Flow::Direction::Write);
    const rilltest::Drained drained = rilltest::readToEnd(tcp);
    RILL_CHECK_DRAINED(drained, QByteArray("ping"), rill::ReadResult::eof());
    RILL_AWAIT_VOID(shutdown);
}

void tst_TcpFlow::optionsSetWhileConnectingApply()
{
    Peer peer;
    QVERIFY(peer.startPython(
        {QStringLiteral("echo"), QStringLiteral("tcp:127.0.0.1:0"), QStringLiteral("--listen")}));
    const auto listening = peer.waitForEvent(QStringLiteral("listening"));
    QVERIFY2(listening, qPrintable(peer.describe()));
    const quint16 port = portOf(listening->value(QLatin1String("endpoint")).toString());

    auto *socket = new QTcpSocket;
    socket->connectToHost(QHostAddress::LocalHost, port);
    TcpFlow flow(socket);
    QCOMPARE(flow.state(), rill::Flow::State::Connecting);
    QCOMPARE(flow.socketDescriptor(), qintptr(-1));
    flow.setSocketOption(QAbstractSocket::KeepAliveOption, 1);
    flow.setSocketOption(QAbstractSocket::LowDelayOption, 0);
    QCOMPARE(flow.socketOption(QAbstractSocket::LowDelayOption).toInt(), 0);

    QVERIFY2(runUntil([&] { return flow.state() != rill::Flow::State::Connecting; }),
        "the flow never connected");
    QCOMPARE(flow.state(), rill::Flow::State::Open);
    const qintptr fd = flow.socketDescriptor();
    QVERIFY(fd >= 0);
    QVERIFY2(
        intOption(fd, SOL_SOCKET, SO_KEEPALIVE) > 0, "KeepAlive set while connecting was lost");
    QVERIFY2(intOption(fd, IPPROTO_TCP, TCP_NODELAY) == 0,
        "LowDelay switched off while connecting is on after connecting");
    QCOMPARE(flow.socketOption(QAbstractSocket::KeepAliveOption).toInt(), 1);
    QCOMPARE(flow.socketOption(QAbstractSocket::LowDelayOption).toInt(), 0);
}

// A QTcpSocket from QTcpServer with bytes already in its buffer: the flow delivers them first,
// serves a peer that half-closes, and the socket never claims it was disconnected. With
// unsentFirst, bytes written through the socket before the takeover must go out first.
void tst_TcpFlow::wrapsAcceptedQTcpSocket_data()
{
    QTest::addColumn<QByteArray>("unsentFirst");
    QTest::newRow("nothing written through the socket") << QByteArray();
    QTest::newRow("bytes written through the socket, not sent yet") << QByteArray("pre:");
}

void tst_TcpFlow::wrapsAcceptedQTcpSocket()
{
    QFETCH(QByteArray, unsentFirst);
    QTcpServer server;
    QVERIFY(server.listen(QHostAddress::LocalHost, 0));
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"),
        QStringLiteral("tcp:127.0.0.1:%1").arg(server.serverPort()), QStringLiteral("--text"),
        QStringLiteral("hello"), QStringLiteral("--hold")}));
    QVERIFY2(runUntil([&] { return server.hasPendingConnections(); }), qPrintable(peer.describe()));
    QTcpSocket *socket = server.nextPendingConnection();
    QVERIFY(socket);
    QVERIFY2(runUntil([&] { return socket->bytesAvailable() >= 5; }),
        "the QTcpSocket never read the peer's first bytes");
    if (!unsentFirst.isEmpty()) {
        socket->write(unsentFirst); // stays in Qt's buffer until the event loop runs
        QCOMPARE(socket->bytesToWrite(), unsentFirst.size());
    }

    QPointer<QTcpSocket> guard(socket);
    QSignalSpy disconnected(socket, &QAbstractSocket::disconnected);
    QSignalSpy errors(socket, &QAbstractSocket::errorOccurred);
    TcpFlow flow(socket);
    QVERIFY2(runUntil([&] { return flow.state() != rill::Flow::State::Connecting; }, 10s),
        "the flow never took the connection over");
    QCOMPARE(flow.state(), rill::Flow::State::Open);
    QVERIFY2(runUntil([&] { return guard.isNull(); }),
        "the QTcpSocket is not deleted after the takeover");

    peer.command("go"); // now the peer half-closes
    const rilltest::Drained drained = rilltest::readToEnd(&flow);
    RILL_CHECK_DRAINED(drained, QByteArray("hello"), rill::ReadResult::eof());
    QFuture<rill::WriteResult> reply = flow.write("reply");
    auto closed = flow.close();
    RILL_AWAIT_VOID(closed);
    QVERIFY(reply.isFinished() && reply.result().isOk());

    const auto done = peer.waitForEvent(QStringLiteral("done"));
    QVERIFY2(done, qPrintable(peer.describe()));
    QCOMPARE(
        done->value(QLatin1String("received_sha256")).toString(), sha256Hex(unsentFirst + "reply"));
    QCOMPARE(disconnected.count(), 0);
    QCOMPARE(errors.count(), 0);
    const auto connected = peer.waitForEvent(QStringLiteral("connected"));
    QVERIFY2(connected, qPrintable(peer.describe()));
    QCOMPARE(flow.peerPort(), portOf(connected->value(QLatin1String("local")).toString()));
    QCOMPARE(flow.localPort(), server.serverPort());
}

// A QTcpSocket still connecting: what is written and shut down before the connection exists
// goes out once it does.
void tst_TcpFlow::wrapsConnectingQTcpSocket()
{
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("read-then-reply"), QStringLiteral("tcp:127.0.0.1:0"),
        QStringLiteral("--listen"), QStringLiteral("--text"), QStringLiteral("pong")}));
    const auto listening = peer.waitForEvent(QStringLiteral("listening"));
    QVERIFY2(listening, qPrintable(peer.describe()));
    const quint16 port = portOf(listening->value(QLatin1String("endpoint")).toString());

    auto *socket = new QTcpSocket;
    socket->connectToHost(QHostAddress::LocalHost, port);
    QVERIFY(socket->state() != QAbstractSocket::ConnectedState);
    QPointer<QTcpSocket> guard(socket);
    QSignalSpy disconnected(socket, &QAbstractSocket::disconnected);
    QSignalSpy errors(socket, &QAbstractSocket::errorOccurred);
    TcpFlow flow(socket);
    QCOMPARE(flow.state(), rill::Flow::State::Connecting);
    QFuture<rill::WriteResult> write = flow.write("ping");
    auto shutdown = flow.shutdown(rill::Flow::Direction::Write);

    const rilltest::Drained drained = rilltest::readToEnd(&flow);
    RILL_CHECK_DRAINED(drained, QByteArray("pong"), rill::ReadResult::eof());
    QVERIFY(write.isFinished() && write.result().isOk());
    RILL_AWAIT_VOID(shutdown);
    const auto eof = peer.waitForEvent(QStringLiteral("eof"));
    QVERIFY2(eof, qPrintable(peer.describe()));
    QCOMPARE(eof->value(QLatin1String("received_sha256")).toString(), sha256Hex("ping"));

    QVERIFY2(runUntil([&] { return guard.isNull(); }),
        "the QTcpSocket is not deleted after the takeover");
    QCOMPARE(disconnected.count(), 0);
    QCOMPARE(errors.count(), 0);
    QCOMPARE(flow.peerPort(), port);
    QCOMPARE(flow.peerAddress().toString(), QStringLiteral("127.0.0.1"));
    QVERIFY2(runUntil([&] { return flow.state() == rill::Flow::State::Closed; }),
        "both directions ended but the flow is not closed");
}

void tst_TcpFlow::ipv6Loopback()
{
    Peer peer;
    QVERIFY(peer.startPython(
        {QStringLiteral("echo"), QStringLiteral("tcp:[::1]:0"), QStringLiteral("--listen")}));
    const auto listening = peer.waitForEvent(QStringLiteral("listening"));
    if (!listening)
        QSKIP(qPrintable(QStringLiteral("no IPv6 loopback here") + peer.describe()));
    const QString endpoint = listening->value(QLatin1String("endpoint")).toString();
    rill::Error error;
    std::unique_ptr<rill::Flow> flow = connectFlow(endpoint, &error);
    QVERIFY2(flow, qPrintable(rill::errorMessage(error)));
    auto *tcp = qobject_cast<TcpFlow *>(flow.get());
    QVERIFY(tcp);
    QCOMPARE(tcp->peerAddress(), QHostAddress(QHostAddress::LocalHostIPv6));
    QCOMPARE(tcp->peerEndpoint().toString(), endpoint);
    QVERIFY2(tcp->localEndpoint().toString().startsWith(QLatin1String("tcp:[::1]:")),
        qPrintable(tcp->localEndpoint().toString()));
    QCOMPARE(intOption(tcp->socketDescriptor(), SOL_SOCKET, SO_DOMAIN), int(AF_INET6));

    QFuture<rill::WriteResult> write = tcp->write("over IPv6");
    auto closed = tcp->close();
    const rilltest::Drained drained = rilltest::readToEnd(tcp);
    RILL_CHECK_DRAINED(drained, QByteArray("over IPv6"), rill::ReadResult::eof());
    RILL_AWAIT_VOID(closed);
}

// The kernel reports a TCP reset once (sock_error() clears it). If the first system call to
// meet it is a write-through inside write(), the reads must still end with the reset: a recv()
// after it gives 0, and the flow would take the cut stream for a complete one.
void tst_TcpFlow::resetTakenByWriteThrough()
{
    constexpr qint64 peerBytes = 100000; // more than a flow reads ahead (64 KiB)
    Link link;
    QString why;
    // The peer sends once told to, waits until our first bytes arrive, then resets.
    QVERIFY2(openLink(Role::Client,
                      {QStringLiteral("reset"), QStringLiteral("--hold"), QStringLiteral("--peek"),
                       QStringLiteral("--bytes"), QString::number(peerBytes)},
                      &link, &why),
             qPrintable(why));
    rill::Flow *flow = link.flow.get();
    // Once a flow holds 64 KiB nobody read, it stops reading: nothing but a write can then
    // meet the reset.
    qint64 arrived = 0;
    connect(flow, &rill::Flow::dataArrived, this,
            [&arrived](const QByteArray &data) { arrived += data.size(); });
    link.peer->command("go");
    QTRY_VERIFY2(arrived >= 64 * 1024, link.why(QStringLiteral("the flow did not read ahead")));
    QVERIFY2(arrived < peerBytes, "the flow read more than its read-ahead");
    QFuture<rill::WriteResult> first = flow->write("x");
    QVERIFY2(link.peer->waitForEvent(QStringLiteral("reset")),
             link.why(QStringLiteral("the peer did not reset")));
    QCOMPARE(flow->state(), rill::Flow::State::Open); // nobody has seen the reset yet

    QFuture<rill::WriteResult> second = flow->write("meets the reset");
    QVERIFY(second.isFinished() && second.result().isOk()); // accepted; the error comes later
    const rilltest::Drained drained = rilltest::readToEnd(flow);
    QVERIFY2(drained.finished, "a read never finished");
    QVERIFY2(drained.data.size() >= 64 * 1024 && drained.data.size() <= peerBytes,
             qPrintable(QStringLiteral("read %1 bytes").arg(drained.data.size())));
    QVERIFY2(isReset(drained.end),
             link.why(QStringLiteral("after %1 bytes the reads ended with %2, not the reset")
                              .arg(drained.data.size())
                              .arg(rilltest::debugString(drained.end))));
    QCOMPARE(flow->state(), rill::Flow::State::Closed);
    QVERIFY(first.isFinished() && first.result().isOk());
}

// A flow that reuses its read buffers once readers let go of them must never write over data
// a reader still holds. Every other read's data is kept (the rest are dropped, so buffers could
// come back) and checked at the end.
void tst_TcpFlow::bulkReadsKeepTheirData()
{
    QString why;
    const QString endpoint = startListener(&why);
    QVERIFY2(!endpoint.isEmpty(), qPrintable(why));
    rill::Error error;
    std::unique_ptr<rill::Flow> writer = connectFlow(endpoint, &error);
    QVERIFY2(writer, qPrintable(rill::errorMessage(error)));
    std::unique_ptr<rill::Flow> reader = acceptFlow(&why);
    QVERIFY2(reader, qPrintable(why));

    const QByteArray content = rilltest::pattern(32 * MiB + 777, 11);
    for (qsizetype at = 0; at < content.size(); at += MiB)
        writer->write(content.mid(at, MiB));
    auto shut = writer->shutdown(rill::Flow::Direction::Write);
    const rilltest::Drained in = rilltest::readToEnd(reader.get(), -1, rilltest::DefaultTimeout, 2);
    RILL_CHECK_DRAINED(in, content, rill::ReadResult::eof());
    QVERIFY(in.kept.size() > 8);
    const qsizetype changed = rilltest::firstChangedKept(in, content);
    QVERIFY2(changed < 0, qPrintable(QString::number(changed)));
    rill::WriteResult w;
    RILL_AWAIT(shut, w);
    QCOMPARE(w, rill::WriteResult::ok());
}

QTEST_GUILESS_MAIN(tst_TcpFlow)
#include "tst_tcpflow.moc"
