// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The flow machinery every transport shares: the bounded send queue and its write ledger, the
// queue of pending reads, the per-direction state machine, deadlines, the idle timeout and the
// stats. A transport only moves bytes: it implements the transport* hooks and reports back
// through the on* functions.
//
// Re-entrancy rule: a continuation or signal handler may call back into the flow (read, write,
// abort, delete later) from inside any promise this file finishes or any signal it emits. So
// every state change is complete before the first promise is finished or signal emitted.

#include "promise_p.h"
#include "reactor_p.h"

#include <rill/endpoint.h>
#include <rill/flow.h>

#include <QtCore/QLoggingCategory>
#include <QtCore/QMutex>
#include <QtCore/QPointer>
#include <QtCore/QThread>

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <vector>

namespace rill {

Q_DECLARE_LOGGING_CATEGORY(lcFlow)

// A value written only by the flow's thread and read from any: relaxed atomics, so that the
// getters are safe from other threads and the flow's own path pays nothing for it.
template<typename T>
class Relaxed
{
public:
    Relaxed(T value = T()) : m_value(value) {}
    Q_DISABLE_COPY(Relaxed)
    operator T() const { return m_value.load(std::memory_order_relaxed); }
    Relaxed &operator=(T value)
    {
        m_value.store(value, std::memory_order_relaxed);
        return *this;
    }
    Relaxed &operator+=(T delta) { return *this = T(*this + delta); }
    Relaxed &operator-=(T delta) { return *this = T(*this - delta); }
    Relaxed &operator++() { return *this += 1; }

private:
    std::atomic<T> m_value;
};

// An Error that costs one pointer until one is set: most flows never fail, and an Error is
// 56 bytes.
class LazyError
{
public:
    LazyError() = default;
    LazyError &operator=(const Error &error)
    {
        if (error.isNone())
            m_error.reset();
        else if (m_error)
            *m_error = error;
        else
            m_error = std::make_unique<Error>(error);
        return *this;
    }
    operator const Error &() const { return m_error ? *m_error : none(); }
    bool isNone() const { return !m_error; }

private:
    static const Error &none()
    {
        static const Error e;
        return e;
    }
    std::unique_ptr<Error> m_error;
};

class FlowPrivate
{
    Q_DECLARE_PUBLIC(Flow)
public:
    // Bytes read from the transport before anyone asked: enough to keep the pipe full, small
    // enough that a reader who stops reading pushes back on its peer.
    static constexpr qint64 ReadAhead = 64 * 1024;
    static constexpr qint64 NoDeadline = std::numeric_limits<qint64>::max();
    // When waiting reads and writes are watched for cancel() (see watchCancelSoon()).
    static constexpr qint64 CancelWatchDelayNs = 5000000;

    FlowPrivate();
    virtual ~FlowPrivate();

    Flow *q_ptr = nullptr;

    // ---- What a transport implements.
    virtual QString transportName() const = 0;
    // The endpoints as the transport knows them now (on the flow's thread); published to
    // other threads by publishEndpoints().
    virtual Endpoint currentLocalEndpoint() const { return {}; }
    virtual Endpoint currentPeerEndpoint() const { return {}; }
    // What error messages name: the peer's endpoint, where it has one.
    virtual QString errorEndpoint() const { return currentPeerEndpoint().toString(); }
    // The send queue is not empty: take bytes from it when possible, then call consume().
    // Must not call back into the machinery synchronously.
    virtual void transportWrite() = 0;
    // A write() call just gave an empty send queue its bytes. A transport may send them from
    // here, calling consume() before it returns (it saves a turn of the event loop per message
    // of a request/response exchange); errors still wait for transportWrite()'s wake-up.
    virtual void transportWriteThrough() { transportWrite(); }
    // Whether the machinery wants bytes (onReceived) now, and at most how many are welcome
    // without a pending read (readRoom()). Must not call back synchronously.
    virtual void transportSetReadEnabled(bool enabled) = 0;
    // The queue is drained and the write side shuts down: send the FIN, then call
    // onWriteShutdownDone(). Must not call back synchronously.
    virtual void transportShutdownWrite() = 0;
    // Drop the connection now; the peer sees a reset. No callbacks afterwards.
    virtual void transportAbort() = 0;
    // Both directions ended cleanly, or the transport failed: release resources.
    virtual void transportRelease() = 0;
    // The flow moves to another thread: leave this thread's reactor (called in the old thread,
    // before the move), then join the new thread's (called there, before anything else runs).
    virtual void transportLeaveThread() {}
    virtual void transportJoinThread() {}

    // ---- What a transport calls.
    void onConnected();
    void onReceived(QByteArray data);
    void onReceivedEof();
    void onFailed(const Error &error);
    void fail(const Error &error, bool abortTransport); // abortTransport: reset the connection
    // The peer can no longer receive. Nothing accepted is lost: our writes end (Eof). Accepted
    // bytes still queued: the write side fails, saying how many. Reads go on either way.
    void onPeerGone();
    // The write side fails alone (a transport that cannot send any more, or cannot end its
    // direction alone): what is queued is lost and counted, reads go on.
    void onWriteFailed(const Error &error);
    void onWriteShutdownDone();
    void consume(qint64 bytes); // the transport took bytes from the front of the send queue
    void publishEndpoints();    // after the transport's endpoints changed

    bool wantsData() const { return m_readEnabled; }
    // How many bytes may be read now: unbounded (-1) while a read waits or input is being
    // discarded, else the room left below the read-ahead (while closing, below its bound).
    qint64 readRoom() const;
    size_t writesWaitingCount() const { return m_waitingWrites.size(); }

    // For a splice (rill::copy) taking a direction over: nothing pending or ending in it. Bytes
    // already received or queued go first, through the machinery (hasReceived(), sendQueue).
    bool canLendRead() const;
    bool canLendWrite() const;
    bool hasReceived() const { return !m_received.isEmpty(); }
    // Bytes a splice moved past the machinery, each call one transfer.
    void countSplicedRead(qint64 bytes);
    void countSplicedWrite(qint64 bytes);

    struct Chunk
    {
        QByteArray data;
        quint64 id;
        bool lastOfWrite;
    };
    QList<Chunk> sendQueue; // QList: no allocation while empty, O(1) pop_front
    qsizetype frontOffset = 0; // bytes of sendQueue.front() already taken

    // ---- The operations, on the flow's thread.
    void read(Promise<ReadResult> promise, qint64 deadlineNs);
    void write(QList<QByteArray> buffers, Promise<WriteResult> promise, qint64 deadlineNs);
    void write(QByteArray buffer, Promise<WriteResult> promise, qint64 deadlineNs);
    void shutdown(Flow::Direction direction, Promise<WriteResult> promise);
    void close(Promise<CloseResult> promise, qint64 deadlineNs);
    void abort();
    void destroy(); // from ~Flow: abort without signals
    void watchThread();
    void leaveThread();
    void joinThread();
    void applyHighWaterMark();
    void applyIdleTimeout();
    // The probe's "pause reading" (an inspector's control action), not public API. While
    // paused, reads wait even when data is buffered, so the read-ahead bound pushes back on the
    // peer, and reads waiting when the peer's end of stream comes keep waiting. Resuming serves
    // them in order. close() and a failure or abort resume first, so every read finishes and
    // nothing buffered is lost. Refused (false) once the read side is no longer open.
    bool setReadPaused(bool paused);
    bool isReadPaused() const { return m_readPaused; }
    // Data read for a callback in another thread is in flight (see Delivery): later reads wait,
    // whatever is buffered, until it settles; bytes it did not deliver go back in front.
    // fail() and shutdown(Read) stop waiting for it: bytes it brings back after that were read
    // past the read side's end and are counted discarded, with a warning.
    Settle<ReadResult> sendDelivery(const ReadResult &sent);
    void settleDelivery(quint64 id, const QByteArray *undelivered);

    static FlowPrivate *get(Flow *flow) { return flow->d_func(); }

    // What FlowRef holds: cleared under its lock before the flow is destroyed.
    std::shared_ptr<Lifeline> lifeline(); // made on first use: most flows never need one
    void cutLifeline();

    // Runs op on the flow's thread: at once when called there, else posted. A call posted
    // while the thread is ending is run when it ends (after the flow was aborted), so that
    // its future finishes with the flow's sticky result instead of waiting forever.
    void runOnFlowThread(std::function<void()> op);
    bool isFlowThread() const { return QThread::currentThread() == q_ptr->thread(); }

    Relaxed<Flow::State> state{Flow::State::Connecting};
    Relaxed<Flow::ReadState> readState{Flow::ReadState::Open};
    Relaxed<Flow::WriteState> writeState{Flow::WriteState::Open};
    LazyError readError;
    LazyError writeError;
    Relaxed<qint64> highWaterMark{Flow::DefaultHighWaterMark};
    qint64 appliedHighWaterMark = Flow::DefaultHighWaterMark;
    Relaxed<qint64> bytesQueued{0};
    Relaxed<int> writesWaiting{0};
    Relaxed<int> idleTimeoutMs{0};
    Relaxed<Flow::IdleAction> idleAction{Flow::IdleAction::Notify};
    struct
    {
        Relaxed<qint64> bytesRead, readOps, bytesWritten, writeOps, bytesDiscarded, bytesUnsent;
        Relaxed<qint64> bytesReadSpliced, bytesWrittenSpliced;
    } stats;
    FlowStats statsSnapshot() const;

    // Guards what getters read from other threads that is not a single word: the error, the
    // published endpoints, and the transports' own address fields.
    mutable QMutex infoMutex;
    Error lastError() const;
    Endpoint localEndpoint() const;
    Endpoint peerEndpoint() const;

    // Receivers of dataArrived/dataSent. (dis)connectNotify may run in any thread, and a
    // disconnect of everything comes with no signal named, so they only bump a generation;
    // the flow's thread asks Qt again when it changed. Copies of the bytes only pay off when
    // somebody listens.
    std::atomic<quint64> observerGeneration{1};
    bool observeData()
    {
        const quint64 generation = observerGeneration.load(std::memory_order_acquire);
        if (generation != m_observedGeneration)
            recountObservers(generation);
        return m_observed;
    }

protected:
    void setState(Flow::State newState);

private:
    struct PendingRead
    {
        Promise<ReadResult> promise;
        qint64 deadlineNs;
        CancelWatch<ReadResult> cancelWatch; // see watchCancelSoon()
        bool seenAtTick = false;             // waiting at a cancel-watch tick already
    };
    struct WaitingWrite
    {
        quint64 id;
        QList<QByteArray> buffers;
        qint64 size;
        Promise<WriteResult> promise;
        qint64 deadlineNs;
        CancelWatch<WriteResult> cancelWatch; // see watchCancelSoon()
        bool seenAtTick = false;              // waiting at a cancel-watch tick already
    };
    // Lists, not deques: an idle flow holds one of each, and libstdc++'s empty std::deque
    // allocates 576 bytes where an empty list allocates nothing.
    using PendingReads = std::list<PendingRead>;
    using WaitingWrites = std::list<WaitingWrite>;

    quint64 admitWrite(qint64 size, Promise<WriteResult> &promise);
    bool canAcceptNow() const { return m_waitingWrites.empty() && bytesQueued < highWaterMark; }
    void wait(quint64 id, QList<QByteArray> &&buffers, qint64 size, Promise<WriteResult> &&promise,
              qint64 deadlineNs);
    void accept(quint64 id, QList<QByteArray> &&buffers, qint64 size, Promise<WriteResult> &&promise);
    void accepted(quint64 id, qint64 size, Promise<WriteResult> &&promise);
    void startSending(bool fromWriteCall);
    void acceptWaiting();
    void watchCancelSoon();
    void watchWaitingForCancel();
    void withdrawCanceledRead(const QFutureWatcherBase *cancelWatch);
    void withdrawCanceledWrite(const QFutureWatcherBase *cancelWatch);
    void reject(quint64 id, Promise<WriteResult> &&promise, const WriteResult &result);
    void serveRead(Promise<ReadResult> &&promise, qint64 deadlineNs);
    void holdRead(Promise<ReadResult> &&promise, qint64 deadlineNs);
    WriteResult writeEndResult() const;
    WriteResult shutdownResult() const;
    CloseResult closeResult() const;
    void startShutdownWrite();
    void maybeSendFin();
    void failWrite(const Error &error); // the write side alone, losing what is queued
    void setReadState(Flow::ReadState newState);
    bool readsHeld() const { return m_readPaused || m_delivering; }
    void serveHeldReads();
    void releaseHeldReads();
    void setWriteState(Flow::WriteState newState);
    void setError(const Error &error); // sticky: the first one stays
    void maybeFinish();
    void updateReadInterest();
    bool deliver(QByteArray &data); // to the first pending read that takes it
    void keep(QByteArray &&data);   // for later reads, within the bound
    void takeBuffered(QByteArray *data);
    void noteActivity();
    void rearmTimer();
    void onTimer();
    void recountObservers(quint64 generation);
    template<typename Signal, typename... Args>
    void notify(Signal signal, Args &&...args);

    PendingReads m_pendingReads;
    QList<QByteArray> m_received;
    qint64 m_receivedBytes = 0;
    WaitingWrites m_waitingWrites;
    std::vector<Promise<WriteResult>> m_shutdownPromises;
    std::vector<Promise<CloseResult>> m_closePromises;
    qint64 m_closeDeadlineNs = NoDeadline;
    qint64 m_cancelWatchDueNs = NoDeadline; // when waiting operations get their cancel watchers
    quint64 m_lastWriteId = 0;
    qint64 m_discarding = 0;   // input discarded while closing: later reads get an error
    bool m_closing = false;    // close() was called
    bool m_readShut = false;   // shutdown(Read): discard what arrives
    bool m_peerEof = false;    // the transport saw the peer's end of stream
    bool m_finSent = false;
    bool m_writeEndedCleanly = false; // new writes get Eof, whatever happens later
    bool m_readEnabled = false;
    bool m_readPaused = false; // setReadPaused()
    bool m_delivering = false; // a read's data is in flight to another thread (sendDelivery())
    quint64 m_deliveryId = 0;  // the last one sent
    bool m_destroying = false;
    bool m_observed = false;
    quint64 m_observedGeneration = 0;
    LazyError m_lastError;
    Endpoint m_localEndpoint;
    Endpoint m_peerEndpoint;
    // Deadlines, the idle timeout and watching waiting operations for cancel().
    ReactorTimer m_timer{[this] { onTimer(); }};
    qint64 m_lastActivityNs = 0;
    ThreadEndWatch m_threadEnd{[this] { onThreadFinished(QThread::currentThread()); }};
    void onThreadFinished(QThread *finishing);

    // Calls posted from other threads that have not run yet (see runOnFlowThread).
    struct PostedCall
    {
        std::function<void()> op;
        bool done = false;
    };
    // Recursive: after the thread's end an operation runs under it, and the futures it resolves
    // may run continuations here that call back into the flow.
    QRecursiveMutex m_postedMutex;
    std::list<std::shared_ptr<PostedCall>> m_posted;
    std::shared_ptr<Lifeline> m_lifeline; // under infoMutex
    bool m_threadEnded = false; // the flow's thread finished; nothing runs there any more
    void runPostedNow();
};

// A reference to a flow for code running in another thread than the flow's (copy, proxy): a
// QPointer cannot be read there while the flow's thread may delete it. Calls through with()
// run under a lock that the flow's destructor takes first, so they never reach a dead flow.
class FlowRef
{
public:
    FlowRef() = default;
    explicit FlowRef(Flow *flow) : m_line(flow ? FlowPrivate::get(flow)->lifeline() : nullptr) {}

    // Runs f(flow) if the flow is still alive; false if it is gone (or there was none).
    template<typename F>
    bool with(F &&f) const
    {
        if (!m_line)
            return false;
        QMutexLocker locker(&m_line->mutex);
        if (!m_line->object)
            return false;
        f(static_cast<Flow *>(m_line->object));
        return true;
    }

private:
    std::shared_ptr<Lifeline> m_line;
};

// Nanoseconds on QDeadlineTimer's clock; NoDeadline for a deadline that never comes.
qint64 deadlineNs(QDeadlineTimer deadline);
qint64 nowNs();

} // namespace rill
