// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QAbstractTableModel>

#include <memory>

namespace rill {

class WriteLedgerModelPrivate;

// One flow's write ledger for views: a row per write()/writev() call, from the flow's
// writeQueued/writeAccepted/writeSent/writeRejected signals, oldest first.
//
// Bounded: it keeps the last maxEntries() writes and counts the older ones it dropped
// (droppedCount()). Views hear about changes at most once per updateInterval() milliseconds,
// in one batch (rows dropped from the top, rows changed, rows added at the bottom); data() of a
// shown row may be newer than the last dataChanged. Only writes made while the model watches
// the flow appear. The flow must live in the model's thread.
class RILL_MODELS_EXPORT WriteLedgerModel : public QAbstractTableModel {
    Q_OBJECT
    Q_PROPERTY(rill::Flow *flow READ flow WRITE setFlow NOTIFY flowChanged)
    Q_PROPERTY(int maxEntries READ maxEntries WRITE setMaxEntries NOTIFY maxEntriesChanged)
    Q_PROPERTY(qint64 droppedCount READ droppedCount NOTIFY droppedCountChanged)
    Q_PROPERTY(int waitingCount READ waitingCount NOTIFY waitingCountChanged)
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
public:
    enum class EntryState {
        Waiting, // write() was called; the send queue is above the high-water mark
        Accepted, // in the send queue; the write's future resolved Ok
        Sent, // its last byte was handed to the transport (the kernel)
        Rejected, // resolved Eof or an error
    };
    Q_ENUM(EntryState)

    enum Column {
        IdColumn,
        SizeColumn,
        StateColumn,
        QueuedColumn, // time of day
        AcceptedColumn, // "+1.25 ms" after it was queued
        SentColumn, // likewise
        ResultColumn, // why it was rejected
        ColumnCount
    };
    Q_ENUM(Column)

    // Column c shows role IdRole + c. Times are QDateTime (invalid: not yet); ids and sizes
    // qint64; state an EntryState; result text ("" unless rejected). The *DelayRole values are
    // microseconds since the write was queued (-1: not yet).
    enum Role {
        IdRole = Qt::UserRole + 1,
        SizeRole,
        StateRole,
        QueuedAtRole,
        AcceptedAtRole,
        SentAtRole,
        ResultRole,
        AcceptDelayRole,
        SendDelayRole,
    };
    Q_ENUM(Role)

    static constexpr int DefaultMaxEntries = 1000;
    static constexpr int DefaultUpdateInterval = 100; // ms

    explicit WriteLedgerModel(QObject *parent = nullptr);
    explicit WriteLedgerModel(rill::Flow *flow, QObject *parent = nullptr);
    ~WriteLedgerModel() override;

    rill::Flow *flow() const;
    void setFlow(rill::Flow *flow); // starts an empty ledger

    int maxEntries() const;
    void setMaxEntries(int count);
    qint64 droppedCount() const; // writes dropped from the top to stay within maxEntries
    int waitingCount() const; // shown writes in state Waiting
    int updateInterval() const;
    void setUpdateInterval(int milliseconds);

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    void flowChanged(rill::Flow *flow);
    void maxEntriesChanged(int count);
    void droppedCountChanged(qint64 count);
    void waitingCountChanged(int count);
    void updateIntervalChanged(int milliseconds);

private:
    friend class WriteLedgerModelPrivate;
    std::unique_ptr<WriteLedgerModelPrivate> d;
    Q_DISABLE_COPY(WriteLedgerModel)
};

} // namespace rill
