// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/test/faultplan.h>

#include <QtCore/QRandomGenerator>
#include <QtCore/QStringList>

#include <algorithm>

namespace rill::test {

FaultPlan::FaultPlan() : m_seed(defaultSeed()) { }

FaultPlan::Side &FaultPlan::side(Direction direction)
{
    return direction == Direction::Read ? m_read : m_write;
}

const FaultPlan::Side &FaultPlan::side(Direction direction) const
{
    return direction == Direction::Read ? m_read : m_write;
}

FaultPlan &FaultPlan::segments(qsizetype bytes, Direction direction)
{
    side(direction).split = Split::Fixed;
    side(direction).segment = qMax<qsizetype>(bytes, 1);
    return *this;
}

FaultPlan &FaultPlan::oneByte(Direction direction)
{
    return segments(1, direction);
}

FaultPlan &FaultPlan::randomSegments(qsizetype maxBytes, Direction direction)
{
    side(direction).split = Split::Random;
    side(direction).segment = qMax<qsizetype>(maxBytes, 1);
    return *this;
}

FaultPlan &FaultPlan::delay(std::chrono::milliseconds delay, Direction direction)
{
    side(direction).delay = std::max(delay, std::chrono::milliseconds(0));
    return *this;
}

FaultPlan &FaultPlan::stallAfter(
    qint64 bytes, Direction direction, std::chrono::milliseconds duration)
{
    side(direction).stallAfter = qMax<qint64>(bytes, 0);
    side(direction).stallDuration = duration;
    return *this;
}

FaultPlan &FaultPlan::eofAfter(qint64 bytes, Direction direction)
{
    side(direction).eofAfter = qMax<qint64>(bytes, 0);
    return *this;
}

FaultPlan &FaultPlan::resetAfter(qint64 bytes, Direction direction)
{
    side(direction).resetAfter = qMax<qint64>(bytes, 0);
    return *this;
}

FaultPlan &FaultPlan::holdWrites(std::chrono::milliseconds delay, qint64 highWaterMark)
{
    m_write.delay = std::max(delay, std::chrono::milliseconds(0));
    m_highWaterMark = qMax<qint64>(highWaterMark, 1);
    return *this;
}

FaultPlan &FaultPlan::setSeed(quint64 seed)
{
    m_seed = seed;
    return *this;
}

FaultPlan::Split FaultPlan::split(Direction direction) const
{
    return side(direction).split;
}

qsizetype FaultPlan::segmentSize(Direction direction) const
{
    return side(direction).split == Split::Whole ? 0 : side(direction).segment;
}

std::chrono::milliseconds FaultPlan::delay(Direction direction) const
{
    return side(direction).delay;
}

qint64 FaultPlan::stallAfter(Direction direction) const
{
    return side(direction).stallAfter;
}

std::chrono::milliseconds FaultPlan::stallDuration(Direction direction) const
{
    return side(direction).stallDuration;
}

qint64 FaultPlan::eofAfter(Direction direction) const
{
    return side(direction).eofAfter;
}

qint64 FaultPlan::resetAfter(Direction direction) const
{
    return side(direction).resetAfter;
}

qint64 FaultPlan::highWaterMark() const
{
    return m_highWaterMark;
}

quint64 FaultPlan::seed() const
{
    return m_seed;
}

bool FaultPlan::isRandom() const
{
    return m_read.split == Split::Random || m_write.split == Split::Random;
}

bool FaultPlan::isEmpty() const
{
    for (const Side *s : {&m_read, &m_write}) {
        if (s->split != Split::Whole || s->delay.count() > 0 || s->stallAfter >= 0
            || s->eofAfter >= 0 || s->resetAfter >= 0)
            return false;
    }
    return m_highWaterMark < 0;
}

FaultPlan::Outcome FaultPlan::outcome() const
{
    // The earliest threshold wins; at the same byte a reset beats an end, an end a stall (the
    // order FaultyFlow checks them in).
    Outcome outcome = Outcome::Complete;
    qint64 earliest = -1;
    const auto consider = [&](qint64 threshold, Outcome what) {
        if (threshold < 0)
            return;
        if (earliest < 0 || threshold < earliest) {
            earliest = threshold;
            outcome = what;
        }
    };
    for (const Side *s : {&m_read, &m_write}) {
        consider(s->resetAfter, Outcome::Reset);
        consider(s->eofAfter, Outcome::Eof);
        if (s->stallDuration.count() < 0)
            consider(s->stallAfter, Outcome::Stall);
    }
    return outcome;
}

QString FaultPlan::toString() const
{
    QStringList parts;
    for (Direction direction : {Direction::Read, Direction::Write}) {
        const Side &s = side(direction);
        QStringList faults;
        if (s.split == Split::Fixed)
            faults << QStringLiteral("%1-byte segments").arg(s.segment);
        else if (s.split == Split::Random)
            faults << QStringLiteral("random segments of 1-%1 bytes").arg(s.segment);
        if (s.delay.count() > 0)
            faults << QStringLiteral("%1 ms delay").arg(s.delay.count());
        if (s.stallAfter >= 0) {
            faults << (s.stallDuration.count() < 0
                    ? QStringLiteral("stall after %1 bytes").arg(s.stallAfter)
                    : QStringLiteral("%2 ms stall after %1 bytes")
                          .arg(s.stallAfter)
                          .arg(s.stallDuration.count()));
        }
        if (s.eofAfter >= 0)
            faults << QStringLiteral("end after %1 bytes").arg(s.eofAfter);
        if (s.resetAfter >= 0)
            faults << QStringLiteral("reset after %1 bytes").arg(s.resetAfter);
        if (direction == Direction::Write && m_highWaterMark > 0)
            faults << QStringLiteral("high-water mark %1").arg(m_highWaterMark);
        if (!faults.isEmpty()) {
            parts << (direction == Direction::Read ? QStringLiteral("reads: ")
                                                   : QStringLiteral("writes: "))
                    + faults.join(QStringLiteral(", "));
        }
    }
    if (parts.isEmpty())
        parts << QStringLiteral("no faults");
    if (isRandom())
        parts << QStringLiteral("seed %1 (replay with %2=%1)")
                     .arg(m_seed)
                     .arg(QString::fromLatin1(SeedVariable));
    return parts.join(QStringLiteral("; "));
}

quint64 FaultPlan::defaultSeed()
{
    static const quint64 seed = [] {
        bool ok = false;
        const quint64 forced = qEnvironmentVariable(SeedVariable).trimmed().toULongLong(&ok, 0);
        if (ok)
            return forced;
        // A small number: easy to read off a log and to type back.
        return quint64(QRandomGenerator::global()->bounded(1000000));
    }();
    return seed;
}

} // namespace rill::test
