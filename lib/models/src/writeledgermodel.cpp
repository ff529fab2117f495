// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/flowtext.h>
#include <rill/writeledgermodel.h>
#include <rill/probe.h>

#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <algorithm>
#include <deque>

namespace rill {

namespace {

using EntryState = WriteLedgerModel::EntryState;

struct Entry {
    quint64 id = 0;
    qint64 size = 0;
    EntryState state = EntryState::Waiting;
    qint64 queuedUs = 0; // on the model's monotonic clock
    qint64 acceptedUs = -1;
    qint64 sentUs = -1;
    QString result;
};

// Entries are kept in id order, so an id is found by bisection.
Entry *findIn(std::deque<Entry> &entries, quint64 id)
{
    auto it = std::lower_bound(entries.begin(), entries.end(), id,
        [](const Entry &e, quint64 value) { return e.id < value; });
    return it != entries.end() && it->id == id ? &*it : nullptr;
}

QString stateText(EntryState state)
{
    switch (state) {
    case EntryState::Waiting:
        return QStringLiteral("waiting");
    case EntryState::Accepted:
        return QStringLiteral("accepted");
    case EntryState::Sent:
        return QStringLiteral("sent");
    case EntryState::Rejected:
        return QStringLiteral("rejected");
    }
    return {};
}

QString delayText(qint64 us)
{
    if (us < 0)
        return {};
    if (us < 10'000)
        return QStringLiteral("+%1 ms").arg(double(us) / 1000.0, 0, 'f', 3);
    if (us < 10'000'000)
        return QStringLiteral("+%1 ms").arg(double(us) / 1000.0, 0, 'f', 1);
    return QStringLiteral("+%1 s").arg(double(us) / 1e6, 0, 'f', 2);
}

} // namespace

class WriteLedgerModelPrivate {
public:
    explicit WriteLedgerModelPrivate(WriteLedgerModel *q) : q(q) { }

    void attach(Flow *flow);
    qint64 nowUs() const { return clock.nsecsElapsed() / 1000; }
    QDateTime timeAt(qint64 us) const
    {
        return us < 0 ? QDateTime() : QDateTime::fromMSecsSinceEpoch(epochMs + us / 1000);
    }
    Entry *find(quint64 id);
    void changed(quint64 id);
    void schedule();
    void flush();
    QVariant value(const Entry &entry, int role) const;

    void onQueued(quint64 id, qint64 size);
    void onAccepted(quint64 id);
    void onSent(quint64 id);
    void onRejected(quint64 id, const WriteResult &result);
    void onRejectedText(quint64 id, const QString &text);
    void onRemoteEvent(const QCborMap &event);
    void onWriteSideEnded();

    WriteLedgerModel *q;
    QPointer<Flow> flow;
    QPointer<ProbeClient> client; // a remote flow (setProbeFlow())
    quint64 remoteId = 0;
    QString remoteError; // the remote flow's error, for onWriteSideEnded()
    std::deque<Entry> rows; // what views were told about
    std::deque<Entry> pending; // newer writes, shown at the next flush
    quint64 dirtyMin = 0; // ids of shown rows that changed since the last flush
    quint64 dirtyMax = 0;
    bool dirty = false;
    qint64 dropped = 0;
    qint64 droppedShown = 0; // the value last announced
    int maxEntries = WriteLedgerModel::DefaultMaxEntries;
    int waiting = 0;
    QTimer timer;
    QElapsedTimer clock;
    qint64 epochMs = 0;
};

void WriteLedgerModelPrivate::attach(Flow *newFlow)
{
    if (Flow *old = flow.data())
        QObject::disconnect(old, nullptr, q, nullptr);
    if (ProbeClient *old = client.data())
        QObject::disconnect(old, nullptr, q, nullptr);
    client = nullptr;
    remoteId = 0;
    remoteError.clear();
    flow = newFlow;
    if (!newFlow)
        return;
    QObject::connect(
        newFlow, &Flow::writeQueued, q, [this](quint64 id, qint64 size) { onQueued(id, size); });
    QObject::connect(newFlow, &Flow::writeAccepted, q, [this](quint64 id) { onAccepted(id); });
    QObject::connect(newFlow, &Flow::writeSent, q, [this](quint64 id) { onSent(id); });
    QObject::connect(newFlow, &Flow::writeRejected, q,
        [this](quint64 id, const WriteResult &r) { onRejected(id, r); });
    QObject::connect(newFlow, &Flow::writeStateChanged, q, [this](Flow::WriteState state) {
        if (state == Flow::WriteState::Closed || state == Flow::WriteState::Failed)
            onWriteSideEnded();
    });
    QObject::connect(newFlow, &QObject::destroyed, q, [this] { Q_EMIT q->flowChanged(nullptr); });
}

Entry *WriteLedgerModelPrivate::find(quint64 id)
{
    if (!pending.empty() && id >= pending.front().id)
        return findIn(pending, id);
    return findIn(rows, id);
}

void WriteLedgerModelPrivate::changed(quint64 id)
{
    if (!rows.empty() && id <= rows.back().id) {
        dirtyMin = dirty ? qMin(dirtyMin, id) : id;
        dirtyMax = dirty ? qMax(dirtyMax, id) : id;
        dirty = true;
    }
    schedule();
}

void WriteLedgerModelPrivate::schedule()
{
    if (!timer.isActive())
        timer.start();
}

void WriteLedgerModelPrivate::onQueued(quint64 id, qint64 size)
{
    Entry entry;
    entry.id = id;
    entry.size = size;
    entry.queuedUs = nowUs();
    pending.push_back(std::move(entry));
    // Between two flushes memory stays bounded too: what was never shown goes first.
    if (pending.size() > size_t(maxEntries)) {
        pending.pop_front();
        ++dropped;
    }
    schedule();
}

void WriteLedgerModelPrivate::onAccepted(quint64 id)
{
    Entry *entry = find(id);
    if (!entry || entry->state != EntryState::Waiting)
        return;
    entry->state = EntryState::Accepted;
    entry->acceptedUs = nowUs();
    changed(id);
}

void WriteLedgerModelPrivate::onSent(quint64 id)
{
    Entry *entry = find(id);
    if (!entry)
        return;
    if (entry->acceptedUs < 0) // accepted and sent in one go (an empty write)
        entry->acceptedUs = nowUs();
    entry->state = EntryState::Sent;
    entry->sentUs = nowUs();
    changed(id);
}

void WriteLedgerModelPrivate::onRejected(quint64 id, const WriteResult &result)
{
    onRejectedText(id, FlowText::writeResultText(result));
}

void WriteLedgerModelPrivate::onRejectedText(quint64 id, const QString &text)
{
    Entry *entry = find(id);
    if (!entry)
        return;
    entry->state = EntryState::Rejected;
    entry->result = text;
    changed(id);
}

// The same ledger from the probe's events: the same handlers as for a local flow.
void WriteLedgerModelPrivate::onRemoteEvent(const QCborMap &event)
{
    if (quint64(event.value(QStringLiteral("flow")).toInteger()) != remoteId)
        return;
    const QString type = event.value(QStringLiteral("t")).toString();
    const quint64 id = quint64(event.value(QStringLiteral("id")).toInteger());
    if (type == QLatin1String("writeQueued")) {
        onQueued(id, event.value(QStringLiteral("size")).toInteger());
    } else if (type == QLatin1String("writeAccepted")) {
        onAccepted(id);
    } else if (type == QLatin1String("writeSent")) {
        onSent(id);
    } else if (type == QLatin1String("writeRejected")) {
        onRejectedText(id, event.value(QStringLiteral("error")).toString());
    } else if (type == QLatin1String("error")) {
        remoteError = event.value(QStringLiteral("error")).toString();
    } else if (type == QLatin1String("write")) {
        const auto state = Flow::WriteState(event.value(QStringLiteral("state")).toInteger());
        if (state == Flow::WriteState::Closed || state == Flow::WriteState::Failed)
            onWriteSideEnded();
    }
}

// A write side that ends with bytes queued (the peer went away, the flow failed or was
// aborted) drops them: their writes were accepted, and will never be sent.
void WriteLedgerModelPrivate::onWriteSideEnded()
{
    const Error error = flow ? flow->error() : Error();
    QString reason = error.isNone() ? remoteError : errorMessage(error);
    if (reason.isEmpty())
        reason = QStringLiteral("the peer is gone");
    const QString why = QStringLiteral("never sent: %1").arg(reason);
    for (std::deque<Entry> *entries : {&rows, &pending}) {
        for (Entry &entry : *entries) {
            if (entry.state == EntryState::Accepted && entry.result.isEmpty()) {
                entry.result = why;
                changed(entry.id);
            }
        }
    }
}

void WriteLedgerModelPrivate::flush()
{
    // 1. Drop the oldest rows beyond the bound.
    const size_t total = rows.size() + pending.size();
    if (total > size_t(maxEntries)) {
        const size_t excess = total - size_t(maxEntries);
        const size_t fromRows = qMin(excess, rows.size());
        if (fromRows > 0) {
            q->beginRemoveRows(QModelIndex(), 0, int(fromRows) - 1);
            rows.erase(rows.begin(), rows.begin() + qsizetype(fromRows));
            q->endRemoveRows();
        }
        pending.erase(pending.begin(), pending.begin() + qsizetype(excess - fromRows));
        dropped += qint64(excess);
    }

    // 2. One dataChanged for the span of rows that changed.
    if (dirty && !rows.empty()) {
        auto byId = [](const Entry &e, quint64 value) { return e.id < value; };
        const auto first = std::lower_bound(rows.begin(), rows.end(), dirtyMin, byId);
        const auto end = std::lower_bound(first, rows.end(), dirtyMax + 1, byId);
        if (first != end) {
            Q_EMIT q->dataChanged(q->index(int(first - rows.begin()), 0),
                q->index(int(end - rows.begin()) - 1, WriteLedgerModel::ColumnCount - 1));
        }
    }
    dirty = false;

    // 3. The new writes at the bottom.
    if (!pending.empty()) {
        const int first = int(rows.size());
        q->beginInsertRows(QModelIndex(), first, first + int(pending.size()) - 1);
        std::move(pending.begin(), pending.end(), std::back_inserter(rows));
        pending.clear();
        q->endInsertRows();
    }

    const int nowWaiting = int(std::count_if(
        rows.begin(), rows.end(), [](const Entry &e) { return e.state == EntryState::Waiting; }));
    if (nowWaiting != waiting) {
        waiting = nowWaiting;
        Q_EMIT q->waitingCountChanged(waiting);
    }
    if (dropped != droppedShown) {
        droppedShown = dropped;
        Q_EMIT q->droppedCountChanged(dropped);
    }
}

QVariant WriteLedgerModelPrivate::value(const Entry &e, int role) const
{
    switch (role) {
    case WriteLedgerModel::IdRole:
        return qint64(e.id);
    case WriteLedgerModel::SizeRole:
        return e.size;
    case WriteLedgerModel::StateRole:
        return QVariant::fromValue(e.state);
    case WriteLedgerModel::QueuedAtRole:
        return timeAt(e.queuedUs);
    case WriteLedgerModel::AcceptedAtRole:
        return timeAt(e.acceptedUs);
    case WriteLedgerModel::SentAtRole:
        return timeAt(e.sentUs);
    case WriteLedgerModel::ResultRole:
        return e.result;
    case WriteLedgerModel::AcceptDelayRole:
        return e.acceptedUs < 0 ? qint64(-1) : e.acceptedUs - e.queuedUs;
    case WriteLedgerModel::SendDelayRole:
        return e.sentUs < 0 ? qint64(-1) : e.sentUs - e.queuedUs;
    default:
        return {};
    }
}

// ---------------------------------------------------------------------------------------------

WriteLedgerModel::WriteLedgerModel(QObject *parent) : WriteLedgerModel(nullptr, parent) { }

WriteLedgerModel::WriteLedgerModel(Flow *flow, QObject *parent)
    : QAbstractTableModel(parent), d(new WriteLedgerModelPrivate(this))
{
    d->clock.start();
    d->epochMs = QDateTime::currentMSecsSinceEpoch();
    d->timer.setSingleShot(true);
    d->timer.setInterval(DefaultUpdateInterval);
    connect(&d->timer, &QTimer::timeout, this, [this] { d->flush(); });
    d->attach(flow);
}

WriteLedgerModel::~WriteLedgerModel()
{
    // Explicitly, not in ~QObject: that calls the flow's disconnectNotify() with a Qt lock held.
    d->attach(nullptr);
}

Flow *WriteLedgerModel::flow() const
{
    return d->flow.data();
}

void WriteLedgerModel::setProbeFlow(ProbeClient *client, quint64 id)
{
    setFlow(nullptr);
    d->client = client;
    d->remoteId = id;
    if (client) {
        connect(client, &ProbeClient::eventReceived, this,
            [this](const QCborMap &event) { d->onRemoteEvent(event); });
    }
}

void WriteLedgerModel::setFlow(Flow *flow)
{
    if (flow == d->flow.data() && !d->client)
        return;
    beginResetModel();
    d->attach(flow);
    d->rows.clear();
    d->pending.clear();
    d->dirty = false;
    d->dropped = 0;
    d->timer.stop();
    endResetModel();
    if (d->droppedShown != 0) {
        d->droppedShown = 0;
        Q_EMIT droppedCountChanged(0);
    }
    if (d->waiting != 0) {
        d->waiting = 0;
        Q_EMIT waitingCountChanged(0);
    }
    Q_EMIT flowChanged(flow);
}

int WriteLedgerModel::maxEntries() const
{
    return d->maxEntries;
}

void WriteLedgerModel::setMaxEntries(int count)
{
    count = qMax(count, 1);
    if (count == d->maxEntries)
        return;
    d->maxEntries = count;
    d->schedule();
    Q_EMIT maxEntriesChanged(count);
}

qint64 WriteLedgerModel::droppedCount() const
{
    return d->droppedShown;
}

int WriteLedgerModel::waitingCount() const
{
    return d->waiting;
}

int WriteLedgerModel::updateInterval() const
{
    return d->timer.interval();
}

void WriteLedgerModel::setUpdateInterval(int milliseconds)
{
    milliseconds = qMax(milliseconds, 1);
    if (milliseconds == d->timer.interval())
        return;
    d->timer.setInterval(milliseconds);
    Q_EMIT updateIntervalChanged(milliseconds);
}

int WriteLedgerModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->rows.size());
}

int WriteLedgerModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant WriteLedgerModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.model() != this || index.row() >= rowCount())
        return {};
    const Entry &e = d->rows[size_t(index.row())];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case StateColumn:
            return stateText(e.state);
        case QueuedColumn:
            return d->timeAt(e.queuedUs).toString(QStringLiteral("HH:mm:ss.zzz"));
        case AcceptedColumn:
            return delayText(e.acceptedUs < 0 ? -1 : e.acceptedUs - e.queuedUs);
        case SentColumn:
            return delayText(e.sentUs < 0 ? -1 : e.sentUs - e.queuedUs);
        default:
            return d->value(e, IdRole + column);
        }
    case Qt::EditRole:
        return d->value(e, IdRole + column);
    case Qt::TextAlignmentRole:
        return column == ResultColumn || column == StateColumn
            ? int(Qt::AlignLeft | Qt::AlignVCenter)
            : int(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return d->value(e, role);
    }
}

QVariant WriteLedgerModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IdColumn:
        return QStringLiteral("Write");
    case SizeColumn:
        return QStringLiteral("Size");
    case StateColumn:
        return QStringLiteral("State");
    case QueuedColumn:
        return QStringLiteral("Queued at");
    case AcceptedColumn:
        return QStringLiteral("Accepted");
    case SentColumn:
        return QStringLiteral("Sent");
    case ResultColumn:
        return QStringLiteral("Result");
    default:
        return {};
    }
}

QHash<int, QByteArray> WriteLedgerModel::roleNames() const
{
    return {
        {Qt::DisplayRole, "display"},
        {IdRole, "id"},
        {SizeRole, "size"},
        {StateRole, "state"},
        {QueuedAtRole, "queuedAt"},
        {AcceptedAtRole, "acceptedAt"},
        {SentAtRole, "sentAt"},
        {ResultRole, "result"},
        {AcceptDelayRole, "acceptDelay"},
        {SendDelayRole, "sendDelay"},
    };
}

} // namespace rill
