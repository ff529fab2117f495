// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

#include <QtCore/QByteArray>

#include <array>
#include <memory>

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
        if (m_ring) {
            for (QByteArray &kept : m_ring->kept) {
                if (kept.isDetached() && kept.capacity() >= size) {
                    QByteArray buffer = std::move(kept);
                    kept = QByteArray();
                    buffer.resize(size); // within its capacity: no allocation
                    return buffer;
                }
            }
        }
        return QByteArray(size, Qt::Uninitialized);
    }

    // Keeps a shallow copy of a buffer being handed on, in place of the oldest kept one.
    void keep(const QByteArray &buffer)
    {
        if (!m_ring)
            m_ring = std::make_unique<Ring>();
        for (QByteArray &kept : m_ring->kept) {
            if (kept.isNull()) {
                kept = buffer;
                return;
            }
        }
        m_ring->kept[m_ring->oldest] = buffer;
        m_ring->oldest = (m_ring->oldest + 1) % Slots;
    }

    // An idle or ended stream keeps no spare memory.
    void release() { m_ring.reset(); }

private:
    struct Ring
    {
        std::array<QByteArray, Slots> kept;
        int oldest = 0;
    };
    // Allocated by the first bulk read: an idle flow (c10k) pays one pointer.
    std::unique_ptr<Ring> m_ring;
};

} // namespace rill
