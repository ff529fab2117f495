// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Rill Inspector's window: the connection bar and the demo's controls on top, the table of
// flows, and the selected flow in detail below.

#include "demo.h"

#include <QtWidgets/QMainWindow>

#include <memory>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QTableView;
QT_END_NAMESPACE

namespace inspector {

class FlowDetailView;
class InspectorSession;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    struct Options {
        bool demo = true;
        Demo::Options demoOptions;
    };

    explicit MainWindow(const Options &options, QWidget *parent = nullptr);
    ~MainWindow() override;

    InspectorSession *session() const { return m_session; }
    Demo *demo() const { return m_demo; } // null without the demo
    QTableView *flowTable() const { return m_table; }
    FlowDetailView *detailView() const { return m_detail; }
    QLineEdit *endpointEdit() const { return m_endpoint; }

    void selectFlow(const rill::Flow *flow);
    rill::Flow *selectedFlow() const;

    // Shows the flows of process pid (its probe's) in the table too; false and *error if not.
    bool attachTo(qint64 pid, QString *error);

    // A PNG of the window as it is (QWidget::grab()).
    bool saveScreenshot(const QString &path, QString *error = nullptr);

private:
    void makeActions();
    void makeToolBars();
    void makeMenus();
    void connectToEndpoint();
    void listenOnEndpoint();
    void updateStatus();
    void updateDemoControls();
    void showShortcuts();
    void showAttachDialog();
    void showMessage(const QString &text);

    InspectorSession *m_session = nullptr;
    Demo *m_demo = nullptr;
    QTableView *m_table = nullptr;
    FlowDetailView *m_detail = nullptr;
    QLineEdit *m_endpoint = nullptr;
    QLabel *m_flowsLabel = nullptr;
    QLabel *m_lagLabel = nullptr;
    QLabel *m_speedLabel = nullptr;
    bool m_userSelected = false;

    QAction *m_connect = nullptr;
    QAction *m_listen = nullptr;
    QAction *m_focusEndpoint = nullptr;
    QAction *m_removeClosed = nullptr;
    QAction *m_pauseTraffic = nullptr;
    QAction *m_slower = nullptr;
    QAction *m_faster = nullptr;
    QAction *m_stallReader = nullptr;
    QAction *m_shortcuts = nullptr;
    QAction *m_quit = nullptr;
    QAction *m_attach = nullptr;
    QList<QAction *> m_tabActions;
};

} // namespace inspector
