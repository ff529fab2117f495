// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flow_p.h"
#include "probe_p.h"

#include <rill/endpoint.h>
#include <rill/error.h>
#include <rill/listener.h>
#include <rill/probe.h>
#include <rill/tcpflow.h>
#include <rill/version.h>

#include <QtCore/QCborArray>
#include <QtCore/QCborValue>
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QHash>
#include <QtCore/QSet>
#include <QtCore/QLoggingCategory>
#include <QtCore/QMetaMethod>
#include <QtCore/QMutex>
#include <QtCore/QThread>
#include <QtCore/QTimer>
#include <QtCore/QtEndian>
#include <QtNetwork/QLocalServer>
#include <QtNetwork/QLocalSocket>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef Q_OS_LINUX
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

namespace rill {

Q_LOGGING_CATEGORY(lcProbe, "rill.probe")

namespace {

// What the socket may hold for a subscriber before its events wait in its queue instead.
constexpr qint64 SocketLimit = 256 * 1024;
// A subscriber that lost this many events is cut off.
constexpr qint64 CutOffLimit = 2 * Probe::QueueLimit;
// How often the counters, which change without a signal, are sent.
constexpr int StatsIntervalMs = 250;
// How often a subscriber's queue is sent, with the queue sizes and waiting counts as they are
// then. The write ledger waits for it (or for a half-full queue), so a flow's thread does not
// wake the probe's thread for every write; state changes and errors wake it at once.
constexpr int DrainIntervalMs = 20;
constexpr qint64 MaxDataRequest = 1024 * 1024;

using probe::frame;

QCborMap statsMap(const FlowStats &s)
{
    return QCborMap{{QStringLiteral("read"), s.bytesRead}, {QStringLiteral("readOps"), s.readOps},
                    {QStringLiteral("written"), s.bytesWritten},
                    {QStringLiteral("writeOps"), s.writeOps},
                    {QStringLiteral("discarded"), s.bytesDiscarded},
                    {QStringLiteral("unsent"), s.bytesUnsent},
                    {QStringLiteral("readSpliced"), s.bytesReadSpliced},
                    {QStringLiteral("writtenSpliced"), s.bytesWrittenSpliced}};
}

QString errorText(const Error &error)
{
    return error.isNone() ? QString() : errorMessage(error);
}

struct FlowValues;
qint64 queuedOf(const FlowValues &values);
qint64 highWaterMarkOf(const FlowValues &values);
int waitingOf(const FlowValues &values);

// values: what the probe keeps of the flow while observed, else null (the flow's thread).
QCborMap flowMap(const Flow *flow, quint64 id, bool readPaused, const FlowValues *values = nullptr)
{
    return QCborMap{{QStringLiteral("t"), QStringLiteral("flow")},
                    {QStringLiteral("flow"), qint64(id)},
                    {QStringLiteral("transport"), flow->transportName()},
                    {QStringLiteral("local"), flow->localEndpoint().toString()},
                    {QStringLiteral("peer"), flow->peerEndpoint().toString()},
                    {QStringLiteral("state"), int(flow->state())},
                    {QStringLiteral("read"), int(flow->readState())},
                    {QStringLiteral("write"), int(flow->writeState())},
                    {QStringLiteral("stats"), statsMap(flow->stats())},
                    {QStringLiteral("queued"), values ? queuedOf(*values) : flow->bytesQueued()},
                    {QStringLiteral("hwm"),
                     values ? highWaterMarkOf(*values) : flow->highWaterMark()},
                    {QStringLiteral("waiting"),
                     values ? waitingOf(*values) : flow->writesWaiting()},
                    {QStringLiteral("error"), errorText(flow->error())},
                    {QStringLiteral("paused"), readPaused}};
}

QCborMap listenerMap(QObject *listener, quint64 id)
{
    return QCborMap{{QStringLiteral("t"), QStringLiteral("listener")},
                    {QStringLiteral("listener"), qint64(id)},
                    {QStringLiteral("endpoint"),
                     listener->property("endpoint").value<Endpoint>().toString()},
                    {QStringLiteral("listening"), listener->property("listening").toBool()}};
}

// ---- Events, made compact in the flow's thread and encoded in the probe's.

enum class EventType : quint8 {
    Frame, // already encoded
    State,
    ReadState,
    WriteState,
    Endpoints,
    HighWaterMark,
    BytesQueued,
    WritesWaiting,
    WriteQueued,
    WriteAccepted,
    WriteSent,
    WriteRejected,
    WriteLost,
    Exchange, // follows the ledger's choice of flows; already encoded
    Error,
    Data,
    Paused,
};

// The write ledger, and the exchanges: sent only to subscribers that asked for the flow's
// ledger, and without waking the probe's thread.
bool isLedger(EventType type)
{
    return type >= EventType::WriteQueued && type <= EventType::Exchange;
}

struct Event
{
    Event(EventType type, quint64 flow, qint64 a = 0, qint64 b = 0, QString text = {},
          QString text2 = {}, QByteArray bytes = {})
        : type(type), flow(flow), a(a), b(b), text(std::move(text)), text2(std::move(text2)),
          bytes(std::move(bytes))
    {
    }
    EventType type;
    quint64 flow;
    qint64 a;
    qint64 b;
    QString text;
    QString text2;
    QByteArray bytes;
};

// Frames one after another into one buffer, each a CBOR map with its length in front: one
// buffer per drain instead of a QCborMap and a QByteArray per event. The few CBOR heads these
// maps need (integers, strings, booleans; RFC 8949, section 3) are written here: through
// QCborStreamWriter and a QBuffer each key cost some 300 instructions (callgrind), most of
// the probe thread's time. QCborValue::fromCbor() reads them.
class FrameWriter
{
public:
    explicit FrameWriter(QByteArray *out) : m_out(out) {}

    void write(const Event &e)
    {
        if (e.type == EventType::Frame || e.type == EventType::Exchange) {
            m_out->append(e.bytes);
            return;
        }
        static const char *const names[] = {"",         "state",        "read",       "write",
                                            "endpoints", "hwm",         "queued",     "waiting",
                                            "writeQueued", "writeAccepted", "writeSent",
                                            "writeRejected", "writeLost", "exchange", "error", "data", "paused"};
        int fields = 0;
        switch (e.type) {
        case EventType::Endpoints:
        case EventType::WriteQueued:
        case EventType::WriteRejected:
        case EventType::WriteLost:
        case EventType::Data:
        case EventType::Paused:
            fields = 2;
            break;
        default:
            fields = 1;
        }
        begin(names[int(e.type)], fields + 1);
        int_("flow", qint64(e.flow));
        switch (e.type) {
        case EventType::State:
        case EventType::ReadState:
        case EventType::WriteState:
            int_("state", e.a);
            break;
        case EventType::Endpoints:
            text("local", e.text);
            text("peer", e.text2);
            break;
        case EventType::HighWaterMark:
        case EventType::BytesQueued:
        case EventType::WritesWaiting:
            int_("value", e.a);
            break;
        case EventType::WriteQueued:
            int_("id", e.a);
            int_("size", e.b);
            break;
        case EventType::WriteAccepted:
        case EventType::WriteSent:
            int_("id", e.a);
            break;
        case EventType::WriteRejected:
        case EventType::WriteLost:
            int_("id", e.a);
            text("error", e.text);
            break;
        case EventType::Error:
            text("error", e.text);
            break;
        case EventType::Data:
            flag("sent", e.a != 0);
            bytes("data", e.bytes);
            break;
        case EventType::Paused:
            flag("paused", e.a != 0);
            flag("done", e.b != 0);
            break;
        case EventType::Frame:
        case EventType::Exchange:
            break;
        }
        end();
    }

private:
    enum Major : quint8 { Unsigned = 0, Negative = 1, Bytes = 2, Text = 3, Map = 5 };

    void head(Major major, quint64 n)
    {
        char buffer[9];
        const char type = char(major << 5);
        qsizetype size;
        if (n < 24) {
            buffer[0] = char(type | char(n));
            size = 1;
        } else if (n <= 0xff) {
            buffer[0] = char(type | 24);
            buffer[1] = char(n);
            size = 2;
        } else if (n <= 0xffff) {
            buffer[0] = char(type | 25);
            qToBigEndian<quint16>(quint16(n), buffer + 1);
            size = 3;
        } else if (n <= 0xffffffffU) {
            buffer[0] = char(type | 26);
            qToBigEndian<quint32>(quint32(n), buffer + 1);
            size = 5;
        } else {
            buffer[0] = char(type | 27);
            qToBigEndian<quint64>(n, buffer + 1);
            size = 9;
        }
        m_out->append(buffer, size);
    }
    void key(const char *name)
    {
        const qsizetype size = qsizetype(std::strlen(name));
        head(Text, quint64(size));
        m_out->append(name, size);
    }
    void integer(qint64 value)
    {
        if (value >= 0)
            head(Unsigned, quint64(value));
        else
            head(Negative, quint64(-1 - value));
    }
    void boolean(bool value) { m_out->append(char(value ? 0xf5 : 0xf4)); }

    // A map of "v", "t" and `pairs` more.
    void begin(const char *type, int pairs)
    {
        m_start = m_out->size();
        m_out->append(4, '\0');
        head(Map, quint64(pairs) + 2);
        int_("v", Probe::ProtocolVersion);
        key("t");
        key(type);
    }
    void end()
    {
        qToBigEndian<quint32>(quint32(m_out->size() - m_start - 4), m_out->data() + m_start);
    }
    void int_(const char *name, qint64 value)
    {
        key(name);
        integer(value);
    }
    void text(const char *name, const QString &value)
    {
        key(name);
        const QByteArray utf8 = value.toUtf8();
        head(Text, quint64(utf8.size()));
        m_out->append(utf8);
    }
    void bytes(const char *name, const QByteArray &value)
    {
        key(name);
        head(Bytes, quint64(value.size()));
        m_out->append(value);
    }
    void flag(const char *name, bool value)
    {
        key(name);
        boolean(value);
    }

    QByteArray *m_out;
    qsizetype m_start = 0;
};

class Subscriber;

// A data tap asked for by one subscriber on one flow, until its budget is spent.
struct DataTap
{
    Subscriber *subscriber;
    quint64 flow;
    qint64 budget;
    QMetaObject::Connection arrived, sent;
};

// What a flow changes at every write, kept here by its thread (no lock, no event) while
// subscribers exist; the probe's thread sends the last values at each drain, as inspectors
// need them, not every step.
struct FlowValues
{
    std::atomic<qint64> queued{0};
    std::atomic<qint64> highWaterMark{0};
    std::atomic<int> waiting{0};
    std::atomic<bool> changed{false};
};

qint64 queuedOf(const FlowValues &values) { return values.queued.load(std::memory_order_relaxed); }
qint64 highWaterMarkOf(const FlowValues &values)
{
    return values.highWaterMark.load(std::memory_order_relaxed);
}
int waitingOf(const FlowValues &values) { return values.waiting.load(std::memory_order_relaxed); }

// What the probe keeps of a flow while subscribers exist.
struct Observed
{
    QList<QMetaObject::Connection> connections;
    QList<QMetaObject::Connection> ledger; // while a subscriber wants its write ledger
    std::shared_ptr<FlowValues> values = std::make_shared<FlowValues>();
    qint64 sentQueued = 0; // the values last sent, in the probe's thread
    qint64 sentHighWaterMark = 0;
    int sentWaiting = 0;
    FlowStats lastStats;
};

// Small while nobody subscribes: a process's every flow has one.
struct FlowEntry
{
    Flow *flow = nullptr;
    quint64 id = 0;
    std::unique_ptr<Observed> observed; // while subscribers exist
    bool readPaused = false; // by a subscriber's request; resumed when the last one leaves
};

struct ListenerEntry
{
    QObject *listener = nullptr; // a TcpListener or LocalListener
    QMetaObject::Connection connection; // while subscribers exist
};

// Everything here is under mutex. Recursive: a control action run at once (the flow's thread
// ended) emits the flow's signals, which publish, in the thread that holds the lock.
struct Registry
{
    QRecursiveMutex mutex;
    QHash<const Flow *, quint64> flowIds;
    std::map<quint64, FlowEntry> flows;
    QHash<const QObject *, quint64> listenerIds;
    std::map<quint64, ListenerEntry> listeners;
    quint64 lastFlowId = 0;
    quint64 lastListenerId = 0;
    QList<Subscriber *> subscribers;
    std::atomic<bool> subscribed{false}; // !subscribers.isEmpty(), read without the lock
    QList<std::shared_ptr<DataTap>> taps;
    bool control = false;
    // By flow id, the last report of each exchange under way (reported only while someone
    // traces; the oldest dropped past MaxExchangesInFlight a flow): a view that starts
    // following a flow mid-download shows the download at once, not at its end.
    std::map<quint64, std::map<quint64, ProbeExchange>> exchangesInFlight;
};
constexpr size_t MaxExchangesInFlight = 64;

// Never destroyed: flows may outlive static destructors.
Registry &registry()
{
    static Registry *r = new Registry;
    return *r;
}

void publish(const Event &event);
void updateLedgers(Registry &r);

// Under the registry's lock: the flow's signals now publish events, and its values are kept.
void observe(FlowEntry &entry)
{
    Flow *f = entry.flow;
    const quint64 id = entry.id;
    entry.observed = std::make_unique<Observed>();
    Observed &o = *entry.observed;
    auto on = [&](auto signal, auto handler) {
        o.connections << QObject::connect(f, signal, f, handler, Qt::DirectConnection);
    };
    on(&Flow::stateChanged, [id](Flow::State s) { publish({EventType::State, id, int(s)}); });
    on(&Flow::readStateChanged,
       [id](Flow::ReadState s) { publish({EventType::ReadState, id, int(s)}); });
    on(&Flow::writeStateChanged,
       [id](Flow::WriteState s) { publish({EventType::WriteState, id, int(s)}); });
    on(&Flow::endpointsChanged, [id, f] {
        publish({EventType::Endpoints, id, 0, 0, f->localEndpoint().toString(),
                 f->peerEndpoint().toString()});
    });
    on(&Flow::errorOccurred,
       [id](const Error &e) { publish({EventType::Error, id, 0, 0, errorText(e)}); });
    // The values as they are now; from here on the flow's thread keeps them, and the probe's
    // thread reads them there instead of calling the flow's getters from another thread.
    FlowValues &v = *o.values;
    v.queued.store(f->bytesQueued(), std::memory_order_relaxed);
    v.highWaterMark.store(f->highWaterMark(), std::memory_order_relaxed);
    v.waiting.store(f->writesWaiting(), std::memory_order_relaxed);
    o.sentQueued = v.queued;
    o.sentHighWaterMark = v.highWaterMark;
    o.sentWaiting = v.waiting;
    const std::shared_ptr<FlowValues> values = o.values;
    on(&Flow::highWaterMarkChanged, [values](qint64 bytes) {
        values->highWaterMark.store(bytes, std::memory_order_relaxed);
        values->changed.store(true, std::memory_order_release);
    });
    on(&Flow::bytesQueuedChanged, [values](qint64 bytes) {
        values->queued.store(bytes, std::memory_order_relaxed);
        values->changed.store(true, std::memory_order_release);
    });
    on(&Flow::writesWaitingChanged, [values](int count) {
        values->waiting.store(count, std::memory_order_relaxed);
        values->changed.store(true, std::memory_order_release);
    });
}

// Under the registry's lock, while observed: the flow's write ledger is published.
void observeLedger(FlowEntry &entry)
{
    Flow *f = entry.flow;
    const quint64 id = entry.id;
    auto on = [&](auto signal, auto handler) {
        entry.observed->ledger << QObject::connect(f, signal, f, handler, Qt::DirectConnection);
    };
    on(&Flow::writeQueued, [id](quint64 w, qint64 size) {
        publish({EventType::WriteQueued, id, qint64(w), size});
    });
    on(&Flow::writeAccepted, [id](quint64 w) { publish({EventType::WriteAccepted, id, qint64(w)}); });
    on(&Flow::writeSent, [id](quint64 w) { publish({EventType::WriteSent, id, qint64(w)}); });
    on(&Flow::writeRejected, [id](quint64 w, const WriteResult &r) {
        publish({EventType::WriteRejected, id, qint64(w), 0,
                 r.isEof() ? QStringLiteral("end of stream") : errorText(r.error())});
    });
    on(&Flow::writeLost, [id](quint64 w, const Error &e) {
        publish({EventType::WriteLost, id, qint64(w), 0, errorText(e)});
    });
}

// Under the registry's lock: the listener's start and stop publish its endpoint.
void observe(ListenerEntry &entry, quint64 id)
{
    QObject *l = entry.listener;
    auto changed = [l, id] {
        Event e{EventType::Frame, id};
        e.bytes = frame(listenerMap(l, id));
        publish(e);
    };
    if (auto *tcp = qobject_cast<TcpListener *>(l))
        entry.connection = QObject::connect(tcp, &TcpListener::listeningChanged, tcp, changed,
                                            Qt::DirectConnection);
    else if (auto *local = qobject_cast<LocalListener *>(l))
        entry.connection = QObject::connect(local, &LocalListener::listeningChanged, local,
                                            changed, Qt::DirectConnection);
}

void unobserve(ListenerEntry &entry)
{
    QObject::disconnect(entry.connection);
}

void resumeReading(FlowEntry &entry)
{
    if (!entry.readPaused)
        return;
    entry.readPaused = false;
    FlowPrivate *d = FlowPrivate::get(entry.flow);
    d->runOnFlowThread([d] { d->setReadPaused(false); });
}

void unobserveLedger(FlowEntry &entry)
{
    if (!entry.observed)
        return;
    for (const QMetaObject::Connection &c : std::as_const(entry.observed->ledger))
        QObject::disconnect(c);
    entry.observed->ledger.clear();
}

void unobserve(FlowEntry &entry)
{
    if (!entry.observed)
        return;
    for (const QMetaObject::Connection &c : std::as_const(entry.observed->connections))
        QObject::disconnect(c);
    entry.observed.reset();
}

void removeTap(Registry &r, const std::shared_ptr<DataTap> &tap)
{
    QObject::disconnect(tap->arrived);
    QObject::disconnect(tap->sent);
    r.taps.removeOne(tap);
}

// One inspector's connection, in the probe's thread.
class Subscriber : public QObject
{
public:
    Subscriber(QLocalSocket *socket, QObject *parent) : QObject(parent), m_socket(socket)
    {
        socket->setParent(this);
        connect(socket, &QLocalSocket::bytesWritten, this, &Subscriber::drain);
        connect(socket, &QLocalSocket::readyRead, this, &Subscriber::readRequests);
        connect(socket, &QLocalSocket::disconnected, this, [this] {
            leave();
            deleteLater();
        });
    }
    ~Subscriber() override
    {
        m_socket->disconnect(this); // its end must not call back into a half-destroyed us
        leave();
    }

    // Under the registry's lock, in any thread.
    void push(const Event &event)
    {
        if (m_left || (isLedger(event.type) && !wantsLedger(event.flow)))
            return;
        if (m_queue.size() >= size_t(Probe::QueueLimit)) {
            // Lost, counted; the drain that reports it comes when the socket has room, or now
            // if this loss cuts the subscriber off.
            if (++m_lost == CutOffLimit)
                wake();
            return;
        }
        m_queue.push_back(event);
        // The ledger waits for the next drain unless the queue fills up.
        if (!isLedger(event.type) || m_queue.size() >= size_t(Probe::QueueLimit / 2))
            wake();
    }

    // Under the registry's lock.
    bool wantsLedger(quint64 flow) const
    {
        return m_allLedgers || m_ledgerFlows.contains(flow);
    }

    void drain()
    {
        std::deque<Event> batch;
        qint64 lost;
        bool cutOff = false;
        {
            QMutexLocker locker(&registry().mutex);
            m_wakePending = false;
            if (m_left)
                return;
            lost = m_lost;
            if (m_lost >= CutOffLimit) {
                cutOff = true;
                leaveLocked();
            } else if (m_socket->bytesToWrite() > SocketLimit) {
                return; // bytesWritten() drains again
            } else {
                batch.swap(m_queue);
            }
        }
        if (lost > m_reportedLost) {
            m_reportedLost = lost;
            m_socket->write(frame({{QStringLiteral("t"), QStringLiteral("lost")},
                                   {QStringLiteral("count"), lost}}));
        }
        if (!batch.empty()) {
            QByteArray out;
            FrameWriter writer(&out);
            for (const Event &event : batch)
                writer.write(event);
            m_socket->write(out);
        }
        if (cutOff) {
            qCWarning(lcProbe) << "cut off a subscriber that did not keep up:" << lost
                               << "events lost";
            m_socket->write(frame({{QStringLiteral("t"), QStringLiteral("cutoff")},
                                   {QStringLiteral("lost"), lost}}));
            m_socket->disconnectFromServer(); // after what is written; then deleted
            // A peer that never reads would hold the socket: bounded, but not forever.
            QTimer::singleShot(30000, m_socket, &QLocalSocket::abort);
        }
    }

    // Under the registry's lock, after the subscriber joined: hello, the flows, the listeners.
    void sendSnapshot(const Registry &r)
    {
        const QCoreApplication *app = QCoreApplication::instance();
        m_socket->write(frame(
            {{QStringLiteral("t"), QStringLiteral("hello")},
             {QStringLiteral("pid"), qint64(QCoreApplication::applicationPid())},
             {QStringLiteral("program"), app ? QCoreApplication::applicationName() : QString()},
             {QStringLiteral("started"), s_started.toMSecsSinceEpoch()},
             {QStringLiteral("flows"), qint64(r.flows.size())},
             {QStringLiteral("control"), r.control},
             {QStringLiteral("library"), QStringLiteral(RILL_VERSION_STR)}}));
        for (const auto &[id, entry] : r.flows)
            m_socket->write(frame(flowMap(entry.flow, id, entry.readPaused,
                                              entry.observed ? entry.observed->values.get() : nullptr)));
        for (const auto &[id, entry] : r.listeners)
            m_socket->write(frame(listenerMap(entry.listener, id)));
        m_socket->write(frame({{QStringLiteral("t"), QStringLiteral("ready")}}));
    }

    // The process is ending (or stopped its probe): say so, so that inspectors tell it from
    // a cut-off.
    void sayGoodbye()
    {
        drain();
        m_socket->write(frame({{QStringLiteral("t"), QStringLiteral("exit")}}));
        m_socket->flush();
    }

    static QDateTime s_started;

private:
    void wake()
    {
        if (m_wakePending)
            return;
        m_wakePending = true;
        QMetaObject::invokeMethod(this, &Subscriber::drain, Qt::QueuedConnection);
    }

    void leave()
    {
        QMutexLocker locker(&registry().mutex);
        leaveLocked();
    }
    void leaveLocked();

    void refuse(const QString &message)
    {
        m_socket->write(frame({{QStringLiteral("t"), QStringLiteral("refused")},
                               {QStringLiteral("message"), message}}));
    }

    void readRequests()
    {
        m_in += m_socket->readAll();
        QCborMap request;
        int taken;
        qsizetype offset = 0;
        while ((taken = probe::takeFrame(m_in, &offset, &request)) > 0)
            handle(request);
        m_in.remove(0, offset);
        if (taken < 0) {
            qCWarning(lcProbe) << "a subscriber sent a frame too large; disconnected";
            m_socket->abort();
        }
    }

    void handle(const QCborMap &request)
    {
        const QString type = request.value(QStringLiteral("t")).toString();
        const quint64 id = quint64(request.value(QStringLiteral("flow")).toInteger());
        Registry &r = registry();
        QMutexLocker locker(&r.mutex);
        if (type == QLatin1String("ledger")) {
            m_allLedgers = request.value(QStringLiteral("all")).toBool();
            m_ledgerFlows.clear();
            const QCborArray flows = request.value(QStringLiteral("flows")).toArray();
            for (const QCborValue &flow : flows)
                m_ledgerFlows.insert(quint64(flow.toInteger()));
            updateLedgers(r);
            // Said behind what was queued before, so the subscriber knows from where on
            // the ledgers are as it asked.
            Event said{EventType::Frame, 0};
            said.bytes = frame({{QStringLiteral("t"), QStringLiteral("ledger")},
                                {QStringLiteral("all"), m_allLedgers},
                                {QStringLiteral("flows"), flows}});
            push(said);
            // What is under way on the flows it follows now: their exchanges' next steps come
            // as they happen, the steps already taken only here.
            for (const auto &[flowId, inFlight] : r.exchangesInFlight) {
                if (!wantsLedger(flowId))
                    continue;
                for (const auto &[exchangeId, exchange] : inFlight) {
                    Event replay{EventType::Exchange, flowId};
                    replay.bytes = frame(probe::exchangeToMap(exchange));
                    push(replay);
                }
            }
            return;
        }
        const auto it = r.flows.find(id);
        if (type == QLatin1String("socket")) {
            // A question, not an action: a flow gone meanwhile is answered, not refused.
            if (it == r.flows.end()) {
                ProbeSocketInfo gone;
                gone.flow = id;
                answerSocketInfo(gone);
                return;
            }
            // In the flow's thread, where its descriptor is surely still its own.
            Flow *flow = it->second.flow;
            FlowPrivate::get(flow)->runOnFlowThread([this, serial = m_serial, flow] {
                const ProbeSocketInfo info = Probe::socketInfo(flow);
                QMutexLocker locker(&registry().mutex);
                if (registry().subscribers.contains(this) && m_serial == serial)
                    answerSocketInfo(info);
            });
            return;
        }
        if (it == r.flows.end()) {
            refuse(QStringLiteral("no flow %1").arg(id));
            return;
        }
        Flow *flow = it->second.flow;
        if (type == QLatin1String("data")) {
            auto tap = std::make_shared<DataTap>();
            tap->subscriber = this;
            tap->flow = id;
            tap->budget = qBound<qint64>(
                1, request.value(QStringLiteral("max")).toInteger(), MaxDataRequest);
            auto take = [tap](const QByteArray &data, bool sent) {
                Registry &r = registry();
                QMutexLocker locker(&r.mutex);
                if (tap->budget <= 0 || !r.taps.contains(tap))
                    return;
                const QByteArray part = data.left(tap->budget);
                tap->budget -= part.size();
                tap->subscriber->push({EventType::Data, tap->flow, sent, 0, {}, {}, part});
                if (tap->budget <= 0)
                    removeTap(r, tap);
            };
            tap->arrived = connect(flow, &Flow::dataArrived, flow,
                                   [take](const QByteArray &d) { take(d, false); },
                                   Qt::DirectConnection);
            tap->sent = connect(flow, &Flow::dataSent, flow,
                                [take](const QByteArray &d) { take(d, true); },
                                Qt::DirectConnection);
            r.taps << tap;
            return;
        }
        if (type != QLatin1String("shutdown") && type != QLatin1String("abort")
            && type != QLatin1String("close") && type != QLatin1String("pause")) {
            refuse(QStringLiteral("unknown request \"%1\"").arg(type));
            return;
        }
        if (!r.control) {
            qCWarning(lcProbe) << "refused a control request" << type << "for flow" << id
                               << "(the application did not allow control)";
            refuse(QStringLiteral("control actions are not allowed: start the application with "
                                  "RILL_INSPECT=control, or Probe::start(Probe::AllowControl)"));
            return;
        }
        qCInfo(lcProbe) << "subscriber asks" << type << "of flow" << id;
        if (type == QLatin1String("abort")) {
            flow->abort();
        } else if (type == QLatin1String("close")) {
            flow->close(); // its outcome shows as the flow's states, as the application sees them
        } else if (type == QLatin1String("pause")) {
            const bool paused = request.value(QStringLiteral("paused")).toBool();
            // In the flow's thread; its answer (refused once the read side ended) is published.
            FlowPrivate *d = FlowPrivate::get(flow);
            d->runOnFlowThread([d, id, paused] {
                const bool done = d->setReadPaused(paused);
                Registry &r = registry();
                QMutexLocker locker(&r.mutex);
                const auto it = r.flows.find(id);
                if (it == r.flows.end())
                    return;
                if (done)
                    it->second.readPaused = paused;
                if (r.subscribers.isEmpty() && it->second.readPaused) {
                    resumeReading(it->second); // its subscriber left meanwhile
                    return;
                }
                publish({EventType::Paused, id, it->second.readPaused, done});
            });
        } else {
            const int dir = int(request.value(QStringLiteral("direction")).toInteger());
            if (dir < 0 || dir > int(Flow::Direction::ReadWrite)) {
                refuse(QStringLiteral("no direction %1").arg(dir));
                return;
            }
            flow->shutdown(Flow::Direction(dir));
        }
    }

    // Under the registry's lock.
    void answerSocketInfo(const ProbeSocketInfo &info)
    {
        Event answer{EventType::Frame, info.flow};
        answer.bytes = frame(probe::socketInfoToMap(info));
        push(answer);
    }

    QLocalSocket *m_socket;
    // Tells this subscriber from a later one made at the same address, for answers that
    // come back from a flow's thread.
    const quint64 m_serial = s_serials.fetch_add(1) + 1;
    static inline std::atomic<quint64> s_serials{0};
    QByteArray m_in;
    std::deque<Event> m_queue; // under the registry's lock, as the fields up to m_left
    qint64 m_lost = 0;
    bool m_wakePending = false;
    bool m_allLedgers = true; // what it asked for with "ledger"; every flow's until then
    QSet<quint64> m_ledgerFlows;
    bool m_left = false;
    qint64 m_reportedLost = 0; // the probe's thread only
};

QDateTime Subscriber::s_started;

// Under the registry's lock: a flow's ledger signals are connected while some subscriber wants
// its ledger; for the others the flow does not pay for it.
void updateLedger(Registry &r, FlowEntry &entry)
{
    const bool wanted = std::any_of(r.subscribers.cbegin(), r.subscribers.cend(),
                                    [&](const Subscriber *s) { return s->wantsLedger(entry.id); });
    if (!entry.observed)
        return;
    if (wanted && entry.observed->ledger.isEmpty())
        observeLedger(entry);
    else if (!wanted && !entry.observed->ledger.isEmpty())
        unobserveLedger(entry);
}

void updateLedgers(Registry &r)
{
    for (auto &[id, entry] : r.flows)
        updateLedger(r, entry);
}

// Under the registry's lock: the values flow changed since they were last sent, to every
// subscriber.
void pushValues(Registry &r, FlowEntry &entry)
{
    if (!entry.observed)
        return;
    Observed &o = *entry.observed;
    FlowValues &v = *o.values;
    if (!v.changed.exchange(false, std::memory_order_acquire))
        return;
    const qint64 queued = v.queued.load(std::memory_order_relaxed);
    const qint64 highWaterMark = v.highWaterMark.load(std::memory_order_relaxed);
    const int waiting = v.waiting.load(std::memory_order_relaxed);
    auto send = [&](EventType type, qint64 value) {
        for (Subscriber *s : std::as_const(r.subscribers))
            s->push({type, entry.id, value});
    };
    if (highWaterMark != o.sentHighWaterMark)
        send(EventType::HighWaterMark, o.sentHighWaterMark = highWaterMark);
    if (queued != o.sentQueued)
        send(EventType::BytesQueued, o.sentQueued = queued);
    if (waiting != o.sentWaiting)
        send(EventType::WritesWaiting, o.sentWaiting = waiting);
}

void Subscriber::leaveLocked()
{
    if (m_left)
        return;
    m_left = true;
    m_queue.clear();
    Registry &r = registry();
    r.subscribers.removeOne(this);
    r.subscribed.store(!r.subscribers.isEmpty(), std::memory_order_relaxed);
    const auto taps = r.taps;
    for (const std::shared_ptr<DataTap> &tap : taps) {
        if (tap->subscriber == this)
            removeTap(r, tap);
    }
    if (r.subscribers.isEmpty()) {
        // Nobody is left to resume what a subscriber paused.
        for (auto &[id, entry] : r.flows) {
            unobserve(entry);
            resumeReading(entry);
        }
        for (auto &[id, entry] : r.listeners)
            unobserve(entry);
    } else {
        updateLedgers(r); // the ledgers only this one wanted
    }
}

void publish(const Event &event)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    for (Subscriber *s : std::as_const(r.subscribers))
        s->push(event);
}

// The socket's end, in the probe's thread.
class Server : public QObject
{
public:
    bool listen(const QString &path, QString *error)
    {
        m_server = new QLocalServer(this);
        QLocalServer::removeServer(path); // one left by an earlier process with our pid
        if (!m_server->listen(path)) {
            *error = m_server->errorString();
            return false;
        }
        ::chmod(QFile::encodeName(path).constData(), 0600);
        connect(m_server, &QLocalServer::newConnection, this, &Server::acceptAll);
        m_stats = new QTimer(this); // made here, in the probe's thread
        connect(m_stats, &QTimer::timeout, this, &Server::sendStats);
        m_stats->start(StatsIntervalMs);
        m_drain = new QTimer(this);
        connect(m_drain, &QTimer::timeout, this, &Server::drainAll);
        return true;
    }

    void shutDown()
    {
        delete m_stats;
        m_stats = nullptr;
        delete m_drain;
        m_drain = nullptr;
        // Subscriber has no Q_OBJECT (findChildren() would find every QObject).
        const QObjectList children = this->children();
        for (QObject *child : children) {
            if (auto *subscriber = dynamic_cast<Subscriber *>(child)) {
                subscriber->sayGoodbye();
                delete subscriber;
            }
        }
        delete m_server;
        m_server = nullptr;
    }

private:
    void acceptAll()
    {
        while (QLocalSocket *socket = m_server->nextPendingConnection()) {
            struct ucred cred = {};
            socklen_t length = sizeof cred;
            if (::getsockopt(int(socket->socketDescriptor()), SOL_SOCKET, SO_PEERCRED, &cred,
                             &length)
                        != 0
                || cred.uid != ::geteuid()) {
                qCWarning(lcProbe).nospace()
                        << "refused a connection from uid " << cred.uid << " (pid " << cred.pid
                        << "): only uid " << ::geteuid() << " may inspect this process";
                socket->abort();
                socket->deleteLater();
                continue;
            }
            qCInfo(lcProbe) << "subscriber attached, pid" << cred.pid;
            auto *subscriber = new Subscriber(socket, this);
            Registry &r = registry();
            QMutexLocker locker(&r.mutex);
            if (r.subscribers.isEmpty()) {
                for (auto &[id, entry] : r.flows) {
                    observe(entry);
                    entry.observed->lastStats = entry.flow->stats();
                }
                for (auto &[id, entry] : r.listeners)
                    observe(entry, id);
            }
            r.subscribers << subscriber;
            r.subscribed.store(true, std::memory_order_relaxed);
            updateLedgers(r);
            subscriber->sendSnapshot(r);
            m_drain->start(DrainIntervalMs);
        }
    }

    // The flows' values, then every subscriber's queue; stops when nobody is left.
    void drainAll()
    {
        QList<Subscriber *> subscribers;
        {
            Registry &r = registry();
            QMutexLocker locker(&r.mutex);
            if (r.subscribers.isEmpty()) {
                m_drain->stop();
                return;
            }
            for (auto &[id, entry] : r.flows)
                pushValues(r, entry);
            subscribers = r.subscribers;
        }
        // Each drain takes the lock again: a flow's thread waits for one subscriber's queue
        // at most, not for all of them. Subscribers go only in this thread.
        for (Subscriber *subscriber : std::as_const(subscribers))
            subscriber->drain();
    }

    // The counters change without a signal: sent when they changed, a few times a second.
    void sendStats()
    {
        Registry &r = registry();
        QMutexLocker locker(&r.mutex);
        if (r.subscribers.isEmpty())
            return;
        for (auto &[id, entry] : r.flows) {
            if (!entry.observed)
                continue;
            const FlowStats now = entry.flow->stats();
            if (now == entry.observed->lastStats)
                continue;
            entry.observed->lastStats = now;
            Event e{EventType::Frame, id};
            e.bytes = frame({{QStringLiteral("t"), QStringLiteral("stats")},
                             {QStringLiteral("flow"), qint64(id)},
                             {QStringLiteral("stats"), statsMap(now)}});
            for (Subscriber *s : std::as_const(r.subscribers))
                s->push(e);
        }
    }

    QLocalServer *m_server = nullptr;
    QTimer *m_stats = nullptr;
    QTimer *m_drain = nullptr;
};

struct ProbeState
{
    QMutex mutex; // start() and stop()
    QThread *thread = nullptr;
    Server *server = nullptr;
    QString path;
};

ProbeState &probeState()
{
    static ProbeState *s = new ProbeState;
    return *s;
}

QByteArray s_pathAtExit; // for atexit(): no Qt there

void unlinkAtExit()
{
    if (!s_pathAtExit.isEmpty())
        ::unlink(s_pathAtExit.constData());
}

bool processAlive(qint64 pid)
{
    return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

// The folder: made 0700 if missing; used only if it is a folder of ours, not a link.
bool prepareDirectory(const QString &dir, QString *error)
{
    const QByteArray path = QFile::encodeName(dir);
    if (::mkdir(path.constData(), 0700) != 0 && errno != EEXIST) {
        *error = QStringLiteral("cannot make %1: %2").arg(dir, QString::fromLocal8Bit(strerror(errno)));
        return false;
    }
    struct stat st = {};
    if (::lstat(path.constData(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
        *error = QStringLiteral("%1 is not a folder owned by uid %2").arg(dir).arg(::geteuid());
        return false;
    }
    if ((st.st_mode & 0777) != 0700 && ::chmod(path.constData(), 0700) != 0) {
        *error = QStringLiteral("cannot make %1 private").arg(dir);
        return false;
    }
    return true;
}

void removeStaleSockets(const QString &dir)
{
    const QStringList names = QDir(dir).entryList(QDir::System | QDir::Files | QDir::NoDotAndDotDot);
    for (const QString &name : names) {
        bool ok = false;
        const qint64 pid = name.toLongLong(&ok);
        if (ok && pid != QCoreApplication::applicationPid() && !processAlive(pid)) {
            qCDebug(lcProbe) << "removing the stale socket of process" << pid;
            QFile::remove(dir + QLatin1Char('/') + name);
        }
    }
}

void stopAtPostRoutine()
{
    Probe::stop();
}

void startFromEnvironment()
{
    const QByteArray mode = qgetenv("RILL_INSPECT");
    if (mode.isEmpty() || mode == "0")
        return;
    Probe::start(mode == "control" ? Probe::AllowControl : Probe::ObserveOnly);
}

} // namespace

Q_COREAPP_STARTUP_FUNCTION(startFromEnvironment)

// ---- The registry hooks

namespace probe {

QByteArray frame(QCborMap map)
{
    map.insert(QStringLiteral("v"), Probe::ProtocolVersion);
    const QByteArray body = QCborValue(map).toCbor();
    QByteArray out(4, Qt::Uninitialized);
    qToBigEndian<quint32>(quint32(body.size()), out.data());
    return out + body;
}

int takeFrame(const QByteArray &buffer, qsizetype *offset, QCborMap *map)
{
    const qsizetype at = *offset;
    if (buffer.size() - at < 4)
        return 0;
    const quint32 size = qFromBigEndian<quint32>(buffer.constData() + at);
    if (size > MaxFrame)
        return -1;
    if (buffer.size() - at < qsizetype(4 + size))
        return 0;
    *map = QCborValue::fromCbor(buffer.constData() + at + 4, qsizetype(size)).toMap();
    *offset = at + 4 + size;
    return 1;
}

void addFlow(Flow *flow)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    const quint64 id = ++r.lastFlowId;
    r.flowIds.insert(flow, id);
    FlowEntry &entry = r.flows[id];
    entry.flow = flow;
    entry.id = id;
    if (r.subscribers.isEmpty())
        return;
    observe(entry);
    updateLedger(r, entry);
    // Its transport and defaults; endpoints and states follow as events.
    Event e{EventType::Frame, id};
    e.bytes = frame(flowMap(flow, id, false));
    for (Subscriber *s : std::as_const(r.subscribers))
        s->push(e);
}

void removeFlow(Flow *flow)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    const quint64 id = r.flowIds.take(flow);
    const auto it = r.flows.find(id);
    if (it == r.flows.end())
        return;
    unobserve(it->second);
    const auto taps = r.taps;
    for (const std::shared_ptr<DataTap> &tap : taps) {
        if (tap->flow == id)
            removeTap(r, tap);
    }
    if (!r.subscribers.isEmpty())
        pushValues(r, it->second); // its last
    r.flows.erase(it);
    r.exchangesInFlight.erase(id);
    if (r.subscribers.isEmpty())
        return;
    // Its last counters, then its end.
    Event e{EventType::Frame, id};
    e.bytes = frame({{QStringLiteral("t"), QStringLiteral("stats")},
                     {QStringLiteral("flow"), qint64(id)},
                     {QStringLiteral("stats"), statsMap(flow->stats())}})
            + frame({{QStringLiteral("t"), QStringLiteral("gone")},
                     {QStringLiteral("flow"), qint64(id)}});
    for (Subscriber *s : std::as_const(r.subscribers))
        s->push(e);
}

// Made (not listening yet), then its listeningChanged() publishes where it listens.
void addListener(QObject *listener)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    const quint64 id = ++r.lastListenerId;
    r.listenerIds.insert(listener, id);
    ListenerEntry &entry = r.listeners[id];
    entry.listener = listener;
    if (r.subscribers.isEmpty())
        return;
    observe(entry, id);
    Event e{EventType::Frame, id};
    e.bytes = frame(listenerMap(listener, id));
    for (Subscriber *s : std::as_const(r.subscribers))
        s->push(e);
}

void removeListener(QObject *listener)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    const quint64 id = r.listenerIds.take(listener);
    const auto it = r.listeners.find(id);
    if (it == r.listeners.end())
        return;
    unobserve(it->second);
    r.listeners.erase(it);
    if (r.subscribers.isEmpty())
        return;
    Event e{EventType::Frame, id};
    e.bytes = frame({{QStringLiteral("t"), QStringLiteral("listenerGone")},
                     {QStringLiteral("listener"), qint64(id)}});
    for (Subscriber *s : std::as_const(r.subscribers))
        s->push(e);
}

} // namespace probe

// ---- Probe

bool Probe::start(Control control)
{
    ProbeState &s = probeState();
    QMutexLocker locker(&s.mutex);
    {
        QMutexLocker registryLocker(&registry().mutex);
        registry().control = control == AllowControl;
    }
    if (s.thread)
        return true;
    if (!QCoreApplication::instance()) {
        qCWarning(lcProbe) << "Probe::start() needs a QCoreApplication";
        return false;
    }
    const QString dir = socketDirectory();
    QString error;
    if (!prepareDirectory(dir, &error)) {
        qCWarning(lcProbe).noquote() << "the probe cannot start:" << error;
        return false;
    }
    removeStaleSockets(dir);
    const QString path = dir + QLatin1Char('/') + QString::number(QCoreApplication::applicationPid());

    auto *thread = new QThread;
    thread->setObjectName(QStringLiteral("rill-probe"));
    auto *server = new Server;
    server->moveToThread(thread);
    QObject::connect(thread, &QThread::finished, server, &QObject::deleteLater);
    thread->start();
    bool ok = false;
    QMetaObject::invokeMethod(
            server, [&] { ok = server->listen(path, &error); }, Qt::BlockingQueuedConnection);
    if (!ok) {
        qCWarning(lcProbe).noquote() << "the probe cannot listen on" << path << ":" << error;
        thread->quit();
        thread->wait();
        delete thread;
        return false;
    }
    Subscriber::s_started = QDateTime::currentDateTime();
    s.thread = thread;
    s.server = server;
    s.path = path;
    static bool hooksAdded = false;
    if (!hooksAdded) {
        hooksAdded = true;
        std::atexit(unlinkAtExit);
    }
    s_pathAtExit = QFile::encodeName(path);
    qAddPostRoutine(stopAtPostRoutine);
    qCInfo(lcProbe).noquote() << "inspect this process at" << path
                              << (control == AllowControl ? "(control allowed)" : "");
    return true;
}

void Probe::stop()
{
    ProbeState &s = probeState();
    QMutexLocker locker(&s.mutex);
    if (!s.thread)
        return;
    QMetaObject::invokeMethod(s.server, [server = s.server] { server->shutDown(); },
                              Qt::BlockingQueuedConnection);
    s.thread->quit();
    s.thread->wait();
    delete s.thread;
    s.thread = nullptr;
    s.server = nullptr;
    QFile::remove(s.path);
    s.path.clear();
    s_pathAtExit.clear();
}

bool Probe::isRunning()
{
    ProbeState &s = probeState();
    QMutexLocker locker(&s.mutex);
    return s.thread != nullptr;
}

QString Probe::socketPath()
{
    ProbeState &s = probeState();
    QMutexLocker locker(&s.mutex);
    return s.path;
}

QString Probe::socketDirectory()
{
    const QString runtime = qEnvironmentVariable("XDG_RUNTIME_DIR");
    if (!runtime.isEmpty() && QFileInfo(runtime).isDir())
        return runtime + QStringLiteral("/rill");
    return QStringLiteral("/tmp/rill-%1").arg(::geteuid());
}

QList<QPointer<Flow>> Probe::flows()
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    QList<QPointer<Flow>> flows;
    for (const auto &[id, entry] : r.flows)
        flows << QPointer<Flow>(entry.flow);
    return flows;
}

int Probe::flowCount()
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    return int(r.flows.size());
}

quint64 Probe::flowId(const Flow *flow)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    return r.flowIds.value(flow);
}

// ---- What the kernel says of a flow's socket.

ProbeSocketInfo Probe::socketInfo(const Flow *flow)
{
    ProbeSocketInfo info;
    info.flow = flowId(flow);
#ifdef Q_OS_LINUX
    const auto *tcp = qobject_cast<const TcpFlow *>(flow);
    const int fd = tcp ? int(tcp->socketDescriptor()) : -1;
    if (fd < 0)
        return info;
    int queued = 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) == 0)
        info.sendQueue = queued;
    int unread = 0;
    if (::ioctl(fd, SIOCINQ, &unread) == 0)
        info.receiveQueue = unread;
    tcp_info tcpInfo{};
    socklen_t length = sizeof tcpInfo;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &tcpInfo, &length) == 0)
        info.tcpState = tcpInfo.tcpi_state;
#endif
    return info;
}

QString ProbeSocketInfo::tcpStateName() const
{
#ifdef Q_OS_LINUX
    switch (tcpState) {
    case TCP_ESTABLISHED:
        return QStringLiteral("ESTABLISHED");
    case TCP_SYN_SENT:
        return QStringLiteral("SYN-SENT");
    case TCP_SYN_RECV:
        return QStringLiteral("SYN-RECEIVED");
    case TCP_FIN_WAIT1:
        return QStringLiteral("FIN-WAIT-1");
    case TCP_FIN_WAIT2:
        return QStringLiteral("FIN-WAIT-2");
    case TCP_TIME_WAIT:
        return QStringLiteral("TIME-WAIT");
    case TCP_CLOSE:
        return QStringLiteral("CLOSED");
    case TCP_CLOSE_WAIT:
        return QStringLiteral("CLOSE-WAIT");
    case TCP_LAST_ACK:
        return QStringLiteral("LAST-ACK");
    case TCP_LISTEN:
        return QStringLiteral("LISTEN");
    case TCP_CLOSING:
        return QStringLiteral("CLOSING");
    default:
        break;
    }
#endif
    return tcpState >= 0 ? QStringLiteral("unknown (%1)").arg(tcpState) : QString();
}

// ---- Exchanges: reported by protocol libraries, to in-process handlers and subscribers.

namespace {

// The signal watchExchanges() connects to; never destroyed (reports may come from static
// destructors' flows).
class ExchangeHub : public QObject
{
    Q_OBJECT
public:
    static ExchangeHub &instance()
    {
        static ExchangeHub *hub = new ExchangeHub;
        return *hub;
    }
    bool isWatched() const
    {
        static const QMetaMethod signal = QMetaMethod::fromSignal(&ExchangeHub::reported);
        return isSignalConnected(signal);
    }

Q_SIGNALS:
    void reported(const rill::ProbeExchange &exchange);
};

std::atomic<quint64> s_lastExchangeId{0};

} // namespace

namespace probe {
QCborMap exchangeToMap(const ProbeExchange &e)
{
    QCborMap m{{QStringLiteral("t"), QStringLiteral("exchange")},
               {QStringLiteral("flow"), qint64(e.flow)},
               {QStringLiteral("id"), qint64(e.id)},
               {QStringLiteral("role"), e.role == ProbeExchange::Role::Server ? 1 : 0},
               {QStringLiteral("protocol"), e.protocol},
               {QStringLiteral("method"), e.method},
               {QStringLiteral("target"), e.target},
               {QStringLiteral("status"), e.status},
               {QStringLiteral("requestBytes"), e.requestBytes},
               {QStringLiteral("responseBytes"), e.responseBytes},
               {QStringLiteral("started"), e.started.toMSecsSinceEpoch()},
               {QStringLiteral("headersMs"), e.headersMs},
               {QStringLiteral("durationMs"), e.durationMs}};
    if (!e.reason.isEmpty())
        m.insert(QStringLiteral("reason"), e.reason);
    if (!e.error.isEmpty())
        m.insert(QStringLiteral("error"), e.error);
    return m;
}

QCborMap socketInfoToMap(const ProbeSocketInfo &info)
{
    return {{QStringLiteral("t"), QStringLiteral("socket")},
            {QStringLiteral("flow"), qint64(info.flow)},
            {QStringLiteral("sendQueue"), info.sendQueue},
            {QStringLiteral("receiveQueue"), info.receiveQueue},
            {QStringLiteral("tcpState"), info.tcpState}};
}

ProbeSocketInfo socketInfoFromMap(const QCborMap &m)
{
    ProbeSocketInfo info;
    info.flow = quint64(m.value(QStringLiteral("flow")).toInteger());
    info.sendQueue = m.value(QStringLiteral("sendQueue")).toInteger(-1);
    info.receiveQueue = m.value(QStringLiteral("receiveQueue")).toInteger(-1);
    info.tcpState = int(m.value(QStringLiteral("tcpState")).toInteger(-1));
    return info;
}

ProbeExchange exchangeFromMap(const QCborMap &m)
{
    ProbeExchange e;
    e.flow = quint64(m.value(QStringLiteral("flow")).toInteger());
    e.id = quint64(m.value(QStringLiteral("id")).toInteger());
    e.role = m.value(QStringLiteral("role")).toInteger() == 1 ? ProbeExchange::Role::Server
                                                              : ProbeExchange::Role::Client;
    e.protocol = m.value(QStringLiteral("protocol")).toString();
    e.method = m.value(QStringLiteral("method")).toString();
    e.target = m.value(QStringLiteral("target")).toString();
    e.status = int(m.value(QStringLiteral("status")).toInteger());
    e.reason = m.value(QStringLiteral("reason")).toString();
    e.requestBytes = m.value(QStringLiteral("requestBytes")).toInteger();
    e.responseBytes = m.value(QStringLiteral("responseBytes")).toInteger();
    e.started = QDateTime::fromMSecsSinceEpoch(m.value(QStringLiteral("started")).toInteger());
    e.headersMs = m.value(QStringLiteral("headersMs")).toInteger(-1);
    e.durationMs = m.value(QStringLiteral("durationMs")).toInteger(-1);
    e.error = m.value(QStringLiteral("error")).toString();
    return e;
}
} // namespace probe

bool Probe::isTracingExchanges()
{
    return registry().subscribed.load(std::memory_order_relaxed)
            || ExchangeHub::instance().isWatched();
}

quint64 Probe::reportExchange(const Flow *flow, const ProbeExchange &exchange)
{
    ProbeExchange e = exchange;
    if (e.id == 0)
        e.id = ++s_lastExchangeId;
    Registry &r = registry();
    {
        QMutexLocker locker(&r.mutex);
        e.flow = r.flowIds.value(flow);
        if (e.flow != 0 && e.isFinished()) {
            const auto inFlight = r.exchangesInFlight.find(e.flow);
            if (inFlight != r.exchangesInFlight.end() && inFlight->second.erase(e.id)
                && inFlight->second.empty())
                r.exchangesInFlight.erase(inFlight);
        } else if (e.flow != 0) {
            auto &inFlight = r.exchangesInFlight[e.flow];
            inFlight[e.id] = e;
            if (inFlight.size() > MaxExchangesInFlight)
                inFlight.erase(inFlight.begin());
        }
        // Encoded only for a subscriber that follows the flow (push() drops it for the others).
        const bool followed = std::any_of(r.subscribers.cbegin(), r.subscribers.cend(),
                                          [&](const Subscriber *s) { return s->wantsLedger(e.flow); });
        if (e.flow != 0 && followed) {
            Event event{EventType::Exchange, e.flow};
            event.bytes = frame(probe::exchangeToMap(e));
            for (Subscriber *s : std::as_const(r.subscribers))
                s->push(event);
        }
    }
    Q_EMIT ExchangeHub::instance().reported(e);
    return e.id;
}

QList<ProbeExchange> Probe::exchangesInFlight(const Flow *flow)
{
    Registry &r = registry();
    QMutexLocker locker(&r.mutex);
    QList<ProbeExchange> exchanges;
    const auto it = r.exchangesInFlight.find(r.flowIds.value(flow));
    if (it != r.exchangesInFlight.end()) {
        for (const auto &[id, exchange] : it->second)
            exchanges << exchange;
    }
    return exchanges;
}

QMetaObject::Connection Probe::watchExchanges(const QObject *context,
                                              std::function<void(const ProbeExchange &)> handler)
{
    if (!context || !handler)
        return {};
    return QObject::connect(&ExchangeHub::instance(), &ExchangeHub::reported, context,
                            std::move(handler));
}

} // namespace rill

#include "probe.moc"
