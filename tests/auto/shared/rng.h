// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Randomness for the model-based tests: portable (no std distributions), so a seed means the
// same sequence everywhere.

#include <QtCore/QtGlobal>

namespace rilltest {

class Rng
{
public:
    explicit Rng(quint64 seed) : m_state(seed) {}
    quint64 next()
    {
        // splitmix64
        quint64 z = (m_state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    qint64 range(qint64 lo, qint64 hi) // inclusive
    {
        return lo + qint64(next() % quint64(hi - lo + 1));
    }
    bool chance(int percent) { return range(0, 99) < percent; }
    // Spread over orders of magnitude: as many small values as large ones.
    qint64 logRange(qint64 lo, qint64 hi)
    {
        int bits = 0;
        while ((qint64(1) << bits) < hi)
            ++bits;
        const qint64 top = qint64(1) << range(0, bits);
        return qBound(lo, range(lo, qMax(lo, qMin(hi, top))), hi);
    }

private:
    quint64 m_state;
};

} // namespace rilltest
