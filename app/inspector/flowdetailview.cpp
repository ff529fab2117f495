// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flowdetailview.h"

#include "delegates.h"
#include "flowmonitor.h"
#include "plotwidget.h"
#include "session.h"

#include <rill/exchangemodel.h>
#include <rill/flowtablemodel.h>
#include <rill/flowtext.h>

#include <QtCore/QDateTime>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRegularExpression>
#include <QtCore/QSignalBlocker>
#include <QtGui/QAction>
#include <QtGui/QFontDatabase>
#include <QtGui/QTextBlock>
#include <QtGui/QTextCursor>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QGridLayout>
#include <QtWidgets/QGroupBox>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QHeaderView>
#include <QtWidgets/QLabel>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QSplitter>
#include <QtWidgets/QTabWidget>
#include <QtWidgets/QTableView>
#include <QtWidgets/QToolButton>
#include <QtWidgets/QVBoxLayout>

#include <algorithm>
#include <cctype>

namespace inspector {

namespace {

constexpr int MaxLinesShown = 3000; // per text view; older lines scroll away
constexpr int MaxChunksPerRefresh = 200;
constexpr int MaxEventsPerRefresh = 300;
constexpr qint64 MaxFileSize = 64 * 1024 * 1024;

QString timeText(qint64 ms)
{
    return QDateTime::fromMSecsSinceEpoch(ms).toString(QStringLiteral("HH:mm:ss.zzz"));
}

QTextCharFormat format(const QColor &color, bool bold = false)
{
    QTextCharFormat f;
    f.setForeground(color);
    if (bold)
        f.setFontWeight(QFont::Bold);
    return f;
}

QPlainTextEdit *makeLog(QWidget *parent)
{
    auto *view = new QPlainTextEdit(parent);
    view->setReadOnly(true);
    view->setMaximumBlockCount(MaxLinesShown);
    view->setLineWrapMode(QPlainTextEdit::NoWrap);
    view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    view->setUndoRedoEnabled(false);
    return view;
}

bool atBottom(QPlainTextEdit *view)
{
    QScrollBar *bar = view->verticalScrollBar();
    return bar->value() >= bar->maximum() - 2;
}

} // namespace

FlowDetailView::FlowDetailView(InspectorSession *session, QWidget *parent)
    : QWidget(parent), m_session(session)
{
    m_send = makeAction(QStringLiteral("sendAction"), tr("&Send"), QKeySequence(tr("Ctrl+Return")),
        tr("Write the text field's contents to the flow"));
    m_sendFile = makeAction(QStringLiteral("sendFileAction"), tr("Send &file…"),
        QKeySequence(tr("Ctrl+O")), tr("Write a file's contents to the flow"));
    m_burst
        = makeAction(QStringLiteral("burstAction"), tr("write&v burst"), QKeySequence(tr("Ctrl+B")),
            tr("One writev() of 16 buffers of 4 KiB: they stay together in the stream"));
    m_pauseReading = makeAction(QStringLiteral("pauseReadingAction"), tr("&Pause reading"),
        QKeySequence(tr("Ctrl+P")),
        tr("Stop calling read(): the flow reads ahead a little, then the "
           "kernel's receive queue fills, then the peer's send queue"));
    m_pauseReading->setCheckable(true);
    m_shutdownWrite = makeAction(QStringLiteral("shutdownWriteAction"), tr("Shut down &write"),
        QKeySequence(tr("Ctrl+D")),
        tr("Flush the send queue, then send the end of stream (FIN); "
           "reading goes on"));
    m_shutdownRead = makeAction(QStringLiteral("shutdownReadAction"), tr("Shut down &read"),
        QKeySequence(tr("Ctrl+Shift+D")),
        tr("Reads give end of stream from now on; what arrives is "
           "discarded"));
    m_close = makeAction(QStringLiteral("closeAction"), tr("&Close"), QKeySequence(tr("Ctrl+K")),
        tr("Flush, send the FIN, and finish once the peer has ended its side too"));
    m_abort = makeAction(QStringLiteral("abortAction"), tr("&Abort"),
        QKeySequence(tr("Ctrl+Shift+K")), tr("Drop the connection now: the peer sees a reset"));
    m_exportEvents = makeAction(QStringLiteral("exportEventsAction"), tr("Export &events…"),
        QKeySequence(tr("Ctrl+S")), tr("Save this flow's event log as JSON lines"));
    m_exportData = makeAction(QStringLiteral("exportDataAction"), tr("Export &data…"),
        QKeySequence(tr("Ctrl+Shift+S")),
        tr("Save this flow's data log (both directions) as JSON lines"));

    connect(m_send, &QAction::triggered, this, &FlowDetailView::sendFromField);
    connect(m_sendFile, &QAction::triggered, this, &FlowDetailView::sendFile);
    connect(m_burst, &QAction::triggered, this, [this] {
        if (m_monitor)
            m_monitor->sendBurst(16, 4096);
    });
    connect(m_pauseReading, &QAction::toggled, this, [this](bool paused) {
        if (m_monitor)
            m_monitor->setReading(!paused);
    });
    connect(m_shutdownWrite, &QAction::triggered, this, [this] {
        if (m_monitor)
            m_monitor->shutdownWrite();
    });
    connect(m_shutdownRead, &QAction::triggered, this, [this] {
        if (m_monitor)
            m_monitor->shutdownRead();
    });
    connect(m_close, &QAction::triggered, this, [this] {
        if (m_monitor)
            m_monitor->close();
    });
    connect(m_abort, &QAction::triggered, this, [this] {
        if (m_monitor)
            m_monitor->abort();
    });
    connect(m_exportEvents, &QAction::triggered, this, &FlowDetailView::exportEvents);
    connect(m_exportData, &QAction::triggered, this, &FlowDetailView::exportData);

    m_header = new QLabel(this);
    m_header->setObjectName(QStringLiteral("flowHeader"));
    m_header->setTextFormat(Qt::RichText);
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_tabs = new QTabWidget(this);
    m_tabs->setObjectName(QStringLiteral("detailTabs"));
    m_tabs->addTab(makeLedgerTab(), tr("Write &ledger"));
    m_plot = new PlotWidget(this);
    m_plot->setObjectName(QStringLiteral("plot"));
    m_tabs->addTab(m_plot, tr("&Plot"));
    m_tabs->addTab(makeDataTab(), tr("&Data"));
    m_tabs->addTab(makeEventsTab(), tr("&Events"));
    m_tabs->addTab(makeExchangesTab(), tr("&HTTP"));
    connect(m_tabs, &QTabWidget::currentChanged, this, [this] { refresh(); });

    auto *splitter = new QSplitter(Qt::Horizontal, this);
    splitter->addWidget(m_tabs);
    splitter->addWidget(makeSidePanel());
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 1);
    splitter->setChildrenCollapsible(false);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_header);
    layout->addWidget(splitter, 1);

    if (session)
        connect(session, &InspectorSession::ticked, this, &FlowDetailView::refresh);
    setMonitor(nullptr);
}

FlowDetailView::~FlowDetailView() = default;

QAction *FlowDetailView::makeAction(
    const QString &objectName, const QString &text, const QKeySequence &key, const QString &tip)
{
    auto *action = new QAction(text, this);
    action->setObjectName(objectName);
    action->setShortcut(key);
    action->setShortcutContext(Qt::WindowShortcut);
    action->setToolTip(QStringLiteral("%1 (%2)").arg(tip, key.toString(QKeySequence::NativeText)));
    action->setStatusTip(tip);
    m_actions << action;
    return action;
}

QWidget *FlowDetailView::makeLedgerTab()
{
    auto *page = new QWidget(this);
    m_ledgerView = new QTableView(page);
    m_ledgerView->setObjectName(QStringLiteral("ledgerView"));
    m_ledgerView->setItemDelegate(new LedgerDelegate(m_ledgerView));
    m_ledgerView->verticalHeader()->hide();
    m_ledgerView->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    m_ledgerView->horizontalHeader()->setStretchLastSection(true);
    m_ledgerView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_ledgerView->setAlternatingRowColors(false);
    m_ledgerStatus = new QLabel(page);
    m_ledgerStatus->setObjectName(QStringLiteral("ledgerStatus"));
    m_followLedger = new QCheckBox(tr("Follow the newest"), page);
    m_followLedger->setChecked(true);
    auto *legend = new QLabel(
        tr("<span style='background:%1'>&nbsp;waiting&nbsp;</span> above the high-water mark, "
           "its write() has not resolved &nbsp; <span style='background:%2'>&nbsp;accepted&nbsp;"
           "</span> in the send queue &nbsp; sent: handed to the kernel &nbsp; "
           "<span style='background:%3'>&nbsp;rejected&nbsp;</span>")
            .arg(colors::waiting().name(), colors::accepted().name(), colors::rejected().name()),
        page);
    legend->setWordWrap(true);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_ledgerStatus, 1);
    bottom->addWidget(m_followLedger);
    auto *layout = new QVBoxLayout(page);
    layout->addWidget(legend);
    layout->addWidget(m_ledgerView, 1);
    layout->addLayout(bottom);
    return page;
}

// The requests and responses the flow carries, as a browser's network panel: from Rill::Http's
// reports, for a local flow and an attached one alike.
QWidget *FlowDetailView::makeExchangesTab()
{
    auto *page = new QWidget(this);
    m_exchanges = new rill::ExchangeModel(this);
    m_exchangeView = new QTableView(page);
    m_exchangeView->setObjectName(QStringLiteral("exchangeView"));
    m_exchangeView->setModel(m_exchanges);
    m_exchangeView->verticalHeader()->hide();
    m_exchangeView->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    m_exchangeView->horizontalHeader()->setStretchLastSection(true);
    m_exchangeView->setSelectionBehavior(QAbstractItemView::SelectRows);
    QHeaderView *header = m_exchangeView->horizontalHeader();
    header->resizeSection(rill::ExchangeModel::MethodColumn, 70);
    header->resizeSection(rill::ExchangeModel::TargetColumn, 220);
    header->resizeSection(rill::ExchangeModel::StatusColumn, 120);
    m_exchangeStatus = new QLabel(page);
    m_exchangeStatus->setObjectName(QStringLiteral("exchangeStatus"));
    m_exchangeStatus->setWordWrap(true);
    auto *layout = new QVBoxLayout(page);
    layout->addWidget(m_exchangeView, 1);
    layout->addWidget(m_exchangeStatus);
    connect(m_exchanges, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_tabs->currentIndex() == ExchangesTab)
            m_exchangeView->scrollToBottom();
    });
    return page;
}

QWidget *FlowDetailView::makeDataTab()
{
    auto *page = new QWidget(this);
    m_dataView = makeLog(page);
    m_dataView->setObjectName(QStringLiteral("dataView"));
    m_dataMode = new QComboBox(page);
    m_dataMode->setObjectName(QStringLiteral("dataMode"));
    m_dataMode->addItems({tr("Text"), tr("Hex")});
    connect(m_dataMode, &QComboBox::currentIndexChanged, this, [this] { appendData(true); });
    m_dataStatus = new QLabel(page);
    m_dataStatus->setObjectName(QStringLiteral("dataStatus"));
    auto *exportButton = new QToolButton(page);
    exportButton->setDefaultAction(m_exportData);
    auto *legend = new QLabel(tr("<span style='color:%1'>→ out</span>: handed to the transport "
                                 "&nbsp; <span style='color:%2'>← in</span>: arrived from it")
                                  .arg(colors::dataOut().name(), colors::dataIn().name()),
        page);
    auto *top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Show as"), page));
    top->addWidget(m_dataMode);
    top->addSpacing(12);
    top->addWidget(legend, 1);
    top->addWidget(exportButton);
    auto *layout = new QVBoxLayout(page);
    layout->addLayout(top);
    layout->addWidget(m_dataView, 1);
    layout->addWidget(m_dataStatus);
    return page;
}

QWidget *FlowDetailView::makeEventsTab()
{
    auto *page = new QWidget(this);
    m_eventView = makeLog(page);
    m_eventView->setObjectName(QStringLiteral("eventView"));
    m_eventStatus = new QLabel(page);
    m_eventStatus->setObjectName(QStringLiteral("eventStatus"));
    auto *exportButton = new QToolButton(page);
    exportButton->setDefaultAction(m_exportEvents);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_eventStatus, 1);
    bottom->addWidget(exportButton);
    auto *layout = new QVBoxLayout(page);
    layout->addWidget(m_eventView, 1);
    layout->addLayout(bottom);
    return page;
}

QWidget *FlowDetailView::makeSidePanel()
{
    auto *panel = new QWidget(this);

    auto *queues = new QGroupBox(tr("Rill and the kernel"), panel);
    auto *grid = new QGridLayout(queues);
    auto bold = [queues](const QString &text) {
        auto *label = new QLabel(QStringLiteral("<b>%1</b>").arg(text), queues);
        return label;
    };
    auto value = [queues](const QString &name) {
        auto *label = new QLabel(queues);
        label->setObjectName(name);
        label->setWordWrap(true);
        return label;
    };
    m_rillQueue = value(QStringLiteral("rillQueue"));
    m_kernelQueue = value(QStringLiteral("kernelQueue"));
    m_rillReceive = value(QStringLiteral("rillReceive"));
    m_kernelReceive = value(QStringLiteral("kernelReceive"));
    m_rillState = value(QStringLiteral("rillState"));
    m_kernelState = value(QStringLiteral("kernelState"));
    grid->addWidget(bold(tr("Rill")), 0, 1);
    grid->addWidget(bold(tr("Kernel")), 0, 2);
    grid->addWidget(bold(tr("Send")), 1, 0);
    grid->addWidget(m_rillQueue, 1, 1);
    grid->addWidget(m_kernelQueue, 1, 2);
    grid->addWidget(bold(tr("Receive")), 2, 0);
    grid->addWidget(m_rillReceive, 2, 1);
    grid->addWidget(m_kernelReceive, 2, 2);
    grid->addWidget(bold(tr("State")), 3, 0);
    grid->addWidget(m_rillState, 3, 1);
    grid->addWidget(m_kernelState, 3, 2);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(2, 1);

    m_layers = new QGroupBox(tr("TLS"), panel);
    m_layers->setObjectName(QStringLiteral("layers"));
    auto *layerForm = new QFormLayout(m_layers);
    auto layerValue = [this](const QString &name) {
        auto *label = new QLabel(m_layers);
        label->setObjectName(name);
        label->setWordWrap(true);
        label->setTextInteractionFlags(Qt::TextSelectableByMouse);
        return label;
    };
    m_layerText = layerValue(QStringLiteral("layerText"));
    m_tlsSession = layerValue(QStringLiteral("tlsSession"));
    m_tlsCertificate = layerValue(QStringLiteral("tlsCertificate"));
    layerForm->addRow(tr("Layers"), m_layerText);
    layerForm->addRow(tr("Session"), m_tlsSession);
    layerForm->addRow(tr("Peer"), m_tlsCertificate);
    m_layers->hide();

    auto *actions = new QGroupBox(tr("Actions"), panel);
    m_sendEdit = new QLineEdit(actions);
    m_sendEdit->setObjectName(QStringLiteral("sendEdit"));
    m_sendEdit->setPlaceholderText(tr("text to send, or hex such as 48 69 0a"));
    connect(m_sendEdit, &QLineEdit::returnPressed, m_send, &QAction::trigger);
    m_sendMode = new QComboBox(actions);
    m_sendMode->setObjectName(QStringLiteral("sendMode"));
    m_sendMode->addItems({tr("text + newline"), tr("text"), tr("hex")});
    auto button = [actions](QAction *action) {
        auto *b = new QToolButton(actions);
        b->setDefaultAction(action);
        b->setObjectName(action->objectName() + QStringLiteral("Button"));
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        b->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        return b;
    };
    auto *layout = new QGridLayout(actions);
    layout->addWidget(m_sendEdit, 0, 0, 1, 2);
    layout->addWidget(m_sendMode, 0, 2);
    layout->addWidget(button(m_send), 1, 0);
    layout->addWidget(button(m_sendFile), 1, 1);
    layout->addWidget(button(m_burst), 1, 2);
    layout->addWidget(button(m_pauseReading), 2, 0);
    layout->addWidget(button(m_shutdownWrite), 2, 1);
    layout->addWidget(button(m_shutdownRead), 2, 2);
    layout->addWidget(button(m_close), 3, 0);
    layout->addWidget(button(m_abort), 3, 1);

    auto *column = new QVBoxLayout(panel);
    column->setContentsMargins(0, 0, 0, 0);
    column->addWidget(queues);
    column->addWidget(m_layers);
    column->addWidget(actions);
    column->addStretch(1);
    return panel;
}

void FlowDetailView::setMonitor(FlowMonitor *monitor)
{
    if (monitor != m_monitor) {
        if (m_monitor) {
            disconnect(m_monitor, nullptr, this, nullptr);
            m_monitor->followSocket(false);
        }
        m_monitor = monitor;
        if (monitor)
            monitor->followSocket(true);
        if (monitor && monitor->isRemote())
            m_exchanges->setProbeFlow(monitor->probeClient(), monitor->remoteId());
        else
            m_exchanges->setFlow(monitor ? monitor->flow() : nullptr);
        if (monitor) {
            connect(monitor, &FlowMonitor::readingChanged, this, [this] { updateActions(); });
            connect(monitor, &FlowMonitor::actionFailed, this, &FlowDetailView::message);
            connect(monitor, &QObject::destroyed, this, [this] { setMonitor(nullptr); });
        }
    }
    m_ledgerView->setModel(monitor ? monitor->ledger() : nullptr);
    if (monitor) {
        QHeaderView *header = m_ledgerView->horizontalHeader();
        header->resizeSection(rill::WriteLedgerModel::IdColumn, 60);
        header->resizeSection(rill::WriteLedgerModel::SizeColumn, 80);
        header->resizeSection(rill::WriteLedgerModel::StateColumn, 80);
        header->resizeSection(rill::WriteLedgerModel::QueuedColumn, 100);
        header->resizeSection(rill::WriteLedgerModel::AcceptedColumn, 90);
        header->resizeSection(rill::WriteLedgerModel::SentColumn, 90);
        m_ledgerView->scrollToBottom();
    }
    m_plot->setMonitor(monitor);
    m_dataSerialShown = 0;
    m_eventSerialShown = 0;
    m_dataView->clear();
    m_eventView->clear();
    refresh();
}

void FlowDetailView::refresh()
{
    FlowMonitor *monitor = m_monitor.data();
    // Local or attached (another process's, through its probe): the same view.
    const rill::ProbeFlow flow = monitor ? monitor->info() : rill::ProbeFlow();
    if (!flow.id) {
        m_header->setText(tr("<b>No flow selected</b> &nbsp; Select a row in the table above."));
    } else {
        m_header->setText(
            tr("<b>#%1 %2</b> &nbsp; %3 &nbsp; %4 → %5")
                .arg(monitor->id())
                .arg(monitor->name().toHtmlEscaped(), flow.transport,
                    flow.localEndpoint.toHtmlEscaped(), flow.peerEndpoint.toHtmlEscaped()));
    }
    updateActions();
    updateSidePanel();
    if (!isVisible())
        return;
    switch (m_tabs->currentIndex()) {
    case LedgerTab:
        if (monitor) {
            rill::WriteLedgerModel *ledger = monitor->ledger();
            m_ledgerStatus->setText(
                tr("%1 writes shown · %2 waiting · %3 older writes dropped (the ledger keeps "
                   "the last %4)")
                    .arg(ledger->rowCount())
                    .arg(ledger->waitingCount())
                    .arg(ledger->droppedCount())
                    .arg(ledger->maxEntries()));
            if (m_followLedger->isChecked())
                m_ledgerView->scrollToBottom();
        } else {
            m_ledgerStatus->clear();
        }
        break;
    case DataTab:
        appendData(false);
        break;
    case EventsTab:
        appendEvents(false);
        break;
    case ExchangesTab:
        m_exchangeStatus->setText(
            monitor ? tr("%1 exchanges shown (requests and responses this flow carried since "
                         "it was selected, as Rill::Http reports them) · %2 older dropped")
                              .arg(m_exchanges->rowCount())
                              .arg(m_exchanges->droppedCount())
                    : QString());
        break;
    default:
        break;
    }
}

void FlowDetailView::updateActions()
{
    const rill::ProbeFlow flow = m_monitor ? m_monitor->info() : rill::ProbeFlow();
    // An attached flow: what the probe takes (shut down, close, abort); sending needs the flow
    // here.
    // A carried flow (a TLS flow's wire), or one its application drives (the demo's HTTP), is
    // only watched.
    const bool local = m_monitor && !m_monitor->isRemote() && !m_monitor->isWatchedOnly();
    using rill::Flow;
    const bool writable = flow.id && flow.writeState == Flow::WriteState::Open;
    const bool live = flow.id && flow.state != Flow::State::Closed;
    for (QAction *a : {m_send, m_sendFile, m_burst})
        a->setEnabled(writable && local);
    // The probe refuses control unless its process allowed it (RILL_INSPECT=control).
    const bool controllable = local
        || (m_monitor && m_monitor->probeClient() && m_monitor->probeClient()->controlAllowed());
    m_shutdownWrite->setEnabled(writable && controllable);
    m_shutdownRead->setEnabled(flow.id && controllable && flow.readState == Flow::ReadState::Open);
    m_close->setEnabled(live && controllable && flow.state != Flow::State::Closing);
    m_abort->setEnabled(live && controllable);
    // An attached flow's own reads pause in its process (control only).
    const bool remote = m_monitor && m_monitor->isRemote();
    m_pauseReading->setEnabled(flow.id
        && (local
            || (remote && controllable && (flow.readPaused || flow.readState == Flow::ReadState::Open))));
    {
        const QSignalBlocker blocker(m_pauseReading);
        m_pauseReading->setChecked(remote ? flow.readPaused : m_monitor && !m_monitor->isReading());
    }
    m_exportEvents->setEnabled(m_monitor != nullptr);
    m_exportData->setEnabled(m_monitor != nullptr);
}

// Bytes a rill::copy() moved with splice(2): they passed the kernel only, never this panel's
// queue or the process's reads.
static QString splicedText(qint64 bytes)
{
    return bytes > 0 ? FlowDetailView::tr("<br>%1 spliced in the kernel (rill::copy)")
                               .arg(rill::FlowText::bytes(bytes))
                     : QString();
}

void FlowDetailView::updateSidePanel()
{
    FlowMonitor *monitor = m_monitor.data();
    const rill::ProbeFlow flow = monitor ? monitor->info() : rill::ProbeFlow();
    if (!flow.id) {
        for (QLabel *label : {m_rillQueue, m_kernelQueue, m_rillReceive, m_kernelReceive,
                 m_rillState, m_kernelState})
            label->clear();
        m_layers->hide();
        return;
    }
    updateLayers(monitor);
    const int waiting = flow.writesWaiting;
    m_rillQueue->setText(
        tr("%1 queued of %2 (high-water mark)%3")
            .arg(rill::FlowText::bytes(flow.bytesQueued), rill::FlowText::bytes(flow.highWaterMark))
            .arg(waiting > 0 ? tr("<br><b>%n write(s) waiting</b>", nullptr, waiting) : QString())
            + splicedText(flow.stats.bytesWrittenSpliced));
    const FlowMonitor *carrier = monitor->carrier();
    if (monitor->isRemote())
        m_rillReceive->setText(flow.readPaused
                ? tr("<b>reading paused</b> by the inspector: its process's reads wait (%1 so far)")
                      .arg(rill::FlowText::bytes(flow.stats.bytesRead))
                : tr("its process reads (%1 so far)").arg(rill::FlowText::bytes(flow.stats.bytesRead)));
    else if (carrier)
        m_rillReceive->setText(tr("read by flow #%1 above it (%2 so far)")
                                   .arg(carrier->id())
                                   .arg(rill::FlowText::bytes(flow.stats.bytesRead)));
    else
        m_rillReceive->setText(monitor->isReading()
                ? tr("the inspector reads (%1 so far)").arg(rill::FlowText::bytes(flow.stats.bytesRead))
                : tr("<b>reading paused</b>: read() is not called"));
    if (flow.stats.bytesReadSpliced > 0)
        m_rillReceive->setText(m_rillReceive->text() + splicedText(flow.stats.bytesReadSpliced));
    using namespace rill::FlowText;
    m_rillState->setText(tr("flow %1<br>read: <span style='color:%2'>●</span> %3<br>"
                            "write: <span style='color:%4'>●</span> %5")
                             .arg(stateText(flow.state), lampColor(lamp(flow.readState)),
                                 readStateText(flow.readState),
                                 lampColor(lamp(flow.writeState)),
                                 writeStateText(flow.writeState)));
    const rill::ProbeSocketInfo kernel = monitor->kernelInfo();
    if (kernel.isAvailable()) {
        m_kernelQueue->setText(
            tr("%1 in the socket's send queue (SIOCOUTQ)").arg(rill::FlowText::bytes(kernel.sendQueue)));
        m_kernelReceive->setText(
            tr("%1 received, not read (SIOCINQ)").arg(rill::FlowText::bytes(kernel.receiveQueue)));
        m_kernelState->setText(tr("TCP <b>%1</b>").arg(kernel.tcpStateName()));
    } else {
        const QString none = flow.transport != QLatin1String("tcp") ? tr("shown for TCP on Linux")
            : flow.state == rill::Flow::State::Closed                ? tr("no socket any more")
            : monitor->isRemote()                                    ? tr("asking its process...")
                                                                     : tr("no socket any more");
        m_kernelQueue->setText(none);
        m_kernelReceive->clear();
        m_kernelState->clear();
    }
}

// TLS, and which flow runs over which: a TLS flow over a TCP flow shows as both, each row
// pointing at the other.
void FlowDetailView::updateLayers(const FlowMonitor *monitor)
{
    const FlowMonitor *tls = monitor->carrier() ? monitor->carrier() : monitor;
    const QString session = rill::FlowText::tlsSessionText(tls->flow());
    if (session.isEmpty()) {
        m_layers->hide();
        return;
    }
    const FlowMonitor *wire = tls->wire();
    rill::Flow *wireFlow = wire ? wire->flow() : nullptr;
    m_layerText->setText(monitor == tls
            ? tr("TLS over flow #%1 (%2)")
                  .arg(wire ? wire->id() : 0)
                  .arg(wireFlow ? wireFlow->transportName() : tr("gone"))
            : tr("this %1 flow carries TLS flow #%2").arg(monitor->flow()->transportName()).arg(tls->id()));
    m_tlsSession->setText(session);
    m_tlsCertificate->setText(
        rill::FlowText::peerCertificateText(tls->flow(), QDateTime::currentDateTimeUtc()));
    m_layers->show();
}

void FlowDetailView::appendData(bool restart)
{
    FlowMonitor *monitor = m_monitor.data();
    if (restart) {
        m_dataSerialShown = 0;
        m_dataView->clear();
    }
    if (!monitor) {
        m_dataStatus->clear();
        return;
    }
    // An attached flow's data comes only once asked for: when this tab first shows it.
    monitor->followData();
    const rill::DataLog *dataLog = monitor->dataLog();
    const std::deque<rill::DataLog::Entry> &log = dataLog->entries();
    m_dataStatus->setText(tr("The log keeps %1 (%2 chunks, the first %3 of each); %4 went by "
                             "that it did not keep.")
                              .arg(rill::FlowText::bytes(dataLog->bytesKept()))
                              .arg(log.size())
                              .arg(rill::FlowText::bytes(dataLog->maxBytesPerEntry()))
                              .arg(rill::FlowText::bytes(dataLog->bytesDropped()))
        + (monitor->isRemote()
                ? tr(" Its process sends the next %1 its flow moves after this tab first showed it.")
                      .arg(rill::FlowText::bytes(dataLog->maxBytes()))
                : QString()));
    if (log.empty() || log.back().serial <= m_dataSerialShown)
        return;
    // The chunks not shown yet, at most MaxChunksPerRefresh of them.
    auto first = std::partition_point(log.begin(), log.end(),
        [this](const rill::DataLog::Entry &c) { return c.serial <= m_dataSerialShown; });
    const bool follow = atBottom(m_dataView);
    QTextCursor cursor(m_dataView->document());
    cursor.movePosition(QTextCursor::End);
    cursor.beginEditBlock();
    const qint64 skipped
        = qMax<qint64>(0, (log.back().serial - m_dataSerialShown) - MaxChunksPerRefresh);
    if (skipped > 0) {
        first = log.end() - qMin<qsizetype>(MaxChunksPerRefresh, log.end() - first);
        if (!m_dataView->document()->isEmpty())
            cursor.insertBlock();
        cursor.insertText(
            tr("… %n chunk(s) went by too fast to show here …", nullptr, int(skipped)),
            format(QColor(0x90, 0x90, 0x90)));
    }
    const bool hex = m_dataMode->currentIndex() == 1;
    const QTextCharFormat grey = format(QColor(0x80, 0x80, 0x80));
    for (auto it = first; it != log.end(); ++it) {
        const bool out = it->direction == rill::DataLog::Direction::Out;
        const QTextCharFormat color = format(out ? colors::dataOut() : colors::dataIn());
        if (!m_dataView->document()->isEmpty())
            cursor.insertBlock();
        cursor.insertText(timeText(it->timeMs) + QLatin1Char(' '), grey);
        cursor.insertText(out ? QStringLiteral("→ out ") : QStringLiteral("← in  "),
            format(out ? colors::dataOut() : colors::dataIn(), true));
        cursor.insertText(rill::FlowText::bytes(it->size).rightJustified(9) + QStringLiteral("  "), grey);
        if (hex) {
            for (const QString &line : rill::FlowText::hexDump(it->bytes, it->size)) {
                cursor.insertBlock();
                cursor.insertText(line, color);
            }
        } else {
            cursor.insertText(rill::FlowText::printable(it->bytes, it->size), color);
        }
    }
    cursor.endEditBlock();
    m_dataSerialShown = log.back().serial;
    if (follow)
        m_dataView->verticalScrollBar()->setValue(m_dataView->verticalScrollBar()->maximum());
}

void FlowDetailView::appendEvents(bool restart)
{
    FlowMonitor *monitor = m_monitor.data();
    if (restart) {
        m_eventSerialShown = 0;
        m_eventView->clear();
    }
    if (!monitor) {
        m_eventStatus->clear();
        return;
    }
    const std::deque<FlowMonitor::Event> &events = monitor->events();
    m_eventStatus->setText(tr("The log keeps the last %1 events; %2 older ones were dropped.")
                               .arg(FlowMonitor::MaxEvents)
                               .arg(monitor->eventsDropped()));
    const qint64 newest = monitor->eventSerial();
    if (events.empty() || newest <= m_eventSerialShown)
        return;
    qint64 fresh = qMin<qint64>(newest - m_eventSerialShown, qint64(events.size()));
    const qint64 skipped = newest - m_eventSerialShown - qMin<qint64>(fresh, MaxEventsPerRefresh);
    fresh = qMin<qint64>(fresh, MaxEventsPerRefresh);
    const bool follow = atBottom(m_eventView);
    QTextCursor cursor(m_eventView->document());
    cursor.movePosition(QTextCursor::End);
    cursor.beginEditBlock();
    if (skipped > 0) {
        if (!m_eventView->document()->isEmpty())
            cursor.insertBlock();
        cursor.insertText(tr("… %n event(s) went by too fast to show here (the export has the "
                             "last %1) …",
                              nullptr, int(skipped))
                              .arg(FlowMonitor::MaxEvents),
            format(QColor(0x90, 0x90, 0x90)));
    }
    const QTextCharFormat grey = format(QColor(0x80, 0x80, 0x80));
    using Kind = FlowMonitor::EventKind;
    for (auto it = events.end() - fresh; it != events.end(); ++it) {
        QTextCharFormat f;
        switch (it->kind) {
        case Kind::Error:
            f = format(colors::failed(), true);
            break;
        case Kind::ReadEnd:
            f = format(
                it->text.startsWith(QLatin1String("end")) ? colors::ended() : colors::failed(),
                true);
            break;
        case Kind::Action:
            f = format(QColor(0x7a, 0x2f, 0xa5), true);
            break;
        case Kind::ActionDone:
            f = format(QColor(0x7a, 0x2f, 0xa5));
            break;
        case Kind::State:
        case Kind::ReadState:
        case Kind::WriteState:
        case Kind::Endpoints:
        case Kind::ReadingPaused:
        case Kind::ReadingResumed:
            f = format(QColor(0x10, 0x10, 0x10), true);
            break;
        default:
            f = format(QColor(0x50, 0x50, 0x50));
            break;
        }
        if (!m_eventView->document()->isEmpty())
            cursor.insertBlock();
        cursor.insertText(timeText(it->timeUs / 1000) + QStringLiteral("  "), grey);
        cursor.insertText(FlowMonitor::describe(*it), f);
    }
    cursor.endEditBlock();
    m_eventSerialShown = newest;
    if (follow)
        m_eventView->verticalScrollBar()->setValue(m_eventView->verticalScrollBar()->maximum());
}

bool FlowDetailView::bytesToSend(QByteArray *bytes, QString *error) const
{
    const QString text = m_sendEdit->text();
    switch (m_sendMode->currentIndex()) {
    case 0:
        *bytes = text.toUtf8() + '\n';
        return true;
    case 1:
        *bytes = text.toUtf8();
        return true;
    default: {
        QString digits = text;
        digits.remove(QRegularExpression(QStringLiteral("[\\s:,]|0x")));
        const QByteArray decoded = QByteArray::fromHex(digits.toLatin1());
        bool valid = digits.size() % 2 == 0;
        for (QChar c : std::as_const(digits))
            valid = valid && std::isxdigit(uchar(c.toLatin1()));
        if (!valid) {
            if (error)
                *error = tr("not hex: %1").arg(text);
            return false;
        }
        *bytes = decoded;
        return true;
    }
    }
}

void FlowDetailView::sendFromField()
{
    if (!m_monitor)
        return;
    QByteArray bytes;
    QString error;
    if (!bytesToSend(&bytes, &error)) {
        Q_EMIT message(error);
        return;
    }
    m_monitor->send(bytes, m_sendMode->currentIndex() == 2 ? tr("hex") : tr("text"));
}

void FlowDetailView::sendFile()
{
    if (!m_monitor)
        return;
    const QString path = QFileDialog::getOpenFileName(this, tr("Send a file"));
    if (path.isEmpty())
        return;
    QFile file(path);
    if (file.size() > MaxFileSize) {
        Q_EMIT message(tr("%1 is larger than %2").arg(path, rill::FlowText::bytes(MaxFileSize)));
        return;
    }
    if (!file.open(QIODevice::ReadOnly)) {
        Q_EMIT message(tr("cannot read %1: %2").arg(path, file.errorString()));
        return;
    }
    m_monitor->send(file.readAll(), tr("file %1").arg(QFileInfo(path).fileName()));
}

void FlowDetailView::exportEvents()
{
    if (!m_monitor)
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the event log"),
        QStringLiteral("flow-%1-events.jsonl").arg(m_monitor->id()), tr("JSON lines (*.jsonl)"));
    if (path.isEmpty())
        return;
    QString error;
    Q_EMIT message(
        m_monitor->exportEvents(path, &error) ? tr("Event log saved to %1").arg(path) : error);
}

void FlowDetailView::exportData()
{
    if (!m_monitor)
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Export the data log"),
        QStringLiteral("flow-%1-data.jsonl").arg(m_monitor->id()), tr("JSON lines (*.jsonl)"));
    if (path.isEmpty())
        return;
    QString error;
    Q_EMIT message(
        m_monitor->exportData(path, &error) ? tr("Data log saved to %1").arg(path) : error);
}

} // namespace inspector
