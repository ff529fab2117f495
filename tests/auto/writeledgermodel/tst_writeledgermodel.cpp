// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// WriteLedgerModel: a row per write with its life (waiting, accepted, sent, rejected) and
// times, batched updates, and a bound on how many writes it keeps.
#include "../shared/testutil.h"

#include <rill/pipeflow.h>
#include <rill/writeledgermodel.h>

#include <QtCore/QDateTime>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

using namespace std::chrono_literals;
using rill::Flow;
using rill::PipeFlow;
using rill::WriteLedgerModel;
using EntryState = rill::WriteLedgerModel::EntryState;

namespace {

constexpr int Timeout = 30000;

QVariant cell(const WriteLedgerModel &model, int row, int role)
{
    return model.data(model.index(row, 0), role);
}

EntryState stateAt(const WriteLedgerModel &model, int row)
{
    return cell(model, row, WriteLedgerModel::StateRole).value<EntryState>();
}

qint64 idAt(const WriteLedgerModel &model, int row)
{
    return cell(model, row, WriteLedgerModel::IdRole).toLongLong();
}

// Reads until `bytes` bytes came.
qint64 drain(Flow *flow, qint64 bytes)
{
    qint64 got = 0;
    while (got < bytes) {
        QFuture<rill::ReadResult> f = flow->read();
        if (!rilltest::waitFor(f) || !f.result().isData())
            break;
        got += f.result().data().size();
    }
    return got;
}

} // namespace

class tst_WriteLedgerModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roleNamesAndColumns();
    void writesGoThroughTheirStates();
    void emptyWriteIsSentAtOnce();
    void rejectedWritesSayWhy();
    void updatesAreBatched();
    void keepsTheLastEntries();
    void boundHoldsBetweenUpdates();
    void setFlowStartsAfresh();
    void survivesItsFlow();
};

void tst_WriteLedgerModel::roleNamesAndColumns()
{
    WriteLedgerModel model;
    const QHash<int, QByteArray> names = model.roleNames();
    for (const QByteArray &name :
        {QByteArray("id"), QByteArray("size"), QByteArray("state"), QByteArray("queuedAt"),
            QByteArray("acceptedAt"), QByteArray("sentAt"), QByteArray("result")})
        QVERIFY2(names.values().contains(name), "a role name QML views use is missing: " + name);
    QCOMPARE(model.columnCount(), int(WriteLedgerModel::ColumnCount));
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.maxEntries(), WriteLedgerModel::DefaultMaxEntries);
    for (int c = 0; c < WriteLedgerModel::ColumnCount; ++c)
        QVERIFY2(!model.headerData(c, Qt::Horizontal).toString().isEmpty(),
            qPrintable(QStringLiteral("column %1 has no header").arg(c)));
}

void tst_WriteLedgerModel::writesGoThroughTheirStates()
{
    // b does not read: its read-ahead and the pipe fill, then a's queue; later writes wait.
    auto [a, b] = PipeFlow::createPair(1024);
    a->setHighWaterMark(16 * 1024);
    WriteLedgerModel model(a.get());
    QCOMPARE(model.flow(), a.get());
    QSignalSpy waitingSpy(&model, &WriteLedgerModel::waitingCountChanged);
    const QDateTime before = QDateTime::currentDateTime().addMSecs(-1);
    constexpr int Writes = 12;
    constexpr qint64 Size = 16 * 1024;
    for (int i = 0; i < Writes; ++i)
        a->write(rilltest::pattern(Size, quint32(i)));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), Writes, Timeout);
    QTRY_VERIFY2_WITH_TIMEOUT(model.waitingCount() > 0 && a->writesWaiting() > 0
            && model.waitingCount() == a->writesWaiting(),
        "the ledger should show the writes that wait", Timeout);
    QVERIFY2(!waitingSpy.isEmpty(), "waitingCountChanged was not emitted");

    int waitingRows = 0;
    for (int row = 0; row < Writes; ++row) {
        QCOMPARE(idAt(model, row), qint64(row + 1));
        QCOMPARE(cell(model, row, WriteLedgerModel::SizeRole).toLongLong(), Size);
        const QDateTime queued = cell(model, row, WriteLedgerModel::QueuedAtRole).toDateTime();
        QVERIFY2(queued.isValid() && queued >= before, "each write has the time it was queued");
        if (stateAt(model, row) == EntryState::Waiting) {
            ++waitingRows;
            QVERIFY2(!cell(model, row, WriteLedgerModel::AcceptedAtRole).toDateTime().isValid(),
                "a waiting write has no acceptance time");
            QCOMPARE(cell(model, row, WriteLedgerModel::AcceptDelayRole).toLongLong(), -1);
            QCOMPARE(model.data(model.index(row, WriteLedgerModel::StateColumn)).toString(),
                QStringLiteral("waiting"));
            QCOMPARE(model.data(model.index(row, WriteLedgerModel::AcceptedColumn)).toString(),
                QString());
        } else {
            QVERIFY2(waitingRows == 0, "writes are accepted in order");
            QVERIFY2(cell(model, row, WriteLedgerModel::AcceptedAtRole).toDateTime() >= queued,
                "an accepted write has an acceptance time, after it was queued");
            QVERIFY2(model.data(model.index(row, WriteLedgerModel::AcceptedColumn))
                         .toString()
                         .startsWith(QLatin1Char('+')),
                "the accepted column shows the delay since queueing");
        }
    }
    QCOMPARE(waitingRows, a->writesWaiting());
    QCOMPARE(stateAt(model, 0), EntryState::Sent);

    // The reader reads: every write is accepted, then sent.
    QCOMPARE(drain(b.get(), Writes * Size), Writes * Size);
    QTRY_COMPARE_WITH_TIMEOUT(stateAt(model, Writes - 1), EntryState::Sent, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(model.waitingCount(), 0, Timeout);
    for (int row = 0; row < Writes; ++row) {
        QCOMPARE(stateAt(model, row), EntryState::Sent);
        const qint64 acceptDelay = cell(model, row, WriteLedgerModel::AcceptDelayRole).toLongLong();
        const qint64 sendDelay = cell(model, row, WriteLedgerModel::SendDelayRole).toLongLong();
        QVERIFY2(acceptDelay >= 0 && sendDelay >= acceptDelay, "sent after accepted after queued");
        QVERIFY2(cell(model, row, WriteLedgerModel::SentAtRole).toDateTime().isValid(),
            "a sent write has the time it was sent");
    }
    QCOMPARE(model.droppedCount(), 0);
}

void tst_WriteLedgerModel::emptyWriteIsSentAtOnce()
{
    auto [a, b] = PipeFlow::createPair();
    WriteLedgerModel model(a.get());
    a->write(QByteArray());
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1, Timeout);
    QCOMPARE(stateAt(model, 0), EntryState::Sent);
    QCOMPARE(cell(model, 0, WriteLedgerModel::SizeRole).toLongLong(), 0);
    QVERIFY2(cell(model, 0, WriteLedgerModel::AcceptedAtRole).toDateTime().isValid(),
        "an empty write is accepted at once");
}

void tst_WriteLedgerModel::rejectedWritesSayWhy()
{
    auto [a, b] = PipeFlow::createPair(1024);
    a->setHighWaterMark(1024);
    WriteLedgerModel model(a.get());

    // After the write side is shut down: Eof.
    RILL_AWAIT_VOID(a->shutdown(Flow::Direction::Write));
    a->write(QByteArrayLiteral("too late"));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1, Timeout);
    QCOMPARE(stateAt(model, 0), EntryState::Rejected);
    QVERIFY2(model.data(model.index(0, WriteLedgerModel::ResultColumn))
                 .toString()
                 .contains(QStringLiteral("end of stream")),
        "a write after shutdown is rejected with end of stream");

    // Waiting writes of an aborted flow: the abort error.
    auto [c, d] = PipeFlow::createPair(1024);
    c->setHighWaterMark(1024);
    model.setFlow(c.get());
    QCOMPARE(model.rowCount(), 0);
    for (int i = 0; i < 12; ++i)
        c->write(rilltest::pattern(16 * 1024, quint32(i)));
    QTRY_VERIFY2_WITH_TIMEOUT(model.waitingCount() > 0, "writes should wait", Timeout);
    const int waiting = model.waitingCount();
    c->abort();
    QTRY_COMPARE_WITH_TIMEOUT(model.waitingCount(), 0, Timeout);
    int rejected = 0;
    int neverSent = 0;
    for (int row = 0; row < model.rowCount(); ++row) {
        if (stateAt(model, row) == EntryState::Accepted) {
            // Accepted into the queue the abort dropped.
            ++neverSent;
            QVERIFY2(cell(model, row, WriteLedgerModel::ResultRole)
                         .toString()
                         .startsWith(QStringLiteral("never sent")),
                "an accepted write dropped with the queue should say it was never sent");
        }
        if (stateAt(model, row) != EntryState::Rejected)
            continue;
        ++rejected;
        QVERIFY2(cell(model, row, WriteLedgerModel::ResultRole)
                     .toString()
                     .contains(QStringLiteral("abort")),
            "writes rejected by an abort say so");
    }
    QCOMPARE(rejected, waiting);
    QVERIFY2(neverSent > 0, "the aborted flow had accepted writes in its queue");
}

void tst_WriteLedgerModel::updatesAreBatched()
{
    // b does not read yet, so most writes stay queued or waiting until it does.
    auto [a, b] = PipeFlow::createPair(1024);
    a->setHighWaterMark(64 * 1024);
    WriteLedgerModel model(a.get());
    QSignalSpy inserted(&model, &WriteLedgerModel::rowsInserted);
    QSignalSpy changed(&model, &WriteLedgerModel::dataChanged);
    constexpr int Writes = 100;
    constexpr qint64 Size = 4096;
    // Writes without the event loop running: views hear about them in one insertion.
    for (int i = 0; i < Writes; ++i)
        a->write(rilltest::pattern(Size, quint32(i)));
    QCOMPARE(inserted.count(), 0);
    QVERIFY2(inserted.wait(Timeout), "no rows were inserted");
    QCOMPARE(inserted.count(), 1);
    QCOMPARE(inserted.at(0).at(1).toInt(), 0);
    QCOMPARE(inserted.at(0).at(2).toInt(), Writes - 1);
    QCOMPARE(model.rowCount(), Writes);
    QTRY_VERIFY2_WITH_TIMEOUT(model.waitingCount() > 0, "writes should wait", Timeout);

    // Reading lets them all through: every row changes, and views hear of it in one
    // dataChanged at the next update (none in between: the interval is long meanwhile).
    model.setUpdateInterval(3600 * 1000);
    changed.clear();
    QCOMPARE(drain(b.get(), Writes * Size), Writes * Size);
    QTRY_COMPARE_WITH_TIMEOUT(a->stats().bytesWritten, Writes * Size, Timeout);
    QCOMPARE(changed.count(), 0);
    model.setUpdateInterval(10);
    QVERIFY2(changed.wait(Timeout), "no dataChanged for rows that changed");
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toModelIndex().column(), 0);
    QCOMPARE(changed.at(0).at(1).toModelIndex().column(), WriteLedgerModel::ColumnCount - 1);
    QCOMPARE(changed.at(0).at(1).toModelIndex().row(), Writes - 1);
    QCOMPARE(model.waitingCount(), 0);
    for (int row = 0; row < Writes; ++row)
        QCOMPARE(stateAt(model, row), EntryState::Sent);
}

void tst_WriteLedgerModel::keepsTheLastEntries()
{
    auto [a, b] = PipeFlow::createPair();
    WriteLedgerModel model(a.get());
    model.setMaxEntries(10);
    QSignalSpy droppedSpy(&model, &WriteLedgerModel::droppedCountChanged);
    for (int i = 0; i < 6; ++i)
        a->write(QByteArray(1, 'x'));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 6, Timeout);
    QCOMPARE(model.droppedCount(), 0);

    // Shown rows go from the top.
    QSignalSpy removed(&model, &WriteLedgerModel::rowsRemoved);
    for (int i = 0; i < 19; ++i)
        a->write(QByteArray(1, 'x'));
    QTRY_COMPARE_WITH_TIMEOUT(model.droppedCount(), 15, Timeout);
    QCOMPARE(model.rowCount(), 10);
    QCOMPARE(idAt(model, 0), 16);
    QCOMPARE(idAt(model, 9), 25);
    QVERIFY2(!removed.isEmpty(), "dropped rows should be removed from the top");
    QCOMPARE(removed.at(0).at(1).toInt(), 0);
    QCOMPARE(droppedSpy.last().at(0).toLongLong(), 15);

    // A smaller bound applies at the next update.
    model.setMaxEntries(4);
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 4, Timeout);
    QCOMPARE(model.droppedCount(), 21);
    QCOMPARE(idAt(model, 0), 22);
}

void tst_WriteLedgerModel::boundHoldsBetweenUpdates()
{
    auto [a, b] = PipeFlow::createPair();
    WriteLedgerModel model(a.get());
    model.setMaxEntries(50);
    QSignalSpy inserted(&model, &WriteLedgerModel::rowsInserted);
    for (int i = 0; i < 5000; ++i)
        a->write(QByteArray(1, 'x'));
    QVERIFY2(inserted.wait(Timeout), "no rows were inserted");
    QCOMPARE(model.rowCount(), 50);
    QCOMPARE(model.droppedCount(), 4950);
    QCOMPARE(idAt(model, 0), 4951);
    QCOMPARE(idAt(model, 49), 5000);
}

void tst_WriteLedgerModel::setFlowStartsAfresh()
{
    auto [a, b] = PipeFlow::createPair();
    WriteLedgerModel model;
    QSignalSpy flowSpy(&model, &WriteLedgerModel::flowChanged);
    model.setMaxEntries(2);
    model.setFlow(a.get());
    QCOMPARE(flowSpy.count(), 1);
    for (int i = 0; i < 5; ++i)
        a->write(QByteArray(1, 'x'));
    QTRY_COMPARE_WITH_TIMEOUT(model.droppedCount(), 3, Timeout);
    model.setFlow(b.get());
    QCOMPARE(model.rowCount(), 0);
    QCOMPARE(model.droppedCount(), 0);
    a->write(QByteArray(1, 'y')); // no longer watched
    b->write(QByteArray(1, 'z'));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1, Timeout);
    QCOMPARE(idAt(model, 0), 1); // b's first write
}

void tst_WriteLedgerModel::survivesItsFlow()
{
    auto [a, b] = PipeFlow::createPair();
    WriteLedgerModel model(a.get());
    QSignalSpy flowSpy(&model, &WriteLedgerModel::flowChanged);
    a->write(QByteArrayLiteral("last words"));
    QTRY_COMPARE_WITH_TIMEOUT(model.rowCount(), 1, Timeout);
    a.reset();
    QCOMPARE(flowSpy.count(), 1);
    QCOMPARE(model.flow(), nullptr);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(cell(model, 0, WriteLedgerModel::SizeRole).toLongLong(), 10);
}

QTEST_GUILESS_MAIN(tst_WriteLedgerModel)
#include "tst_writeledgermodel.moc"
