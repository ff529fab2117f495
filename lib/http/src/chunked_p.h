// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The chunked transfer coding (RFC 9112, 7.1) as the client and the server send it: chunks, and
// the last chunk with the message's trailer fields.

#include <rill/http/message.h>

#include <QtCore/QByteArray>
#include <QtCore/QList>

#include <utility>

namespace rill::http {

// A trailer field may not be one that frames or routes the message (RFC 9110, 6.5.1).
inline bool mayBeTrailer(const QByteArray &name)
{
    for (const char *framing : {"content-length", "transfer-encoding", "connection", "host", "trailer", "te"}) {
        if (name.compare(framing, Qt::CaseInsensitive) == 0)
            return false;
    }
    return true;
}

// The trailer fields of \a trailers that may be sent.
inline Headers sendableTrailers(const Headers &trailers)
{
    Headers sendable;
    for (const Headers::Field &f : trailers.fields())
        if (mayBeTrailer(f.first))
            sendable.append(f.first, f.second);
    return sendable;
}

// "Trailer: a, b\r\n" naming \a trailers in the head, unless \a headers has its own.
inline QByteArray trailerField(const Headers &headers, const Headers &trailers)
{
    if (trailers.isEmpty() || headers.contains("trailer"))
        return {};
    QByteArray field("Trailer: ");
    bool first = true;
    for (const Headers::Field &f : trailers.fields()) {
        if (!std::exchange(first, false))
            field += ", ";
        field += f.first;
    }
    return field + "\r\n";
}

// One chunk of \a data: its size in hexadecimal, the data, a line end.
inline QList<QByteArray> chunk(const QByteArray &data)
{
    return {QByteArray::number(data.size(), 16) + "\r\n", data, QByteArrayLiteral("\r\n")};
}

// The last chunk, with \a trailers (already sendable) before the final empty line.
inline QByteArray lastChunk(const Headers &trailers)
{
    QByteArray out("0\r\n");
    for (const Headers::Field &f : trailers.fields())
        out += f.first + ": " + f.second + "\r\n";
    return out + "\r\n";
}

} // namespace rill::http
