// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::copy() and rill::proxy(): move a stream from flow to flow, with backpressure.

#include <rill/error.h>
#include <rill/flow.h>

#include <QtCore/QFlags>
#include <QtCore/QFuture>

#include <chrono>

namespace rill {

/// What one direction of a copy moved, and how long it took.
///
/// Bytes read and bytes written differ only when the copy failed with a segment read but not
/// accepted by the destination.
struct RILL_EXPORT CopyStats
{
    Q_GADGET
    /// See the field bytesRead.
    Q_PROPERTY(qint64 bytesRead MEMBER bytesRead)
    /// See the field readOps.
    Q_PROPERTY(qint64 readOps MEMBER readOps)
    /// See the field bytesWritten.
    Q_PROPERTY(qint64 bytesWritten MEMBER bytesWritten)
    /// See the field writeOps.
    Q_PROPERTY(qint64 writeOps MEMBER writeOps)
    /// See the field durationNs.
    Q_PROPERTY(qint64 durationNs MEMBER durationNs)
    /// See the field bytesSpliced.
    Q_PROPERTY(qint64 bytesSpliced MEMBER bytesSpliced)
public:
    qint64 bytesRead = 0;    ///< Bytes taken from the source.
    qint64 readOps = 0;      ///< Source reads that gave data.
    qint64 bytesWritten = 0; ///< Bytes accepted by the destination.
    qint64 writeOps = 0;     ///< Destination writes that were accepted.
    qint64 durationNs = 0;   ///< Nanoseconds from the call to copy() until its result.
    /// Of bytesWritten, those moved in the kernel with splice(2), never through this process.
    qint64 bytesSpliced = 0;

    /// durationNs as a duration.
    std::chrono::nanoseconds duration() const { return std::chrono::nanoseconds(durationNs); }

    /// True if every field is equal.
    friend bool operator==(const CopyStats &a, const CopyStats &b)
    {
        return a.bytesRead == b.bytesRead && a.readOps == b.readOps
                && a.bytesWritten == b.bytesWritten && a.writeOps == b.writeOps
                && a.durationNs == b.durationNs && a.bytesSpliced == b.bytesSpliced;
    }
    /// True if any field differs.
    friend bool operator!=(const CopyStats &a, const CopyStats &b) { return !(a == b); }
};

/// The result of copy(): its stats, and the first error with the side it happened on.
///
/// isOk() when the source's end of stream was reached and every segment read was accepted by
/// the destination (and, if asked, its write side was shut down). A value type.
class RILL_EXPORT CopyResult
{
    Q_GADGET
    /// Whether the copy ended cleanly. \sa isOk()
    Q_PROPERTY(bool ok READ isOk CONSTANT)
    /// The side the error happened on. \sa failedSide()
    Q_PROPERTY(Side failedSide READ failedSide CONSTANT)
    /// The first error. \sa error()
    Q_PROPERTY(rill::Error error READ error CONSTANT)
    /// What was moved. \sa stats()
    Q_PROPERTY(rill::CopyStats stats READ stats CONSTANT)
public:
    /// Which flow of a copy an error happened on.
    enum class Side {
        None,   ///< No error, or the operation itself was dropped (its thread went away).
        Source, ///< Reading failed.
        /// Writing or shutting the write side down failed, or the destination was closed.
        Destination,
    };
    Q_ENUM(Side)

    /// Ok, nothing copied.
    CopyResult() = default;

    /// A result that ended cleanly after moving \a stats.
    static CopyResult fromStats(const CopyStats &stats);
    /// A result that failed with \a error on \a side, after moving \a stats.
    static CopyResult fromError(Side side, const Error &error, const CopyStats &stats = {});

    /// True if the copy ended cleanly.
    bool isOk() const { return m_error.isNone(); }
    /// True if the copy ended with an error().
    bool isError() const { return !m_error.isNone(); }
    /// The side the error happened on; Side::None if isOk().
    Side failedSide() const { return m_side; }
    /// The first error; of kind Error::Kind::None if isOk().
    Error error() const { return m_error; }
    /// What was moved.
    CopyStats stats() const { return m_stats; }

    /// True if side, error and stats are equal.
    friend bool operator==(const CopyResult &a, const CopyResult &b)
    {
        return a.m_side == b.m_side && a.m_error == b.m_error && a.m_stats == b.m_stats;
    }
    /// True if side, error or stats differ.
    friend bool operator!=(const CopyResult &a, const CopyResult &b) { return !(a == b); }

private:
    Side m_side = Side::None;
    Error m_error;
    CopyStats m_stats;
};

/// The result of proxy(): both directions' results, and the first error of either with the
/// flow it happened on.
///
/// A value type.
class RILL_EXPORT ProxyResult
{
    Q_GADGET
    /// Whether both directions ended cleanly. \sa isOk()
    Q_PROPERTY(bool ok READ isOk CONSTANT)
    /// The flow the first error happened on. \sa failedSide()
    Q_PROPERTY(Side failedSide READ failedSide CONSTANT)
    /// The first error. \sa error()
    Q_PROPERTY(rill::Error error READ error CONSTANT)
    /// The direction from a to b. \sa aToB()
    Q_PROPERTY(rill::CopyResult aToB READ aToB CONSTANT)
    /// The direction from b to a. \sa bToA()
    Q_PROPERTY(rill::CopyResult bToA READ bToA CONSTANT)
public:
    /// Which flow of a proxy an error happened on.
    enum class Side {
        None, ///< Both directions ended cleanly, or the operation itself was dropped.
        A,    ///< The first error happened on flow a (reading it or writing to it).
        B,    ///< The first error happened on flow b.
    };
    Q_ENUM(Side)

    /// Ok, nothing copied.
    ProxyResult() = default;
    /// A result made of the two directions \a aToB and \a bToA; \a error (if any) is the
    /// first error, and \a failedSide the flow it happened on.
    ProxyResult(const CopyResult &aToB, const CopyResult &bToA, Side failedSide = Side::None,
                const Error &error = {});

    /// True if both directions ended cleanly.
    bool isOk() const { return m_error.isNone(); }
    /// True if either direction ended with an error.
    bool isError() const { return !m_error.isNone(); }
    /// The flow the first error happened on; Side::None if isOk().
    Side failedSide() const { return m_side; }
    /// The first error of either direction; of kind Error::Kind::None if isOk().
    Error error() const { return m_error; }
    /// The direction from a to b: what a's peer sent on to b's peer.
    CopyResult aToB() const { return m_aToB; }
    /// The direction from b to a: what b's peer sent on to a's peer.
    CopyResult bToA() const { return m_bToA; }

    /// True if side, error and both directions are equal.
    friend bool operator==(const ProxyResult &a, const ProxyResult &b)
    {
        return a.m_side == b.m_side && a.m_error == b.m_error && a.m_aToB == b.m_aToB
                && a.m_bToA == b.m_bToA;
    }
    /// True if side, error or a direction differ.
    friend bool operator!=(const ProxyResult &a, const ProxyResult &b) { return !(a == b); }

private:
    Side m_side = Side::None;
    Error m_error;
    CopyResult m_aToB;
    CopyResult m_bToA;
};

/// What copy() does besides copying.
enum class CopyOption {
    NoOptions = 0x0, ///< Copy only; leave the destination's write side open.
    /// On the source's end of stream, shut the destination's write side down.
    ShutdownDestination = 0x1,
    /// Always copy through this process; never splice(2) (see copy()).
    NoSplice = 0x2,
};
/// A combination of CopyOption values.
Q_DECLARE_FLAGS(CopyOptions, CopyOption)
Q_DECLARE_OPERATORS_FOR_FLAGS(CopyOptions)

/// Reads \a source until its end of stream and writes each segment to \a destination, in
/// order.
///
/// Resolves with the stats, or with the first error and the side it happened on (reading the
/// source, or writing to the destination: a write that gives Eof counts as an error of kind
/// Closed, since the rest of the stream could not be delivered).
///
/// Backpressure: one operation at a time, a read and then the write of what it gave; the next
/// read is issued only once the destination has accepted the previous segment. So a
/// destination whose send queue is full stops the copy from reading, and the source's own
/// buffers then push back on its peer.
///
/// The destination's write side is left open at the end unless \a options has
/// CopyOption::ShutdownDestination; then the copy shuts it down on the source's end of stream,
/// and resolves once the end of stream was sent.
///
/// The future always finishes: if either flow is destroyed or aborted during the copy, it
/// resolves with an error of kind Aborted on that side; if the calling thread ends first, with
/// an error of kind Aborted on Side::None. A null flow is an error of kind InvalidArgument on
/// its side. The copy does not own the flows and never closes or aborts them. \a source may
/// equal \a destination (an echo).
///
/// Call it from a thread with an event loop: the future is finished there. The flows may live
/// in any thread.
///
/// Splice: between two socket flows (TCP or Unix stream) that live in the calling thread, the
/// bytes move in the kernel with splice(2) through a pipe of the copy's own (up to 1 MiB),
/// without passing through this process, whenever nobody looks at them: no receiver of either
/// flow's dataArrived or dataSent, nothing buffered or pending in the source's read side or the
/// destination's write side. The contract stays the same (order, backpressure through the
/// pipe's bound, half-close, errors with their side, every future finishing), and the copy
/// falls back to copying at once when the conditions stop holding: a data observer connects,
/// either flow moves to another thread, or the kernel refuses splice for a descriptor. Bytes
/// still in the pipe then leave through the copying path, in order. CopyStats::bytesSpliced and
/// each flow's FlowStats::bytesReadSpliced / bytesWrittenSpliced say how much took that path.
/// While a splice holds the destination's write side, writes from others wait in its queue
/// until the copy ends; reads of the source from others wait likewise. CopyOption::NoSplice,
/// or RILL_SPLICE=0 in the environment, turns splicing off.
RILL_EXPORT QFuture<CopyResult> copy(Flow *source, Flow *destination,
                                     CopyOptions options = CopyOption::NoOptions);
/// Copies \a a to \a b and \a b to \a a at once, each direction as copy() with
/// CopyOption::ShutdownDestination.
///
/// When one side's peer ends its stream, the other side's write direction is shut down, so a
/// half-close travels through the proxy, and the other direction goes on until its own end of
/// stream.
///
/// Resolves when both directions are done, with both directions' results. On the first error
/// in either direction the proxy aborts both flows: the other direction might otherwise wait
/// forever, and a reset (not a clean end of stream) tells the other peer its stream was cut.
/// The result then names the first error and the flow it happened on.
///
/// The future always finishes, as copy()'s does, in the calling thread. The proxy does not own
/// the flows. A null \a a or \a b is an argument error (InvalidArgument) that leaves the other
/// flow untouched.
RILL_EXPORT QFuture<ProxyResult> proxy(Flow *a, Flow *b);
/// As proxy(a, b), with \a options for both directions (CopyOption::NoSplice); each direction
/// always shuts its destination down at the end of stream.
RILL_EXPORT QFuture<ProxyResult> proxy(Flow *a, Flow *b, CopyOptions options);

/// Writes \a stats to \a debug: bytes and operations each way, and the duration.
RILL_EXPORT QDebug operator<<(QDebug debug, const CopyStats &stats);
/// Writes \a result to \a debug: the side and error if it failed, and the stats.
RILL_EXPORT QDebug operator<<(QDebug debug, const CopyResult &result);
/// Writes \a result to \a debug: the side and error if it failed, and both directions.
RILL_EXPORT QDebug operator<<(QDebug debug, const ProxyResult &result);

} // namespace rill

Q_DECLARE_METATYPE(rill::CopyStats)
Q_DECLARE_METATYPE(rill::CopyResult)
Q_DECLARE_METATYPE(rill::ProxyResult)
