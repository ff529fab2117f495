// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "probe_p.h"

#include <rill/probe.h>

#include <QtCore/QCborArray>
#include <QtCore/QCborValue>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QTimer>
#include <QtNetwork/QLocalSocket>

#include <cerrno>
#include <map>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rill {

Q_DECLARE_LOGGING_CATEGORY(lcProbe)

namespace {

bool processAlive(qint64 pid)
{
    return ::kill(pid_t(pid), 0) == 0 || errno == EPERM;
}

QString programOf(qint64 pid)
{
    QFile comm(QStringLiteral("/proc/%1/comm").arg(pid));
    if (!comm.open(QIODevice::ReadOnly))
        return {};
    return QString::fromLocal8Bit(comm.readAll().trimmed());
}

ProbeProcess processFromHello(const QCborMap &hello)
{
    ProbeProcess p;
    p.pid = hello.value(QStringLiteral("pid")).toInteger();
    p.program = hello.value(QStringLiteral("program")).toString();
    p.flows = int(hello.value(QStringLiteral("flows")).toInteger());
    p.started = QDateTime::fromMSecsSinceEpoch(hello.value(QStringLiteral("started")).toInteger());
    return p;
}

FlowStats statsFromMap(const QCborMap &m)
{
    FlowStats s;
    s.bytesRead = m.value(QStringLiteral("read")).toInteger();
    s.readOps = m.value(QStringLiteral("readOps")).toInteger();
    s.bytesWritten = m.value(QStringLiteral("written")).toInteger();
    s.writeOps = m.value(QStringLiteral("writeOps")).toInteger();
    s.bytesDiscarded = m.value(QStringLiteral("discarded")).toInteger();
    s.bytesUnsent = m.value(QStringLiteral("unsent")).toInteger();
    s.bytesReadSpliced = m.value(QStringLiteral("readSpliced")).toInteger();
    s.bytesWrittenSpliced = m.value(QStringLiteral("writtenSpliced")).toInteger();
    return s;
}

} // namespace

class ProbeClientPrivate
{
public:
    explicit ProbeClientPrivate(ProbeClient *q) : q(q) {}

    void setState(ProbeClient::State s)
    {
        if (state == s)
            return;
        state = s;
        Q_EMIT q->stateChanged(s);
    }
    void readFrames();
    void handle(const QCborMap &m);
    void onDisconnected();
    void send(const QCborMap &request)
    {
        if (socket && socket->state() == QLocalSocket::ConnectedState)
            socket->write(probe::frame(request));
        else
            Q_EMIT q->requestFailed(QStringLiteral("not attached"));
    }

    ProbeClient *q;
    QLocalSocket *socket = nullptr;
    QByteArray in;
    ProbeClient::State state = ProbeClient::State::Detached;
    ProbeProcess process;
    bool control = false;
    std::map<quint64, ProbeFlow> flows;
    std::map<quint64, ProbeListener> listeners;
    qint64 lost = 0;
    QString endReason;
};

void ProbeClientPrivate::readFrames()
{
    QLocalSocket *const reading = socket;
    in += socket->readAll();
    QCborMap m;
    int taken;
    qsizetype offset = 0;
    while ((taken = probe::takeFrame(in, &offset, &m)) > 0) {
        handle(m);
        if (socket != reading)
            return; // detached (or attached elsewhere) from a signal: in was cleared
    }
    in.remove(0, offset);
    if (taken < 0) {
        endReason = QStringLiteral("the probe sent a frame too large");
        socket->abort();
    }
}

void ProbeClientPrivate::handle(const QCborMap &m)
{
    const QString t = m.value(QStringLiteral("t")).toString();
    const quint64 id = quint64(m.value(QStringLiteral("flow")).toInteger());
    auto it = flows.find(id);
    const bool known = it != flows.end();
    ProbeFlow *f = known ? &it->second : nullptr;
    bool changed = f != nullptr;
    if (t == QLatin1String("hello")) {
        process = processFromHello(m);
        control = m.value(QStringLiteral("control")).toBool();
        changed = false;
    } else if (t == QLatin1String("ready")) {
        setState(ProbeClient::State::Attached);
        Q_EMIT q->attached();
        changed = false;
    } else if (t == QLatin1String("flow")) {
        ProbeFlow n;
        n.id = id;
        n.transport = m.value(QStringLiteral("transport")).toString();
        n.localEndpoint = m.value(QStringLiteral("local")).toString();
        n.peerEndpoint = m.value(QStringLiteral("peer")).toString();
        n.state = Flow::State(m.value(QStringLiteral("state")).toInteger());
        n.readState = Flow::ReadState(m.value(QStringLiteral("read")).toInteger());
        n.writeState = Flow::WriteState(m.value(QStringLiteral("write")).toInteger());
        n.stats = statsFromMap(m.value(QStringLiteral("stats")).toMap());
        n.bytesQueued = m.value(QStringLiteral("queued")).toInteger();
        n.highWaterMark = m.value(QStringLiteral("hwm")).toInteger();
        n.writesWaiting = int(m.value(QStringLiteral("waiting")).toInteger());
        n.error = m.value(QStringLiteral("error")).toString();
        n.readPaused = m.value(QStringLiteral("paused")).toBool();
        flows[id] = n;
        if (!known) {
            Q_EMIT q->eventReceived(m);
            Q_EMIT q->flowAdded(id);
            return;
        }
    } else if (t == QLatin1String("gone")) {
        // Kept a moment, so that a short-lived flow is seen, and so that a process that
        // destroys its flows as it exits leaves its last picture.
        if (known) {
            f->state = Flow::State::Closed;
            QTimer::singleShot(ProbeClient::GoneFlowLingerMs, q, [this, id] {
                if (state == ProbeClient::State::Ended || !flows.erase(id))
                    return;
                Q_EMIT q->flowRemoved(id);
            });
        }
    } else if (t == QLatin1String("listener") || t == QLatin1String("listenerGone")) {
        const quint64 listenerId = quint64(m.value(QStringLiteral("listener")).toInteger());
        if (t == QLatin1String("listenerGone")) {
            listeners.erase(listenerId);
        } else {
            ProbeListener &l = listeners[listenerId];
            l.id = listenerId;
            l.endpoint = m.value(QStringLiteral("endpoint")).toString();
            l.listening = m.value(QStringLiteral("listening")).toBool();
        }
        Q_EMIT q->listenersChanged();
        changed = false;
    } else if (t == QLatin1String("paused")) {
        if (f)
            f->readPaused = m.value(QStringLiteral("paused")).toBool();
        if (!m.value(QStringLiteral("done")).toBool())
            Q_EMIT q->requestFailed(QStringLiteral("flow %1 cannot pause reading: its read side "
                                                   "has ended")
                                            .arg(id));
    } else if (t == QLatin1String("lost")) {
        lost = m.value(QStringLiteral("count")).toInteger();
        Q_EMIT q->eventsLostChanged(lost);
        changed = false;
    } else if (t == QLatin1String("cutoff")) {
        lost = qMax(lost, m.value(QStringLiteral("lost")).toInteger());
        endReason = QStringLiteral("process %1 cut this inspector off: it did not keep up, %2 "
                                   "events lost")
                            .arg(process.pid)
                            .arg(lost);
        changed = false;
    } else if (t == QLatin1String("exit")) {
        endReason = QStringLiteral("process %1 (%2) exited").arg(process.pid).arg(process.program);
        changed = false;
    } else if (t == QLatin1String("refused")) {
        Q_EMIT q->requestFailed(m.value(QStringLiteral("message")).toString());
        changed = false;
    } else if (t == QLatin1String("exchange")) {
        Q_EMIT q->exchangeReported(probe::exchangeFromMap(m));
        changed = false;
    } else if (t == QLatin1String("socket")) {
        Q_EMIT q->socketInfoReceived(probe::socketInfoFromMap(m));
        changed = false;
    } else if (t == QLatin1String("data")) {
        Q_EMIT q->dataReceived(id, m.value(QStringLiteral("sent")).toBool(),
                               m.value(QStringLiteral("data")).toByteArray());
        changed = false;
    } else if (f) {
        const QCborValue value = m.value(QStringLiteral("value"));
        if (t == QLatin1String("state"))
            f->state = Flow::State(m.value(QStringLiteral("state")).toInteger());
        else if (t == QLatin1String("read"))
            f->readState = Flow::ReadState(m.value(QStringLiteral("state")).toInteger());
        else if (t == QLatin1String("write"))
            f->writeState = Flow::WriteState(m.value(QStringLiteral("state")).toInteger());
        else if (t == QLatin1String("endpoints")) {
            f->localEndpoint = m.value(QStringLiteral("local")).toString();
            f->peerEndpoint = m.value(QStringLiteral("peer")).toString();
        } else if (t == QLatin1String("hwm"))
            f->highWaterMark = value.toInteger();
        else if (t == QLatin1String("queued"))
            f->bytesQueued = value.toInteger();
        else if (t == QLatin1String("waiting"))
            f->writesWaiting = int(value.toInteger());
        else if (t == QLatin1String("stats"))
            f->stats = statsFromMap(m.value(QStringLiteral("stats")).toMap());
        else if (t == QLatin1String("error"))
            f->error = m.value(QStringLiteral("error")).toString();
        else
            changed = false; // the write ledger: eventReceived() only
    }
    Q_EMIT q->eventReceived(m);
    if (changed && flows.count(id))
        Q_EMIT q->flowChanged(id);
}

void ProbeClientPrivate::onDisconnected()
{
    if (state == ProbeClient::State::Detached || state == ProbeClient::State::Ended)
        return;
    if (endReason.isEmpty()) {
        if (state == ProbeClient::State::Attaching)
            endReason = QStringLiteral("the probe of process %1 refused this connection")
                                .arg(process.pid);
        else if (!processAlive(process.pid))
            endReason = QStringLiteral("process %1 (%2) exited").arg(process.pid).arg(process.program);
        else
            endReason = QStringLiteral("process %1 (%2) closed its probe")
                                .arg(process.pid)
                                .arg(process.program);
    }
    setState(ProbeClient::State::Ended);
    Q_EMIT q->ended(endReason);
}

ProbeClient::ProbeClient(QObject *parent) : QObject(parent), d(new ProbeClientPrivate(this)) {}

ProbeClient::~ProbeClient()
{
    if (d->socket)
        d->socket->disconnect(this);
}

QList<ProbeProcess> ProbeClient::processes(int timeoutMs)
{
    QList<ProbeProcess> result;
    const QString dir = Probe::socketDirectory();
    const QStringList names = QDir(dir).entryList(QDir::System | QDir::Files, QDir::Name);
    for (const QString &name : names) {
        bool ok = false;
        const qint64 pid = name.toLongLong(&ok);
        if (!ok)
            continue;
        const QString path = dir + QLatin1Char('/') + name;
        if (!processAlive(pid)) {
            QFile::remove(path); // stale: its process died without removing it
            continue;
        }
        QLocalSocket socket;
        socket.connectToServer(path);
        if (!socket.waitForConnected(timeoutMs)) {
            qCDebug(lcProbe) << "no answer from the probe of process" << pid
                             << socket.errorString();
            continue;
        }
        const QDeadlineTimer deadline(timeoutMs);
        QByteArray in;
        QCborMap hello;
        qsizetype offset = 0;
        while (!deadline.hasExpired() && probe::takeFrame(in, &offset, &hello) == 0) {
            if (!socket.waitForReadyRead(int(qMax<qint64>(1, deadline.remainingTime()))))
                break;
            in += socket.readAll();
        }
        if (hello.value(QStringLiteral("t")).toString() != QLatin1String("hello"))
            continue;
        result << processFromHello(hello);
    }
    std::sort(result.begin(), result.end(),
              [](const ProbeProcess &a, const ProbeProcess &b) { return a.pid < b.pid; });
    return result;
}

bool ProbeClient::attach(qint64 pid, QString *error)
{
    auto failWith = [error](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    detach();
    if (pid <= 0 || !processAlive(pid))
        return failWith(QStringLiteral("no process %1").arg(pid));
    struct stat st = {};
    const QByteArray procPath = QFile::encodeName(QStringLiteral("/proc/%1").arg(pid));
    if (::stat(procPath.constData(), &st) == 0 && st.st_uid != ::geteuid()) {
        return failWith(QStringLiteral("process %1 (%2) belongs to another user (uid %3); only "
                                       "the processes of uid %4 can be inspected")
                                .arg(pid)
                                .arg(programOf(pid))
                                .arg(st.st_uid)
                                .arg(::geteuid()));
    }
    const QString path = Probe::socketDirectory() + QLatin1Char('/') + QString::number(pid);
    if (!QFileInfo::exists(path)) {
        return failWith(QStringLiteral("process %1 (%2) has no Rill probe: start it with "
                                       "RILL_INSPECT=1 in its environment, or have it call "
                                       "rill::Probe::start() (looked for %3)")
                                .arg(pid)
                                .arg(programOf(pid), path));
    }
    d->socket = new QLocalSocket(this);
    d->socket->connectToServer(path);
    if (!d->socket->waitForConnected(2000)) {
        const QString message = QStringLiteral("cannot connect to the probe of process %1: %2")
                                        .arg(pid)
                                        .arg(d->socket->errorString());
        delete d->socket;
        d->socket = nullptr;
        return failWith(message);
    }
    d->in.clear();
    d->flows.clear();
    d->listeners.clear();
    d->lost = 0;
    d->endReason.clear();
    d->process = ProbeProcess();
    d->process.pid = pid;
    d->process.program = programOf(pid);
    connect(d->socket, &QLocalSocket::readyRead, this, [this] { d->readFrames(); });
    connect(d->socket, &QLocalSocket::disconnected, this, [this] { d->onDisconnected(); });
    d->setState(State::Attaching);
    if (d->socket->bytesAvailable())
        QMetaObject::invokeMethod(this, [this] { d->readFrames(); }, Qt::QueuedConnection);
    return true;
}

void ProbeClient::detach()
{
    if (!d->socket)
        return;
    d->socket->disconnect(this);
    d->socket->abort();
    d->socket->deleteLater();
    d->socket = nullptr;
    d->setState(State::Detached);
}

ProbeClient::State ProbeClient::state() const { return d->state; }
ProbeProcess ProbeClient::process() const { return d->process; }
bool ProbeClient::controlAllowed() const { return d->control; }
qint64 ProbeClient::eventsLost() const { return d->lost; }
QString ProbeClient::endReason() const { return d->endReason; }

QList<ProbeFlow> ProbeClient::flows() const
{
    QList<ProbeFlow> list;
    for (const auto &[id, flow] : d->flows)
        list << flow;
    return list;
}

ProbeFlow ProbeClient::flow(quint64 id) const
{
    const auto it = d->flows.find(id);
    return it == d->flows.end() ? ProbeFlow() : it->second;
}

QList<ProbeListener> ProbeClient::listeners() const
{
    QList<ProbeListener> list;
    for (const auto &[id, listener] : d->listeners)
        list << listener;
    return list;
}

void ProbeClient::pauseReading(quint64 id, bool paused)
{
    d->send({{QStringLiteral("t"), QStringLiteral("pause")},
             {QStringLiteral("flow"), qint64(id)},
             {QStringLiteral("paused"), paused}});
}

void ProbeClient::requestData(quint64 id, qint64 maxBytes)
{
    d->send({{QStringLiteral("t"), QStringLiteral("data")},
             {QStringLiteral("flow"), qint64(id)},
             {QStringLiteral("max"), maxBytes}});
}

void ProbeClient::requestSocketInfo(quint64 id)
{
    d->send({{QStringLiteral("t"), QStringLiteral("socket")}, {QStringLiteral("flow"), qint64(id)}});
}

void ProbeClient::setLedgerFlows(const QList<quint64> &ids)
{
    QCborArray flows;
    for (const quint64 id : ids)
        flows.append(qint64(id));
    d->send({{QStringLiteral("t"), QStringLiteral("ledger")}, {QStringLiteral("flows"), flows}});
}

void ProbeClient::followAllLedgers()
{
    d->send({{QStringLiteral("t"), QStringLiteral("ledger")}, {QStringLiteral("all"), true}});
}

void ProbeClient::shutdownFlow(quint64 id, Flow::Direction direction)
{
    d->send({{QStringLiteral("t"), QStringLiteral("shutdown")},
             {QStringLiteral("flow"), qint64(id)},
             {QStringLiteral("direction"), int(direction)}});
}

void ProbeClient::abortFlow(quint64 id)
{
    d->send({{QStringLiteral("t"), QStringLiteral("abort")}, {QStringLiteral("flow"), qint64(id)}});
}

void ProbeClient::closeFlow(quint64 id)
{
    d->send({{QStringLiteral("t"), QStringLiteral("close")}, {QStringLiteral("flow"), qint64(id)}});
}

} // namespace rill
