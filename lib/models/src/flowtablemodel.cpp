// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/flowtablemodel.h>
#include <rill/flowtext.h>
#include <rill/probe.h>

#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <vector>

namespace rill {

namespace {

// What a row shows, as of the model's last look at the flow.
struct Snapshot {
    QString transport;
    QString localEndpoint;
    QString peerEndpoint;
    Flow::State state = Flow::State::Connecting;
    Flow::ReadState readState = Flow::ReadState::Open;
    Flow::WriteState writeState = Flow::WriteState::Open;
    qint64 bytesIn = 0;
    qint64 bytesOut = 0;
    qint64 bytesQueued = 0;
    int writesWaiting = 0;
    qint64 highWaterMark = 0;
    QString lastError;
};

Snapshot snapshotOf(const Flow *flow)
{
    Snapshot s;
    s.transport = flow->transportName();
    s.localEndpoint = flow->localEndpoint().toString();
    s.peerEndpoint = flow->peerEndpoint().toString();
    // A wrapped socket that failed before its port was known: where it tried to go, as its
    // error names it (the host, without a port that would be wrong).
    if (s.peerEndpoint.isEmpty())
        s.peerEndpoint = flow->error().endpoint();
    s.state = flow->state();
    s.readState = flow->readState();
    s.writeState = flow->writeState();
    const FlowStats stats = flow->stats();
    s.bytesIn = stats.bytesRead;
    s.bytesOut = stats.bytesWritten;
    s.bytesQueued = flow->bytesQueued();
    s.writesWaiting = flow->writesWaiting();
    s.highWaterMark = flow->highWaterMark();
    const Error error = flow->error();
    s.lastError = error.isNone() ? QString() : errorMessage(error);
    return s;
}

// A flow of another process, as its probe last told it.
Snapshot snapshotOf(const ProbeFlow &flow)
{
    Snapshot s;
    s.transport = flow.transport;
    s.localEndpoint = flow.localEndpoint;
    s.peerEndpoint = flow.peerEndpoint;
    s.state = flow.state;
    s.readState = flow.readState;
    s.writeState = flow.writeState;
    s.bytesIn = flow.stats.bytesRead;
    s.bytesOut = flow.stats.bytesWritten;
    s.bytesQueued = flow.bytesQueued;
    s.writesWaiting = flow.writesWaiting;
    s.highWaterMark = flow.highWaterMark;
    s.lastError = flow.error;
    return s;
}

// Which columns differ, as [first, last]; first > last when none does.
std::pair<int, int> changedColumns(const Snapshot &a, const Snapshot &b)
{
    const bool changed[FlowTableModel::ColumnCount] = {
        false, // id
        false, // name: setName() reports it at once
        a.transport != b.transport,
        a.localEndpoint != b.localEndpoint,
        a.peerEndpoint != b.peerEndpoint,
        a.state != b.state,
        a.readState != b.readState,
        a.writeState != b.writeState,
        a.bytesIn != b.bytesIn,
        a.bytesOut != b.bytesOut,
        a.bytesQueued != b.bytesQueued,
        a.writesWaiting != b.writesWaiting,
        a.highWaterMark != b.highWaterMark,
        a.lastError != b.lastError,
    };
    int first = FlowTableModel::ColumnCount;
    int last = -1;
    for (int c = 0; c < FlowTableModel::ColumnCount; ++c) {
        if (changed[c]) {
            first = qMin(first, c);
            last = c;
        }
    }
    return {first, last};
}

} // namespace

class FlowTableModelPrivate {
public:
    struct Row {
        QPointer<Flow> flow;
        const QObject *key; // identifies the row while the flow is being destroyed
        qint64 id;
        QString name;
        bool owned;
        Snapshot snapshot;
        // A remote row (showProbeFlows()): the client and the flow's id in its process.
        QPointer<ProbeClient> client = {};
        quint64 remoteId = 0;
    };

    explicit FlowTableModelPrivate(FlowTableModel *q) : q(q) { }

    qint64 add(Flow *flow, const QString &name, bool owned);
    void removeRow(int row, bool deleteOwned);
    void refresh();
    void updateTimer();
    int rowOfKey(const QObject *key) const;
    int rowOfRemote(const ProbeClient *client, quint64 id) const;
    void addRemote(ProbeClient *client, quint64 id);
    QVariant value(const Row &row, int role) const;

    FlowTableModel *q;
    std::vector<Row> rows;
    QTimer timer;
    qint64 lastId = 0;
};

qint64 FlowTableModelPrivate::add(Flow *flow, const QString &name, bool owned)
{
    if (!flow || rowOfKey(flow) >= 0)
        return 0;
    const int row = int(rows.size());
    q->beginInsertRows(QModelIndex(), row, row);
    rows.push_back(Row {flow, flow, ++lastId, name, owned, snapshotOf(flow)});
    q->endInsertRows();
    const QObject *key = flow;
    // The row goes with the flow. Structural changes are rare, so they are not coalesced.
    QObject::connect(flow, &QObject::destroyed, q, [this, key] {
        const int r = rowOfKey(key);
        if (r >= 0)
            removeRow(r, false);
    });
    updateTimer();
    Q_EMIT q->countChanged(int(rows.size()));
    return lastId;
}

void FlowTableModelPrivate::removeRow(int row, bool deleteOwned)
{
    q->beginRemoveRows(QModelIndex(), row, row);
    Row removed = std::move(rows[size_t(row)]);
    rows.erase(rows.begin() + row);
    q->endRemoveRows();
    if (Flow *flow = removed.flow.data()) {
        QObject::disconnect(flow, nullptr, q, nullptr);
        if (removed.owned && deleteOwned)
            flow->deleteLater(); // we may be inside one of its signals
    }
    updateTimer();
    Q_EMIT q->countChanged(int(rows.size()));
}

int FlowTableModelPrivate::rowOfRemote(const ProbeClient *client, quint64 id) const
{
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].remoteId == id && rows[i].client == client)
            return int(i);
    }
    return -1;
}

void FlowTableModelPrivate::addRemote(ProbeClient *client, quint64 id)
{
    if (rowOfRemote(client, id) >= 0)
        return;
    const ProbeFlow flow = client->flow(id);
    const int row = int(rows.size());
    q->beginInsertRows(QModelIndex(), row, row);
    rows.push_back(Row {nullptr, nullptr, ++lastId,
                        QStringLiteral("%1 #%2").arg(client->process().program).arg(id), false,
                        snapshotOf(flow), client, id});
    q->endInsertRows();
    updateTimer();
    Q_EMIT q->countChanged(int(rows.size()));
}

int FlowTableModelPrivate::rowOfKey(const QObject *key) const
{
    for (size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].key == key && !rows[i].remoteId)
            return int(i);
    }
    return -1;
}

void FlowTableModelPrivate::updateTimer()
{
    // Byte counters change without a signal, so the model looks; with no rows it sleeps.
    if (rows.empty())
        timer.stop();
    else if (!timer.isActive())
        timer.start();
}

void FlowTableModelPrivate::refresh()
{
    for (size_t i = 0; i < rows.size(); ++i) {
        Row &row = rows[i];
        Snapshot now;
        if (row.remoteId) {
            // After the process ended, the client keeps the last picture.
            if (!row.client)
                continue;
            now = snapshotOf(row.client->flow(row.remoteId));
        } else if (row.flow) {
            now = snapshotOf(row.flow);
        } else {
            continue;
        }
        const auto [first, last] = changedColumns(row.snapshot, now);
        if (first > last)
            continue;
        row.snapshot = std::move(now);
        QList<int> roles;
        for (int c = first; c <= last; ++c)
            roles << FlowTableModel::IdRole + c;
        roles << Qt::DisplayRole << Qt::EditRole;
        if (first <= FlowTableModel::WriteStateColumn && last >= FlowTableModel::StateColumn)
            roles << FlowTableModel::LampRole;
        Q_EMIT q->dataChanged(q->index(int(i), first), q->index(int(i), last), roles);
    }
}

QVariant FlowTableModelPrivate::value(const Row &row, int role) const
{
    const Snapshot &s = row.snapshot;
    switch (role) {
    case FlowTableModel::IdRole:
        return row.id;
    case FlowTableModel::NameRole:
        return row.name;
    case FlowTableModel::TransportRole:
        return s.transport;
    case FlowTableModel::LocalEndpointRole:
        return s.localEndpoint;
    case FlowTableModel::PeerEndpointRole:
        return s.peerEndpoint;
    case FlowTableModel::StateRole:
        return QVariant::fromValue(s.state);
    case FlowTableModel::ReadStateRole:
        return QVariant::fromValue(s.readState);
    case FlowTableModel::WriteStateRole:
        return QVariant::fromValue(s.writeState);
    case FlowTableModel::BytesInRole:
        return s.bytesIn;
    case FlowTableModel::BytesOutRole:
        return s.bytesOut;
    case FlowTableModel::BytesQueuedRole:
        return s.bytesQueued;
    case FlowTableModel::WritesWaitingRole:
        return s.writesWaiting;
    case FlowTableModel::HighWaterMarkRole:
        return s.highWaterMark;
    case FlowTableModel::LastErrorRole:
        return s.lastError;
    case FlowTableModel::FlowRole:
        return QVariant::fromValue(row.flow.data());
    case FlowTableModel::ProbeFlowIdRole:
        return row.remoteId;
    default:
        return {};
    }
}

// ---------------------------------------------------------------------------------------------

FlowTableModel::FlowTableModel(QObject *parent)
    : QAbstractTableModel(parent), d(new FlowTableModelPrivate(this))
{
    d->timer.setInterval(DefaultUpdateInterval);
    connect(&d->timer, &QTimer::timeout, this, [this] { d->refresh(); });
}

FlowTableModel::~FlowTableModel()
{
    d->timer.stop();
    for (FlowTableModelPrivate::Row &row : d->rows) {
        if (Flow *flow = row.flow.data()) {
            disconnect(flow, nullptr, this, nullptr);
            if (row.owned)
                delete flow;
        }
    }
}

void FlowTableModel::showProbeFlows(ProbeClient *client)
{
    if (!client)
        return;
    for (const ProbeFlow &flow : client->flows())
        d->addRemote(client, flow.id);
    connect(client, &ProbeClient::flowAdded, this, [this, client](quint64 id) {
        d->addRemote(client, id);
    });
    connect(client, &ProbeClient::flowRemoved, this, [this, client](quint64 id) {
        const int row = d->rowOfRemote(client, id);
        if (row >= 0)
            d->removeRow(row, false);
    });
}

qint64 FlowTableModel::addFlow(Flow *flow, const QString &name)
{
    return d->add(flow, name, false);
}

qint64 FlowTableModel::adoptFlow(std::unique_ptr<Flow> flow, const QString &name)
{
    if (!flow || d->rowOfKey(flow.get()) >= 0)
        return 0;
    Flow *raw = flow.release();
    // A parent says "owned by C++" to QML too: flow(row) must not hand it to the JS collector.
    if (!raw->parent())
        raw->setParent(this);
    return d->add(raw, name, true);
}

void FlowTableModel::removeFlow(Flow *flow)
{
    const int row = d->rowOfKey(flow);
    if (row >= 0)
        d->removeRow(row, true);
}

void FlowTableModel::clear()
{
    if (d->rows.empty())
        return;
    beginResetModel();
    std::vector<FlowTableModelPrivate::Row> rows = std::exchange(d->rows, {});
    endResetModel();
    for (FlowTableModelPrivate::Row &row : rows) {
        if (Flow *flow = row.flow.data()) {
            disconnect(flow, nullptr, this, nullptr);
            if (row.owned)
                flow->deleteLater();
        }
    }
    d->updateTimer();
    Q_EMIT countChanged(0);
}

int FlowTableModel::count() const
{
    return int(d->rows.size());
}

Flow *FlowTableModel::flow(int row) const
{
    if (row < 0 || row >= count())
        return nullptr;
    return d->rows[size_t(row)].flow.data();
}

int FlowTableModel::rowOf(const Flow *flow) const
{
    return flow ? d->rowOfKey(flow) : -1;
}

int FlowTableModel::rowOfId(qint64 id) const
{
    for (size_t i = 0; i < d->rows.size(); ++i) {
        if (d->rows[i].id == id)
            return int(i);
    }
    return -1;
}

qint64 FlowTableModel::idOf(const Flow *flow) const
{
    const int row = rowOf(flow);
    return row < 0 ? 0 : d->rows[size_t(row)].id;
}

QString FlowTableModel::nameOf(const Flow *flow) const
{
    const int row = rowOf(flow);
    return row < 0 ? QString() : d->rows[size_t(row)].name;
}

void FlowTableModel::setName(Flow *flow, const QString &name)
{
    const int row = rowOf(flow);
    if (row < 0 || d->rows[size_t(row)].name == name)
        return;
    d->rows[size_t(row)].name = name;
    const QModelIndex cell = index(row, NameColumn);
    Q_EMIT dataChanged(cell, cell, {NameRole, Qt::DisplayRole, Qt::EditRole});
}

int FlowTableModel::updateInterval() const
{
    return d->timer.interval();
}

void FlowTableModel::setUpdateInterval(int milliseconds)
{
    milliseconds = qMax(milliseconds, 1);
    if (milliseconds == d->timer.interval())
        return;
    d->timer.setInterval(milliseconds);
    Q_EMIT updateIntervalChanged(milliseconds);
}

int FlowTableModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : count();
}

int FlowTableModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant FlowTableModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.model() != this || index.row() >= rowCount())
        return {};
    const FlowTableModelPrivate::Row &row = d->rows[size_t(index.row())];
    const int column = index.column();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case StateColumn:
            return FlowText::stateText(row.snapshot.state);
        case ReadStateColumn:
            return FlowText::readStateText(row.snapshot.readState);
        case WriteStateColumn:
            return FlowText::writeStateText(row.snapshot.writeState);
        default:
            return d->value(row, IdRole + column);
        }
    case Qt::EditRole: // the raw value, for sorting
        return d->value(row, IdRole + column);
    case Qt::ToolTipRole:
        if (column == LastErrorColumn || column == PeerEndpointColumn
            || column == LocalEndpointColumn)
            return d->value(row, IdRole + column);
        return {};
    case Qt::TextAlignmentRole:
        switch (column) {
        case IdColumn:
        case BytesInColumn:
        case BytesOutColumn:
        case BytesQueuedColumn:
        case WritesWaitingColumn:
        case HighWaterMarkColumn:
            return int(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return int(Qt::AlignLeft | Qt::AlignVCenter);
        }
    case LampRole:
        switch (column) {
        case StateColumn:
            return FlowText::lampName(FlowText::lamp(row.snapshot.state));
        case ReadStateColumn:
            return FlowText::lampName(FlowText::lamp(row.snapshot.readState));
        case WriteStateColumn:
            return FlowText::lampName(FlowText::lamp(row.snapshot.writeState));
        default:
            return QString();
        }
    default:
        return d->value(row, role);
    }
}

QVariant FlowTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation == Qt::Horizontal && role == Qt::ToolTipRole) {
        switch (section) {
        case StateColumn:
            return QStringLiteral("connecting, open, closing (close() was called), closed");
        case ReadStateColumn:
            return QStringLiteral("The read side: open, end of stream (the peer's FIN was seen, "
                                  "or shutdown(Read)), or failed");
        case WriteStateColumn:
            return QStringLiteral("The write side: open, shutting down (flushing the queue before "
                                  "the FIN), closed (FIN sent, or the peer is gone), or failed");
        case BytesInColumn:
            return QStringLiteral("Bytes handed to read() callers");
        case BytesOutColumn:
            return QStringLiteral("Bytes handed to the transport (the kernel, or the peer pipe)");
        case BytesQueuedColumn:
            return QStringLiteral("Bytes accepted by write() but not yet handed to the transport");
        case WritesWaitingColumn:
            return QStringLiteral("write() calls not accepted yet: the queue is at or above the "
                                  "high-water mark, so their futures wait (backpressure)");
        case HighWaterMarkColumn:
            return QStringLiteral("Past this many queued bytes, writes wait");
        default:
            return {};
        }
    }
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case IdColumn:
        return QStringLiteral("Id");
    case NameColumn:
        return QStringLiteral("Name");
    case TransportColumn:
        return QStringLiteral("Transport");
    case LocalEndpointColumn:
        return QStringLiteral("Local");
    case PeerEndpointColumn:
        return QStringLiteral("Peer");
    case StateColumn:
        return QStringLiteral("State");
    case ReadStateColumn:
        return QStringLiteral("Read");
    case WriteStateColumn:
        return QStringLiteral("Write");
    case BytesInColumn:
        return QStringLiteral("Bytes in");
    case BytesOutColumn:
        return QStringLiteral("Bytes out");
    case BytesQueuedColumn:
        return QStringLiteral("Queued");
    case WritesWaitingColumn:
        return QStringLiteral("Waiting");
    case HighWaterMarkColumn:
        return QStringLiteral("High-water mark");
    case LastErrorColumn:
        return QStringLiteral("Last error");
    default:
        return {};
    }
}

QHash<int, QByteArray> FlowTableModel::roleNames() const
{
    return {
        {Qt::DisplayRole, "display"},
        {IdRole, "id"},
        {NameRole, "name"},
        {TransportRole, "transport"},
        {LocalEndpointRole, "localEndpoint"},
        {PeerEndpointRole, "peerEndpoint"},
        {StateRole, "state"},
        {ReadStateRole, "readState"},
        {WriteStateRole, "writeState"},
        {BytesInRole, "bytesIn"},
        {BytesOutRole, "bytesOut"},
        {BytesQueuedRole, "bytesQueued"},
        {WritesWaitingRole, "writesWaiting"},
        {HighWaterMarkRole, "highWaterMark"},
        {LastErrorRole, "lastError"},
        {FlowRole, "flow"},
        {LampRole, "lamp"},
        {ProbeFlowIdRole, "probeFlowId"},
    };
}

} // namespace rill
