// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/combinators.h>

#include "flow_p.h"

#include <QtCore/QDebug>
#include <QtCore/QElapsedTimer>
#include <QtCore/QLoggingCategory>
#include <QtCore/QPointer>
#include <QtCore/QThread>

#include <functional>
#include <optional>

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

// One copy from a source to a destination. A QObject in the caller's thread: it is the context
// of every continuation, and deletes itself once finished and no future it waits for is pending
// (a continuation must never outlive its context). Every flow future finishes, Aborted when its
// flow goes away, so that moment always comes.
class CopyOperation final : public QObject
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
    }

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
    if (!a || !b) {
        const Error error(Error::Kind::InvalidArgument, QStringLiteral("no flow given"));
        const CopyResult failed = CopyResult::fromError(CopyResult::Side::Source, error);
        const CopyResult notStarted = CopyResult::fromError(CopyResult::Side::None, error);
        return readyFuture(!a ? ProxyResult(failed, notStarted, ProxyResult::Side::A, error)
                              : ProxyResult(notStarted, failed, ProxyResult::Side::B, error));
    }
    auto state = std::make_shared<ProxyState>(a, b);
    QFuture<ProxyResult> future = state->promise.future();
    startCopy(a, b, CopyOption::ShutdownDestination,
              [state](const CopyResult &result) { state->directionDone(true, result); });
    startCopy(b, a, CopyOption::ShutdownDestination,
              [state](const CopyResult &result) { state->directionDone(false, result); });
    return future;
}

QDebug operator<<(QDebug debug, const CopyStats &stats)
{
    QDebugStateSaver saver(debug);
    debug.nospace() << "rill::CopyStats(" << stats.bytesRead << " bytes in " << stats.readOps
                    << " reads, " << stats.bytesWritten << " bytes in " << stats.writeOps
                    << " writes, " << stats.durationNs / 1000 << " us)";
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
