// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flowmonitor.h"

#include <rill/flowtext.h>

#include <QtCore/QFile>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QTimeZone>

#include <chrono>
#include <functional>
#include <type_traits>

namespace inspector {

namespace {

qint64 nowUs()
{
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// Runs f(monitor, value) once the flow's future is done, if the monitor still exists. The
// continuation's context is the flow, not the monitor: Qt 6.4 asserts when a context is gone
// before its future finishes, and a flow finishes all its futures while it is being destroyed,
// before its QObject part goes.
template<typename T, typename F>
void whenDone(rill::Flow *flow, FlowMonitor *monitor, QFuture<T> future, F &&f)
{
    QPointer<FlowMonitor> guard(monitor);
    if constexpr (std::is_void_v<T>) {
        future.then(flow, [guard, f = std::forward<F>(f)]() mutable {
            if (guard)
                f(guard.data());
        });
    } else {
        future.then(flow, [guard, f = std::forward<F>(f)](const T &value) mutable {
            if (guard)
                f(guard.data(), value);
        });
    }
}

} // namespace

FlowMonitor::FlowMonitor(rill::Flow *flow, qint64 id, const QString &name, FlowMonitor *carrier,
    QObject *parent, const QString &owner)
    : QObject(parent), m_flow(flow), m_carrier(carrier), m_owner(owner), m_id(id), m_name(name),
      m_ledger(new rill::WriteLedgerModel(flow, this)), m_dataLog(new rill::DataLog(flow, this))
{
    if (carrier)
        carrier->m_wire = this;
    if (isWatchedOnly())
        m_reading = false;
    watch();
    sample();
    readNext();
}

bool FlowMonitor::refusedAsWatchedOnly()
{
    if (!m_owner.isEmpty()) {
        Q_EMIT actionFailed(tr("#%1 is %2's, which reads and writes it: the inspector only watches it")
                                .arg(m_id)
                                .arg(m_owner));
        return true;
    }
    if (!m_carrier)
        return false;
    Q_EMIT actionFailed(tr("#%1 carries flow #%2: act on #%2, whose bytes these are")
                            .arg(m_id)
                            .arg(m_carrier->id()));
    return true;
}

FlowMonitor::FlowMonitor(
    rill::ProbeClient *client, quint64 remoteId, qint64 id, const QString &name, QObject *parent)
    : QObject(parent), m_id(id), m_name(name), m_ledger(new rill::WriteLedgerModel(this)),
      m_dataLog(new rill::DataLog(this)), m_client(client), m_remoteId(remoteId)
{
    m_reading = false; // the process reads, not the inspector
    m_ledger->setProbeFlow(client, remoteId);
    watchRemote();
    sample();
}

rill::ProbeFlow FlowMonitor::info() const
{
    if (isRemote())
        return m_client ? m_client->flow(m_remoteId) : rill::ProbeFlow();
    rill::ProbeFlow info;
    const rill::Flow *flow = m_flow.data();
    if (!flow)
        return info;
    info.id = quint64(m_id);
    info.transport = flow->transportName();
    info.localEndpoint = flow->localEndpoint().toString();
    info.peerEndpoint = flow->peerEndpoint().toString();
    info.state = flow->state();
    info.readState = flow->readState();
    info.writeState = flow->writeState();
    info.stats = flow->stats();
    info.bytesQueued = flow->bytesQueued();
    info.highWaterMark = flow->highWaterMark();
    info.writesWaiting = flow->writesWaiting();
    const rill::Error error = flow->error();
    info.error = error.isNone() ? QString() : rill::errorMessage(error);
    return info;
}

// The probe's events, logged as a local flow's signals are.
void FlowMonitor::watchRemote()
{
    rill::ProbeClient *client = m_client.data();
    if (!client)
        return;
    const rill::ProbeFlow now = client->flow(m_remoteId);
    if (!now.peerEndpoint.isEmpty())
        logEvent(EventKind::Endpoints, 0, 0, now.localEndpoint + QStringLiteral(" -> ") + now.peerEndpoint);
    connect(client, &rill::ProbeClient::eventReceived, this, [this](const QCborMap &m) {
        if (quint64(m.value(QStringLiteral("flow")).toInteger()) != m_remoteId)
            return;
        const QString t = m.value(QStringLiteral("t")).toString();
        const qint64 state = m.value(QStringLiteral("state")).toInteger();
        const qint64 write = m.value(QStringLiteral("id")).toInteger();
        if (t == QLatin1String("endpoints"))
            logEvent(EventKind::Endpoints, 0, 0,
                m.value(QStringLiteral("local")).toString() + QStringLiteral(" -> ")
                    + m.value(QStringLiteral("peer")).toString());
        else if (t == QLatin1String("state"))
            logEvent(EventKind::State, 0, state);
        else if (t == QLatin1String("read"))
            logEvent(EventKind::ReadState, 0, state);
        else if (t == QLatin1String("write"))
            logEvent(EventKind::WriteState, 0, state);
        else if (t == QLatin1String("error"))
            logEvent(EventKind::Error, 0, 0, m.value(QStringLiteral("error")).toString());
        else if (t == QLatin1String("writeQueued"))
            logEvent(EventKind::WriteQueued, write, m.value(QStringLiteral("size")).toInteger());
        else if (t == QLatin1String("writeAccepted"))
            logEvent(EventKind::WriteAccepted, write);
        else if (t == QLatin1String("writeSent"))
            logEvent(EventKind::WriteSent, write);
        else if (t == QLatin1String("writeRejected"))
            logEvent(EventKind::WriteRejected, write, 0, m.value(QStringLiteral("error")).toString());
        else if (t == QLatin1String("paused") && m.value(QStringLiteral("done")).toBool())
            logEvent(m.value(QStringLiteral("paused")).toBool() ? EventKind::ReadingPaused
                                                                : EventKind::ReadingResumed);
    });
    connect(client, &rill::ProbeClient::socketInfoReceived, this,
        [this](const rill::ProbeSocketInfo &info) {
            if (info.flow != m_remoteId)
                return;
            m_remoteSocket = info;
            m_socketAskedMs = -1;
        });
    connect(client, &rill::ProbeClient::requestFailed, this, [this](const QString &message) {
        logEvent(EventKind::ActionDone, 0, 0, message);
        Q_EMIT actionFailed(message);
    });
}

FlowMonitor::~FlowMonitor()
{
    // Explicitly, not in ~QObject: that calls the flow's disconnectNotify() with a Qt lock
    // held, and Flow::disconnectNotify() takes Qt's locks itself.
    if (m_flow)
        disconnect(m_flow, nullptr, this, nullptr);
}

void FlowMonitor::watch()
{
    rill::Flow *flow = m_flow.data();
    if (!flow)
        return;
    using rill::Flow;
    if (flow->state() != Flow::State::Connecting)
        logEvent(EventKind::Endpoints, 0, 0,
            flow->localEndpoint().toString() + QStringLiteral(" -> ") + flow->peerEndpoint().toString());
    connect(flow, &Flow::endpointsChanged, this, [this] {
        logEvent(EventKind::Endpoints, 0, 0,
            m_flow->localEndpoint().toString() + QStringLiteral(" -> ") + m_flow->peerEndpoint().toString());
    });
    connect(flow, &Flow::stateChanged, this,
        [this](Flow::State s) { logEvent(EventKind::State, 0, int(s)); });
    connect(flow, &Flow::readStateChanged, this,
        [this](Flow::ReadState s) { logEvent(EventKind::ReadState, 0, int(s)); });
    connect(flow, &Flow::writeStateChanged, this,
        [this](Flow::WriteState s) { logEvent(EventKind::WriteState, 0, int(s)); });
    connect(flow, &Flow::errorOccurred, this,
        [this](const rill::Error &e) { logEvent(EventKind::Error, 0, 0, rill::errorMessage(e)); });
    connect(flow, &Flow::writeQueued, this,
        [this](quint64 id, qint64 size) { logEvent(EventKind::WriteQueued, qint64(id), size); });
    connect(flow, &Flow::writeAccepted, this,
        [this](quint64 id) { logEvent(EventKind::WriteAccepted, qint64(id)); });
    connect(flow, &Flow::writeSent, this,
        [this](quint64 id) { logEvent(EventKind::WriteSent, qint64(id)); });
    connect(flow, &Flow::writeRejected, this, [this](quint64 id, const rill::WriteResult &r) {
        logEvent(EventKind::WriteRejected, qint64(id), 0, rill::FlowText::writeResultText(r));
    });
}

void FlowMonitor::followData()
{
    if (!isRemote() || m_followingData || !m_client)
        return;
    m_followingData = true;
    m_dataLog->setProbeFlow(m_client, m_remoteId);
}

void FlowMonitor::followSocket(bool follow)
{
    m_followingSocket = follow && isRemote();
}

void FlowMonitor::setReading(bool reading)
{
    if (isRemote()) {
        // Its process pauses the flow's own reads; the probe's answer logs it.
        if (m_client)
            m_client->pauseReading(m_remoteId, !reading);
        return;
    }
    if (reading == m_reading || (reading && refusedAsWatchedOnly()))
        return;
    m_reading = reading;
    logEvent(reading ? EventKind::ReadingResumed : EventKind::ReadingPaused);
    Q_EMIT readingChanged(reading);
    readNext();
}

void FlowMonitor::readNext()
{
    rill::Flow *flow = m_flow.data();
    if (!flow || !m_reading || m_readPending || m_readEnded || m_echoPending)
        return;
    m_readPending = true;
    whenDone(flow, this, flow->read(),
        [](FlowMonitor *self, const rill::ReadResult &result) { self->onRead(result); });
}

void FlowMonitor::onRead(const rill::ReadResult &result)
{
    m_readPending = false;
    if (result.isData()) {
        logEvent(EventKind::Read, 0, result.data().size());
        if (m_echo && m_flow) {
            // Read the next bytes only once these are accepted: backpressure goes through.
            m_echoPending = true;
            whenDone(m_flow, this, m_flow->write(result.data()),
                [](FlowMonitor *self, const rill::WriteResult &written) {
                    self->m_echoPending = false;
                    if (written.isOk())
                        self->readNext();
                });
            return;
        }
    } else {
        m_readEnded = true;
        logEvent(EventKind::ReadEnd, 0, 0, rill::FlowText::readResultText(result));
        if (result.isEof() && m_echo && m_flow)
            shutdownWrite(); // the echo is complete: pass the half-close on
        return;
    }
    readNext();
}

void FlowMonitor::logEvent(EventKind kind, qint64 id, qint64 value, const QString &text)
{
    ++m_eventSerial;
    m_events.push_back(Event {nowUs(), kind, id, value, text});
    if (m_events.size() > size_t(MaxEvents)) {
        m_events.pop_front();
        ++m_eventsDropped;
    }
}

// ---- actions

void FlowMonitor::send(const QByteArray &bytes, const QString &what)
{
    rill::Flow *flow = m_flow.data();
    if (!flow || refusedAsWatchedOnly())
        return;
    logEvent(EventKind::Action, 0, bytes.size(),
        QStringLiteral("send %1 (%2)").arg(what, rill::FlowText::bytes(bytes.size())));
    whenDone(flow, this, flow->write(bytes), [what](FlowMonitor *self, const rill::WriteResult &result) {
        if (!result.isOk())
            self->reportFailure(QStringLiteral("send ") + what, result);
    });
}

void FlowMonitor::sendBurst(int buffers, qint64 bufferSize)
{
    rill::Flow *flow = m_flow.data();
    if (!flow || buffers <= 0 || refusedAsWatchedOnly())
        return;
    QList<QByteArray> list;
    for (int i = 0; i < buffers; ++i) {
        QByteArray buffer
            = QStringLiteral("[burst buffer %1/%2] ").arg(i + 1).arg(buffers).toUtf8();
        while (buffer.size() < bufferSize)
            buffer.append(char('a' + (buffer.size() % 26)));
        buffer.truncate(bufferSize - 1);
        buffer.append('\n');
        list << buffer;
    }
    logEvent(EventKind::Action, 0, buffers * bufferSize,
        QStringLiteral("writev burst: %1 buffers of %2").arg(buffers).arg(rill::FlowText::bytes(bufferSize)));
    whenDone(flow, this, flow->writev(list), [](FlowMonitor *self, const rill::WriteResult &result) {
        if (!result.isOk())
            self->reportFailure(QStringLiteral("writev burst"), result);
    });
}

void FlowMonitor::reportFailure(const QString &what, const rill::WriteResult &result)
{
    const QString message
        = QStringLiteral("%1: %2").arg(what, rill::FlowText::writeResultText(result));
    logEvent(EventKind::ActionDone, 0, 0, message);
    Q_EMIT actionFailed(message);
}

void FlowMonitor::shutdownWrite()
{
    if (isRemote()) {
        logEvent(EventKind::Action, 0, 0, QStringLiteral("shut down write (asked of the process)"));
        if (m_client)
            m_client->shutdownFlow(m_remoteId, rill::Flow::Direction::Write);
        return;
    }
    if (!m_flow || refusedAsWatchedOnly())
        return;
    logEvent(EventKind::Action, 0, 0, QStringLiteral("shut down write"));
    whenDone(m_flow.data(), this, m_flow->shutdown(rill::Flow::Direction::Write), [](FlowMonitor *self, const rill::WriteResult &r) {
        self->logEvent(EventKind::ActionDone, 0, 0,
            r.isOk() ? QStringLiteral("shut down write: done, the queue was flushed and the FIN sent")
                     : QStringLiteral("shut down write: ") + rill::errorMessage(r.error()));
    });
}

void FlowMonitor::shutdownRead()
{
    if (isRemote()) {
        logEvent(EventKind::Action, 0, 0, QStringLiteral("shut down read (asked of the process)"));
        if (m_client)
            m_client->shutdownFlow(m_remoteId, rill::Flow::Direction::Read);
        return;
    }
    if (!m_flow || refusedAsWatchedOnly())
        return;
    logEvent(EventKind::Action, 0, 0, QStringLiteral("shut down read"));
    m_flow->shutdown(rill::Flow::Direction::Read);
}

void FlowMonitor::close()
{
    if (isRemote()) {
        logEvent(EventKind::Action, 0, 0, QStringLiteral("close (asked of the process)"));
        if (m_client)
            m_client->closeFlow(m_remoteId);
        return;
    }
    if (!m_flow || refusedAsWatchedOnly())
        return;
    logEvent(EventKind::Action, 0, 0, QStringLiteral("close"));
    whenDone(m_flow, this, m_flow->close(), [](FlowMonitor *self, const rill::CloseResult &r) {
        QString text = r.isOk() ? QStringLiteral("close: done, both sides ended")
                                : QStringLiteral("close: ") + rill::errorMessage(r.error());
        if (r.bytesDiscarded() > 0)
            text += QStringLiteral(" (%1 unread bytes discarded)").arg(r.bytesDiscarded());
        self->logEvent(EventKind::ActionDone, 0, 0, text);
    });
}

void FlowMonitor::abort()
{
    if (isRemote()) {
        logEvent(EventKind::Action, 0, 0, QStringLiteral("abort (asked of the process)"));
        if (m_client)
            m_client->abortFlow(m_remoteId);
        return;
    }
    if (!m_flow || refusedAsWatchedOnly())
        return;
    logEvent(EventKind::Action, 0, 0, QStringLiteral("abort"));
    m_flow->abort();
}

// ---- samples

void FlowMonitor::sample()
{
    rill::Flow *flow = m_flow.data();
    const rill::ProbeFlow remote = isRemote() ? info() : rill::ProbeFlow();
    if (!flow && !remote.id)
        return;
    Sample s;
    s.timeMs = QDateTime::currentMSecsSinceEpoch();
    const rill::FlowStats stats = flow ? flow->stats() : remote.stats;
    s.bytesIn = stats.bytesRead;
    s.bytesOut = stats.bytesWritten;
    s.rateIn = s.rateOut = 0;
    if (!m_samples.empty()) {
        const Sample &last = m_samples.back();
        const qint64 dt = qMax<qint64>(s.timeMs - last.timeMs, 1);
        s.rateIn = (s.bytesIn - last.bytesIn) * 1000 / dt;
        s.rateOut = (s.bytesOut - last.bytesOut) * 1000 / dt;
    }
    s.bytesQueued = flow ? flow->bytesQueued() : remote.bytesQueued;
    s.highWaterMark = flow ? flow->highWaterMark() : remote.highWaterMark;
    s.writesWaiting = flow ? flow->writesWaiting() : remote.writesWaiting;
    if (flow) {
        s.kernel = rill::Probe::socketInfo(flow); // the session samples in the flows' thread
    } else if (remote.state == rill::Flow::State::Closed || !m_client
               || m_client->state() != rill::ProbeClient::State::Attached) {
        m_remoteSocket = rill::ProbeSocketInfo(); // no socket any more, or nobody to ask
    } else if (m_followingSocket) {
        // One question at a time; asked again if its answer was lost (a full event queue).
        if (m_socketAskedMs < 0 || s.timeMs - m_socketAskedMs > 1000) {
            m_client->requestSocketInfo(m_remoteId);
            m_socketAskedMs = s.timeMs;
        }
    }
    if (!flow)
        s.kernel = m_remoteSocket;
    m_samples.push_back(s);
    if (m_samples.size() > size_t(MaxSamples))
        m_samples.pop_front();
    Q_EMIT sampled();
}

// ---- text and export

QString FlowMonitor::kindName(EventKind kind)
{
    switch (kind) {
    case EventKind::Endpoints:
        return QStringLiteral("endpoints");
    case EventKind::State:
        return QStringLiteral("state");
    case EventKind::ReadState:
        return QStringLiteral("read-state");
    case EventKind::WriteState:
        return QStringLiteral("write-state");
    case EventKind::Error:
        return QStringLiteral("error");
    case EventKind::WriteQueued:
        return QStringLiteral("write-queued");
    case EventKind::WriteAccepted:
        return QStringLiteral("write-accepted");
    case EventKind::WriteSent:
        return QStringLiteral("write-sent");
    case EventKind::WriteRejected:
        return QStringLiteral("write-rejected");
    case EventKind::Read:
        return QStringLiteral("read");
    case EventKind::ReadEnd:
        return QStringLiteral("read-end");
    case EventKind::ReadingPaused:
        return QStringLiteral("reading-paused");
    case EventKind::ReadingResumed:
        return QStringLiteral("reading-resumed");
    case EventKind::Action:
        return QStringLiteral("action");
    case EventKind::ActionDone:
        return QStringLiteral("action-done");
    }
    return {};
}

QString FlowMonitor::describe(const Event &e)
{
    using rill::Flow;
    switch (e.kind) {
    case EventKind::Endpoints:
        return QStringLiteral("connected: ") + e.text;
    case EventKind::State:
        return QStringLiteral("flow state: ") + rill::FlowText::stateText(Flow::State(e.value));
    case EventKind::ReadState:
        return QStringLiteral("read side: ")
            + rill::FlowText::readStateText(Flow::ReadState(e.value));
    case EventKind::WriteState:
        return QStringLiteral("write side: ")
            + rill::FlowText::writeStateText(Flow::WriteState(e.value));
    case EventKind::Error:
        return QStringLiteral("error: ") + e.text;
    case EventKind::WriteQueued:
        return QStringLiteral("write #%1 queued (%2)").arg(e.id).arg(rill::FlowText::bytes(e.value));
    case EventKind::WriteAccepted:
        return QStringLiteral("write #%1 accepted into the send queue").arg(e.id);
    case EventKind::WriteSent:
        return QStringLiteral("write #%1 handed to the transport").arg(e.id);
    case EventKind::WriteRejected:
        return QStringLiteral("write #%1 rejected: %2").arg(e.id).arg(e.text);
    case EventKind::Read:
        return QStringLiteral("inspector read %1").arg(rill::FlowText::bytes(e.value));
    case EventKind::ReadEnd:
        return QStringLiteral("inspector read: ") + e.text;
    case EventKind::ReadingPaused:
        return QStringLiteral("reading paused: the inspector stopped calling read()");
    case EventKind::ReadingResumed:
        return QStringLiteral("reading resumed");
    case EventKind::Action:
        return QStringLiteral("you: ") + e.text;
    case EventKind::ActionDone:
        return e.text;
    }
    return {};
}

QByteArray FlowMonitor::eventToJson(const Event &e)
{
    QJsonObject object;
    object.insert(QStringLiteral("time"),
        QDateTime::fromMSecsSinceEpoch(e.timeUs / 1000, Qt::UTC).toString(Qt::ISODateWithMs));
    object.insert(QStringLiteral("timeUs"), e.timeUs);
    object.insert(QStringLiteral("kind"), kindName(e.kind));
    if (e.id)
        object.insert(QStringLiteral("id"), e.id);
    if (e.kind == EventKind::WriteQueued || e.kind == EventKind::Read)
        object.insert(QStringLiteral("size"), e.value);
    object.insert(QStringLiteral("text"), describe(e));
    return QJsonDocument(object).toJson(QJsonDocument::Compact);
}

namespace {

bool writeLines(const QString &path, const QString &what, QString *error,
    const std::function<bool(QFile &)> &body)
{
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate)) {
        if (error)
            *error
                = QStringLiteral("cannot write %1 to %2: %3").arg(what, path, file.errorString());
        return false;
    }
    if (!body(file) || !file.flush()) {
        if (error)
            *error
                = QStringLiteral("writing %1 to %2 failed: %3").arg(what, path, file.errorString());
        return false;
    }
    return true;
}

} // namespace

bool FlowMonitor::exportEvents(const QString &path, QString *error) const
{
    return writeLines(path, QStringLiteral("the event log"), error, [this](QFile &file) {
        if (m_eventsDropped > 0) {
            QJsonObject note;
            note.insert(QStringLiteral("kind"), QStringLiteral("dropped"));
            note.insert(QStringLiteral("count"), m_eventsDropped);
            note.insert(QStringLiteral("text"),
                QStringLiteral("%1 older events were dropped").arg(m_eventsDropped));
            file.write(QJsonDocument(note).toJson(QJsonDocument::Compact) + '\n');
        }
        for (const Event &e : m_events) {
            if (file.write(eventToJson(e) + '\n') < 0)
                return false;
        }
        return true;
    });
}

bool FlowMonitor::exportData(const QString &path, QString *error) const
{
    return writeLines(path, QStringLiteral("the data log"), error, [this](QFile &file) {
        const qint64 dropped = m_dataLog->bytesDropped();
        if (dropped > 0) {
            QJsonObject note;
            note.insert(QStringLiteral("kind"), QStringLiteral("dropped"));
            note.insert(QStringLiteral("bytes"), dropped);
            note.insert(QStringLiteral("text"),
                QStringLiteral("%1 bytes went by that the log did not keep").arg(dropped));
            file.write(QJsonDocument(note).toJson(QJsonDocument::Compact) + '\n');
        }
        for (const rill::DataLog::Entry &chunk : m_dataLog->entries()) {
            QJsonObject object;
            object.insert(QStringLiteral("time"),
                QDateTime::fromMSecsSinceEpoch(chunk.timeMs, Qt::UTC).toString(Qt::ISODateWithMs));
            object.insert(QStringLiteral("direction"),
                chunk.direction == rill::DataLog::Direction::In ? QStringLiteral("in")
                                                                : QStringLiteral("out"));
            object.insert(QStringLiteral("size"), chunk.size);
            object.insert(QStringLiteral("kept"), chunk.bytes.size());
            object.insert(QStringLiteral("base64"), QString::fromLatin1(chunk.bytes.toBase64()));
            if (file.write(QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n') < 0)
                return false;
        }
        return true;
    });
}

} // namespace inspector
