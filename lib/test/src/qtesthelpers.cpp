// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#include <rill/test/qtesthelpers.h>

#include "text_p.h"

#include <QtTest/QTest>

namespace rill::test {

ReadAll readAll(Flow *flow, QDeadlineTimer deadline)
{
    ReadAll all;
    if (!flow)
        return all;
    for (;;) {
        QFuture<ReadResult> future = flow->read();
        if (!waitForFinished(future, deadline)) {
            // Withdrawn: a cancelled read consumes nothing, so the flow stays usable.
            future.cancel();
            return all;
        }
        if (future.resultCount() != 1)
            return all;
        const ReadResult result = future.result();
        if (!result.isData()) {
            all.end = result;
            all.finished = true;
            return all;
        }
        if (result.data().isEmpty())
            all.emptySegment = true;
        all.data += result.data();
        ++all.dataReads;
    }
}

WriteResult writeAll(
    Flow *flow, const QByteArray &data, qsizetype pieceSize, bool shutdown, QDeadlineTimer deadline)
{
    if (!flow)
        return WriteResult::fromError(
            Error(Error::Kind::InvalidArgument, QStringLiteral("no flow")));
    const qsizetype step = pieceSize > 0 ? pieceSize : qMax<qsizetype>(data.size(), 1);
    const auto await = [&](QFuture<WriteResult> future) {
        if (!waitForFinished(future, deadline)) {
            future.cancel();
            return WriteResult::fromError(
                Error(Error::Kind::TimedOut, QStringLiteral("writeAll: the deadline passed")));
        }
        if (future.resultCount() != 1)
            return WriteResult::fromError(
                Error(Error::Kind::Canceled, QStringLiteral("writeAll: a write was cancelled")));
        return future.result();
    };
    for (qsizetype at = 0; at < data.size(); at += step) {
        const WriteResult result = await(flow->write(data.mid(at, step)));
        if (!result.isOk())
            return result;
    }
    if (shutdown)
        return await(flow->shutdown(Flow::Direction::Write));
    return WriteResult::ok();
}

QString streamDifference(const QByteArray &actual, const QByteArray &expected)
{
    return describeDifference(actual, expected, 0);
}

QString printable(const QByteArray &bytes, qsizetype maxBytes)
{
    return quoted(bytes, maxBytes);
}

bool compareStreams(const QByteArray &actual, const QByteArray &expected,
    const char *actualExpression, const char *expectedExpression, const char *file, int line)
{
    const QString difference = streamDifference(actual, expected);
    if (difference.isEmpty())
        return true;
    const QString message = QStringLiteral("streams differ: %1 vs %2: %3")
                                .arg(QString::fromUtf8(actualExpression),
                                    QString::fromUtf8(expectedExpression), difference);
    QTest::qFail(qPrintable(message), file, line);
    return false;
}

QList<FaultMode> faultModes(qint64 streamSize, FaultPlan::Direction direction)
{
    using namespace std::chrono_literals;
    using D = FaultPlan::Direction;
    const qint64 middle = qMax<qint64>(streamSize / 2, 1);
    const qsizetype eighth = qsizetype(qMax<qint64>(streamSize / 8, 1));
    return {
        {"whole", FaultPlan()},
        {"one byte", FaultPlan().oneByte(D::Read).oneByte(D::Write)},
        {"random split", FaultPlan().randomSegments(7, D::Read).randomSegments(7, D::Write)},
        // Eight segments a direction, each late: slow enough to interleave, fast for any size.
        {"delayed",
            FaultPlan()
                .segments(eighth, D::Read)
                .segments(eighth, D::Write)
                .delay(1ms, D::Read)
                .delay(1ms, D::Write)},
        {"held writes", FaultPlan().holdWrites(1ms)},
        {"stall at the middle", FaultPlan().stallAfter(middle, direction)},
        {"eof at the middle", FaultPlan().eofAfter(middle, direction)},
        {"reset at the middle", FaultPlan().resetAfter(middle, direction)},
    };
}

void addFaultRows(qint64 streamSize, FaultPlan::Direction direction, const char *column)
{
    QTest::addColumn<FaultPlan>(column);
    for (const FaultMode &mode : faultModes(streamSize, direction))
        QTest::newRow(mode.name.constData()) << mode.plan;
}

SeedReporter::SeedReporter(const FaultPlan &plan) : m_plan(plan) { }

SeedReporter::~SeedReporter()
{
    if (m_plan.isRandom() && QTest::currentTestFailed()) {
        qCWarning(lcTest).noquote() << QStringLiteral("the failed test used ") + m_plan.toString();
    }
}

} // namespace rill::test
