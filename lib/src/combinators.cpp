// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/combinators.h>

#include "flow_p.h"
#include "socketflow_p.h"

#include <QtCore/QDebug>
#include <QtCore/QElapsedTimer>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>

#include <cerrno>
#include <functional>
#include <optional>
#include <fcntl.h>
#include <unistd.h>

namespace rill {

Q_LOGGING_CATEGORY(lcCopy, "rill.copy", QtWarningMsg)

// What the result future holds if the operation is dropped before it finishes (its thread
// ended with the copy still running): an error of kind Aborted that names neither flow.
template<>
CopyResult abortedResult<CopyResult>()
{
    return CopyResult::fromError(CopyResult::Side::None,
                                 Error(Error::Kind::Aborted, QStringLiteral("the copy was dropped")));
}

template<>
ProxyResult abortedResult<ProxyResult>()
{
    const Error error(Error::Kind::Aborted, QStringLiteral("the proxy was dropped"));
    return ProxyResult({}, {}, ProxyResult::Side::None, error);
}

namespace {

// RILL_SPLICE=0 turns splicing off for the process (to compare, and to bisect).
bool spliceEnabled()
{
    static const bool enabled = qEnvironmentVariable("RILL_SPLICE") != QLatin1String("0");
    return enabled;
}

// The socket engine of a flow, or null for any other kind of flow.
SocketFlowPrivate *socketEngine(Flow *flow)
{
    return dynamic_cast<SocketFlowPrivate *>(FlowPrivate::get(flow));
}

// One copy from a source to a destination. A QObject in the caller's thread: it is the context
// of every continuation, and deletes itself once finished and no future it waits for is pending
// (a continuation must never outlive its context). Every flow future finishes, Aborted when its
// flow goes away, so that moment always comes.
class CopyOperation final : public QObject, private SpliceLease
{
public:
    using Done = std::function<void(const CopyResult &)>;

    // The flows are alive now (the caller's promise); afterwards they are reached only through
    // FlowRefs, since their threads may delete them at any time.
    CopyOperation(Flow *source, Flow *destination, CopyOptions options, Done done)
        : m_source(source), m_destination(destination), m_options(options), m_done(std::move(done))
    {
        m_clock.start();
        if (source) {
            m_sourceName = source->peerEndpoint().toString();
            // A flow destroyed while no operation on it is pending would otherwise never be
            // noticed.
            connect(source, &QObject::destroyed, this, [this] {
                if (!m_finished)
                    fail(CopyResult::Side::Source, destroyedError(m_sourceName));
                release();
            });
        }
        if (destination) {
            m_destinationName = destination->peerEndpoint().toString();
            connect(destination, &QObject::destroyed, this, [this] {
                if (!m_finished)
                    fail(CopyResult::Side::Destination, destroyedError(m_destinationName));
                release();
            });
        }
        m_hasSource = source;
        m_hasDestination = destination;
        m_spliceAllowed = !options.testFlag(CopyOption::NoSplice) && spliceEnabled();
    }

    ~CopyOperation() override { endSplice(); }

    void start()
    {
        if (!m_hasSource)
            return fail(CopyResult::Side::Source,
                        Error(Error::Kind::InvalidArgument, QStringLiteral("no source flow")));
        if (!m_hasDestination)
            return fail(CopyResult::Side::Destination,
                        Error(Error::Kind::InvalidArgument, QStringLiteral("no destination flow")));
        readNext();
        drive();
    }

private:
    static Error destroyedError(const QString &endpoint)
    {
        return Error(Error::Kind::Aborted, QStringLiteral("the flow was destroyed"), endpoint);
    }

    // Attaches a continuation with this as its context. If the future is finished already, the
    // continuation runs inside then(): it only stores the result, and the loop in drive() takes
    // it from there, so a long run of immediate results is a loop and not a recursion.
    template<typename T, typename Store>
    void await(QFuture<T> future, Store store)
    {
        ++m_pending;
        if constexpr (std::is_void_v<T>) {
            future.then(this, [this, store] {
                --m_pending;
                if (!m_finished)
                    store();
                drive();
            });
        } else {
            future.then(this, [this, store](const T &result) {
                --m_pending;
                if (!m_finished)
                    store(result);
                drive();
            });
        }
    }

    // The call is made under the FlowRef's lock; the continuation is attached after it, so a
    // future finished at once does not run our code with the lock held.
    void readNext()
    {
        if (trySplice())
            return;
        QFuture<ReadResult> future;
        if (!m_source.with([&](Flow *flow) { future = flow->read(); }))
            return fail(CopyResult::Side::Source, destroyedError(m_sourceName));
        await(future, [this](const ReadResult &r) { m_read = r; });
    }

    void writeSegment(const QByteArray &data)
    {
        QFuture<WriteResult> future;
        if (!m_destination.with([&](Flow *flow) { future = flow->write(data); }))
            return fail(CopyResult::Side::Destination, destroyedError(m_destinationName));
        m_writing = data.size();
        await(future, [this](const WriteResult &r) { m_written = r; });
    }

    void shutdownDestination()
    {
        QFuture<WriteResult> future;
        if (!m_destination.with(
                    [&](Flow *flow) { future = flow->shutdown(Flow::Direction::Write); }))
            return fail(CopyResult::Side::Destination, destroyedError(m_destinationName));
        await(future, [this](const WriteResult &r) { m_shutDown = r; });
    }

    void drive()
    {
        if (m_driving)
            return; // a continuation ran inside then(): the loop below picks its result up
        m_driving = true;
        while (!m_finished) {
            if (m_read) {
                const ReadResult r = *std::exchange(m_read, std::nullopt);
                if (r.isData()) {
                    ++m_stats.readOps;
                    m_stats.bytesRead += r.data().size();
                    writeSegment(r.data());
                } else if (r.isEof()) {
                    if (m_options.testFlag(CopyOption::ShutdownDestination))
                        shutdownDestination();
                    else
                        finish(CopyResult::fromStats(m_stats));
                } else {
                    fail(CopyResult::Side::Source, r.error());
                }
            } else if (m_written) {
                const WriteResult w = *std::exchange(m_written, std::nullopt);
                if (w.isOk()) {
                    ++m_stats.writeOps;
                    m_stats.bytesWritten += m_writing;
                    readNext();
                } else if (w.isEof()) {
                    fail(CopyResult::Side::Destination,
                         Error(Error::Kind::Closed, QStringLiteral("the write side is closed"),
                               m_destinationName));
                } else {
                    fail(CopyResult::Side::Destination, w.error());
                }
            } else if (m_shutDown) {
                // Ok only when every byte the destination accepted was handed to its transport
                // and its end of stream sent: accepted bytes lost on the way are an error.
                const WriteResult w = *std::exchange(m_shutDown, std::nullopt);
                if (w.isOk())
                    finish(CopyResult::fromStats(m_stats));
                else
                    fail(CopyResult::Side::Destination, w.error());
            } else {
                break;
            }
        }
        m_driving = false;
        release();
    }


    // ---- The splice path: socket to socket in the kernel, while nobody looks at the bytes.
    // The flows are in this thread, so the raw engine pointers stay valid until spliceLost().

    // At each read: splice from here on when both flows allow it. What the source already holds
    // is read through the copying path first (its engine reads nothing more meanwhile).
    bool trySplice()
    {
        if (m_finished)
            return false;
        if (!m_splicing && !(m_spliceAllowed && startSplice()))
            return false;
        if (m_spliceSource && m_spliceSource->hasReceived())
            return false;
        m_spliceActive = true;
        pumpSplice();
        return true;
    }

    bool startSplice()
    {
        SocketFlowPrivate *source = nullptr;
        SocketFlowPrivate *destination = nullptr;
        const auto engineHere = [this](Flow *flow) {
            return flow->thread() == thread() && QThread::currentThread() == thread()
                    ? socketEngine(flow)
                    : nullptr;
        };
        m_source.with([&](Flow *flow) { source = engineHere(flow); });
        m_destination.with([&](Flow *flow) { destination = engineHere(flow); });
        if (!source || !destination || source->fd < 0 || destination->fd < 0) {
            m_spliceAllowed = false; // not socket flows of this thread: never
            return false;
        }
        // Not now (a read pending, a data observer, a direction ending): maybe at a later read.
        // (Lent already: another copy splices from the same source or into the same
        // destination; this one copies, its writes leaving between the splice's.)
        if (!source->canLendRead() || !destination->canLendWrite() || source->isReadLent()
            || destination->isWriteLent() || source->observeData() || destination->observeData())
            return false;
        m_spliceAllowed = false; // one splice per copy: after it ends, the copying path finishes
        if (::pipe2(m_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
            qCDebug(lcCopy) << this << "copies through user space: no pipe:" << strerror(errno);
            m_pipe[0] = m_pipe[1] = -1;
            return false;
        }
        // A larger pipe moves more per system call; the default (64 KiB) is kept if refused.
        ::fcntl(m_pipe[1], F_SETPIPE_SZ, 1024 * 1024);
        const int size = ::fcntl(m_pipe[1], F_GETPIPE_SZ);
        m_pipeCapacity = size > 0 ? size : 65536;
        m_spliceSource = source;
        m_spliceDestination = destination;
        source->lendRead(this);
        destination->lendWrite(this);
        m_splicing = true;
        qCDebug(lcCopy) << this << "splices" << m_sourceName << "->" << m_destinationName
                        << "through a pipe of" << m_pipeCapacity << "bytes";
        return true;
    }

    void spliceReady() override { pumpSplice(); }

    void spliceLost(SocketFlowPrivate *flow, bool movedAway) override
    {
        if (flow == m_spliceSource)
            m_spliceSource = nullptr;
        if (flow == m_spliceDestination) {
            m_spliceDestination = nullptr;
            m_destinationLost = !movedAway; // moved: the pipe's bytes follow it by copying
        }
        if (!m_spliceActive)
            return endSplice(); // the copying path is reading what the source held: it goes on
        // From inside the flow's engine: the copy goes on from the event loop.
        if (!std::exchange(m_handBackPosted, true)) {
            ++m_pending;
            QMetaObject::invokeMethod(
                    this,
                    [this] {
                        --m_pending;
                        handBack();
                    },
                    Qt::QueuedConnection);
        }
    }

    // Moves what it can, a bounded number of rounds per wake-up (readiness is level-triggered:
    // the reactor runs it again), then waits for the side that blocks.
    void pumpSplice()
    {
        if (!m_spliceActive || m_handBackPosted) {
            // Readiness can come before the splice starts or after it stopped: not for us.
            if (m_spliceSource)
                m_spliceSource->setLentReadInterest(false);
            if (m_spliceDestination)
                m_spliceDestination->setLentWriteInterest(false);
            return;
        }
        // Somebody started looking at the bytes, or paused the source's reading (the probe):
        // the copying path, which honours both, takes over before another byte moves.
        if ((m_spliceSource && (m_spliceSource->observeData() || m_spliceSource->isReadPaused()))
            || (m_spliceDestination && m_spliceDestination->observeData()))
            return handBack();
        const unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
        bool progress = true;
        for (int round = 0; progress && round < 16; ++round) {
            progress = false;
            if (m_spliceSource && !m_sourceEnded && m_pipeBytes < m_pipeCapacity) {
                const ssize_t n = ::splice(m_spliceSource->fd, nullptr, m_pipe[1], nullptr,
                                           size_t(m_pipeCapacity - m_pipeBytes), flags);
                if (n > 0) {
                    m_pipeBytes += n;
                    m_splicedIn += n;
                    ++m_stats.readOps;
                    m_stats.bytesRead += n;
                    m_spliceSource->countSplicedRead(n);
                    progress = true;
                } else if (n == 0) {
                    m_sourceEnded = true;
                } else if (errno == EINTR) {
                    progress = true;
                } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
                    m_sourceEnded = true;
                    m_sourceErrno = errno;
                }
            }
            // The destination's own queue (segments the copying path wrote) goes out first.
            if (m_spliceDestination && m_pipeBytes > 0 && m_spliceDestination->sendQueue.isEmpty()) {
                const ssize_t n = ::splice(m_pipe[0], nullptr, m_spliceDestination->fd, nullptr,
                                           size_t(m_pipeBytes), flags);
                if (n > 0) {
                    m_pipeBytes -= n;
                    ++m_stats.writeOps;
                    m_stats.bytesWritten += n;
                    m_stats.bytesSpliced += n;
                    m_spliceDestination->countSplicedWrite(n);
                    progress = true;
                } else if (n < 0 && errno == EINTR) {
                    progress = true;
                } else if (n < 0 && errno == EINVAL && m_stats.bytesSpliced == 0) {
                    m_refused = true; // splice into this destination refused: copy instead
                    break;
                } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                    return destinationFailed(errno);
                }
            }
        }
        // Splice refused for these descriptors before a byte moved that way: copy instead.
        if ((m_sourceErrno == EINVAL && m_splicedIn == 0) || m_refused) {
            qCDebug(lcCopy) << this << "splice refused (EINVAL): copying through user space";
            m_sourceEnded = false;
            m_sourceErrno = 0;
            return handBack();
        }
        if (m_sourceEnded && m_pipeBytes == 0)
            return handBack();
        if (m_spliceSource)
            m_spliceSource->setLentReadInterest(!m_sourceEnded && m_pipeBytes < m_pipeCapacity);
        if (m_spliceDestination)
            m_spliceDestination->setLentWriteInterest(m_pipeBytes > 0);
    }

    // Gives both directions back to their engines and goes on on the copying path: what is
    // left in the pipe is written first, then the source is read (its end of stream or error,
    // handed to its engine here, is what that read returns).
    void handBack()
    {
        if (!m_spliceActive || m_finished)
            return endSplice();
        SocketFlowPrivate *source = m_spliceSource;
        const bool sourceEnded = std::exchange(m_sourceEnded, false);
        const int sourceErrno = std::exchange(m_sourceErrno, 0);
        QByteArray rest;
        if (!m_destinationLost && m_pipeBytes > 0) {
            rest.resize(m_pipeBytes);
            qint64 got = 0;
            while (got < m_pipeBytes) {
                const ssize_t n = ::read(m_pipe[0], rest.data() + got, size_t(m_pipeBytes - got));
                if (n > 0)
                    got += n;
                else if (n < 0 && errno == EINTR)
                    continue;
                else
                    break; // cannot happen with the bytes counted in the pipe; never spin
            }
            rest.truncate(qsizetype(got));
        }
        const bool destinationLost = m_destinationLost;
        endSplice();
        if (source && sourceEnded)
            source->splicedReadEnded(sourceErrno); // may run continuations that end the copy
        if (m_finished)
            return;
        if (destinationLost) {
            Error error;
            m_destination.with([&](Flow *flow) { error = flow->error(); });
            if (error.isNone())
                error = Error(Error::Kind::Closed,
                              QStringLiteral("the write side was closed during the copy"),
                              m_destinationName);
            return fail(CopyResult::Side::Destination, error);
        }
        if (!rest.isEmpty()) {
            // Counted as read already: the copying path counts it as written when accepted.
            writeSegment(rest);
        } else {
            readNext();
        }
        drive();
    }

    void destinationFailed(int error)
    {
        SocketFlowPrivate *destination = m_spliceDestination;
        endSplice();
        const Error failure = Error::fromErrno(error, m_destinationName);
        if (destination)
            destination->splicedWriteFailed(error);
        fail(CopyResult::Side::Destination, failure);
    }

    // Returns what is still lent and closes the pipe; bytes left in it are lost (counted as read
    // and not written).
    void endSplice()
    {
        if (SocketFlowPrivate *source = std::exchange(m_spliceSource, nullptr))
            source->returnRead();
        if (SocketFlowPrivate *destination = std::exchange(m_spliceDestination, nullptr))
            destination->returnWrite();
        for (int &end : m_pipe) {
            if (end >= 0)
                ::close(std::exchange(end, -1));
        }
        m_pipeBytes = 0;
        m_splicing = false;
        m_spliceActive = false;
    }

    void fail(CopyResult::Side side, const Error &error)
    {
        qCDebug(lcCopy) << this << "failed on the" << side << "side:" << error;
        finish(CopyResult::fromError(side, error, m_stats));
    }

    void finish(CopyResult result)
    {
        if (m_finished)
            return;
        m_finished = true;
        endSplice();
        CopyStats stats = result.stats();
        stats.durationNs = m_clock.nsecsElapsed();
        result = result.isOk() ? CopyResult::fromStats(stats)
                               : CopyResult::fromError(result.failedSide(), result.error(), stats);
        m_source.with([this](Flow *flow) { disconnect(flow, nullptr, this, nullptr); });
        m_destination.with([this](Flow *flow) { disconnect(flow, nullptr, this, nullptr); });
        // The callback may delete the flows, which finishes our pending futures at once.
        Done done = std::move(m_done);
        done(result);
        release();
    }

    void release()
    {
        if (m_finished && m_pending == 0 && !m_driving && !m_released) {
            m_released = true;
            deleteLater();
        }
    }

    FlowRef m_source;
    FlowRef m_destination;
    bool m_hasSource = false;
    bool m_hasDestination = false;
    QString m_sourceName;
    QString m_destinationName;
    CopyOptions m_options;
    Done m_done;
    QElapsedTimer m_clock;
    CopyStats m_stats;
    std::optional<ReadResult> m_read;
    std::optional<WriteResult> m_written;
    std::optional<WriteResult> m_shutDown;
    qint64 m_writing = 0; // the size of the write in flight
    // The splice path (see trySplice()).
    bool m_spliceAllowed = false;
    bool m_splicing = false;     // the flows' directions are lent to this copy
    bool m_spliceActive = false; // ... and the splice moves the bytes (not the copying path)
    bool m_handBackPosted = false;
    bool m_sourceEnded = false;    // the splice met the source's end of stream or error
    int m_sourceErrno = 0;         // ... which error, 0 for the end of stream
    bool m_destinationLost = false;
    SocketFlowPrivate *m_spliceSource = nullptr;
    SocketFlowPrivate *m_spliceDestination = nullptr;
    int m_pipe[2] = {-1, -1};
    qint64 m_pipeCapacity = 0;
    qint64 m_pipeBytes = 0;
    qint64 m_splicedIn = 0; // bytes spliced from the source into the pipe
    bool m_refused = false; // the kernel refused to splice into the destination
    int m_pending = 0;    // futures whose continuation has not run yet
    bool m_driving = false;
    bool m_finished = false;
    bool m_released = false;
};

void startCopy(Flow *source, Flow *destination, CopyOptions options, CopyOperation::Done done)
{
    auto *operation = new CopyOperation(source, destination, options, std::move(done));
    operation->start();
}

// Both directions of a proxy. Shared by the two copies' callbacks; if both copies are dropped,
// the last reference goes and the promise finishes Aborted.
struct ProxyState
{
    ProxyState(Flow *a, Flow *b) : a(a), b(b) {}

    Promise<ProxyResult> promise;
    FlowRef a;
    FlowRef b;
    std::optional<CopyResult> aToB;
    std::optional<CopyResult> bToA;
    ProxyResult::Side failedSide = ProxyResult::Side::None;
    Error error;
    bool finished = false;

    static ProxyResult::Side sideOf(bool forward, CopyResult::Side side)
    {
        switch (side) {
        case CopyResult::Side::Source:
            return forward ? ProxyResult::Side::A : ProxyResult::Side::B;
        case CopyResult::Side::Destination:
            return forward ? ProxyResult::Side::B : ProxyResult::Side::A;
        case CopyResult::Side::None:
            break;
        }
        return ProxyResult::Side::None;
    }

    void directionDone(bool forward, const CopyResult &result)
    {
        (forward ? aToB : bToA) = result;
        if (result.isError() && error.isNone()) {
            failedSide = sideOf(forward, result.failedSide());
            error = result.error();
            qCDebug(lcCopy) << "proxy: the" << (forward ? "a->b" : "b->a")
                            << "direction failed:" << error << "- aborting both flows";
            // The other direction would wait for a peer that may never send again, and a clean
            // end of stream would pass the cut-off stream off as complete: reset both instead.
            // Aborting may finish the other direction at once, re-entering here.
            a.with([](Flow *flow) { flow->abort(); });
            b.with([](Flow *flow) { flow->abort(); });
        }
        if (aToB && bToA && !finished) {
            finished = true;
            promise.finish(ProxyResult(*aToB, *bToA, failedSide, error));
        }
    }
};

} // namespace

// ---------------------------------------------------------------------------------------------

CopyResult CopyResult::fromStats(const CopyStats &stats)
{
    CopyResult result;
    result.m_stats = stats;
    return result;
}

CopyResult CopyResult::fromError(Side side, const Error &error, const CopyStats &stats)
{
    CopyResult result;
    result.m_side = side;
    result.m_error = error;
    result.m_stats = stats;
    return result;
}

ProxyResult::ProxyResult(const CopyResult &aToB, const CopyResult &bToA, Side failedSide,
                         const Error &error)
    : m_side(failedSide), m_error(error), m_aToB(aToB), m_bToA(bToA)
{}

QFuture<CopyResult> copy(Flow *source, Flow *destination, CopyOptions options)
{
    auto promise = std::make_shared<Promise<CopyResult>>();
    QFuture<CopyResult> future = promise->future();
    startCopy(source, destination, options,
              [promise](const CopyResult &result) { promise->finish(result); });
    return future;
}

QFuture<ProxyResult> proxy(Flow *a, Flow *b)
{
    return proxy(a, b, CopyOption::NoOptions);
}

QFuture<ProxyResult> proxy(Flow *a, Flow *b, CopyOptions options)
{
    if (!a || !b) {
        const Error error(Error::Kind::InvalidArgument, QStringLiteral("no flow given"));
        const CopyResult failed = CopyResult::fromError(CopyResult::Side::Source, error);
        const CopyResult notStarted = CopyResult::fromError(CopyResult::Side::None, error);
        return readyFuture(!a ? ProxyResult(failed, notStarted, ProxyResult::Side::A, error)
                              : ProxyResult(notStarted, failed, ProxyResult::Side::B, error));
    }
    auto state = std::make_shared<ProxyState>(a, b);
    QFuture<ProxyResult> future = state->promise.future();
    options |= CopyOption::ShutdownDestination;
    startCopy(a, b, options,
              [state](const CopyResult &result) { state->directionDone(true, result); });
    startCopy(b, a, options,
              [state](const CopyResult &result) { state->directionDone(false, result); });
    return future;
}

QDebug operator<<(QDebug debug, const CopyStats &stats)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "rill::CopyStats(" << stats.bytesRead << " bytes in " << stats.readOps
                    << " reads, " << stats.bytesWritten << " bytes in " << stats.writeOps
                    << " writes, ";
    if (stats.bytesSpliced)
        debug << stats.bytesSpliced << " spliced, ";
    debug << stats.durationNs / 1000 << " us)";
    return debug;
}

QDebug operator<<(QDebug debug, const CopyResult &result)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "rill::CopyResult(";
    if (result.isError())
        debug << result.failedSide() << ", " << result.error() << ", ";
    debug << result.stats() << ')';
    return debug;
}

QDebug operator<<(QDebug debug, const ProxyResult &result)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "rill::ProxyResult(";
    if (result.isError())
        debug << result.failedSide() << ", " << result.error() << ", ";
    debug << "a->b " << result.aToB() << ", b->a " << result.bToA() << ')';
    return debug;
}

} // namespace rill
