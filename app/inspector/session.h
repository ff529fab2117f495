// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Everything the inspector watches, without any widget: the flows (owned by the table model),
// a FlowMonitor per flow, the listeners, and the tick that samples them ten times a second.
// The window and the headless mode both sit on top of it.

#include "flowmonitor.h"

#include <rill/connect.h>
#include <rill/flowtablemodel.h>
#include <rill/probe.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <functional>
#include <memory>
#include <vector>

namespace inspector {

class InspectorSession : public QObject {
    Q_OBJECT
public:
    static constexpr int TickInterval = 100; // ms

    explicit InspectorSession(QObject *parent = nullptr);
    ~InspectorSession() override;

    rill::FlowTableModel *model() const { return m_model; }
    FlowMonitor *monitorOf(const rill::Flow *flow) const;
    FlowMonitor *monitorAt(int row) const;
    QList<FlowMonitor *> monitors() const;

    // The session owns the flow from now on; it shows in the table until removed. A flow that
    // runs over another (a TLS flow over its wire) shows with that one in a row of its own,
    // watched only: its bytes belong to the flow above.
    FlowMonitor *addFlow(std::unique_ptr<rill::Flow> flow, const QString &name);
    // Shows a flow that owner (its application) reads, writes and owns, watched only, until
    // it is destroyed.
    FlowMonitor *watchFlow(rill::Flow *flow, const QString &name, const QString &owner);

    // "tcp:HOST:PORT" or "unix:PATH". The flow shows once connected; else connectFailed().
    void connectTo(const QString &endpoint);

    using AcceptHandler = std::function<void(FlowMonitor *)>;
    // Listens and shows every accepted flow (onAccepted may rename it, make it echo, ...).
    // Returns the endpoint listened on ("tcp:127.0.0.1:4711" for port 0), or "" and *error.
    QString listen(const QString &endpoint, QString *error, const AcceptHandler &onAccepted = {});
    // The listeners above and, when attached, the process's (its probe's).
    QStringList listeningEndpoints() const;

    // Shows the flows of the process client is attached to (its probe's), each with a remote
    // FlowMonitor; one process at a time (attaching again replaces the monitors).
    void attach(rill::ProbeClient *client);
    rill::ProbeClient *probeClient() const { return m_client.data(); }
    // The flow the window shows. An attached process then sends the write ledger of that flow
    // only (following every flow's costs the process for nothing shown), and none while
    // nothing, or a local flow, is shown: the other flows' event logs miss their writes.
    void setShownFlow(FlowMonitor *monitor);

    void setName(FlowMonitor *monitor, const QString &name); // in the table and the monitor
    void removeClosedFlows();

    // How late the tick ran, in ms: worst over the last second, and worst ever. A responsive
    // inspector keeps these small with 100 flows at full speed.
    qint64 recentLagMs() const;
    qint64 worstLagMs() const { return m_worstLag; }

Q_SIGNALS:
    void flowAdded(inspector::FlowMonitor *monitor);
    void connectFailed(const QString &endpoint, const QString &message);
    void listeningChanged();
    void ticked();

private:
    FlowMonitor *track(rill::Flow *flow, qint64 id, const QString &name, FlowMonitor *carrier,
        const QString &owner = QString());
    void tick();
    void acceptNext(rill::Listener *listener, const AcceptHandler &onAccepted);

    rill::FlowTableModel *m_model;
    QHash<const rill::Flow *, FlowMonitor *> m_monitors;
    QHash<quint64, FlowMonitor *> m_remoteMonitors; // by the flow's id in its process
    QPointer<rill::ProbeClient> m_client;
    std::vector<rill::Listener *> m_listeners;
    QTimer m_timer;
    QElapsedTimer m_sinceTick;
    std::vector<qint64> m_recentLags;
    qint64 m_worstLag = 0;
    int m_acceptedCount = 0;
};

} // namespace inspector
