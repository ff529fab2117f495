// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "mainwindow.h"

#include "delegates.h"
#include "flowdetailview.h"
#include "session.h"

#include <rill/flowtablemodel.h>
#include <rill/probe.h>

#include <QtGui/QAction>
#include <QtGui/QIcon>
#include <QtGui/QPixmap>
#include <QtWidgets/QApplication>
#include <QtWidgets/QDialog>
#include <QtWidgets/QDialogButtonBox>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QMenuBar>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QStatusBar>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTableView>
#include <QtWidgets/QTableWidget>
#include <QtWidgets/QTextBrowser>
#include <QtWidgets/QToolBar>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>

namespace inspector {

using rill::FlowTableModel;

MainWindow::MainWindow(const Options &options, QWidget *parent) : QMainWindow(parent)
{
    setWindowTitle(tr("Rill Inspector"));
    setWindowIcon(QIcon(QStringLiteral(":/rill-inspector/rill-inspector.png")));
    m_session = new InspectorSession(this);

    // The table of flows, with a legend a newcomer can read at a glance.
    m_table = new QTableView(this);
    m_table->setObjectName(QStringLiteral("flowTable"));
    m_table->setModel(m_session->model());
    m_table->setItemDelegate(new FlowTableDelegate(m_table));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->setWordWrap(false);
    m_table->setColumnHidden(FlowTableModel::HighWaterMarkColumn, true); // in the queue bar
    QHeaderView *header = m_table->horizontalHeader();
    header->setStretchLastSection(true);
    const QFontMetrics fm = fontMetrics();
    const struct {
        int column;
        const char *sample;
    } widths[] = {
        {FlowTableModel::IdColumn, "0000"},
        {FlowTableModel::NameColumn, "demo unix echo server 1 "},
        {FlowTableModel::TransportColumn, "Transport"},
        {FlowTableModel::LocalEndpointColumn, "tcp:127.0.0.1:65535 "},
        {FlowTableModel::PeerEndpointColumn, "tcp:127.0.0.1:65535 "},
        {FlowTableModel::StateColumn, "connecting "},
        {FlowTableModel::ReadStateColumn, "●  EOF seen  "},
        {FlowTableModel::WriteStateColumn, "●  shutting down "},
        {FlowTableModel::BytesInColumn, "1023.0 MiB "},
        {FlowTableModel::BytesOutColumn, "1023.0 MiB "},
        {FlowTableModel::BytesQueuedColumn, "1023 KiB / 1023 KiB  "},
        {FlowTableModel::WritesWaitingColumn, "Waiting "},
    };
    for (const auto &w : widths)
        header->resizeSection(w.column, fm.horizontalAdvance(QString::fromLatin1(w.sample)) + 12);

    auto *legend = new QLabel(
        tr("Each row is a flow. &nbsp;<b>Read / Write</b> lamps: "
           "<span style='color:%1'>●</span> open &nbsp; "
           "<span style='color:%2'>●</span> shutting down (flushing before the FIN) &nbsp; "
           "<span style='color:%3'>●</span> EOF seen / FIN sent &nbsp; "
           "<span style='color:%4'>●</span> failed. &nbsp; <b>Queued</b>: accepted by write() "
           "but not yet handed to the kernel, against the high-water mark; <b>Waiting</b>: "
           "writes held back while the queue is full.")
            .arg(colors::open().name(), colors::shuttingDown().name(), colors::ended().name(),
                colors::failed().name()),
        this);
    legend->setObjectName(QStringLiteral("legend"));
    legend->setWordWrap(true);

    auto *top = new QWidget(this);
    auto *topLayout = new QVBoxLayout(top);
    topLayout->setContentsMargins(6, 4, 6, 0);
    topLayout->addWidget(legend);
    topLayout->addWidget(m_table, 1);

    m_detail = new FlowDetailView(m_session, this);
    m_detail->setObjectName(QStringLiteral("detailView"));
    m_detail->setContentsMargins(6, 0, 6, 0);
    connect(m_detail, &FlowDetailView::message, this, &MainWindow::showMessage);

    auto *splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(top);
    splitter->addWidget(m_detail);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    splitter->setChildrenCollapsible(false);
    setCentralWidget(splitter);

    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
        [this](const QModelIndex &current) {
            FlowMonitor *monitor = current.isValid() ? m_session->monitorAt(current.row()) : nullptr;
            m_detail->setMonitor(monitor);
            m_session->setShownFlow(monitor);
        });
    connect(m_table, &QTableView::clicked, this, [this] { m_userSelected = true; });
    connect(m_session, &InspectorSession::flowAdded, this, [this](FlowMonitor *monitor) {
        if (!m_table->currentIndex().isValid())
            selectFlow(monitor->flow());
        updateStatus();
    });
    connect(m_session, &InspectorSession::connectFailed, this,
        [this](const QString &endpoint, const QString &message) {
            showMessage(tr("Could not connect to %1: %2").arg(endpoint, message));
        });
    connect(m_session, &InspectorSession::listeningChanged, this, &MainWindow::updateStatus);
    connect(m_session, &InspectorSession::ticked, this,
        [this] { m_lagLabel->setText(tr("event loop lag: %1 ms").arg(m_session->recentLagMs())); });
    connect(m_session->model(), &FlowTableModel::countChanged, this, &MainWindow::updateStatus);

    m_flowsLabel = new QLabel(this);
    m_flowsLabel->setObjectName(QStringLiteral("flowsLabel"));
    m_lagLabel = new QLabel(this);
    m_lagLabel->setObjectName(QStringLiteral("lagLabel"));
    m_lagLabel->setToolTip(tr("How late the inspector's 100 ms tick ran, worst over the last "
                              "second: small means the window stays responsive"));
    statusBar()->addPermanentWidget(m_flowsLabel);
    statusBar()->addPermanentWidget(m_lagLabel);

    if (options.demo) {
        m_demo = new Demo(m_session, options.demoOptions, this);
        connect(m_demo, &Demo::failed, this, &MainWindow::showMessage);
        connect(m_demo, &Demo::ready, this, [this] {
            // Show a client in detail, TCP for the kernel's view: that is where the queue
            // fills when the reader stalls.
            QList<FlowMonitor *> clients = m_demo->clients();
            std::stable_partition(clients.begin(), clients.end(), [](FlowMonitor *m) {
                return m->flow() && m->flow()->transportName() == QLatin1String("tcp");
            });
            if (!m_userSelected && !clients.isEmpty())
                selectFlow(clients.first()->flow());
            showMessage(tr("Demo running. Try Stall reader (F8), then Faster (F7): the queue "
                           "fills and writes wait."));
        });
        connect(m_demo, &Demo::pausedChanged, this, &MainWindow::updateDemoControls);
        connect(m_demo, &Demo::speedChanged, this, &MainWindow::updateDemoControls);
        connect(m_demo, &Demo::readerStalledChanged, this, &MainWindow::updateDemoControls);
    }

    makeActions();
    makeToolBars();
    makeMenus();
    updateDemoControls();
    updateStatus();

    if (m_demo) {
        QString error;
        if (!m_demo->start(&error))
            showMessage(tr("The demo could not start: %1").arg(error));
    }
    resize(1440, 900);
}

MainWindow::~MainWindow()
{
    // The demo refers to the session: it goes first. Then the session, while this window is
    // still whole: deleting its flows removes rows (a TLS flow takes its wire's row with it),
    // which moves the table's current row, which this window's slots handle.
    delete m_demo;
    m_demo = nullptr;
    disconnect(m_table->selectionModel(), nullptr, this, nullptr);
    m_detail->setMonitor(nullptr);
    delete m_session;
    m_session = nullptr;
}

void MainWindow::makeActions()
{
    auto make = [this](const QString &name, const QString &text, const QKeySequence &key,
                    const QString &tip) {
        auto *action = new QAction(text, this);
        action->setObjectName(name);
        action->setShortcut(key);
        action->setToolTip(key.isEmpty()
                ? tip
                : QStringLiteral("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
        action->setStatusTip(tip);
        addAction(action);
        return action;
    };
    m_connect = make(QStringLiteral("connectAction"), tr("&Connect"), {},
        tr("Connect to the endpoint in the field"));
    m_listen = make(QStringLiteral("listenAction"), tr("&Listen"), QKeySequence(tr("Ctrl+Shift+L")),
        tr("Listen on the endpoint in the field; accepted flows appear in the table"));
    m_focusEndpoint = make(QStringLiteral("focusEndpointAction"), tr("&Endpoint field"),
        QKeySequence(tr("Ctrl+L")), tr("Type an endpoint to connect to"));
    m_removeClosed = make(QStringLiteral("removeClosedAction"), tr("&Remove closed flows"),
        QKeySequence(tr("Ctrl+R")), tr("Remove the rows of closed flows"));
    m_pauseTraffic = make(QStringLiteral("pauseTrafficAction"), tr("&Pause traffic"),
        QKeySequence(Qt::Key_F5), tr("Pause or resume the demo's traffic generator"));
    m_pauseTraffic->setCheckable(true);
    m_slower = make(QStringLiteral("slowerAction"), tr("&Slower"), QKeySequence(Qt::Key_F6),
        tr("Slow the demo's traffic down"));
    m_faster = make(QStringLiteral("fasterAction"), tr("&Faster"), QKeySequence(Qt::Key_F7),
        tr("Speed the demo's traffic up"));
    m_stallReader
        = make(QStringLiteral("stallReaderAction"), tr("S&tall reader"), QKeySequence(Qt::Key_F8),
            tr("The demo's echo servers stop reading: the clients' send queues fill "
               "and their writes wait"));
    m_stallReader->setCheckable(true);
    m_shortcuts = make(QStringLiteral("shortcutsAction"), tr("&Keyboard shortcuts"),
        QKeySequence(Qt::Key_F1), tr("Show the keyboard shortcuts"));
    m_quit = make(QStringLiteral("quitAction"), tr("&Quit"), QKeySequence::Quit, tr("Quit"));
    m_attach = make(QStringLiteral("attachAction"), tr("&Attach to process..."),
        QKeySequence(tr("Ctrl+Shift+A")),
        tr("Show the flows of another program of yours started with RILL_INSPECT=1"));
    connect(m_attach, &QAction::triggered, this, &MainWindow::showAttachDialog);

    connect(m_connect, &QAction::triggered, this, &MainWindow::connectToEndpoint);
    connect(m_listen, &QAction::triggered, this, &MainWindow::listenOnEndpoint);
    connect(m_focusEndpoint, &QAction::triggered, this, [this] {
        m_endpoint->setFocus();
        m_endpoint->selectAll();
    });
    connect(m_removeClosed, &QAction::triggered, m_session, &InspectorSession::removeClosedFlows);
    connect(m_pauseTraffic, &QAction::toggled, this, [this](bool paused) {
        if (m_demo)
            m_demo->setPaused(paused);
    });
    connect(m_slower, &QAction::triggered, this, [this] {
        if (m_demo)
            m_demo->setSpeed(m_demo->speed() - 1);
    });
    connect(m_faster, &QAction::triggered, this, [this] {
        if (m_demo)
            m_demo->setSpeed(m_demo->speed() + 1);
    });
    connect(m_stallReader, &QAction::toggled, this, [this](bool stalled) {
        if (m_demo)
            m_demo->setReaderStalled(stalled);
    });
    connect(m_shortcuts, &QAction::triggered, this, &MainWindow::showShortcuts);
    connect(m_quit, &QAction::triggered, this, &QWidget::close);

    const QStringList tabNames = {tr("Write ledger"), tr("Plot"), tr("Data"), tr("Events"),
                                  tr("HTTP exchanges")};
    for (int i = 0; i < tabNames.size(); ++i) {
        QAction *action = make(QStringLiteral("showTab%1Action").arg(i), tabNames[i],
            QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)),
            tr("Show the %1 of the selected flow").arg(i == FlowDetailView::ExchangesTab ? tabNames[i] : tabNames[i].toLower()));
        connect(
            action, &QAction::triggered, this, [this, i] { m_detail->tabs()->setCurrentIndex(i); });
        m_tabActions << action;
    }
    for (QAction *action : m_detail->flowActions())
        addAction(action);
}

void MainWindow::makeToolBars()
{
    QToolBar *connections = addToolBar(tr("Connections"));
    connections->setObjectName(QStringLiteral("connectionsToolBar"));
    connections->setMovable(false);
    connections->addWidget(new QLabel(tr(" Endpoint "), connections));
    m_endpoint = new QLineEdit(connections);
    m_endpoint->setObjectName(QStringLiteral("endpointEdit"));
    m_endpoint->setPlaceholderText(tr("tcp:HOST:PORT or unix:PATH"));
    m_endpoint->setMinimumWidth(
        fontMetrics().horizontalAdvance(QStringLiteral("tcp:127.0.0.1:65535 and more")));
    m_endpoint->setClearButtonEnabled(true);
    connect(m_endpoint, &QLineEdit::returnPressed, m_connect, &QAction::trigger);
    connections->addWidget(m_endpoint);
    connections->addAction(m_connect);
    connections->addAction(m_listen);
    connections->addSeparator();
    connections->addAction(m_removeClosed);

    QToolBar *demo = nullptr;
    if (m_demo) {
        demo = addToolBar(tr("Demo"));
        demo->setObjectName(QStringLiteral("demoToolBar"));
        demo->setMovable(false);
        demo->addWidget(new QLabel(tr(" Demo traffic: "), demo));
        demo->addAction(m_pauseTraffic);
        demo->addAction(m_slower);
        m_speedLabel = new QLabel(demo);
        m_speedLabel->setObjectName(QStringLiteral("speedLabel"));
        m_speedLabel->setMinimumWidth(
            fontMetrics().horizontalAdvance(QStringLiteral("faster: 6 MiB a second")) + 12);
        m_speedLabel->setAlignment(Qt::AlignCenter);
        demo->addWidget(m_speedLabel);
        demo->addAction(m_faster);
        demo->addSeparator();
        demo->addAction(m_stallReader);
    }
    // Each action's button gets a name, for tests and style sheets.
    for (QToolBar *bar : {connections, demo}) {
        if (!bar)
            continue;
        for (QAction *action : bar->actions()) {
            QWidget *button = bar->widgetForAction(action);
            if (button && !action->objectName().isEmpty())
                button->setObjectName(action->objectName() + QStringLiteral("Button"));
        }
    }
}

void MainWindow::makeMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(m_focusEndpoint);
    file->addAction(m_connect);
    file->addAction(m_listen);
    file->addAction(m_removeClosed);
    file->addSeparator();
    file->addAction(m_attach);
    file->addSeparator();
    file->addAction(m_quit);

    QMenu *flow = menuBar()->addMenu(tr("F&low"));
    for (QAction *action : m_detail->flowActions())
        flow->addAction(action);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    for (QAction *action : std::as_const(m_tabActions))
        view->addAction(action);

    if (m_demo) {
        QMenu *demo = menuBar()->addMenu(tr("&Demo"));
        demo->addAction(m_pauseTraffic);
        demo->addAction(m_slower);
        demo->addAction(m_faster);
        demo->addAction(m_stallReader);
    }

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(m_shortcuts);
}

void MainWindow::connectToEndpoint()
{
    const QString text = m_endpoint->text().trimmed();
    if (text.isEmpty()) {
        showMessage(tr("Type an endpoint first: tcp:HOST:PORT or unix:PATH"));
        m_endpoint->setFocus();
        return;
    }
    showMessage(tr("Connecting to %1…").arg(text));
    m_session->connectTo(text);
}

void MainWindow::listenOnEndpoint()
{
    const QString text = m_endpoint->text().trimmed();
    if (text.isEmpty()) {
        showMessage(tr("Type an endpoint to listen on first, e.g. tcp:127.0.0.1:0"));
        m_endpoint->setFocus();
        return;
    }
    QString error;
    const QString endpoint = m_session->listen(text, &error);
    showMessage(endpoint.isEmpty() ? tr("Could not listen on %1: %2").arg(text, error)
                                   : tr("Listening on %1").arg(endpoint));
}

void MainWindow::selectFlow(const rill::Flow *flow)
{
    const int row = m_session->model()->rowOf(flow);
    if (row < 0)
        return;
    m_table->setCurrentIndex(m_session->model()->index(row, FlowTableModel::NameColumn));
    m_table->selectRow(row);
}

rill::Flow *MainWindow::selectedFlow() const
{
    const QModelIndex current = m_table->currentIndex();
    return current.isValid() ? m_session->model()->flow(current.row()) : nullptr;
}

void MainWindow::updateStatus()
{
    const QStringList listening = m_session->listeningEndpoints();
    m_flowsLabel->setText(tr("%n flow(s)", nullptr, m_session->model()->rowCount())
        + (listening.isEmpty()
                ? QString()
                : tr(" · listening on %1").arg(listening.join(QStringLiteral(", ")))));
}

void MainWindow::updateDemoControls()
{
    if (!m_demo)
        return;
    {
        const QSignalBlocker a(m_pauseTraffic);
        const QSignalBlocker b(m_stallReader);
        m_pauseTraffic->setChecked(m_demo->isPaused());
        m_stallReader->setChecked(m_demo->isReaderStalled());
    }
    m_slower->setEnabled(m_demo->speed() > 0);
    m_faster->setEnabled(m_demo->speed() < Demo::SpeedCount - 1);
    if (m_speedLabel)
        m_speedLabel->setText(m_demo->isPaused() ? tr("paused") : Demo::speedName(m_demo->speed()));
}

void MainWindow::showShortcuts()
{
    QString rows;
    auto add = [&rows](const QList<QAction *> &actions) {
        for (const QAction *action : actions) {
            if (action->shortcut().isEmpty())
                continue;
            QString text = action->text();
            text.remove(QLatin1Char('&'));
            rows += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td><td>%3</td></tr>")
                        .arg(action->shortcut().toString(QKeySequence::NativeText).toHtmlEscaped(),
                            text.toHtmlEscaped(), action->statusTip().toHtmlEscaped());
        }
    };
    add({m_focusEndpoint, m_listen, m_removeClosed});
    add(m_detail->flowActions());
    add(m_tabActions);
    add({m_pauseTraffic, m_slower, m_faster, m_stallReader, m_shortcuts, m_quit});
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Keyboard shortcuts"));
    auto *text = new QTextBrowser(&dialog);
    text->setHtml(QStringLiteral("<p>Return in the endpoint field connects; Return in the send "
                                 "field sends.</p><table cellspacing=6>%1</table>")
                      .arg(rows));
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, &dialog);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto *layout = new QVBoxLayout(&dialog);
    layout->addWidget(text);
    layout->addWidget(buttons);
    dialog.resize(760, 520);
    dialog.exec();
}

void MainWindow::showAttachDialog()
{
    QDialog dialog(this);
    dialog.setWindowTitle(tr("Attach to process"));
    auto *layout = new QVBoxLayout(&dialog);
    layout->addWidget(new QLabel(
        tr("Your programs started with RILL_INSPECT=1 (or calling rill::Probe::start()):"),
        &dialog));
    auto *table = new QTableWidget(&dialog);
    table->setObjectName(QStringLiteral("processTable"));
    table->setColumnCount(4);
    table->setHorizontalHeaderLabels({tr("PID"), tr("Program"), tr("Flows"), tr("Since")});
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->verticalHeader()->hide();
    table->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(table);
    auto fill = [table] {
        const QList<rill::ProbeProcess> processes = rill::ProbeClient::processes();
        table->setRowCount(int(processes.size()));
        for (int row = 0; row < processes.size(); ++row) {
            const rill::ProbeProcess &p = processes[row];
            const QStringList cells = {QString::number(p.pid), p.program,
                QString::number(p.flows), p.started.toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))};
            for (int c = 0; c < cells.size(); ++c)
                table->setItem(row, c, new QTableWidgetItem(cells[c]));
        }
        if (!processes.isEmpty())
            table->selectRow(0);
    };
    fill();
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Attach"));
    QPushButton *refresh = buttons->addButton(tr("Refresh"), QDialogButtonBox::ActionRole);
    connect(refresh, &QPushButton::clicked, &dialog, fill);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    connect(table, &QTableWidget::cellDoubleClicked, &dialog, &QDialog::accept);
    layout->addWidget(buttons);
    dialog.resize(560, 320);
    if (dialog.exec() != QDialog::Accepted || table->currentRow() < 0)
        return;
    const qint64 pid = table->item(table->currentRow(), 0)->text().toLongLong();
    QString error;
    if (!attachTo(pid, &error))
        showMessage(error);
}

bool MainWindow::attachTo(qint64 pid, QString *error)
{
    auto *client = new rill::ProbeClient(this);
    if (!client->attach(pid, error)) {
        delete client;
        return false;
    }
    m_session->attach(client);
    connect(client, &rill::ProbeClient::attached, this, [this, client] {
        const rill::ProbeProcess p = client->process();
        showMessage(tr("Attached to %1 (process %2): %3 flows").arg(p.program).arg(p.pid).arg(p.flows));
    });
    connect(client, &rill::ProbeClient::ended, this,
        [this](const QString &reason) { showMessage(reason + tr(": its last picture stays")); });
    return true;
}

void MainWindow::showMessage(const QString &text)
{
    statusBar()->showMessage(text, 15000);
}

bool MainWindow::saveScreenshot(const QString &path, QString *error)
{
    const QPixmap pixmap = grab();
    if (pixmap.isNull() || !pixmap.save(path, "PNG")) {
        if (error)
            *error = tr("could not write the screenshot to %1").arg(path);
        return false;
    }
    return true;
}

} // namespace inspector
