// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The headless inspector: the flow table as text, printed every second (for machines with no
// display, and for logs).

#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <cstdio>

namespace rill {
class FlowTableModel;
class ProbeClient;
}

namespace inspector {

class InspectorSession;

// The table as text, one line per flow, with a header line.
QString formatFlowTable(const rill::FlowTableModel &model);

class TablePrinter : public QObject {
    Q_OBJECT
public:
    TablePrinter(InspectorSession *session, FILE *out, QObject *parent = nullptr);
    void start(int intervalMs = 1000);
    void printNow();
    // The table shows the flows of the process this client is attached to (--attach).
    void setProbeClient(rill::ProbeClient *client) { m_client = client; }

private:
    rill::ProbeClient *m_client = nullptr;
    InspectorSession *m_session;
    FILE *m_out;
    QTimer m_timer;
};

} // namespace inspector
