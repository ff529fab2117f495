// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <rill/error.h>

#include <QtCore/QByteArray>

namespace rill {

// What a read gives: data (at least one byte), the end of the stream, or an error.
class RILL_EXPORT ReadResult
{
public:
    // A default-constructed result is Eof, so a result is never "nothing".
    ReadResult() = default;

    static ReadResult fromData(const QByteArray &data);
    static ReadResult eof() { return ReadResult(); }
    static ReadResult fromError(const Error &error);

    bool isData() const { return m_status == Status::Data; }
    bool isEof() const { return m_status == Status::Eof; }
    bool isError() const { return m_status == Status::Error; }
    QByteArray data() const { return m_data; }
    Error error() const { return m_error; }

    friend bool operator==(const ReadResult &a, const ReadResult &b)
    {
        return a.m_status == b.m_status && a.m_data == b.m_data && a.m_error == b.m_error;
    }
    friend bool operator!=(const ReadResult &a, const ReadResult &b) { return !(a == b); }

private:
    enum class Status : quint8 { Eof, Data, Error };
    Status m_status = Status::Eof;
    QByteArray m_data;
    Error m_error;
};

// What a write gives: accepted (Ok), the write side is closed (Eof), or an error.
class RILL_EXPORT WriteResult
{
public:
    WriteResult() = default; // Ok

    static WriteResult ok() { return WriteResult(); }
    static WriteResult eof();
    static WriteResult fromError(const Error &error);

    bool isOk() const { return m_status == Status::Ok; }
    bool isEof() const { return m_status == Status::Eof; }
    bool isError() const { return m_status == Status::Error; }
    Error error() const { return m_error; }

    friend bool operator==(const WriteResult &a, const WriteResult &b)
    {
        return a.m_status == b.m_status && a.m_error == b.m_error;
    }
    friend bool operator!=(const WriteResult &a, const WriteResult &b) { return !(a == b); }

private:
    enum class Status : quint8 { Ok, Eof, Error };
    Status m_status = Status::Ok;
    Error m_error;
};

// What close() gives: Ok when every accepted byte was handed to the transport, our end of
// stream was sent and the peer ended its side too; otherwise the error that prevented it.
// Either way, bytesDiscarded() counts the unread input that close() had to throw away beyond
// what it keeps for later read() calls (not an error of close(): the application did not read).
class RILL_EXPORT CloseResult
{
public:
    CloseResult() = default; // Ok, nothing discarded

    static CloseResult ok(qint64 bytesDiscarded = 0);
    static CloseResult fromError(const Error &error, qint64 bytesDiscarded = 0);

    bool isOk() const { return m_error.isNone(); }
    bool isError() const { return !m_error.isNone(); }
    Error error() const { return m_error; }
    qint64 bytesDiscarded() const { return m_bytesDiscarded; }

    friend bool operator==(const CloseResult &a, const CloseResult &b)
    {
        return a.m_error == b.m_error && a.m_bytesDiscarded == b.m_bytesDiscarded;
    }
    friend bool operator!=(const CloseResult &a, const CloseResult &b) { return !(a == b); }

private:
    Error m_error;
    qint64 m_bytesDiscarded = 0;
};

RILL_EXPORT QDebug operator<<(QDebug debug, const ReadResult &result);
RILL_EXPORT QDebug operator<<(QDebug debug, const WriteResult &result);
RILL_EXPORT QDebug operator<<(QDebug debug, const CloseResult &result);

} // namespace rill

Q_DECLARE_METATYPE(rill::ReadResult)
Q_DECLARE_METATYPE(rill::WriteResult)
Q_DECLARE_METATYPE(rill::CloseResult)
