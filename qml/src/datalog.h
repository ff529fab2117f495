// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// DataLog in module Rill: the bytes a flow moves, as a list for views. It watches the flow's
// dataArrived and dataSent signals (it reads nothing itself), keeps the last maxEntries chunks
// with their first bytes, and tells views about new ones at most once per updateInterval.

#include <rill/flow.h>

#include <QtCore/QAbstractListModel>
#include <QtCore/QDateTime>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtQml/qqmlregistration.h>

#include <deque>

namespace rill::quick {

class DataLog : public QAbstractListModel {
    Q_OBJECT
    QML_NAMED_ELEMENT(DataLog)
    Q_PROPERTY(rill::Flow *flow READ flow WRITE setFlow NOTIFY flowChanged)
    Q_PROPERTY(int maxEntries READ maxEntries WRITE setMaxEntries NOTIFY maxEntriesChanged)
    Q_PROPERTY(int count READ count NOTIFY countChanged)
    Q_PROPERTY(qint64 droppedCount READ droppedCount NOTIFY droppedCountChanged)
    Q_PROPERTY(qint64 bytesIn READ bytesIn NOTIFY countChanged)
    Q_PROPERTY(qint64 bytesOut READ bytesOut NOTIFY countChanged)
    Q_PROPERTY(
        int updateInterval READ updateInterval WRITE setUpdateInterval NOTIFY updateIntervalChanged)
public:
    enum Role {
        SerialRole = Qt::UserRole + 1, // 1, 2, ... since the flow was set
        TimeRole, // QDateTime
        DirectionRole, // "in" (from the peer) or "out" (to the peer)
        SizeRole, // bytes in the chunk
        TextRole, // its first bytes, printable: "GET / HTTP/1.0\r\n" shows as GET / HTTP/1.0\r\n
    };
    Q_ENUM(Role)

    static constexpr int DefaultMaxEntries = 500;
    static constexpr int MaxShownBytes = 96;

    explicit DataLog(QObject *parent = nullptr);
    ~DataLog() override;

    rill::Flow *flow() const { return m_flow; }
    void setFlow(rill::Flow *flow); // starts an empty log
    int maxEntries() const { return m_maxEntries; }
    void setMaxEntries(int count);
    int count() const { return int(m_entries.size()); }
    qint64 droppedCount() const { return m_dropped; }
    qint64 bytesIn() const { return m_bytesIn; } // since the flow was set
    qint64 bytesOut() const { return m_bytesOut; }
    int updateInterval() const { return m_timer.interval(); }
    void setUpdateInterval(int milliseconds);

    Q_INVOKABLE void clear();

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    // Bytes as one printable line: ASCII as it is, \r \n \t and \xNN escapes for the rest.
    static QString printable(QByteArrayView bytes);

Q_SIGNALS:
    void flowChanged();
    void maxEntriesChanged();
    void countChanged();
    void droppedCountChanged();
    void updateIntervalChanged();

private:
    struct Entry {
        qint64 serial;
        QDateTime time;
        bool incoming;
        qint64 size;
        QString text;
    };

    void record(bool incoming, const QByteArray &data);
    void publish();

    QPointer<rill::Flow> m_flow;
    std::deque<Entry> m_entries; // what views know
    std::deque<Entry> m_incoming; // not published yet
    int m_maxEntries = DefaultMaxEntries;
    qint64 m_serial = 0;
    qint64 m_dropped = 0;
    qint64 m_bytesIn = 0;
    qint64 m_bytesOut = 0;
    QTimer m_timer;
};

} // namespace rill::quick
