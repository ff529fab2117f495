// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/channel.h>

#include "promise_p.h"

#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <vector>

namespace rill {

Q_LOGGING_CATEGORY(lcChannel, "rill.channel", QtWarningMsg)

namespace {

// Small writes are copied into blocks of this size, so a burst of them leaves as a few large
// buffers instead of one iovec (and one send-queue entry in the flow) each.
constexpr qsizetype BlockSize = 16 * 1024;
// write(const QByteArray &) keeps arrays of at least this size as they are (no copy); below it
// copying is cheaper than the flow's bookkeeping of one more buffer (measured: 1 KiB messages
// went from 1.2x to 1.8x raw QTcpSocket's speed when copied).
constexpr qsizetype ShareFrom = 4096;

Error channelDestroyed()
{
    return Error(Error::Kind::Aborted, QStringLiteral("the channel was destroyed"));
}

Error flowGone()
{
    return Error(Error::Kind::Aborted, QStringLiteral("the flow was destroyed"));
}

ReadResult readError(Error::Kind kind, const QString &message)
{
    return ReadResult::fromError(Error(kind, message));
}

// A piece of the read buffer: bytes [position, position + size) of what is buffered.
struct Piece
{
    const char *data;
    qsizetype size;
    qsizetype position;
};

} // namespace

class ChannelPrivate
{
public:
    struct ReadRequest
    {
        enum class Kind : quint8 { Line, Exactly, Until, Some };
        ReadRequest(Kind kind, Channel::Terminator terminator, qsizetype size,
                    QByteArrayView delimiter, QDeadlineTimer deadline,
                    Promise<ReadResult> &&promise, const QObject *context = nullptr)
            : kind(kind), terminator(terminator), size(size), delimiter(delimiter.toByteArray()),
              deadline(deadline), promise(std::move(promise)),
              context(const_cast<QObject *>(context)), hasContext(context)
        {}
        // Its future was cancelled, or its callback's context destroyed: it takes nothing.
        // Checked before serving, since a read consumes its bytes before it finishes.
        bool isAbandoned() const { return promise.isCanceled() || (hasContext && !context); }

        Kind kind;
        Channel::Terminator terminator;
        qsizetype size;        // maxLength, or the exact size
        QByteArray delimiter;  // Until
        QDeadlineTimer deadline;
        qsizetype scanned = 0; // bytes already searched for the delimiter
        Promise<ReadResult> promise; // a future's, or a callback's (see callbackPromise())
        QPointer<QObject> context;   // a callback's context, if it has one
        bool hasContext;
    };

    explicit ChannelPrivate(Channel *channel, Flow *flow);

    // ---- read side
    // Why a read with these arguments is refused at once (InvalidArgument), if it is.
    static std::optional<ReadResult> invalidRead(ReadRequest::Kind kind, qsizetype size,
                                                 QByteArrayView delimiter);
    QFuture<ReadResult> read(ReadRequest::Kind kind, Channel::Terminator terminator,
                             qsizetype size, QByteArrayView delimiter, QDeadlineTimer deadline);
    void read(ReadRequest::Kind kind, Channel::Terminator terminator, qsizetype size,
              QByteArrayView delimiter, QDeadlineTimer deadline, const QObject *context,
              Channel::ReadCallback &&callback);
    template<typename T, typename F>
    void onChannelThread(T item, F f);
    static void finishAborted(ReadRequest &r, const Error &error)
    {
        r.promise.finish(ReadResult::fromError(error));
    }
    static void finishAborted(Promise<WriteResult> &promise, const Error &error)
    {
        promise.finish(WriteResult::fromError(error));
    }
    void enqueue(ReadRequest &&request);
    // What a read of this kind would give from the buffer now; nullopt while it must wait.
    // `scanned` keeps how far a delimiter was already searched for between attempts.
    std::optional<ReadResult> attempt(ReadRequest::Kind kind, Channel::Terminator terminator,
                                      qsizetype size, QByteArrayView delimiter,
                                      qsizetype &scanned);
    std::optional<ReadResult> attempt(ReadRequest &r)
    {
        return attempt(r.kind, r.terminator, r.size, r.delimiter, r.scanned);
    }
    std::optional<ReadResult> attemptDelimited(Channel::Terminator terminator, qsizetype size,
                                               QByteArrayView needle, bool line,
                                               qsizetype &scanned);
    // The try*() reads: at once from the buffer, only when no read is waiting ahead.
    std::optional<ReadResult> tryNow(ReadRequest::Kind kind, Channel::Terminator terminator,
                                     qsizetype size, QByteArrayView delimiter);
    std::optional<ReadResult> endResult() const { return m_readEnd; }
    void serve();
    void readFromFlow();
    void onFlowRead(const ReadResult &result);
    Settle<ReadResult> sendDelivery(ReadRequest::Kind kind, const QByteArray &delimiter,
                                    const ReadResult &sent);
    void settleDelivery(quint64 id, const QByteArray *undelivered);
    void expireDeadlines();
    void armDeadlineTimer();
    void shutdownRead();

    template<typename F>
    void forEachPiece(qsizetype from, qsizetype to, F &&f) const;
    qsizetype indexOf(QByteArrayView needle, qsizetype from, qsizetype to) const;
    QByteArray copyRange(qsizetype from, qsizetype to) const;
    char byteAt(qsizetype position) const;
    QByteArray take(qsizetype size);
    void skip(qsizetype size);

    // ---- write side
    bool canTake(qsizetype size);
    void appendCopy(const char *data, qsizetype size);
    void closeTail();
    void updateRoom();
    void appended();
    void startFlush();
    void onFlushDone(const WriteResult &result);
    void endWrites(const WriteResult &result);
    void maybeDrained();
    void flush(Promise<WriteResult> &&promise);
    QFuture<WriteResult> flush()
    {
        Promise<WriteResult> promise;
        QFuture<WriteResult> future = promise.future();
        flush(std::move(promise));
        return future;
    }
    QFuture<WriteResult> endWriteSide(bool close);
    void finishEnd(quint64 id, const WriteResult &result);

    // ---- the flow's own shutdown() and close(): the only calls of them
    QFuture<WriteResult> flowShutdown(Flow::Direction direction);
    QFuture<WriteResult> flowClose();

    template<typename F>
    void whenFinished(QFuture<WriteResult> future, F &&f);

    void abortAll();

    Channel *q;
    QPointer<Flow> m_flow;

    // Read side. The flow's segments as they came, the front one partly consumed.
    // Each knows where it ends in the stream (bytes since the channel began), so a position is
    // found by binary search, not by walking the segments: a peer that sends a byte at a time
    // must not make a search cost the square of the segments.
    struct Segment
    {
        QByteArray bytes;
        qint64 end;
        qint64 start() const { return end - bytes.size(); }
    };
    std::deque<Segment> m_segments;
    qint64 m_consumed = 0;  // stream offset of the first buffered byte
    qint64 m_received = 0;  // stream offset of the end of the last segment
    qsizetype m_buffered = 0;
    std::deque<ReadRequest> m_requests;
    std::optional<ReadResult> m_readEnd; // Eof or an error, once the flow gave it
    bool m_flowReadPending = false;
    bool m_flowReadInCall = false; // inside m_flow->read(): its result is taken, not served yet
    bool m_serving = false;
    bool m_readShut = false;
    // A read's result is in flight to a callback in another thread (see Delivery): nothing is
    // served until it settles; if it was not delivered, its bytes go back in front.
    bool m_delivering = false;
    quint64 m_deliveryId = 0;   // the last one sent
    qint64 m_attemptFrom = 0;   // where the last attempt() began consuming
    std::shared_ptr<Lifeline> m_lifeline; // made at the first delivery to another thread
    QTimer *m_deadlineTimer = nullptr;

    // Write side. m_out holds what write() took; its last entry is a block of ours that small
    // writes are copied into when m_tailIsBlock: a block of BlockSize (or more) bytes of which
    // the first m_tailUsed are written.
    QList<QByteArray> m_out;
    qsizetype m_outBytes = 0;
    bool m_tailIsBlock = false;
    qsizetype m_tailUsed = 0;
    // write()'s fast path: room bytes may be copied to m_tail with no other check (the tail has
    // room, no flush is due, the end-of-turn flush is posted, writes are open). 0 whenever any of
    // that may have changed; the slow path computes it again.
    char *m_tail = nullptr;
    qsizetype m_room = 0;
    qint64 m_limit = Channel::DefaultWriteBufferLimit;
    bool m_flushInFlight = false; // a writev() of the flow has not been accepted yet
    bool m_flushPosted = false;   // the end-of-turn flush is posted
    bool m_needDrain = false;     // write() refused bytes: emit drained() when it takes them again
    bool m_writeShut = false;     // shutdown(Write) or close() was called
    std::optional<WriteResult> m_writeEnd; // what the flow gave instead of Ok, for good
    Error m_writeError;
    std::vector<Promise<WriteResult>> m_flushWaiting;  // resolved by the writev of m_out
    std::vector<Promise<WriteResult>> m_flushInFlight_; // resolved by the writev in flight
    std::map<quint64, Promise<WriteResult>> m_endPromises; // shutdown(Write) and close()
    quint64 m_lastEndId = 0;
    bool m_destroying = false; // abortAll() ran: nothing new starts, no flow call is made
};

ChannelPrivate::ChannelPrivate(Channel *channel, Flow *flow) : q(channel), m_flow(flow)
{
    if (!flow) {
        const Error error(Error::Kind::InvalidArgument, QStringLiteral("no flow"));
        m_readEnd = ReadResult::fromError(error);
        m_writeEnd = WriteResult::fromError(error);
        m_writeError = error;
    }
}

// ---------------------------------------------------------------------------------------------
// The read buffer

// Calls f(piece) for the buffered bytes [from, to), segment by segment, until f returns false.
template<typename F>
void ChannelPrivate::forEachPiece(qsizetype from, qsizetype to, F &&f) const
{
    const qint64 first = m_consumed + from;
    const qint64 last = m_consumed + to;
    auto it = std::upper_bound(m_segments.begin(), m_segments.end(), first,
                               [](qint64 at, const Segment &s) { return at < s.end; });
    for (; it != m_segments.end() && it->start() < last; ++it) {
        const qint64 lo = qMax(first, it->start());
        const qint64 hi = qMin(last, it->end);
        if (lo < hi
            && !f(Piece{it->bytes.constData() + (lo - it->start()), qsizetype(hi - lo),
                        qsizetype(lo - m_consumed)}))
            return;
    }
}

// Where needle first occurs wholly inside the buffered bytes [from, to), or -1. Searches each
// segment in place; only a match across a segment boundary is checked in a small copy.
qsizetype ChannelPrivate::indexOf(QByteArrayView needle, qsizetype from, qsizetype to) const
{
    const qsizetype n = needle.size();
    qsizetype found = -1;
    if (to - from < n)
        return found;
    if (n == 1) {
        const char c = needle.front();
        forEachPiece(from, to, [&](const Piece &p) {
            const void *hit = std::memchr(p.data, c, size_t(p.size));
            if (hit)
                found = p.position + (static_cast<const char *>(hit) - p.data);
            return !hit;
        });
        return found;
    }
    // One pass: carry holds the last n - 1 bytes before the piece, so a match across a
    // boundary is found in carry + the piece's first n - 1 bytes.
    QByteArray carry;
    qsizetype carryStart = from;
    forEachPiece(from, to, [&](const Piece &p) {
        if (!carry.isEmpty()) {
            QByteArray window = carry;
            window.append(p.data, qMin(p.size, n - 1));
            const qsizetype across = window.indexOf(needle);
            if (across >= 0 && across < carry.size()) {
                found = carryStart + across;
                return false;
            }
        }
        const qsizetype inside = QByteArrayView(p.data, p.size).indexOf(needle);
        if (inside >= 0) {
            found = p.position + inside;
            return false;
        }
        const qsizetype tail = qMin(p.size, n - 1);
        carry.append(p.data + p.size - tail, tail);
        if (carry.size() > n - 1)
            carry.remove(0, carry.size() - (n - 1));
        carryStart = p.position + p.size - carry.size();
        return true;
    });
    return found;
}

QByteArray ChannelPrivate::copyRange(qsizetype from, qsizetype to) const
{
    QByteArray bytes;
    if (to <= from)
        return bytes;
    const Segment &front = m_segments.front();
    if (from == 0 && front.start() == m_consumed && front.bytes.size() == to)
        return front.bytes; // the whole first segment: shared, not copied
    forEachPiece(from, to, [&](const Piece &p) {
        if (p.size == to - from) { // within one segment (a line of many): one allocation
            bytes = QByteArray(p.data, p.size);
            return false;
        }
        if (bytes.isEmpty())
            bytes.reserve(to - from);
        bytes.append(p.data, p.size);
        return true;
    });
    return bytes;
}

char ChannelPrivate::byteAt(qsizetype position) const
{
    char c = 0;
    forEachPiece(position, position + 1, [&](const Piece &p) {
        c = *p.data;
        return false;
    });
    return c;
}

// Removes the first size bytes and returns them: the flow's segment itself when it is exactly
// that, else one copy.
QByteArray ChannelPrivate::take(qsizetype size)
{
    Q_ASSERT(size > 0 && size <= m_buffered);
    Segment &front = m_segments.front();
    QByteArray bytes;
    if (front.start() == m_consumed && front.bytes.size() == size) {
        bytes = std::move(front.bytes);
        m_segments.pop_front();
        m_buffered -= size;
        m_consumed += size;
        return bytes;
    }
    bytes = copyRange(0, size);
    skip(size);
    return bytes;
}

void ChannelPrivate::skip(qsizetype size)
{
    m_buffered -= size;
    m_consumed += size;
    while (!m_segments.empty() && m_segments.front().end <= m_consumed)
        m_segments.pop_front();
}

// ---------------------------------------------------------------------------------------------
// Reads

std::optional<ReadResult> ChannelPrivate::invalidRead(ReadRequest::Kind kind, qsizetype size,
                                                      QByteArrayView delimiter)
{
    using Kind = ReadRequest::Kind;
    if (kind == Kind::Until && (delimiter.isEmpty() || size < delimiter.size()))
        return readError(Error::Kind::InvalidArgument,
                         QStringLiteral("the delimiter must be non-empty and no longer than "
                                        "maxLength"));
    if (size < 1)
        return readError(Error::Kind::InvalidArgument,
                         kind == Kind::Exactly ? QStringLiteral("size must be positive")
                                               : QStringLiteral("maxLength must be positive"));
    return std::nullopt;
}

QFuture<ReadResult> ChannelPrivate::read(ReadRequest::Kind kind, Channel::Terminator terminator,
                                         qsizetype size, QByteArrayView delimiter,
                                         QDeadlineTimer deadline)
{
    if (std::optional<ReadResult> invalid = invalidRead(kind, size, delimiter))
        return readyFuture(*invalid);
    Promise<ReadResult> promise;
    QFuture<ReadResult> future = promise.future();
    enqueue({kind, terminator, size, delimiter, deadline, std::move(promise)});
    return future;
}

void ChannelPrivate::read(ReadRequest::Kind kind, Channel::Terminator terminator, qsizetype size,
                          QByteArrayView delimiter, QDeadlineTimer deadline,
                          const QObject *context, Channel::ReadCallback &&callback)
{
    Promise<ReadResult> promise = callbackPromise<ReadResult>(
            q, context, std::move(callback),
            [this, kind, delimiter = delimiter.toByteArray()](const ReadResult &sent) {
                return sendDelivery(kind, delimiter, sent);
            });
    if (std::optional<ReadResult> invalid = invalidRead(kind, size, delimiter))
        return promise.finish(*invalid);
    onChannelThread(
            ReadRequest(kind, terminator, size, delimiter, deadline, std::move(promise), context),
            [this](ReadRequest &&request) { enqueue(std::move(request)); });
}

// Runs f(item) in the channel's thread: at once from there (the common case, with nothing
// shared to allocate), else queued. A queued call is dropped with the channel: item's promise
// then finishes Aborted as it is destroyed. Once that thread has finished, nothing would ever
// run the call: item finishes Aborted at once.
template<typename T, typename F>
void ChannelPrivate::onChannelThread(T item, F f)
{
    QThread *thread = q->thread();
    if (thread == QThread::currentThread())
        return f(std::move(item));
    if (!thread || thread->isFinished())
        return finishAborted(item, Error(Error::Kind::Aborted,
                                         QStringLiteral("the channel's thread has finished")));
    auto shared = std::make_shared<T>(std::move(item)); // a queued call must be copyable
    QMetaObject::invokeMethod(
            q, [shared, f = std::move(f)]() mutable { f(std::move(*shared)); },
            Qt::QueuedConnection);
}

void ChannelPrivate::enqueue(ReadRequest &&request)
{
    if (m_destroying) // a callback of abortAll() read again
        return request.promise.finish(ReadResult::fromError(channelDestroyed()));
    // Nothing ahead of it: served from the buffer at once when it can be, without queueing.
    if (m_requests.empty() && !m_serving && !m_delivering) {
        if (request.isAbandoned())
            return;
        if (std::optional<ReadResult> result = attempt(request)) {
            // As in serve(): a read made by the callback (or the future's continuation) is
            // queued and served by the loop, not nested, so reading line after line from the
            // callback takes no stack per line.
            m_serving = true;
            request.promise.finish(*result);
            m_serving = false;
            if (!m_requests.empty())
                serve();
            return;
        }
    }
    m_requests.push_back(std::move(request));
    serve();
}

std::optional<ReadResult> ChannelPrivate::attempt(ReadRequest::Kind kind,
                                                  Channel::Terminator terminator, qsizetype size,
                                                  QByteArrayView delimiter, qsizetype &scanned)
{
    using Kind = ReadRequest::Kind;
    m_attemptFrom = m_consumed;
    switch (kind) {
    case Kind::Some:
        if (m_buffered > 0)
            return ReadResult::fromData(take(qMin(size, m_buffered)));
        return endResult();
    case Kind::Exactly:
        if (m_buffered >= size)
            return ReadResult::fromData(take(size));
        if (!m_readEnd)
            return std::nullopt;
        if (m_buffered == 0 || m_readEnd->isError())
            return m_readEnd;
        // The bytes that did arrive stay buffered: readSome() or peek() still give them.
        return readError(Error::Kind::Closed,
                         QStringLiteral("the stream ended after %1 of %2 bytes")
                                 .arg(m_buffered)
                                 .arg(size));
    case Kind::Line:
        return attemptDelimited(terminator, size, QByteArrayView("\n", 1), true, scanned);
    case Kind::Until:
        return attemptDelimited(terminator, size, delimiter, false, scanned);
    }
    return std::nullopt;
}

std::optional<ReadResult> ChannelPrivate::attemptDelimited(Channel::Terminator terminator,
                                                           qsizetype size, QByteArrayView needle,
                                                           bool line, qsizetype &scanned)
{
    const qsizetype limit = qMin(m_buffered, size);
    const qsizetype from = qMax<qsizetype>(0, scanned - (needle.size() - 1));
    const qsizetype at = indexOf(needle, from, limit);
    if (at >= 0) {
        const qsizetype end = at + needle.size();
        if (terminator == Channel::Terminator::Keep)
            return ReadResult::fromData(take(end));
        qsizetype terminator = needle.size();
        if (line && at > 0 && byteAt(at - 1) == '\r')
            ++terminator;
        QByteArray data = end > terminator ? take(end - terminator) : QByteArray();
        skip(terminator);
        return ReadResult::fromData(data);
    }
    scanned = limit;
    if (m_buffered >= size) {
        // Nothing is consumed: the caller may read the long line with readSome().
        return readError(Error::Kind::LineTooLong,
                         line ? QStringLiteral("no end of line in the first %1 bytes").arg(size)
                              : QStringLiteral("no delimiter in the first %1 bytes").arg(size));
    }
    if (!m_readEnd)
        return std::nullopt;
    if (m_buffered == 0 || m_readEnd->isError())
        return m_readEnd;
    if (line) // the last line of a stream may lack its end of line, as in a text file
        return ReadResult::fromData(take(m_buffered));
    return readError(Error::Kind::Closed,
                     QStringLiteral("the stream ended before the delimiter (%1 bytes buffered)")
                             .arg(m_buffered));
}

std::optional<ReadResult> ChannelPrivate::tryNow(ReadRequest::Kind kind,
                                                 Channel::Terminator terminator, qsizetype size,
                                                 QByteArrayView delimiter)
{
    while (!m_requests.empty() && m_requests.front().isAbandoned())
        m_requests.pop_front(); // as serve() would: a cancelled read consumes nothing
    if (!m_requests.empty() || m_delivering)
        return std::nullopt; // reads are served in call order
    qsizetype scanned = 0;
    return attempt(kind, terminator, size, delimiter, scanned);
}

// Serves the requests in call order while the buffer (or the stream's end) answers the first
// one; asks the flow for more when it does not. Re-entered from continuations that read again:
// then the outer loop serves the new request.
void ChannelPrivate::serve()
{
    if (m_serving)
        return;
    m_serving = true;
    while (!m_requests.empty() && !m_delivering) {
        ReadRequest &r = m_requests.front();
        if (r.isAbandoned()) { // cancelled, or its context is gone: consumes nothing
            m_requests.pop_front();
            continue;
        }
        std::optional<ReadResult> result = attempt(r);
        if (!result) {
            if (r.deadline.hasExpired()) {
                result = readError(Error::Kind::TimedOut, QStringLiteral("the read timed out"));
            } else if (m_flowReadPending) {
                break;
            } else {
                readFromFlow(); // gives data or the end at once, or leaves a read pending
                continue;
            }
        }
        Promise<ReadResult> promise = std::move(r.promise);
        m_requests.pop_front();
        promise.finish(*result);
    }
    m_serving = false;
    armDeadlineTimer();
}

void ChannelPrivate::readFromFlow()
{
    if (!m_flow) {
        if (!m_readEnd)
            m_readEnd = ReadResult::fromError(flowGone());
        return;
    }
    // A callback, not a future: a channel over small messages reads the flow once per message.
    // Given at once (data buffered), the caller serves; later, the callback does. With the
    // channel as context it runs only while the channel lives, in its thread, and a channel
    // gone first takes nothing from the flow.
    m_flowReadPending = true;
    m_flowReadInCall = true;
    m_flow->read(q, [this](const ReadResult &result) {
        m_flowReadPending = false;
        onFlowRead(result);
        if (!m_flowReadInCall)
            serve();
    });
    m_flowReadInCall = false;
}

void ChannelPrivate::onFlowRead(const ReadResult &result)
{
    if (m_readShut || m_readEnd)
        return;
    if (result.isData()) {
        const QByteArray data = result.data();
        if (data.isEmpty())
            return;
        m_buffered += data.size();
        m_received += data.size();
        m_segments.push_back(Segment{data, m_received});
    } else {
        m_readEnd = result;
    }
}

// The stream bytes a read consumed are its data and, when it stripped it, the terminator:
// all of them go back if the callback never gets the data.
Settle<ReadResult> ChannelPrivate::sendDelivery(ReadRequest::Kind kind,
                                                const QByteArray &delimiter, const ReadResult &sent)
{
    if (!sent.isData())
        return {}; // the end of stream or error: a later read gets it again
    QByteArray consumed = sent.data();
    const qsizetype stripped = (m_consumed - m_attemptFrom) - consumed.size();
    if (stripped > 0) {
        const QByteArray terminatorBytes = kind == ReadRequest::Kind::Line
                ? QByteArrayLiteral("\r\n")
                : delimiter;
        consumed.append(terminatorBytes.right(stripped));
    }
    m_delivering = true;
    const quint64 id = ++m_deliveryId;
    if (!m_lifeline) {
        m_lifeline = std::make_shared<Lifeline>();
        m_lifeline->object = q;
    }
    return [line = m_lifeline, id, consumed](const ReadResult *undelivered) {
        QMutexLocker locker(&line->mutex);
        if (!line->object) // a channel gone meanwhile dropped its buffer anyway
            return;
        auto *channel = static_cast<Channel *>(line->object);
        // Posted even from the channel's thread: settling serves reads, never from inside
        // whatever destroyed the context.
        QMetaObject::invokeMethod(
                channel,
                [d = channel->d.get(), id, consumed, back = undelivered != nullptr] {
                    d->settleDelivery(id, back ? &consumed : nullptr);
                },
                Qt::QueuedConnection);
    };
}

void ChannelPrivate::settleDelivery(quint64 id, const QByteArray *undelivered)
{
    if (!m_delivering || id != m_deliveryId)
        return; // shutdown(Read) came first: what comes back is discarded, as the buffer was
    m_delivering = false;
    if (undelivered && !undelivered->isEmpty()) {
        qCDebug(lcChannel) << undelivered->size()
                           << "bytes read for a callback came back undelivered";
        // In front of what is buffered: the front segment's consumed part is cut off first,
        // so that segments never overlap.
        if (!m_segments.empty() && m_segments.front().start() < m_consumed) {
            Segment &front = m_segments.front();
            front.bytes = front.bytes.sliced(m_consumed - front.start());
        }
        m_segments.push_front(Segment{*undelivered, m_consumed});
        m_consumed -= undelivered->size();
        m_buffered += undelivered->size();
    }
    serve();
}

void ChannelPrivate::expireDeadlines()
{
    std::vector<Promise<ReadResult>> expired;
    for (auto it = m_requests.begin(); it != m_requests.end();) {
        if (!it->deadline.isForever() && it->deadline.hasExpired()) {
            expired.push_back(std::move(it->promise));
            it = m_requests.erase(it);
        } else {
            ++it;
        }
    }
    for (Promise<ReadResult> &promise : expired)
        promise.finish(readError(Error::Kind::TimedOut, QStringLiteral("the read timed out")));
    serve(); // the first request may have changed
}

void ChannelPrivate::armDeadlineTimer()
{
    qint64 soonest = -1; // nanoseconds
    for (const ReadRequest &r : m_requests) {
        if (r.deadline.isForever())
            continue;
        const qint64 left = qMax<qint64>(r.deadline.remainingTimeNSecs(), 0);
        if (soonest < 0 || left < soonest)
            soonest = left;
    }
    if (soonest < 0) {
        if (m_deadlineTimer && m_deadlineTimer->isActive())
            m_deadlineTimer->stop();
        return;
    }
    if (!m_deadlineTimer) {
        m_deadlineTimer = new QTimer(q);
        m_deadlineTimer->setSingleShot(true);
        m_deadlineTimer->setTimerType(Qt::PreciseTimer);
        QObject::connect(m_deadlineTimer, &QTimer::timeout, q, [this] { expireDeadlines(); });
    }
    // Rounded up: a timer that fires early would find nothing expired and only re-arm.
    m_deadlineTimer->start(int(qMin<qint64>((soonest + 999999) / 1000000, INT_MAX)));
}

void ChannelPrivate::shutdownRead()
{
    m_readShut = true;
    m_delivering = false; // what comes back now is discarded, as the buffer is
    m_segments.clear();
    m_consumed = m_received;
    m_buffered = 0;
    if (!m_readEnd)
        m_readEnd = ReadResult::eof();
    serve();
}

// ---------------------------------------------------------------------------------------------
// Writes

// Whether write() takes size bytes. While the flow holds a flush back (its queue is above its
// high-water mark), the buffer grows to the limit and no further: one write larger than the
// limit is taken only into an empty buffer.
bool ChannelPrivate::canTake(qsizetype size)
{
    if (m_writeShut || m_writeEnd)
        return false;
    if (m_flushInFlight && m_outBytes > 0 && m_outBytes + size > m_limit) {
        m_needDrain = true;
        return false;
    }
    return true;
}

void ChannelPrivate::appendCopy(const char *data, qsizetype size)
{
    if (!m_tailIsBlock || m_out.constLast().size() - m_tailUsed < size) {
        closeTail();
        m_out.append(QByteArray(qMax(size, BlockSize), Qt::Uninitialized));
        m_tailIsBlock = true;
    }
    std::memcpy(m_out.last().data() + m_tailUsed, data, size_t(size));
    m_tailUsed += size;
    m_outBytes += size;
}

// The tail block gets its true size: nothing more is copied into it.
void ChannelPrivate::closeTail()
{
    if (m_tailIsBlock)
        m_out.last().truncate(m_tailUsed);
    m_tailIsBlock = false;
    m_tailUsed = 0;
    m_room = 0;
}

void ChannelPrivate::updateRoom()
{
    m_room = 0;
    if (!m_tailIsBlock || !m_flushPosted || m_writeShut || m_writeEnd)
        return;
    // Not in flight: stay below the limit, where a flush is due. In flight: up to it.
    const qint64 untilLimit = m_limit - m_outBytes - (m_flushInFlight ? 0 : 1);
    m_room = qsizetype(qBound<qint64>(0, untilLimit, m_out.constLast().size() - m_tailUsed));
    m_tail = m_out.last().data() + m_tailUsed;
}

// After write() took bytes: flush now at the limit, else once at the end of this turn.
void ChannelPrivate::appended()
{
    if (m_outBytes >= m_limit && !m_flushInFlight) {
        startFlush();
    } else if (!m_flushPosted) {
        m_flushPosted = true;
        QMetaObject::invokeMethod(
                q,
                [this] {
                    m_flushPosted = false;
                    m_room = 0;
                    if (!m_flushInFlight && m_outBytes > 0)
                        startFlush();
                },
                Qt::QueuedConnection);
    }
    updateRoom();
}

// Hands everything buffered to the flow in one writev(): one entry in its write ledger.
void ChannelPrivate::startFlush()
{
    Q_ASSERT(!m_flushInFlight && m_outBytes > 0);
    closeTail();
    const QList<QByteArray> buffers = std::exchange(m_out, {});
    m_outBytes = 0;
    m_flushInFlight_ = std::exchange(m_flushWaiting, {});
    m_flushInFlight = true;
    if (!m_flow)
        return onFlushDone(WriteResult::fromError(flowGone()));
    m_flow->writev(buffers, q, [this](const WriteResult &result) { onFlushDone(result); });
}

void ChannelPrivate::onFlushDone(const WriteResult &result)
{
    m_flushInFlight = false;
    m_room = 0;
    std::vector<Promise<WriteResult>> done = std::exchange(m_flushInFlight_, {});
    if (!result.isOk())
        endWrites(result);
    for (Promise<WriteResult> &promise : done)
        promise.finish(result);
    // Continuations above may have flushed already.
    if (!m_flushInFlight && m_outBytes > 0 && !m_writeEnd)
        startFlush();
    maybeDrained();
}

// The flow refused a flush (Eof: its write side is closed; or an error): what is buffered can
// never be written. Kept, so that no later write or flush passes it by unnoticed.
void ChannelPrivate::endWrites(const WriteResult &result)
{
    if (m_writeEnd)
        return;
    m_writeEnd = result;
    m_writeError = result.isError()
            ? result.error()
            : Error(Error::Kind::Closed, QStringLiteral("the flow's write side is closed"));
    closeTail();
    m_out.clear();
    m_outBytes = 0;
    qCDebug(lcChannel) << q << "writes failed:" << m_writeError;
    for (Promise<WriteResult> &promise : std::exchange(m_flushWaiting, {}))
        promise.finish(result);
    Q_EMIT q->errorOccurred(m_writeError);
}

void ChannelPrivate::maybeDrained()
{
    if (!m_needDrain || m_writeEnd || m_writeShut || (m_flushInFlight && m_outBytes >= m_limit))
        return;
    m_needDrain = false;
    Q_EMIT q->drained();
}

void ChannelPrivate::flush(Promise<WriteResult> &&promise)
{
    if (m_writeEnd)
        return promise.finish(*m_writeEnd);
    if (m_outBytes == 0 && !m_flushInFlight)
        return promise.finish(WriteResult::ok());
    if (m_outBytes == 0) {
        m_flushInFlight_.push_back(std::move(promise));
    } else {
        m_flushWaiting.push_back(std::move(promise));
        if (!m_flushInFlight)
            startFlush();
    }
}

template<typename F>
void ChannelPrivate::whenFinished(QFuture<WriteResult> future, F &&f)
{
    if (future.isFinished())
        return f(future.result());
    // Futures made here and by the flow are never cancelled: the continuation always runs.
    future.then([self = QPointer<Channel>(q), f = std::forward<F>(f)](const WriteResult &r) {
        if (self && !self->d->m_destroying)
            f(r);
    });
}

// shutdown(Write) and close(): flush, then end the flow's write side (or close it) whatever the
// flush gave; resolve with the flush's result unless it was Ok, else with the flow's.
QFuture<WriteResult> ChannelPrivate::endWriteSide(bool close)
{
    m_writeShut = true;
    m_room = 0;
    const quint64 id = ++m_lastEndId;
    QFuture<WriteResult> future = m_endPromises[id].future();
    whenFinished(flush(), [this, id, close](const WriteResult &flushed) {
        if (!m_flow)
            return finishEnd(id, flushed.isOk() ? WriteResult::fromError(flowGone()) : flushed);
        whenFinished(close ? flowClose() : flowShutdown(Flow::Direction::Write),
                     [this, id, flushed](const WriteResult &ended) {
                         finishEnd(id, flushed.isOk() ? ended : flushed);
                     });
    });
    return future;
}

void ChannelPrivate::finishEnd(quint64 id, const WriteResult &result)
{
    const auto it = m_endPromises.find(id);
    if (it == m_endPromises.end())
        return;
    Promise<WriteResult> promise = std::move(it->second);
    m_endPromises.erase(it);
    promise.finish(result);
}

// Flow::shutdown() and Flow::close() resolve with nothing today; when they give results of
// their own, only these two functions change.
QFuture<WriteResult> ChannelPrivate::flowShutdown(Flow::Direction direction)
{
    return m_flow->shutdown(direction);
}

QFuture<WriteResult> ChannelPrivate::flowClose()
{
    // A synchronous continuation: the channel's result is the write side's; unread input the
    // flow discarded is not an error of the channel's close.
    return m_flow->close().then([](const CloseResult &r) {
        return r.isOk() ? WriteResult::ok() : WriteResult::fromError(r.error());
    });
}

// The channel is going away: what it still owes finishes Aborted. Taken out of the members
// first, so that continuations running from here find the channel consistent.
void ChannelPrivate::abortAll()
{
    m_destroying = true;
    if (m_lifeline) {
        QMutexLocker locker(&m_lifeline->mutex); // waits for a settle on its way here
        m_lifeline->object = nullptr;
    }
    std::deque<ReadRequest> requests = std::exchange(m_requests, {});
    std::vector<Promise<WriteResult>> writes = std::exchange(m_flushWaiting, {});
    for (Promise<WriteResult> &promise : std::exchange(m_flushInFlight_, {}))
        writes.push_back(std::move(promise));
    for (auto &entry : std::exchange(m_endPromises, {}))
        writes.push_back(std::move(entry.second));
    // Callbacks whose context is the channel do not run: their context is going.
    const DestroyingScope destroying(q);
    for (ReadRequest &r : requests)
        r.promise.finish(ReadResult::fromError(channelDestroyed()));
    for (Promise<WriteResult> &promise : writes)
        promise.finish(WriteResult::fromError(channelDestroyed()));
}

// ---------------------------------------------------------------------------------------------
// Channel

Channel::Channel(Flow *flow, QObject *parent) : QObject(parent), d(new ChannelPrivate(this, flow))
{
    if (flow && flow->thread() != thread())
        qCWarning(lcChannel) << "Channel: the flow" << flow << "lives in another thread";
}

Channel::~Channel()
{
    d->abortAll();
}

Flow *Channel::flow() const
{
    return d->m_flow.data();
}

QFuture<ReadResult> Channel::readLine(qsizetype maxLength, Terminator terminator,
                                      QDeadlineTimer deadline)
{
    return d->read(ChannelPrivate::ReadRequest::Kind::Line, terminator, maxLength, {}, deadline);
}

QFuture<ReadResult> Channel::readLine(qsizetype maxLength, QDeadlineTimer deadline)
{
    return readLine(maxLength, Terminator::Keep, deadline);
}

QFuture<ReadResult> Channel::readExactly(qsizetype size, QDeadlineTimer deadline)
{
    return d->read(ChannelPrivate::ReadRequest::Kind::Exactly, Terminator::Keep, size, {},
                   deadline);
}

QFuture<ReadResult> Channel::readUntil(QByteArrayView delimiter, qsizetype maxLength,
                                       Terminator terminator, QDeadlineTimer deadline)
{
    return d->read(ChannelPrivate::ReadRequest::Kind::Until, terminator, maxLength, delimiter,
                   deadline);
}

QFuture<ReadResult> Channel::readSome(qsizetype maxLength, QDeadlineTimer deadline)
{
    return d->read(ChannelPrivate::ReadRequest::Kind::Some, Terminator::Keep, maxLength, {},
                   deadline);
}

void Channel::readLine(qsizetype maxLength, const QObject *context, ReadCallback callback,
                       QDeadlineTimer deadline)
{
    readLine(maxLength, Terminator::Keep, context, std::move(callback), deadline);
}

void Channel::readLine(qsizetype maxLength, Terminator terminator, const QObject *context,
                       ReadCallback callback, QDeadlineTimer deadline)
{
    d->read(ChannelPrivate::ReadRequest::Kind::Line, terminator, maxLength, {}, deadline, context,
            std::move(callback));
}

void Channel::readExactly(qsizetype size, const QObject *context, ReadCallback callback,
                          QDeadlineTimer deadline)
{
    d->read(ChannelPrivate::ReadRequest::Kind::Exactly, Terminator::Keep, size, {}, deadline,
            context, std::move(callback));
}

void Channel::readUntil(QByteArrayView delimiter, qsizetype maxLength, const QObject *context,
                        ReadCallback callback, QDeadlineTimer deadline)
{
    readUntil(delimiter, maxLength, Terminator::Keep, context, std::move(callback), deadline);
}

void Channel::readUntil(QByteArrayView delimiter, qsizetype maxLength, Terminator terminator,
                        const QObject *context, ReadCallback callback, QDeadlineTimer deadline)
{
    d->read(ChannelPrivate::ReadRequest::Kind::Until, terminator, maxLength, delimiter, deadline,
            context, std::move(callback));
}

void Channel::readSome(qsizetype maxLength, const QObject *context, ReadCallback callback,
                       QDeadlineTimer deadline)
{
    d->read(ChannelPrivate::ReadRequest::Kind::Some, Terminator::Keep, maxLength, {}, deadline,
            context, std::move(callback));
}

QByteArray Channel::peek(qsizetype maxLength) const
{
    return d->copyRange(0, qBound<qsizetype>(0, maxLength, d->m_buffered));
}

qsizetype Channel::bytesBuffered() const
{
    return d->m_buffered;
}

std::optional<ReadResult> Channel::tryReadLine(qsizetype maxLength, Terminator terminator)
{
    using Kind = ChannelPrivate::ReadRequest::Kind;
    if (std::optional<ReadResult> invalid = ChannelPrivate::invalidRead(Kind::Line, maxLength, {}))
        return invalid;
    return d->tryNow(Kind::Line, terminator, maxLength, {});
}

std::optional<ReadResult> Channel::tryReadExactly(qsizetype size)
{
    using Kind = ChannelPrivate::ReadRequest::Kind;
    if (std::optional<ReadResult> invalid = ChannelPrivate::invalidRead(Kind::Exactly, size, {}))
        return invalid;
    return d->tryNow(Kind::Exactly, Terminator::Keep, size, {});
}

std::optional<ReadResult> Channel::tryReadUntil(QByteArrayView delimiter, qsizetype maxLength,
                                                Terminator terminator)
{
    using Kind = ChannelPrivate::ReadRequest::Kind;
    if (std::optional<ReadResult> invalid =
                ChannelPrivate::invalidRead(Kind::Until, maxLength, delimiter))
        return invalid;
    return d->tryNow(Kind::Until, terminator, maxLength, delimiter);
}

bool Channel::write(QByteArrayView data)
{
    ChannelPrivate *const p = d.get();
    const qsizetype size = data.size();
    if (size > 0 && size <= p->m_room) { // the common case: a copy, no other work
        std::memcpy(p->m_tail, data.data(), size_t(size));
        p->m_tail += size;
        p->m_tailUsed += size;
        p->m_outBytes += size;
        p->m_room -= size;
        return true;
    }
    if (!p->canTake(size))
        return false;
    if (size == 0)
        return true;
    p->appendCopy(data.data(), size);
    p->appended();
    return true;
}

bool Channel::write(const QByteArray &data)
{
    if (data.size() < ShareFrom)
        return write(QByteArrayView(data));
    if (!d->canTake(data.size()))
        return false;
    d->closeTail();
    d->m_out.append(data);
    d->m_outBytes += data.size();
    d->appended();
    return true;
}

bool Channel::write(const char *data)
{
    return write(QByteArrayView(data));
}

bool Channel::writeLine(QByteArrayView line)
{
    if (!d->canTake(line.size() + 1))
        return false;
    d->appendCopy(line.data(), line.size());
    d->appendCopy("\n", 1);
    d->appended();
    return true;
}

QFuture<WriteResult> Channel::flush()
{
    return d->flush();
}

void Channel::flush(const QObject *context, WriteCallback callback)
{
    d->onChannelThread(callbackPromise<WriteResult>(this, context, std::move(callback)),
                       [d = d.get()](Promise<WriteResult> &&promise) { d->flush(std::move(promise)); });
}

qint64 Channel::writeBufferLimit() const
{
    return d->m_limit;
}

void Channel::setWriteBufferLimit(qint64 bytes)
{
    d->m_limit = qMax<qint64>(bytes, 1);
    d->m_room = 0;
    if (!d->m_flushInFlight && d->m_outBytes >= d->m_limit && !d->m_writeEnd)
        d->startFlush();
    d->maybeDrained();
}

qint64 Channel::bytesToWrite() const
{
    return d->m_outBytes;
}

Error Channel::error() const
{
    return d->m_writeError;
}

QFuture<WriteResult> Channel::shutdown(Flow::Direction direction)
{
    if (direction != Flow::Direction::Write) {
        d->shutdownRead();
        if (d->m_flow)
            (void)d->flowShutdown(Flow::Direction::Read);
        if (direction == Flow::Direction::Read)
            return readyFuture(WriteResult::ok());
    }
    return d->endWriteSide(false);
}

QFuture<WriteResult> Channel::close()
{
    return d->endWriteSide(true);
}

} // namespace rill
