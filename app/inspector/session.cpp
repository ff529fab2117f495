// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "session.h"

#include <rill/tlsflow.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QPointer>

#include <algorithm>

namespace inspector {

InspectorSession::InspectorSession(QObject *parent)
    : QObject(parent), m_model(new rill::FlowTableModel(this))
{
    m_timer.setInterval(TickInterval);
    m_timer.setTimerType(Qt::PreciseTimer);
    connect(&m_timer, &QTimer::timeout, this, &InspectorSession::tick);
    m_timer.start();
    m_sinceTick.start();
}

InspectorSession::~InspectorSession()
{
    m_timer.stop();
    for (rill::Listener *listener : m_listeners)
        delete listener;
    m_listeners.clear();
    // The flows go first, while the monitors that watch them are still there.
    delete m_model;
    m_model = nullptr;
}

FlowMonitor *InspectorSession::monitorOf(const rill::Flow *flow) const
{
    return m_monitors.value(flow);
}

FlowMonitor *InspectorSession::monitorAt(int row) const
{
    if (!m_model)
        return nullptr;
    if (rill::Flow *flow = m_model->flow(row))
        return monitorOf(flow);
    const quint64 remote
        = m_model->data(m_model->index(row, 0), rill::FlowTableModel::ProbeFlowIdRole).toULongLong();
    return remote ? m_remoteMonitors.value(remote) : nullptr;
}

void InspectorSession::attach(rill::ProbeClient *client)
{
    if (m_client)
        disconnect(m_client, nullptr, this, nullptr);
    const bool hadListeners = m_client && !m_client->listeners().isEmpty();
    qDeleteAll(m_remoteMonitors);
    m_remoteMonitors.clear();
    m_client = client;
    if (hadListeners || (client && !client->listeners().isEmpty()))
        Q_EMIT listeningChanged();
    if (!client || !m_model)
        return;
    connect(client, &rill::ProbeClient::listenersChanged, this, &InspectorSession::listeningChanged);
    client->setLedgerFlows({}); // until a flow is shown
    m_model->showProbeFlows(client);
    auto add = [this, client](quint64 id) {
        if (m_remoteMonitors.contains(id))
            return;
        const QString name = QStringLiteral("%1 #%2").arg(client->process().program).arg(id);
        m_remoteMonitors.insert(id, new FlowMonitor(client, id, qint64(id), name, this));
    };
    for (const rill::ProbeFlow &flow : client->flows())
        add(flow.id);
    connect(client, &rill::ProbeClient::flowAdded, this, add);
    connect(client, &rill::ProbeClient::flowRemoved, this, [this](quint64 id) {
        if (FlowMonitor *gone = m_remoteMonitors.take(id))
            gone->deleteLater();
    });
}

void InspectorSession::setShownFlow(FlowMonitor *monitor)
{
    if (!m_client || m_client->state() == rill::ProbeClient::State::Ended)
        return;
    if (monitor && monitor->isRemote() && monitor->probeClient() == m_client)
        m_client->setLedgerFlows({monitor->remoteId()});
    else
        m_client->setLedgerFlows({});
}

QList<FlowMonitor *> InspectorSession::monitors() const
{
    QList<FlowMonitor *> list;
    for (int row = 0; m_model && row < m_model->rowCount(); ++row) {
        if (FlowMonitor *monitor = monitorAt(row))
            list << monitor;
    }
    return list;
}

FlowMonitor *InspectorSession::addFlow(std::unique_ptr<rill::Flow> flow, const QString &name)
{
    rill::Flow *raw = flow.get();
    if (!raw || !m_model)
        return nullptr;
    const qint64 id = m_model->adoptFlow(std::move(flow), name);
    FlowMonitor *monitor = track(raw, id, name, nullptr);
    FlowMonitor *wireMonitor = nullptr;
    if (auto *tls = qobject_cast<rill::TlsFlow *>(raw); tls && tls->wire()) {
        rill::Flow *wire = tls->wire();
        const QString wireName = tr("wire of #%1").arg(id);
        wireMonitor = track(wire, m_model->addFlow(wire, wireName), wireName, monitor);
    }
    // Once both layers are known, so that a view shown the first finds the second.
    Q_EMIT flowAdded(monitor);
    if (wireMonitor)
        Q_EMIT flowAdded(wireMonitor);
    return monitor;
}

FlowMonitor *InspectorSession::watchFlow(rill::Flow *flow, const QString &name, const QString &owner)
{
    if (!flow || !m_model)
        return nullptr;
    FlowMonitor *monitor = track(flow, m_model->addFlow(flow, name), name, nullptr, owner);
    Q_EMIT flowAdded(monitor);
    return monitor;
}

FlowMonitor *InspectorSession::track(
    rill::Flow *flow, qint64 id, const QString &name, FlowMonitor *carrier, const QString &owner)
{
    auto *monitor = new FlowMonitor(flow, id, name, carrier, this, owner);
    m_monitors.insert(flow, monitor);
    connect(flow, &QObject::destroyed, this, [this, flow] {
        if (FlowMonitor *gone = m_monitors.take(flow))
            gone->deleteLater();
    });
    return monitor;
}

void InspectorSession::connectTo(const QString &text)
{
    rill::Error error;
    const rill::Endpoint endpoint = rill::Endpoint::parse(text.trimmed(), &error);
    if (!endpoint.isValid()) {
        Q_EMIT connectFailed(text, rill::errorMessage(error));
        return;
    }
    // The application as context: Qt 6.4 asserts when a continuation's context goes before
    // its future finishes, and connecting can outlast the session.
    QPointer<InspectorSession> guard(this);
    rill::connectTo(endpoint).then(
        QCoreApplication::instance(), [guard, endpoint](rill::FlowResult<rill::Flow> result) {
            if (!guard)
                return; // the result deletes the flow
            if (result.isOk())
                guard->addFlow(
                    result.takeFlow(), QStringLiteral("connected to ") + endpoint.toString());
            else // the message alone: the endpoint is named already
                Q_EMIT guard->connectFailed(endpoint.toString(), result.error().message());
        });
}

QString InspectorSession::listen(
    const QString &text, QString *error, const AcceptHandler &onAccepted)
{
    rill::Error parseError;
    const rill::Endpoint endpoint = rill::Endpoint::parse(text.trimmed(), &parseError);
    if (!endpoint.isValid()) {
        if (error)
            *error = rill::errorMessage(parseError);
        return {};
    }
    auto *listener = new rill::Listener(this);
    if (!listener->listen(endpoint)) {
        if (error)
            *error = rill::errorMessage(listener->error());
        delete listener;
        return {};
    }
    m_listeners.push_back(listener);
    acceptNext(listener, onAccepted);
    Q_EMIT listeningChanged();
    return listener->endpointString();
}

void InspectorSession::acceptNext(rill::Listener *listener, const AcceptHandler &onAccepted)
{
    listener->accept().then(this, [this, listener, onAccepted](rill::FlowResult<rill::Flow> r) {
        if (!r.isOk())
            return; // closed
        const QString name = QStringLiteral("accepted on %1 (#%2)")
                                 .arg(listener->endpointString())
                                 .arg(++m_acceptedCount);
        FlowMonitor *monitor = addFlow(r.takeFlow(), name);
        if (monitor && onAccepted)
            onAccepted(monitor);
        acceptNext(listener, onAccepted);
    });
}

QStringList InspectorSession::listeningEndpoints() const
{
    QStringList list;
    for (const rill::Listener *listener : m_listeners)
        list << listener->endpointString();
    // Attached: the process's listeners, as its probe tells them.
    if (m_client) {
        for (const rill::ProbeListener &listener : m_client->listeners()) {
            if (listener.listening)
                list << listener.endpoint;
        }
    }
    return list;
}

void InspectorSession::setName(FlowMonitor *monitor, const QString &name)
{
    if (!monitor)
        return;
    monitor->setName(name);
    if (m_model && monitor->flow())
        m_model->setName(monitor->flow(), name);
}

void InspectorSession::removeClosedFlows()
{
    QList<rill::Flow *> closed;
    for (int row = 0; row < m_model->rowCount(); ++row) {
        rill::Flow *flow = m_model->flow(row);
        if (flow && flow->state() == rill::Flow::State::Closed)
            closed << flow;
    }
    for (rill::Flow *flow : std::as_const(closed))
        m_model->removeFlow(flow);
}

void InspectorSession::tick()
{
    const qint64 lag = qMax<qint64>(0, m_sinceTick.restart() - TickInterval);
    m_recentLags.push_back(lag);
    if (m_recentLags.size() > size_t(1000 / TickInterval))
        m_recentLags.erase(m_recentLags.begin());
    m_worstLag = qMax(m_worstLag, lag);
    for (FlowMonitor *monitor : std::as_const(m_monitors))
        monitor->sample();
    for (FlowMonitor *monitor : std::as_const(m_remoteMonitors))
        monitor->sample();
    Q_EMIT ticked();
}

qint64 InspectorSession::recentLagMs() const
{
    return m_recentLags.empty() ? 0 : *std::max_element(m_recentLags.begin(), m_recentLags.end());
}

} // namespace inspector
