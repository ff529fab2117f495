// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// What the inspector keeps about one flow: its own read loop (which can pause), the bytes in
// both directions (a rill::DataLog), an event log, a history of samples for the plot, the write
// ledger, and the actions a user can take on it. No widgets: the headless mode uses it too.
// Every log is bounded and counts what it dropped, so a flow at full speed costs bounded memory.

#include <rill/datalog.h>
#include <rill/flow.h>
#include <rill/probe.h>
#include <rill/writeledgermodel.h>

#include <QtCore/QDateTime>
#include <QtCore/QObject>
#include <QtCore/QPointer>

#include <deque>

namespace inspector {

class FlowMonitor : public QObject {
    Q_OBJECT
    Q_PROPERTY(bool reading READ isReading WRITE setReading NOTIFY readingChanged)
public:
    enum class EventKind {
        Endpoints, // text: "local -> peer"
        State, // value: rill::Flow::State
        ReadState, // value: rill::Flow::ReadState
        WriteState, // value: rill::Flow::WriteState
        Error, // text
        WriteQueued, // id, value: size
        WriteAccepted, // id
        WriteSent, // id
        WriteRejected, // id, text
        Read, // value: size (the inspector's read loop)
        ReadEnd, // text: end of stream, or the error
        ReadingPaused,
        ReadingResumed,
        Action, // text: what the user asked for
        ActionDone, // text: how it went
    };
    Q_ENUM(EventKind)

    // Small and cheap to make: at full speed there are several per write. Text for people is
    // made when shown (describe()).
    struct Event {
        qint64 timeUs; // µs since the epoch
        EventKind kind;
        qint64 id = 0;
        qint64 value = 0;
        QString text;
    };

    struct Sample {
        qint64 timeMs;
        qint64 bytesIn; // totals, as FlowStats counts them
        qint64 bytesOut;
        qint64 rateIn; // bytes per second since the previous sample
        qint64 rateOut;
        qint64 bytesQueued;
        qint64 highWaterMark;
        int writesWaiting;
        rill::ProbeSocketInfo kernel; // what the kernel says of its socket (TCP on Linux)
    };

    static constexpr int MaxEvents = 5000;
    static constexpr int MaxSamples = 600; // a minute at 10 samples a second

    // carrier: the monitor of the flow that runs over this one (a TLS flow over its wire), or
    // null. A carried flow is watched only: never read, and actions on it are refused, since
    // its bytes belong to the flow above.
    // owner: for a flow its application reads and writes (an HTTP connection of the demo), who
    // that is; the flow is then watched only, as a carried one.
    FlowMonitor(rill::Flow *flow, qint64 id, const QString &name, FlowMonitor *carrier = nullptr,
        QObject *parent = nullptr, const QString &owner = QString());
    // A flow of another process (--attach): what its probe publishes. The ledger and the events
    // come from the probe's events, the samples from its counters, the kernel view from the
    // probe's answers while followSocket() is on; the inspector's read loop is not available,
    // and actions go to the probe (which refuses them unless the process allowed control).
    FlowMonitor(rill::ProbeClient *client, quint64 remoteId, qint64 id, const QString &name,
        QObject *parent = nullptr);
    ~FlowMonitor() override;

    rill::Flow *flow() const { return m_flow.data(); } // null for a remote flow
    bool isRemote() const { return m_remoteId != 0; }
    // A remote flow's data log asks its probe for data (bounded) once this is called.
    void followData();
    // While on, each sample of a remote flow asks its probe what the kernel says of its socket
    // (the shown flow's only: one small request per sample).
    void followSocket(bool follow);
    rill::ProbeClient *probeClient() const { return m_client.data(); }
    quint64 remoteId() const { return m_remoteId; }
    // What the views show of the flow, local or remote (id 0 if there is none any more).
    rill::ProbeFlow info() const;
    FlowMonitor *carrier() const { return m_carrier.data(); } // the flow above, if any
    bool isWatchedOnly() const { return m_carrier || !m_owner.isEmpty(); } // no read, no action
    FlowMonitor *wire() const { return m_wire.data(); }       // the flow below, if any
    qint64 id() const { return m_id; }
    QString name() const { return m_name; }
    void setName(const QString &name) { m_name = name; } // use InspectorSession::setName()
    rill::WriteLedgerModel *ledger() const { return m_ledger; }
    // Both directions' bytes since the monitor started, within the log's default bounds.
    rill::DataLog *dataLog() const { return m_dataLog; }

    // The inspector's own read loop. Paused, it stops calling read(): the flow reads ahead a
    // little, then the kernel's receive queue fills, then the peer's send queue.
    bool isReading() const { return m_reading; }
    void setReading(bool reading);
    // Echo: write back what is read (the demo's servers). A pending echo write pauses reading,
    // so backpressure passes through; at the end of stream the write side is shut down.
    void setEcho(bool echo) { m_echo = echo; }
    bool isEcho() const { return m_echo; }

    // Actions. Each is logged as an event, and its outcome too.
    void send(const QByteArray &bytes, const QString &what);
    void sendBurst(int buffers, qint64 bufferSize); // one writev() of several buffers
    void shutdownWrite();
    void shutdownRead();
    void close();
    void abort();

    const std::deque<Event> &events() const { return m_events; }
    qint64 eventsDropped() const { return m_eventsDropped; }
    qint64 eventSerial() const { return m_eventSerial; } // events ever logged
    const std::deque<Sample> &samples() const { return m_samples; }
    rill::ProbeSocketInfo kernelInfo() const
    {
        return m_samples.empty() ? rill::ProbeSocketInfo() : m_samples.back().kernel;
    }

    // JSON lines: one object per event, or per data chunk (base64).
    bool exportEvents(const QString &path, QString *error) const;
    bool exportData(const QString &path, QString *error) const;
    static QByteArray eventToJson(const Event &event);

    // Called by the session ten times a second: a new sample for the plot.
    void sample();

    void logEvent(EventKind kind, qint64 id = 0, qint64 value = 0, const QString &text = {});
    static QString kindName(EventKind kind); // "write-queued"
    static QString describe(const Event &event); // "write #3 queued (100 bytes)"

Q_SIGNALS:
    void readingChanged(bool reading);
    void sampled();
    void actionFailed(const QString &message);

private:
    void readNext();
    void onRead(const rill::ReadResult &result);
    void reportFailure(const QString &what, const rill::WriteResult &result);
    void watch();
    bool refusedAsWatchedOnly(); // true (and says why) for an action on a watched-only flow
    void watchRemote();

    QPointer<rill::Flow> m_flow;
    QPointer<FlowMonitor> m_carrier;
    QString m_owner;
    QPointer<FlowMonitor> m_wire;
    qint64 m_id;
    QString m_name;
    rill::WriteLedgerModel *m_ledger;
    rill::DataLog *m_dataLog;
    bool m_reading = true;
    bool m_readPending = false;
    bool m_readEnded = false;
    bool m_echo = false;
    bool m_echoPending = false;

    std::deque<Event> m_events;
    qint64 m_eventsDropped = 0;
    qint64 m_eventSerial = 0;
    std::deque<Sample> m_samples;
    QPointer<rill::ProbeClient> m_client; // a remote flow's
    quint64 m_remoteId = 0;
    bool m_followingData = false;
    bool m_followingSocket = false;
    rill::ProbeSocketInfo m_remoteSocket; // the probe's last answer
    qint64 m_socketAskedMs = -1; // when the unanswered question went, -1 if none is
};

} // namespace inspector
