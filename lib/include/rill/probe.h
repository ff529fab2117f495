// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::Probe, the registry of a process's flows published to inspectors over a private Unix
/// socket, and rill::ProbeClient, its other end.

#include <rill/flow.h>

#include <QtCore/QCborMap>
#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QPointer>

#include <functional>
#include <memory>

namespace rill {

/// One request and its response on a flow, as a protocol library (Rill::Http) reports it to
/// inspectors: a row of a browser's network panel. Reported again, whole, at each step (sent,
/// response head, end), under the same id.
struct RILL_EXPORT ProbeExchange
{
    Q_GADGET
public:
    /// Which end of the exchange the reporting process is.
    enum class Role {
        Client, ///< It sent the request.
        Server, ///< It answered it.
    };
    Q_ENUM(Role)

    quint64 flow = 0;          ///< The flow that carries it, as Probe::flowId() names it.
    quint64 id = 0;            ///< Its id in the process (1, 2, ... in report order).
    Role role = Role::Client;  ///< Which end reported it.
    QString protocol;          ///< "HTTP/1.1", "HTTP/1.0".
    QString method;            ///< "GET", ...
    QString target;            ///< The request target: "/index.html?x=1".
    int status = 0;            ///< The response's status; 0 before its head.
    QString reason;            ///< The response's reason phrase.
    qint64 requestBytes = 0;   ///< Request body bytes so far.
    qint64 responseBytes = 0;  ///< Response body bytes so far.
    QDateTime started;         ///< When the request began (its head sent or received).
    qint64 headersMs = -1;     ///< Milliseconds from started to the response head; -1: not yet.
    qint64 durationMs = -1;    ///< Milliseconds from started to the end; -1: under way.
    QString error;             ///< Why it failed; "" if it did not (yet).

    /// Whether it ended, well or not.
    bool isFinished() const { return durationMs >= 0; }
};

/// What the kernel says of a flow's socket, beside Rill's own view of the flow: its queues and
/// its TCP state, so a half-close shows as FIN-WAIT-2 or CLOSE-WAIT. Linux, TCP flows; for other
/// flows (or elsewhere) isAvailable() is false.
struct RILL_EXPORT ProbeSocketInfo
{
    Q_GADGET
public:
    quint64 flow = 0;         ///< The flow, as Probe::flowId() names it.
    qint64 sendQueue = -1;    ///< Bytes in the socket's send queue, unsent or not yet
                              ///< acknowledged (`SIOCOUTQ`); -1: unknown.
    qint64 receiveQueue = -1; ///< Bytes received that the flow has not read yet (`SIOCINQ`);
                              ///< -1: unknown.
    int tcpState = -1;        ///< The TCP state (`tcp_info.tcpi_state`, in Linux's numbering);
                              ///< -1: unknown.

    /// Whether the kernel said anything.
    bool isAvailable() const { return sendQueue >= 0 || receiveQueue >= 0 || tcpState >= 0; }
    /// The TCP state as RFC 793 names it ("ESTABLISHED", "FIN-WAIT-2", "CLOSE-WAIT", ...);
    /// "" when unknown.
    QString tcpStateName() const;
};

/// The probe: every live flow and listener of the process, and, once started, a Unix socket
/// that publishes them to inspectors of the same user.
///
/// The registry is always kept (a flow joins it when made and leaves it when destroyed). The
/// socket is opened by start(), or with no code at all when the process starts with
/// `RILL_INSPECT=1` (or `RILL_INSPECT=control`, which also allows control actions) in its
/// environment, when its QCoreApplication is made.
///
/// The socket is `$XDG_RUNTIME_DIR/rill/<pid>` (or `/tmp/rill-<uid>/<pid>` without
/// XDG_RUNTIME_DIR), the folder mode 0700 and owned by the user, the socket mode 0600; it is
/// removed when the application object is destroyed, and sockets left by dead processes are
/// removed when a probe starts. A peer of another uid (checked with `SO_PEERCRED`) is refused
/// and logged under `rill.probe`. The socket is served on the probe's own thread.
///
/// Flows pay for the probe only while a subscriber is attached: then each state change and
/// write ledger entry is put, in the flow's thread, on a bounded queue per subscriber. A
/// subscriber that does not keep up loses events (counted and reported to it) and is cut off
/// once it lost more than a queue's worth.
///
/// The protocol: frames of a 4-byte big-endian length and a CBOR map, each with "v" (the
/// version, ProtocolVersion) and "t" (its type); see docs/inspector.md.
class RILL_EXPORT Probe
{
    Q_GADGET
public:
    /// What subscribers may do besides watching.
    enum Control {
        ObserveOnly,  ///< Watching only; control actions are refused.
        AllowControl, ///< Subscribers may shut down a direction of a flow, close or abort it,
                      ///< or pause its reading.
    };
    Q_ENUM(Control)

    /// The version of the protocol, in every frame's "v".
    static constexpr int ProtocolVersion = 1;
    /// Events a subscriber's queue holds; past that they are lost, and past twice that lost
    /// the subscriber is cut off.
    static constexpr int QueueLimit = 4096;

    /// Opens the probe's socket, if it is not open yet, allowing \a control; false (and a
    /// warning under `rill.probe`) if it could not be made. Needs a QCoreApplication.
    static bool start(Control control = ObserveOnly);
    /// Closes the socket and cuts off its subscribers; the registry stays.
    static void stop();
    /// True while the socket is open.
    static bool isRunning();
    /// This process's socket while running, else "".
    static QString socketPath();
    /// The folder where this user's probes listen.
    static QString socketDirectory();
    /// The live flows of the process, in the order they were made. A snapshot: use a flow only
    /// in its own thread, or while it surely lives.
    static QList<QPointer<rill::Flow>> flows();
    /// How many flows are alive in the process.
    static int flowCount();
    /// The id \a flow has in the registry (and in ProbeFlow::id, ProbeExchange::flow), 0 if it
    /// has none (destroyed, or still being made).
    static quint64 flowId(const rill::Flow *flow);
    /// What the kernel says of \a flow's socket now (its `flow` is flowId()). Call it in the
    /// flow's thread: from another, its descriptor may be closed and its number reused meanwhile.
    static rill::ProbeSocketInfo socketInfo(const rill::Flow *flow);

    /// Whether anyone follows exchanges now (a watchExchanges() handler, or a subscriber):
    /// a protocol library reports them only then, so an unwatched exchange costs this check.
    static bool isTracingExchanges();
    /// Reports \a exchange, carried on \a flow (its `flow` is set from it), to watchExchanges()
    /// handlers and to subscribers that follow the flow's write ledger. Returns its id:
    /// exchange.id, or a new one if that is 0, to report its next steps with. Any thread.
    static quint64 reportExchange(const rill::Flow *flow, const rill::ProbeExchange &exchange);
    /// The exchanges under way on \a flow, each as last reported, in report order: those
    /// reported since their start (a protocol library traces an exchange only if someone
    /// followed exchanges when it began), at most 64 a flow. A view that starts following a
    /// flow shows them at once, instead of at their next step. Any thread.
    static QList<rill::ProbeExchange> exchangesInFlight(const rill::Flow *flow);
    /// Calls \a handler, in \a context's thread, with every exchange reported from now on in
    /// this process, until \a context is destroyed or the returned connection is disconnected.
    static QMetaObject::Connection
    watchExchanges(const QObject *context, std::function<void(const rill::ProbeExchange &)> handler);
};

/// A process that can be inspected, as ProbeClient::processes() lists it.
struct RILL_EXPORT ProbeProcess
{
    Q_GADGET
    /// See the field pid.
    Q_PROPERTY(qint64 pid MEMBER pid)
    /// See the field program.
    Q_PROPERTY(QString program MEMBER program)
    /// See the field flows.
    Q_PROPERTY(int flows MEMBER flows)
    /// See the field started.
    Q_PROPERTY(QDateTime started MEMBER started)
public:
    qint64 pid = 0;    ///< Its process id.
    QString program;   ///< Its program's name.
    int flows = 0;     ///< Its live flows when asked.
    QDateTime started; ///< When its probe started.
};

/// A flow of an inspected process, as the probe last told it.
struct RILL_EXPORT ProbeFlow
{
    Q_GADGET
public:
    quint64 id = 0;            ///< The flow's id in its process (1, 2, ... in creation order).
    QString transport;         ///< Flow::transportName().
    QString localEndpoint;     ///< Flow::localEndpoint(), as text.
    QString peerEndpoint;      ///< Flow::peerEndpoint(), as text.
    Flow::State state = Flow::State::Connecting;        ///< Flow::state().
    Flow::ReadState readState = Flow::ReadState::Open;  ///< Flow::readState().
    Flow::WriteState writeState = Flow::WriteState::Open; ///< Flow::writeState().
    FlowStats stats;           ///< Flow::stats().
    qint64 bytesQueued = 0;    ///< Flow::bytesQueued().
    qint64 highWaterMark = 0;  ///< Flow::highWaterMark().
    int writesWaiting = 0;     ///< Flow::writesWaiting().
    QString error;             ///< Flow::error() as text, "" for none.
    bool readPaused = false;   ///< Its reading is paused by an inspector (ProbeClient::pauseReading()).
};

/// A listener of an inspected process, as the probe last told it.
struct RILL_EXPORT ProbeListener
{
    Q_GADGET
public:
    quint64 id = 0;         ///< The listener's id in its process (1, 2, ... in creation order).
    QString endpoint;       ///< Where it listens, as text; "" before it listens.
    bool listening = false; ///< Whether it listens now.
};

class ProbeClientPrivate;

/// The inspector's end of a probe: attaches to another process's probe and keeps its flows
/// up to date from the events it publishes.
///
/// When the process exits (or cuts the client off), ended() is emitted and flows() keeps the
/// last picture.
class RILL_EXPORT ProbeClient : public QObject
{
    Q_OBJECT
    /// Where the client stands. \sa state()
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    /// Events the probe could not send. \sa eventsLost()
    Q_PROPERTY(qint64 eventsLost READ eventsLost NOTIFY eventsLostChanged)
public:
    /// Where the client stands.
    enum class State {
        Detached,  ///< Not attached.
        Attaching, ///< Connected, waiting for the probe's hello.
        Attached,  ///< Following the process's flows.
        Ended,     ///< The process exited or cut the client off; flows() is the last picture.
    };
    Q_ENUM(State)

    /// How long a flow destroyed in its process stays in flows() (as Closed), in milliseconds;
    /// after the process ended, it stays.
    static constexpr int GoneFlowLingerMs = 2000;

    /// A client attached to nothing.
    explicit ProbeClient(QObject *parent = nullptr);
    /// Detaches.
    ~ProbeClient() override;

    /// The processes of this user with a probe, each asked for its hello (waiting at most
    /// \a timeoutMs for each). Sockets of dead processes are removed.
    static QList<rill::ProbeProcess> processes(int timeoutMs = 1000);

    /// Connects to the probe of process \a pid; false with \a error saying why not: no such
    /// process, a process of another user, or one without a probe. On success the flows
    /// follow once attached() is emitted.
    bool attach(qint64 pid, QString *error = nullptr);
    /// Disconnects; flows() keeps the last picture.
    void detach();

    /// Where the client stands.
    State state() const;
    /// The process attached to, from its hello.
    rill::ProbeProcess process() const;
    /// Whether the process allows control actions.
    bool controlAllowed() const;
    /// The process's flows, by id.
    QList<rill::ProbeFlow> flows() const;
    /// The flow \a id; an empty ProbeFlow (id 0) if there is none.
    rill::ProbeFlow flow(quint64 id) const;
    /// The process's listeners (TcpListener, LocalListener), by id.
    QList<rill::ProbeListener> listeners() const;
    /// Events the probe reported lost for this client.
    qint64 eventsLost() const;
    /// Why the client ended, once it did.
    QString endReason() const;

    /// Asks for up to \a maxBytes (at most 1 MiB) of the data flow \a id sends and receives
    /// from now on, as dataReceived().
    void requestData(quint64 id, qint64 maxBytes = 64 * 1024);
    /// Asks for the write ledger (the events "writeQueued", "writeAccepted", "writeSent",
    /// "writeRejected" and "writeLost") of only the flows \a ids from now on, none if empty.
    /// A client gets every flow's when it attaches; a flow whose ledger no client wants does
    /// not pay for it, and an inspector needs the ledger of the flow it shows.
    void setLedgerFlows(const QList<quint64> &ids);
    /// Asks for every flow's write ledger again, as when attached.
    void followAllLedgers();
    /// Asks what the kernel says of flow \a id's socket now: answered once, by
    /// socketInfoReceived() (not available for a flow that is gone or has no TCP socket).
    void requestSocketInfo(quint64 id);
    /// Asks the process to shut down \a direction of flow \a id (refused without control).
    void shutdownFlow(quint64 id, rill::Flow::Direction direction);
    /// Asks the process to abort flow \a id (refused without control).
    void abortFlow(quint64 id);
    /// Asks the process to close flow \a id as Flow::close() does: its queue flushed (within
    /// the close's bound), then both directions ended (refused without control). The
    /// application's pending reads and writes end as they would had it called close() itself.
    void closeFlow(quint64 id);
    /// Asks the process to pause (\a paused true) or resume reading flow \a id (refused
    /// without control). While paused, the flow's reads wait even when data came, and what
    /// comes is kept up to its read-ahead, so the peer is pushed back; nothing is lost. The
    /// flow resumes when its application closes it, when it fails, or when no inspector is
    /// attached any more. ProbeFlow::readPaused follows; a flow whose reading has ended
    /// cannot be paused (requestFailed()).
    void pauseReading(quint64 id, bool paused = true);

Q_SIGNALS:
    /// The state changed to \a state.
    void stateChanged(rill::ProbeClient::State state);
    /// The probe said hello and sent its flows.
    void attached();
    /// The process exited, or cut the client off; \a reason says which.
    void ended(const QString &reason);
    /// Flow \a id appeared.
    void flowAdded(quint64 id);
    /// A listener was made, started or stopped listening, or was destroyed: listeners() changed.
    void listenersChanged();
    /// Flow \a id, destroyed in its process GoneFlowLingerMs ago, left flows().
    void flowRemoved(quint64 id);
    /// Something of flow \a id changed.
    void flowChanged(quint64 id);
    /// Every event as it came: a CBOR map with "t" (its type) and "flow" (the flow's id).
    void eventReceived(const QCborMap &event);
    /// Data of flow \a id asked for with requestData(): \a sent says its direction.
    void dataReceived(quint64 id, bool sent, const QByteArray &data);
    /// The probe refused or failed a request, saying why in \a message.
    void requestFailed(const QString &message);
    /// The probe reported \a count events lost in all.
    void eventsLostChanged(qint64 count);
    /// A step of \a exchange, on a flow whose write ledger this client follows
    /// (setLedgerFlows()): each report carries the whole exchange, under its id.
    void exchangeReported(const rill::ProbeExchange &exchange);
    /// The answer to requestSocketInfo(\a info.flow).
    void socketInfoReceived(const rill::ProbeSocketInfo &info);

private:
    std::unique_ptr<ProbeClientPrivate> d;
    Q_DISABLE_COPY(ProbeClient)
};

} // namespace rill
