// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// The public transport interface: write a new kind of flow by moving bytes only.

#include <rill/endpoint.h>
#include <rill/error.h>
#include <rill/flow.h>

#include <QtCore/QByteArray>
#include <QtCore/QList>
#include <QtCore/QString>

#include <memory>

namespace rill {

class TransportFlow;
class TransportFlowPrivate;

/// What moves a flow's bytes: implement this to make a new kind of flow.
///
/// A TransportFlow keeps everything a flow shares, written once: the bounded send queue and its
/// write ledger, the pending reads, the per-direction states, deadlines and cancellation, the
/// idle timeout, the stats and the thread hop. A transport only moves bytes. The flow asks it,
/// through the virtual functions below, to start sending what is queued, to deliver bytes or
/// stop, to send the end of stream, and to drop or release the connection; the transport
/// answers through the protected functions (opened(), received(), receivedEndOfStream(),
/// written(), endOfStreamSent(), peerGone(), writeFailed(), failed()).
///
/// Threads: a transport belongs to its flow and runs in the flow's thread. The flow calls every
/// virtual function there, and the transport must call the protected functions there too (from
/// another thread, post to flow() with QMetaObject::invokeMethod(flow(), ...,
/// Qt::QueuedConnection)). QObjects a transport creates should be children of flow(), so that
/// moveToThread() on the flow moves them along.
///
/// Re-entrancy: apart from opened() from start(), a transport must not call a protected
/// function from inside one of its virtual functions: it records what it was asked and acts
/// from the event loop (a queued call, a notifier, a signal of its device). The flow settles its
/// own state before it calls the transport, and the results it gives from the protected
/// functions may run continuations that call back into the flow.
///
/// After abort() or release() the flow makes no further call to the transport except its
/// destructor, and ignores what the transport still reports.
class RILL_EXPORT Transport
{
public:
    /// Creates a transport that belongs to no flow yet; a TransportFlow takes it over.
    Transport();
    /// Destroys the transport. Called by the flow's destructor, after abort() or release().
    virtual ~Transport();

    /// The transport's short name, returned by Flow::transportName() ("pipe", "tcp", "device").
    virtual QString name() const = 0;
    /// This end's address, if the transport has one; an invalid Endpoint otherwise.
    ///
    /// Asked on the flow's thread when the flow opens; Flow::localEndpoint() returns that copy.
    virtual Endpoint localEndpoint() const;
    /// The other end's address, if the transport has one; an invalid Endpoint otherwise.
    ///
    /// Asked on the flow's thread when the flow opens; Flow::peerEndpoint() returns that copy.
    virtual Endpoint peerEndpoint() const;
    /// What error messages name as the other end ("process cat", "file /tmp/a").
    ///
    /// Used for the errors the flow makes itself (TimedOut, Discarded, loss); the default is
    /// peerEndpoint() as text.
    virtual QString peerName() const;

    /// Starts the transport; called once, on the flow's thread, by the TransportFlow constructor.
    ///
    /// Until the transport calls opened() the flow is Connecting: writes queue up, reads wait.
    /// opened() may be called from here, at once, or later from the event loop; failed() must
    /// come from the event loop.
    virtual void start() = 0;

    /// The send queue has bytes: hand them on when you can, reporting each part with written().
    ///
    /// Called when the queue goes from empty to non-empty, and when the flow opens with bytes
    /// queued. The transport keeps going by itself, from the event loop, while bytesToWrite()
    /// is above what it already handed on; queuedData() gives the bytes.
    virtual void startWriting() = 0;

    /// Whether the flow wants bytes now: deliver them with received() while \a enabled.
    ///
    /// The flow turns reading off when its read-ahead is full and no read waits, so a reader
    /// who stops reading pushes back on the peer; readRoom() says how many bytes are welcome.
    /// When reading is turned on again, bytes the transport held back should follow.
    virtual void setReadEnabled(bool enabled) = 0;

    /// Every queued byte was handed on: send the end of stream, then call endOfStreamSent().
    ///
    /// Called once, after the last written(). A transport that cannot end one direction alone
    /// reports writeFailed() with an error of kind Error::Kind::Unsupported instead, so that
    /// shutdown(Write) and close() say so rather than pretending.
    virtual void shutdownWrite() = 0;

    /// Drops the connection at once (the peer should see a reset where it can).
    ///
    /// Called when the flow is aborted, fails, times out, or is destroyed (then from the flow's
    /// destructor: do not call the flow's functions here).
    virtual void abort() = 0;

    /// The flow is done with the transport: release what it holds.
    ///
    /// Called once both directions ended cleanly, or after the transport reported failed()
    /// (then the peer should learn of the failure, as it would of abort()).
    virtual void release() = 0;

    /// The flow is about to move to another thread (called in the old thread, before the move).
    ///
    /// Stop what is bound to the old thread and is not a child of flow() (children move along).
    virtual void leaveThread();
    /// The flow arrived in its new thread (called there, before any other call to the flow).
    virtual void joinThread();

protected:
    /// The flow this transport belongs to; null until a TransportFlow took it over.
    TransportFlow *flow() const;

    /// Whether the flow wants bytes now (the last setReadEnabled()).
    bool isReadEnabled() const;
    /// How many bytes the flow takes now: -1 for any amount (a read waits, or input is being
    /// discarded), else the room left in its read-ahead (0 when reading is off).
    qint64 readRoom() const;

    /// Bytes in the send queue that were not reported written() yet (including those handed on).
    qint64 bytesToWrite() const;
    /// The queued bytes, from \a offset bytes past the front, at most \a maxBytes (-1: all).
    ///
    /// A snapshot: whole buffers are shallow copies of what write() was given (only a buffer cut
    /// by \a offset or \a maxBytes is copied), so they stay valid as long as they are kept.
    /// \a offset lets a transport that hands bytes on before they count as written (a device
    /// with its own buffer) skip those. Empty once the flow ended.
    QList<QByteArray> queuedData(qint64 offset = 0, qint64 maxBytes = -1) const;

    /// The transport is connected: the flow becomes Open (from Connecting).
    void opened();
    /// \a data arrived from the peer. Empty data, and data before opened(), is ignored.
    ///
    /// Taken whatever readRoom() says (the flow keeps it), but a transport that keeps
    /// delivering while reading is off defeats the backpressure.
    void received(const QByteArray &data);
    /// The peer's end of stream arrived: after what was received, reads give Eof.
    void receivedEndOfStream();
    /// The first \a bytes of the send queue were handed on (they count as sent).
    ///
    /// May accept writes waiting above the high-water mark, and so call startWriting() or
    /// shutdownWrite() before it returns.
    void written(qint64 bytes);
    /// The end of stream asked for by shutdownWrite() was sent: the write side is Closed.
    void endOfStreamSent();
    /// The peer can no longer receive. With nothing queued the write side ends cleanly
    /// (writes give Eof); with bytes queued it fails, saying how many were not sent.
    void peerGone();
    /// The write direction failed alone with \a error: what is queued is lost (the flow says
    /// how much: writeLost(), FlowStats::bytesUnsent), writes give the error, reads go on.
    void writeFailed(const Error &error);
    /// The transport failed with \a error: both directions end and the flow is Closed. Bytes
    /// received before stay readable, then reads give the error.
    void failed(const Error &error);

private:
    friend class TransportFlowPrivate;
    Q_DISABLE_COPY_MOVE(Transport)
    TransportFlowPrivate *m_flow = nullptr;
};

/// A flow over any Transport: the flow machinery written once, the bytes moved by the transport.
///
/// Everything Flow promises holds for a TransportFlow (see the README's contract table); what
/// the transport can do decides only how bytes and ends travel. Its futures resolve in the flow's
/// thread and can be waited on from any: read() with data the transport received(), then Eof
/// after receivedEndOfStream() or the error of failed(); write() once the bytes are in the send
/// queue (not when the transport took them); shutdown(Write) after endOfStreamSent(), or with the
/// error of writeFailed(); close() once both ends are done. Deadlines, cancellation and the idle
/// timeout belong to the machinery: a transport never sees them (a read that timed out consumed
/// nothing, a withdrawn write never shows in queuedData(), an idle flow set to abort calls
/// Transport::abort()). A TransportFlow lives in the thread that created it, as any QObject, and
/// may be moved with moveToThread().
class RILL_EXPORT TransportFlow : public Flow
{
    Q_OBJECT
public:
    /// Makes a flow over \a transport (taking ownership) and starts it (Transport::start()).
    ///
    /// The flow is Connecting until the transport calls opened(); a null transport gives a flow
    /// that fails, as soon as the event loop runs, with an error of kind InvalidArgument.
    explicit TransportFlow(std::unique_ptr<Transport> transport, QObject *parent = nullptr);
    /// Aborts the flow if it is still open (pending futures finish with Aborted) and destroys
    /// the transport.
    ~TransportFlow() override;

protected:
    /// The transport this flow runs on (owned by the flow).
    Transport *transport() const;

private:
    Q_DECLARE_PRIVATE_D(d_rill, TransportFlow)
    Q_DISABLE_COPY(TransportFlow)
};

} // namespace rill
