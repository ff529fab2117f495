// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The descriptor engine: moves bytes between a connected stream socket's descriptor and the
// flow machinery, for TCP and Unix sockets alike. Qt's socket classes only connect; then the
// flow takes the descriptor over, because QAbstractSocket closes the whole socket on the peer's
// FIN and drops its unsent buffer (../shared/notes/qt-facts.md, "cannot half-close").

#include "flow_p.h"
#include "reactor_p.h"

#include <QtCore/QPointer>

QT_BEGIN_NAMESPACE
class QIODevice;
QT_END_NAMESPACE

namespace rill {

Q_DECLARE_LOGGING_CATEGORY(lcSocket)

class SocketFlowPrivate;

// A splice (rill::copy) that borrows one direction of a socket flow's descriptor. While lent,
// that direction's readiness goes to the lease instead of the engine, and the engine's own
// work in it (reading ahead, sending what later writes queue) waits until it is returned.
class SpliceLease
{
public:
    virtual void spliceReady() = 0; // a lent direction may make progress
    // The flow took its direction back: its descriptor closes or its write side ends (the
    // direction is gone), or it leaves the thread (movedAway: it goes on elsewhere). Do not touch
    // it again. Called from inside the engine: must not call into the flow.
    virtual void spliceLost(SocketFlowPrivate *flow, bool movedAway) = 0;

protected:
    ~SpliceLease() = default;
};

class SocketFlowPrivate : public FlowPrivate, private IoHandler
{
public:
    // Reads start at MinReadChunk and double while they fill the buffer, up to MaxReadChunk:
    // few system calls for bulk transfers, small allocations for small messages.
    static constexpr qint64 MinReadChunk = 64 * 1024;
    static constexpr qint64 MaxReadChunk = 1024 * 1024;

    ~SocketFlowPrivate() override;

    // Takes ownership of a connected stream socket descriptor and opens the flow.
    void adopt(int fd, const QByteArray &alreadyReceived = {});

    // Takes the connection over from a connected Qt socket: its unread bytes, a duplicate of
    // its descriptor; then the Qt socket is dropped without touching the connection.
    void takeOver(QIODevice *socket, qintptr descriptor);
    // Bytes written to the Qt socket before it was wrapped go first, in order: returns true
    // (and retries takeOverSocket() later) while the Qt socket still has some to send.
    bool waitForQtFlush(QIODevice *socket);
    virtual void takeOverSocket() = 0;

    // While connecting: the Qt socket doing it, and a timer bounding it.
    void watchConnecting(QIODevice *socket);
    void startConnectTimeout(QDeadlineTimer deadline);
    virtual void abortConnecting() = 0;
    virtual Error connectTimeoutError() const = 0;
    // The Qt socket saw the peer's end of stream and closed the connection before the flow
    // could take it over: its unread bytes are still the stream, then Eof; nothing can be
    // written any more.
    void adoptEnded(QIODevice *socket);

    Relaxed<int> fd{-1}; // read by socketDescriptor() from any thread

    void transportWrite() override;
    void transportWriteThrough() override;
    void transportSetReadEnabled(bool enabled) override;
    void transportShutdownWrite() override;
    void transportAbort() override;
    void transportRelease() override;
    void transportLeaveThread() override;
    void transportJoinThread() override;

    // The splice side (see SpliceLease): lend only what canLendRead()/canLendWrite() allow.
    // A lent read side reads nothing more into the flow (what it holds is read first); a lent
    // write side still sends its queue first, and the lease runs when the queue is empty.
    bool isReadLent() const { return m_readLease; }
    bool isWriteLent() const { return m_writeLease; }
    void lendRead(SpliceLease *lease);
    void lendWrite(SpliceLease *lease);
    void returnRead();
    void returnWrite();
    void setLentReadInterest(bool enabled) { m_io.setReadEnabled(enabled); }
    void setLentWriteInterest(bool enabled)
    {
        m_io.setWriteEnabled(enabled || !sendQueue.empty() || m_finPending);
    }
    // After returnRead(): the splice met the end of stream (0) or this errno reading.
    void splicedReadEnded(int error);
    // After returnWrite(): the splice failed writing with this errno.
    void splicedWriteFailed(int error);

protected:
    virtual void configureDescriptor() {}
    QPointer<QIODevice> m_connecting;

private:
    void ioReadable() override;
    void ioWritable() override;
    void ioFailed(int error) override;
    ssize_t sendQueued(qint64 *offered); // one sendmsg() of what the queue holds
    bool takeWriteThroughError();
    void closeDescriptor(bool reset);
    void dropConnecting();

    IoWatch m_io;
    ReactorTimer m_connectTimer{[this] { fail(connectTimeoutError(), true); }};
    bool m_finPending = false;
    bool m_sending = false; // inside onWritable() or a write-through: consume() may call write()
    quint64 m_writeThroughTurn = 0; // the event loop turn of the last write-through
    int m_writeThroughError = 0; // errno of a failed write-through, reported at the next wake-up
    bool m_waitingForQtFlush = false;
    qint64 m_readChunk = MinReadChunk;
    bool m_lastReadSmall = true; // the last recv() filled less than half its buffer
    SpliceLease *m_readLease = nullptr;
    SpliceLease *m_writeLease = nullptr;
    void loseLeases(bool movedAway = false);
};

} // namespace rill

#include <rill/flowresult.h>

namespace rill {

// The future of a flow that is connecting: resolves with the flow once it is open, or with its
// error (and the flow is deleted).
template<typename FlowType>
QFuture<FlowResult<FlowType>> connectedFuture(FlowType *flow)
{
    auto promise = std::make_shared<Promise<FlowResult<FlowType>>>();
    QFuture<FlowResult<FlowType>> future = promise->future();
    auto settle = [flow, promise] {
        // Once only: the continuations run inside finish(), and one that closes the flow
        // changes its state again, calling back in here (a second result would own the flow).
        if (!promise->isPending())
            return true;
        if (flow->state() == Flow::State::Connecting)
            return false;
        if (flow->error().isNone()) {
            promise->finish(FlowResult<FlowType>::fromFlow(flow));
        } else {
            promise->finish(FlowResult<FlowType>::fromError(flow->error()));
            flow->deleteLater();
        }
        return true;
    };
    if (settle())
        return future;
    auto connection = std::make_shared<QMetaObject::Connection>();
    *connection = QObject::connect(flow, &Flow::stateChanged, flow, [settle, connection] {
        if (settle())
            QObject::disconnect(*connection);
    });
    return future;
}

} // namespace rill
