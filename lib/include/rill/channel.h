// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::Channel, framed reads and buffered writes over any flow.

#include <rill/flow.h>
#include <rill/result.h>

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>
#include <QtCore/QDeadlineTimer>
#include <QtCore/QFuture>
#include <QtCore/QObject>

#include <memory>
#include <optional>

namespace rill {

class ChannelPrivate;

/// A buffered reader and writer over any flow: framed reads (lines, exact sizes, delimiters)
/// and writes that are plain appends, leaving in one Flow::writev() per flush.
///
/// **Reading.** Reads take what they need from the flow's segments as they come (a line, an
/// exact size, up to a delimiter, or some bytes) and resolve in call order, with data, Eof or an
/// error just as Flow::read() does. A read whose future is cancelled consumes nothing; a read
/// whose deadline passes first resolves with an error of kind TimedOut and consumes nothing.
///
/// **Writing.** Writes are appends to the channel's buffer, which leaves in one Flow::writev()
/// at flush(), at the end of the current turn of the event loop, or when the buffer reaches
/// writeBufferLimit(). Backpressure: while the flow holds a flush back, write() returns false
/// once the buffer reaches writeBufferLimit(), and drained() says when to go on (Node's
/// write() and 'drain').
///
/// **Callbacks.** Each read, and flush(), also comes in a form that calls a callback with the
/// result instead of resolving a future, as Flow::read(const QObject *, ReadCallback,
/// QDeadlineTimer) does: the same results, served in call order with the future reads, and no
/// QFuture made (on Qt 6.4 one costs about 4,000 instructions, far more than taking a line from
/// the buffer). A reader that issues the next read from the callback reads line after line
/// with no future and no nesting:
/// \code
/// void Session::next()
/// {
///     m_channel->readLine(4096, this, [this](const rill::ReadResult &line) {
///         if (!line.isData())
///             return finish(line);
///         handle(line.data());
///         next();
///     });
/// }
/// \endcode
///
/// **Threads.** The channel lives in its flow's thread, and every call on it is made from
/// there, except the callback forms of the reads and of flush(), which may be called from any
/// thread (they are then queued to the channel's thread, and served in the order they arrive
/// there; once that thread has finished, they are called back with an error of kind Aborted
/// instead). Its futures are finished there too, and may be waited on or continued from any
/// other thread (result(), then(), co_await), as a flow's. It does not own the flow. Destroying
/// the channel drops what it buffered (both ways) and finishes its pending futures with an
/// error of kind Aborted, and calls its pending callbacks with it (unless their context is the
/// channel); so does destroying the flow, for the operations that were waiting on it.
class RILL_EXPORT Channel : public QObject
{
    Q_OBJECT
    /// The write buffer's bound, in bytes. \sa writeBufferLimit(), setWriteBufferLimit()
    Q_PROPERTY(qint64 writeBufferLimit READ writeBufferLimit WRITE setWriteBufferLimit)
public:
    /// What readLine() and readUntil() do with the terminator or delimiter that ended the data.
    enum class Terminator {
        /// The data ends with it ("\n", "\r\n", the delimiter), as QIODevice::readLine().
        Keep,
        /// It is consumed but not returned; an empty line is then data of zero bytes.
        Strip,
    };
    Q_ENUM(Terminator)
    /// Terminator::Keep, for short calls.
    static constexpr Terminator KeepTerminator = Terminator::Keep;
    /// Terminator::Strip, for short calls.
    static constexpr Terminator StripTerminator = Terminator::Strip;

    /// The write buffer's bound unless setWriteBufferLimit() changes it: 64 KiB.
    static constexpr qint64 DefaultWriteBufferLimit = 64 * 1024;

    /// The callback of the reads with a context, such as readLine(qsizetype, const QObject *,
    /// ReadCallback, QDeadlineTimer): Flow's.
    using ReadCallback = Flow::ReadCallback;
    /// The callback of flush(const QObject *, WriteCallback): Flow's.
    using WriteCallback = Flow::WriteCallback;

    /// Makes a channel over \a flow, which must live in the same thread as the channel.
    ///
    /// The channel does not own the flow.
    explicit Channel(Flow *flow, QObject *parent = nullptr);
    /// Drops what is buffered; pending reads, flushes, shutdowns and closes finish with an
    /// error of kind Aborted.
    ~Channel() override;

    /// The flow the channel reads and writes; null once it was destroyed.
    Flow *flow() const;

    /// Reads one line as readLine(qsizetype, Terminator, QDeadlineTimer) does, keeping its end
    /// of line (Terminator::Keep).
    QFuture<ReadResult> readLine(qsizetype maxLength,
                                 QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads one line: the bytes up to and including the next "\n" (so "\r\n" too).
    ///
    /// With \a terminator Strip the "\n" or "\r\n" is consumed but not returned, and an
    /// empty line is data of zero bytes. The future is finished in the channel's thread.
    /// - **Too long:** \a maxLength bounds the line, its end of line included (and the memory
    ///   the read holds). A line that is longer resolves with an error of kind LineTooLong and
    ///   consumes nothing: the channel stays usable, and readSome() gives the long line's bytes.
    /// - **Eof:** a last line without an end of line, ended by Eof, is data; Eof comes with the
    ///   next read.
    /// - **Error:** if the stream fails, the read gives the error and the partial line stays
    ///   readable with readSome().
    /// - **Deadline:** if \a deadline passes before the line is complete, an error of kind
    ///   TimedOut; the read consumes nothing.
    /// - **Cancel:** a cancelled read consumes nothing.
    QFuture<ReadResult> readLine(qsizetype maxLength, Terminator terminator,
                                 QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads exactly \a size bytes.
    ///
    /// If the stream ends first, resolves with Eof when nothing was buffered, else with an
    /// error of kind Closed that says how many bytes arrived; those bytes are not consumed
    /// (bytesBuffered(), peek() and readSome() give them). If the stream fails, the error.
    /// \a deadline and cancel as for readLine().
    QFuture<ReadResult> readExactly(qsizetype size,
                                    QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads up to and including the next occurrence of \a delimiter (with \a terminator
    /// Strip: up to it, the delimiter consumed but not returned).
    ///
    /// \a maxLength bounds the data, delimiter included: without the delimiter in that many
    /// bytes the read gives an error of kind LineTooLong and consumes nothing. Unlike
    /// readLine(), a stream that ends before the delimiter gives an error of kind Closed (Eof
    /// if nothing was buffered), and the bytes stay readable. \a deadline and cancel as for
    /// readLine().
    QFuture<ReadResult> readUntil(QByteArrayView delimiter, qsizetype maxLength,
                                  Terminator terminator = Terminator::Keep,
                                  QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads what is buffered, at most \a maxLength bytes (at least one); if nothing is, the
    /// next bytes the flow gives.
    ///
    /// Eof or an error once the stream ended and the buffer is empty. \a deadline and cancel
    /// as for readLine().
    QFuture<ReadResult> readSome(qsizetype maxLength,
                                 QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));

    /// Reads one line as readLine(qsizetype, Terminator, const QObject *, ReadCallback,
    /// QDeadlineTimer) does, keeping its end of line (Terminator::Keep).
    void readLine(qsizetype maxLength, const QObject *context, ReadCallback callback,
                  QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads one line as readLine(qsizetype, Terminator, QDeadlineTimer) does, and calls \a
    /// callback with the result instead of resolving a future: the same results, served in call
    /// order with the reads made either way, and no QFuture made for the read.
    ///
    /// \a callback runs once, in \a context's thread (at once, inside this call, when the
    /// result is ready and that is the calling thread), unless \a context has been destroyed by
    /// then; with a null \a context it runs in the channel's thread. It is never dropped while
    /// \a context lives: destroying the channel calls it with an error of kind Aborted (unless
    /// \a context is the channel itself). A read whose \a context is found destroyed when the
    /// line is ready takes nothing: the bytes stay buffered for the next read, as for a
    /// cancelled future. Such a read cannot be cancelled otherwise; give it a \a deadline (an
    /// error of kind TimedOut, nothing consumed). A read made by \a callback waits behind the
    /// reads made before it, and is served after \a callback returns, not inside it: reading
    /// line after line this way nests no calls. It may be called from any thread; see Threads
    /// in the class description.
    ///
    /// When \a context lives in another thread than the channel's, the line is in flight until
    /// that thread has run the callback, and later reads wait meanwhile: if \a context is
    /// destroyed first (Qt then drops the queued call), the line's bytes, its end of line
    /// included, go back in front of the buffer for the next read.
    void readLine(qsizetype maxLength, Terminator terminator, const QObject *context,
                  ReadCallback callback,
                  QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads exactly \a size bytes as readExactly(qsizetype, QDeadlineTimer) does, and calls \a
    /// callback with the result, in \a context's thread, as readLine(qsizetype, Terminator,
    /// const QObject *, ReadCallback, QDeadlineTimer) does.
    void readExactly(qsizetype size, const QObject *context, ReadCallback callback,
                     QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads up to and including the next \a delimiter as readUntil(QByteArrayView, qsizetype,
    /// Terminator, const QObject *, ReadCallback, QDeadlineTimer) does, keeping the delimiter
    /// (Terminator::Keep).
    void readUntil(QByteArrayView delimiter, qsizetype maxLength, const QObject *context,
                   ReadCallback callback,
                   QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads up to the next \a delimiter as readUntil(QByteArrayView, qsizetype, Terminator,
    /// QDeadlineTimer) does, and calls \a callback with the result, in \a context's thread, as
    /// readLine(qsizetype, Terminator, const QObject *, ReadCallback, QDeadlineTimer) does.
    void readUntil(QByteArrayView delimiter, qsizetype maxLength, Terminator terminator,
                   const QObject *context, ReadCallback callback,
                   QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    /// Reads some bytes as readSome(qsizetype, QDeadlineTimer) does, and calls \a callback with
    /// the result, in \a context's thread, as readLine(qsizetype, Terminator, const QObject *,
    /// ReadCallback, QDeadlineTimer) does.
    void readSome(qsizetype maxLength, const QObject *context, ReadCallback callback,
                  QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));

    /// A copy of the first \a maxLength buffered bytes (fewer if fewer are buffered), without
    /// consuming them.
    ///
    /// The channel reads from the flow only as reads ask, so this shows what earlier reads left
    /// over or are waiting to complete.
    QByteArray peek(qsizetype maxLength) const;
    /// The bytes read from the flow and not consumed by a channel read yet.
    qsizetype bytesBuffered() const;

    /// Takes a line from what is already buffered, without a future: what readLine() would
    /// resolve with at once (the line; an error of kind LineTooLong; once the stream ended, its
    /// last line, Eof or the error), or std::nullopt when readLine() would have to wait for the
    /// flow, or while reads are waiting (they are served first) or a result is in flight to a
    /// callback in another thread (see readLine(qsizetype, Terminator, const QObject *,
    /// ReadCallback, QDeadlineTimer)). Never reads from the flow:
    /// after std::nullopt, a readLine() waits for more. Reading line after line this way, with
    /// a future only when the buffer runs dry, costs no future per line:
    /// \code
    /// while (std::optional<rill::ReadResult> line = channel->tryReadLine(4096))
    ///     handle(*line);
    /// channel->readLine(4096).then(channel, handle); // and drain again from there
    /// \endcode
    /// Call it in the channel's thread, as every channel function.
    std::optional<ReadResult> tryReadLine(qsizetype maxLength,
                                          Terminator terminator = Terminator::Keep);
    /// readExactly() from what is buffered, as tryReadLine(): the result at once, or
    /// std::nullopt when fewer than \a size bytes are buffered and the stream has not ended.
    std::optional<ReadResult> tryReadExactly(qsizetype size);
    /// readUntil() from what is buffered, as tryReadLine().
    std::optional<ReadResult> tryReadUntil(QByteArrayView delimiter, qsizetype maxLength,
                                           Terminator terminator = Terminator::Keep);

    /// Appends \a data to the write buffer (a copy) and returns true; see
    /// write(const QByteArray &) for when it returns false and takes nothing.
    bool write(QByteArrayView data);
    /// Appends \a data to the write buffer and returns true.
    ///
    /// An array of 4 KiB or more is kept as it is (not copied); smaller ones are copied into a
    /// block with their neighbours. The buffer leaves in one Flow::writev() at flush(), at the
    /// end of the current turn of the event loop, or at once when it reaches
    /// writeBufferLimit().
    ///
    /// Returns false, and takes nothing, when the channel cannot take the bytes: while the flow
    /// holds a flush back (its send queue is above its high-water mark) and the buffer would
    /// grow past writeBufferLimit(); drained() says when to go on. Also, for good, after
    /// shutdown(Write) or close(), and after a flush failed (error() says why; errorOccurred()
    /// was emitted).
    bool write(const QByteArray &data);
    /// Appends the zero-terminated string \a data (without the terminator), as
    /// write(QByteArrayView).
    bool write(const char *data);
    /// Appends \a line and "\n" as one write: both are taken or neither.
    bool writeLine(QByteArrayView line);
    /// Hands what is buffered to the flow (one Flow::writev()) and resolves when everything
    /// written before this call was accepted by the flow.
    ///
    /// Resolves Ok, or with the flow's Eof or error, which the channel keeps and gives from
    /// then on. The future is finished in the channel's thread; Aborted if the channel or the
    /// flow is destroyed first.
    QFuture<WriteResult> flush();
    /// Flushes as flush() does, and calls \a callback with the result, in \a context's thread,
    /// as readLine(qsizetype, Terminator, const QObject *, ReadCallback, QDeadlineTimer) does
    /// (Aborted if the channel or the flow is destroyed first, unless \a context is the
    /// channel). The bytes are handed to the flow even if \a context is destroyed first; only
    /// the call is dropped.
    void flush(const QObject *context, WriteCallback callback);

    /// The write buffer's bound (default 64 KiB): reaching it flushes at once, and while the
    /// flow holds a flush back, write() takes no bytes that would pass it.
    qint64 writeBufferLimit() const;
    /// Sets the write buffer's bound to \a bytes (at least 1).
    void setWriteBufferLimit(qint64 bytes);
    /// The bytes written to the channel and not handed to the flow yet.
    qint64 bytesToWrite() const;
    /// Why writes fail: the error an automatic or explicit flush met (an error of kind Closed
    /// if the flow's write side was closed under the channel), or an error of kind None.
    Error error() const;

    /// Ends one direction (or both) of the stream, as Flow::shutdown() does, after the buffer.
    ///
    /// - **Write:** flushes, then shuts the flow's write side down (its FIN after every queued
    ///   byte); resolves with the flush's result if it was not Ok, else once the flow's
    ///   shutdown resolved. write() takes nothing from this call on.
    /// - **Read:** drops what is buffered, pending and later reads give Eof, and the flow's read
    ///   side is shut down; resolves Ok at once.
    /// - **ReadWrite:** both.
    QFuture<WriteResult> shutdown(Flow::Direction direction);
    /// Flushes, then closes the flow (Flow::close()).
    ///
    /// The flow sends its FIN after every queued byte and resolves once the peer ended its side
    /// too; until then reads go on delivering what the peer sends. Resolves with the flush's
    /// result if it was not Ok, else when the flow's close() resolved (Ok, or its error).
    /// write() takes nothing from this call on. It has no deadline of its own: call
    /// Flow::close() with one on flow(), or abort it.
    QFuture<WriteResult> close();

Q_SIGNALS:
    /// write() returned false because the buffer was full; now it takes bytes again.
    void drained();
    /// An automatic flush failed with \a error (or found the flow's write side closed): what
    /// was buffered is lost, write() gives false and flush() the flow's result from now on.
    void errorOccurred(const rill::Error &error);

private:
    std::unique_ptr<ChannelPrivate> d;
    friend class ChannelPrivate;
    Q_DISABLE_COPY(Channel)
};

} // namespace rill
