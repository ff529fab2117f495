// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/datalog.h>
#include <rill/flowtext.h>
#include <rill/probe.h>

#include <QtCore/QDateTime>
#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <algorithm>

namespace rill {

class DataLogPrivate {
public:
    explicit DataLogPrivate(DataLog *q) : q(q) { }

    void connectFlow();
    void disconnectFlow();
    void record(DataLog::Direction direction, const QByteArray &data);
    void trim();
    void publish();
    // The entry shown in row `row`, or null if it was dropped since the last batch.
    const DataLog::Entry *entryAt(int row) const;

    DataLog *q;
    QPointer<Flow> flow;
    QPointer<ProbeClient> client; // a remote flow's (setProbeFlow())
    quint64 remoteId = 0;
    QMetaObject::Connection arrived;
    QMetaObject::Connection sent;
    bool capturing = true;
    int maxEntries = DataLog::DefaultMaxEntries;
    qint64 maxBytes = DataLog::DefaultMaxBytes;
    qint64 maxBytesPerEntry = DataLog::DefaultMaxBytesPerEntry;
    std::deque<DataLog::Entry> entries;
    qint64 lastSerial = 0;
    // What views know: rows 0 .. shownCount - 1 are serials shownFirst, shownFirst + 1, ...
    qint64 shownFirst = 1;
    int shownCount = 0;
    qint64 dropped = 0;
    qint64 bytesIn = 0;
    qint64 bytesOut = 0;
    qint64 bytesKept = 0;
    qint64 bytesDropped = 0;
    QTimer timer;
};

void DataLogPrivate::connectFlow()
{
    if (client && capturing && !arrived) {
        const quint64 id = remoteId;
        arrived = QObject::connect(client, &ProbeClient::dataReceived, q,
            [this, id](quint64 flowId, bool out, const QByteArray &data) {
                if (flowId == id)
                    record(out ? DataLog::Direction::Out : DataLog::Direction::In, data);
            });
        client->requestData(id, maxBytes);
        return;
    }
    if (!flow || !capturing || arrived)
        return;
    arrived = QObject::connect(flow, &Flow::dataArrived, q,
        [this](const QByteArray &data) { record(DataLog::Direction::In, data); });
    sent = QObject::connect(flow, &Flow::dataSent, q,
        [this](const QByteArray &data) { record(DataLog::Direction::Out, data); });
}

void DataLogPrivate::disconnectFlow()
{
    // Explicitly, never left to ~QObject: that would call the flow's disconnectNotify() with a
    // Qt lock held, and Flow::disconnectNotify() takes Qt's locks itself.
    QObject::disconnect(arrived);
    QObject::disconnect(sent);
    arrived = {};
    sent = {};
}

void DataLogPrivate::record(DataLog::Direction direction, const QByteArray &data)
{
    const qint64 size = data.size();
    (direction == DataLog::Direction::In ? bytesIn : bytesOut) += size;
    const qint64 keep = qMin(size, qMin(maxBytesPerEntry, maxBytes));
    entries.push_back(DataLog::Entry {++lastSerial, QDateTime::currentMSecsSinceEpoch(),
        direction, size, keep < size ? data.first(keep) : data});
    bytesKept += keep;
    bytesDropped += size - keep;
    trim();
    if (!timer.isActive())
        timer.start();
}

// Memory stays within the bounds at every moment, not only at the next batch.
void DataLogPrivate::trim()
{
    while (!entries.empty()
        && (entries.size() > size_t(maxEntries) || (bytesKept > maxBytes && entries.size() > 1))) {
        const qint64 kept = entries.front().bytes.size();
        bytesKept -= kept;
        bytesDropped += kept;
        ++dropped;
        entries.pop_front();
    }
}

void DataLogPrivate::publish()
{
    timer.stop();
    const qint64 firstKept = entries.empty() ? lastSerial + 1 : entries.front().serial;
    const int gone = int(std::clamp<qint64>(firstKept - shownFirst, 0, shownCount));
    if (gone > 0) {
        q->beginRemoveRows(QModelIndex(), 0, gone - 1);
        shownFirst += gone;
        shownCount -= gone;
        q->endRemoveRows();
    }
    if (shownCount == 0)
        shownFirst = qMax(shownFirst, firstKept);
    const qint64 fresh = lastSerial - (shownFirst + shownCount) + 1;
    if (fresh > 0) {
        q->beginInsertRows(QModelIndex(), shownCount, shownCount + int(fresh) - 1);
        shownCount += int(fresh);
        q->endInsertRows();
    }
    Q_EMIT q->countChanged();
}

const DataLog::Entry *DataLogPrivate::entryAt(int row) const
{
    if (entries.empty())
        return nullptr;
    const qint64 at = shownFirst + row - entries.front().serial;
    return at >= 0 && at < qint64(entries.size()) ? &entries[size_t(at)] : nullptr;
}

// ---------------------------------------------------------------------------------------------

DataLog::DataLog(QObject *parent) : QAbstractListModel(parent), d(new DataLogPrivate(this))
{
    d->timer.setSingleShot(true);
    d->timer.setInterval(DefaultUpdateInterval);
    connect(&d->timer, &QTimer::timeout, this, [this] { d->publish(); });
}

DataLog::DataLog(Flow *flow, QObject *parent) : DataLog(parent)
{
    setFlow(flow);
}

DataLog::~DataLog()
{
    d->disconnectFlow();
    if (d->flow)
        disconnect(d->flow, nullptr, this, nullptr);
}

Flow *DataLog::flow() const
{
    return d->flow.data();
}

void DataLog::setFlow(Flow *flow)
{
    if (flow == d->flow && !d->client)
        return;
    d->disconnectFlow();
    if (d->flow)
        disconnect(d->flow, nullptr, this, nullptr);
    d->flow = flow;
    d->client = nullptr;
    d->remoteId = 0;
    clear();
    if (flow) {
        d->connectFlow();
        // The log stays readable; views hear that it no longer follows a flow.
        connect(flow, &QObject::destroyed, this, [this] { Q_EMIT flowChanged(); });
    }
    Q_EMIT flowChanged();
}

void DataLog::setProbeFlow(ProbeClient *client, quint64 id)
{
    setFlow(nullptr);
    d->disconnectFlow();
    d->client = client;
    d->remoteId = id;
    if (client)
        d->connectFlow();
    Q_EMIT flowChanged();
}

bool DataLog::isCapturing() const
{
    return d->capturing;
}

void DataLog::setCapturing(bool capturing)
{
    if (capturing == d->capturing)
        return;
    d->capturing = capturing;
    if (capturing)
        d->connectFlow();
    else
        d->disconnectFlow();
    Q_EMIT capturingChanged(capturing);
}

int DataLog::maxEntries() const
{
    return d->maxEntries;
}

void DataLog::setMaxEntries(int count)
{
    count = qMax(1, count);
    if (count == d->maxEntries)
        return;
    d->maxEntries = count;
    d->trim();
    d->publish();
    Q_EMIT limitsChanged();
}

qint64 DataLog::maxBytes() const
{
    return d->maxBytes;
}

void DataLog::setMaxBytes(qint64 bytes)
{
    bytes = qMax(bytes, d->maxBytesPerEntry);
    if (bytes == d->maxBytes)
        return;
    d->maxBytes = bytes;
    d->trim();
    d->publish();
    Q_EMIT limitsChanged();
}

qint64 DataLog::maxBytesPerEntry() const
{
    return d->maxBytesPerEntry;
}

void DataLog::setMaxBytesPerEntry(qint64 bytes)
{
    bytes = qMax<qint64>(1, bytes);
    if (bytes == d->maxBytesPerEntry)
        return;
    d->maxBytesPerEntry = bytes;
    d->maxBytes = qMax(d->maxBytes, bytes);
    Q_EMIT limitsChanged();
}

int DataLog::updateInterval() const
{
    return d->timer.interval();
}

void DataLog::setUpdateInterval(int milliseconds)
{
    milliseconds = qMax(0, milliseconds);
    if (milliseconds == d->timer.interval())
        return;
    d->timer.setInterval(milliseconds);
    Q_EMIT updateIntervalChanged(milliseconds);
}

const std::deque<DataLog::Entry> &DataLog::entries() const
{
    return d->entries;
}

qint64 DataLog::lastSerial() const
{
    return d->lastSerial;
}

int DataLog::count() const
{
    return d->shownCount;
}

qint64 DataLog::droppedCount() const
{
    return d->dropped;
}

qint64 DataLog::bytesIn() const
{
    return d->bytesIn;
}

qint64 DataLog::bytesOut() const
{
    return d->bytesOut;
}

qint64 DataLog::bytesKept() const
{
    return d->bytesKept;
}

qint64 DataLog::bytesDropped() const
{
    return d->bytesDropped;
}

void DataLog::clear()
{
    d->timer.stop();
    beginResetModel();
    d->entries.clear();
    d->lastSerial = 0;
    d->shownFirst = 1;
    d->shownCount = 0;
    endResetModel();
    d->dropped = 0;
    d->bytesIn = 0;
    d->bytesOut = 0;
    d->bytesKept = 0;
    d->bytesDropped = 0;
    Q_EMIT countChanged();
}

int DataLog::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : d->shownCount;
}

QVariant DataLog::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.model() != this || index.row() >= d->shownCount)
        return {};
    if (role == SerialRole)
        return d->shownFirst + index.row();
    const Entry *entry = d->entryAt(index.row());
    if (!entry)
        return {};
    switch (role) {
    case Qt::DisplayRole:
    case TextRole:
        return FlowText::printable(entry->bytes, entry->size);
    case TimeRole:
        return QDateTime::fromMSecsSinceEpoch(entry->timeMs);
    case DirectionRole:
        return entry->direction == Direction::In ? QStringLiteral("in") : QStringLiteral("out");
    case SizeRole:
        return entry->size;
    case BytesRole:
        return entry->bytes;
    default:
        return {};
    }
}

QHash<int, QByteArray> DataLog::roleNames() const
{
    return {{Qt::DisplayRole, "display"}, {SerialRole, "serial"}, {TimeRole, "time"},
        {DirectionRole, "direction"}, {SizeRole, "size"}, {TextRole, "text"},
        {BytesRole, "bytes"}};
}

} // namespace rill
