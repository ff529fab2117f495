// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/result.h>

#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QObject>

#include <memory>

namespace rill {

// Counters in the spirit of Mirage's flow stats.
struct RILL_EXPORT FlowStats
{
    Q_GADGET
    Q_PROPERTY(qint64 bytesRead MEMBER bytesRead)
    Q_PROPERTY(qint64 readOps MEMBER readOps)
    Q_PROPERTY(qint64 bytesWritten MEMBER bytesWritten)
    Q_PROPERTY(qint64 writeOps MEMBER writeOps)
public:
    qint64 bytesRead = 0;    // bytes handed to read() callers
    qint64 readOps = 0;      // reads that resolved with data
    qint64 bytesWritten = 0; // bytes handed to the transport (kernel or peer pipe)
    qint64 writeOps = 0;     // write()/writev() calls that were accepted
};

class FlowPrivate;

class RILL_EXPORT Flow : public QObject
{
    Q_OBJECT
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    Q_PROPERTY(ReadState readState READ readState NOTIFY readStateChanged)
    Q_PROPERTY(WriteState writeState READ writeState NOTIFY writeStateChanged)
    Q_PROPERTY(qint64 highWaterMark READ highWaterMark WRITE setHighWaterMark NOTIFY
                       highWaterMarkChanged)
    Q_PROPERTY(qint64 bytesQueued READ bytesQueued NOTIFY bytesQueuedChanged)
    Q_PROPERTY(int writesWaiting READ writesWaiting NOTIFY writesWaitingChanged)
    Q_PROPERTY(rill::Error error READ error NOTIFY errorOccurred)
    Q_PROPERTY(QString localEndpoint READ localEndpoint NOTIFY endpointsChanged)
    Q_PROPERTY(QString peerEndpoint READ peerEndpoint NOTIFY endpointsChanged)

public:
    enum class Direction { Read, Write, ReadWrite };
    Q_ENUM(Direction)

    enum class State {
        Connecting, // the transport is not connected yet; writes queue up, reads wait
        Open,
        Closing,    // close() was called: flushing, FIN, waiting for the peer's end of stream
        Closed,     // both directions are done, or the flow was aborted or failed
    };
    Q_ENUM(State)

    enum class ReadState {
        Open,
        Eof,    // the peer's end of stream was read, or shutdown(Read) was called
        Failed, // reads give error()
    };
    Q_ENUM(ReadState)

    enum class WriteState {
        Open,
        ShuttingDown, // flushing the send queue before the FIN
        Closed,       // FIN sent, or the peer is gone; writes give Eof
        Failed,       // writes give error()
    };
    Q_ENUM(WriteState)

    static constexpr qint64 DefaultHighWaterMark = 1024 * 1024;

    ~Flow() override;

    // The contract. Callable from any thread; see the README for what each result means.
    QFuture<rill::ReadResult> read();
    QFuture<rill::WriteResult> write(const QByteArray &buffer);
    QFuture<rill::WriteResult> writev(const QList<QByteArray> &buffers);
    QFuture<void> close();
    QFuture<void> shutdown(rill::Flow::Direction direction);
    void abort();

    // Observation. Read these on the flow's thread.
    State state() const;
    ReadState readState() const;
    WriteState writeState() const;
    qint64 highWaterMark() const;
    void setHighWaterMark(qint64 bytes);
    qint64 bytesQueued() const;  // accepted, not yet handed to the transport
    int writesWaiting() const;   // write calls not accepted yet (above the high-water mark)
    FlowStats stats() const;
    Error error() const;         // the last error, or an Error of kind None
    QString localEndpoint() const;
    QString peerEndpoint() const;
    QString transportName() const; // "pipe", "tcp", "unix"

Q_SIGNALS:
    void stateChanged(rill::Flow::State state);
    void readStateChanged(rill::Flow::ReadState state);
    void writeStateChanged(rill::Flow::WriteState state);
    void errorOccurred(const rill::Error &error);
    void endpointsChanged(); // the addresses became known (on connecting)
    void highWaterMarkChanged(qint64 bytes);
    void bytesQueuedChanged(qint64 bytes);
    void writesWaitingChanged(int count);

    // The write ledger: each write()/writev() gets an id, increasing from 1.
    void writeQueued(quint64 id, qint64 size);  // write() was called
    void writeAccepted(quint64 id);             // in the send queue; its future resolved Ok
    void writeSent(quint64 id);                 // its last byte was handed to the transport
    void writeRejected(quint64 id, const rill::WriteResult &result); // resolved Eof or error

    // The bytes themselves, for logs and inspectors. Emitted only while connected.
    void dataArrived(const QByteArray &data); // from the transport (before read() takes it)
    void dataSent(const QByteArray &data);    // handed to the transport

protected:
    explicit Flow(FlowPrivate &dd, QObject *parent = nullptr);
    bool event(QEvent *event) override;
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

    std::unique_ptr<FlowPrivate> d_rill;

private:
    Q_DECLARE_PRIVATE_D(d_rill, Flow)
    Q_DISABLE_COPY(Flow)
};

} // namespace rill
