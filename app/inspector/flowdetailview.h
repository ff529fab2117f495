// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The selected flow in detail: its write ledger, a live plot, the data log (text or hex), the
// event log, Rill's queues beside the kernel's, and the actions (send, writev burst, pause
// reading, shut down a direction, close, abort, export). Views refresh with the session's
// tick, ten times a second, and only what is visible.

#include <QtCore/QPointer>
#include <QtWidgets/QWidget>

QT_BEGIN_NAMESPACE
class QAction;
class QCheckBox;
class QComboBox;
class QGroupBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTabWidget;
class QTableView;
QT_END_NAMESPACE

namespace rill {
class ExchangeModel;
}

namespace inspector {

class FlowMonitor;
class InspectorSession;
class PlotWidget;

class FlowDetailView : public QWidget {
    Q_OBJECT
public:
    enum Tab { LedgerTab, PlotTab, DataTab, EventsTab, ExchangesTab };
    Q_ENUM(Tab)

    explicit FlowDetailView(InspectorSession *session, QWidget *parent = nullptr);
    ~FlowDetailView() override;

    FlowMonitor *monitor() const { return m_monitor.data(); }
    void setMonitor(FlowMonitor *monitor);

    // The flow actions, for the window's menu (their shortcuts work window-wide).
    QList<QAction *> flowActions() const { return m_actions; }
    QTabWidget *tabs() const { return m_tabs; }
    QTableView *ledgerView() const { return m_ledgerView; }
    QTableView *exchangeView() const { return m_exchangeView; } // the HTTP tab's
    PlotWidget *plot() const { return m_plot; }
    QPlainTextEdit *dataView() const { return m_dataView; }
    QPlainTextEdit *eventView() const { return m_eventView; }
    QLineEdit *sendEdit() const { return m_sendEdit; }
    QComboBox *sendMode() const { return m_sendMode; }
    QLabel *kernelLabel() const { return m_kernelState; }
    QLabel *headerLabel() const { return m_header; }
    QGroupBox *layersBox() const { return m_layers; }

    // What to send, from the text field and the mode: text, text and a newline, or hex.
    // Returns false (and *error) for hex that is not hex.
    bool bytesToSend(QByteArray *bytes, QString *error) const;

public Q_SLOTS:
    void refresh();

Q_SIGNALS:
    void message(const QString &text);

private:
    QWidget *makeLedgerTab();
    QWidget *makeExchangesTab();
    QWidget *makeDataTab();
    QWidget *makeEventsTab();
    QWidget *makeSidePanel();
    QAction *makeAction(const QString &objectName, const QString &text, const QKeySequence &key,
        const QString &tip);
    void updateActions();
    void updateSidePanel();
    void updateLayers(const FlowMonitor *monitor);
    void appendData(bool restart);
    void appendEvents(bool restart);
    void sendFromField();
    void sendFile();
    void exportEvents();
    void exportData();

    QPointer<InspectorSession> m_session;
    QPointer<FlowMonitor> m_monitor;
    QList<QAction *> m_actions;
    QAction *m_send = nullptr;
    QAction *m_sendFile = nullptr;
    QAction *m_burst = nullptr;
    QAction *m_pauseReading = nullptr;
    QAction *m_shutdownWrite = nullptr;
    QAction *m_shutdownRead = nullptr;
    QAction *m_close = nullptr;
    QAction *m_abort = nullptr;
    QAction *m_exportEvents = nullptr;
    QAction *m_exportData = nullptr;

    QLabel *m_header = nullptr;
    QTabWidget *m_tabs = nullptr;
    QTableView *m_ledgerView = nullptr;
    rill::ExchangeModel *m_exchanges = nullptr;
    QTableView *m_exchangeView = nullptr;
    QLabel *m_exchangeStatus = nullptr;
    QLabel *m_ledgerStatus = nullptr;
    QCheckBox *m_followLedger = nullptr;
    PlotWidget *m_plot = nullptr;
    QPlainTextEdit *m_dataView = nullptr;
    QComboBox *m_dataMode = nullptr;
    QLabel *m_dataStatus = nullptr;
    QPlainTextEdit *m_eventView = nullptr;
    QLabel *m_eventStatus = nullptr;
    QLineEdit *m_sendEdit = nullptr;
    QComboBox *m_sendMode = nullptr;

    QLabel *m_rillQueue = nullptr;
    QLabel *m_kernelQueue = nullptr;
    QLabel *m_rillReceive = nullptr;
    QLabel *m_kernelReceive = nullptr;
    QLabel *m_rillState = nullptr;
    QLabel *m_kernelState = nullptr;
    QGroupBox *m_layers = nullptr; // TLS, and which flow runs over which
    QLabel *m_layerText = nullptr;
    QLabel *m_tlsSession = nullptr;
    QLabel *m_tlsCertificate = nullptr;

    qint64 m_dataSerialShown = 0;
    qint64 m_eventSerialShown = 0;
};

} // namespace inspector
