// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// FlowTableModel: each role and column shows what the flow says, changes reach views at the
// model's pace (one dataChanged per row per look, however many changes), rows follow flows.
#include "../shared/testutil.h"

#include <rill/connect.h>
#include <rill/flowtablemodel.h>
#include <rill/listener.h>
#include <rill/localflow.h>
#include <rill/pipeflow.h>
#include <rill/tcpflow.h>

#include <QtCore/QPointer>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QLocalSocket>
#include <QtNetwork/QTcpSocket>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

using namespace std::chrono_literals;
using rill::Flow;
using rill::FlowTableModel;
using rill::PipeFlow;

namespace {

constexpr int Timeout = 30000;

QVariant cell(const FlowTableModel &model, int row, int role)
{
    return model.data(model.index(row, 0), role);
}

// What differs between a row and the flow it shows (empty: nothing), checking every role and
// that every column shows its role.
QString mismatch(const FlowTableModel &model, int row, const Flow *flow)
{
    QStringList wrong;
    auto check = [&](FlowTableModel::Role role, const QVariant &expected) {
        const QVariant actual = cell(model, row, role);
        if (actual != expected) {
            wrong << QStringLiteral("%1: model %2, flow %3")
                         .arg(QString::fromLatin1(model.roleNames().value(role)),
                             rilltest::debugString(actual), rilltest::debugString(expected));
        }
        const int column = role - FlowTableModel::IdRole;
        if (column < FlowTableModel::ColumnCount
            && model.data(model.index(row, column), Qt::EditRole) != actual)
            wrong << QStringLiteral("column %1 does not show its role").arg(column);
    };
    check(FlowTableModel::TransportRole, flow->transportName());
    check(FlowTableModel::LocalEndpointRole, flow->localEndpoint().toString());
    check(FlowTableModel::PeerEndpointRole, flow->peerEndpoint().toString());
    check(FlowTableModel::StateRole, QVariant::fromValue(flow->state()));
    check(FlowTableModel::ReadStateRole, QVariant::fromValue(flow->readState()));
    check(FlowTableModel::WriteStateRole, QVariant::fromValue(flow->writeState()));
    check(FlowTableModel::BytesInRole, flow->stats().bytesRead);
    check(FlowTableModel::BytesOutRole, flow->stats().bytesWritten);
    check(FlowTableModel::BytesQueuedRole, flow->bytesQueued());
    check(FlowTableModel::WritesWaitingRole, flow->writesWaiting());
    check(FlowTableModel::HighWaterMarkRole, flow->highWaterMark());
    check(FlowTableModel::LastErrorRole,
        flow->error().isNone() ? QString() : rill::errorMessage(flow->error()));
    check(FlowTableModel::FlowRole, QVariant::fromValue(const_cast<Flow *>(flow)));
    return wrong.join(QStringLiteral("; "));
}

#define QTRY_ROW_MATCHES(model, row, flow)                                                         \
    QTRY_VERIFY2_WITH_TIMEOUT(mismatch(model, row, flow).isEmpty(),                                \
        qPrintable(QStringLiteral("row %1 does not show its flow: %2")                             \
                       .arg(row)                                                                   \
                       .arg(mismatch(model, row, flow))),                                          \
        Timeout)

// Reads until `bytes` bytes came, returning them.
QByteArray readBytes(Flow *flow, qint64 bytes)
{
    QByteArray all;
    while (all.size() < bytes) {
        QFuture<rill::ReadResult> f = flow->read();
        if (!rilltest::waitFor(f) || !f.result().isData())
            break;
        all += f.result().data();
    }
    return all;
}

} // namespace

class tst_FlowTableModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roleNames();
    void rowsShowPipeFlows();
    void rowsShowSocketFlows();
    void connectToFinishes();
    void destroyingAReceiverFinishes();
    void rowShowsWhereAConnectingFlowGoes();
    void bytesAndHalfCloseShow();
    void backpressureShows();
    void errorShows();
    void updatesAreCoalesced();
    void nameCanChange();
    void destroyedFlowIsRemoved();
    void removeFlowKeepsOthers();
    void adoptedFlowsAreDeleted();
    void rejectsNullAndDuplicates();
    void clearRemovesAll();
};

void tst_FlowTableModel::roleNames()
{
    FlowTableModel model;
    const QHash<int, QByteArray> names = model.roleNames();
    const QList<QByteArray> expected = {"id", "transport", "localEndpoint", "peerEndpoint", "state",
        "readState", "writeState", "bytesIn", "bytesOut", "bytesQueued", "writesWaiting",
        "highWaterMark", "lastError", "name", "flow"};
    for (const QByteArray &name : expected)
        QVERIFY2(names.values().contains(name), "a role name QML views use is missing: " + name);
    QCOMPARE(names.value(FlowTableModel::IdRole), QByteArray("id"));
    QCOMPARE(names.value(FlowTableModel::LastErrorRole), QByteArray("lastError"));
    QCOMPARE(model.columnCount(), int(FlowTableModel::ColumnCount));
    for (int c = 0; c < FlowTableModel::ColumnCount; ++c)
        QVERIFY2(!model.headerData(c, Qt::Horizontal).toString().isEmpty(),
            qPrintable(QStringLiteral("column %1 has no header").arg(c)));
}

void tst_FlowTableModel::rowsShowPipeFlows()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    QSignalSpy countSpy(&model, &FlowTableModel::countChanged);
    const qint64 idA = model.addFlow(a.get(), QStringLiteral("left"));
    const qint64 idB = model.addFlow(b.get(), QStringLiteral("right"));
    QVERIFY2(idA > 0 && idB > idA, "ids are positive and increase in the order flows are added");
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.count(), 2);
    QCOMPARE(countSpy.count(), 2);
    QCOMPARE(model.flow(0), a.get());
    QCOMPARE(model.flow(1), b.get());
    QCOMPARE(model.rowOf(b.get()), 1);
    QCOMPARE(model.rowOfId(idB), 1);
    QCOMPARE(model.idOf(a.get()), idA);
    QCOMPARE(cell(model, 0, FlowTableModel::IdRole).toLongLong(), idA);
    QCOMPARE(cell(model, 0, FlowTableModel::NameRole).toString(), QStringLiteral("left"));
    QCOMPARE(
        model.data(model.index(1, FlowTableModel::NameColumn)).toString(), QStringLiteral("right"));
    QCOMPARE(cell(model, 0, FlowTableModel::TransportRole).toString(), QStringLiteral("pipe"));
    // Values are right from the start, before the model's first look.
    QVERIFY2(mismatch(model, 0, a.get()).isEmpty(), qPrintable(mismatch(model, 0, a.get())));
    QVERIFY2(mismatch(model, 1, b.get()).isEmpty(), qPrintable(mismatch(model, 1, b.get())));
    QCOMPARE(
        model.data(model.index(0, FlowTableModel::StateColumn)).toString(), QStringLiteral("open"));
}

void tst_FlowTableModel::rowsShowSocketFlows()
{
    QTemporaryDir dir;
    QVERIFY2(dir.isValid(), "no temporary folder");
    rill::TcpListener tcp;
    QVERIFY2(tcp.listen(QHostAddress::LocalHost, 0), qPrintable(rill::errorMessage(tcp.error())));
    rill::LocalListener local;
    QVERIFY2(local.listen(dir.filePath(QStringLiteral("s.sock"))),
        qPrintable(rill::errorMessage(local.error())));

    // Connecting sockets wrapped as flows (connectTo() is checked in connectToFinishes()).
    auto *tcpSocket = new QTcpSocket;
    tcpSocket->connectToHost(QHostAddress::LocalHost, tcp.serverPort());
    auto *localSocket = new QLocalSocket;
    localSocket->connectToServer(local.fullServerName());
    auto tcpAccept = tcp.accept();
    auto localAccept = local.accept();
    rill::FlowResult<rill::TcpFlow> ta;
    rill::FlowResult<rill::LocalFlow> la;
    RILL_AWAIT(tcpAccept, ta);
    RILL_AWAIT(localAccept, la);
    QVERIFY2(ta.isOk() && la.isOk(), "accepting failed");
    auto tc = std::make_unique<rill::TcpFlow>(tcpSocket);
    auto lc = std::make_unique<rill::LocalFlow>(localSocket);
    rill::TcpFlow *tcpClient = tc.get();
    rill::LocalFlow *localClient = lc.get();
    QTRY_VERIFY2_WITH_TIMEOUT(
        tcpClient->state() == Flow::State::Open && localClient->state() == Flow::State::Open,
        "the client flows did not open", Timeout);

    FlowTableModel model;
    model.adoptFlow(std::move(tc));
    model.adoptFlow(ta.takeFlow());
    model.adoptFlow(std::move(lc));
    model.adoptFlow(la.takeFlow());
    QCOMPARE(model.rowCount(), 4);
    for (int row = 0; row < 4; ++row)
        QTRY_ROW_MATCHES(model, row, model.flow(row));
    QCOMPARE(cell(model, 0, FlowTableModel::TransportRole).toString(), QStringLiteral("tcp"));
    QCOMPARE(cell(model, 0, FlowTableModel::PeerEndpointRole).toString(), tcp.endpoint().toString());
    QCOMPARE(cell(model, 1, FlowTableModel::LocalEndpointRole).toString(), tcp.endpoint().toString());
    QCOMPARE(cell(model, 2, FlowTableModel::TransportRole).toString(), QStringLiteral("unix"));
    QCOMPARE(cell(model, 2, FlowTableModel::PeerEndpointRole).toString(), local.endpoint().toString());
    QCOMPARE(cell(model, 0, FlowTableModel::StateRole).value<Flow::State>(), Flow::State::Open);

    // Bytes over a real socket show on both rows.
    Flow *client = model.flow(0);
    Flow *server = model.flow(1);
    client->write(QByteArrayLiteral("hello over tcp"));
    QCOMPARE(readBytes(server, 14), QByteArrayLiteral("hello over tcp"));
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::BytesOutRole).toLongLong(), 14, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 1, FlowTableModel::BytesInRole).toLongLong(), 14, Timeout);
}

// In a child process, connects with rill::connectTo() to a listener and shows the flow in a
// model. 0: the row shows the connected flow.
static int connectProbe()
{
    rill::Listener listener;
    if (!listener.listen(rill::Endpoint::tcp(QStringLiteral("127.0.0.1"), 0)))
        return 2;
    QFuture<rill::FlowResult<Flow>> connecting = rill::connectTo(listener.endpoint());
    QFuture<rill::FlowResult<Flow>> accepting = listener.accept();
    if (!rilltest::waitFor(connecting, 10s) || !rilltest::waitFor(accepting, 10s))
        return 3;
    rill::FlowResult<Flow> client = connecting.result();
    if (!client.isOk())
        return 4;
    FlowTableModel model;
    model.adoptFlow(client.takeFlow());
    return cell(model, 0, FlowTableModel::PeerEndpointRole).toString()
            == listener.endpoint().toString()
        ? 0
        : 5;
}

// In a child process: a QObject connected to a flow's signal is destroyed while the flow lives
// (a view, a model, a QSignalSpy going away first). The receiver is picked so that Qt guards it
// and the flow with the same mutex: Qt 6 has a pool of 131, chosen by address. 0: finished.
static int receiverProbe()
{
    auto [a, b] = PipeFlow::createPair();
    constexpr uint PoolSize = 131; // qobject.cpp: _q_ObjectMutexPool
    const uint flowSlot = uint(quintptr(a.get())) % PoolSize;
    std::vector<std::unique_ptr<QObject>> candidates;
    QObject *receiver = nullptr;
    for (int i = 0; i < 100000 && !receiver; ++i) {
        candidates.push_back(std::make_unique<QObject>());
        if (uint(quintptr(candidates.back().get())) % PoolSize == flowSlot)
            receiver = candidates.back().get();
    }
    if (!receiver)
        return 2;
    QObject::connect(a.get(), &Flow::stateChanged, receiver, [] {});
    candidates.clear(); // destroys the receiver while the flow lives
    return 0;
}

// Runs this test program with `argument` in a child process, so that a hang fails the test
// instead of hanging the suite. Returns "" if the child finished with exit code 0.
static QString runProbe(const QString &argument)
{
    QProcess child;
    child.setProcessChannelMode(QProcess::ForwardedChannels);
    child.start(QCoreApplication::applicationFilePath(), {argument});
    if (!child.waitForStarted())
        return QStringLiteral("the probe did not start");
    if (!child.waitForFinished(20000)) {
        child.kill();
        child.waitForFinished();
        return QStringLiteral("hangs");
    }
    if (child.exitStatus() != QProcess::NormalExit || child.exitCode() != 0)
        return QStringLiteral("failed with exit code %1").arg(child.exitCode());
    return {};
}

void tst_FlowTableModel::connectToFinishes()
{
    const QString outcome = runProbe(QStringLiteral("--connect-probe"));
    QVERIFY2(outcome.isEmpty(),
        qPrintable(QStringLiteral("rill::connectTo() %1. A deadlock: connectedFuture() in "
                                  "socketflow_p.h disconnects its stateChanged connection with "
                                  "QObject::disconnect(Connection), which calls "
                                  "Flow::disconnectNotify() with Qt's signal-slot mutex held, and "
                                  "Flow::disconnectNotify() calls isSignalConnected(), which takes "
                                  "that mutex again (Qt's docs forbid it there).")
                       .arg(outcome)));
}

void tst_FlowTableModel::destroyingAReceiverFinishes()
{
    const QString outcome = runProbe(QStringLiteral("--receiver-probe"));
    QVERIFY2(outcome.isEmpty(),
        qPrintable(
            QStringLiteral("destroying a QObject connected to a flow's signal %1. A deadlock: "
                           "~QObject calls the flow's disconnectNotify() holding the "
                           "receiver's signal-slot mutex, and Flow::disconnectNotify() calls "
                           "isSignalConnected(), which takes the flow's: the same mutex when "
                           "their addresses pick the same one of Qt's 131 (1 receiver in 131 "
                           "by chance; this one on purpose).")
                .arg(outcome)));
}

void tst_FlowTableModel::rowShowsWhereAConnectingFlowGoes()
{
    // A port nobody listens on.
    rill::TcpListener probe;
    QVERIFY2(probe.listen(QHostAddress::LocalHost, 0), "cannot find a free port");
    const quint16 port = probe.serverPort();
    probe.close();
    const QString endpoint = QStringLiteral("tcp:127.0.0.1:%1").arg(port);

    auto *socket = new QTcpSocket;
    socket->connectToHost(QHostAddress::LocalHost, port);
    FlowTableModel model;
    model.adoptFlow(std::make_unique<rill::TcpFlow>(socket));
    Flow *flow = model.flow(0);
    QTRY_COMPARE_WITH_TIMEOUT(flow->state(), Flow::State::Closed, Timeout);
    QCOMPARE(flow->error().kind(), rill::Error::Kind::Refused);
    // Where it tried to go, in the error and in the row: the port, or none where the wrapped Qt
    // socket does not tell it (QAbstractSocket::peerPort() is 0 until connected), but never a
    // wrong one.
    const QStringList acceptable = {endpoint, QStringLiteral("tcp:127.0.0.1")};
    QVERIFY2(acceptable.contains(flow->error().endpoint()),
        qPrintable(QStringLiteral("the error names %1").arg(flow->error().endpoint())));
    QTRY_VERIFY2_WITH_TIMEOUT(
        acceptable.contains(cell(model, 0, FlowTableModel::PeerEndpointRole).toString()),
        qPrintable(QStringLiteral("the row shows %1")
                       .arg(cell(model, 0, FlowTableModel::PeerEndpointRole).toString())),
        Timeout);
}

void tst_FlowTableModel::bytesAndHalfCloseShow()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    model.addFlow(a.get());
    model.addFlow(b.get());
    QSignalSpy changed(&model, &FlowTableModel::dataChanged);

    a->write(QByteArrayLiteral("hello"));
    QCOMPARE(readBytes(b.get(), 5), QByteArrayLiteral("hello"));
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::BytesOutRole).toLongLong(), 5, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(cell(model, 1, FlowTableModel::BytesInRole).toLongLong(), 5, Timeout);
    QVERIFY2(!changed.isEmpty(), "the byte counters changed without a dataChanged");

    RILL_AWAIT_VOID(a->shutdown(Flow::Direction::Write));
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::WriteStateRole).value<Flow::WriteState>(),
        Flow::WriteState::Closed, Timeout);
    QCOMPARE(model.data(model.index(0, FlowTableModel::WriteStateColumn)).toString(),
        QStringLiteral("closed"));
    // The read state turns Eof once b's flow has seen the end of stream.
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 1, FlowTableModel::ReadStateRole).value<Flow::ReadState>(),
        Flow::ReadState::Eof, Timeout);
    QCOMPARE(model.data(model.index(1, FlowTableModel::ReadStateColumn)).toString(),
        QStringLiteral("end of stream"));
    rill::ReadResult eof;
    RILL_AWAIT(b->read(), eof);
    QVERIFY2(eof.isEof(), "b should read the end of stream");

    RILL_AWAIT_VOID(b->close());
    QTRY_ROW_MATCHES(model, 0, a.get());
    QTRY_ROW_MATCHES(model, 1, b.get());
    QCOMPARE(cell(model, 1, FlowTableModel::StateRole).value<Flow::State>(), Flow::State::Closed);
}

void tst_FlowTableModel::backpressureShows()
{
    // A reader that does not read: its read-ahead and the pipe fill, then the writer's queue.
    auto [a, b] = PipeFlow::createPair(1024);
    a->setHighWaterMark(16 * 1024);
    FlowTableModel model;
    model.addFlow(a.get());
    model.addFlow(b.get());
    QCOMPARE(cell(model, 0, FlowTableModel::HighWaterMarkRole).toLongLong(), 16 * 1024);
    for (int i = 0; i < 12; ++i)
        a->write(rilltest::pattern(16 * 1024, quint32(i)));
    QTRY_VERIFY2_WITH_TIMEOUT(cell(model, 0, FlowTableModel::WritesWaitingRole).toInt() > 0,
        "waiting writes should show", Timeout);
    QVERIFY2(cell(model, 0, FlowTableModel::BytesQueuedRole).toLongLong() >= 16 * 1024,
        "with writes waiting, the queue is at or above the high-water mark");
    QTRY_ROW_MATCHES(model, 0, a.get());

    a->setHighWaterMark(4 * 1024 * 1024);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::HighWaterMarkRole).toLongLong(), 4 * 1024 * 1024, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::WritesWaitingRole).toInt(), 0, Timeout);
    QCOMPARE(readBytes(b.get(), 12 * 16 * 1024).size(), 12 * 16 * 1024);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::BytesQueuedRole).toLongLong(), 0, Timeout);
    QTRY_ROW_MATCHES(model, 0, a.get());
    QTRY_ROW_MATCHES(model, 1, b.get());
}

void tst_FlowTableModel::errorShows()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    model.addFlow(a.get());
    model.addFlow(b.get());
    QCOMPARE(cell(model, 0, FlowTableModel::LastErrorRole).toString(), QString());
    a->abort();
    QTRY_VERIFY2_WITH_TIMEOUT(
        cell(model, 0, FlowTableModel::LastErrorRole).toString().contains(QStringLiteral("abort")),
        "the aborted flow's row should say it was aborted", Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(cell(model, 1, FlowTableModel::LastErrorRole).toString(),
        rill::errorMessage(b->error()), Timeout);
    QVERIFY2(b->error().kind() == rill::Error::Kind::Reset, "the peer sees a reset");
    QCOMPARE(model.data(model.index(1, FlowTableModel::LastErrorColumn)).toString(),
        rill::errorMessage(b->error()));
    QTRY_ROW_MATCHES(model, 0, a.get());
    QTRY_ROW_MATCHES(model, 1, b.get());
}

void tst_FlowTableModel::updatesAreCoalesced()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    model.setUpdateInterval(3600 * 1000); // no look during the exchange
    model.addFlow(a.get());
    model.addFlow(b.get());
    QSignalSpy changed(&model, &FlowTableModel::dataChanged);

    // Many changes: every write changes the queue, every read the counters.
    for (int i = 0; i < 1000; ++i)
        a->write(QByteArray(10, 'x'));
    QCOMPARE(readBytes(b.get(), 10000).size(), 10000);
    QTRY_COMPARE_WITH_TIMEOUT(a->stats().bytesWritten, 10000, Timeout);
    QCOMPARE(a->stats().writeOps, 1000); // each changed the queue, then the transport did
    QCOMPARE(changed.count(), 0); // nothing reaches views between two looks
    QCOMPARE(cell(model, 0, FlowTableModel::BytesOutRole).toLongLong(), 0);

    // The next look: one dataChanged per row that changed, with the final values.
    model.setUpdateInterval(10);
    QVERIFY2(changed.wait(Timeout), "no update after the model's next look");
    QCOMPARE(changed.count(), 2);
    QCOMPARE(changed.at(0).at(0).toModelIndex().row(), 0);
    QCOMPARE(changed.at(1).at(0).toModelIndex().row(), 1);
    const int first = changed.at(0).at(0).toModelIndex().column();
    const int last = changed.at(0).at(1).toModelIndex().column();
    QVERIFY2(first <= FlowTableModel::BytesOutColumn && last >= FlowTableModel::BytesOutColumn,
        "the change should span the bytes-out column");
    QCOMPARE(cell(model, 0, FlowTableModel::BytesOutRole).toLongLong(), 10000);
    QCOMPARE(cell(model, 1, FlowTableModel::BytesInRole).toLongLong(), 10000);
    QVERIFY2(mismatch(model, 0, a.get()).isEmpty(), qPrintable(mismatch(model, 0, a.get())));
}

void tst_FlowTableModel::nameCanChange()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    model.addFlow(a.get(), QStringLiteral("before"));
    QSignalSpy changed(&model, &FlowTableModel::dataChanged);
    model.setName(a.get(), QStringLiteral("after"));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.nameOf(a.get()), QStringLiteral("after"));
    QCOMPARE(
        model.data(model.index(0, FlowTableModel::NameColumn)).toString(), QStringLiteral("after"));
}

void tst_FlowTableModel::destroyedFlowIsRemoved()
{
    auto [a, b] = PipeFlow::createPair();
    auto [c, d] = PipeFlow::createPair();
    FlowTableModel model;
    model.addFlow(a.get());
    model.addFlow(b.get());
    model.addFlow(c.get());
    const qint64 idC = model.idOf(c.get());
    QSignalSpy removed(&model, &FlowTableModel::rowsRemoved);
    QSignalSpy countSpy(&model, &FlowTableModel::countChanged);

    b.reset(); // destroys b; a sees a reset
    QCOMPARE(removed.count(), 1);
    QCOMPARE(removed.at(0).at(1).toInt(), 1);
    QCOMPARE(removed.at(0).at(2).toInt(), 1);
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(countSpy.count(), 1);
    QCOMPARE(model.flow(0), a.get());
    QCOMPARE(model.flow(1), c.get());
    QCOMPARE(model.idOf(c.get()), idC);
    QCOMPARE(cell(model, 1, FlowTableModel::IdRole).toLongLong(), idC);
    // The survivors go on updating.
    QTRY_VERIFY2_WITH_TIMEOUT(!cell(model, 0, FlowTableModel::LastErrorRole).toString().isEmpty(),
        "a should show the reset its destroyed peer caused", Timeout);
    QTRY_ROW_MATCHES(model, 0, a.get());
    QTRY_ROW_MATCHES(model, 1, c.get());

    a.reset();
    c.reset();
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.flow(0), nullptr);
}

void tst_FlowTableModel::removeFlowKeepsOthers()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    model.addFlow(a.get());
    model.addFlow(b.get());
    model.removeFlow(a.get());
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.flow(0), b.get());
    QCOMPARE(model.rowOf(a.get()), -1);
    QCoreApplication::processEvents();
    QVERIFY2(a->state() == Flow::State::Open, "removing a flow the model does not own keeps it");
    model.removeFlow(a.get()); // not shown: nothing happens
    QCOMPARE(model.rowCount(), 1);
}

void tst_FlowTableModel::adoptedFlowsAreDeleted()
{
    auto [a, b] = PipeFlow::createPair();
    auto [c, d] = PipeFlow::createPair();
    QPointer<Flow> watchA = a.get();
    QPointer<Flow> watchC = c.get();
    auto model = std::make_unique<FlowTableModel>();
    QVERIFY2(model->adoptFlow(std::move(a), QStringLiteral("owned")) > 0, "adopting failed");
    QVERIFY2(model->adoptFlow(std::move(c)) > 0, "adopting failed");
    QCOMPARE(model->rowCount(), 2);

    model->removeFlow(watchA);
    QCOMPARE(model->rowCount(), 1);
    QTRY_VERIFY2_WITH_TIMEOUT(watchA.isNull(), "removing an owned flow deletes it", Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(b->error().kind(), rill::Error::Kind::Reset, Timeout);

    model.reset();
    QVERIFY2(watchC.isNull(), "the model deletes the flows it owns when it goes");
}

void tst_FlowTableModel::rejectsNullAndDuplicates()
{
    auto [a, b] = PipeFlow::createPair();
    FlowTableModel model;
    QCOMPARE(model.addFlow(nullptr), 0);
    QCOMPARE(model.adoptFlow(nullptr), 0);
    QVERIFY2(model.addFlow(a.get()) > 0, "adding failed");
    QCOMPARE(model.addFlow(a.get()), 0);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.data(model.index(5, 0)), QVariant());
}

void tst_FlowTableModel::clearRemovesAll()
{
    auto [a, b] = PipeFlow::createPair();
    auto [c, d] = PipeFlow::createPair();
    QPointer<Flow> watchC = c.get();
    FlowTableModel model;
    model.addFlow(a.get());
    model.adoptFlow(std::move(c));
    QSignalSpy reset(&model, &FlowTableModel::modelReset);
    model.clear();
    QCOMPARE(reset.count(), 1);
    QCOMPARE(model.rowCount(), 0);
    QTRY_VERIFY2_WITH_TIMEOUT(watchC.isNull(), "clear() deletes the flows the model owns", Timeout);
    QCOMPARE(a->state(), Flow::State::Open); // not owned: clear() leaves it alone
    // A flow destroyed after clear() must not touch the model.
    a.reset();
    QCOMPARE(model.rowCount(), 0);
}

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    if (argc > 1 && qstrcmp(argv[1], "--connect-probe") == 0)
        return connectProbe();
    if (argc > 1 && qstrcmp(argv[1], "--receiver-probe") == 0)
        return receiverProbe();
    QTEST_SET_MAIN_SOURCE_PATH
    tst_FlowTableModel test;
    return QTest::qExec(&test, argc, argv);
}
#include "tst_flowtablemodel.moc"
