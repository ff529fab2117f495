// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// LocalFlow over real Unix domain sockets to peers that are not Qt (peer.py, socat).
// The behaviours every socket flow shows (half-close both ways, nothing lost, backpressure,
// faults, the descriptor) are SocketFlowSuite's slots (../shared/sockettest.h), run here over
// Unix sockets. This file adds what only local sockets have:
//   6. endpoints and names are the socket path; a missing path is "not found"; a LocalFlow
//      over a QLocalSocket from QLocalServer or still connecting, whose own signals stay
//      silent once the flow took the connection over.
#include "../shared/sockettest.h"

#include <QtCore/QPointer>
#include <QtNetwork/QLocalServer>
#include <QtNetwork/QLocalSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

using namespace sockettest;
using rill::LocalFlow;

namespace {

// The path the other end of a Unix socket descriptor is bound to.
QString peerPath(qintptr fd)
{
    sockaddr_un address {};
    socklen_t length = sizeof address;
    if (::getpeername(int(fd), reinterpret_cast<sockaddr *>(&address), &length) != 0
        || length <= offsetof(sockaddr_un, sun_path))
        return {};
    return QFile::decodeName(QByteArray(address.sun_path));
}

} // namespace

class tst_LocalFlow : public SocketFlowSuite {
    Q_OBJECT
public:
    tst_LocalFlow() : SocketFlowSuite(Transport::Local) { }

private Q_SLOTS:
    void endpointsNameThePath_data() { addRoleRows(); }
    void endpointsNameThePath();
    void missingPathIsNotFound();
    void wrapsAcceptedQLocalSocket_data();
    void wrapsAcceptedQLocalSocket();
    void wrapsConnectingQLocalSocket();
};

void tst_LocalFlow::endpointsNameThePath()
{
    QFETCH(Role, role);
    Link link;
    QString why;
    QVERIFY2(openLink(role, {QStringLiteral("echo")}, &link, &why), qPrintable(why));
    auto *local = qobject_cast<LocalFlow *>(link.flow.get());
    QVERIFY2(local, "a Unix socket connection must give a LocalFlow");
    const QString path = rill::Endpoint::parse(link.endpoint).path();
    QVERIFY(!path.isEmpty());
    QCOMPARE(local->fullServerName(), path);
    const qintptr fd = local->socketDescriptor();
    QVERIFY(fd >= 0);
    if (role == Role::Client) {
        QCOMPARE(local->peerEndpoint().toString(), link.endpoint);
        QCOMPARE(local->serverName(), path);
        QCOMPARE(peerPath(fd), path);
    } else {
        QCOMPARE(local->localEndpoint().toString(), link.endpoint);
    }
}

void tst_LocalFlow::missingPathIsNotFound()
{
    const QString endpoint
        = QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("nobody-here.sock"));
    rill::Error error;
    std::unique_ptr<rill::Flow> flow = connectFlow(endpoint, &error);
    QVERIFY2(!flow, "connecting to a path that does not exist succeeded");
    QVERIFY2(
        error.kind() == rill::Error::Kind::HostNotFound, qPrintable(rilltest::debugString(error)));
    const QString message = rill::errorMessage(error);
    QVERIFY2(message.contains(endpoint),
        qPrintable(QStringLiteral("the message \"%1\" does not name %2").arg(message, endpoint)));
}

// A QLocalSocket from QLocalServer with bytes already in its buffer: the flow delivers them
// first, serves a peer that half-closes, and the socket never claims it was disconnected.
// With unsentFirst, bytes written through the socket before the takeover must go out first.
void tst_LocalFlow::wrapsAcceptedQLocalSocket_data()
{
    QTest::addColumn<QByteArray>("unsentFirst");
    QTest::newRow("nothing written through the socket") << QByteArray();
    QTest::newRow("bytes written through the socket, not sent yet") << QByteArray("pre:");
}

void tst_LocalFlow::wrapsAcceptedQLocalSocket()
{
    QFETCH(QByteArray, unsentFirst);
    QLocalServer server;
    const QString path = m_dir.filePath(QStringLiteral("qlocalserver.sock"));
    QVERIFY2(server.listen(path), qPrintable(server.errorString()));
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("send-then-shutdown"), QStringLiteral("unix:") + path,
        QStringLiteral("--text"), QStringLiteral("hello"), QStringLiteral("--hold")}));
    QVERIFY2(runUntil([&] { return server.hasPendingConnections(); }), qPrintable(peer.describe()));
    QLocalSocket *socket = server.nextPendingConnection();
    QVERIFY(socket);
    QVERIFY2(runUntil([&] { return socket->bytesAvailable() >= 5; }),
        "the QLocalSocket never read the peer's first bytes");
    if (!unsentFirst.isEmpty()) {
        socket->write(unsentFirst); // stays in Qt's buffer until the event loop runs
        QCOMPARE(socket->bytesToWrite(), unsentFirst.size());
    }

    QPointer<QLocalSocket> guard(socket);
    QSignalSpy disconnected(socket, &QLocalSocket::disconnected);
    QSignalSpy errors(socket, &QLocalSocket::errorOccurred);
    LocalFlow flow(socket);
    QVERIFY2(runUntil([&] { return flow.state() != rill::Flow::State::Connecting; }, 10s),
        "the flow never took the connection over");
    QCOMPARE(flow.state(), rill::Flow::State::Open);
    QVERIFY2(runUntil([&] { return guard.isNull(); }),
        "the QLocalSocket is not deleted after the takeover");
    QVERIFY(flow.socketDescriptor() >= 0);

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
}

// A QLocalSocket just told to connect: what is written and shut down right away goes out.
void tst_LocalFlow::wrapsConnectingQLocalSocket()
{
    const QString path = m_dir.filePath(QStringLiteral("python-listens.sock"));
    Peer peer;
    QVERIFY(peer.startPython({QStringLiteral("read-then-reply"), QStringLiteral("unix:") + path,
        QStringLiteral("--listen"), QStringLiteral("--text"), QStringLiteral("pong")}));
    QVERIFY2(peer.waitForEvent(QStringLiteral("listening")), qPrintable(peer.describe()));

    auto *socket = new QLocalSocket;
    socket->connectToServer(path);
    QPointer<QLocalSocket> guard(socket);
    QSignalSpy disconnected(socket, &QLocalSocket::disconnected);
    QSignalSpy errors(socket, &QLocalSocket::errorOccurred);
    LocalFlow flow(socket);
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
        "the QLocalSocket is not deleted after the takeover");
    QCOMPARE(disconnected.count(), 0);
    QCOMPARE(errors.count(), 0);
    QCOMPARE(flow.fullServerName(), path);
    QVERIFY2(runUntil([&] { return flow.state() == rill::Flow::State::Closed; }),
        "both directions ended but the flow is not closed");
}

QTEST_GUILESS_MAIN(tst_LocalFlow)
#include "tst_localflow.moc"
