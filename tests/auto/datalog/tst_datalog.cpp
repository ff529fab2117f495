// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// DataLog: both directions' bytes, in order, bounded by entries and bytes at every moment,
// batched updates for views, and connected to the flow only while capturing.
#include "../shared/testutil.h"

#include <rill/datalog.h>
#include <rill/pipeflow.h>

#include <QtCore/QDateTime>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

using rill::DataLog;
using rill::Flow;
using rill::PipeFlow;
using Direction = rill::DataLog::Direction;

namespace {

// How many receivers a flow's data signals have: the flow copies its bytes only for them.
// (receivers() is protected; naming it through a class that makes it public is allowed.)
struct ReceiverCount : QObject {
    using QObject::receivers;
};

int dataReceivers(const Flow *flow)
{
    auto receivers = &ReceiverCount::receivers;
    return (flow->*receivers)(SIGNAL(dataArrived(QByteArray)))
        + (flow->*receivers)(SIGNAL(dataSent(QByteArray)));
}

// Writes on `from`, and reads on `to` until the bytes came, so both ends saw them go by.
bool pass(Flow *from, Flow *to, const QByteArray &bytes)
{
    from->write(bytes);
    return rilltest::readToEnd(to, bytes.size()).data == bytes;
}

} // namespace

class tst_DataLog : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void logsBothDirectionsInOrder();
    void roles();
    void keepsTheFirstBytesOfAChunk();
    void boundedByEntries();
    void boundedByBytes();
    void updatesAreBatched();
    void rowsDroppedBetweenBatchesKeepTheirSerial();
    void stopsListeningWhenNotCapturing();
    void setFlowStartsAfresh();
    void survivesItsFlow();
};

void tst_DataLog::logsBothDirectionsInOrder()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    QVERIFY(pass(a.get(), b.get(), "request"));
    QVERIFY(pass(b.get(), a.get(), "reply!"));
    const std::deque<DataLog::Entry> &entries = log.entries();
    QCOMPARE(entries.size(), size_t(2));
    QCOMPARE(entries[0].serial, 1);
    QCOMPARE(entries[0].direction, Direction::Out);
    QCOMPARE(entries[0].bytes, QByteArray("request"));
    QCOMPARE(entries[1].serial, 2);
    QCOMPARE(entries[1].direction, Direction::In);
    QCOMPARE(entries[1].bytes, QByteArray("reply!"));
    QCOMPARE(entries[1].size, 6);
    QVERIFY(qAbs(entries[1].timeMs - QDateTime::currentMSecsSinceEpoch()) < 60000);
    QCOMPARE(log.lastSerial(), 2);
    QCOMPARE(log.bytesOut(), 7);
    QCOMPARE(log.bytesIn(), 6);
    QCOMPARE(log.bytesKept(), 13);
    QCOMPARE(log.bytesDropped(), 0);
    QCOMPARE(log.droppedCount(), 0);
}

void tst_DataLog::roles()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setUpdateInterval(0);
    QVERIFY(pass(b.get(), a.get(), "line 0\n"));
    QTRY_COMPARE_WITH_TIMEOUT(log.rowCount(), 1, 30000);
    const QModelIndex row = log.index(0);
    // The QML view and its test rely on these numbers and names.
    QCOMPARE(log.data(row, Qt::UserRole + 1).toLongLong(), 1); // serial
    QCOMPARE(log.data(row, Qt::UserRole + 3).toString(), QStringLiteral("in"));
    QCOMPARE(log.data(row, DataLog::SizeRole).toLongLong(), 7);
    QCOMPARE(log.data(row, DataLog::TextRole).toString(), QStringLiteral("line 0\\n"));
    QCOMPARE(log.data(row, Qt::DisplayRole).toString(), QStringLiteral("line 0\\n"));
    QCOMPARE(log.data(row, DataLog::BytesRole).toByteArray(), QByteArray("line 0\n"));
    QVERIFY(log.data(row, DataLog::TimeRole).toDateTime().isValid());
    const QHash<int, QByteArray> names = log.roleNames();
    for (const char *name : {"serial", "time", "direction", "size", "text", "bytes", "display"})
        QVERIFY2(names.values().contains(name), name);
}

void tst_DataLog::keepsTheFirstBytesOfAChunk()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setMaxBytesPerEntry(10);
    const QByteArray big = rilltest::pattern(1000);
    QVERIFY(pass(a.get(), b.get(), big));
    QVERIFY(!log.entries().empty());
    qint64 size = 0;
    for (const DataLog::Entry &e : log.entries()) {
        QVERIFY(e.bytes.size() <= 10);
        QCOMPARE(e.bytes, big.mid(size, e.bytes.size()));
        size += e.size;
    }
    QCOMPARE(size, 1000);
    QCOMPARE(log.bytesKept() + log.bytesDropped(), 1000);
    QVERIFY(log.bytesDropped() > 0);
}

void tst_DataLog::boundedByEntries()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setMaxEntries(3);
    for (int i = 0; i < 10; ++i)
        QVERIFY(pass(a.get(), b.get(), QByteArray::number(i)));
    QCOMPARE(log.entries().size(), size_t(3));
    QCOMPARE(log.droppedCount(), 7);
    QCOMPARE(log.lastSerial(), 10);
    // Serials stay contiguous: a reader finds what is new by the last one it saw.
    QCOMPARE(log.entries().front().serial, 8);
    QCOMPARE(log.entries().back().bytes, QByteArray("9"));
    QCOMPARE(log.bytesOut(), 10);
}

void tst_DataLog::boundedByBytes()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setUpdateInterval(60000); // no batch: the bound must hold between them
    log.setMaxBytesPerEntry(4);
    log.setMaxBytes(8);
    for (int i = 0; i < 5; ++i) {
        QVERIFY(pass(a.get(), b.get(), QByteArray(10, char('a' + i))));
        QVERIFY2(log.bytesKept() <= 8, qPrintable(QString::number(log.bytesKept())));
    }
    QCOMPARE(log.entries().size(), size_t(2));
    QCOMPARE(log.bytesKept(), 8);
    QCOMPARE(log.bytesDropped(), 50 - 8);
    QCOMPARE(log.entries().back().bytes, QByteArray("eeee"));
    // maxBytes is never below one entry's worth.
    log.setMaxBytes(1);
    QCOMPARE(log.maxBytes(), 4);
    QCOMPARE(log.entries().size(), size_t(1));
}

void tst_DataLog::updatesAreBatched()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setUpdateInterval(60000);
    QSignalSpy inserted(&log, &QAbstractItemModel::rowsInserted);
    QSignalSpy counted(&log, &DataLog::countChanged);
    for (int i = 0; i < 20; ++i)
        QVERIFY(pass(a.get(), b.get(), "x"));
    // Captured, not shown yet.
    QCOMPARE(log.entries().size(), size_t(20));
    QCOMPARE(log.rowCount(), 0);
    QCOMPARE(counted.count(), 0);
    log.setUpdateInterval(0); // the batch is due now
    QTRY_COMPARE_WITH_TIMEOUT(log.rowCount(), 20, 30000);
    QCOMPARE(inserted.count(), 1); // all twenty in one
    QCOMPARE(log.count(), 20);
    QCOMPARE(counted.count(), 1);
}

void tst_DataLog::rowsDroppedBetweenBatchesKeepTheirSerial()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setUpdateInterval(0);
    log.setMaxEntries(4);
    for (int i = 0; i < 4; ++i)
        QVERIFY(pass(a.get(), b.get(), QByteArray::number(i)));
    QTRY_COMPARE_WITH_TIMEOUT(log.rowCount(), 4, 30000);
    QSignalSpy removed(&log, &QAbstractItemModel::rowsRemoved);
    log.setUpdateInterval(60000);
    for (int i = 4; i < 6; ++i)
        QVERIFY(pass(a.get(), b.get(), QByteArray::number(i)));
    // Rows 0 and 1 (serials 1, 2) went from the log; views have not heard yet.
    QCOMPARE(log.rowCount(), 4);
    QCOMPARE(log.data(log.index(0), DataLog::SerialRole).toLongLong(), 1);
    QVERIFY(!log.data(log.index(0), DataLog::BytesRole).isValid());
    QCOMPARE(log.data(log.index(2), DataLog::BytesRole).toByteArray(), QByteArray("2"));
    log.setUpdateInterval(0); // the batch is due now: two rows go, two come
    QTRY_COMPARE_WITH_TIMEOUT(log.data(log.index(0), DataLog::SerialRole).toLongLong(), 3, 30000);
    QCOMPARE(log.rowCount(), 4);
    QCOMPARE(removed.count(), 1);
    QCOMPARE(log.data(log.index(3), DataLog::BytesRole).toByteArray(), QByteArray("5"));
}

void tst_DataLog::stopsListeningWhenNotCapturing()
{
    auto [a, b] = PipeFlow::createPair();
    QCOMPARE(dataReceivers(a.get()), 0);
    {
        DataLog log(a.get());
        QCOMPARE(dataReceivers(a.get()), 2);
        QVERIFY(pass(a.get(), b.get(), "kept"));
        QSignalSpy capturing(&log, &DataLog::capturingChanged);
        log.setCapturing(false);
        QCOMPARE(capturing.count(), 1);
        QCOMPARE(dataReceivers(a.get()), 0);
        QVERIFY(pass(a.get(), b.get(), "not kept"));
        QCOMPARE(log.entries().size(), size_t(1)); // what it had stays
        log.setCapturing(true);
        QCOMPARE(dataReceivers(a.get()), 2);
        QVERIFY(pass(b.get(), a.get(), "kept too"));
        QCOMPARE(log.entries().size(), size_t(2));
        log.setFlow(b.get());
        QCOMPARE(dataReceivers(a.get()), 0);
        QCOMPARE(dataReceivers(b.get()), 2);
    }
    QCOMPARE(dataReceivers(b.get()), 0);
}

void tst_DataLog::setFlowStartsAfresh()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    log.setUpdateInterval(0);
    QVERIFY(pass(a.get(), b.get(), "one"));
    QTRY_COMPARE_WITH_TIMEOUT(log.rowCount(), 1, 30000);
    QSignalSpy reset(&log, &QAbstractItemModel::modelReset);
    QSignalSpy flowChanged(&log, &DataLog::flowChanged);
    log.setFlow(b.get());
    QCOMPARE(reset.count(), 1);
    QCOMPARE(flowChanged.count(), 1);
    QCOMPARE(log.rowCount(), 0);
    QVERIFY(log.entries().empty());
    QCOMPARE(log.bytesOut(), 0);
    QVERIFY(pass(b.get(), a.get(), "two"));
    QCOMPARE(log.entries().front().serial, 1);
    QCOMPARE(log.entries().front().direction, Direction::Out);
}

void tst_DataLog::survivesItsFlow()
{
    auto [a, b] = PipeFlow::createPair();
    DataLog log(a.get());
    QVERIFY(pass(a.get(), b.get(), "last words"));
    QSignalSpy flowChanged(&log, &DataLog::flowChanged);
    a.reset();
    QCOMPARE(flowChanged.count(), 1);
    QCOMPARE(log.flow(), nullptr);
    QCOMPARE(log.entries().back().bytes, QByteArray("last words"));
}

QTEST_GUILESS_MAIN(tst_DataLog)
#include "tst_datalog.moc"
