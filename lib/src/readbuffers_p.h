// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QByteArray>

#include <array>

namespace rill {

// Read buffers a transport takes back once its readers let go of them.
//
// A fresh large buffer per read costs page faults: glibc hands a freed 64 KiB+ block back to the
// kernel (heap trim or munmap), so every read maps its pages anew. The transport instead keeps a
// shallow copy of each buffer it hands on; once nobody else references it (isDetached()), its
// pages are reused for the next read. Data a reader holds is never written to: a buffer still
// shared is skipped. A few are kept because the consumer usually still holds the last chunk or
// two (the send queue it was written to) when the next read comes.
class ReadBuffers
{
public:
    static constexpr int Slots = 4;

    // A detached buffer of size bytes (contents undefined), a kept one if one is free.
    QByteArray take(qsizetype size)
    {
        for (QByteArray &kept : m_kept) {
            if (kept.isDetached() && kept.capacity() >= size) {
                QByteArray buffer = std::move(kept);
                kept = QByteArray();
                buffer.resize(size); // within its capacity: no allocation
                return buffer;
            }
        }
        return QByteArray(size, Qt::Uninitialized);
    }

    // Keeps a shallow copy of a buffer being handed on, in place of the oldest kept one.
    void keep(const QByteArray &buffer)
    {
        for (QByteArray &kept : m_kept) {
            if (kept.isNull()) {
                kept = buffer;
                return;
            }
        }
        m_kept[m_oldest] = buffer;
        m_oldest = (m_oldest + 1) % Slots;
    }

    // An idle or ended stream keeps no spare memory.
    void release()
    {
        for (QByteArray &kept : m_kept)
            kept = QByteArray();
        m_oldest = 0;
    }

private:
    std::array<QByteArray, Slots> m_kept;
    int m_oldest = 0;
};

} // namespace rill
