// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// What a flow's futures hold: rill::ReadResult, rill::WriteResult, rill::CloseResult.

#include <rill/error.h>

#include <QtCore/QByteArray>

namespace rill {

/// What a read gives: data (at least one byte), the end of the stream (Eof), or an error.
///
/// Exactly one of isData(), isEof() and isError() is true. A value type.
///
/// \sa Flow::read(), Channel::readLine()
class RILL_EXPORT ReadResult
{
public:
    /// Eof: a default-constructed result is the end of the stream, so a result is never "nothing".
    ReadResult() = default;

    /// A result holding \a data (a Channel read may give zero bytes: an empty stripped line).
    static ReadResult fromData(const QByteArray &data);
    /// The end of the stream: the peer ended its side, or the read side was shut down.
    static ReadResult eof() { return ReadResult(); }
    /// A result holding \a error.
    static ReadResult fromError(const Error &error);

    /// True if the result holds data().
    bool isData() const { return m_status == Status::Data; }
    /// True at the end of the stream.
    bool isEof() const { return m_status == Status::Eof; }
    /// True if the result holds an error().
    bool isError() const { return m_status == Status::Error; }
    /// The bytes read; empty unless isData().
    QByteArray data() const { return m_data; }
    /// The error; of kind Error::Kind::None unless isError().
    Error error() const { return m_error; }

    /// True if both hold the same status, data and error.
    friend bool operator==(const ReadResult &a, const ReadResult &b)
    {
        return a.m_status == b.m_status && a.m_data == b.m_data && a.m_error == b.m_error;
    }
    /// True if status, data or error differ.
    friend bool operator!=(const ReadResult &a, const ReadResult &b) { return !(a == b); }

private:
    enum class Status : quint8 { Eof, Data, Error };
    Status m_status = Status::Eof;
    QByteArray m_data;
    Error m_error;
};

/// What a write gives: accepted (Ok), the write side is closed (Eof), or an error.
///
/// Ok means the bytes were accepted into the send queue, not that the peer has them; Eof means
/// they were not taken. A value type.
///
/// \sa Flow::write(), Flow::shutdown(), Channel::flush()
class RILL_EXPORT WriteResult
{
public:
    /// Ok.
    WriteResult() = default;

    /// Ok: the bytes were accepted.
    static WriteResult ok() { return WriteResult(); }
    /// Eof: the write side is closed, the bytes were not taken.
    static WriteResult eof();
    /// A result holding \a error.
    static WriteResult fromError(const Error &error);

    /// True if the bytes were accepted (or, for shutdown(), it succeeded).
    bool isOk() const { return m_status == Status::Ok; }
    /// True if the write side is closed: nothing was taken.
    bool isEof() const { return m_status == Status::Eof; }
    /// True if the result holds an error().
    bool isError() const { return m_status == Status::Error; }
    /// The error; of kind Error::Kind::None unless isError().
    Error error() const { return m_error; }

    /// True if both hold the same status and error.
    friend bool operator==(const WriteResult &a, const WriteResult &b)
    {
        return a.m_status == b.m_status && a.m_error == b.m_error;
    }
    /// True if status or error differ.
    friend bool operator!=(const WriteResult &a, const WriteResult &b) { return !(a == b); }

private:
    enum class Status : quint8 { Ok, Eof, Error };
    Status m_status = Status::Ok;
    Error m_error;
};

/// What close() gives: Ok, or the error that prevented a clean close; and the unread input it
/// discarded.
///
/// Ok when every accepted byte was handed to the transport, our end of stream was sent and the
/// peer ended its side too; otherwise the error that prevented it. Either way, bytesDiscarded()
/// counts the unread input that close() had to throw away beyond what it keeps for later read()
/// calls (not an error of close(): the application did not read). A value type.
///
/// \sa Flow::close()
class RILL_EXPORT CloseResult
{
public:
    /// Ok, nothing discarded.
    CloseResult() = default;

    /// Ok, with \a bytesDiscarded bytes of unread input thrown away.
    static CloseResult ok(qint64 bytesDiscarded = 0);
    /// A result holding \a error, with \a bytesDiscarded bytes of unread input thrown away.
    static CloseResult fromError(const Error &error, qint64 bytesDiscarded = 0);

    /// True if the close was clean: every accepted byte sent, both ends of stream exchanged.
    bool isOk() const { return m_error.isNone(); }
    /// True if the result holds an error().
    bool isError() const { return !m_error.isNone(); }
    /// The error; of kind Error::Kind::None if isOk().
    Error error() const { return m_error; }
    /// The unread input thrown away beyond what the flow keeps for later reads.
    qint64 bytesDiscarded() const { return m_bytesDiscarded; }

    /// True if both hold the same error and count.
    friend bool operator==(const CloseResult &a, const CloseResult &b)
    {
        return a.m_error == b.m_error && a.m_bytesDiscarded == b.m_bytesDiscarded;
    }
    /// True if error or count differ.
    friend bool operator!=(const CloseResult &a, const CloseResult &b) { return !(a == b); }

private:
    Error m_error;
    qint64 m_bytesDiscarded = 0;
};

/// Writes \a result to \a debug: rill::ReadResult(data, N bytes), (eof) or (the error).
RILL_EXPORT QDebug operator<<(QDebug debug, const ReadResult &result);
/// Writes \a result to \a debug: rill::WriteResult(ok), (eof) or (the error).
RILL_EXPORT QDebug operator<<(QDebug debug, const WriteResult &result);
/// Writes \a result to \a debug: rill::CloseResult(ok) or (the error), with the bytes discarded.
RILL_EXPORT QDebug operator<<(QDebug debug, const CloseResult &result);

} // namespace rill

Q_DECLARE_METATYPE(rill::ReadResult)
Q_DECLARE_METATYPE(rill::WriteResult)
Q_DECLARE_METATYPE(rill::CloseResult)
