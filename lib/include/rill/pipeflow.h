// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/flow.h>

#include <memory>
#include <utility>

namespace rill {

class PipeFlowPrivate;

// An in-memory flow: one end of a connected pair. It behaves as a socket flow does (half-close,
// backpressure, reset when the other end is aborted or destroyed), so protocol code can be
// tested without sockets. Between the two ends sits a buffer of bufferSize bytes per direction,
// the stand-in for the kernel's socket buffers.
class RILL_EXPORT PipeFlow : public Flow
{
    Q_OBJECT
public:
    static constexpr qint64 DefaultBufferSize = 256 * 1024;

    using Pair = std::pair<std::unique_ptr<PipeFlow>, std::unique_ptr<PipeFlow>>;

    // The caller owns both ends. Each may be moved to its own thread (moveToThread) and
    // destroyed independently: destroying an open end resets the other, like a dropped socket.
    // Set a parent and release() the unique_ptr to hand ownership to a QObject instead.
    static Pair createPair(qint64 bufferSize = DefaultBufferSize);

    ~PipeFlow() override;

private:
    explicit PipeFlow(PipeFlowPrivate &dd);
    Q_DECLARE_PRIVATE_D(d_rill, PipeFlow)
    Q_DISABLE_COPY(PipeFlow)
};

} // namespace rill
