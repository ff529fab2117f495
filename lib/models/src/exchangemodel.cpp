// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/exchangemodel.h>
#include <rill/flowtext.h>

#include <QtCore/QHash>
#include <QtCore/QTimer>

#include <algorithm>
#include <deque>

namespace rill {

class ExchangeModelPrivate
{
public:
    explicit ExchangeModelPrivate(ExchangeModel *q) : q(q)
    {
        timer.setSingleShot(true);
        timer.setInterval(UpdateIntervalMs);
        QObject::connect(&timer, &QTimer::timeout, q, [this] { flush(); });
    }

    void take(const ProbeExchange &e)
    {
        if (e.flow != flowId || flowId == 0)
            return;
        pending.push_back(e);
        if (!timer.isActive())
            timer.start();
    }

    // The reports since the last flush, to views in one batch: changed rows, new rows at the
    // bottom, then the oldest dropped from the top.
    void flush()
    {
        const std::deque<ProbeExchange> batch = std::exchange(pending, {});
        int firstChanged = -1;
        int lastChanged = -1;
        std::deque<ProbeExchange> added;
        QHash<quint64, qsizetype> addedAt;
        for (const ProbeExchange &e : batch) {
            if (const auto it = rowOf.constFind(e.id); it != rowOf.cend()) {
                const int row = int(*it - dropped);
                rows[size_t(row)] = e;
                firstChanged = firstChanged < 0 ? row : qMin(firstChanged, row);
                lastChanged = qMax(lastChanged, row);
            } else if (const auto a = addedAt.constFind(e.id); a != addedAt.cend()) {
                added[size_t(*a)] = e;
            } else {
                addedAt.insert(e.id, qsizetype(added.size()));
                added.push_back(e);
            }
        }
        if (firstChanged >= 0)
            Q_EMIT q->dataChanged(q->index(firstChanged, 0),
                                  q->index(lastChanged, ExchangeModel::ColumnCount - 1));
        if (!added.empty()) {
            const int first = int(rows.size());
            q->beginInsertRows(QModelIndex(), first, first + int(added.size()) - 1);
            for (ProbeExchange &e : added) {
                rowOf.insert(e.id, dropped + qint64(rows.size()));
                rows.push_back(std::move(e));
            }
            q->endInsertRows();
        }
        trim();
    }

    void trim()
    {
        const int excess = int(rows.size()) - maxEntries;
        if (excess <= 0)
            return;
        q->beginRemoveRows(QModelIndex(), 0, excess - 1);
        for (int i = 0; i < excess; ++i) {
            rowOf.remove(rows.front().id);
            rows.pop_front();
        }
        dropped += excess;
        q->endRemoveRows();
        Q_EMIT q->droppedCountChanged(dropped);
    }

    void reset(quint64 id)
    {
        q->beginResetModel();
        QObject::disconnect(connection);
        connection = {};
        flowId = id;
        rows.clear();
        pending.clear();
        rowOf.clear();
        dropped = 0;
        timer.stop();
        q->endResetModel();
    }

    static constexpr int UpdateIntervalMs = 100;

    ExchangeModel *q;
    QMetaObject::Connection connection;
    quint64 flowId = 0;
    std::deque<ProbeExchange> rows;
    std::deque<ProbeExchange> pending;
    QHash<quint64, qint64> rowOf; // exchange id -> its row + dropped
    qint64 dropped = 0;
    int maxEntries = ExchangeModel::DefaultMaxEntries;
    QTimer timer;
};

ExchangeModel::ExchangeModel(QObject *parent)
    : QAbstractTableModel(parent), d(std::make_unique<ExchangeModelPrivate>(this))
{
}

ExchangeModel::~ExchangeModel()
{
    QObject::disconnect(d->connection);
}

void ExchangeModel::setFlow(const Flow *flow)
{
    d->reset(flow ? Probe::flowId(flow) : 0);
    if (d->flowId == 0)
        return;
    d->connection = Probe::watchExchanges(this, [this](const ProbeExchange &e) { d->take(e); });
    // After connecting: a step reported meanwhile comes again, never one lost between.
    for (const ProbeExchange &e : Probe::exchangesInFlight(flow))
        d->take(e);
}

void ExchangeModel::setProbeFlow(ProbeClient *client, quint64 id)
{
    d->reset(client ? id : 0);
    if (client && id != 0)
        d->connection = connect(client, &ProbeClient::exchangeReported, this,
                                [this](const ProbeExchange &e) { d->take(e); });
}

ProbeExchange ExchangeModel::exchange(int row) const
{
    return row >= 0 && row < int(d->rows.size()) ? d->rows[size_t(row)] : ProbeExchange();
}

int ExchangeModel::maxEntries() const
{
    return d->maxEntries;
}

void ExchangeModel::setMaxEntries(int count)
{
    count = qMax(1, count);
    if (count == d->maxEntries)
        return;
    d->maxEntries = count;
    d->trim();
    Q_EMIT maxEntriesChanged(count);
}

qint64 ExchangeModel::droppedCount() const
{
    return d->dropped;
}

int ExchangeModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(d->rows.size());
}

int ExchangeModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

namespace {

QString msText(qint64 ms)
{
    return ms < 0 ? QString() : QStringLiteral("%1 ms").arg(ms);
}

QVariant value(const ProbeExchange &e, int role)
{
    switch (role) {
    case ExchangeModel::MethodRole: return e.method;
    case ExchangeModel::TargetRole: return e.target;
    case ExchangeModel::StatusRole: return e.status;
    case ExchangeModel::RequestBytesRole: return e.requestBytes;
    case ExchangeModel::ResponseBytesRole: return e.responseBytes;
    case ExchangeModel::HeadersMsRole: return e.headersMs;
    case ExchangeModel::DurationMsRole: return e.durationMs;
    case ExchangeModel::StartedRole: return e.started;
    case ExchangeModel::ErrorRole: return e.error;
    case ExchangeModel::ExchangeIdRole: return e.id;
    case ExchangeModel::ReasonRole: return e.reason;
    case ExchangeModel::ProtocolRole: return e.protocol;
    case ExchangeModel::ServerRole: return e.role == ProbeExchange::Role::Server;
    case ExchangeModel::FinishedRole: return e.isFinished();
    default: return {};
    }
}

QString text(const ProbeExchange &e, int column)
{
    switch (column) {
    case ExchangeModel::MethodColumn: return e.method;
    case ExchangeModel::TargetColumn: return e.target;
    case ExchangeModel::StatusColumn:
        return e.status == 0 ? (e.isFinished() ? QStringLiteral("(none)") : QStringLiteral("pending"))
                             : QStringLiteral("%1 %2").arg(e.status).arg(e.reason).trimmed();
    case ExchangeModel::RequestSizeColumn: return FlowText::bytes(e.requestBytes);
    case ExchangeModel::ResponseSizeColumn:
        return e.status == 0 ? QString() : FlowText::bytes(e.responseBytes);
    case ExchangeModel::HeadersColumn: return msText(e.headersMs);
    case ExchangeModel::DurationColumn: return msText(e.durationMs);
    case ExchangeModel::StartedColumn:
        return e.started.toLocalTime().toString(QStringLiteral("HH:mm:ss.zzz"));
    case ExchangeModel::ErrorColumn: return e.error;
    default: return {};
    }
}

} // namespace

QVariant ExchangeModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= int(d->rows.size()))
        return {};
    const ProbeExchange &e = d->rows[size_t(index.row())];
    if (role == Qt::DisplayRole)
        return text(e, index.column());
    if (role == Qt::ToolTipRole && !e.error.isEmpty())
        return e.error;
    if (role == Qt::TextAlignmentRole) {
        switch (index.column()) {
        case RequestSizeColumn:
        case ResponseSizeColumn:
        case HeadersColumn:
        case DurationColumn:
            return int(Qt::AlignRight | Qt::AlignVCenter);
        default:
            return {};
        }
    }
    return value(e, role);
}

QVariant ExchangeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *const titles[] = {"Method", "Target", "Status", "Request", "Response",
                                         "Headers", "Time", "Started", "Error"};
    return section >= 0 && section < ColumnCount ? QString::fromLatin1(titles[section]) : QVariant();
}

QHash<int, QByteArray> ExchangeModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractTableModel::roleNames();
    static const char *const roles[] = {"method", "target", "status", "requestBytes",
                                        "responseBytes", "headersMs", "durationMs", "started",
                                        "error", "exchangeId", "reason", "protocol", "server",
                                        "finished"};
    for (int i = 0; i <= FinishedRole - MethodRole; ++i)
        names.insert(MethodRole + i, roles[i]);
    return names;
}

} // namespace rill
