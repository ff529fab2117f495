// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::test::FaultyFlow, a flow that injects faults into another flow.

#include <rill/test/faultplan.h>
#include <rill/transport.h>

#include <memory>

namespace rill::test {

class FaultTransport;

/// A flow over another flow that injects the faults of a FaultPlan: split, delayed and stalled
/// reads and writes, an early end or a reset after N bytes in either direction, writes that
/// wait as if above the high-water mark.
///
/// Wrap the end the code under test uses; the peer keeps the other end of the pair (a
/// PipeFlow, a TcpFlow, any flow):
/// \code
/// auto [ours, peer] = rill::PipeFlow::createPair();
/// rill::test::FaultyFlow flow(std::move(ours), rill::test::FaultPlan().oneByte());
/// \endcode
///
/// It is a TransportFlow: the whole Flow contract holds as for any flow (write ledger, states,
/// deadlines, cancel, every future finishes), whatever the plan; only how the bytes travel
/// changes. The wrapped flow is owned by this one, reads and writes only through it, and is
/// aborted when a reset is injected, when this flow is aborted, or when it is destroyed. A
/// wrapped flow that already failed makes this one fail with its error; one that is still
/// connecting makes this one connect with it.
///
/// Split reads are delivered one segment per read(): a segment waits until a read waits or the
/// flow holds nothing unread (the flow does not tell its transport when read() is called, so
/// the wrapper looks again at once for a few turns of the event loop, then every millisecond).
/// While the flow is closing, bytes go as they come, so that close() never waits on the reader.
///
/// Destroyed while a test has failed, a flow whose plan makes random choices prints its seed
/// (category rill.test, as a warning), so that the case replays with RILL_TEST_SEED.
class RILL_TEST_EXPORT FaultyFlow : public rill::TransportFlow {
    Q_OBJECT
    /// The faults this flow injects. \sa plan()
    Q_PROPERTY(rill::test::FaultPlan plan READ plan CONSTANT)
    /// Bytes the flow under test was given to read so far. \sa bytesDelivered()
    Q_PROPERTY(qint64 bytesDelivered READ bytesDelivered)
    /// Bytes handed to the wrapped flow so far. \sa bytesPassed()
    Q_PROPERTY(qint64 bytesPassed READ bytesPassed)

public:
    /// Wraps \a inner (taking ownership; it must live in the calling thread) with the faults of
    /// \a plan. A null \a inner gives a flow that fails with an error of kind InvalidArgument.
    explicit FaultyFlow(std::unique_ptr<rill::Flow> inner, const FaultPlan &plan = FaultPlan(),
        QObject *parent = nullptr);
    /// Aborts the flow if it is still open, and destroys the wrapped flow.
    ~FaultyFlow() override;

    /// The faults this flow injects.
    FaultPlan plan() const;
    /// The wrapped flow, still owned by this one; for looking at, not for reading or writing.
    rill::Flow *innerFlow() const;
    /// Bytes the flow under test was given to read so far (after the faults); call it in the
    /// flow's thread.
    qint64 bytesDelivered() const;
    /// Bytes of the flow under test handed to the wrapped flow so far; call it in the flow's
    /// thread.
    qint64 bytesPassed() const;

Q_SIGNALS:
    /// The fault \a what (a stall, an early end, a reset) struck \a direction.
    void faultInjected(rill::test::FaultPlan::Direction direction, const QString &what);

private:
    friend class FaultTransport;
    FaultTransport *faultTransport() const;
    FaultPlan m_plan;
};

} // namespace rill::test
