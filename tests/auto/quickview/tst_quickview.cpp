// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT

// The inspector's Qt Quick view (rill::quick::createInspectorView) over a demo made here: echo
// servers on TCP and on a Unix socket, three clients, and every server-side flow, all in one
// FlowTableModel. The view must show each flow with its lamps, the selected flow's write ledger
// and data log, and render something (a screenshot is left in the build folder).

#include "echoserver.h"

#include "../shared/testutil.h"

#include <rill/flowtablemodel.h>
#include <rill/quick/inspector.h>
#include <rill/writeledgermodel.h>

#include <QtCore/QTemporaryDir>
#include <QtGui/QImage>
#include <QtGui/QPalette>
#include <QtQuick/QQuickItem>
#include <QtQuick/QQuickWindow>
#include <QtTest/QtTest>

using namespace std::chrono_literals;

namespace {

// Every item under root (visual children), depth first.
QList<QQuickItem *> allItems(QQuickItem *root)
{
    QList<QQuickItem *> items;
    const QList<QQuickItem *> children = root->childItems();
    for (QQuickItem *child : children) {
        items << child;
        items << allItems(child);
    }
    return items;
}

QQuickItem *findItem(QQuickItem *root, const QString &objectName)
{
    for (QQuickItem *item : allItems(root)) {
        if (item->objectName() == objectName)
            return item;
    }
    return nullptr;
}

// The table cells the view created under a FlowTable, as text by (row, column).
QHash<QPair<int, int>, QQuickItem *> cellsOf(QQuickItem *table)
{
    QHash<QPair<int, int>, QQuickItem *> cells;
    for (QQuickItem *item : allItems(table)) {
        if (item->objectName() == QLatin1String("cell") && item->isVisible())
            cells.insert(
                {item->property("cellRow").toInt(), item->property("cellColumn").toInt()}, item);
    }
    return cells;
}

QString cellText(QQuickItem *table, int row, int column)
{
    QQuickItem *cell = cellsOf(table).value({row, column});
    return cell ? cell->property("text").toString() : QStringLiteral("(no cell)");
}

} // namespace

class tst_QuickView : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();
    void showsTheDemosFlows();
    void lampsShowTheHalfClose();
    void selectedFlowShowsLedgerAndDataLog();
    void screenshotIsNotBlank();

private:
    // The demo: two echo servers, three clients, all flows in the model.
    void startDemo();
    rill::Flow *client(int index) const { return m_clients.at(index); }

    QTemporaryDir m_dir;
    std::unique_ptr<rill::FlowTableModel> m_model;
    std::unique_ptr<rilltest::EchoServer> m_tcpEcho;
    std::unique_ptr<rilltest::EchoServer> m_unixEcho;
    QList<rill::Flow *> m_clients; // owned by the model
    int m_served = 0;
    std::unique_ptr<QQuickView> m_view;
};

void tst_QuickView::initTestCase()
{
    QVERIFY2(m_dir.isValid(), "no temporary folder");
}

void tst_QuickView::init()
{
    startDemo();
    if (QTest::currentTestFailed())
        return;
    QString error;
    m_view = rill::quick::createInspectorView(m_model.get(), &error);
    QVERIFY2(m_view, qPrintable(QStringLiteral("the view did not load: ") + error));
    m_view->resize(1800, 800); // wide enough for every column: the table creates visible cells only
    m_view->show();
    QVERIFY2(QTest::qWaitForWindowExposed(m_view.get()), "the window was never exposed");
}

void tst_QuickView::cleanup()
{
    m_view.reset();
    m_clients.clear();
    m_model.reset(); // deletes the clients
    m_tcpEcho.reset();
    m_unixEcho.reset();
}

void tst_QuickView::startDemo()
{
    m_model = std::make_unique<rill::FlowTableModel>();
    m_model->setUpdateInterval(20);
    m_tcpEcho = std::make_unique<rilltest::EchoServer>();
    m_unixEcho = std::make_unique<rilltest::EchoServer>();
    m_served = 0;
    auto show = [this](const QString &transport) {
        return [this, transport](rill::Flow *flow) {
            m_model->addFlow(flow, QStringLiteral("%1 server %2").arg(transport).arg(++m_served));
        };
    };
    m_tcpEcho->setAcceptHandler(show(QStringLiteral("tcp")));
    m_unixEcho->setAcceptHandler(show(QStringLiteral("unix")));
    QVERIFY2(m_tcpEcho->listen(QStringLiteral("tcp:127.0.0.1:0")), "TCP echo server");
    QVERIFY2(m_unixEcho->listen(QStringLiteral("unix:") + m_dir.filePath(QStringLiteral("echo"))),
        "Unix echo server");

    const QStringList endpoints {
        m_tcpEcho->endpoint(), m_tcpEcho->endpoint(), m_unixEcho->endpoint()};
    for (int i = 0; i < endpoints.size(); ++i) {
        auto future = rill::connectTo(rill::Endpoint::parse(endpoints.at(i)));
        rill::FlowResult<rill::Flow> result;
        RILL_AWAIT(future, result);
        QVERIFY2(result.isOk(), qPrintable(rill::errorMessage(result.error())));
        rill::Flow *flow = result.flow();
        m_model->adoptFlow(result.takeFlow(), QStringLiteral("client %1").arg(i + 1));
        m_clients << flow;
    }
    QVERIFY2(rilltest::spinUntil([this] { return m_model->count() == 6; }),
        "the model never showed the three clients and their three server flows");

    // Traffic on every client, read back so the echo keeps going.
    for (int i = 0; i < m_clients.size(); ++i) {
        const QByteArray line = "hello from client " + QByteArray::number(i + 1) + "\n";
        auto written = client(i)->write(line);
        RILL_AWAIT_VOID(written);
        const rilltest::Drained echoed = rilltest::readToEnd(client(i), line.size());
        QVERIFY2(echoed.finished && echoed.data == line, "the echo did not come back");
    }
    // Client 2 half-closes: its write side closes; the server ends its side in answer.
    client(1)->shutdown(rill::Flow::Direction::Write);
    const rilltest::Drained rest = rilltest::readToEnd(client(1));
    QVERIFY2(rest.finished && rest.end.isEof(), "client 2 never saw the server's end of stream");
}

void tst_QuickView::showsTheDemosFlows()
{
    QQuickItem *root = m_view->rootObject();
    QCOMPARE(root->objectName(), QStringLiteral("inspectorView"));
    QQuickItem *table = findItem(root, QStringLiteral("flowTable"));
    QVERIFY2(table, "no item named flowTable");
    QCOMPARE(table->property("rows").toInt(), 6);
    QCOMPARE(table->property("columns").toInt(), int(rill::FlowTableModel::ColumnCount));

    QQuickItem *countLabel = findItem(root, QStringLiteral("flowCountLabel"));
    QVERIFY2(countLabel, "no flow count label");
    QVERIFY2(countLabel->property("text").toString().startsWith(QLatin1String("6 ")),
        qPrintable(countLabel->property("text").toString()));

    // Every row's name cell shows the demo's name for that flow.
    QSet<QString> names;
    QTRY_VERIFY2_WITH_TIMEOUT(
        [&] {
            names.clear();
            const auto cells = cellsOf(table);
            for (auto it = cells.cbegin(); it != cells.cend(); ++it) {
                if (it.key().second == rill::FlowTableModel::NameColumn)
                    names << it.value()->property("text").toString();
            }
            return names.size() == 6;
        }(),
        "the table does not show six named rows", 15000);
    const QSet<QString> expected {QStringLiteral("client 1"), QStringLiteral("client 2"),
        QStringLiteral("client 3"), QStringLiteral("tcp server 1"), QStringLiteral("tcp server 2"),
        QStringLiteral("unix server 3")};
    QCOMPARE(names, expected);

    // The peer column of client 1 names the TCP echo server.
    const int row = m_model->rowOf(client(0));
    QTRY_COMPARE_WITH_TIMEOUT(cellText(table, row, rill::FlowTableModel::PeerEndpointColumn),
        m_tcpEcho->endpoint(), 15000);
}

void tst_QuickView::lampsShowTheHalfClose()
{
    QQuickItem *table = findItem(m_view->rootObject(), QStringLiteral("flowTable"));
    QVERIFY2(table, "no item named flowTable");
    auto lamp = [&](rill::Flow *flow, int column) {
        const auto cells = cellsOf(table);
        QQuickItem *cell = cells.value({m_model->rowOf(flow), column});
        return cell ? cell->property("lampState").toString() : QStringLiteral("(no cell)");
    };
    // Client 2 half-closed, then saw the server's end of stream: both sides ended.
    QTRY_COMPARE_WITH_TIMEOUT(
        lamp(client(1), rill::FlowTableModel::WriteStateColumn), QStringLiteral("ended"), 15000);
    QCOMPARE(lamp(client(1), rill::FlowTableModel::ReadStateColumn), QStringLiteral("ended"));
    // Client 1 is open both ways.
    QCOMPARE(lamp(client(0), rill::FlowTableModel::ReadStateColumn), QStringLiteral("open"));
    QCOMPARE(lamp(client(0), rill::FlowTableModel::WriteStateColumn), QStringLiteral("open"));
    QCOMPARE(lamp(client(0), rill::FlowTableModel::StateColumn), QStringLiteral("open"));
    // No lamp outside the state columns.
    QCOMPARE(lamp(client(0), rill::FlowTableModel::NameColumn), QString());

    // Client 3 is aborted: failed both ways.
    client(2)->abort();
    QTRY_COMPARE_WITH_TIMEOUT(
        lamp(client(2), rill::FlowTableModel::ReadStateColumn), QStringLiteral("failed"), 15000);
    QCOMPARE(lamp(client(2), rill::FlowTableModel::WriteStateColumn), QStringLiteral("failed"));
    QTRY_VERIFY2_WITH_TIMEOUT(
        cellText(table, m_model->rowOf(client(2)), rill::FlowTableModel::LastErrorColumn)
            .contains(QLatin1String("aborted")),
        "the last error column does not say aborted", 15000);
}

void tst_QuickView::selectedFlowShowsLedgerAndDataLog()
{
    QQuickItem *root = m_view->rootObject();
    // The first flow is selected to begin with.
    QTRY_COMPARE_WITH_TIMEOUT(root->property("currentRow").toInt(), 0, 15000);

    // Click client 3's name to select it.
    const int row = m_model->rowOf(client(2));
    QQuickItem *table = findItem(root, QStringLiteral("flowTable"));
    QVERIFY2(table, "no item named flowTable");
    QQuickItem *nameCell = nullptr;
    QTRY_VERIFY_WITH_TIMEOUT(
        (nameCell = cellsOf(table).value({row, rill::FlowTableModel::NameColumn})), 15000);
    const QPoint center
        = nameCell->mapToScene(QPointF(nameCell->width() / 2, nameCell->height() / 2)).toPoint();
    QTest::mouseClick(m_view.get(), Qt::LeftButton, {}, center);
    QTRY_COMPARE_WITH_TIMEOUT(root->property("currentRow").toInt(), row, 15000);
    QCOMPARE(root->property("currentId").toLongLong(), m_model->idOf(client(2)));
    QCOMPARE(root->property("currentFlow").value<rill::Flow *>(), client(2));
    QCOMPARE(table->property("currentRow").toInt(), row);
    QCOMPARE(nameCell->property("color").value<QColor>(),
        m_view->rootObject()->property("palette").value<QPalette>().highlight().color());

    auto *ledger = root->findChild<rill::WriteLedgerModel *>(QStringLiteral("ledgerModel"));
    QVERIFY2(ledger, "no write ledger model in the view");
    QCOMPARE(ledger->flow(), client(2));
    auto *dataLog = root->findChild<QAbstractItemModel *>(QStringLiteral("dataLogModel"));
    QVERIFY2(dataLog, "no data log model in the view");

    // Three writes while selected: three ledger rows, and out and in chunks in the data log.
    for (int i = 0; i < 3; ++i) {
        auto written = client(2)->write("line " + QByteArray::number(i) + "\n");
        RILL_AWAIT_VOID(written);
    }
    const rilltest::Drained echoed = rilltest::readToEnd(client(2), 21);
    QVERIFY2(echoed.finished, "the echo did not come back");

    QQuickItem *ledgerView = findItem(root, QStringLiteral("ledgerView"));
    QVERIFY2(ledgerView, "no item named ledgerView");
    QTRY_COMPARE_WITH_TIMEOUT(ledgerView->property("rows").toInt(), 3, 15000);
    QTRY_VERIFY2_WITH_TIMEOUT(
        [&] {
            const auto cells = cellsOf(ledgerView);
            int sent = 0;
            for (auto it = cells.cbegin(); it != cells.cend(); ++it) {
                if (it.key().second == rill::WriteLedgerModel::StateColumn
                    && it.value()->property("text").toString() == QLatin1String("sent"))
                    ++sent;
            }
            return sent == 3;
        }(),
        "the ledger view does not show three sent writes", 15000);

    QQuickItem *dataLogView = findItem(root, QStringLiteral("dataLogView"));
    QVERIFY2(dataLogView, "no item named dataLogView");
    QTRY_VERIFY2_WITH_TIMEOUT(dataLog->property("bytesIn").toLongLong() == 21
            && dataLog->property("bytesOut").toLongLong() == 21,
        "the data log did not see 21 bytes each way", 15000);
    QTRY_COMPARE_WITH_TIMEOUT(dataLogView->property("count").toInt(), dataLog->rowCount(), 15000);
    QVERIFY2(dataLog->rowCount() >= 2, "the data log has no in and out entries");
    QSet<QString> directions;
    QString text;
    for (int r = 0; r < dataLog->rowCount(); ++r) {
        const QModelIndex index = dataLog->index(r, 0);
        directions << dataLog->data(index, Qt::UserRole + 3).toString();
        text += dataLog->data(index, Qt::DisplayRole).toString();
    }
    QCOMPARE(directions, (QSet<QString> {QStringLiteral("in"), QStringLiteral("out")}));
    QVERIFY2(text.contains(QLatin1String("line 0\\n")), qPrintable(text));
}

void tst_QuickView::screenshotIsNotBlank()
{
    // Client 1 selected, with some traffic in its ledger and data log.
    QQuickItem *root = m_view->rootObject();
    root->setProperty("currentId", m_model->idOf(client(0)));
    for (int i = 0; i < 5; ++i) {
        auto written = client(0)->write("GET /item/" + QByteArray::number(i) + " HTTP/1.0\r\n");
        RILL_AWAIT_VOID(written);
    }
    QQuickItem *ledgerView = findItem(root, QStringLiteral("ledgerView"));
    QQuickItem *dataLogView = findItem(root, QStringLiteral("dataLogView"));
    QVERIFY2(ledgerView && dataLogView, "no ledger or data log view");
    QTRY_COMPARE_WITH_TIMEOUT(ledgerView->property("rows").toInt(), 5, 15000);
    QTRY_VERIFY2_WITH_TIMEOUT(
        dataLogView->property("count").toInt() >= 2, "the data log shows nothing", 15000);
    QQuickItem *table = findItem(root, QStringLiteral("flowTable"));
    QVERIFY2(table, "no item named flowTable");
    QTRY_VERIFY2_WITH_TIMEOUT(cellsOf(table).size() == 6 * rill::FlowTableModel::ColumnCount,
        "the table does not show every cell", 15000);
    const QImage image = m_view->grabWindow();
    QVERIFY2(!image.isNull(), "grabWindow() gave nothing");
    QCOMPARE(image.size(), m_view->size() * m_view->devicePixelRatio());
    const QString path = QStringLiteral(RILL_BINARY_DIR "/tests/auto/quickview/inspector-view.png");
    QVERIFY2(image.save(path), qPrintable(QStringLiteral("cannot write ") + path));

    // Not blank: many colours, and the background colour covers far from everything.
    QHash<QRgb, int> histogram;
    for (int y = 0; y < image.height(); y += 2) {
        for (int x = 0; x < image.width(); x += 2)
            ++histogram[image.pixel(x, y)];
    }
    int most = 0;
    int total = 0;
    for (int n : std::as_const(histogram)) {
        most = qMax(most, n);
        total += n;
    }
    QVERIFY2(histogram.size() >= 16,
        qPrintable(QStringLiteral("only %1 colours in the screenshot").arg(histogram.size())));
    QVERIFY2(most < total * 0.95, "one colour covers more than 95% of the screenshot");
    qInfo().noquote() << "screenshot:" << path << image.size() << histogram.size() << "colours";
}

QTEST_MAIN(tst_QuickView)

#include "tst_quickview.moc"
