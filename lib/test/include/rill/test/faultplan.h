// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::test::FaultPlan, the faults a FaultyFlow injects.

#include <rill/test/testglobal.h>

#include <QtCore/QMetaType>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>

namespace rill::test {

/// The faults a FaultyFlow injects: how reads and writes are split, delayed, stalled or ended.
///
/// A value, built with chained calls, each for one direction as the flow under test sees it:
/// \c Read is what it reads (the peer's bytes), \c Write what it writes.
/// \code
/// FaultPlan plan = FaultPlan().oneByte().resetAfter(10);    // one byte a read, reset at 10
/// FaultPlan slow = FaultPlan().delay(5ms, FaultPlan::Direction::Write).holdWrites(5ms);
/// \endcode
///
/// **Seeds.** Random segment sizes come from seed(): by default the process's seed, taken from
/// the environment variable RILL_TEST_SEED if it is set (a number), else picked at random once
/// per process. A failed test prints it (FaultyFlow, SeedReporter), so the case replays with
/// RILL_TEST_SEED set to it.
class RILL_TEST_EXPORT FaultPlan {
    Q_GADGET
public:
    /// A direction, as the flow under test sees it.
    enum class Direction {
        Read, ///< What the flow under test reads: the peer's bytes.
        Write, ///< What the flow under test writes.
    };
    Q_ENUM(Direction)

    /// How the bytes of one direction are cut into segments.
    enum class Split {
        Whole, ///< As they come: each read of the wrapped flow, each write whole.
        Fixed, ///< Segments of segmentSize() bytes (the last one may be shorter).
        Random, ///< Segments of 1 to segmentSize() bytes, drawn from seed().
    };
    Q_ENUM(Split)

    /// What a stream longer than every threshold of the plan meets first.
    enum class Outcome {
        Complete, ///< Every byte arrives and the stream ends as the peer ends it.
        Stall, ///< The stream stops for good part-way (a deadline must catch it).
        Eof, ///< The stream ends part-way: reads give Eof, or writes find the peer gone.
        Reset, ///< The connection is reset part-way: the flow fails with kind Reset.
    };
    Q_ENUM(Outcome)

    /// The environment variable that forces the seed: "RILL_TEST_SEED".
    static constexpr const char *SeedVariable = "RILL_TEST_SEED";

    /// A plan without faults, with the process's seed (defaultSeed()).
    FaultPlan();

    /// Cuts the bytes of \a direction into segments of \a bytes (at least 1).
    FaultPlan &segments(qsizetype bytes, Direction direction = Direction::Read);
    /// Cuts the bytes of \a direction into single bytes: segments(1).
    FaultPlan &oneByte(Direction direction = Direction::Read);
    /// Cuts the bytes of \a direction into segments of 1 to \a maxBytes bytes, from seed().
    FaultPlan &randomSegments(qsizetype maxBytes = 16, Direction direction = Direction::Read);
    /// Delays each segment of \a direction by \a delay: a read segment arrives that much later,
    /// a write segment is accepted (handed to the wrapped flow) that much later.
    FaultPlan &delay(std::chrono::milliseconds delay, Direction direction = Direction::Read);
    /// Stops \a direction after \a bytes: for \a duration, or for good if it is negative.
    ///
    /// A read stall delivers nothing more and stops reading the wrapped flow (so its peer
    /// feels backpressure); a write stall hands nothing more on, so writes wait at the
    /// high-water mark.
    FaultPlan &stallAfter(qint64 bytes, Direction direction = Direction::Read,
        std::chrono::milliseconds duration = std::chrono::milliseconds(-1));
    /// Ends \a direction after \a bytes.
    ///
    /// Read: after \a bytes, reads give Eof (what the peer sends after is discarded). Write:
    /// the byte after \a bytes finds the peer gone; the wrapped flow sends its end of stream,
    /// and writes give Eof (or fail, saying how many queued bytes were lost).
    FaultPlan &eofAfter(qint64 bytes, Direction direction = Direction::Read);
    /// Resets the connection after \a bytes of \a direction (after the byte after them is
    /// wanted, for writes): the flow fails with an error of kind Reset, and the wrapped flow is
    /// aborted, so its peer sees a reset too.
    FaultPlan &resetAfter(qint64 bytes, Direction direction = Direction::Read);
    /// Makes writes wait as if above the high-water mark: the flow's high-water mark becomes
    /// \a highWaterMark (at least 1) and each write segment is accepted \a delay late, so a
    /// write waits until the ones before it were handed on.
    FaultPlan &holdWrites(std::chrono::milliseconds delay, qint64 highWaterMark = 1);
    /// Sets the seed of the random choices to \a seed.
    FaultPlan &setSeed(quint64 seed);

    /// How the bytes of \a direction are cut.
    Split split(Direction direction = Direction::Read) const;
    /// The segment size of \a direction (Fixed), or the largest one (Random); 0 for Whole.
    qsizetype segmentSize(Direction direction = Direction::Read) const;
    /// The delay of each segment of \a direction.
    std::chrono::milliseconds delay(Direction direction = Direction::Read) const;
    /// Bytes of \a direction before it stalls; -1 for no stall.
    qint64 stallAfter(Direction direction = Direction::Read) const;
    /// How long a stall of \a direction lasts; negative for good.
    std::chrono::milliseconds stallDuration(Direction direction = Direction::Read) const;
    /// Bytes of \a direction before it ends; -1 for no early end.
    qint64 eofAfter(Direction direction = Direction::Read) const;
    /// Bytes of \a direction before the reset; -1 for no reset.
    qint64 resetAfter(Direction direction = Direction::Read) const;
    /// The high-water mark holdWrites() sets; -1 if it was not called.
    qint64 highWaterMark() const;
    /// The seed of the random choices.
    quint64 seed() const;
    /// True if the plan makes random choices (randomSegments()), so seed() matters.
    bool isRandom() const;
    /// True if the plan injects nothing at all.
    bool isEmpty() const;
    /// What a stream longer than every threshold meets first.
    Outcome outcome() const;
    /// The plan in words, with the seed if it matters, e.g. "reads: 1-byte segments; seed 42".
    QString toString() const;

    /// The process's seed: RILL_TEST_SEED if it is set to a number, else one picked at random
    /// at the first call; the same for the whole process.
    static quint64 defaultSeed();

private:
    struct Side {
        Split split = Split::Whole;
        qsizetype segment = 0;
        std::chrono::milliseconds delay {0};
        qint64 stallAfter = -1;
        std::chrono::milliseconds stallDuration {-1};
        qint64 eofAfter = -1;
        qint64 resetAfter = -1;
    };
    Side &side(Direction direction);
    const Side &side(Direction direction) const;

    Side m_read;
    Side m_write;
    qint64 m_highWaterMark = -1;
    quint64 m_seed = 0;
};

} // namespace rill::test

Q_DECLARE_METATYPE(rill::test::FaultPlan)
