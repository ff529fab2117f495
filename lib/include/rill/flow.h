// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::Flow, the byte stream every transport is, and its counters, rill::FlowStats.

#include <rill/endpoint.h>
#include <rill/result.h>

#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QList>
#include <QtCore/QObject>

#include <chrono>
#include <functional>
#include <memory>

namespace rill {

/// A flow's counters, in the spirit of Mirage's flow stats.
///
/// A snapshot: Flow::stats() may be read from any thread; each field is exact, the fields are
/// not taken at one instant.
struct RILL_EXPORT FlowStats
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
    /// See the field bytesDiscarded.
    Q_PROPERTY(qint64 bytesDiscarded MEMBER bytesDiscarded)
    /// See the field bytesUnsent.
    Q_PROPERTY(qint64 bytesUnsent MEMBER bytesUnsent)
    /// See the field bytesReadSpliced.
    Q_PROPERTY(qint64 bytesReadSpliced MEMBER bytesReadSpliced)
    /// See the field bytesWrittenSpliced.
    Q_PROPERTY(qint64 bytesWrittenSpliced MEMBER bytesWrittenSpliced)
public:
    qint64 bytesRead = 0;    ///< Bytes handed to read() callers.
    qint64 readOps = 0;      ///< Reads that resolved with data.
    qint64 bytesWritten = 0; ///< Bytes handed to the transport (the kernel, or the peer pipe).
    qint64 writeOps = 0;     ///< write() and writev() calls that were accepted.
    /// Input thrown away unread: after shutdown(Read), or by close() beyond what it keeps.
    qint64 bytesDiscarded = 0;
    /// Accepted bytes never handed to the transport (the write side failed with them queued).
    qint64 bytesUnsent = 0;
    /// Of bytesRead, those that rill::copy() moved out of the kernel with splice(2): they never
    /// passed through this process (no read() call, no dataArrived).
    qint64 bytesReadSpliced = 0;
    /// Of bytesWritten, those that rill::copy() moved in with splice(2) (no write() call, no
    /// write-ledger entry, no dataSent).
    qint64 bytesWrittenSpliced = 0;

    /// True if every field is equal.
    friend bool operator==(const FlowStats &a, const FlowStats &b)
    {
        return a.bytesRead == b.bytesRead && a.readOps == b.readOps
                && a.bytesWritten == b.bytesWritten && a.writeOps == b.writeOps
                && a.bytesDiscarded == b.bytesDiscarded && a.bytesUnsent == b.bytesUnsent
                && a.bytesReadSpliced == b.bytesReadSpliced
                && a.bytesWrittenSpliced == b.bytesWrittenSpliced;
    }
    /// True if any field differs.
    friend bool operator!=(const FlowStats &a, const FlowStats &b) { return !(a == b); }
};

/// Writes \a stats to \a debug, every field.
RILL_EXPORT QDebug operator<<(QDebug debug, const FlowStats &stats);

class FlowPrivate;

/// A byte stream whose operations return futures, with half-close in both directions and a
/// bounded send queue.
///
/// The transports are subclasses: TcpFlow, LocalFlow, PipeFlow; connectTo() and the listeners
/// make them. The contract, in brief (each function says its part):
/// - **Every future finishes.** On abort(), on destruction, or when the flow's thread finishes
///   with the flow still alive, pending futures finish with an error of kind
///   Error::Kind::Aborted; calls made after that thread finished resolve at once.
/// - **Results tell data, Eof and errors apart** (ReadResult, WriteResult, CloseResult).
/// - **Errors are sticky and said once.** The first error is error(); errorOccurred() is emitted
///   once, with it; every later operation gets that same error. State is settled before any
///   future finishes or signal is emitted, so a continuation that calls back in sees it.
/// - **Every wait can have a deadline** (a QDeadlineTimer: a duration such as 500ms converts to
///   one that far from now). It bounds how long the operation may wait, not how long the data
///   takes to reach the peer.
/// - **Cancel-safe.** QFuture::cancel() on a pending read consumes nothing; on a write still
///   waiting above the high-water mark it withdraws the write.
/// - **Loss is never silent.** Accepted bytes that can no longer be handed to the transport
///   fail the write side with an error that says how many were not sent; writeLost() names
///   each write, FlowStats::bytesUnsent counts the bytes.
///
/// **Threads.** A flow lives in its QObject's thread, and its futures are finished there
/// (a cancelled one too, within about ten milliseconds of cancel()). Every public
/// function, getters and setters included, may be called from any thread: operations and
/// setters from another thread are carried out in the flow's thread (a setter's value is
/// visible to getters at once), getters return a snapshot. A continuation attached with
/// QFuture::then() without a context runs in the flow's thread (or at once in the calling
/// thread if the future had finished); give it a context object to run it in that object's
/// thread. Waiting on a future (result(), waitForFinished()) works from any thread but the
/// flow's own. Delete a flow with deleteLater() from inside its continuations and signals.
///
/// **Observation**, for tools: state(), readState() and writeState() with a signal for each
/// change; the write ledger (writeQueued(), writeAccepted(), writeSent(), writeRejected(),
/// writeLost(), by write id); stats(); bytesQueued() and writesWaiting(); and the bytes
/// themselves (dataArrived(), dataSent()), copied only while something is connected to them.
///
/// \sa Channel, copy(), proxy()
class RILL_EXPORT Flow : public QObject
{
    Q_OBJECT
    /// The flow's state as a whole. \sa state(), stateChanged()
    Q_PROPERTY(State state READ state NOTIFY stateChanged)
    /// The read direction's state. \sa readState(), readStateChanged()
    Q_PROPERTY(ReadState readState READ readState NOTIFY readStateChanged)
    /// The write direction's state. \sa writeState(), writeStateChanged()
    Q_PROPERTY(WriteState writeState READ writeState NOTIFY writeStateChanged)
    /// The send queue's bound, in bytes. \sa setHighWaterMark()
    Q_PROPERTY(qint64 highWaterMark READ highWaterMark WRITE setHighWaterMark NOTIFY
                       highWaterMarkChanged)
    /// Bytes accepted and not yet handed to the transport. \sa bytesQueued()
    Q_PROPERTY(qint64 bytesQueued READ bytesQueued NOTIFY bytesQueuedChanged)
    /// Writes not accepted yet. \sa writesWaiting()
    Q_PROPERTY(int writesWaiting READ writesWaiting NOTIFY writesWaitingChanged)
    /// The flow's first error. \sa error(), errorOccurred()
    Q_PROPERTY(rill::Error error READ error NOTIFY errorOccurred)
    /// Our end of the connection. \sa localEndpoint()
    Q_PROPERTY(rill::Endpoint localEndpoint READ localEndpoint NOTIFY endpointsChanged)
    /// The peer's end of the connection. \sa peerEndpoint()
    Q_PROPERTY(rill::Endpoint peerEndpoint READ peerEndpoint NOTIFY endpointsChanged)
    /// The idle timeout in milliseconds, 0 for none. \sa setIdleTimeout()
    Q_PROPERTY(int idleTimeout READ idleTimeout WRITE setIdleTimeout NOTIFY idleTimeoutChanged)
    /// What the flow does when idle for idleTimeout. \sa setIdleAction()
    Q_PROPERTY(IdleAction idleAction READ idleAction WRITE setIdleAction NOTIFY
                       idleActionChanged)

public:
    /// A direction of the stream, for shutdown().
    enum class Direction {
        Read,      ///< What the peer sends us.
        Write,     ///< What we send the peer.
        ReadWrite, ///< Both.
    };
    Q_ENUM(Direction)

    /// The flow's state as a whole. \sa state()
    enum class State {
        Connecting, ///< The transport is not connected yet; writes queue up, reads wait.
        Open,       ///< Connected; each direction has its own state (ReadState, WriteState).
        /// close() was called: flushing, sending the end of stream (FIN), waiting for the
        /// peer's end of stream.
        Closing,
        Closed, ///< Both directions are done, or the flow was aborted or failed.
    };
    Q_ENUM(State)

    /// The read direction's state. \sa readState()
    enum class ReadState {
        Open,   ///< Reads give data as it arrives.
        Eof,    ///< The peer's end of stream was read, or shutdown(Read) was called.
        Failed, ///< Reads give an error (after any bytes still buffered).
    };
    Q_ENUM(ReadState)

    /// The write direction's state. \sa writeState()
    enum class WriteState {
        Open,         ///< Writes are accepted (within the high-water mark).
        ShuttingDown, ///< Flushing the send queue before the end of stream (FIN).
        Closed, ///< The FIN was sent, or the peer is gone with nothing lost; writes give Eof.
        Failed, ///< Writes give error().
    };
    Q_ENUM(WriteState)

    /// What the flow does when it was idle for idleTimeout().
    enum class IdleAction {
        Notify, ///< Emit idleTimedOut() and go on.
        Abort,  ///< Emit idleTimedOut(), then fail the flow with an error of kind TimedOut.
    };
    Q_ENUM(IdleAction)

    /// The send queue's bound unless setHighWaterMark() changes it: 1 MiB.
    static constexpr qint64 DefaultHighWaterMark = 1024 * 1024;

    /// Drops the connection as abort() does; pending futures finish with an error of kind
    /// Aborted. From inside the flow's continuations and signals, use deleteLater().
    ~Flow() override;

    /// Reads the next bytes: resolves with data (at least one byte), Eof, or an error.
    ///
    /// Reads are served in call order. The future is finished in the flow's thread.
    /// - **Eof** once the peer's end of stream was read (after every byte before it), or after
    ///   shutdown(Read); sticky: every later read gives Eof. After close() discarded input,
    ///   reads give the kept bytes and then an error of kind Discarded instead, never a plain
    ///   Eof.
    /// - **Error** once the read side failed, after the bytes still buffered; sticky. Aborted
    ///   after abort(), on destruction, or when the flow's thread ended.
    /// - **Deadline:** a read still waiting at \a deadline resolves with an error of kind
    ///   TimedOut; it consumed nothing and the flow stays usable. A deadline that has already
    ///   passed takes what is buffered at once, or times out.
    /// - **Cancel:** a read whose future is cancelled (QFuture::cancel(), from any thread)
    ///   consumes nothing: the bytes go to the next read, and the cancelled future finishes,
    ///   without a result, within about ten milliseconds (the flow's thread must be running
    ///   its event loop).
    ///
    /// A socket flow reads ahead at most 64 KiB beyond what read() callers took, so a reader who
    /// stops reading pushes back on its peer.
    QFuture<rill::ReadResult> read(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Writes \a buffer: resolves Ok once it is accepted into the send queue (not when the peer
    /// has it).
    ///
    /// While the queue holds highWaterMark() bytes or more, the future waits: that is the
    /// backpressure. The future is finished in the flow's thread. An empty buffer resolves Ok at
    /// once while the write side is open.
    /// - **Eof** when the write side is closed (shutdown(Write), close(), or the peer went away
    ///   with nothing of ours lost): nothing was taken; sticky.
    /// - **Error** once the write side failed: the flow's first error; sticky. Aborted after
    ///   abort(), on destruction, or when the flow's thread ended. An accepted write whose bytes
    ///   are lost later is told by writeLost() and errorOccurred(), not by this future.
    /// - **Deadline:** a write still waiting at \a deadline is withdrawn: nothing of it is
    ///   sent, and the future resolves with an error of kind TimedOut (writeRejected()).
    /// - **Cancel:** a write whose future is cancelled while it waits (from any thread) is
    ///   withdrawn within about ten milliseconds: nothing of it is sent, the future finishes
    ///   without a result and writeRejected() says Canceled. Cancelling an accepted write
    ///   changes nothing.
    ///
    /// A socket flow sends the first write of each turn of the event loop that finds the queue
    /// empty before write() returns (a reply leaves without waiting for the next turn), so
    /// bytesQueuedChanged() and writeSent() may be emitted from inside write(); later writes of
    /// the same turn leave together in one system call at the next turn. Errors are always
    /// reported from the event loop, never from inside write().
    QFuture<rill::WriteResult> write(const QByteArray &buffer,
                                     QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Writes \a buffers as write() does, contiguous and in order in the stream.
    ///
    /// The buffers are accepted together, as one write with one id in the write ledger; the
    /// results, deadline and cancel are those of write().
    QFuture<rill::WriteResult> writev(const QList<QByteArray> &buffers,
                                      QDeadlineTimer deadline = QDeadlineTimer::Forever);

    /// The callback of read(const QObject *, ReadCallback, QDeadlineTimer).
    using ReadCallback = std::function<void(const rill::ReadResult &)>;
    /// The callback of write() and writev() with a context.
    using WriteCallback = std::function<void(const rill::WriteResult &)>;

    /// Reads as read() does, and calls \a callback with the result instead of resolving a
    /// future: the same results in the same order, with no QFuture made for the read (on Qt
    /// 6.4 a future costs about 4,000 instructions, several times what a small read does).
    ///
    /// \a callback runs once, in \a context's thread (at once, inside this call, when the
    /// result is ready and that is the calling thread), unless \a context has been destroyed
    /// by then; with a null \a context it runs in the flow's thread. It is never dropped while
    /// \a context lives: a read the flow cannot serve any more gets its error (Aborted when
    /// the flow is destroyed, unless \a context is the flow itself). A read whose \a context
    /// is found destroyed when its data is ready takes nothing: the bytes go to the next read,
    /// as for a cancelled future. Such a read cannot be cancelled otherwise; give it a \a
    /// deadline. Reads made either way are served in call order.
    ///
    /// When \a context lives in another thread than the flow's, its data is in flight until
    /// that thread has run the callback, and later reads wait meanwhile: if \a context is
    /// destroyed first (Qt then drops the queued call), the bytes go back to the flow, in
    /// front, for the next read. Were the read side to fail or be shut down in between, they
    /// would be counted in FlowStats::bytesDiscarded, with a warning on rill.flow.
    void read(const QObject *context, ReadCallback callback,
              QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Writes \a buffer as write() does, and calls \a callback with the result, in \a
    /// context's thread, as read(const QObject *, ReadCallback, QDeadlineTimer) does. The
    /// bytes are sent even if \a context is destroyed first; only the call is dropped.
    void write(const QByteArray &buffer, const QObject *context, WriteCallback callback,
               QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Writes \a buffers as writev() does, and calls \a callback with the result, in \a
    /// context's thread, as read(const QObject *, ReadCallback, QDeadlineTimer) does.
    void writev(const QList<QByteArray> &buffers, const QObject *context, WriteCallback callback,
                QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Closes both directions: flushes the send queue, sends the end of stream, and resolves
    /// once the peer has ended its side too; then the transport is released.
    ///
    /// Resolves with CloseResult Ok when every accepted byte was handed to the transport;
    /// otherwise with the error (the flow's first, sticky). The future is finished in the flow's
    /// thread. Later writes give Eof (or the write side's error, if it failed).
    ///
    /// close() never waits on the application's reading: while closing, input goes to pending
    /// reads first, is kept for later read() calls up to max(highWaterMark(), 64 KiB), and beyond
    /// that is discarded and counted (CloseResult::bytesDiscarded(),
    /// FlowStats::bytesDiscarded); reads then get the kept bytes and an error of kind Discarded,
    /// never a plain Eof.
    ///
    /// - **Deadline:** at \a deadline the flow aborts (the peer sees a reset) and close()
    ///   resolves with an error of kind TimedOut.
    /// - **Again:** a second close() resolves at the same moment, with the same result.
    /// - **Abort:** an error of kind Aborted after abort(), on destruction, or when the flow's
    ///   thread ended.
    QFuture<rill::CloseResult> close(QDeadlineTimer deadline = QDeadlineTimer::Forever);
    /// Ends one direction (or both) of the stream: the half-close.
    ///
    /// - **Write:** flushes, then sends the end of stream. Resolves Ok when every accepted byte
    ///   was handed to the transport and the end of stream was sent (also when the write side
    ///   had already ended that way, or the peer went away with nothing of ours lost); with the
    ///   write side's error otherwise, such as the error that says how many accepted bytes
    ///   could not be sent. Reading goes on; later writes give Eof (or that error).
    /// - **Read:** reads give Eof from now on, and what arrives is discarded and counted
    ///   (FlowStats::bytesDiscarded); resolves Ok at once.
    /// - **ReadWrite:** both; resolves as Write does.
    ///
    /// The future is finished in the flow's thread. It has no deadline: bound it with close()'s,
    /// or abort(). After abort(), destruction or the end of the flow's thread: an error of kind
    /// Aborted.
    QFuture<rill::WriteResult> shutdown(rill::Flow::Direction direction);
    /// Drops the connection at once.
    ///
    /// Every pending future finishes with an error of kind Aborted, unless the flow had failed
    /// already: errors are sticky, the first one stays. What arrived before the abort is still
    /// delivered by read(), then the error. A TCP or pipe peer sees a reset. A Unix socket has
    /// no reset: its peer reads end of stream (or a reset, if the flow had unread bytes) and its
    /// writes then give Eof.
    void abort();

    /// The flow's state as a whole; a snapshot, from any thread.
    State state() const;
    /// The read direction's state; a snapshot, from any thread.
    ReadState readState() const;
    /// The write direction's state; a snapshot, from any thread.
    WriteState writeState() const;
    /// The send queue's bound: writes wait while the queue holds this many bytes or more.
    ///
    /// \sa DefaultHighWaterMark, setHighWaterMark()
    qint64 highWaterMark() const;
    /// Sets the send queue's high-water mark to \a bytes; values below 1 are taken as 1 (one
    /// write accepted at a time).
    ///
    /// highWaterMark() returns the new value at once, from any thread; waiting writes are
    /// accepted (in the flow's thread) if the queue is now below it.
    void setHighWaterMark(qint64 bytes);
    /// Bytes accepted into the send queue and not yet handed to the transport.
    qint64 bytesQueued() const;
    /// Writes not accepted yet: waiting while the queue is at or above the high-water mark.
    int writesWaiting() const;
    /// The flow's counters, a snapshot from any thread.
    FlowStats stats() const;
    /// The first error the flow failed with, or an error of kind None.
    Error error() const;
    /// Our end of the connection; an invalid Endpoint until it is known (while connecting).
    Endpoint localEndpoint() const;
    /// The peer's end of the connection; invalid until known.
    Endpoint peerEndpoint() const;
    /// The transport's name: "pipe", "tcp" or "unix".
    QString transportName() const;

    /// The idle timeout in milliseconds; 0 (the default) is off.
    ///
    /// Idle: no byte arrived from or was handed to the transport for this long.
    int idleTimeout() const;
    /// Sets the idle timeout: after \a milliseconds without a byte arriving from or handed to
    /// the transport, the flow emits idleTimedOut(), and again after each further idle period.
    ///
    /// With idleAction() Abort it then fails with an error of kind TimedOut (as Node's
    /// socket.setTimeout(), with the choice to abort). 0 turns it off.
    void setIdleTimeout(int milliseconds);
    /// Sets the idle timeout to \a timeout, as setIdleTimeout(int).
    void setIdleTimeout(std::chrono::milliseconds timeout);
    /// What the flow does when idle for idleTimeout(); Notify by default.
    IdleAction idleAction() const;
    /// Sets what the flow does when idle for idleTimeout() to \a action.
    void setIdleAction(IdleAction action);

Q_SIGNALS:
    /// The flow's state changed to \a state.
    void stateChanged(rill::Flow::State state);
    /// The read direction's state changed to \a state.
    void readStateChanged(rill::Flow::ReadState state);
    /// The write direction's state changed to \a state.
    void writeStateChanged(rill::Flow::WriteState state);
    /// The flow failed with \a error: emitted once, with its first error.
    void errorOccurred(const rill::Error &error);
    /// The endpoints became known (on connecting).
    void endpointsChanged();
    /// The high-water mark changed to \a bytes.
    void highWaterMarkChanged(qint64 bytes);
    /// The bytes in the send queue changed to \a bytes.
    void bytesQueuedChanged(qint64 bytes);
    /// The number of writes waiting changed to \a count.
    void writesWaitingChanged(int count);
    /// The idle timeout changed to \a milliseconds.
    void idleTimeoutChanged(int milliseconds);
    /// The idle action changed to \a action.
    void idleActionChanged(rill::Flow::IdleAction action);
    /// The flow was idle for idleTimeout(); emitted again after each further idle period.
    void idleTimedOut();

    /// write() or writev() was called: write \a id (increasing from 1) of \a size bytes.
    ///
    /// The write ledger: every write gets an id, and then writeAccepted() or writeRejected(),
    /// and once accepted writeSent() or writeLost().
    void writeQueued(quint64 id, qint64 size);
    /// Write \a id is in the send queue; its future resolved Ok.
    void writeAccepted(quint64 id);
    /// The last byte of write \a id was handed to the transport.
    void writeSent(quint64 id);
    /// Write \a id was never accepted: it resolved with \a result, Eof or an error (the write
    /// side ended, its deadline passed, or its future was cancelled while it waited: kind
    /// Canceled).
    void writeRejected(quint64 id, const rill::WriteResult &result);
    /// Write \a id was accepted, but not all of it was handed to the transport before the
    /// write side failed with \a error.
    void writeLost(quint64 id, const rill::Error &error);

    /// \a data arrived from the transport (before read() takes it); for logs and inspectors.
    ///
    /// Emitted only while connected. The flow copies the bytes only while something is
    /// connected to this signal.
    void dataArrived(const QByteArray &data);
    /// \a data was handed to the transport; for logs and inspectors, as dataArrived().
    void dataSent(const QByteArray &data);

    /// \cond RILL_INTERNAL
    // For Rill's own transports (the subclasses' private parts derive from FlowPrivate).
protected:
    explicit Flow(FlowPrivate &dd, QObject *parent = nullptr);
    bool event(QEvent *event) override;
    void connectNotify(const QMetaMethod &signal) override;
    void disconnectNotify(const QMetaMethod &signal) override;

    std::unique_ptr<FlowPrivate> d_rill;
    /// \endcond

private:
    Q_DECLARE_PRIVATE_D(d_rill, Flow)
    Q_DISABLE_COPY(Flow)
};

} // namespace rill
