// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include "flow_p.h"
#include "probe_p.h"

#include <QtCore/QDebug>
#include <QtCore/QEvent>
#include <QtCore/QMetaMethod>
#include <QtCore/QThread>

#include <algorithm>
#include <memory>

namespace rill {

Q_LOGGING_CATEGORY(lcFlow, "rill.flow", QtWarningMsg)

namespace {

// So that a QVariant holding an Endpoint (a property read through the meta-object system, a
// model's data) reads as its text, as the QString properties before it did. Here rather than in
// endpoint.cpp, which the endpoint fuzzer compiles without moc.
const bool endpointConverts = QMetaType::registerConverter<Endpoint, QString>(&Endpoint::toString);

Error abortedError()
{
    return Error(Error::Kind::Aborted, QStringLiteral("the flow was aborted"));
}

Error canceledError()
{
    return Error(Error::Kind::Canceled, QStringLiteral("the write was cancelled while it waited"));
}

QString bytesText(qint64 bytes)
{
    return bytes == 1 ? QStringLiteral("1 byte") : QStringLiteral("%1 bytes").arg(bytes);
}

// Runs op(d, promise) on the flow's thread.
template<typename T, typename Op>
void onFlowThread(FlowPrivate *d, Promise<T> &&promise, Op &&op)
{
    // The common case, a call from the flow's own thread, runs at once: no shared promise and
    // no std::function to allocate for each read or write.
    if (d->isFlowThread()) {
        d->watchThread();
        op(d, std::move(promise));
        return;
    }
    auto shared = std::make_shared<Promise<T>>(std::move(promise));
    d->runOnFlowThread([d, shared, op = std::forward<Op>(op)] { op(d, std::move(*shared)); });
}

// As above, returning the promise's future.
template<typename T, typename Op>
QFuture<T> onFlowThread(FlowPrivate *d, Op &&op)
{
    Promise<T> promise;
    QFuture<T> future = promise.future();
    onFlowThread(d, std::move(promise), std::forward<Op>(op));
    return future;
}

} // namespace

qint64 deadlineNs(QDeadlineTimer deadline)
{
    return deadline.isForever() ? FlowPrivate::NoDeadline : deadline.deadlineNSecs();
}

qint64 nowNs()
{
    return QDeadlineTimer::current().deadlineNSecs();
}

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
    qCDebug(lcFlow) << q_ptr << "state" << Flow::State(state) << "->" << newState;
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

void FlowPrivate::setError(const Error &error)
{
    QMutexLocker locker(&infoMutex);
    if (m_lastError.isNone())
        m_lastError = error;
}

Error FlowPrivate::lastError() const
{
    QMutexLocker locker(&infoMutex);
    return m_lastError;
}

Endpoint FlowPrivate::localEndpoint() const
{
    QMutexLocker locker(&infoMutex);
    return m_localEndpoint;
}

Endpoint FlowPrivate::peerEndpoint() const
{
    QMutexLocker locker(&infoMutex);
    return m_peerEndpoint;
}

void FlowPrivate::publishEndpoints()
{
    const Endpoint local = currentLocalEndpoint();
    const Endpoint peer = currentPeerEndpoint();
    QMutexLocker locker(&infoMutex);
    m_localEndpoint = local;
    m_peerEndpoint = peer;
}

FlowStats FlowPrivate::statsSnapshot() const
{
    FlowStats s;
    s.bytesRead = stats.bytesRead;
    s.readOps = stats.readOps;
    s.bytesWritten = stats.bytesWritten;
    s.writeOps = stats.writeOps;
    s.bytesDiscarded = stats.bytesDiscarded;
    s.bytesUnsent = stats.bytesUnsent;
    s.bytesReadSpliced = stats.bytesReadSpliced;
    s.bytesWrittenSpliced = stats.bytesWrittenSpliced;
    return s;
}

void FlowPrivate::recountObservers(quint64 generation)
{
    // Asked outside Qt's connection lock, unlike (dis)connectNotify. A change meanwhile bumps
    // the generation again, and the next call asks once more.
    Q_Q(Flow);
    m_observed = q->isSignalConnected(QMetaMethod::fromSignal(&Flow::dataArrived))
            || q->isSignalConnected(QMetaMethod::fromSignal(&Flow::dataSent));
    m_observedGeneration = generation;
}

qint64 FlowPrivate::readRoom() const
{
    // After shutdown(Read), or once close() discards, everything that comes is thrown away:
    // large pieces only drain faster.
    if ((!m_pendingReads.empty() && !readsHeld()) || m_readShut || m_discarding)
        return -1;
    if (m_closing) {
        // Only what does not fit below close()'s bound is discarded, so a reader that keeps
        // reading after close() (slower than the peer in bursts) loses nothing.
        const qint64 room = qMax<qint64>(appliedHighWaterMark, ReadAhead) - m_receivedBytes;
        return room > 0 ? room : -1;
    }
    return qMax<qint64>(ReadAhead - m_receivedBytes, 0);
}

void FlowPrivate::updateReadInterest()
{
    // While closing, or after shutdown(Read), input is taken whatever the reader does: the
    // peer's end of stream can only be seen behind it.
    const bool want = state != Flow::State::Closed && state != Flow::State::Connecting && !m_peerEof
            && readState != Flow::ReadState::Failed
            && (m_readShut || m_closing || (!m_pendingReads.empty() && !readsHeld())
                || m_receivedBytes < ReadAhead);
    const bool wantAfterDiscard = want
            || (m_discarding && state != Flow::State::Closed && !m_peerEof);
    if (wantAfterDiscard == m_readEnabled)
        return;
    m_readEnabled = wantAfterDiscard;
    transportSetReadEnabled(wantAfterDiscard);
}

void FlowPrivate::noteActivity()
{
    if (idleTimeoutMs > 0)
        m_lastActivityNs = nowNs();
}

bool FlowPrivate::canLendRead() const
{
    return state == Flow::State::Open && readState == Flow::ReadState::Open
            && m_pendingReads.empty() && !m_peerEof && !m_readShut && !m_closing
            && m_discarding == 0 && !readsHeld();
}

bool FlowPrivate::canLendWrite() const
{
    return state == Flow::State::Open && writeState == Flow::WriteState::Open
            && m_shutdownPromises.empty() && !m_finSent && !m_closing && !m_writeEndedCleanly;
}

void FlowPrivate::countSplicedRead(qint64 bytes)
{
    noteActivity();
    stats.bytesRead += bytes;
    stats.bytesReadSpliced += bytes;
    ++stats.readOps;
}

void FlowPrivate::countSplicedWrite(qint64 bytes)
{
    noteActivity();
    stats.bytesWritten += bytes;
    stats.bytesWrittenSpliced += bytes;
    ++stats.writeOps;
}

// ---- read side

void FlowPrivate::takeBuffered(QByteArray *data)
{
    if (m_received.size() == 1) {
        *data = std::move(m_received.front());
    } else {
        data->reserve(m_receivedBytes);
        for (const QByteArray &segment : std::as_const(m_received))
            data->append(segment);
    }
    m_received.clear();
    m_receivedBytes = 0;
}

// Hands data to the first pending read that still wants it. A read whose future was cancelled
// takes nothing (Qt would drop the result, and with it bytes of the stream).
bool FlowPrivate::deliver(QByteArray &data)
{
    while (!m_pendingReads.empty()) {
        Promise<ReadResult> promise = std::move(m_pendingReads.front().promise);
        m_pendingReads.pop_front(); // (its watcher first: finishing would post it events)
        if (promise.isCanceled())
            continue;
        ++stats.readOps;
        stats.bytesRead += data.size();
        if (promise.tryFinish(ReadResult::fromData(data)))
            return true;
        stats.readOps -= 1;
        stats.bytesRead -= data.size();
    }
    return false;
}

void FlowPrivate::read(Promise<ReadResult> promise, qint64 deadline)
{
    if (promise.isCanceled())
        return;
    // Paused or held, or behind reads a pause held (while resuming): wait in order.
    if (readsHeld() ? readState == Flow::ReadState::Open || !m_received.empty() || !m_pendingReads.empty()
                     : !m_received.empty() && !m_pendingReads.empty()) {
        holdRead(std::move(promise), deadline);
        return;
    }
    serveRead(std::move(promise), deadline);
}

void FlowPrivate::serveRead(Promise<ReadResult> &&promise, qint64 deadline)
{
    if (!m_received.empty()) {
        QByteArray data;
        takeBuffered(&data);
        ++stats.readOps;
        stats.bytesRead += data.size();
        const qsizetype size = data.size();
        if (!promise.tryFinish(ReadResult::fromData(data))) {
            stats.readOps -= 1;
            stats.bytesRead -= size;
            m_receivedBytes = size;
            m_received.prepend(std::move(data));
        }
        updateReadInterest();
        return;
    }
    switch (Flow::ReadState(readState)) {
    case Flow::ReadState::Eof:
        promise.finish(ReadResult::eof());
        return;
    case Flow::ReadState::Failed:
        promise.finish(ReadResult::fromError(readError));
        return;
    case Flow::ReadState::Open:
        if (deadline != NoDeadline && deadline <= nowNs()) {
            promise.finish(ReadResult::fromError(
                    Error(Error::Kind::TimedOut, QStringLiteral("no data before the deadline"),
                          errorEndpoint())));
            return;
        }
        holdRead(std::move(promise), deadline);
        return;
    }
}

void FlowPrivate::holdRead(Promise<ReadResult> &&promise, qint64 deadline)
{
    const bool cancelable = promise.hasFuture(); // a callback's read cannot be cancelled
    m_pendingReads.push_back(PendingRead{std::move(promise), deadline, {}});
    if (deadline != NoDeadline)
        rearmTimer();
    if (cancelable)
        watchCancelSoon();
    updateReadInterest();
}

bool FlowPrivate::setReadPaused(bool paused)
{
    if (paused == m_readPaused)
        return true;
    if (paused && (m_closing || m_readShut || state == Flow::State::Closed
                   || readState != Flow::ReadState::Open))
        return false;
    m_readPaused = paused;
    qCDebug(lcFlow) << q_ptr << (paused ? "reading paused" : "reading resumed");
    serveHeldReads();
    return true;
}

// The reads held back, oldest first, while there is data or the end came; a continuation's new
// read waits behind the rest (see read()).
void FlowPrivate::serveHeldReads()
{
    while (!readsHeld() && !m_pendingReads.empty()
           && (!m_received.empty() || readState != Flow::ReadState::Open)) {
        Promise<ReadResult> promise = std::move(m_pendingReads.front().promise);
        const qint64 deadline = m_pendingReads.front().deadlineNs;
        m_pendingReads.pop_front(); // (its watcher first, as in deliver())
        if (!promise.isCanceled())
            serveRead(std::move(promise), deadline);
    }
    updateReadInterest();
}

// The read side ends (fail(), shutdown(Read)): a pause and a delivery in flight hold nothing
// any more. The reads they held are served now; a delivery those reads send is not waited for
// either, so what comes back later is counted discarded (see settleDelivery()).
void FlowPrivate::releaseHeldReads()
{
    m_delivering = false;
    setReadPaused(false);
    serveHeldReads(); // (setReadPaused() served them only if it was paused)
    m_delivering = false;
}

Settle<ReadResult> FlowPrivate::sendDelivery(const ReadResult &sent)
{
    if (!sent.isData())
        return {}; // the end of stream or error: a later read gets it again
    m_delivering = true;
    const quint64 id = ++m_deliveryId;
    return [ref = FlowRef(q_ptr), id](const ReadResult *undelivered) {
        const QByteArray data = undelivered ? undelivered->data() : QByteArray();
        ref.with([&](Flow *flow) {
            FlowPrivate *d = FlowPrivate::get(flow);
            auto settle = [d, id, data, back = undelivered != nullptr] {
                d->settleDelivery(id, back ? &data : nullptr);
            };
            // From the flow's own thread (its context was moved there) posted all the same:
            // settling serves reads, never from inside whatever destroyed the context.
            if (d->isFlowThread())
                QMetaObject::invokeMethod(flow, std::move(settle), Qt::QueuedConnection);
            else
                d->runOnFlowThread(std::move(settle));
        });
        // A flow gone meanwhile dropped its unread input anyway.
    };
}

void FlowPrivate::settleDelivery(quint64 id, const QByteArray *undelivered)
{
    const bool current = m_delivering && id == m_deliveryId;
    if (current)
        m_delivering = false;
    if (undelivered) {
        const qsizetype size = undelivered->size();
        stats.readOps -= 1;
        stats.bytesRead -= size;
        if (current) {
            qCDebug(lcFlow) << q_ptr << size << "bytes read for a callback came back undelivered";
            m_receivedBytes += size;
            m_received.prepend(*undelivered);
        } else {
            stats.bytesDiscarded += size;
            if (!m_readShut)
                qCWarning(lcFlow).nospace().noquote()
                        << q_ptr << ": lost " << bytesText(size) << " read for a callback in "
                        << "another thread: its context was destroyed before the callback ran, "
                        << "and the read side had ended meanwhile";
        }
    }
    if (current)
        serveHeldReads();
}

// Beyond what the flow keeps for later reads while closing, input is thrown away: from then on
// the stream has a gap, so reads get the kept bytes and then an error saying so.
void FlowPrivate::keep(QByteArray &&data)
{
    if (m_closing && !m_discarding) {
        const qint64 room = qMax<qint64>(appliedHighWaterMark, ReadAhead) - m_receivedBytes;
        if (data.size() > room) {
            const qint64 dropped = data.size() - qMax<qint64>(room, 0);
            data.truncate(qMax<qint64>(room, 0));
            m_discarding = dropped;
            stats.bytesDiscarded += dropped;
            readError = Error(Error::Kind::Discarded,
                              QStringLiteral("unread input was discarded while closing"),
                              errorEndpoint());
            qCDebug(lcFlow) << q_ptr << "closing: discarding unread input";
            if (!data.isEmpty()) {
                m_receivedBytes += data.size();
                m_received.push_back(std::move(data));
            }
            // Reads that wait now can only ever get the error (held ones: after the data).
            PendingReads reads = readsHeld() ? PendingReads() : std::exchange(m_pendingReads, {});
            setReadState(Flow::ReadState::Failed);
            for (PendingRead &r : reads)
                r.promise.finish(ReadResult::fromError(readError));
            return;
        }
    }
    m_receivedBytes += data.size();
    m_received.push_back(std::move(data));
}

void FlowPrivate::onReceived(QByteArray data)
{
    if (data.isEmpty())
        return;
    noteActivity();
    if (observeData())
        notify(&Flow::dataArrived, data);
    if (m_readShut || m_discarding || readState != Flow::ReadState::Open) {
        // shutdown(Read), or close() past its bound: what arrives is discarded
        stats.bytesDiscarded += data.size();
        if (m_discarding)
            m_discarding += data.size();
        return;
    }
    if (readsHeld() || !deliver(data))
        keep(std::move(data));
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
        // Reads a pause holds get the end after the data before it, once resumed.
        PendingReads pending = readsHeld() ? PendingReads() : std::exchange(m_pendingReads, {});
        setReadState(Flow::ReadState::Eof);
        for (PendingRead &r : pending)
            r.promise.finish(ReadResult::eof());
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

// What shutdown(Write) gives once the write side has ended: Ok when nothing accepted was lost.
WriteResult FlowPrivate::shutdownResult() const
{
    if (writeState == Flow::WriteState::Failed)
        return WriteResult::fromError(writeError);
    return WriteResult::ok();
}

CloseResult FlowPrivate::closeResult() const
{
    const Error error = writeState == Flow::WriteState::Failed ? writeError : lastError();
    const qint64 discarded = m_discarding;
    return error.isNone() ? CloseResult::ok(discarded) : CloseResult::fromError(error, discarded);
}

void FlowPrivate::reject(quint64 id, Promise<WriteResult> &&promise, const WriteResult &result)
{
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
        reject(id, std::move(promise), writeEndResult());
        return 0;
    }
    if (promise.isCanceled()) {
        reject(id, std::move(promise), WriteResult::fromError(canceledError()));
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

void FlowPrivate::write(QList<QByteArray> buffers, Promise<WriteResult> promise, qint64 deadline)
{
    qint64 size = 0;
    for (const QByteArray &buffer : std::as_const(buffers))
        size += buffer.size();
    const quint64 id = admitWrite(size, promise);
    if (id == 0)
        return;
    if (!canAcceptNow())
        return wait(id, std::move(buffers), size, std::move(promise), deadline);
    const bool wasEmpty = sendQueue.empty();
    accept(id, std::move(buffers), size, std::move(promise));
    if (wasEmpty)
        startSending(true);
}

// write() of one buffer, the common case: no list around it unless it has to wait.
void FlowPrivate::write(QByteArray buffer, Promise<WriteResult> promise, qint64 deadline)
{
    const qint64 size = buffer.size();
    const quint64 id = admitWrite(size, promise);
    if (id == 0)
        return;
    if (!canAcceptNow())
        return wait(id, QList<QByteArray>{std::move(buffer)}, size, std::move(promise), deadline);
    const bool wasEmpty = sendQueue.empty();
    sendQueue.push_back(Chunk{std::move(buffer), id, true});
    accepted(id, size, std::move(promise));
    if (wasEmpty)
        startSending(true);
}

void FlowPrivate::wait(quint64 id, QList<QByteArray> &&buffers, qint64 size,
                       Promise<WriteResult> &&promise, qint64 deadline)
{
    if (deadline != NoDeadline && deadline <= nowNs()) {
        reject(id, std::move(promise),
               WriteResult::fromError(Error(Error::Kind::TimedOut,
                                            QStringLiteral("the send queue was full until the "
                                                           "deadline"),
                                            errorEndpoint())));
        return;
    }
    const bool cancelable = promise.hasFuture();
    m_waitingWrites.push_back(WaitingWrite{id, std::move(buffers), size, std::move(promise), deadline, {}});
    writesWaiting = int(m_waitingWrites.size());
    notify(&Flow::writesWaitingChanged, int(m_waitingWrites.size()));
    if (deadline != NoDeadline)
        rearmTimer();
    if (cancelable)
        watchCancelSoon();
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
    notify(&Flow::bytesQueuedChanged, qint64(bytesQueued));
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

// Accepts waiting writes while the queue is below the mark. A write whose future was cancelled,
// or whose deadline passed, is withdrawn instead: never sent, the ledger says why.
void FlowPrivate::acceptWaiting()
{
    const bool wasEmpty = sendQueue.empty();
    const size_t before = m_waitingWrites.size();
    const qint64 now = m_waitingWrites.empty() ? 0 : nowNs();
    while (!m_waitingWrites.empty()
           && (writeState == Flow::WriteState::Open || writeState == Flow::WriteState::ShuttingDown)) {
        WaitingWrite &front = m_waitingWrites.front();
        const bool canceled = front.promise.isCanceled();
        const bool late = front.deadlineNs != NoDeadline && front.deadlineNs <= now;
        if (!canceled && !late && bytesQueued >= highWaterMark)
            break;
        WaitingWrite waiting = std::move(front);
        m_waitingWrites.pop_front();
        writesWaiting = int(m_waitingWrites.size());
        if (canceled || late) {
            reject(waiting.id, std::move(waiting.promise),
                   WriteResult::fromError(
                           canceled ? canceledError()
                                    : Error(Error::Kind::TimedOut,
                                            QStringLiteral("the send queue was full until the "
                                                           "deadline"),
                                            errorEndpoint())));
            continue;
        }
        waiting.cancelWatch.reset(); // before the future finishes: it would post events
        accept(waiting.id, std::move(waiting.buffers), waiting.size, std::move(waiting.promise));
    }
    if (m_waitingWrites.size() != before)
        notify(&Flow::writesWaitingChanged, int(m_waitingWrites.size()));
    if (wasEmpty)
        startSending(false);
    maybeSendFin();
}

// Qt 6.4 tells nobody of cancel() but a QFutureWatcher, and a watcher per operation (an
// object, a posted event, a deferred delete) cost a busy PipeFlow two thirds of its small-write
// throughput. Most reads and waiting writes are served within microseconds, so a watcher goes
// only to an operation found waiting at two ticks in a row, CancelWatchDelayNs apart: one
// seen at one tick only was served in between (a busy flow's reads are new at every tick). A
// cancelled operation thus finishes within about two ticks rather than at once, and consumes
// nothing either way (deliver() and acceptWaiting() skip cancelled futures). A tick of 1 ms
// put the tick's own wake-up into a ping-pong's 99th percentile.
void FlowPrivate::watchCancelSoon()
{
    if (m_cancelWatchDueNs != NoDeadline)
        return;
    m_cancelWatchDueNs = nowNs() + CancelWatchDelayNs;
    rearmTimer();
}

void FlowPrivate::watchWaitingForCancel()
{
    m_cancelWatchDueNs = NoDeadline;
    // An operation has waited a tick: the flow is idle, and keeps no room it does not use.
    if (sendQueue.isEmpty() && sendQueue.capacity() > 0)
        sendQueue = {};
    if (m_received.isEmpty() && m_received.capacity() > 0)
        m_received = {};
    bool newlyWaiting = false;
    for (PendingRead &r : m_pendingReads) {
        if (r.cancelWatch || !r.promise.hasFuture())
            continue;
        if (!std::exchange(r.seenAtTick, true))
            newlyWaiting = true;
        else
            r.cancelWatch = watchCancel(r.promise, [this](const QFutureWatcherBase *watch) {
                withdrawCanceledRead(watch);
            });
    }
    for (WaitingWrite &w : m_waitingWrites) {
        if (w.cancelWatch || !w.promise.hasFuture())
            continue;
        if (!std::exchange(w.seenAtTick, true))
            newlyWaiting = true;
        else
            w.cancelWatch = watchCancel(w.promise, [this](const QFutureWatcherBase *watch) {
                withdrawCanceledWrite(watch);
            });
    }
    if (newlyWaiting)
        watchCancelSoon();
}

// A waiting write's future was cancelled: withdraw it now rather than when the queue drains,
// which may be never while the peer does not read.
void FlowPrivate::withdrawCanceledWrite(const QFutureWatcherBase *cancelWatch)
{
    const auto it = std::find_if(m_waitingWrites.begin(), m_waitingWrites.end(),
                                 [cancelWatch](const WaitingWrite &w) { return w.cancelWatch.get() == cancelWatch; });
    if (it == m_waitingWrites.end() || !it->promise.isCanceled())
        return;
    WaitingWrite waiting = std::move(*it);
    m_waitingWrites.erase(it);
    writesWaiting = int(m_waitingWrites.size());
    waiting.cancelWatch.reset();
    notify(&Flow::writesWaitingChanged, int(m_waitingWrites.size()));
    reject(waiting.id, std::move(waiting.promise), WriteResult::fromError(canceledError()));
    acceptWaiting(); // the writes behind it may fit now, and a FIN may wait only on them
}

// A pending read's future was cancelled: finish it now (Qt drops its result), rather than when
// data or the end arrives, which may be never.
void FlowPrivate::withdrawCanceledRead(const QFutureWatcherBase *cancelWatch)
{
    const auto it = std::find_if(m_pendingReads.begin(), m_pendingReads.end(),
                                 [cancelWatch](const PendingRead &r) { return r.cancelWatch.get() == cancelWatch; });
    if (it == m_pendingReads.end() || !it->promise.isCanceled())
        return;
    PendingRead read = std::move(*it);
    m_pendingReads.erase(it);
    read.cancelWatch.reset();
    read.promise.finish(ReadResult::eof()); // dropped: the future is cancelled
    updateReadInterest();
}

void FlowPrivate::consume(qint64 bytes)
{
    Q_ASSERT(bytes <= bytesQueued);
    if (bytes > 0)
        noteActivity();
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
    notify(&Flow::bytesQueuedChanged, qint64(bytesQueued));
    acceptWaiting();
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
        || !m_waitingWrites.empty() || state == Flow::State::Connecting
        || state == Flow::State::Closed)
        return;
    m_finSent = true;
    transportShutdownWrite();
}

void FlowPrivate::onWriteShutdownDone()
{
    if (writeState != Flow::WriteState::ShuttingDown)
        return;
    qCDebug(lcFlow) << q_ptr << "write side shut down (FIN sent)";
    std::vector<Promise<WriteResult>> shutdowns = std::exchange(m_shutdownPromises, {});
    setWriteState(Flow::WriteState::Closed);
    for (Promise<WriteResult> &promise : shutdowns)
        promise.finish(WriteResult::ok());
    maybeFinish();
}

// The write side fails alone: what is queued can no longer be handed over. Reads go on.
void FlowPrivate::failWrite(const Error &error)
{
    if (writeState == Flow::WriteState::Closed || writeState == Flow::WriteState::Failed)
        return;
    const qint64 lost = bytesQueued;
    std::vector<quint64> lostIds;
    for (const Chunk &chunk : std::as_const(sendQueue)) {
        if (lostIds.empty() || lostIds.back() != chunk.id)
            lostIds.push_back(chunk.id);
    }
    sendQueue.clear();
    frontOffset = 0;
    bytesQueued = 0;
    stats.bytesUnsent += lost;
    WaitingWrites waiting = std::exchange(m_waitingWrites, {});
    writesWaiting = 0;
    std::vector<Promise<WriteResult>> shutdowns = std::exchange(m_shutdownPromises, {});
    writeError = error;
    const bool first = lastError().isNone();
    setError(error);
    writeState = Flow::WriteState::Failed;
    // Settled; now tell.
    notify(&Flow::writeStateChanged, Flow::WriteState::Failed);
    if (lost)
        notify(&Flow::bytesQueuedChanged, qint64(0));
    if (!waiting.empty())
        notify(&Flow::writesWaitingChanged, 0);
    for (quint64 id : lostIds)
        notify(&Flow::writeLost, id, error);
    if (first)
        notify(&Flow::errorOccurred, error);
    const WriteResult result = WriteResult::fromError(error);
    for (WaitingWrite &w : waiting)
        reject(w.id, std::move(w.promise), result);
    for (Promise<WriteResult> &promise : shutdowns)
        promise.finish(result);
}

void FlowPrivate::onWriteFailed(const Error &error)
{
    if (state == Flow::State::Closed)
        return;
    qCDebug(lcFlow) << q_ptr << "write side failed:" << error;
    failWrite(error);
    maybeFinish();
}

void FlowPrivate::onPeerGone()
{
    qCDebug(lcFlow) << q_ptr << "the peer can no longer receive";
    if (writeState == Flow::WriteState::Closed || writeState == Flow::WriteState::Failed)
        return;
    const qint64 unsent = bytesQueued;
    qint64 waitingBytes = 0;
    for (const WaitingWrite &w : m_waitingWrites)
        waitingBytes += w.size;
    if (unsent > 0) {
        failWrite(Error(Error::Kind::Closed,
                        QStringLiteral("the peer closed the connection with %1 accepted not sent")
                                .arg(bytesText(unsent)),
                        errorEndpoint()));
    } else {
        // Nothing accepted is lost: the write side ends as after our own shutdown. Writes that
        // wait were never accepted: they get Eof, as any write after the end.
        m_writeEndedCleanly = true;
        WaitingWrites waiting = std::exchange(m_waitingWrites, {});
        writesWaiting = 0;
        std::vector<Promise<WriteResult>> shutdowns = std::exchange(m_shutdownPromises, {});
        writeState = Flow::WriteState::Closed;
        notify(&Flow::writeStateChanged, Flow::WriteState::Closed);
        if (!waiting.empty())
            notify(&Flow::writesWaitingChanged, 0);
        for (WaitingWrite &w : waiting)
            reject(w.id, std::move(w.promise), WriteResult::eof());
        for (Promise<WriteResult> &promise : shutdowns)
            promise.finish(WriteResult::ok());
    }
    Q_UNUSED(waitingBytes);
    maybeFinish();
}

// ---- both sides

void FlowPrivate::onConnected()
{
    if (state != Flow::State::Connecting)
        return;
    publishEndpoints();
    noteActivity();
    notify(&Flow::endpointsChanged);
    setState(m_closing ? Flow::State::Closing : Flow::State::Open);
    if (!sendQueue.empty())
        transportWrite();
    maybeSendFin();
    updateReadInterest();
    if (idleTimeoutMs > 0)
        rearmTimer();
}

void FlowPrivate::fail(const Error &error, bool abortTransport)
{
    releaseHeldReads(); // what they held is served first (a continuation may end us)
    if (state == Flow::State::Closed)
        return;
    qCDebug(lcFlow) << q_ptr << "failed:" << error;
    // Settle every state first: a continuation or handler run below sees the final picture,
    // so a read() or abort() from one of them resolves at once instead of queueing forever.
    const Flow::State oldState = state;
    const Flow::ReadState oldRead = readState;
    const Flow::WriteState oldWrite = writeState;
    state = Flow::State::Closed;
    const bool first = lastError().isNone();
    setError(error);
    if (abortTransport)
        transportAbort();
    else
        transportRelease();
    m_readEnabled = false;
    m_timer.stop();

    PendingReads reads;
    if (readState == Flow::ReadState::Open) {
        readError = error;
        readState = Flow::ReadState::Failed;
        reads = std::exchange(m_pendingReads, {});
    }
    const qint64 lost = bytesQueued;
    std::vector<quint64> lostIds;
    WaitingWrites waiting;
    std::vector<Promise<WriteResult>> shutdowns;
    if (writeState != Flow::WriteState::Closed && writeState != Flow::WriteState::Failed) {
        for (const Chunk &chunk : std::as_const(sendQueue)) {
            if (lostIds.empty() || lostIds.back() != chunk.id)
                lostIds.push_back(chunk.id);
        }
        sendQueue.clear();
        frontOffset = 0;
        bytesQueued = 0;
        stats.bytesUnsent += lost;
        waiting = std::exchange(m_waitingWrites, {});
        writesWaiting = 0;
        shutdowns = std::exchange(m_shutdownPromises, {});
        writeError = error;
        writeState = Flow::WriteState::Failed;
    }
    std::vector<Promise<CloseResult>> closes = std::exchange(m_closePromises, {});

    // Now tell.
    if (oldWrite != writeState)
        notify(&Flow::writeStateChanged, Flow::WriteState(writeState));
    if (oldRead != readState)
        notify(&Flow::readStateChanged, Flow::ReadState(readState));
    if (lost)
        notify(&Flow::bytesQueuedChanged, qint64(0));
    if (!waiting.empty())
        notify(&Flow::writesWaitingChanged, 0);
    qCDebug(lcFlow) << q_ptr << "state" << oldState << "->" << Flow::State::Closed;
    notify(&Flow::stateChanged, Flow::State::Closed);
    for (quint64 id : lostIds)
        notify(&Flow::writeLost, id, error);
    if (first)
        notify(&Flow::errorOccurred, error);
    const WriteResult writeResult = WriteResult::fromError(writeError);
    for (WaitingWrite &w : waiting)
        reject(w.id, std::move(w.promise), writeResult);
    for (Promise<WriteResult> &promise : shutdowns)
        promise.finish(writeResult);
    for (PendingRead &r : reads)
        r.promise.finish(ReadResult::fromError(readError));
    const CloseResult closed = closeResult();
    for (Promise<CloseResult> &promise : closes)
        promise.finish(closed);
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
    m_threadEnd.watch();
}

void FlowPrivate::onThreadFinished(QThread *finishing)
{
    // Called in the finishing thread; moveToThread() happens there too, so this compares
    // without a race. Null: the flow's thread has already finished (see runOnFlowThread()).
    if (finishing && q_ptr->thread() != finishing)
        return;
    fail(Error(Error::Kind::Aborted, QStringLiteral("the flow's thread finished")), true);
    runPostedNow();
}

void FlowPrivate::leaveThread()
{
    transportLeaveThread();
    m_timer.detach();
    m_threadEnd.detach();
    // Cancel watchers stay in the thread that made them: the new thread makes its own.
    for (PendingRead &r : m_pendingReads)
        r.cancelWatch.reset();
    for (WaitingWrite &w : m_waitingWrites)
        w.cancelWatch.reset();
    m_cancelWatchDueNs = NoDeadline;
}

void FlowPrivate::joinThread()
{
    watchThread();
    transportJoinThread();
    m_timer.attach();
    if (!m_pendingReads.empty() || !m_waitingWrites.empty())
        watchCancelSoon();
}

void FlowPrivate::runOnFlowThread(std::function<void()> op)
{
    QThread *thread = q_ptr->thread(); // null once the flow's QThread object was deleted
    if (QThread::currentThread() == thread) {
        watchThread();
        op();
        return;
    }
    QMutexLocker locker(&m_postedMutex);
    if (m_threadEnded || !thread || thread->isFinished()) {
        // Nothing runs in the flow's thread any more: the operation resolves at once with the
        // flow's sticky result, here, one at a time. A flow moved to a thread that ended before
        // it took the flow in was not aborted by that end: it is aborted here, first.
        if (!m_threadEnded)
            onThreadFinished(nullptr);
        op();
        return;
    }
    auto call = std::make_shared<PostedCall>();
    call->op = std::move(op);
    auto it = m_posted.insert(m_posted.end(), call);
    locker.unlock();
    QMetaObject::invokeMethod(
            q_ptr,
            [this, call, it] {
                {
                    QMutexLocker locker(&m_postedMutex);
                    if (call->done)
                        return;
                    call->done = true;
                    m_posted.erase(it);
                }
                watchThread();
                call->op();
            },
            Qt::QueuedConnection);
}

// The flow's thread ends: calls posted to it will never run there. Run them now, after the
// flow was aborted, and mark the thread ended for calls still to come.
void FlowPrivate::runPostedNow()
{
    std::list<std::shared_ptr<PostedCall>> posted;
    {
        QMutexLocker locker(&m_postedMutex);
        m_threadEnded = true;
        posted = std::exchange(m_posted, {});
        for (auto &call : posted)
            call->done = true;
    }
    for (auto &call : posted)
        call->op();
}

std::shared_ptr<Lifeline> FlowPrivate::lifeline()
{
    QMutexLocker locker(&infoMutex);
    if (!m_lifeline) {
        m_lifeline = std::make_shared<Lifeline>();
        m_lifeline->object = q_ptr;
    }
    return m_lifeline;
}

void FlowPrivate::cutLifeline()
{
    std::shared_ptr<Lifeline> line;
    {
        QMutexLocker locker(&infoMutex);
        line = m_lifeline;
    }
    if (line) {
        QMutexLocker locker(&line->mutex); // waits for a call through a FlowRef to return
        line->object = nullptr;
    }
}

void FlowPrivate::destroy()
{
    m_destroying = true;
    // Callbacks whose context is this flow do not run: their context is going.
    const DestroyingScope destroying(q_ptr);
    fail(abortedError(), true);
}

// Both directions are done: release the transport and finish close().
void FlowPrivate::maybeFinish()
{
    if (state == Flow::State::Closed || !m_peerEof
        || (writeState != Flow::WriteState::Closed && writeState != Flow::WriteState::Failed))
        return;
    state = Flow::State::Closed;
    transportRelease();
    m_readEnabled = false;
    m_timer.stop();
    std::vector<Promise<CloseResult>> closes = std::exchange(m_closePromises, {});
    notify(&Flow::stateChanged, Flow::State::Closed);
    const CloseResult result = closeResult();
    for (Promise<CloseResult> &promise : closes)
        promise.finish(result);
}

void FlowPrivate::shutdown(Flow::Direction direction, Promise<WriteResult> promise)
{
    if (direction != Flow::Direction::Write)
        releaseHeldReads(); // what they held is read, not discarded
    if (direction != Flow::Direction::Write && readState == Flow::ReadState::Open) {
        m_readShut = true;
        stats.bytesDiscarded += m_receivedBytes;
        m_received.clear();
        m_receivedBytes = 0;
        PendingReads pending = std::exchange(m_pendingReads, {});
        setReadState(Flow::ReadState::Eof);
        for (PendingRead &r : pending)
            r.promise.finish(ReadResult::eof());
        updateReadInterest(); // keep draining so the peer's end of stream is still seen
    }
    if (direction == Flow::Direction::Read) {
        promise.finish(WriteResult::ok());
        return;
    }
    if (writeState == Flow::WriteState::Closed || writeState == Flow::WriteState::Failed) {
        promise.finish(shutdownResult());
        return;
    }
    m_shutdownPromises.push_back(std::move(promise));
    startShutdownWrite();
}

void FlowPrivate::close(Promise<CloseResult> promise, qint64 deadline)
{
    setReadPaused(false); // closing takes input whatever the reader does
    if (state == Flow::State::Closed) {
        promise.finish(closeResult());
        return;
    }
    m_closePromises.push_back(std::move(promise));
    if (deadline < m_closeDeadlineNs) {
        m_closeDeadlineNs = deadline;
        rearmTimer();
    }
    if (!m_closing) {
        m_closing = true;
        if (state == Flow::State::Open)
            setState(Flow::State::Closing);
        // What is buffered stays for later reads; from now on input is taken whatever the
        // reader does, up to the bound, so the peer's end of stream can be seen.
        updateReadInterest();
    }
    startShutdownWrite();
    maybeFinish();
}

void FlowPrivate::applyHighWaterMark()
{
    const qint64 bytes = highWaterMark;
    if (bytes == appliedHighWaterMark)
        return;
    appliedHighWaterMark = bytes;
    notify(&Flow::highWaterMarkChanged, bytes);
    if (state != Flow::State::Closed)
        acceptWaiting();
}

void FlowPrivate::applyIdleTimeout()
{
    noteActivity();
    rearmTimer();
}

// ---- deadlines and the idle timeout: one timer entry per flow on its thread's reactor, due at
// the earliest of them

void FlowPrivate::rearmTimer()
{
    if (state == Flow::State::Closed)
        return;
    qint64 due = m_closeDeadlineNs;
    for (const PendingRead &r : m_pendingReads)
        due = qMin(due, r.deadlineNs);
    for (const WaitingWrite &w : m_waitingWrites)
        due = qMin(due, w.deadlineNs);
    due = qMin(due, m_cancelWatchDueNs);
    const int idle = idleTimeoutMs;
    if (idle > 0 && state != Flow::State::Connecting)
        due = qMin(due, m_lastActivityNs + qint64(idle) * 1000000);
    if (due == NoDeadline)
        m_timer.stop();
    else
        m_timer.start(due);
}

void FlowPrivate::onTimer()
{
    const qint64 now = nowNs();
    if (m_closeDeadlineNs <= now && state != Flow::State::Closed) {
        fail(Error(Error::Kind::TimedOut, QStringLiteral("closing timed out"), errorEndpoint()),
             true);
        return;
    }
    PendingReads late;
    for (auto it = m_pendingReads.begin(); it != m_pendingReads.end();) {
        if (it->deadlineNs <= now || it->promise.isCanceled()) {
            late.push_back(std::move(*it));
            it = m_pendingReads.erase(it);
        } else {
            ++it;
        }
    }
    if (!late.empty()) {
        updateReadInterest();
        const Error timedOut(Error::Kind::TimedOut, QStringLiteral("no data before the deadline"),
                             errorEndpoint());
        for (PendingRead &r : late)
            r.promise.finish(ReadResult::fromError(timedOut));
    }
    bool lateWrite = false;
    for (const WaitingWrite &w : m_waitingWrites)
        lateWrite = lateWrite || w.deadlineNs <= now;
    if (lateWrite) {
        // Withdraws every late write, not only the front one; the rest keep their order.
        WaitingWrites keepWaiting;
        WaitingWrites withdrawn;
        for (WaitingWrite &w : m_waitingWrites)
            (w.deadlineNs <= now ? withdrawn : keepWaiting).push_back(std::move(w));
        m_waitingWrites = std::move(keepWaiting);
        writesWaiting = int(m_waitingWrites.size());
        notify(&Flow::writesWaitingChanged, int(m_waitingWrites.size()));
        const WriteResult timedOut = WriteResult::fromError(
                Error(Error::Kind::TimedOut,
                      QStringLiteral("the send queue was full until the deadline"), errorEndpoint()));
        for (WaitingWrite &w : withdrawn)
            reject(w.id, std::move(w.promise), timedOut);
        maybeSendFin();
    }
    if (m_cancelWatchDueNs <= now)
        watchWaitingForCancel();
    const int idle = idleTimeoutMs;
    if (idle > 0 && state != Flow::State::Closed && state != Flow::State::Connecting
        && m_lastActivityNs + qint64(idle) * 1000000 <= now) {
        m_lastActivityNs = now; // the next notice after another idle period
        qCDebug(lcFlow) << q_ptr << "idle for" << idle << "ms";
        notify(&Flow::idleTimedOut);
        if (idleAction == Flow::IdleAction::Abort)
            fail(Error(Error::Kind::TimedOut, QStringLiteral("idle for %1 ms").arg(idle),
                       errorEndpoint()),
                 true);
    }
    rearmTimer();
}

// ---------------------------------------------------------------------------------------------
// Flow

Flow::Flow(FlowPrivate &dd, QObject *parent) : QObject(parent), d_rill(&dd)
{
    d_rill->q_ptr = this;
    d_rill->watchThread();
    probe::addFlow(this);
}

Flow::~Flow()
{
    Q_D(Flow);
    probe::removeFlow(this); // first: the probe reads the flow only while it is registered
    d->cutLifeline();
    d->destroy();
}

bool Flow::event(QEvent *event)
{
    if (event->type() == QEvent::ThreadChange) {
        // Sent in the old thread before the move; a posted call moves with the flow and runs
        // first thing in the new thread, so operations left pending follow the flow to its new
        // thread's end, and its descriptors and deadlines to the new thread's reactor.
        d_func()->leaveThread();
        QMetaObject::invokeMethod(this, [d = d_func()] { d->joinThread(); }, Qt::QueuedConnection);
    }
    return QObject::event(event);
}

QFuture<ReadResult> Flow::read(QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    return onFlowThread<ReadResult>(d_func(), [due](FlowPrivate *d, Promise<ReadResult> p) {
        d->read(std::move(p), due);
    });
}

QFuture<WriteResult> Flow::write(const QByteArray &buffer, QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    return onFlowThread<WriteResult>(d_func(),
                                     [buffer, due](FlowPrivate *d, Promise<WriteResult> p) {
                                         d->write(buffer, std::move(p), due);
                                     });
}

QFuture<WriteResult> Flow::writev(const QList<QByteArray> &buffers, QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    return onFlowThread<WriteResult>(d_func(),
                                     [buffers, due](FlowPrivate *d, Promise<WriteResult> p) {
                                         d->write(buffers, std::move(p), due);
                                     });
}

void Flow::read(const QObject *context, ReadCallback callback, QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    onFlowThread(d_func(),
                 callbackPromise<ReadResult>(this, context, std::move(callback),
                                             [d = d_func()](const ReadResult &sent) {
                                                 return d->sendDelivery(sent);
                                             }),
                 [due](FlowPrivate *d, Promise<ReadResult> p) { d->read(std::move(p), due); });
}

void Flow::write(const QByteArray &buffer, const QObject *context, WriteCallback callback,
                 QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    onFlowThread(d_func(), callbackPromise<WriteResult>(this, context, std::move(callback)),
                 [buffer, due](FlowPrivate *d, Promise<WriteResult> p) {
                     d->write(buffer, std::move(p), due);
                 });
}

void Flow::writev(const QList<QByteArray> &buffers, const QObject *context,
                  WriteCallback callback, QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    onFlowThread(d_func(), callbackPromise<WriteResult>(this, context, std::move(callback)),
                 [buffers, due](FlowPrivate *d, Promise<WriteResult> p) {
                     d->write(buffers, std::move(p), due);
                 });
}

QFuture<CloseResult> Flow::close(QDeadlineTimer deadline)
{
    const qint64 due = deadlineNs(deadline);
    return onFlowThread<CloseResult>(d_func(), [due](FlowPrivate *d, Promise<CloseResult> p) {
        d->close(std::move(p), due);
    });
}

QFuture<WriteResult> Flow::shutdown(Direction direction)
{
    return onFlowThread<WriteResult>(d_func(),
                                     [direction](FlowPrivate *d, Promise<WriteResult> p) {
                                         d->shutdown(direction, std::move(p));
                                     });
}

void Flow::abort()
{
    d_func()->runOnFlowThread([d = d_func()] { d->abort(); });
}

Flow::State Flow::state() const { return d_func()->state; }
Flow::ReadState Flow::readState() const { return d_func()->readState; }
Flow::WriteState Flow::writeState() const { return d_func()->writeState; }
qint64 Flow::highWaterMark() const { return d_func()->highWaterMark; }
qint64 Flow::bytesQueued() const { return d_func()->bytesQueued; }
int Flow::writesWaiting() const { return d_func()->writesWaiting; }
FlowStats Flow::stats() const { return d_func()->statsSnapshot(); }
Error Flow::error() const { return d_func()->lastError(); }
Endpoint Flow::localEndpoint() const { return d_func()->localEndpoint(); }
Endpoint Flow::peerEndpoint() const { return d_func()->peerEndpoint(); }
QString Flow::transportName() const { return d_func()->transportName(); }
int Flow::idleTimeout() const { return d_func()->idleTimeoutMs; }
Flow::IdleAction Flow::idleAction() const { return d_func()->idleAction; }

void Flow::setHighWaterMark(qint64 bytes)
{
    Q_D(Flow);
    d->highWaterMark = qMax<qint64>(bytes, 1);
    d->runOnFlowThread([d] { d->applyHighWaterMark(); });
}

void Flow::setIdleTimeout(int milliseconds)
{
    Q_D(Flow);
    milliseconds = qMax(milliseconds, 0);
    if (d->idleTimeoutMs == milliseconds)
        return;
    d->idleTimeoutMs = milliseconds;
    d->runOnFlowThread([d, milliseconds] {
        d->applyIdleTimeout();
        Q_EMIT d->q_func()->idleTimeoutChanged(milliseconds);
    });
}

void Flow::setIdleTimeout(std::chrono::milliseconds timeout)
{
    setIdleTimeout(int(qBound(qint64(0), qint64(timeout.count()), qint64(std::numeric_limits<int>::max()))));
}

void Flow::setIdleAction(IdleAction action)
{
    Q_D(Flow);
    if (d->idleAction == action)
        return;
    d->idleAction = action;
    d->runOnFlowThread([d, action] { Q_EMIT d->q_func()->idleActionChanged(action); });
}

static bool isDataSignal(const QMetaMethod &signal)
{
    return signal == QMetaMethod::fromSignal(&Flow::dataArrived)
            || signal == QMetaMethod::fromSignal(&Flow::dataSent);
}

void Flow::connectNotify(const QMetaMethod &signal)
{
    if (isDataSignal(signal))
        d_func()->observerGeneration.fetch_add(1, std::memory_order_acq_rel);
}

// Qt calls this with its connection lock held, so no isSignalConnected() here; a disconnect of
// everything at once comes with an invalid signal. Either way the flow asks again later.
void Flow::disconnectNotify(const QMetaMethod &signal)
{
    if (!signal.isValid() || isDataSignal(signal))
        d_func()->observerGeneration.fetch_add(1, std::memory_order_acq_rel);
}

QDebug operator<<(QDebug debug, const FlowStats &stats)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "rill::FlowStats(read " << stats.bytesRead << " bytes in " << stats.readOps
                    << " reads, wrote " << stats.bytesWritten << " bytes in " << stats.writeOps
                    << " writes";
    if (stats.bytesDiscarded)
        debug << ", " << stats.bytesDiscarded << " discarded";
    if (stats.bytesUnsent)
        debug << ", " << stats.bytesUnsent << " unsent";
    if (stats.bytesReadSpliced || stats.bytesWrittenSpliced)
        debug << ", spliced " << stats.bytesReadSpliced << " in, " << stats.bytesWrittenSpliced
              << " out";
    debug << ')';
    return debug;
}

} // namespace rill
