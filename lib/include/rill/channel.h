// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

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

// A buffered reader and writer over any flow: framed reads (lines, exact sizes, delimiters)
// and writes that are plain appends, leaving in one writev() of the flow per flush.
//
// Threads: a channel lives in its flow's thread, and every call on it is made from there.
// The futures it returns may be waited on or continued from any thread (result(), then(),
// co_await), as a flow's.
class RILL_EXPORT Channel : public QObject
{
    Q_OBJECT
    Q_PROPERTY(qint64 writeBufferLimit READ writeBufferLimit WRITE setWriteBufferLimit)
public:
    // What readLine() and readUntil() do with the terminator or delimiter that ended the data.
    enum class Terminator {
        Keep,  // the data ends with it ("\n", "\r\n", the delimiter), as QIODevice::readLine
        Strip, // it is consumed but not returned; an empty line is then data of zero bytes
    };
    Q_ENUM(Terminator)
    static constexpr Terminator KeepTerminator = Terminator::Keep;
    static constexpr Terminator StripTerminator = Terminator::Strip;

    static constexpr qint64 DefaultWriteBufferLimit = 64 * 1024;

    // The channel does not own the flow; the flow must live in the channel's thread.
    explicit Channel(Flow *flow, QObject *parent = nullptr);
    ~Channel() override;

    Flow *flow() const;

    // ---- Reading. Each read resolves with data, Eof or an error (as Flow::read()); reads are
    // served in call order. A read whose future is cancelled consumes nothing; a read whose
    // deadline passes first resolves with an error of kind TimedOut and consumes nothing.
    QFuture<ReadResult> readLine(qsizetype maxLength,
                                 QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    QFuture<ReadResult> readLine(qsizetype maxLength, Terminator terminator,
                                 QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    QFuture<ReadResult> readExactly(qsizetype size,
                                    QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    QFuture<ReadResult> readUntil(QByteArrayView delimiter, qsizetype maxLength,
                                  Terminator terminator = Terminator::Keep,
                                  QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));
    QFuture<ReadResult> readSome(qsizetype maxLength,
                                 QDeadlineTimer deadline = QDeadlineTimer(QDeadlineTimer::Forever));

    QByteArray peek(qsizetype maxLength) const;
    qsizetype bytesBuffered() const;

    /// Takes a line from what is already buffered, without a future: what readLine() would
    /// resolve with at once (the line; an error of kind LineTooLong; once the stream ended, its
    /// last line, Eof or the error), or std::nullopt when readLine() would have to wait for the
    /// flow, or while reads are waiting (they are served first). Never reads from the flow:
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

    // ---- Writing: appends to the channel's buffer, sent by flush(), at the end of the current
    // turn of the event loop, or when the buffer reaches writeBufferLimit().
    bool write(QByteArrayView data);
    bool write(const QByteArray &data);
    bool write(const char *data);
    bool writeLine(QByteArrayView line);
    QFuture<WriteResult> flush();

    qint64 writeBufferLimit() const;
    void setWriteBufferLimit(qint64 bytes);
    qint64 bytesToWrite() const;
    Error error() const;

    // ---- Ending
    QFuture<WriteResult> shutdown(Flow::Direction direction);
    QFuture<WriteResult> close();

Q_SIGNALS:
    // write() returned false because the buffer was full; now it takes bytes again.
    void drained();
    // An automatic flush failed (or found the flow's write side closed): what was buffered is
    // lost, write() gives false and flush() the flow's result from now on.
    void errorOccurred(const rill::Error &error);

private:
    std::unique_ptr<ChannelPrivate> d;
    friend class ChannelPrivate;
    Q_DISABLE_COPY(Channel)
};

} // namespace rill
