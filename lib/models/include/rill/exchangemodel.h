// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::ExchangeModel, the requests and responses a flow carries, for views (component Models).

#include <rill/modelsglobal.h>
#include <rill/probe.h>

#include <QtCore/QAbstractTableModel>

#include <memory>

namespace rill {

class Flow;
class ProbeClient;

class ExchangeModelPrivate;

/// The exchanges (an HTTP request and its response, ...) one flow carries, for views: a row
/// per exchange, as a browser's network panel shows them, oldest first. The rows come from
/// the reports of the protocol library (Rill::Http reports every exchange it runs;
/// rill::Probe::reportExchange()), of a flow of this process (setFlow()) or of another
/// process's flow through its probe (setProbeFlow()).
///
/// Only exchanges reported while the model watches appear: a protocol library traces
/// exchanges only while someone watches (Probe::isTracingExchanges()), so an exchange under
/// way when watching began shows from its next step. Bounded: it keeps the last maxEntries()
/// exchanges and counts the older ones it dropped. Views hear of changes at most ten times a
/// second, in one batch.
class RILL_MODELS_EXPORT ExchangeModel : public QAbstractTableModel {
    Q_OBJECT
    /// The most exchanges kept. \sa setMaxEntries()
    Q_PROPERTY(int maxEntries READ maxEntries WRITE setMaxEntries NOTIFY maxEntriesChanged)
    /// Exchanges dropped from the top. \sa droppedCount()
    Q_PROPERTY(qint64 droppedCount READ droppedCount NOTIFY droppedCountChanged)
public:
    /// The columns; column c shows role MethodRole + c.
    enum Column {
        MethodColumn,       ///< "GET", ...
        TargetColumn,       ///< The request target.
        StatusColumn,       ///< "200 OK"; "" before the response's head.
        RequestSizeColumn,  ///< Request body bytes.
        ResponseSizeColumn, ///< Response body bytes.
        HeadersColumn,      ///< Milliseconds to the response's head.
        DurationColumn,     ///< Milliseconds to the end.
        StartedColumn,      ///< When it began, as a time of day.
        ErrorColumn,        ///< Why it failed.
        ColumnCount         ///< The number of columns.
    };
    Q_ENUM(Column)

    /// The roles; column c shows role MethodRole + c. Sizes and times are qint64 (-1: not
    /// yet), the status an int (0: not yet), started a QDateTime, the rest text.
    enum Role {
        MethodRole = Qt::UserRole + 1, ///< ProbeExchange::method.
        TargetRole,        ///< ProbeExchange::target.
        StatusRole,        ///< ProbeExchange::status.
        RequestBytesRole,  ///< ProbeExchange::requestBytes.
        ResponseBytesRole, ///< ProbeExchange::responseBytes.
        HeadersMsRole,     ///< ProbeExchange::headersMs.
        DurationMsRole,    ///< ProbeExchange::durationMs.
        StartedRole,       ///< ProbeExchange::started.
        ErrorRole,         ///< ProbeExchange::error.
        ExchangeIdRole,    ///< ProbeExchange::id.
        ReasonRole,        ///< ProbeExchange::reason.
        ProtocolRole,      ///< ProbeExchange::protocol.
        ServerRole,        ///< True if the flow's process answered it (ProbeExchange::Role::Server).
        FinishedRole,      ///< ProbeExchange::isFinished().
    };
    Q_ENUM(Role)

    /// maxEntries() unless changed.
    static constexpr int DefaultMaxEntries = 500;

    /// An empty model watching no flow.
    explicit ExchangeModel(QObject *parent = nullptr);
    /// Stops watching.
    ~ExchangeModel() override;

    /// Shows the exchanges \a flow carries from now on, and those under way on it now
    /// (Probe::exchangesInFlight()), none for null; \a flow must live in the model's thread or
    /// outlive the watching.
    void setFlow(const rill::Flow *flow);
    /// Shows the exchanges flow \a id of the process \a client is attached to carries from now
    /// on, as its probe publishes them (for flows whose write ledger the client follows; the
    /// probe sends those under way when the client starts following the flow's ledger).
    void setProbeFlow(rill::ProbeClient *client, quint64 id);
    /// The exchange of row \a row; an empty one (id 0) if there is none.
    rill::ProbeExchange exchange(int row) const;

    /// The most exchanges kept.
    int maxEntries() const;
    /// Sets the most exchanges kept to \a count (at least 1).
    void setMaxEntries(int count);
    /// Exchanges dropped from the top to stay within maxEntries().
    qint64 droppedCount() const;

    /// The rows under \a parent: one per exchange shown (none under a valid parent).
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    /// ColumnCount under an invalid \a parent, else 0.
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    /// The value of \a role for \a index: the display role shows the column's text, Role values
    /// give the row's values whatever the column.
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    /// The title of column \a section (display role).
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    /// The roles' names for QML delegates: each role's name without "Role" (method, target, ...).
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    /// The most exchanges kept changed to \a count.
    void maxEntriesChanged(int count);
    /// Exchanges dropped from the top: \a count in all.
    void droppedCountChanged(qint64 count);

private:
    friend class ExchangeModelPrivate;
    std::unique_ptr<ExchangeModelPrivate> d;
    Q_DISABLE_COPY(ExchangeModel)
};

} // namespace rill
