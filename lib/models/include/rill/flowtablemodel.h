// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::FlowTableModel, a table of flows for views (component Models).

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QAbstractTableModel>

#include <memory>

namespace rill {

class FlowTableModelPrivate;
class ProbeClient;

/// A table of flows for views: one row per flow, one column per aspect of it, and the same
/// data under named roles (roleNames()) for QML delegates.
///
/// Views hear about changes at a bounded rate: the model looks at its flows every
/// updateInterval() milliseconds and sends one dataChanged() per row that changed since, so a
/// flow moving bytes at full speed costs its views a few repaints a second, not one per write.
/// data() gives the values as of that last look. The flows must live in the model's thread.
class RILL_MODELS_EXPORT FlowTableModel : public QAbstractTableModel {
    Q_OBJECT
    /// The flows shown. \sa count()
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    /// Milliseconds between looks at the flows. \sa setUpdateInterval()
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
public:
    /// The columns; column c shows role IdRole + c.
    enum Column {
        IdColumn,            ///< The row's id (addFlow()).
        NameColumn,          ///< The name given to addFlow() or setName().
        TransportColumn,     ///< Flow::transportName().
        LocalEndpointColumn, ///< Flow::localEndpoint().
        PeerEndpointColumn,  ///< Flow::peerEndpoint().
        StateColumn,         ///< Flow::state().
        ReadStateColumn,     ///< Flow::readState().
        WriteStateColumn,    ///< Flow::writeState().
        BytesInColumn,       ///< FlowStats::bytesRead.
        BytesOutColumn,      ///< FlowStats::bytesWritten.
        BytesQueuedColumn,   ///< Flow::bytesQueued().
        WritesWaitingColumn, ///< Flow::writesWaiting().
        HighWaterMarkColumn, ///< Flow::highWaterMark().
        LastErrorColumn,     ///< Flow::error(), as text.
        ColumnCount          ///< The number of columns.
    };
    Q_ENUM(Column)

    /// The roles; column c shows role IdRole + c.
    ///
    /// The values: ids and byte counts as qint64, the three states as Flow::State,
    /// Flow::ReadState and Flow::WriteState, lastError as text ("" for none), flow as the Flow
    /// itself.
    enum Role {
        IdRole = Qt::UserRole + 1, ///< The row's id.
        NameRole,                  ///< The flow's name in the table.
        TransportRole,             ///< Flow::transportName().
        LocalEndpointRole,         ///< Flow::localEndpoint().
        PeerEndpointRole,          ///< Flow::peerEndpoint().
        StateRole,                 ///< Flow::state().
        ReadStateRole,             ///< Flow::readState().
        WriteStateRole,            ///< Flow::writeState().
        BytesInRole,  ///< FlowStats::bytesRead: bytes handed to read() callers.
        BytesOutRole, ///< FlowStats::bytesWritten: bytes handed to the transport.
        BytesQueuedRole,   ///< Flow::bytesQueued().
        WritesWaitingRole, ///< Flow::writesWaiting().
        HighWaterMarkRole, ///< Flow::highWaterMark().
        LastErrorRole,     ///< The flow's error as text, "" for none.
        FlowRole,          ///< The Flow itself.
        /// The lamp of the state a column shows, by name (FlowText::lampName(): "open",
        /// "ended", ...); "" in the columns that show no state. Column-dependent, unlike the
        /// others.
        LampRole,
        /// The flow's id in its process, in a row of showProbeFlows(); 0 in other rows.
        ProbeFlowIdRole,
    };
    Q_ENUM(Role)

    /// updateInterval() unless changed, in milliseconds: at most 10 updates a second.
    static constexpr int DefaultUpdateInterval = 100;

    /// An empty table.
    explicit FlowTableModel(QObject *parent = nullptr);
    /// Deletes the flows the model owns (adoptFlow()).
    ~FlowTableModel() override;

    /// Shows \a flow, called \a name, in a new last row without owning it; the row goes when
    /// the flow is destroyed.
    ///
    /// Returns the row's id (1, 2, ... in the order flows were added), or 0 if \a flow is null
    /// or already shown.
    qint64 addFlow(rill::Flow *flow, const QString &name = {});
    /// Shows \a flow as addFlow() does, and the model owns it (it becomes the model's child if
    /// it has no parent): it is deleted when its row is removed or the model is destroyed.
    qint64 adoptFlow(std::unique_ptr<rill::Flow> flow, const QString &name = {});
    /// Shows the flows of the process \a client is attached to (see ProbeClient), one row
    /// each, coming and going with them; after the process ended the rows keep their last
    /// values. Their FlowRole is null: the flow lives in the other process.
    void showProbeFlows(rill::ProbeClient *client);
    /// Removes the row of \a flow; deletes the flow (deleteLater()) if the model owns it.
    void removeFlow(rill::Flow *flow);
    /// Removes every row, as removeFlow() does for each.
    void clear();

    /// The flows shown.
    int count() const;
    /// The flow in \a row; null if there is none.
    Q_INVOKABLE rill::Flow *flow(int row) const;
    /// The row of \a flow; -1 if not shown.
    Q_INVOKABLE int rowOf(const rill::Flow *flow) const;
    /// The row whose id is \a id; -1 if none.
    Q_INVOKABLE int rowOfId(qint64 id) const;
    /// The row id of \a flow; 0 if not shown.
    qint64 idOf(const rill::Flow *flow) const;
    /// The name \a flow is shown with.
    QString nameOf(const rill::Flow *flow) const;
    /// Shows \a flow with \a name.
    void setName(rill::Flow *flow, const QString &name);

    /// Milliseconds between looks at the flows.
    int updateInterval() const;
    /// Sets the milliseconds between looks at the flows (at least 1).
    void setUpdateInterval(int milliseconds);

    /// The rows under \a parent: one per flow (none under a valid parent).
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    /// ColumnCount under an invalid \a parent, else 0.
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    /// The value of \a role for \a index, as of the last look: the display role shows the
    /// column's text, Role values give the row's values whatever the column.
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    /// The title (display role) or explanation (tooltip role) of column \a section.
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    /// The roles' names for QML delegates: each role's name without "Role"
    /// (id, name, peerEndpoint, ...).
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    /// The number of flows shown changed to \a count.
    void countChanged(int count);
    /// The update interval changed to \a milliseconds.
    void updateIntervalChanged(int milliseconds);

private:
    friend class FlowTableModelPrivate;
    std::unique_ptr<FlowTableModelPrivate> d;
    Q_DISABLE_COPY(FlowTableModel)
};

} // namespace rill
