// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QAbstractTableModel>

#include <memory>

namespace rill {

class FlowTableModelPrivate;

// A table of flows for views: one row per flow, one column per aspect of it, and the same data
// under named roles (roleNames()) for QML delegates.
//
// Views hear about changes at a bounded rate: the model looks at its flows every
// updateInterval() milliseconds and sends one dataChanged() per row that changed since, so a
// flow moving bytes at full speed costs its views a few repaints a second, not one per write.
// data() gives the values as of that last look. The flows must live in the model's thread.
class RILL_MODELS_EXPORT FlowTableModel : public QAbstractTableModel {
    Q_OBJECT
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
public:
    enum Column {
        IdColumn,
        NameColumn,
        TransportColumn,
        LocalEndpointColumn,
        PeerEndpointColumn,
        StateColumn,
        ReadStateColumn,
        WriteStateColumn,
        BytesInColumn,
        BytesOutColumn,
        BytesQueuedColumn,
        WritesWaitingColumn,
        HighWaterMarkColumn,
        LastErrorColumn,
        ColumnCount
    };
    Q_ENUM(Column)

    // Column c shows role IdRole + c. The values: ids and byte counts as qint64, the three
    // states as Flow::State, Flow::ReadState and Flow::WriteState, lastError as text ("" for
    // none), flow as the Flow itself.
    enum Role {
        IdRole = Qt::UserRole + 1,
        NameRole,
        TransportRole,
        LocalEndpointRole,
        PeerEndpointRole,
        StateRole,
        ReadStateRole,
        WriteStateRole,
        BytesInRole, // FlowStats::bytesRead: bytes handed to read() callers
        BytesOutRole, // FlowStats::bytesWritten: bytes handed to the transport
        BytesQueuedRole,
        WritesWaitingRole,
        HighWaterMarkRole,
        LastErrorRole,
        FlowRole,
        // The lamp of the state a column shows, by name (FlowText::lampName(): "open", "ended",
        // ...); "" in the columns that show no state. Column-dependent, unlike the others.
        LampRole,
    };
    Q_ENUM(Role)

    static constexpr int DefaultUpdateInterval = 100; // ms: at most 10 updates a second

    explicit FlowTableModel(QObject *parent = nullptr);
    ~FlowTableModel() override;

    // Shows flow in a new last row without owning it; the row goes when the flow is destroyed.
    // Returns the row's id (1, 2, ... in the order flows were added), or 0 if flow is null or
    // already shown.
    qint64 addFlow(rill::Flow *flow, const QString &name = {});
    // The same, and the model owns the flow (it becomes the model's child if it has no parent):
    // it is deleted when its row is removed or the model is destroyed.
    qint64 adoptFlow(std::unique_ptr<rill::Flow> flow, const QString &name = {});
    // Removes the flow's row; deletes the flow (deleteLater) if the model owns it.
    void removeFlow(rill::Flow *flow);
    void clear();

    int count() const;
    Q_INVOKABLE rill::Flow *flow(int row) const;
    Q_INVOKABLE int rowOf(const rill::Flow *flow) const; // -1 if not shown
    Q_INVOKABLE int rowOfId(qint64 id) const;
    qint64 idOf(const rill::Flow *flow) const; // 0 if not shown
    QString nameOf(const rill::Flow *flow) const;
    void setName(rill::Flow *flow, const QString &name);

    int updateInterval() const;
    void setUpdateInterval(int milliseconds);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    void countChanged(int count);
    void updateIntervalChanged(int milliseconds);

private:
    friend class FlowTableModelPrivate;
    std::unique_ptr<FlowTableModelPrivate> d;
    Q_DISABLE_COPY(FlowTableModel)
};

} // namespace rill
