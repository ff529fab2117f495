// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/error.h>
#include <rill/flow.h>

#include <QtCore/QFlags>
#include <QtCore/QFuture>

#include <chrono>

namespace rill {

// What one direction of a copy moved. Bytes read and bytes written differ only when the copy
// failed with a segment read but not accepted by the destination.
struct RILL_EXPORT CopyStats
{
    Q_GADGET
    Q_PROPERTY(qint64 bytesRead MEMBER bytesRead)
    Q_PROPERTY(qint64 readOps MEMBER readOps)
    Q_PROPERTY(qint64 bytesWritten MEMBER bytesWritten)
    Q_PROPERTY(qint64 writeOps MEMBER writeOps)
    Q_PROPERTY(qint64 durationNs MEMBER durationNs)
public:
    qint64 bytesRead = 0;    // taken from the source
    qint64 readOps = 0;      // source reads that gave data
    qint64 bytesWritten = 0; // accepted by the destination
    qint64 writeOps = 0;     // destination writes that were accepted
    qint64 durationNs = 0;   // from the call to copy() until its result

    std::chrono::nanoseconds duration() const { return std::chrono::nanoseconds(durationNs); }

    friend bool operator==(const CopyStats &a, const CopyStats &b)
    {
        return a.bytesRead == b.bytesRead && a.readOps == b.readOps
                && a.bytesWritten == b.bytesWritten && a.writeOps == b.writeOps
                && a.durationNs == b.durationNs;
    }
    friend bool operator!=(const CopyStats &a, const CopyStats &b) { return !(a == b); }
};

// What copy() gives: the stats, and whether it ended cleanly (the source's end of stream was
// reached and everything read was accepted) or with the first error and the side it happened on.
class RILL_EXPORT CopyResult
{
    Q_GADGET
    Q_PROPERTY(bool ok READ isOk CONSTANT)
    Q_PROPERTY(Side failedSide READ failedSide CONSTANT)
    Q_PROPERTY(rill::Error error READ error CONSTANT)
    Q_PROPERTY(rill::CopyStats stats READ stats CONSTANT)
public:
    enum class Side {
        None,        // no error, or the operation itself was dropped (its thread went away)
        Source,      // reading failed
        Destination, // writing or shutting the write side down failed, or it was closed
    };
    Q_ENUM(Side)

    CopyResult() = default; // Ok, nothing copied

    static CopyResult fromStats(const CopyStats &stats);
    static CopyResult fromError(Side side, const Error &error, const CopyStats &stats = {});

    bool isOk() const { return m_error.isNone(); }
    bool isError() const { return !m_error.isNone(); }
    Side failedSide() const { return m_side; }
    Error error() const { return m_error; }
    CopyStats stats() const { return m_stats; }

    friend bool operator==(const CopyResult &a, const CopyResult &b)
    {
        return a.m_side == b.m_side && a.m_error == b.m_error && a.m_stats == b.m_stats;
    }
    friend bool operator!=(const CopyResult &a, const CopyResult &b) { return !(a == b); }

private:
    Side m_side = Side::None;
    Error m_error;
    CopyStats m_stats;
};

// What proxy() gives: the result of each direction, and the first error of either, naming the
// flow it happened on.
class RILL_EXPORT ProxyResult
{
    Q_GADGET
    Q_PROPERTY(bool ok READ isOk CONSTANT)
    Q_PROPERTY(Side failedSide READ failedSide CONSTANT)
    Q_PROPERTY(rill::Error error READ error CONSTANT)
    Q_PROPERTY(rill::CopyResult aToB READ aToB CONSTANT)
    Q_PROPERTY(rill::CopyResult bToA READ bToA CONSTANT)
public:
    enum class Side {
        None, // both directions ended cleanly, or the operation itself was dropped
        A,    // the first error happened on flow a (reading it or writing to it)
        B,    // on flow b
    };
    Q_ENUM(Side)

    ProxyResult() = default; // Ok, nothing copied
    ProxyResult(const CopyResult &aToB, const CopyResult &bToA, Side failedSide = Side::None,
                const Error &error = {});

    bool isOk() const { return m_error.isNone(); }
    bool isError() const { return !m_error.isNone(); }
    Side failedSide() const { return m_side; }
    Error error() const { return m_error; }
    CopyResult aToB() const { return m_aToB; } // what a's peer sent on to b's peer
    CopyResult bToA() const { return m_bToA; } // what b's peer sent on to a's peer

    friend bool operator==(const ProxyResult &a, const ProxyResult &b)
    {
        return a.m_side == b.m_side && a.m_error == b.m_error && a.m_aToB == b.m_aToB
                && a.m_bToA == b.m_bToA;
    }
    friend bool operator!=(const ProxyResult &a, const ProxyResult &b) { return !(a == b); }

private:
    Side m_side = Side::None;
    Error m_error;
    CopyResult m_aToB;
    CopyResult m_bToA;
};

enum class CopyOption {
    NoOptions = 0x0,
    ShutdownDestination = 0x1, // on the source's end of stream, shut the destination's write side
};
Q_DECLARE_FLAGS(CopyOptions, CopyOption)
Q_DECLARE_OPERATORS_FOR_FLAGS(CopyOptions)

// Documented where they are defined (combinators.cpp).
RILL_EXPORT QFuture<CopyResult> copy(Flow *source, Flow *destination,
                                     CopyOptions options = CopyOption::NoOptions);
RILL_EXPORT QFuture<ProxyResult> proxy(Flow *a, Flow *b);

RILL_EXPORT QDebug operator<<(QDebug debug, const CopyStats &stats);
RILL_EXPORT QDebug operator<<(QDebug debug, const CopyResult &result);
RILL_EXPORT QDebug operator<<(QDebug debug, const ProxyResult &result);

} // namespace rill

Q_DECLARE_METATYPE(rill::CopyStats)
Q_DECLARE_METATYPE(rill::CopyResult)
Q_DECLARE_METATYPE(rill::ProxyResult)
