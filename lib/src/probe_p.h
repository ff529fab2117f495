// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The probe's registry hooks: flows and listeners join it when made and leave it before they
// are destroyed. With no subscriber, joining costs one lock per flow made, nothing per
// operation.

#include <QtCore/QCborMap>
#include <QtCore/QObject>

namespace rill {
class Flow;
namespace probe {
void addFlow(Flow *flow);
void removeFlow(Flow *flow);
void addListener(QObject *listener); // a TcpListener or LocalListener (its "endpoint" property)
void removeListener(QObject *listener);

// The protocol's framing: a 4-byte big-endian length, then one CBOR map (with "v" added).
QByteArray frame(QCborMap map);
// Takes the first whole frame from *buffer into *map: 1 taken, 0 not whole yet, -1 too large.
int takeFrame(QByteArray *buffer, QCborMap *map);
constexpr quint32 MaxFrame = 16 * 1024 * 1024;
} // namespace probe
} // namespace rill
