// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flow_p.h"

#include <QtCore/QEvent>
#include <QtCore/QMetaMethod>
#include <QtCore/QThread>

#include <memory>

namespace rill {

Q_LOGGING_CATEGORY(lcFlow, "rill.flow", QtWarningMsg)

namespace {

Error abortedError()
{
    return Error(Error::Kind::Aborted, QStringLiteral("the flow was aborted"));
}

// Runs op(d, promise) on the flow's thread and returns the promise's future. From another thread
// the call is queued; if the flow is destroyed first, the promise finishes Aborted. A flow whose
// thread has finished (or whose QThread is gone) was aborted then (watchThread()), and no call
// can reach it any more: the promise is dropped, which finishes it Aborted at once.
template<typename T, typename Op>
QFuture<T> onFlowThread(Flow *q, FlowPrivate *d, Op &&op)
{
    Promise<T> promise;
    QFuture<T> future = promise.future();
    QThread *thread = q->thread(); // null once the flow's QThread object was deleted
    if (QThread::currentThread() == thread) {
        d->watchThread();
        op(d, std::move(promise));
    } else if (thread && !thread->isFinished()) {
        auto shared = std::make_shared<Promise<T>>(std::move(promise));
        QMetaObject::invokeMethod(
                q,
                [d, shared, op = std::forward<Op>(op)]() {
                    d->watchThread();
                    op(d, std::move(*shared));
                },
                Qt::QueuedConnection);
    }
    return future;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// FlowPrivate

FlowPrivate::FlowPrivate() = default;
FlowPrivate::~FlowPrivate() = default;

template<typename Signal, typename... Args>
void FlowPrivate::notify(Signal signal, Args &&...args)
{
    if (m_destroying)
        return;
    Q_Q(Flow);
    (q->*signal)(std::forward<Args>(args)...);
}

void FlowPrivate::setState(Flow::State newState)
{
    if (state == newState)
        return;
    qCDebug(lcFlow) << q_ptr << "state" << state << "->" << newState;
    state = newState;
    notify(&Flow::stateChanged, newState);
}

void FlowPrivate::setReadState(Flow::ReadState newState)
{
    if (readState == newState)
        return;
    readState = newState;
    notify(&Flow::readStateChanged, newState);
}

void FlowPrivate::setWriteState(Flow::WriteState newState)
{
    if (writeState == newState)
        return;
    writeState = newState;
    notify(&Flow::writeStateChanged, newState);
}

void FlowPrivate::updateReadInterest()
{
    const bool want = state != Flow::State::Closed && state != Flow::State::Connecting && !m_peerEof
            && readState != Flow::ReadState::Failed
            && (m_readShut || !m_pendingReads.empty() || m_receivedBytes < ReadAhead);
    if (want == m_readEnabled)
        return;
    m_readEnabled = want;
    transportSetReadEnabled(want);
}

// ---- read side

ReadResult FlowPrivate::takeBuffered()
{
    QByteArray data;
    if (m_received.size() == 1) {
        data = std::move(m_received.front());
    } else {
        data.reserve(m_receivedBytes);
        for (const QByteArray &segment : m_received)
            data.append(segment);
    }
    m_received.clear();
    m_receivedBytes = 0;
    ++stats.readOps;
    stats.bytesRead += data.size();
    return ReadResult::fromData(data);
}

void FlowPrivate::read(Promise<ReadResult> promise)
{
    if (!m_received.empty()) {
        promise.finish(takeBuffered());
        updateReadInterest();
        return;
    }
    switch (readState) {
    case Flow::ReadState::Eof:
        promise.finish(ReadResult::eof());
        return;
    case Flow::ReadState::Failed:
        promise.finish(ReadResult::fromError(readError));
        return;
    case Flow::ReadState::Open:
        m_pendingReads.push_back(std::move(promise));
        updateReadInterest();
        return;
    }
}

void FlowPrivate::onReceived(QByteArray data)
{
    if (data.isEmpty())
        return;
    if (observeData())
        notify(&Flow::dataArrived, data);
    if (m_readShut || readState != Flow::ReadState::Open)
        return; // shutdown(Read): what arrives is discarded
    if (!m_pendingReads.empty()) {
        Promise<ReadResult> promise = std::move(m_pendingReads.front());
        m_pendingReads.pop_front();
        ++stats.readOps;
        stats.bytesRead += data.size();
        updateReadInterest();
        promise.finish(ReadResult::fromData(data));
        return;
    }
    m_receivedBytes += data.size();
    m_received.push_back(std::move(data));
    updateReadInterest();
}

void FlowPrivate::onReceivedEof()
{
    if (m_peerEof)
        return;
    m_peerEof = true;
    qCDebug(lcFlow) << q_ptr << "peer end of stream";
    updateReadInterest();
    if (readState == Flow::ReadState::Open) {
        std::deque<Promise<ReadResult>> pending = std::exchange(m_pendingReads, {});
        setReadState(Flow::ReadState::Eof);
        for (Promise<ReadResult> &promise : pending)
            promise.finish(ReadResult::eof());
    }
    maybeFinish();
}

// ---- write side

// Sticky: once the write side ended cleanly (shut down, closed, the peer gone), new writes get
// Eof for good, even if a fault comes later.
WriteResult FlowPrivate::writeEndResult() const
{
    if (writeState == Flow::WriteState::Failed && !m_writeEndedCleanly)
        return WriteResult::fromError(writeError);
    return WriteResult::eof();
}

void FlowPrivate::reject(quint64 id, Promise<WriteResult> &&promise)
{
    const WriteResult result = writeEndResult();
    notify(&Flow::writeRejected, id, result);
    promise.finish(result);
}

// Gives a new write its id and settles the writes that need no queue: the write side is closed,
// or there is nothing to write. Returns the id, or 0 when the promise is finished already.
quint64 FlowPrivate::admitWrite(qint64 size, Promise<WriteResult> &promise)
{
    const quint64 id = ++m_lastWriteId;
    notify(&Flow::writeQueued, id, size);
    if (writeState != Flow::WriteState::Open) {
        reject(id, std::move(promise));
        return 0;
    }
    if (size == 0) {
        notify(&Flow::writeAccepted, id);
        notify(&Flow::writeSent, id);
        promise.finish(WriteResult::ok());
        return 0;
    }
    return id;
}

void FlowPrivate::write(QList<QByteArray> buffers, Promise<WriteResult> promise)
{
    qint64 size = 0;
    for (const QByteArray &buffer : std::as_const(buffers))
        size += buffer.size();
    const quint64 id = admitWrite(size, promise);
    if (id == 0)
        return;
    if (!canAcceptNow())
        return wait(id, std::move(buffers), size, std::move(promise));
    const bool wasEmpty = sendQueue.empty();
    accept(id, std::move(buffers), size, std::move(promise));
    if (wasEmpty)
        startSending(true);
}

// write() of one buffer, the common case: no list around it unless it has to wait.
void FlowPrivate::write(QByteArray buffer, Promise<WriteResult> promise)
{
    const qint64 size = buffer.size();
    const quint64 id = admitWrite(size, promise);
    if (id == 0)
        return;
    if (!canAcceptNow())
        return wait(id, QList<QByteArray>{std::move(buffer)}, size, std::move(promise));
    const bool wasEmpty = sendQueue.empty();
    sendQueue.push_back(Chunk{std::move(buffer), id, true});
    accepted(id, size, std::move(promise));
    if (wasEmpty)
        startSending(true);
}

void FlowPrivate::wait(quint64 id, QList<QByteArray> &&buffers, qint64 size,
                       Promise<WriteResult> &&promise)
{
    m_waitingWrites.push_back(WaitingWrite{id, std::move(buffers), size, std::move(promise)});
    notify(&Flow::writesWaitingChanged, int(m_waitingWrites.size()));
}

void FlowPrivate::accept(quint64 id, QList<QByteArray> &&buffers, qint64 size,
                         Promise<WriteResult> &&promise)
{
    qsizetype last = buffers.size() - 1;
    while (last >= 0 && buffers.at(last).isEmpty())
        --last;
    for (qsizetype i = 0; i <= last; ++i) {
        if (!buffers.at(i).isEmpty())
            sendQueue.push_back(Chunk{std::move(buffers[i]), id, i == last});
    }
    accepted(id, size, std::move(promise));
}

// The write's chunks are in the send queue: account for them and resolve.
void FlowPrivate::accepted(quint64 id, qint64 size, Promise<WriteResult> &&promise)
{
    bytesQueued += size;
    ++stats.writeOps;
    notify(&Flow::bytesQueuedChanged, bytesQueued);
    notify(&Flow::writeAccepted, id);
    promise.finish(WriteResult::ok());
}

// The send queue just got bytes while it was empty: wake the transport. Only a write() call may
// send them at once; from the transport's own callbacks (consume() accepting waiting writes) the
// transport is already sending.
void FlowPrivate::startSending(bool fromWriteCall)
{
    if (sendQueue.empty() || state == Flow::State::Connecting || state == Flow::State::Closed)
        return;
    if (fromWriteCall)
        transportWriteThrough();
    else
        transportWrite();
}

void FlowPrivate::acceptWaiting()
{
    const bool wasEmpty = sendQueue.empty();
    bool changed = false;
    while (!m_waitingWrites.empty() && bytesQueued < highWaterMark
           && (writeState == Flow::WriteState::Open || writeState == Flow::WriteState::ShuttingDown)) {
        WaitingWrite waiting = std::move(m_waitingWrites.front());
        m_waitingWrites.pop_front();
        changed = true;
        accept(waiting.id, std::move(waiting.buffers), waiting.size, std::move(waiting.promise));
    }
    if (changed)
        notify(&Flow::writesWaitingChanged, int(m_waitingWrites.size()));
    if (wasEmpty)
        startSending(false);
}

void FlowPrivate::consume(qint64 bytes)
{
    Q_ASSERT(bytes <= bytesQueued);
    bytesQueued -= bytes;
    stats.bytesWritten += bytes;
    // Handlers of dataSent/writeSent may end the write side (abort()), emptying the queue.
    while (bytes > 0 && !sendQueue.empty()) {
        Chunk &front = sendQueue.front();
        const qint64 left = front.data.size() - frontOffset;
        if (bytes < left) {
            if (observeData())
                notify(&Flow::dataSent, front.data.mid(frontOffset, bytes));
            frontOffset += bytes;
            break;
        }
        bytes -= left;
        Chunk chunk = std::move(front);
        const qsizetype offset = std::exchange(frontOffset, 0);
        sendQueue.pop_front();
        if (observeData())
            notify(&Flow::dataSent, offset ? chunk.data.mid(offset) : chunk.data);
        if (chunk.lastOfWrite)
            notify(&Flow::writeSent, chunk.id);
    }
    if (writeState == Flow::WriteState::Failed || writeState == Flow::WriteState::Closed)
        return;
    notify(&Flow::bytesQueuedChanged, bytesQueued);
    acceptWaiting();
    maybeSendFin();
}

void FlowPrivate::startShutdownWrite()
{
    if (writeState != Flow::WriteState::Open)
        return;
    m_writeEndedCleanly = true;
    setWriteState(Flow::WriteState::ShuttingDown);
    maybeSendFin();
}

void FlowPrivate::maybeSendFin()
{
    if (writeState != Flow::WriteState::ShuttingDown || m_finSent || !sendQueue.empty()
        || !m_waitingWrites.empty() || state == Flow::State::Connecting)
        return;
    m_finSent = true;
    transportShutdownWrite();
}

void FlowPrivate::onWriteShutdownDone()
{
    if (writeState != Flow::WriteState::ShuttingDown)
        return;
    qCDebug(lcFlow) << q_ptr << "write side shut down (FIN sent)";
    setWriteState(Flow::WriteState::Closed);
    for (Promise<void> &promise : std::exchange(m_shutdownPromises, {}))
        promise.finish();
    maybeFinish();
}

// Ends the write side at once: what is queued is dropped, waiting writes get waitingResult.
void FlowPrivate::endWriteSide(Flow::WriteState newState, const WriteResult &waitingResult)
{
    if (writeState == Flow::WriteState::Closed || writeState == Flow::WriteState::Failed)
        return;
    const bool hadQueue = bytesQueued > 0;
    sendQueue.clear();
    frontOffset = 0;
    bytesQueued = 0;
    std::deque<WaitingWrite> waiting = std::exchange(m_waitingWrites, {});
    setWriteState(newState);
    if (hadQueue)
        notify(&Flow::bytesQueuedChanged, bytesQueued);
    if (!waiting.empty())
        notify(&Flow::writesWaitingChanged, 0);
    for (WaitingWrite &w : waiting) {
        notify(&Flow::writeRejected, w.id, waitingResult);
        w.promise.finish(waitingResult);
    }
    for (Promise<void> &promise : std::exchange(m_shutdownPromises, {}))
        promise.finish();
}

void FlowPrivate::onPeerGone()
{
    qCDebug(lcFlow) << q_ptr << "the peer can no longer receive";
    if (writeState == Flow::WriteState::Open)
        m_writeEndedCleanly = true;
    endWriteSide(Flow::WriteState::Closed, WriteResult::eof());
    maybeFinish();
}

// ---- both sides

void FlowPrivate::onConnected()
{
    if (state != Flow::State::Connecting)
        return;
    notify(&Flow::endpointsChanged);
    setState(m_closePromises.empty() ? Flow::State::Open : Flow::State::Closing);
    if (!sendQueue.empty())
        transportWrite();
    maybeSendFin();
    updateReadInterest();
}

void FlowPrivate::fail(const Error &error, bool abortTransport)
{
    if (state == Flow::State::Closed)
        return;
    qCDebug(lcFlow) << q_ptr << "failed:" << error;
    lastError = error;
    if (abortTransport)
        transportAbort();
    else
        transportRelease();
    m_readEnabled = false;
    std::deque<Promise<ReadResult>> reads;
    if (readState == Flow::ReadState::Open) {
        readError = error;
        reads = std::exchange(m_pendingReads, {});
    }
    writeError = error;
    endWriteSide(Flow::WriteState::Failed, WriteResult::fromError(error));
    std::vector<Promise<void>> closes = std::exchange(m_closePromises, {});
    if (readState == Flow::ReadState::Open)
        setReadState(Flow::ReadState::Failed);
    setState(Flow::State::Closed);
    notify(&Flow::errorOccurred, error);
    for (Promise<ReadResult> &promise : reads)
        promise.finish(ReadResult::fromError(error));
    for (Promise<void> &promise : closes)
        promise.finish();
}

void FlowPrivate::onFailed(const Error &error)
{
    fail(error, false);
}

// What arrived before the abort is still delivered by read(), then the error (or Eof if the
// peer's end of stream came first), as after any other fault.
void FlowPrivate::abort()
{
    fail(abortedError(), true);
}

// When the flow's thread finishes with the flow still alive, its event loop is gone and nothing
// would ever resolve what is pending: abort then. Followed to a new thread after moveToThread().
void FlowPrivate::watchThread()
{
    QThread *thread = q_ptr->thread();
    if (thread == m_watchedThread)
        return;
    QObject::disconnect(m_threadFinished);
    m_watchedThread = thread;
    m_threadFinished = QObject::connect(
            thread, &QThread::finished, q_ptr,
            [this] {
                // Emitted in the finishing thread; moveToThread() happens there too, so this
                // compares without a race.
                if (q_ptr->thread() == QThread::currentThread())
                    fail(Error(Error::Kind::Aborted, QStringLiteral("the flow's thread finished")),
                         true);
            },
            Qt::DirectConnection);
}

void FlowPrivate::destroy()
{
    m_destroying = true;
    fail(abortedError(), true);
}

// Both directions are done: release the transport and finish close().
void FlowPrivate::maybeFinish()
{
    if (state == Flow::State::Closed || !m_peerEof
        || (writeState != Flow::WriteState::Closed && writeState != Flow::WriteState::Failed))
        return;
    transportRelease();
    m_readEnabled = false;
    setState(Flow::State::Closed);
    for (Promise<void> &promise : std::exchange(m_closePromises, {}))
        promise.finish();
}

void FlowPrivate::shutdown(Flow::Direction direction, Promise<void> promise)
{
    if (direction != Flow::Direction::Write && readState == Flow::ReadState::Open) {
        m_readShut = true;
        m_received.clear();
        m_receivedBytes = 0;
        std::deque<Promise<ReadResult>> pending = std::exchange(m_pendingReads, {});
        setReadState(Flow::ReadState::Eof);
        for (Promise<ReadResult> &read : pending)
            read.finish(ReadResult::eof());
        updateReadInterest(); // keep draining so the peer's end of stream is still seen
    }
    if (direction == Flow::Direction::Read || writeState == Flow::WriteState::Closed
        || writeState == Flow::WriteState::Failed) {
        promise.finish();
        return;
    }
    m_shutdownPromises.push_back(std::move(promise));
    startShutdownWrite();
}

void FlowPrivate::close(Promise<void> promise)
{
    if (state == Flow::State::Closed) {
        promise.finish();
        return;
    }
    m_closePromises.push_back(std::move(promise));
    if (state == Flow::State::Open)
        setState(Flow::State::Closing);
    startShutdownWrite();
    maybeFinish();
}

void FlowPrivate::setHighWaterMark(qint64 bytes)
{
    bytes = qMax<qint64>(bytes, 1);
    if (bytes == highWaterMark)
        return;
    highWaterMark = bytes;
    notify(&Flow::highWaterMarkChanged, bytes);
    acceptWaiting();
}

// ---------------------------------------------------------------------------------------------
// Flow

/*!
    \class rill::Flow
    \brief A byte stream whose operations return futures, with half-close in both directions
    and a bounded send queue.

    A flow lives in the thread of its QObject; every operation can be called from any thread.
    Every future a flow returns finishes: when the flow is aborted or destroyed, pending ones
    finish with an error of kind Aborted.
*/

Flow::Flow(FlowPrivate &dd, QObject *parent) : QObject(parent), d_rill(&dd)
{
    d_rill->q_ptr = this;
    d_rill->watchThread();
}

Flow::~Flow()
{
    Q_D(Flow);
    d->destroy();
}

bool Flow::event(QEvent *event)
{
    if (event->type() == QEvent::ThreadChange) {
        // Sent before the move; a posted call moves with the flow and runs first thing in the
        // new thread, so operations left pending follow the flow to its new thread's end.
        QMetaObject::invokeMethod(this, [d = d_func()] { d->watchThread(); }, Qt::QueuedConnection);
    }
    return QObject::event(event);
}

/*!
    Resolves with the next bytes (at least one), Eof, or an error. Reads are served in call order;
    Eof and errors are sticky.
*/
QFuture<ReadResult> Flow::read()
{
    return onFlowThread<ReadResult>(this, d_func(), [](FlowPrivate *d, Promise<ReadResult> p) {
        d->read(std::move(p));
    });
}

/*!
    Resolves Ok once \a buffer is accepted into the send queue (not when the peer has it). While
    the queue holds highWaterMark() bytes or more, the future waits: that is the backpressure.
    Eof when the write side is closed, an error once the flow failed.

    A socket flow sends the first write of each turn of the event loop that finds the queue
    empty before write() returns (a reply leaves without waiting for the next turn), so
    bytesQueuedChanged() and writeSent() may be emitted from inside write(); later writes of the
    same turn leave together in one system call at the next turn. Errors are always reported
    from the event loop, never from inside write().
*/
QFuture<WriteResult> Flow::write(const QByteArray &buffer)
{
    return onFlowThread<WriteResult>(this, d_func(),
                                     [buffer](FlowPrivate *d, Promise<WriteResult> p) {
                                         d->write(buffer, std::move(p));
                                     });
}

/*!
    Like write(), for several buffers that stay contiguous and in order in the stream.
*/
QFuture<WriteResult> Flow::writev(const QList<QByteArray> &buffers)
{
    return onFlowThread<WriteResult>(this, d_func(),
                                     [buffers](FlowPrivate *d, Promise<WriteResult> p) {
                                         d->write(buffers, std::move(p));
                                     });
}

/*!
    Flushes the send queue, sends the end of stream, keeps delivering what the peer sends to
    read(), and resolves when the peer has ended its side too; then the transport is released.
*/
QFuture<void> Flow::close()
{
    return onFlowThread<void>(this, d_func(),
                              [](FlowPrivate *d, Promise<void> p) { d->close(std::move(p)); });
}

/*!
    Write: flush, then send the end of stream; resolves when it is sent. Read: reads give Eof
    from now on and what arrives is discarded; resolves at once.
*/
QFuture<void> Flow::shutdown(Direction direction)
{
    return onFlowThread<void>(this, d_func(), [direction](FlowPrivate *d, Promise<void> p) {
        d->shutdown(direction, std::move(p));
    });
}

/*!
    Drops the connection at once. Every pending future finishes with an error of kind Aborted.
    A TCP or pipe peer sees a reset. A Unix socket has no reset: its peer reads end of stream
    (or a reset, if the flow had unread bytes) and its writes then give Eof.
*/
void Flow::abort()
{
    if (QThread::currentThread() == thread())
        d_func()->abort();
    else
        QMetaObject::invokeMethod(this, [this] { d_func()->abort(); }, Qt::QueuedConnection);
}

Flow::State Flow::state() const { return d_func()->state; }
Flow::ReadState Flow::readState() const { return d_func()->readState; }
Flow::WriteState Flow::writeState() const { return d_func()->writeState; }
qint64 Flow::highWaterMark() const { return d_func()->highWaterMark; }
qint64 Flow::bytesQueued() const { return d_func()->bytesQueued; }
FlowStats Flow::stats() const { return d_func()->stats; }
Error Flow::error() const { return d_func()->lastError; }
QString Flow::localEndpoint() const { return d_func()->localEndpoint(); }
QString Flow::peerEndpoint() const { return d_func()->peerEndpoint(); }
QString Flow::transportName() const { return d_func()->transportName(); }

int Flow::writesWaiting() const
{
    return int(d_func()->writesWaitingCount());
}

/*!
    Sets the send queue's high-water mark to \a bytes; values below 1 are taken as 1 (one write
    accepted at a time). Waiting writes are accepted at once if the queue is now below it.
*/
void Flow::setHighWaterMark(qint64 bytes)
{
    if (QThread::currentThread() == thread())
        d_func()->setHighWaterMark(bytes);
    else
        QMetaObject::invokeMethod(this, [this, bytes] { d_func()->setHighWaterMark(bytes); },
                                  Qt::QueuedConnection);
}

static bool isDataSignal(const QMetaMethod &signal)
{
    return signal == QMetaMethod::fromSignal(&Flow::dataArrived)
            || signal == QMetaMethod::fromSignal(&Flow::dataSent);
}

void Flow::connectNotify(const QMetaMethod &signal)
{
    if (isDataSignal(signal))
        ++d_func()->dataObservers;
}

// Qt calls this with its connection lock held: no isSignalConnected() here. A disconnect of
// everything at once comes with an invalid signal; the count then stays, which only costs
// copies nobody receives.
void Flow::disconnectNotify(const QMetaMethod &signal)
{
    if (isDataSignal(signal))
        --d_func()->dataObservers;
}

} // namespace rill
