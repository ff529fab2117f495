// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QAbstractListModel>

#include <deque>
#include <memory>

namespace rill {

class DataLogPrivate;

// The bytes a flow moves, captured for people: one entry per chunk that arrived from the
// transport (Flow::dataArrived) or was handed to it (Flow::dataSent), oldest first. It reads
// and writes nothing itself.
//
// Bounded: it keeps the first maxBytesPerEntry() bytes of each chunk, at most maxEntries()
// entries and maxBytes() bytes in all, dropping the oldest entries and counting what it did not
// keep. Serials count the chunks since the log started (1, 2, ...) and are contiguous, so a
// reader that remembers the last serial it showed finds what is new.
//
// As a list model (one row per entry, roles below), views hear of new and dropped rows at most
// once per updateInterval() milliseconds, in one batch; entries() is always up to date. A row
// whose entry was dropped since the last batch keeps only its serial until that batch removes
// it.
//
// It is connected to the flow's data signals only while capturing() is true and a flow is set:
// a flow copies the bytes it moves only while someone listens. The flow must live in the log's
// thread.
class RILL_MODELS_EXPORT DataLog : public QAbstractListModel {
    Q_OBJECT
    Q_PROPERTY(rill::Flow *flow READ flow WRITE setFlow NOTIFY flowChanged)
    Q_PROPERTY(bool capturing READ isCapturing WRITE setCapturing NOTIFY capturingChanged)
    Q_PROPERTY(int maxEntries READ maxEntries WRITE setMaxEntries NOTIFY limitsChanged)
    Q_PROPERTY(qint64 maxBytes READ maxBytes WRITE setMaxBytes NOTIFY limitsChanged)
    Q_PROPERTY(
        qint64 maxBytesPerEntry READ maxBytesPerEntry WRITE setMaxBytesPerEntry NOTIFY limitsChanged)
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(qint64 droppedCount READ droppedCount NOTIFY countChanged)
    Q_PROPERTY(qint64 bytesIn READ bytesIn NOTIFY countChanged)
    Q_PROPERTY(qint64 bytesOut READ bytesOut NOTIFY countChanged)
    Q_PROPERTY(qint64 bytesKept READ bytesKept NOTIFY countChanged)
    Q_PROPERTY(qint64 bytesDropped READ bytesDropped NOTIFY countChanged)
public:
    enum class Direction { In, Out };
    Q_ENUM(Direction)

    struct Entry {
        qint64 serial; // 1, 2, ... since the log started
        qint64 timeMs; // ms since the epoch
        Direction direction;
        qint64 size; // bytes in the chunk
        QByteArray bytes; // its first bytes, at most maxBytesPerEntry()
    };

    enum Role {
        SerialRole = Qt::UserRole + 1,
        TimeRole, // QDateTime
        DirectionRole, // "in" (from the peer) or "out" (to the peer)
        SizeRole, // qint64
        TextRole, // FlowText::printable() of the bytes kept; also the display role
        BytesRole, // the bytes kept, a QByteArray (an ArrayBuffer in QML)
    };
    Q_ENUM(Role)

    static constexpr int DefaultMaxEntries = 1000;
    static constexpr qint64 DefaultMaxBytes = 256 * 1024;
    static constexpr qint64 DefaultMaxBytesPerEntry = 4096;
    static constexpr int DefaultUpdateInterval = 100; // ms

    explicit DataLog(QObject *parent = nullptr);
    explicit DataLog(rill::Flow *flow, QObject *parent = nullptr);
    ~DataLog() override;

    rill::Flow *flow() const;
    void setFlow(rill::Flow *flow); // starts an empty log
    bool isCapturing() const;
    void setCapturing(bool capturing); // off: disconnected from the flow, the log kept

    int maxEntries() const;
    void setMaxEntries(int count); // at least 1
    qint64 maxBytes() const;
    void setMaxBytes(qint64 bytes); // at least maxBytesPerEntry()
    qint64 maxBytesPerEntry() const;
    void setMaxBytesPerEntry(qint64 bytes); // at least 1; applies to new entries
    int updateInterval() const;
    void setUpdateInterval(int milliseconds);

    const std::deque<Entry> &entries() const;
    qint64 lastSerial() const; // of the newest entry ever captured; 0 if none
    int count() const; // rows views know of
    qint64 droppedCount() const; // entries dropped to stay within the bounds
    qint64 bytesIn() const; // all bytes that arrived since the log started, kept or not
    qint64 bytesOut() const;
    qint64 bytesKept() const; // in entries(): at most maxBytes()
    qint64 bytesDropped() const; // went by and are not kept: cut from chunks, or dropped

    Q_INVOKABLE void clear(); // serials start again at 1

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

Q_SIGNALS:
    void flowChanged();
    void capturingChanged(bool capturing);
    void limitsChanged();
    void updateIntervalChanged(int milliseconds);
    void countChanged(); // with each batch: rows, the dropped count and the byte counts

private:
    friend class DataLogPrivate;
    std::unique_ptr<DataLogPrivate> d;
    Q_DISABLE_COPY(DataLog)
};

} // namespace rill
