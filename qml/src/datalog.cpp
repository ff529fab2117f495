// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "datalog.h"

namespace rill::quick {

DataLog::DataLog(QObject *parent) : QAbstractListModel(parent)
{
    m_timer.setSingleShot(true);
    m_timer.setInterval(100);
    connect(&m_timer, &QTimer::timeout, this, &DataLog::publish);
}

DataLog::~DataLog() = default;

void DataLog::setFlow(Flow *flow)
{
    if (flow == m_flow)
        return;
    if (m_flow)
        disconnect(m_flow, nullptr, this, nullptr);
    m_flow = flow;
    clear();
    if (flow) {
        connect(
            flow, &Flow::dataArrived, this, [this](const QByteArray &data) { record(true, data); });
        connect(
            flow, &Flow::dataSent, this, [this](const QByteArray &data) { record(false, data); });
        connect(flow, &QObject::destroyed, this, [this] { Q_EMIT flowChanged(); });
    }
    Q_EMIT flowChanged();
}

void DataLog::setMaxEntries(int count)
{
    count = qMax(1, count);
    if (count == m_maxEntries)
        return;
    m_maxEntries = count;
    Q_EMIT maxEntriesChanged();
    publish();
}

void DataLog::setUpdateInterval(int milliseconds)
{
    if (milliseconds == m_timer.interval())
        return;
    m_timer.setInterval(qMax(0, milliseconds));
    Q_EMIT updateIntervalChanged();
}

void DataLog::clear()
{
    m_timer.stop();
    m_incoming.clear();
    beginResetModel();
    m_entries.clear();
    endResetModel();
    m_serial = 0;
    m_dropped = 0;
    m_bytesIn = 0;
    m_bytesOut = 0;
    Q_EMIT countChanged();
    Q_EMIT droppedCountChanged();
}

void DataLog::record(bool incoming, const QByteArray &data)
{
    (incoming ? m_bytesIn : m_bytesOut) += data.size();
    m_incoming.push_back(Entry {++m_serial, QDateTime::currentDateTime(), incoming, data.size(),
        printable(QByteArrayView(data).first(qMin<qsizetype>(data.size(), MaxShownBytes)))});
    // At full speed only the newest matter: never hold more than a screenful unpublished.
    while (m_incoming.size() > size_t(m_maxEntries)) {
        m_incoming.pop_front();
        ++m_dropped;
    }
    if (!m_timer.isActive())
        m_timer.start();
}

void DataLog::publish()
{
    const qint64 droppedBefore = m_dropped;
    while (m_incoming.size() > size_t(m_maxEntries)) { // maxEntries was lowered
        m_incoming.pop_front();
        ++m_dropped;
    }
    const size_t total = m_entries.size() + m_incoming.size();
    if (total > size_t(m_maxEntries) && !m_entries.empty()) {
        const size_t drop = qMin(total - size_t(m_maxEntries), m_entries.size());
        beginRemoveRows(QModelIndex(), 0, int(drop) - 1);
        m_entries.erase(m_entries.begin(), m_entries.begin() + qsizetype(drop));
        endRemoveRows();
        m_dropped += qint64(drop);
    }
    if (!m_incoming.empty()) {
        const int first = int(m_entries.size());
        beginInsertRows(QModelIndex(), first, first + int(m_incoming.size()) - 1);
        for (Entry &entry : m_incoming)
            m_entries.push_back(std::move(entry));
        m_incoming.clear();
        endInsertRows();
    }
    Q_EMIT countChanged();
    if (m_dropped != droppedBefore)
        Q_EMIT droppedCountChanged();
}

int DataLog::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : count();
}

QVariant DataLog::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= count())
        return {};
    const Entry &entry = m_entries[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case TextRole:
        return entry.text;
    case SerialRole:
        return entry.serial;
    case TimeRole:
        return entry.time;
    case DirectionRole:
        return entry.incoming ? QStringLiteral("in") : QStringLiteral("out");
    case SizeRole:
        return entry.size;
    default:
        return {};
    }
}

QHash<int, QByteArray> DataLog::roleNames() const
{
    return {{Qt::DisplayRole, "display"}, {SerialRole, "serial"}, {TimeRole, "time"},
        {DirectionRole, "direction"}, {SizeRole, "size"}, {TextRole, "text"}};
}

QString DataLog::printable(QByteArrayView bytes)
{
    QString text;
    text.reserve(bytes.size());
    for (const char c : bytes) {
        const auto u = uchar(c);
        switch (c) {
        case '\n':
            text += QLatin1String("\\n");
            break;
        case '\r':
            text += QLatin1String("\\r");
            break;
        case '\t':
            text += QLatin1String("\\t");
            break;
        case '\\':
            text += QLatin1String("\\\\");
            break;
        default:
            if (u >= 0x20 && u < 0x7f)
                text += QLatin1Char(c);
            else
                text += QStringLiteral("\\x%1").arg(u, 2, 16, QLatin1Char('0'));
        }
    }
    return text;
}

} // namespace rill::quick
