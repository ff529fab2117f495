// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// rill::ExchangeModel: one flow's exchanges from Probe::reportExchange(), in batches, bounded.
// (Rill::Http's own reports, against curl and Python, are tested in tst_http; the inspector's
// HTTP tab attached to rillhttp in tst_probe.)
#include <rill/exchangemodel.h>
#include <rill/pipeflow.h>
#include <rill/probe.h>

#include <QtTest/QSignalSpy>
#include <QtTest/QtTest>

using namespace rill;

namespace {

ProbeExchange request(const QString &target)
{
    ProbeExchange e;
    e.role = ProbeExchange::Role::Server;
    e.protocol = QStringLiteral("HTTP/1.1");
    e.method = QStringLiteral("GET");
    e.target = target;
    e.started = QDateTime::currentDateTime();
    return e;
}

} // namespace

class tst_ExchangeModel : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void rowsFollowReports();
    void onlyTheWatchedFlow();
    void bounded();
    void underWayShownAtOnce();
};

void tst_ExchangeModel::rowsFollowReports()
{
    PipeFlow::Pair pair = PipeFlow::createPair();
    QVERIFY(!Probe::isTracingExchanges());
    ExchangeModel model;
    QCOMPARE(model.columnCount(), int(ExchangeModel::ColumnCount));
    model.setFlow(pair.first.get());
    QVERIFY(Probe::isTracingExchanges());

    ProbeExchange e = request(QStringLiteral("/index.html"));
    e.id = Probe::reportExchange(pair.first.get(), e);
    QVERIFY(e.id != 0);
    QSignalSpy inserted(&model, &QAbstractItemModel::rowsInserted);
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(inserted.size(), 1);
    auto cell = [&model](int column) { return model.index(0, column).data().toString(); };
    QCOMPARE(cell(ExchangeModel::MethodColumn), QStringLiteral("GET"));
    QCOMPARE(cell(ExchangeModel::TargetColumn), QStringLiteral("/index.html"));
    QCOMPARE(cell(ExchangeModel::StatusColumn), QStringLiteral("pending"));
    QCOMPARE(cell(ExchangeModel::DurationColumn), QString());
    QCOMPARE(model.exchange(0).flow, Probe::flowId(pair.first.get()));
    QCOMPARE(model.index(0, 0).data(ExchangeModel::FinishedRole).toBool(), false);

    // The next steps of the same exchange change its row; no new row.
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    e.status = 200;
    e.reason = QStringLiteral("OK");
    e.headersMs = 3;
    Probe::reportExchange(pair.first.get(), e);
    e.responseBytes = 2048;
    e.durationMs = 7;
    Probe::reportExchange(pair.first.get(), e);
    QTRY_VERIFY(!changed.isEmpty());
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(cell(ExchangeModel::StatusColumn), QStringLiteral("200 OK"));
    QCOMPARE(cell(ExchangeModel::HeadersColumn), QStringLiteral("3 ms"));
    QCOMPARE(cell(ExchangeModel::DurationColumn), QStringLiteral("7 ms"));
    QCOMPARE(model.index(0, 0).data(ExchangeModel::ResponseBytesRole).toLongLong(), 2048);
    QCOMPARE(model.index(0, 0).data(ExchangeModel::StatusRole).toInt(), 200);
    QCOMPARE(model.index(0, 0).data(ExchangeModel::FinishedRole).toBool(), true);
    QCOMPARE(model.roleNames().value(ExchangeModel::TargetRole), QByteArray("target"));

    // An exchange that failed says why.
    ProbeExchange failed = request(QStringLiteral("/gone"));
    failed.durationMs = 1;
    failed.error = QStringLiteral("connection closed before the response ended");
    Probe::reportExchange(pair.first.get(), failed);
    QTRY_COMPARE(model.rowCount(), 2);
    QCOMPARE(model.index(1, ExchangeModel::ErrorColumn).data().toString(), failed.error);
    QCOMPARE(model.index(1, ExchangeModel::StatusColumn).data().toString(), QStringLiteral("(none)"));

    model.setFlow(nullptr);
    QCOMPARE(model.rowCount(), 0);
    QVERIFY(!Probe::isTracingExchanges());
}

void tst_ExchangeModel::onlyTheWatchedFlow()
{
    PipeFlow::Pair pair = PipeFlow::createPair();
    ExchangeModel model;
    model.setFlow(pair.second.get());
    Probe::reportExchange(pair.first.get(), request(QStringLiteral("/other")));
    Probe::reportExchange(pair.second.get(), request(QStringLiteral("/mine")));
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(model.exchange(0).target, QStringLiteral("/mine"));
    // Watching another flow drops the rows of the one before; what is under way on the new
    // one (its first request, not finished) shows, then what comes.
    model.setFlow(pair.first.get());
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(model.exchange(0).target, QStringLiteral("/other"));
    Probe::reportExchange(pair.first.get(), request(QStringLiteral("/next")));
    QTRY_COMPARE(model.rowCount(), 2);
    QCOMPARE(model.exchange(1).target, QStringLiteral("/next"));
}

void tst_ExchangeModel::bounded()
{
    PipeFlow::Pair pair = PipeFlow::createPair();
    ExchangeModel model;
    model.setMaxEntries(3);
    model.setFlow(pair.first.get());
    for (int i = 0; i < 5; ++i)
        Probe::reportExchange(pair.first.get(), request(QStringLiteral("/%1").arg(i)));
    QTRY_COMPARE(model.droppedCount(), 2);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.exchange(0).target, QStringLiteral("/2"));
    QCOMPARE(model.exchange(2).target, QStringLiteral("/4"));
    // A kept exchange's next report changes its row.
    ProbeExchange kept = model.exchange(1);
    kept.status = 204;
    Probe::reportExchange(pair.first.get(), kept);
    QTRY_COMPARE(model.exchange(1).status, 204);
    QCOMPARE(model.rowCount(), 3);
    model.setMaxEntries(1);
    QCOMPARE(model.rowCount(), 1);
    QCOMPARE(model.droppedCount(), 4);
    QCOMPARE(model.exchange(0).target, QStringLiteral("/4"));
}

void tst_ExchangeModel::underWayShownAtOnce()
{
    // A view that starts following a flow shows the exchanges already under way on it, each
    // at its last step, not only from their next one; finished ones are history it missed.
    PipeFlow::Pair pair = PipeFlow::createPair();
    ExchangeModel watcher; // someone traces, on another flow
    watcher.setFlow(pair.second.get());
    ProbeExchange done = request(QStringLiteral("/done"));
    done.id = Probe::reportExchange(pair.first.get(), done);
    done.durationMs = 1;
    Probe::reportExchange(pair.first.get(), done);
    ProbeExchange slow = request(QStringLiteral("/slow"));
    slow.id = Probe::reportExchange(pair.first.get(), slow);
    slow.status = 200;
    slow.headersMs = 5;
    Probe::reportExchange(pair.first.get(), slow);
    QCOMPARE(Probe::exchangesInFlight(pair.first.get()).size(), 1);

    ExchangeModel model;
    model.setFlow(pair.first.get());
    QTRY_COMPARE(model.rowCount(), 1);
    QCOMPARE(model.exchange(0).target, QStringLiteral("/slow"));
    QCOMPARE(model.exchange(0).status, 200);
    QVERIFY(!model.exchange(0).isFinished());
    // Its end, as it comes, on the same row.
    slow.durationMs = 9;
    Probe::reportExchange(pair.first.get(), slow);
    QTRY_VERIFY(model.exchange(0).isFinished());
    QCOMPARE(model.rowCount(), 1);
    QVERIFY(Probe::exchangesInFlight(pair.first.get()).isEmpty());

    // The flow's end forgets what it had under way.
    ProbeExchange left = request(QStringLiteral("/left"));
    Probe::reportExchange(pair.first.get(), left);
    QCOMPARE(Probe::exchangesInFlight(pair.first.get()).size(), 1);
    const Flow *gone = pair.first.get();
    pair.first.reset();
    QVERIFY(Probe::exchangesInFlight(gone).isEmpty());
}

QTEST_GUILESS_MAIN(tst_ExchangeModel)
#include "tst_exchangemodel.moc"
