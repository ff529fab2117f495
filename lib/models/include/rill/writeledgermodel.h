// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::WriteLedgerModel, one flow's write ledger for views (component Models).

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QAbstractTableModel>

#include <memory>

namespace rill {

class ProbeClient;

class WriteLedgerModelPrivate;

/// One flow's write ledger for views: a row per write() or writev() call, from the flow's
/// Flow::writeQueued(), writeAccepted(), writeSent() and writeRejected() signals, oldest first.
///
/// Bounded: it keeps the last maxEntries() writes and counts the older ones it dropped
/// (droppedCount()). Views hear about changes at most once per updateInterval() milliseconds,
/// in one batch (rows dropped from the top, rows changed, rows added at the bottom); data() of a
/// shown row may be newer than the last dataChanged. Only writes made while the model watches
/// the flow appear. The flow must live in the model's thread.
class RILL_MODELS_EXPORT WriteLedgerModel : public QAbstractTableModel {
    Q_OBJECT
    /// The flow watched. \sa setFlow()
    Q_PROPERTY(rill::Flow *flow READ flow WRITE setFlow NOTIFY flowChanged)
    /// The most writes kept. \sa setMaxEntries()
    Q_PROPERTY(int maxEntries READ maxEntries WRITE setMaxEntries NOTIFY maxEntriesChanged)
    /// Writes dropped from the top. \sa droppedCount()
    Q_PROPERTY(qint64 droppedCount READ droppedCount NOTIFY droppedCountChanged)
    /// Shown writes still waiting. \sa waitingCount()
    Q_PROPERTY(int waitingCount READ waitingCount NOTIFY waitingCountChanged)
    /// Milliseconds between the batches views hear of. \sa setUpdateInterval()
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
public:
    /// Where a write is in its life.
    enum class EntryState {
        Waiting,  ///< write() was called; the send queue is above the high-water mark.
        Accepted, ///< In the send queue; the write's future resolved Ok.
        Sent,     ///< Its last byte was handed to the transport (the kernel).
        Rejected, ///< It resolved Eof or an error.
    };
    Q_ENUM(EntryState)

    /// The columns; column c shows role IdRole + c.
    enum Column {
        IdColumn,       ///< The write's id in the flow's ledger.
        SizeColumn,     ///< Its size in bytes.
        StateColumn,    ///< Its EntryState.
        QueuedColumn,   ///< When write() was called, as a time of day.
        AcceptedColumn, ///< When it was accepted: "+1.25 ms" after it was queued.
        SentColumn,     ///< When its last byte was sent, likewise.
        ResultColumn,   ///< Why it was rejected.
        ColumnCount     ///< The number of columns.
    };
    Q_ENUM(Column)

    /// The roles; column c shows role IdRole + c.
    ///
    /// Times are QDateTime (invalid: not yet); ids and sizes qint64; state an EntryState;
    /// result text ("" unless rejected). The *DelayRole values are microseconds since the write
    /// was queued (-1: not yet).
    enum Role {
        IdRole = Qt::UserRole + 1, ///< The write's id.
        SizeRole,        ///< Its size.
        StateRole,       ///< Its EntryState.
        QueuedAtRole,    ///< When it was queued.
        AcceptedAtRole,  ///< When it was accepted.
        SentAtRole,      ///< When its last byte was sent.
        ResultRole,      ///< Why it was rejected, "" unless it was.
        AcceptDelayRole, ///< Microseconds from queued to accepted, -1: not yet.
        SendDelayRole,   ///< Microseconds from queued to sent, -1: not yet.
    };
    Q_ENUM(Role)

    /// maxEntries() unless changed.
    static constexpr int DefaultMaxEntries = 1000;
    /// updateInterval() unless changed, in milliseconds.
    static constexpr int DefaultUpdateInterval = 100;

    /// An empty ledger watching no flow.
    explicit WriteLedgerModel(QObject *parent = nullptr);
    /// An empty ledger watching \a flow.
    explicit WriteLedgerModel(rill::Flow *flow, QObject *parent = nullptr);
    /// Stops watching the flow.
    ~WriteLedgerModel() override;

    /// The flow watched; null if none (or it was destroyed).
    rill::Flow *flow() const;
    /// Watches \a flow instead, starting an empty ledger.
    void setFlow(rill::Flow *flow);
    /// Watches flow \a id of the process \a client is attached to instead (its write ledger
    /// as the probe publishes it), starting an empty ledger; flow() is then null.
    void setProbeFlow(rill::ProbeClient *client, quint64 id);

    /// The most writes kept.
    int maxEntries() const;
    /// Sets the most writes kept to \a count (at least 1).
    void setMaxEntries(int count);
    /// Writes dropped from the top to stay within maxEntries().
    qint64 droppedCount() const;
    /// Shown writes in state Waiting.
    int waitingCount() const;
    /// Milliseconds between the batches views hear of.
    int updateInterval() const;
    /// Sets the milliseconds between the batches views hear of (at least 1).
    void setUpdateInterval(int milliseconds);

    /// The rows under \a parent: one per write shown (none under a valid parent).
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    /// ColumnCount under an invalid \a parent, else 0.
    int columnCount(const QModelIndex &parent = QModelIndex()) const override;
    /// The value of \a role for \a index: the display role shows the column's text, Role
    /// values give the row's values whatever the column.
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    /// The title of column \a section (display role).
    QVariant headerData(
        int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    /// The roles' names for QML delegates: each role's name without "Role"
    /// (id, size, queuedAt, ...).
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    /// The flow watched changed to \a flow.
    void flowChanged(rill::Flow *flow);
    /// The most writes kept changed to \a count.
    void maxEntriesChanged(int count);
    /// Writes dropped from the top: \a count in all.
    void droppedCountChanged(qint64 count);
    /// Shown writes still waiting: \a count.
    void waitingCountChanged(int count);
    /// The update interval changed to \a milliseconds.
    void updateIntervalChanged(int milliseconds);

private:
    friend class WriteLedgerModelPrivate;
    std::unique_ptr<WriteLedgerModelPrivate> d;
    Q_DISABLE_COPY(WriteLedgerModel)
};

} // namespace rill
