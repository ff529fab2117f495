// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/endpoint.h>
#include <rill/result.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QObject>

#include <chrono>
#include <memory>

namespace rill {

// Counters in the spirit of Mirage's flow stats. A snapshot: stats() may be read from any
// thread, each field is exact, the fields are not taken at one instant.
struct RILL_EXPORT FlowStats
{
    Q_GADGET
    Q_PROPERTY(qint64 bytesRead MEMBER bytesRead)
    Q_PROPERTY(qint64 readOps MEMBER readOps)
    Q_PROPERTY(qint64 bytesWritten MEMBER bytesWritten)
    Q_PROPERTY(qint64 writeOps MEMBER writeOps)
    Q_PROPERTY(qint64 bytesDiscarded MEMBER bytesDiscarded)
    Q_PROPERTY(qint64 bytesUnsent MEMBER bytesUnsent)
public:
    qint64 bytesRead = 0;      // bytes handed to read() callers
    qint64 readOps = 0;        // reads that resolved with data
    qint64 bytesWritten = 0;   // bytes handed to the transport (kernel or peer pipe)
    qint64 writeOps = 0;       // write()/writev() calls that were accepted
    qint64 bytesDiscarded = 0; // input thrown away unread: after shutdown(Read), or by close()
    qint64 bytesUnsent = 0;    // accepted bytes never handed to the transport (the flow failed)

    friend bool operator==(const FlowStats &a, const FlowStats &b)
    {
        return a.bytesRead == b.bytesRead && a.readOps == b.readOps
                && a.bytesWritten == b.bytesWritten && a.writeOps == b.writeOps
                && a.bytesDiscarded == b.bytesDiscarded && a.bytesUnsent == b.bytesUnsent;
    }
    friend bool operator!=(const FlowStats &a, const FlowStats &b) { return !(a == b); }
};

RILL_EXPORT QDebug operator<<(QDebug debug, const FlowStats &stats);

class FlowPrivate;

// A byte stream whose operations return futures. The contract (README, "The contract"):
// every future finishes; results tell data, Eof and errors apart; errors are sticky; every
// wait can have a deadline; a cancelled read consumes nothing.
//
// Threads: a flow lives in its QObject's thread. Every public function, getters and setters
// included, may be called from any thread: operations and setters from another thread are
// carried out in the flow's thread (a setter's value is visible to getters at once), getters
// return a snapshot.
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
    Q_PROPERTY(rill::Endpoint localEndpoint READ localEndpoint NOTIFY endpointsChanged)
    Q_PROPERTY(rill::Endpoint peerEndpoint READ peerEndpoint NOTIFY endpointsChanged)
    Q_PROPERTY(int idleTimeout READ idleTimeout WRITE setIdleTimeout NOTIFY idleTimeoutChanged)
    Q_PROPERTY(IdleAction idleAction READ idleAction WRITE setIdleAction NOTIFY
                       idleActionChanged)

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
        Failed, // reads give an error (after any bytes still buffered)
    };
    Q_ENUM(ReadState)

    enum class WriteState {
        Open,
        ShuttingDown, // flushing the send queue before the FIN
        Closed,       // FIN sent, or the peer is gone with nothing lost; writes give Eof
        Failed,       // writes give error()
    };
    Q_ENUM(WriteState)

    // What the flow does when it was idle for idleTimeout().
    enum class IdleAction {
        Notify, // emit idleTimedOut() and go on
        Abort,  // emit idleTimedOut(), then fail the flow with an error of kind TimedOut
    };
    Q_ENUM(IdleAction)

    static constexpr qint64 DefaultHighWaterMark = 1024 * 1024;

    ~Flow() override;

    // The contract; see the README's table and each definition. A deadline bounds how long
    // the operation may wait (not how long the data takes to reach the peer).
    QFuture<rill::ReadResult> read(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    QFuture<rill::WriteResult> write(const QByteArray &buffer,
                                     QDeadlineTimer deadline = QDeadlineTimer::Forever);
    QFuture<rill::WriteResult> writev(const QList<QByteArray> &buffers,
                                      QDeadlineTimer deadline = QDeadlineTimer::Forever);
    QFuture<rill::CloseResult> close(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    QFuture<rill::WriteResult> shutdown(rill::Flow::Direction direction);
    void abort();

    // Observation: safe from any thread.
    State state() const;
    ReadState readState() const;
    WriteState writeState() const;
    qint64 highWaterMark() const;
    void setHighWaterMark(qint64 bytes);
    qint64 bytesQueued() const;  // accepted, not yet handed to the transport
    int writesWaiting() const;   // write calls not accepted yet (above the high-water mark)
    FlowStats stats() const;
    Error error() const;         // the first error the flow failed with, or kind None
    Endpoint localEndpoint() const;
    Endpoint peerEndpoint() const;
    QString transportName() const; // "pipe", "tcp", "unix"

    // Idle: no byte arrived from or was handed to the transport for this long. 0: off.
    int idleTimeout() const; // milliseconds
    void setIdleTimeout(int milliseconds);
    void setIdleTimeout(std::chrono::milliseconds timeout);
    IdleAction idleAction() const;
    void setIdleAction(IdleAction action);

Q_SIGNALS:
    void stateChanged(rill::Flow::State state);
    void readStateChanged(rill::Flow::ReadState state);
    void writeStateChanged(rill::Flow::WriteState state);
    void errorOccurred(const rill::Error &error); // once, with the flow's first error
    void endpointsChanged(); // the addresses became known (on connecting)
    void highWaterMarkChanged(qint64 bytes);
    void bytesQueuedChanged(qint64 bytes);
    void writesWaitingChanged(int count);
    void idleTimeoutChanged(int milliseconds);
    void idleActionChanged(rill::Flow::IdleAction action);
    void idleTimedOut(); // idle for idleTimeout(); again after each further idle period

    // The write ledger: each write()/writev() gets an id, increasing from 1.
    void writeQueued(quint64 id, qint64 size);  // write() was called
    void writeAccepted(quint64 id);             // in the send queue; its future resolved Ok
    void writeSent(quint64 id);                 // its last byte was handed to the transport
    // Never accepted: resolved Eof or an error (the write side ended, its deadline passed, or
    // its future was cancelled while it waited).
    void writeRejected(quint64 id, const rill::WriteResult &result);
    // Accepted, but not all of it was handed to the transport before the write side failed.
    void writeLost(quint64 id, const rill::Error &error);

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
