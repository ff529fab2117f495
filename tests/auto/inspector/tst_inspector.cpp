// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
// Rill Inspector, driven through its real main window under QT_QPA_PLATFORM=offscreen: the
// demo's bytes flow; the UI's actions reach the flows and the table and detail views show what
// happened; peers nobody here wrote (Python) see the half-closes; logs stay bounded; the
// program's headless and screenshot modes work.
#include "../shared/testcerts.h"
#include "../shared/testutil.h"

#include "delegates.h"
#include "flowdetailview.h"
#include "flowmonitor.h"
#include "mainwindow.h"
#include "plotwidget.h"
#include "session.h"

#include <rill/exchangemodel.h>
#include <rill/flowtablemodel.h>
#include <rill/listener.h>
#include <rill/tlsflow.h>

#include <QtCore/QDir>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QRegularExpression>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtGui/QImage>
#include <QtNetwork/QTcpServer>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtWidgets/QAbstractButton>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>

#include <memory>

using namespace inspector;
using rill::Flow;
using rill::FlowTableModel;

namespace {

constexpr int Timeout = 30000;
// The demo's flows: a client and an echo server's flow over TCP and over a Unix socket, and
// the HTTP client's connection with the HTTP server's end of it.
constexpr int DemoFlows = 6;

std::unique_ptr<MainWindow> openWindow(const Demo::Options &demo = {}, bool withDemo = true)
{
    MainWindow::Options options;
    options.demo = withDemo;
    options.demoOptions = demo;
    auto window = std::make_unique<MainWindow>(options);
    window->show();
    return window;
}

QVariant cell(MainWindow *window, const Flow *flow, int role)
{
    FlowTableModel *model = window->session()->model();
    return model->data(model->index(model->rowOf(flow), 0), role);
}

QString cellText(MainWindow *window, const Flow *flow, int column)
{
    FlowTableModel *model = window->session()->model();
    return model->data(model->index(model->rowOf(flow), column)).toString();
}

FlowMonitor *demoFlow(MainWindow *window, const QString &transport, bool client)
{
    const QList<FlowMonitor *> monitors
        = client ? window->demo()->clients() : window->demo()->servers();
    for (FlowMonitor *monitor : monitors) {
        if (monitor->flow() && monitor->flow()->transportName() == transport)
            return monitor;
    }
    return nullptr;
}

// How close two colours are (0: the same).
int colorDistance(const QColor &a, const QColor &b)
{
    return qAbs(a.red() - b.red()) + qAbs(a.green() - b.green()) + qAbs(a.blue() - b.blue());
}

// Why an image looks blank, or "" if it does not: a real view has many colours and no colour
// covering almost everything.
QString blankness(const QImage &image)
{
    if (image.isNull() || image.width() < 100 || image.height() < 100)
        return QStringLiteral("the image is empty or tiny");
    QHash<QRgb, int> counts;
    int samples = 0;
    for (int y = 0; y < image.height(); y += 2) {
        for (int x = 0; x < image.width(); x += 2) {
            ++counts[image.pixel(x, y)];
            ++samples;
        }
    }
    int most = 0;
    for (int n : std::as_const(counts))
        most = qMax(most, n);
    if (counts.size() < 16)
        return QStringLiteral("only %1 colours").arg(counts.size());
    if (most > samples * 9 / 10)
        return QStringLiteral("one colour covers %1% of it").arg(most * 100 / samples);
    return {};
}

// Pixels within `tolerance` of a colour.
int pixelsNear(const QImage &image, const QColor &color, int tolerance = 60)
{
    int n = 0;
    for (int y = 0; y < image.height(); ++y) {
        for (int x = 0; x < image.width(); ++x) {
            if (colorDistance(image.pixelColor(x, y), color) <= tolerance)
                ++n;
        }
    }
    return n;
}

QString screenshotDir()
{
    const QString dir = QStringLiteral(RILL_BINARY_DIR "/inspector-screenshots");
    QDir().mkpath(dir);
    return dir;
}

// A peer nobody here wrote: Python's socket module, driven through stdin/stdout.
class PythonPeer {
public:
    explicit PythonPeer(const QString &script, const QStringList &args = {})
    {
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start(QStringLiteral("python3"),
            QStringList {QStringLiteral("-u"), QStringLiteral("-c"), script} + args);
    }
    ~PythonPeer()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.kill();
            m_process.waitForFinished();
        }
    }
    // The next line it prints (without the newline), or "" if none comes in time. The event
    // loop runs meanwhile: the flows on the other end need it.
    QString readLine(int timeoutMs = Timeout)
    {
        const bool ready = rilltest::spinUntil(
            [this] { return m_process.canReadLine() || m_process.state() == QProcess::NotRunning; },
            std::chrono::milliseconds(timeoutMs));
        return ready ? QString::fromUtf8(m_process.readLine()).trimmed() : QString();
    }
    void closeInput() { m_process.closeWriteChannel(); }
    bool finish()
    {
        if (m_process.state() != QProcess::NotRunning && !m_process.waitForFinished(Timeout))
            return false;
        return m_process.exitStatus() == QProcess::NormalExit && m_process.exitCode() == 0;
    }

private:
    QProcess m_process;
};

// Listens, reads to the end of stream, answers, and keeps its end open until stdin closes.
const char *const halfCloseServer = R"(
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1])
c, _ = s.accept()
data = b""
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    data += chunk
c.sendall(b"got %d bytes: %s\n" % (len(data), data.strip()))
print("eof")
sys.stdin.read()
c.close()
print("closed")
)";

// Connects, sends a line, half-closes, and keeps its end open until stdin closes.
const char *const halfCloseClient = R"(
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"ping\n")
c.shutdown(socket.SHUT_WR)
print("sent")
sys.stdin.read()
c.close()
print("closed")
)";

} // namespace

#define CLICK(window, name)                                                                        \
    do {                                                                                           \
        auto *button_ = (window)->findChild<QAbstractButton *>(QStringLiteral(name));              \
        QVERIFY2(button_, "no button " name);                                                      \
        QVERIFY2(button_->isEnabled(), "the button " name " is disabled");                         \
        QTest::mouseClick(button_, Qt::LeftButton);                                                \
    } while (false)

#define CLICK_ROW(window, target)                                                                  \
    do {                                                                                           \
        FlowTableModel *model_ = (window)->session()->model();                                     \
        const QModelIndex index_                                                                   \
            = model_->index(model_->rowOf(target), FlowTableModel::NameColumn);                    \
        QVERIFY2(index_.isValid(), "the flow has no row");                                         \
        (window)->flowTable()->scrollTo(index_);                                                   \
        QTest::mouseClick((window)->flowTable()->viewport(), Qt::LeftButton, {},                   \
            (window)->flowTable()->visualRect(index_).center());                                   \
        QVERIFY2(                                                                                  \
            (window)->selectedFlow() == (target), "clicking the row did not select the flow");     \
        QVERIFY2((window)->detailView()->monitor()                                                 \
                && (window)->detailView()->monitor()->flow() == (target),                          \
            "the detail view does not show the clicked flow");                                     \
    } while (false)

#define WAIT_FOR_DEMO(window, flows)                                                               \
    QTRY_VERIFY2_WITH_TIMEOUT(                                                                     \
        (window)->demo()->isReady() && (window)->session()->model()->rowCount() == (flows),        \
        "the demo's flows did not all appear", Timeout)

class tst_Inspector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void demoStartsAndBytesFlow();
    void shutdownWriteTurnsTheWriteLampAndPeerSeesEof();
    void stallingTheReaderFillsTheQueue();
    void pausingReadingFillsTheKernelQueue();
    void abortShowsTheError();
    void tlsFlowShowsAsBothLayers();
    void connectSendAndHalfCloseWithAPythonPeer();
    void listenAcceptsAPythonClient();
    void connectFailureIsShown();
    void logsAreBoundedAndSaySo();
    void exportsAreJsonLines();
    void hundredFlowsAtFullSpeed();
    void httpTabShowsTheDemosRequests();
    void screenshotsOfTheMainViews();
    void headlessModePrintsTheTable();
    void noDisplayFallsBackToHeadless();
    void screenshotOption();
};

void tst_Inspector::demoStartsAndBytesFlow()
{
    auto window = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowTableModel *model = window->session()->model();
    for (int row = 0; row < model->rowCount(); ++row) {
        Flow *flow = model->flow(row);
        QVERIFY2(!cell(window.get(), flow, FlowTableModel::NameRole).toString().isEmpty(),
            "every demo flow has a name");
        QTRY_VERIFY2_WITH_TIMEOUT(
            cell(window.get(), flow, FlowTableModel::BytesOutRole).toLongLong() > 0
                && cell(window.get(), flow, FlowTableModel::BytesInRole).toLongLong() > 0,
            qPrintable(QStringLiteral("no bytes flow on row %1").arg(row)), Timeout);
        QCOMPARE(cell(window.get(), flow, FlowTableModel::StateRole).value<Flow::State>(),
            Flow::State::Open);
    }
    QVERIFY2(demoFlow(window.get(), QStringLiteral("tcp"), true), "no TCP client");
    QVERIFY2(demoFlow(window.get(), QStringLiteral("unix"), true), "no Unix client");
    QVERIFY2(demoFlow(window.get(), QStringLiteral("tcp"), false), "no TCP echo server flow");
    QVERIFY2(demoFlow(window.get(), QStringLiteral("unix"), false), "no Unix echo server flow");

    // A client is selected at start, and its detail shows the traffic.
    FlowMonitor *selected = window->detailView()->monitor();
    QVERIFY2(selected && window->demo()->clients().contains(selected),
        "a demo client should be shown in detail at start");
    QTRY_VERIFY2_WITH_TIMEOUT(
        selected->ledger()->rowCount() > 0, "the ledger shows no writes", Timeout);
    window->detailView()->tabs()->setCurrentIndex(FlowDetailView::DataTab);
    QTRY_VERIFY2_WITH_TIMEOUT(
        window->detailView()->dataView()->toPlainText().contains(QStringLiteral("→ out"))
            && window->detailView()->dataView()->toPlainText().contains(QStringLiteral("← in")),
        "the data log should show both directions", Timeout);
    QVERIFY2(window->detailView()->dataView()->toPlainText().contains(QStringLiteral("message")),
        "the data log should show the demo's text");
}

void tst_Inspector::shutdownWriteTurnsTheWriteLampAndPeerSeesEof()
{
    auto window = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = demoFlow(window.get(), QStringLiteral("tcp"), true);
    FlowMonitor *server = demoFlow(window.get(), QStringLiteral("tcp"), false);
    QVERIFY2(client && server, "no TCP client and server");
    Flow *clientFlow = client->flow();
    Flow *serverFlow = server->flow();
    CLICK_ROW(window, clientFlow);
    CLICK(window, "shutdownWriteActionButton");

    // The write lamp goes to ended (FIN sent), with the table's word for it.
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), clientFlow, FlowTableModel::WriteStateRole).value<Flow::WriteState>(),
        Flow::WriteState::Closed, Timeout);
    {
        FlowTableModel *model = window->session()->model();
        QCOMPARE(model
                     ->data(model->index(model->rowOf(clientFlow), FlowTableModel::WriteStateColumn),
                         FlowTableModel::LampRole)
                     .toString(),
            QStringLiteral("ended"));
    }
    QCOMPARE(cellText(window.get(), clientFlow, FlowTableModel::WriteStateColumn),
        QStringLiteral("closed"));
    // ... and it is the write lamp that the table paints in that colour.
    {
        QTableView *table = window->flowTable();
        FlowTableModel *model = window->session()->model();
        const QRect writeCell = table->visualRect(
            model->index(model->rowOf(clientFlow), FlowTableModel::WriteStateColumn));
        const QImage image = table->viewport()->grab().toImage();
        const int d = qMin(writeCell.height() - 8, 12);
        const QPoint lamp(writeCell.left() + 6 + d / 2, writeCell.center().y());
        const QColor painted = image.pixelColor(lamp * image.devicePixelRatio());
        QVERIFY2(colorDistance(painted, colors::ended()) < 40,
            qPrintable(QStringLiteral("the write lamp is painted %1, not the FIN-sent colour %2")
                           .arg(painted.name(), colors::ended().name())));
    }

    // The peer sees the end of stream, passes the half-close back (it echoes), and both end.
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), serverFlow, FlowTableModel::ReadStateRole).value<Flow::ReadState>(),
        Flow::ReadState::Eof, Timeout);
    QCOMPARE(cellText(window.get(), serverFlow, FlowTableModel::ReadStateColumn),
        QStringLiteral("end of stream"));
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), clientFlow, FlowTableModel::StateRole).value<Flow::State>(),
        Flow::State::Closed, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), serverFlow, FlowTableModel::StateRole).value<Flow::State>(),
        Flow::State::Closed, Timeout);
    QCOMPARE(cell(window.get(), clientFlow, FlowTableModel::LastErrorRole).toString(), QString());
    QCOMPARE(cell(window.get(), serverFlow, FlowTableModel::LastErrorRole).toString(), QString());
    bool serverReadEof = false;
    for (const FlowMonitor::Event &e : server->events())
        serverReadEof = serverReadEof
            || (e.kind == FlowMonitor::EventKind::ReadEnd
                && e.text == QStringLiteral("end of stream"));
    QVERIFY2(serverReadEof, "the peer's read loop should have read the end of stream");

    // On the client, the write side ended before the read side: the FIN went first.
    qsizetype writeClosed = -1;
    qsizetype readEof = -1;
    const std::deque<FlowMonitor::Event> &events = client->events();
    for (size_t i = 0; i < events.size(); ++i) {
        if (events[i].kind == FlowMonitor::EventKind::WriteState
            && events[i].value == int(Flow::WriteState::Closed) && writeClosed < 0)
            writeClosed = qsizetype(i);
        if (events[i].kind == FlowMonitor::EventKind::ReadState
            && events[i].value == int(Flow::ReadState::Eof) && readEof < 0)
            readEof = qsizetype(i);
    }
    QVERIFY2(writeClosed >= 0 && readEof > writeClosed,
        "the client's write side should close before its read side sees the echo's FIN");

    // The other demo pair is untouched.
    FlowMonitor *unixClient = demoFlow(window.get(), QStringLiteral("unix"), true);
    QCOMPARE(cell(window.get(), unixClient->flow(), FlowTableModel::StateRole).value<Flow::State>(),
        Flow::State::Open);
}

void tst_Inspector::stallingTheReaderFillsTheQueue()
{
    auto window = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = demoFlow(window.get(), QStringLiteral("tcp"), true);
    QVERIFY2(client, "no TCP client");
    Flow *flow = client->flow();
    CLICK_ROW(window, flow);

    CLICK(window, "stallReaderActionButton");
    QVERIFY2(window->demo()->isReaderStalled(), "the button did not stall the reader");
    for (FlowMonitor *server : window->demo()->servers())
        QVERIFY2(!server->isReading(), "a stalled echo server still reads");
    for (int i = window->demo()->speed(); i < Demo::SpeedCount - 1; ++i)
        CLICK(window, "fasterActionButton");
    QCOMPARE(window->demo()->speed(), Demo::SpeedCount - 1);
    QVERIFY2(
        !window->findChild<QAbstractButton *>(QStringLiteral("fasterActionButton"))->isEnabled(),
        "Faster should be disabled at full speed");

    // The queue fills to the high-water mark and writes wait: in the table ...
    QTRY_VERIFY2_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::WritesWaitingRole).toInt() > 0,
        "no writes wait with the reader stalled", Timeout);
    QVERIFY2(cell(window.get(), flow, FlowTableModel::BytesQueuedRole).toLongLong()
            >= cell(window.get(), flow, FlowTableModel::HighWaterMarkRole).toLongLong(),
        "writes wait only when the queue is at the high-water mark");
    QCOMPARE(cell(window.get(), flow, FlowTableModel::HighWaterMarkRole).toLongLong(), 64 * 1024);

    // ... and in the ledger, where the waiting writes stand out.
    window->detailView()->tabs()->setCurrentIndex(FlowDetailView::LedgerTab);
    QTableView *ledgerView = window->detailView()->ledgerView();
    QCOMPARE(ledgerView->model(), client->ledger());
    QTRY_VERIFY2_WITH_TIMEOUT(
        client->ledger()->waitingCount() > 0, "the ledger shows no waiting writes", Timeout);
    // A waiting write may be accepted at any turn of the event loop while the kernel's buffers
    // still fill: only a row that is still waiting once painted counts.
    const auto stateOf = [&](int row) {
        return ledgerView->model()
                ->index(row, 0)
                .data(rill::WriteLedgerModel::StateRole)
                .value<rill::WriteLedgerModel::EntryState>();
    };
    const auto waitingRowPaintedWaiting = [&] {
        int waitingRow = -1;
        for (int row = 0; row < ledgerView->model()->rowCount() && waitingRow < 0; ++row) {
            if (stateOf(row) == rill::WriteLedgerModel::EntryState::Waiting)
                waitingRow = row;
        }
        if (waitingRow < 0)
            return false;
        ledgerView->scrollTo(ledgerView->model()->index(waitingRow, 0));
        const QRect waitingCell = ledgerView->visualRect(
            ledgerView->model()->index(waitingRow, rill::WriteLedgerModel::QueuedColumn));
        const QImage ledgerImage = ledgerView->viewport()->grab().toImage();
        return stateOf(waitingRow) == rill::WriteLedgerModel::EntryState::Waiting
                && colorDistance(ledgerImage.pixelColor((waitingCell.topLeft() + QPoint(2, 2))
                                                        * ledgerImage.devicePixelRatio()),
                                 colors::waiting())
                < 30;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(waitingRowPaintedWaiting(),
                              "a waiting write's row should be painted in the waiting colour",
                              Timeout);
    auto *status = window->findChild<QLabel *>(QStringLiteral("ledgerStatus"));
    QTRY_VERIFY2_WITH_TIMEOUT(
        QRegularExpression(QStringLiteral("[1-9]\\d* waiting")).match(status->text()).hasMatch(),
        qPrintable(QStringLiteral("the ledger's status does not count the waiting writes: ")
            + status->text()),
        Timeout);

    // Unstalled, the queue drains.
    CLICK(window, "pauseTrafficActionButton");
    CLICK(window, "stallReaderActionButton");
    QVERIFY2(!window->demo()->isReaderStalled(), "the button did not unstall the reader");
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::WritesWaitingRole).toInt(), 0, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::BytesQueuedRole).toLongLong(), 0, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(client->ledger()->waitingCount(), 0, Timeout);
}

void tst_Inspector::pausingReadingFillsTheKernelQueue()
{
#ifndef Q_OS_LINUX
    QSKIP("the kernel's view is Linux only");
#endif
    Demo::Options demo;
    demo.speed = 2;
    auto window = openWindow(demo);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = demoFlow(window.get(), QStringLiteral("tcp"), true);
    CLICK_ROW(window, client->flow());
    CLICK(window, "pauseReadingActionButton");
    QVERIFY2(!client->isReading(), "the button did not pause the inspector's reading");
    auto *pause = window->findChild<QAbstractButton *>(QStringLiteral("pauseReadingActionButton"));
    QVERIFY2(pause->isChecked(), "the pause button should show that reading is paused");
    // Echoes keep coming, nobody reads: the kernel's receive queue fills.
    QTRY_VERIFY2_WITH_TIMEOUT(client->kernelInfo().receiveQueue > 0,
        "the kernel's receive queue stays empty while reading is paused", Timeout);
    auto *receive = window->findChild<QLabel *>(QStringLiteral("kernelReceive"));
    QTRY_VERIFY2_WITH_TIMEOUT(!receive->text().startsWith(QStringLiteral("0 B")),
        qPrintable(QStringLiteral("the side panel should show it: ") + receive->text()), Timeout);
    CLICK(window, "pauseReadingActionButton");
    QVERIFY2(client->isReading(), "the button did not resume reading");
}

void tst_Inspector::abortShowsTheError()
{
    auto window = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = demoFlow(window.get(), QStringLiteral("tcp"), true);
    FlowMonitor *server = demoFlow(window.get(), QStringLiteral("tcp"), false);
    Flow *clientFlow = client->flow();
    Flow *serverFlow = server->flow();
    CLICK_ROW(window, clientFlow);
    CLICK(window, "abortActionButton");

    QTRY_VERIFY2_WITH_TIMEOUT(cellText(window.get(), clientFlow, FlowTableModel::LastErrorColumn)
                                  .contains(QStringLiteral("aborted")),
        "the table should show the abort in the last-error column", Timeout);
    QCOMPARE(cell(window.get(), clientFlow, FlowTableModel::StateRole).value<Flow::State>(),
        Flow::State::Closed);
    QCOMPARE(
        cell(window.get(), clientFlow, FlowTableModel::WriteStateRole).value<Flow::WriteState>(),
        Flow::WriteState::Failed);
    QCOMPARE(cellText(window.get(), clientFlow, FlowTableModel::WriteStateColumn),
        QStringLiteral("failed"));
    // The peer sees a reset.
    QTRY_VERIFY2_WITH_TIMEOUT(
        !cellText(window.get(), serverFlow, FlowTableModel::LastErrorColumn).isEmpty(),
        "the peer should show the reset", Timeout);
    QCOMPARE(serverFlow->error().kind(), rill::Error::Kind::Reset);
    // The detail view says so too, and offers no more actions but export.
    window->detailView()->tabs()->setCurrentIndex(FlowDetailView::EventsTab);
    QTRY_VERIFY2_WITH_TIMEOUT(
        window->detailView()->eventView()->toPlainText().contains(QStringLiteral("error: ")),
        "the event log should show the error", Timeout);
    QVERIFY2(
        window->detailView()->eventView()->toPlainText().contains(QStringLiteral("you: abort")),
        "the event log should show the user's abort");
    QVERIFY2(
        !window->findChild<QAbstractButton *>(QStringLiteral("abortActionButton"))->isEnabled(),
        "abort should be disabled on a closed flow");
    QVERIFY2(!window->findChild<QAbstractButton *>(QStringLiteral("sendActionButton"))->isEnabled(),
        "send should be disabled on a failed flow");
}

// A TLS flow over a TCP flow shows as both: the TLS row with its session and peer certificate,
// the TCP row below it watched only (the inspector neither reads it nor acts on it, which would
// break the TLS stream). The server's close_notify turns the TLS row's read lamp.
void tst_Inspector::tlsFlowShowsAsBothLayers()
{
    if (QStandardPaths::findExecutable(QStringLiteral("openssl")).isEmpty())
        QSKIP("the openssl command is not installed");
    QTemporaryDir dir;
    QString why;
    QVERIFY2(testcerts::makeCaAndServer(dir.path(), &why), qPrintable(why));
    QSslConfiguration serverConfig = QSslConfiguration::defaultConfiguration();
    serverConfig.setLocalCertificate(testcerts::loadCert(dir.filePath(QStringLiteral("server.crt"))));
    serverConfig.setPrivateKey(testcerts::loadKey(dir.filePath(QStringLiteral("server.key"))));
    QSslConfiguration clientConfig = QSslConfiguration::defaultConfiguration();
    clientConfig.setCaCertificates({testcerts::loadCert(dir.filePath(QStringLiteral("ca.crt")))});

    auto window = openWindow({}, false);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    rill::TcpListener listener;
    QVERIFY(listener.listen(QHostAddress::LocalHost, 0));
    auto accepted = listener.accept();
    auto connecting = rill::TlsFlow::connectToHost(QStringLiteral("127.0.0.1"), listener.serverPort(), clientConfig);
    QTRY_VERIFY_WITH_TIMEOUT(accepted.isFinished(), Timeout);
    auto wire = accepted.result().takeFlow();
    QVERIFY(wire);
    auto server = std::make_unique<rill::TlsFlow>(
        wire.release(), rill::TlsFlow::Mode::Server, serverConfig);
    QTRY_VERIFY_WITH_TIMEOUT(connecting.isFinished(), Timeout);
    auto connected = connecting.result();
    QVERIFY2(connected.isOk(), qPrintable(rill::errorMessage(connected.error())));
    rill::TlsFlow *tls = connected.flow();
    FlowMonitor *tlsMonitor = window->session()->addFlow(connected.takeFlow(), QStringLiteral("tls client"));
    QVERIFY(tlsMonitor);
    FlowMonitor *wireMonitor = tlsMonitor->wire();
    QVERIFY2(wireMonitor, "the TLS flow's TCP flow should have a row of its own");
    QCOMPARE(wireMonitor->flow(), tls->wire());
    QCOMPARE(wireMonitor->carrier(), tlsMonitor);
    QCOMPARE(window->session()->model()->rowCount(), 2);
    QCOMPARE(cellText(window.get(), tls, FlowTableModel::TransportColumn), QStringLiteral("tls"));
    QCOMPARE(cellText(window.get(), tls->wire(), FlowTableModel::TransportColumn), QStringLiteral("tcp"));

    // The TLS row: session and certificate.
    CLICK_ROW(window, tls);
    auto *detail = window->detailView();
    QVERIFY2(detail->layersBox()->isVisible(), "a TLS flow should show its TLS panel");
    const QString session = window->findChild<QLabel *>(QStringLiteral("tlsSession"))->text();
    QVERIFY2(session.contains(QStringLiteral("TLS 1.")) && session.contains(tls->sessionCipherName()),
        qPrintable(session));
    const QString peer = window->findChild<QLabel *>(QStringLiteral("tlsCertificate"))->text();
    QVERIFY2(peer.contains(QStringLiteral("CN=localhost"))
            && peer.contains(QStringLiteral("issued by CN=Rill-Test-CA"))
            && peer.contains(QStringLiteral("valid until")),
        qPrintable(peer));
    const QString layers = window->findChild<QLabel *>(QStringLiteral("layerText"))->text();
    QVERIFY2(layers.contains(QStringLiteral("#%1").arg(wireMonitor->id())), qPrintable(layers));

    // The TCP row: watched only.
    CLICK_ROW(window, tls->wire());
    QVERIFY(detail->layersBox()->isVisible());
    QVERIFY2(window->findChild<QLabel *>(QStringLiteral("layerText"))->text().contains(
                 QStringLiteral("carries TLS flow #%1").arg(tlsMonitor->id())),
        qPrintable(window->findChild<QLabel *>(QStringLiteral("layerText"))->text()));
    for (const char *name : {"sendActionButton", "abortActionButton", "shutdownWriteActionButton"})
        QVERIFY2(!window->findChild<QAbstractButton *>(QLatin1String(name))->isEnabled(), name);
    QSignalSpy refused(wireMonitor, &FlowMonitor::actionFailed);
    wireMonitor->abort();
    QCOMPARE(refused.size(), 1);
    QCOMPARE(tls->wire()->state(), Flow::State::Open);

    // Bytes through TLS still arrive (the inspector reads the TLS flow, not its wire), and the
    // server's close_notify is the TLS flow's end of stream.
    QVERIFY(server->write(QByteArray("hello over tls\n")).result().isOk());
    QTRY_VERIFY_WITH_TIMEOUT(tlsMonitor->dataLog()->bytesIn() > 0, Timeout);
    server->shutdown(Flow::Direction::Write);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), tls, FlowTableModel::ReadStateRole).value<Flow::ReadState>(),
        Flow::ReadState::Eof, Timeout);
}

void tst_Inspector::connectSendAndHalfCloseWithAPythonPeer()
{
    PythonPeer peer(QString::fromLatin1(halfCloseServer));
    const QString port = peer.readLine();
    QVERIFY2(!port.isEmpty(), "the Python server did not start");

    auto window = openWindow({}, false);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QLineEdit *endpoint = window->endpointEdit();
    endpoint->setFocus();
    QTest::keyClicks(endpoint, QStringLiteral("tcp:127.0.0.1:") + port);
    QTest::keyClick(endpoint, Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(window->session()->model()->rowCount(), 1, Timeout);
    Flow *flow = window->session()->model()->flow(0);
    QCOMPARE(cell(window.get(), flow, FlowTableModel::PeerEndpointRole).toString(),
        QStringLiteral("tcp:127.0.0.1:") + port);
    QCOMPARE(window->selectedFlow(), flow); // the first flow is selected

    // Send a line from the UI, then shut down writing.
    QLineEdit *send = window->detailView()->sendEdit();
    send->setFocus();
    QTest::keyClicks(send, QStringLiteral("hello"));
    QTest::keyClick(send, Qt::Key_Return);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::BytesOutRole).toLongLong(), 6, Timeout);
    CLICK(window, "shutdownWriteActionButton");
    QCOMPARE(peer.readLine(), QStringLiteral("eof"));

    // Half-closed: our FIN is acknowledged, the peer's answer arrives, its side stays open.
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::WriteStateRole).value<Flow::WriteState>(),
        Flow::WriteState::Closed, Timeout);
    window->detailView()->tabs()->setCurrentIndex(FlowDetailView::DataTab);
    QTRY_VERIFY2_WITH_TIMEOUT(window->detailView()->dataView()->toPlainText().contains(
                                  QStringLiteral("got 6 bytes: hello")),
        "the data log should show the peer's answer", Timeout);
    QCOMPARE(cell(window.get(), flow, FlowTableModel::ReadStateRole).value<Flow::ReadState>(),
        Flow::ReadState::Open);
#ifdef Q_OS_LINUX
    QTRY_VERIFY2_WITH_TIMEOUT(
        window->detailView()->kernelLabel()->text().contains(QStringLiteral("FIN-WAIT-2")),
        qPrintable(QStringLiteral("the kernel's view should show FIN-WAIT-2: ")
            + window->detailView()->kernelLabel()->text()),
        Timeout);
#endif

    // The peer closes: the read side sees the end of stream and the flow is closed.
    peer.closeInput();
    QCOMPARE(peer.readLine(), QStringLiteral("closed"));
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::StateRole).value<Flow::State>(),
        Flow::State::Closed, Timeout);
    QCOMPARE(cell(window.get(), flow, FlowTableModel::ReadStateRole).value<Flow::ReadState>(),
        Flow::ReadState::Eof);
    QCOMPARE(cell(window.get(), flow, FlowTableModel::LastErrorRole).toString(), QString());
    QVERIFY2(peer.finish(), "the Python server failed");

    // Closed flows can be removed from the table.
    CLICK(window, "removeClosedActionButton");
    QCOMPARE(window->session()->model()->rowCount(), 0);
}

void tst_Inspector::listenAcceptsAPythonClient()
{
    auto window = openWindow({}, false);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QLineEdit *endpoint = window->endpointEdit();
    QTest::keyClicks(endpoint, QStringLiteral("tcp:127.0.0.1:0"));
    CLICK(window, "listenActionButton");
    QCOMPARE(window->session()->listeningEndpoints().size(), 1);
    const QString listening = window->session()->listeningEndpoints().first();
    QVERIFY2(window->statusBar()->currentMessage().contains(listening),
        "the status bar should say where the inspector listens");
    const QString port = listening.section(QLatin1Char(':'), -1);
    QVERIFY2(port.toInt() > 0, "listening on port 0 should pick a port");

    PythonPeer client(QString::fromLatin1(halfCloseClient), {port});
    QCOMPARE(client.readLine(), QStringLiteral("sent"));
    QTRY_COMPARE_WITH_TIMEOUT(window->session()->model()->rowCount(), 1, Timeout);
    Flow *flow = window->session()->model()->flow(0);
    QVERIFY2(cell(window.get(), flow, FlowTableModel::NameRole).toString().contains(listening),
        "an accepted flow is named after its listener");
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::BytesInRole).toLongLong(), 5, Timeout);
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::ReadStateRole).value<Flow::ReadState>(),
        Flow::ReadState::Eof, Timeout);
#ifdef Q_OS_LINUX
    QTRY_VERIFY2_WITH_TIMEOUT(
        window->detailView()->kernelLabel()->text().contains(QStringLiteral("CLOSE-WAIT")),
        qPrintable(QStringLiteral("the kernel's view should show CLOSE-WAIT: ")
            + window->detailView()->kernelLabel()->text()),
        Timeout);
#endif
    // Our close sends the FIN; both sides are done.
    CLICK(window, "closeActionButton");
    QTRY_COMPARE_WITH_TIMEOUT(
        cell(window.get(), flow, FlowTableModel::StateRole).value<Flow::State>(),
        Flow::State::Closed, Timeout);
    client.closeInput();
    QCOMPARE(client.readLine(), QStringLiteral("closed"));
    QVERIFY2(client.finish(), "the Python client failed");
}

void tst_Inspector::connectFailureIsShown()
{
    // A port nobody listens on: listen, note the port, stop.
    QTcpServer server;
    QVERIFY2(server.listen(QHostAddress::LocalHost, 0), "cannot find a free port");
    const quint16 port = server.serverPort();
    server.close();

    auto window = openWindow({}, false);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    QTest::keyClicks(window->endpointEdit(), QStringLiteral("tcp:127.0.0.1:%1").arg(port));
    QTest::keyClick(window->endpointEdit(), Qt::Key_Return);
    QTRY_VERIFY2_WITH_TIMEOUT(
        window->statusBar()->currentMessage().contains(QStringLiteral("refused")),
        qPrintable(QStringLiteral("the status bar should say the connection was refused: ")
            + window->statusBar()->currentMessage()),
        Timeout);
    QCOMPARE(window->session()->model()->rowCount(), 0);

    window->endpointEdit()->clear();
    QTest::keyClicks(window->endpointEdit(), QStringLiteral("nonsense"));
    QTest::keyClick(window->endpointEdit(), Qt::Key_Return);
    QTRY_VERIFY2_WITH_TIMEOUT(
        window->statusBar()->currentMessage().contains(QStringLiteral("nonsense")),
        "an invalid endpoint should be reported", Timeout);
}

void tst_Inspector::logsAreBoundedAndSaySo()
{
    Demo::Options demo;
    demo.speed = Demo::SpeedCount - 1;
    auto window = openWindow(demo);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = window->detailView()->monitor();
    QVERIFY2(client, "no flow shown in detail");
    QTRY_VERIFY2_WITH_TIMEOUT(client->eventsDropped() > 0 && client->dataLog()->bytesDropped() > 0
            && client->ledger()->droppedCount() > 0,
        "at full speed the logs should fill and drop old entries", 120000);
    for (FlowMonitor *monitor : window->session()->monitors()) {
        QVERIFY2(monitor->events().size() <= size_t(FlowMonitor::MaxEvents),
            "the event log grew past its bound");
        QVERIFY2(monitor->dataLog()->bytesKept() <= monitor->dataLog()->maxBytes(),
            "the data log grew past its bound");
        QVERIFY2(monitor->ledger()->rowCount() <= monitor->ledger()->maxEntries(),
            "the ledger grew past its bound");
        QVERIFY2(monitor->samples().size() <= size_t(FlowMonitor::MaxSamples),
            "the history grew past its bound");
    }
    // The views say what was dropped.
    QTabWidget *tabs = window->detailView()->tabs();
    tabs->setCurrentIndex(FlowDetailView::EventsTab);
    auto *events = window->findChild<QLabel *>(QStringLiteral("eventStatus"));
    QTRY_VERIFY2_WITH_TIMEOUT(
        QRegularExpression(QStringLiteral("[1-9]\\d* older ones were dropped"))
            .match(events->text())
            .hasMatch(),
        qPrintable(events->text()), Timeout);
    tabs->setCurrentIndex(FlowDetailView::DataTab);
    auto *data = window->findChild<QLabel *>(QStringLiteral("dataStatus"));
    QTRY_VERIFY2_WITH_TIMEOUT(data->text().contains(QStringLiteral("did not keep"))
            && !data->text().contains(QStringLiteral("; 0 B went by")),
        qPrintable(data->text()), Timeout);
    QTRY_VERIFY2_WITH_TIMEOUT(window->detailView()->dataView()->document()->blockCount() > 1,
        "the data view shows nothing", Timeout);
    QVERIFY2(window->detailView()->dataView()->document()->blockCount() <= 3000,
        "the data view grew past its bound");
    tabs->setCurrentIndex(FlowDetailView::LedgerTab);
    auto *ledger = window->findChild<QLabel *>(QStringLiteral("ledgerStatus"));
    QTRY_VERIFY2_WITH_TIMEOUT(QRegularExpression(QStringLiteral("[1-9]\\d* older writes dropped"))
                                  .match(ledger->text())
                                  .hasMatch(),
        qPrintable(ledger->text()), Timeout);
}

void tst_Inspector::exportsAreJsonLines()
{
    auto window = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = demoFlow(window.get(), QStringLiteral("tcp"), true);
    QTRY_VERIFY2_WITH_TIMEOUT(
        client->dataLog()->entries().size() >= 4, "no data yet", Timeout);
    QTemporaryDir dir;
    QVERIFY2(dir.isValid(), "no temporary folder");
    QString error;
    const QString eventsPath = dir.filePath(QStringLiteral("events.jsonl"));
    const QString dataPath = dir.filePath(QStringLiteral("data.jsonl"));
    QVERIFY2(client->exportEvents(eventsPath, &error), qPrintable(error));
    QVERIFY2(client->exportData(dataPath, &error), qPrintable(error));

    QFile events(eventsPath);
    QVERIFY2(events.open(QIODevice::ReadOnly), "cannot read the exported events");
    int lines = 0;
    QSet<QString> kinds;
    while (!events.atEnd()) {
        const QByteArray line = events.readLine();
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &parseError);
        QVERIFY2(doc.isObject(),
            qPrintable(QStringLiteral("line %1 is not a JSON object: %2")
                           .arg(lines + 1)
                           .arg(parseError.errorString())));
        QVERIFY2(doc.object().contains(QStringLiteral("time"))
                && doc.object().contains(QStringLiteral("text")),
            "an event has a time and a text");
        kinds << doc.object().value(QStringLiteral("kind")).toString();
        ++lines;
    }
    QVERIFY2(lines > 3, "too few events exported");
    QVERIFY2(kinds.contains(QStringLiteral("write-queued"))
            && kinds.contains(QStringLiteral("write-sent")),
        "the exported events should include the write ledger's");

    QFile data(dataPath);
    QVERIFY2(data.open(QIODevice::ReadOnly), "cannot read the exported data");
    QByteArray out;
    while (!data.atEnd()) {
        const QJsonObject object = QJsonDocument::fromJson(data.readLine()).object();
        QVERIFY2(!object.isEmpty(), "a data line is not a JSON object");
        if (object.value(QStringLiteral("direction")).toString() == QStringLiteral("out"))
            out += QByteArray::fromBase64(
                object.value(QStringLiteral("base64")).toString().toLatin1());
    }
    QVERIFY2(
        out.contains("[demo tcp client 1] message"), "the exported data should hold what was sent");

    QString noError;
    QVERIFY2(!client->exportEvents(dir.filePath(QStringLiteral("missing/events.jsonl")), &noError),
        "exporting to a folder that does not exist should fail");
    QVERIFY2(noError.contains(QStringLiteral("cannot write")), "a failed export should say why");
}

void tst_Inspector::hundredFlowsAtFullSpeed()
{
    Demo::Options demo;
    demo.clientsPerTransport = 25; // 50 clients, 50 echo server flows
    demo.speed = Demo::SpeedCount - 1;
    auto window = openWindow(demo);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, 100 + DemoFlows - 4);
    FlowTableModel *model = window->session()->model();
    InspectorSession *session = window->session();
    auto allMoved = [model, session] {
        for (int row = 0; row < model->rowCount(); ++row) {
            if (session->monitorAt(row)->isWatchedOnly())
                continue; // the demo's HTTP, a page every half second
            if (model->data(model->index(row, 0), FlowTableModel::BytesInRole).toLongLong()
                < 256 * 1024)
                return false;
        }
        return true;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(allMoved(), "every one of the 100 flows should move data", 120000);
    qint64 total = 0;
    for (int row = 0; row < model->rowCount(); ++row)
        total += model->data(model->index(row, 0), FlowTableModel::BytesOutRole).toLongLong();
    qInfo("100 flows at full speed: %lld MiB moved in all; event loop lag: worst %lld ms, last "
          "second %lld ms",
        total / (1024 * 1024), window->session()->worstLagMs(), window->session()->recentLagMs());

    // Still responsive: the UI's actions take effect.
    window->detailView()->tabs()->setCurrentIndex(FlowDetailView::PlotTab);
    CLICK(window, "pauseTrafficActionButton");
    QVERIFY2(window->demo()->isPaused(), "pausing the traffic did not take effect");
    for (FlowMonitor *monitor : window->session()->monitors()) {
        QVERIFY2(monitor->events().size() <= size_t(FlowMonitor::MaxEvents),
            "an event log grew past its bound");
        QVERIFY2(monitor->dataLog()->bytesKept() <= monitor->dataLog()->maxBytes(),
            "a data log grew past its bound");
        QVERIFY2(monitor->ledger()->rowCount() <= monitor->ledger()->maxEntries(),
            "a ledger grew past its bound");
    }
    // With the generator paused, every queue drains.
    auto allDrained = [model] {
        for (int row = 0; row < model->rowCount(); ++row) {
            if (model->data(model->index(row, 0), FlowTableModel::BytesQueuedRole).toLongLong() > 0
                || model->data(model->index(row, 0), FlowTableModel::WritesWaitingRole).toInt() > 0)
                return false;
        }
        return true;
    };
    QTRY_VERIFY2_WITH_TIMEOUT(
        allDrained(), "the queues should drain once the traffic is paused", 120000);
}

void tst_Inspector::httpTabShowsTheDemosRequests()
{
    auto window = openWindow();
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    FlowMonitor *client = window->demo()->httpClient();
    QVERIFY2(client && client->isWatchedOnly(), "the demo's HTTP client should be watched only");
    CLICK_ROW(window, client->flow());
    FlowDetailView *detail = window->detailView();
    detail->tabs()->setCurrentIndex(FlowDetailView::ExchangesTab);
    auto *model = qobject_cast<rill::ExchangeModel *>(detail->exchangeView()->model());
    QVERIFY(model);
    auto finished = [model](const QString &target, int status) {
        for (int row = 0; row < model->rowCount(); ++row) {
            const rill::ProbeExchange e = model->exchange(row);
            if (e.isFinished() && e.target == target && e.status == status && e.error.isEmpty())
                return e;
        }
        return rill::ProbeExchange();
    };
    // A round of the demo's requests, each whole: a page, a POST, a slow one, a 404.
    QTRY_VERIFY2_WITH_TIMEOUT(finished(QStringLiteral("/"), 200).id
            && finished(QStringLiteral("/echo"), 200).id && finished(QStringLiteral("/slow"), 200).id
            && finished(QStringLiteral("/missing"), 404).id,
        "the HTTP tab should show a round of the demo's requests", Timeout);
    const rill::ProbeExchange echo = finished(QStringLiteral("/echo"), 200);
    QCOMPARE(echo.method, QStringLiteral("POST"));
    QCOMPARE(echo.role, rill::ProbeExchange::Role::Client);
    QCOMPARE(echo.requestBytes, Demo::EchoBodySize);
    QCOMPARE(echo.responseBytes, Demo::EchoBodySize);
    // The server answers /slow only after a while: the head came no sooner.
    QVERIFY(finished(QStringLiteral("/slow"), 200).headersMs >= Demo::SlowResponseMs / 2);
    const int row = model->rowCount() - 1;
    QVERIFY(!model->index(row, rill::ExchangeModel::MethodColumn).data().toString().isEmpty());

    // The server's end of the connection shows them as the server saw them.
    FlowMonitor *server = nullptr;
    for (FlowMonitor *m : window->session()->monitors())
        if (m->name() == QLatin1String("demo HTTP server 1"))
            server = m;
    QVERIFY2(server && server->isWatchedOnly(), "no watched-only HTTP server flow");
    CLICK_ROW(window, server->flow());
    QCOMPARE(detail->exchangeView()->model(), model); // one model, now for this flow
    QTRY_VERIFY2_WITH_TIMEOUT(finished(QStringLiteral("/missing"), 404).id
            && finished(QStringLiteral("/missing"), 404).role == rill::ProbeExchange::Role::Server,
        "the server's end should show its exchanges", Timeout);

    // Watched only: the inspector neither reads it nor acts on it, and says why.
    QAction *abort = detail->findChild<QAction *>(QStringLiteral("abortAction"));
    QVERIFY(abort);
    QVERIFY2(!abort->isEnabled(), "abort should be disabled for a flow the demo drives");
    QSignalSpy failed(server, &FlowMonitor::actionFailed);
    server->abort();
    QCOMPARE(failed.size(), 1);
    QVERIFY(failed[0][0].toString().contains(QStringLiteral("only watches")));
    QCOMPARE(server->flow()->state(), Flow::State::Open);
    QVERIFY(!server->isReading());
}

void tst_Inspector::screenshotsOfTheMainViews()
{
    Demo::Options demo;
    demo.speed = 3;
    auto window = openWindow(demo);
    QVERIFY(QTest::qWaitForWindowExposed(window.get()));
    WAIT_FOR_DEMO(window, DemoFlows);
    CLICK(window, "stallReaderActionButton");
    FlowMonitor *client = window->detailView()->monitor();
    QVERIFY2(client, "no flow in detail");
    QTRY_VERIFY2_WITH_TIMEOUT(client->ledger()->waitingCount() > 0 && client->samples().size() > 20,
        "the queue should fill and the plot have samples", Timeout);
    const QString dir = screenshotDir();
    const struct {
        FlowDetailView::Tab tab;
        const char *name;
    } views[] = {{FlowDetailView::LedgerTab, "inspector-ledger.png"},
        {FlowDetailView::PlotTab, "inspector-plot.png"},
        {FlowDetailView::DataTab, "inspector-data.png"},
        {FlowDetailView::EventsTab, "inspector-events.png"}};
    for (const auto &view : views) {
        window->detailView()->tabs()->setCurrentIndex(view.tab);
        window->detailView()->refresh();
        QCoreApplication::processEvents();
        const QImage image = window->grab().toImage();
        const QString path = dir + QLatin1Char('/') + QLatin1String(view.name);
        QVERIFY2(image.save(path), qPrintable(QStringLiteral("cannot write ") + path));
        const QString blank = blankness(image);
        QVERIFY2(
            blank.isEmpty(), qPrintable(QStringLiteral("%1 looks blank: %2").arg(path, blank)));
        const QImage page = window->detailView()->tabs()->currentWidget()->grab().toImage();
        const QString pageBlank = blankness(page);
        QVERIFY2(pageBlank.isEmpty(),
            qPrintable(QStringLiteral("the %1 view looks blank: %2")
                           .arg(QLatin1String(view.name), pageBlank)));
    }
    // The plot draws data, not only its axes: the full send queue's area is filled (the
    // queue's colour at the plot's fill opacity, over white).
    const QImage plot = window->detailView()->plot()->grab().toImage();
    const QColor queue = colors::shuttingDown();
    const double alpha = 70.0 / 255.0;
    const QColor fill(int(255 * (1 - alpha) + queue.red() * alpha),
        int(255 * (1 - alpha) + queue.green() * alpha),
        int(255 * (1 - alpha) + queue.blue() * alpha));
    QVERIFY2(pixelsNear(plot, fill, 12) > 500,
        qPrintable(QStringLiteral("the plot should show the filled send queue (%1 pixels of it)")
                       .arg(pixelsNear(plot, fill, 12))));
}

void tst_Inspector::headlessModePrintsTheTable()
{
    QProcess program;
    program.start(QStringLiteral(RILL_INSPECTOR_PROGRAM),
        {QStringLiteral("--headless"), QStringLiteral("--duration"), QStringLiteral("2.5")});
    QVERIFY2(program.waitForFinished(60000), "rill-inspector --headless did not quit");
    QCOMPARE(program.exitStatus(), QProcess::NormalExit);
    QCOMPARE(program.exitCode(), 0);
    const QString out = QString::fromLocal8Bit(program.readAllStandardOutput());
    QVERIFY2(out.count(QStringLiteral("--- ")) >= 2,
        qPrintable(QStringLiteral("the table should be printed every second:\n") + out));
    QVERIFY2(out.contains(QStringLiteral("QUEUED / HWM")), qPrintable(out));
    QVERIFY2(out.contains(QStringLiteral("demo tcp client 1"))
            && out.contains(QStringLiteral("demo unix echo server 1")),
        qPrintable(out));
}

void tst_Inspector::noDisplayFallsBackToHeadless()
{
#if !defined(Q_OS_UNIX) || defined(Q_OS_MACOS)
    QSKIP("the display check is for X11 and Wayland");
#endif
    QProcess program;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.remove(QStringLiteral("DISPLAY"));
    env.remove(QStringLiteral("WAYLAND_DISPLAY"));
    env.remove(QStringLiteral("QT_QPA_PLATFORM"));
    program.setProcessEnvironment(env);
    program.start(QStringLiteral(RILL_INSPECTOR_PROGRAM),
        {QStringLiteral("--duration"), QStringLiteral("1.5")});
    QVERIFY2(program.waitForFinished(60000), "rill-inspector did not quit");
    QCOMPARE(program.exitCode(), 0);
    const QString err = QString::fromLocal8Bit(program.readAllStandardError());
    const QString out = QString::fromLocal8Bit(program.readAllStandardOutput());
    QVERIFY2(err.contains(QStringLiteral("no display")) && err.contains(QStringLiteral("headless")),
        qPrintable(QStringLiteral("it should say it runs headless: ") + err));
    QVERIFY2(out.contains(QStringLiteral("demo tcp client 1")), qPrintable(out));
}

void tst_Inspector::screenshotOption()
{
    QTemporaryDir dir;
    QVERIFY2(dir.isValid(), "no temporary folder");
    const QString path = dir.filePath(QStringLiteral("shot.png"));
    QProcess program;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    program.setProcessEnvironment(env);
    program.start(QStringLiteral(RILL_INSPECTOR_PROGRAM),
        {QStringLiteral("--screenshot"), path, QStringLiteral("--screenshot-delay"),
            QStringLiteral("1500")});
    QVERIFY2(program.waitForFinished(60000), "rill-inspector --screenshot did not quit");
    QCOMPARE(program.exitCode(), 0);
    const QImage image(path);
    QVERIFY2(!image.isNull(), "no PNG written");
    QVERIFY2(image.width() >= 800 && image.height() >= 600, "the screenshot is too small");
    const QString blank = blankness(image);
    QVERIFY2(blank.isEmpty(), qPrintable(blank));
}

QTEST_MAIN(tst_Inspector)
#include "tst_inspector.moc"
