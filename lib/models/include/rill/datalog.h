// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::DataLog, the bytes a flow moves, as a list model (component Models).

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QAbstractListModel>

#include <deque>
#include <memory>

namespace rill {

class DataLogPrivate;
class ProbeClient;

/// The bytes a flow moves, captured for people: one entry per chunk that arrived from the
/// transport (Flow::dataArrived()) or was handed to it (Flow::dataSent()), oldest first.
///
/// It reads and writes nothing itself.
///
/// Bounded: it keeps the first maxBytesPerEntry() bytes of each chunk, at most maxEntries()
/// entries and maxBytes() bytes in all, dropping the oldest entries and counting what it did not
/// keep. Serials count the chunks since the log started (1, 2, ...) and are contiguous, so a
/// reader that remembers the last serial it showed finds what is new.
///
/// As a list model (one row per entry, roles in Role), views hear of new and dropped rows at
/// most once per updateInterval() milliseconds, in one batch; entries() is always up to date.
/// A row whose entry was dropped since the last batch keeps only its serial until that batch
/// removes it.
///
/// It is connected to the flow's data signals only while capturing() is true and a flow is
/// set: a flow copies the bytes it moves only while someone listens. The flow must live in the
/// log's thread.
class RILL_MODELS_EXPORT DataLog : public QAbstractListModel {
    Q_OBJECT
    /// The flow captured. \sa setFlow()
    Q_PROPERTY(rill::Flow *flow READ flow WRITE setFlow NOTIFY flowChanged)
    /// Whether the log captures. \sa setCapturing()
    Q_PROPERTY(bool capturing READ isCapturing WRITE setCapturing NOTIFY capturingChanged)
    /// The most entries kept. \sa setMaxEntries()
    Q_PROPERTY(int maxEntries READ maxEntries WRITE setMaxEntries NOTIFY limitsChanged)
    /// The most bytes kept in all. \sa setMaxBytes()
    Q_PROPERTY(qint64 maxBytes READ maxBytes WRITE setMaxBytes NOTIFY limitsChanged)
    /// The most bytes kept of one chunk. \sa setMaxBytesPerEntry()
    Q_PROPERTY(
        qint64 maxBytesPerEntry READ maxBytesPerEntry WRITE setMaxBytesPerEntry NOTIFY limitsChanged)
    /// Milliseconds between the batches views hear of. \sa setUpdateInterval()
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
    /// The rows views know of. \sa count()
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    /// Entries dropped to stay within the bounds. \sa droppedCount()
    Q_PROPERTY(qint64 droppedCount READ droppedCount NOTIFY countChanged)
    /// Bytes that arrived. \sa bytesIn()
    Q_PROPERTY(qint64 bytesIn READ bytesIn NOTIFY countChanged)
    /// Bytes that were sent. \sa bytesOut()
    Q_PROPERTY(qint64 bytesOut READ bytesOut NOTIFY countChanged)
    /// Bytes kept in the entries. \sa bytesKept()
    Q_PROPERTY(qint64 bytesKept READ bytesKept NOTIFY countChanged)
    /// Bytes that went by and are not kept. \sa bytesDropped()
    Q_PROPERTY(qint64 bytesDropped READ bytesDropped NOTIFY countChanged)
public:
    /// Which way a chunk went.
    enum class Direction {
        In,  ///< Arrived from the transport (from the peer).
        Out, ///< Handed to the transport (to the peer).
    };
    Q_ENUM(Direction)

    /// One chunk the flow moved.
    struct Entry {
        qint64 serial;       ///< 1, 2, ... since the log started.
        qint64 timeMs;       ///< When, in milliseconds since the epoch.
        Direction direction; ///< Which way.
        qint64 size;         ///< Bytes in the chunk.
        QByteArray bytes;    ///< Its first bytes, at most maxBytesPerEntry().
    };

    /// The roles of data() and roleNames().
    enum Role {
        SerialRole = Qt::UserRole + 1, ///< The entry's serial, qint64.
        TimeRole,      ///< When, a QDateTime.
        DirectionRole, ///< "in" (from the peer) or "out" (to the peer).
        SizeRole,      ///< Bytes in the chunk, qint64.
        TextRole,      ///< FlowText::printable() of the bytes kept; also the display role.
        BytesRole,     ///< The bytes kept, a QByteArray (an ArrayBuffer in QML).
    };
    Q_ENUM(Role)

    /// maxEntries() unless changed.
    static constexpr int DefaultMaxEntries = 1000;
    /// maxBytes() unless changed: 256 KiB.
    static constexpr qint64 DefaultMaxBytes = 256 * 1024;
    /// maxBytesPerEntry() unless changed.
    static constexpr qint64 DefaultMaxBytesPerEntry = 4096;
    /// updateInterval() unless changed, in milliseconds.
    static constexpr int DefaultUpdateInterval = 100;

    /// An empty log with no flow.
    explicit DataLog(QObject *parent = nullptr);
    /// A log capturing \a flow.
    explicit DataLog(rill::Flow *flow, QObject *parent = nullptr);
    /// Disconnects from the flow.
    ~DataLog() override;

    /// The flow captured; null if none (or it was destroyed).
    rill::Flow *flow() const;
    /// Captures \a flow instead, starting an empty log.
    void setFlow(rill::Flow *flow);
    /// Captures flow \a id of the process \a client is attached to instead, starting an empty
    /// log; flow() is then null. The probe sends a flow's data only when asked, and only so
    /// much: this asks for the next maxBytes() bytes (at most 1 MiB) the flow moves, and asks
    /// again each time capturing is turned on.
    void setProbeFlow(rill::ProbeClient *client, quint64 id);
    /// Whether the log is connected to the flow's data signals (true by default).
    bool isCapturing() const;
    /// Turns capturing on or off; off: disconnected from the flow, the log kept.
    void setCapturing(bool capturing);

    /// The most entries kept.
    int maxEntries() const;
    /// Sets the most entries kept to \a count, at least 1.
    void setMaxEntries(int count);
    /// The most bytes kept in all.
    qint64 maxBytes() const;
    /// Sets the most bytes kept in all to \a bytes, at least maxBytesPerEntry().
    void setMaxBytes(qint64 bytes);
    /// The most bytes kept of one chunk.
    qint64 maxBytesPerEntry() const;
    /// Sets the most bytes kept of one chunk to \a bytes, at least 1; applies to new entries.
    void setMaxBytesPerEntry(qint64 bytes);
    /// Milliseconds between the batches views hear of.
    int updateInterval() const;
    /// Sets the milliseconds between the batches views hear of.
    void setUpdateInterval(int milliseconds);

    /// The entries kept, oldest first; always up to date (views hear of them in batches).
    const std::deque<Entry> &entries() const;
    /// The serial of the newest entry ever captured; 0 if none.
    qint64 lastSerial() const;
    /// The rows views know of.
    int count() const;
    /// Entries dropped to stay within the bounds.
    qint64 droppedCount() const;
    /// All bytes that arrived since the log started, kept or not.
    qint64 bytesIn() const;
    /// All bytes sent since the log started, kept or not.
    qint64 bytesOut() const;
    /// Bytes in entries(): at most maxBytes().
    qint64 bytesKept() const;
    /// Bytes that went by and are not kept: cut from chunks, or dropped.
    qint64 bytesDropped() const;

    /// Empties the log; serials start again at 1.
    Q_INVOKABLE void clear();

    /// The rows views know of under \a parent (none under a valid parent).
    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    /// The value of \a role (a Role, or the display role: TextRole) for the row of \a index.
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    /// The roles' names for QML: serial, time, direction, size, text, bytes.
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    /// The flow captured changed.
    void flowChanged();
    /// Capturing was turned on or off (\a capturing).
    void capturingChanged(bool capturing);
    /// maxEntries, maxBytes or maxBytesPerEntry changed.
    void limitsChanged();
    /// The update interval changed to \a milliseconds.
    void updateIntervalChanged(int milliseconds);
    /// With each batch: the rows, the dropped count and the byte counts.
    void countChanged();

private:
    friend class DataLogPrivate;
    std::unique_ptr<DataLogPrivate> d;
    Q_DISABLE_COPY(DataLog)
};

} // namespace rill
