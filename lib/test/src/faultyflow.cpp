// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/test/faultyflow.h>

#include "text_p.h"

#include <QtCore/QFutureWatcher>
#include <QtCore/QPointer>
#include <QtCore/QTimer>
#include <QtTest/QTest>

namespace rill::test {

namespace {

// splitmix64: tiny, and the same sequence on every platform and Qt version, so a seed replays.
class SeedSequence {
public:
    explicit SeedSequence(quint64 seed) : m_state(seed) { }
    quint64 next()
    {
        quint64 z = (m_state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

private:
    quint64 m_state;
};

// The wrapped flow reads ahead at most this much beyond what was delivered.
constexpr qint64 InboxLimit = 64 * 1024;

using Direction = FaultPlan::Direction;

} // namespace

// The transport of a FaultyFlow: its "wire" is another flow. One read and one write of the
// wrapped flow are outstanding at most; faults are applied between them. Every callback
// arrives from the event loop (QFutureWatcher, queued calls, timers whose context is
// m_context), as the transport interface asks; deleting m_context cuts them all.
class FaultTransport final : public Transport {
public:
    FaultTransport(std::unique_ptr<Flow> inner, const FaultPlan &plan)
        : m_plan(plan), m_owned(std::move(inner)), m_readRandom(plan.seed()),
          m_writeRandom(plan.seed() ^ 0x5deece66dull)
    {
        m_name = m_owned ? QStringLiteral("faulty ") + m_owned->transportName()
                         : QStringLiteral("faulty");
    }

    ~FaultTransport() override
    {
        delete m_context.data();
        // A wrapped flow that never became ours (it lived in another thread) goes in its own.
        if (Flow *flow = m_owned.release())
            flow->deleteLater();
    }

    QString name() const override { return m_name; }
    Endpoint localEndpoint() const override
    {
        return m_inner ? m_inner->localEndpoint() : Endpoint();
    }
    Endpoint peerEndpoint() const override
    {
        return m_inner ? m_inner->peerEndpoint() : Endpoint();
    }

    void start() override
    {
        m_context = new QObject(flow());
        if (!m_owned) {
            return later([this] {
                fail(Error(Error::Kind::InvalidArgument, QStringLiteral("no flow to wrap")));
            });
        }
        if (m_owned->thread() != flow()->thread()) {
            return later([this] {
                fail(Error(Error::Kind::InvalidArgument,
                    QStringLiteral("the wrapped flow lives in another thread")));
            });
        }
        m_inner = m_owned.release();
        // A child: it moves along with moveToThread(), and goes when the flow goes.
        m_inner->setParent(flow());
        switch (m_inner->state()) {
        case Flow::State::Connecting:
            QObject::connect(
                m_inner, &Flow::stateChanged, m_context.data(), [this](Flow::State state) {
                    if (m_opened || m_done)
                        return;
                    if (state == Flow::State::Closed)
                        return failFromInner();
                    m_opened = true;
                    opened();
                    schedulePump();
                });
            return;
        case Flow::State::Closed:
            return later([this] { failFromInner(); });
        case Flow::State::Open:
        case Flow::State::Closing:
            m_opened = true;
            opened();
            schedulePump();
            return;
        }
    }

    void startWriting() override { schedulePush(); }

    void setReadEnabled(bool enabled) override
    {
        if (enabled)
            schedulePump();
    }

    void shutdownWrite() override
    {
        m_shutdownPending = true;
        schedulePush();
    }

    void abort() override
    {
        m_done = true;
        if (m_inner)
            m_inner->abort();
    }

    void release() override
    {
        m_done = true;
        if (!m_inner)
            return;
        if (m_failed)
            m_inner->abort(); // the peer learns of the failure as it would of abort()
        else
            m_inner->close(); // both directions ended cleanly: its future finishes by itself
    }

    FaultPlan plan() const { return m_plan; }
    Flow *inner() const { return m_inner; }
    qint64 delivered() const { return m_delivered; }
    qint64 passed() const { return m_passed; }

private:
    FaultyFlow *faultyFlow() const { return static_cast<FaultyFlow *>(flow()); }

    template<typename F> void later(F &&f)
    {
        QMetaObject::invokeMethod(
            m_context.data(),
            [this, f = std::forward<F>(f)] {
                if (!m_done)
                    f();
            },
            Qt::QueuedConnection);
    }

    template<typename F> void after(std::chrono::milliseconds delay, F &&f)
    {
        if (delay.count() <= 0)
            return later(std::forward<F>(f));
        QTimer::singleShot(delay, m_context.data(), [this, f = std::forward<F>(f)] {
            if (!m_done)
                f();
        });
    }

    // Runs f with the future once it finished, from the event loop.
    template<typename T, typename F> void watch(const QFuture<T> &future, F &&f)
    {
        auto *watcher = new QFutureWatcher<T>(m_context.data());
        QObject::connect(watcher, &QFutureWatcherBase::finished, m_context.data(),
            [this, watcher, f = std::forward<F>(f)] {
                watcher->deleteLater();
                if (!m_done)
                    f(watcher->future());
            });
        watcher->setFuture(future);
    }

    void fail(const Error &error)
    {
        if (m_done)
            return;
        qCDebug(lcTest) << flow() << "failed:" << error;
        m_failed = true;
        failed(error);
    }

    void failFromInner()
    {
        Error error = m_inner ? m_inner->error() : Error();
        if (error.kind() == Error::Kind::None)
            error = Error(Error::Kind::Closed, QStringLiteral("the wrapped flow is closed"));
        fail(error);
    }

    void inject(Direction direction, const QString &what)
    {
        qCDebug(lcTest) << flow() << "injecting" << what << "into"
                        << (direction == Direction::Read ? "reads" : "writes") << "-"
                        << m_plan.toString();
        Q_EMIT faultyFlow()->faultInjected(direction, what);
    }

    void injectReset(Direction direction, qint64 bytes)
    {
        const QString what = QStringLiteral("reset after %1 bytes %2")
                                 .arg(bytes)
                                 .arg(direction == Direction::Read ? QLatin1String("read")
                                                                   : QLatin1String("written"));
        inject(direction, what);
        if (m_done)
            return;
        // The peer sees the reset too, as it would of a real one.
        m_inner->abort();
        fail(Error(Error::Kind::Reset, QStringLiteral("injected fault: ") + what, m_name));
    }

    // Segment size for a direction with `available` bytes to move.
    qint64 segment(Direction direction, qint64 available)
    {
        switch (m_plan.split(direction)) {
        case FaultPlan::Split::Whole:
            return available;
        case FaultPlan::Split::Fixed:
            return qMin<qint64>(available, m_plan.segmentSize(direction));
        case FaultPlan::Split::Random: {
            SeedSequence &random = direction == Direction::Read ? m_readRandom : m_writeRandom;
            const qint64 size = 1 + qint64(random.next() % quint64(m_plan.segmentSize(direction)));
            return qMin(available, size);
        }
        }
        return available;
    }

    // Bytes that may move before the next threshold of a direction at `done` bytes.
    qint64 untilThreshold(Direction direction, qint64 done, bool stallOver) const
    {
        qint64 room = std::numeric_limits<qint64>::max();
        for (qint64 threshold : {m_plan.resetAfter(direction), m_plan.eofAfter(direction),
                 stallOver ? qint64(-1) : m_plan.stallAfter(direction)}) {
            if (threshold > done)
                room = qMin(room, threshold - done);
        }
        return room;
    }

    // ---- reading: the wrapped flow's bytes to the flow under test

    void schedulePump()
    {
        if (std::exchange(m_pumpScheduled, true))
            return;
        later([this] {
            m_pumpScheduled = false;
            pump();
        });
    }

    // False if a read fault struck (or holds) at the bytes delivered so far.
    bool readFaultsAllow()
    {
        if (m_plan.resetAfter(Direction::Read) >= 0
            && m_delivered >= m_plan.resetAfter(Direction::Read)) {
            injectReset(Direction::Read, m_delivered);
            return false;
        }
        if (m_plan.eofAfter(Direction::Read) >= 0
            && m_delivered >= m_plan.eofAfter(Direction::Read)) {
            m_readEnded = true;
            inject(Direction::Read,
                QStringLiteral("end of stream after %1 bytes read").arg(m_delivered));
            if (m_done)
                return false;
            m_inner->shutdown(Flow::Direction::Read); // what the peer sends after is dropped
            receivedEndOfStream();
            return false;
        }
        if (m_readStalled)
            return false;
        if (!m_readStallOver && m_plan.stallAfter(Direction::Read) >= 0
            && m_delivered >= m_plan.stallAfter(Direction::Read)) {
            m_readStalled = true;
            inject(Direction::Read, QStringLiteral("stall after %1 bytes read").arg(m_delivered));
            if (m_plan.stallDuration(Direction::Read).count() >= 0) {
                after(m_plan.stallDuration(Direction::Read), [this] {
                    m_readStalled = false;
                    m_readStallOver = true;
                    schedulePump();
                });
            }
            return false;
        }
        return true;
    }

    void pump()
    {
        if (m_done || m_readEnded || !m_opened)
            return;
        if (!readFaultsAllow())
            return;
        requestInput();
        if (!isReadEnabled() || m_readDelayRunning)
            return;
        if (m_inboxBytes == 0) {
            if (m_innerReadEnded)
                endInput();
            return;
        }
        if (m_plan.split(Direction::Read) != FaultPlan::Split::Whole && !readerReady())
            return pollReader();
        if (m_plan.delay(Direction::Read).count() > 0 && !m_readDelayOver) {
            m_readDelayRunning = true;
            after(m_plan.delay(Direction::Read), [this] {
                m_readDelayRunning = false;
                m_readDelayOver = true;
                pump();
            });
            return;
        }
        qint64 size = segment(Direction::Read, m_inbox.front().size());
        if (m_plan.split(Direction::Read) != FaultPlan::Split::Whole)
            size = qMin(size, m_inboxBytes);
        size = qMin(size, untilThreshold(Direction::Read, m_delivered, m_readStallOver));
        QByteArray data;
        while (data.size() < size) {
            QByteArray &front = m_inbox.front();
            const qint64 take = qMin<qint64>(size - data.size(), front.size());
            if (take == front.size()) {
                data += front;
                m_inbox.removeFirst();
            } else {
                data += front.first(take);
                front.remove(0, take);
            }
        }
        m_inboxBytes -= data.size();
        m_delivered += data.size();
        m_readDelayOver = false;
        m_idlePolls = 0;
        received(data); // may run continuations that abort or delete-later the flow
        if (m_done)
            return;
        schedulePump();
    }

    // Whether a segment delivered now reaches the reader alone: a read waits, or the flow
    // holds nothing unread. Otherwise the flow would hand two segments to one read, and the
    // split the plan asks for would not show.
    bool readerReady() const
    {
        // close() must not wait on the reader: then bytes go as they come.
        if (readRoom() < 0 || flow()->state() == Flow::State::Closing)
            return true;
        const FlowStats stats = flow()->stats();
        return m_delivered - stats.bytesRead - stats.bytesDiscarded <= 0;
    }

    // The flow says nothing when read() is called with reading on: look again soon. At once for
    // a few turns of the event loop (a reader's continuation reads again in its own turn), then
    // every millisecond, so that a reader who stopped costs no busy loop.
    void pollReader()
    {
        if (std::exchange(m_pollScheduled, true))
            return;
        const auto again = [this] {
            m_pollScheduled = false;
            pump();
        };
        if (++m_idlePolls <= 16)
            later(again);
        else
            after(std::chrono::milliseconds(1), again);
    }

    void requestInput()
    {
        if (m_innerReading || m_innerReadEnded || m_readStalled || m_inboxBytes >= InboxLimit)
            return;
        m_innerReading = true;
        watch(m_inner->read(), [this](const QFuture<ReadResult> &future) {
            m_innerReading = false;
            if (future.resultCount() != 1) { // cannot happen: nobody cancels it
                m_innerReadEnded = true;
                m_innerReadError = Error(Error::Kind::Aborted, QStringLiteral("read cancelled"));
            } else if (const ReadResult result = future.result(); result.isData()) {
                m_inbox.append(result.data());
                m_inboxBytes += result.data().size();
            } else {
                m_innerReadEnded = true;
                if (result.isError())
                    m_innerReadError = result.error();
            }
            pump();
        });
    }

    // The wrapped flow ended, and every byte before its end was delivered.
    void endInput()
    {
        m_readEnded = true;
        if (m_innerReadError.kind() != Error::Kind::None)
            return fail(m_innerReadError);
        receivedEndOfStream();
    }

    // ---- writing: the flow under test's bytes to the wrapped flow

    void schedulePush()
    {
        if (std::exchange(m_pushScheduled, true))
            return;
        later([this] {
            m_pushScheduled = false;
            push();
        });
    }

    // False if a write fault struck (or holds) at the bytes passed so far.
    bool writeFaultsAllow()
    {
        const bool more = bytesToWrite() > 0;
        if (more && m_plan.resetAfter(Direction::Write) >= 0
            && m_passed >= m_plan.resetAfter(Direction::Write)) {
            injectReset(Direction::Write, m_passed);
            return false;
        }
        if (more && m_plan.eofAfter(Direction::Write) >= 0
            && m_passed >= m_plan.eofAfter(Direction::Write)) {
            m_writeEnded = true;
            inject(
                Direction::Write, QStringLiteral("peer gone after %1 bytes written").arg(m_passed));
            if (m_done)
                return false;
            m_inner->shutdown(Flow::Direction::Write); // the peer reads its end of stream here
            peerGone();
            return false;
        }
        if (m_writeStalled)
            return false;
        if (!m_writeStallOver && m_plan.stallAfter(Direction::Write) >= 0
            && m_passed >= m_plan.stallAfter(Direction::Write)) {
            m_writeStalled = true;
            inject(Direction::Write, QStringLiteral("stall after %1 bytes written").arg(m_passed));
            if (m_plan.stallDuration(Direction::Write).count() >= 0) {
                after(m_plan.stallDuration(Direction::Write), [this] {
                    m_writeStalled = false;
                    m_writeStallOver = true;
                    schedulePush();
                });
            }
            return false;
        }
        return true;
    }

    void push()
    {
        if (m_done || m_writeEnded || m_innerWriting || m_writeDelayRunning || !m_opened)
            return;
        if (!writeFaultsAllow())
            return;
        const qint64 queued = bytesToWrite();
        if (queued == 0) {
            if (std::exchange(m_shutdownPending, false))
                sendEndOfStream();
            return;
        }
        if (m_plan.delay(Direction::Write).count() > 0 && !m_writeDelayOver) {
            m_writeDelayRunning = true;
            after(m_plan.delay(Direction::Write), [this] {
                m_writeDelayRunning = false;
                m_writeDelayOver = true;
                push();
            });
            return;
        }
        const qint64 size = qMin(segment(Direction::Write, queued),
            untilThreshold(Direction::Write, m_passed, m_writeStallOver));
        m_innerWriting = true;
        watch(
            m_inner->writev(queuedData(0, size)), [this, size](const QFuture<WriteResult> &future) {
                m_innerWriting = false;
                const WriteResult result = future.resultCount() == 1
                    ? future.result()
                    : WriteResult::fromError(
                        Error(Error::Kind::Aborted, QStringLiteral("write cancelled")));
                if (result.isOk()) {
                    m_passed += size;
                    m_writeDelayOver = false;
                    written(size); // may call startWriting() or shutdownWrite() again
                    if (!m_done)
                        schedulePush();
                } else if (result.isEof()) {
                    m_writeEnded = true;
                    peerGone();
                } else {
                    m_writeEnded = true;
                    writeFailed(result.error());
                }
            });
    }

    void sendEndOfStream()
    {
        m_writeEnded = true;
        watch(
            m_inner->shutdown(Flow::Direction::Write), [this](const QFuture<WriteResult> &future) {
                if (future.resultCount() == 1 && future.result().isOk())
                    return endOfStreamSent();
                writeFailed(future.resultCount() == 1
                        ? future.result().error()
                        : Error(Error::Kind::Aborted, QStringLiteral("shutdown cancelled")));
            });
    }

    FaultPlan m_plan;
    QString m_name;
    std::unique_ptr<Flow> m_owned; // until start() takes it over
    QPointer<Flow> m_inner;
    QPointer<QObject> m_context;
    SeedSequence m_readRandom;
    SeedSequence m_writeRandom;

    bool m_opened = false;
    bool m_done = false;
    bool m_failed = false;

    QList<QByteArray> m_inbox;
    qint64 m_inboxBytes = 0;
    qint64 m_delivered = 0;
    Error m_innerReadError;
    bool m_pumpScheduled = false;
    bool m_innerReading = false;
    bool m_innerReadEnded = false;
    bool m_readEnded = false;
    bool m_readStalled = false;
    bool m_readStallOver = false;
    bool m_readDelayRunning = false;
    bool m_readDelayOver = false;
    bool m_pollScheduled = false;
    int m_idlePolls = 0;

    qint64 m_passed = 0;
    bool m_pushScheduled = false;
    bool m_innerWriting = false;
    bool m_writeEnded = false;
    bool m_shutdownPending = false;
    bool m_writeStalled = false;
    bool m_writeStallOver = false;
    bool m_writeDelayRunning = false;
    bool m_writeDelayOver = false;
};

FaultyFlow::FaultyFlow(std::unique_ptr<Flow> inner, const FaultPlan &plan, QObject *parent)
    : TransportFlow(std::make_unique<FaultTransport>(std::move(inner), plan), parent), m_plan(plan)
{
    if (plan.highWaterMark() > 0)
        setHighWaterMark(plan.highWaterMark());
    qCDebug(lcTest) << this << "faults:" << plan.toString();
}

FaultyFlow::~FaultyFlow()
{
    if (m_plan.isRandom() && QTest::currentTestFailed()) {
        qCWarning(lcTest).noquote()
            << QStringLiteral("a FaultyFlow of the failed test used ") + m_plan.toString();
    }
}

FaultTransport *FaultyFlow::faultTransport() const
{
    return static_cast<FaultTransport *>(transport());
}

FaultPlan FaultyFlow::plan() const
{
    return m_plan;
}

Flow *FaultyFlow::innerFlow() const
{
    return faultTransport()->inner();
}

qint64 FaultyFlow::bytesDelivered() const
{
    return faultTransport()->delivered();
}

qint64 FaultyFlow::bytesPassed() const
{
    return faultTransport()->passed();
}

} // namespace rill::test
