// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Building HTTP text without QByteArray::append's cost: on Qt 6.4 every append() goes through
// insert(), some 200 to 600 instructions a call with its aliasing and growth checks, and a
// message head is a dozen appends. Profiled, that was a tenth of a small request's work.

#include <QtCore/QByteArray>
#include <QtCore/QByteArrayView>

#include <charconv>
#include <cstring>
#include <utility>

namespace rill::http {

// Writes into room reserved up front with memcpy; take() hands the bytes over. Grows by
// doubling when a head is larger than reserved.
class ByteWriter
{
public:
    explicit ByteWriter(qsizetype reserve) : m_bytes(reserve, Qt::Uninitialized) {}

    ByteWriter &operator<<(QByteArrayView text)
    {
        const qsizetype n = text.size();
        if (n == 0)
            return *this; // a null view's data() is null, which memcpy may not take even for 0
        if (m_used + n > m_bytes.size())
            m_bytes.resize(qMax(2 * m_bytes.size(), m_used + n));
        std::memcpy(m_bytes.data() + m_used, text.data(), size_t(n));
        m_used += n;
        return *this;
    }
    ByteWriter &operator<<(char c) { return *this << QByteArrayView(&c, 1); }
    // Decimal digits, no QByteArray made for them (QByteArray::number allocates).
    ByteWriter &operator<<(qint64 n)
    {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
        Q_UNUSED(ec); // 24 characters hold any qint64
        return *this << QByteArrayView(digits, end - digits);
    }
    ByteWriter &operator<<(int n) { return *this << qint64(n); }

    QByteArray take()
    {
        m_bytes.truncate(m_used); // shrinking keeps the allocation
        m_used = 0;
        return std::exchange(m_bytes, QByteArray());
    }

private:
    QByteArray m_bytes;
    qsizetype m_used = 0;
};

// Appends a token that a parser callback gives: most arrive whole, and a null array made from
// them at once costs one exact allocation instead of append()'s growth path.
inline void appendToken(QByteArray &to, const char *at, size_t length)
{
    if (to.isEmpty())
        to = QByteArray(at, qsizetype(length));
    else
        to.append(at, qsizetype(length));
}

// Body bytes that arrived in \a buffer, as a QByteArray: the buffer itself (shared, no copy)
// when they are all of it, as in nearly every read of a large body; else a copy of the span.
inline QByteArray shareOrCopy(QByteArrayView span, const QByteArray *buffer)
{
    if (buffer && span.data() == buffer->constData() && span.size() == buffer->size())
        return *buffer;
    return span.toByteArray();
}

} // namespace rill::http
