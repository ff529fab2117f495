// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The flow machinery every transport shares: the bounded send queue and its write ledger, the
// queue of pending reads, the per-direction state machine and the stats. A transport only moves
// bytes: it implements the transport* hooks and reports back through the on* functions.

#include "promise_p.h"

#include <rill/flow.h>

#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>

#include <atomic>
#include <deque>
#include <vector>

namespace rill {

Q_DECLARE_LOGGING_CATEGORY(lcFlow)

class FlowPrivate
{
    Q_DECLARE_PUBLIC(Flow)
public:
    // Bytes read from the transport before anyone asked: enough to keep the pipe full, small
    // enough that a reader who stops reading pushes back on its peer.
    static constexpr qint64 ReadAhead = 64 * 1024;

    FlowPrivate();
    virtual ~FlowPrivate();

    Flow *q_ptr = nullptr;

    // ---- What a transport implements.
    virtual QString transportName() const = 0;
    virtual QString localEndpoint() const { return {}; }
    virtual QString peerEndpoint() const { return {}; }
    // The send queue is not empty: take bytes from it when possible, then call consume().
    // Must not call back into the machinery synchronously.
    virtual void transportWrite() = 0;
    // A write() call just gave an empty send queue its bytes. A transport may send them from
    // here, calling consume() before it returns (it saves a turn of the event loop per message
    // of a request/response exchange); errors still wait for transportWrite()'s wake-up.
    virtual void transportWriteThrough() { transportWrite(); }
    // Whether the machinery wants bytes (onReceived) now. Must not call back synchronously.
    virtual void transportSetReadEnabled(bool enabled) = 0;
    // The queue is drained and the write side shuts down: send the FIN, then call
    // onWriteShutdownDone(). Must not call back synchronously.
    virtual void transportShutdownWrite() = 0;
    // Drop the connection now; the peer sees a reset. No callbacks afterwards.
    virtual void transportAbort() = 0;
    // Both directions ended cleanly, or the transport failed: release resources.
    virtual void transportRelease() = 0;

    // ---- What a transport calls.
    void onConnected();
    void onReceived(QByteArray data);
    void onReceivedEof();
    void onFailed(const Error &error);
    void fail(const Error &error, bool abortTransport); // abortTransport: reset the connection
    void onPeerGone(); // the peer can no longer receive: our writes end (Eof), reads go on
    void onWriteShutdownDone();
    void consume(qint64 bytes); // the transport took bytes from the front of the send queue

    bool wantsData() const { return m_readEnabled; }
    size_t writesWaitingCount() const { return m_waitingWrites.size(); }

    struct Chunk
    {
        QByteArray data;
        quint64 id;
        bool lastOfWrite;
    };
    QList<Chunk> sendQueue; // QList: no allocation while empty, O(1) pop_front
    qsizetype frontOffset = 0; // bytes of sendQueue.front() already taken

    // ---- The operations, on the flow's thread.
    void read(Promise<ReadResult> promise);
    void write(QList<QByteArray> buffers, Promise<WriteResult> promise);
    void write(QByteArray buffer, Promise<WriteResult> promise);
    void shutdown(Flow::Direction direction, Promise<void> promise);
    void close(Promise<void> promise);
    void abort();
    void destroy(); // from ~Flow: abort without signals
    void watchThread();
    void setHighWaterMark(qint64 bytes);

    Flow::State state = Flow::State::Connecting;
    Flow::ReadState readState = Flow::ReadState::Open;
    Flow::WriteState writeState = Flow::WriteState::Open;
    Error lastError;
    Error readError;
    Error writeError;
    qint64 highWaterMark = Flow::DefaultHighWaterMark;
    qint64 bytesQueued = 0;
    FlowStats stats;
    // Receivers of dataArrived/dataSent, counted in (dis)connectNotify, which may run in any
    // thread. Emitting copies of the bytes only pays off when somebody listens.
    std::atomic_int dataObservers = 0;
    bool observeData() const { return dataObservers.load(std::memory_order_relaxed) > 0; }

protected:
    void setState(Flow::State newState);

private:
    struct WaitingWrite
    {
        quint64 id;
        QList<QByteArray> buffers;
        qint64 size;
        Promise<WriteResult> promise;
    };

    quint64 admitWrite(qint64 size, Promise<WriteResult> &promise);
    bool canAcceptNow() const { return m_waitingWrites.empty() && bytesQueued < highWaterMark; }
    void wait(quint64 id, QList<QByteArray> &&buffers, qint64 size, Promise<WriteResult> &&promise);
    void accept(quint64 id, QList<QByteArray> &&buffers, qint64 size, Promise<WriteResult> &&promise);
    void accepted(quint64 id, qint64 size, Promise<WriteResult> &&promise);
    void startSending(bool fromWriteCall);
    void acceptWaiting();
    void reject(quint64 id, Promise<WriteResult> &&promise);
    WriteResult writeEndResult() const;
    void startShutdownWrite();
    void maybeSendFin();
    void endWriteSide(Flow::WriteState newState, const WriteResult &waitingResult);
    void setReadState(Flow::ReadState newState);
    void setWriteState(Flow::WriteState newState);
    void maybeFinish();
    void updateReadInterest();
    ReadResult takeBuffered();
    template<typename Signal, typename... Args>
    void notify(Signal signal, Args &&...args);

    std::deque<Promise<ReadResult>> m_pendingReads;
    QList<QByteArray> m_received;
    qint64 m_receivedBytes = 0;
    std::deque<WaitingWrite> m_waitingWrites;
    std::vector<Promise<void>> m_shutdownPromises;
    std::vector<Promise<void>> m_closePromises;
    quint64 m_lastWriteId = 0;
    bool m_readShut = false;   // shutdown(Read): discard what arrives
    bool m_peerEof = false;    // the transport saw the peer's end of stream
    bool m_finSent = false;
    bool m_writeEndedCleanly = false; // new writes get Eof, whatever happens later
    bool m_readEnabled = false;
    bool m_destroying = false;
    // A QPointer: a new QThread at a deleted one's address must not pass for the watched one.
    QPointer<QThread> m_watchedThread;
    QMetaObject::Connection m_threadFinished;
};

} // namespace rill
