// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::PipeFlow, an in-memory pair of connected flows.

#include <rill/flow.h>

#include <memory>
#include <utility>

namespace rill {

class PipeFlowPrivate;

/// An in-memory flow: one end of a connected pair, to test protocol code without sockets.
///
/// It behaves as a socket flow does (half-close, backpressure, a reset when the other end is
/// aborted or destroyed). Between the two ends sits a buffer of bufferSize bytes per direction,
/// the stand-in for the kernel's socket buffers. Its endpoints are "pipe:" endpoints; nothing
/// connects to one.
class RILL_EXPORT PipeFlow : public Flow
{
    Q_OBJECT
public:
    /// The buffer per direction unless createPair() is given another: 256 KiB.
    static constexpr qint64 DefaultBufferSize = 256 * 1024;

    /// The two ends of a pair, owned by the caller.
    using Pair = std::pair<std::unique_ptr<PipeFlow>, std::unique_ptr<PipeFlow>>;

    /// Makes two connected ends with \a bufferSize bytes of buffer per direction, both open.
    ///
    /// The caller owns both ends. Each may be moved to its own thread (moveToThread()) and
    /// destroyed independently: destroying an open end resets the other, like a dropped socket.
    /// Set a parent and release() the unique_ptr to hand ownership to a QObject instead.
    static Pair createPair(qint64 bufferSize = DefaultBufferSize);

    /// Destroys this end; if it is open, the other end sees a reset (Error::Kind::Reset).
    ~PipeFlow() override;

private:
    explicit PipeFlow(PipeFlowPrivate &dd);
    Q_DECLARE_PRIVATE_D(d_rill, PipeFlow)
    Q_DISABLE_COPY(PipeFlow)
};

} // namespace rill
