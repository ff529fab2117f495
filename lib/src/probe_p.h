// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// The probe's registry hooks: flows and listeners join it when made and leave it before they
// are destroyed. With no subscriber, joining costs one lock per flow made, nothing per
// operation.

#include <QtCore/QCborMap>
#include <QtCore/QObject>

namespace rill {
class Flow;
struct ProbeExchange;
struct ProbeSocketInfo;
namespace probe {
void addFlow(Flow *flow);
void removeFlow(Flow *flow);
void addListener(QObject *listener); // a TcpListener or LocalListener (its "endpoint" property)
void removeListener(QObject *listener);

// The protocol's framing: a 4-byte big-endian length, then one CBOR map (with "v" added).
QByteArray frame(QCborMap map);
// Takes the whole frame at *offset of buffer into *map and moves *offset past it: 1 taken, 0 not
// whole yet, -1 too large. The caller removes what was taken once, not frame by frame: a read
// brings thousands of small frames, and removing each from the front is quadratic.
int takeFrame(const QByteArray &buffer, qsizetype *offset, QCborMap *map);
// An "exchange" frame, both ways.
QCborMap exchangeToMap(const ProbeExchange &exchange);
ProbeExchange exchangeFromMap(const QCborMap &map);
// A "socket" frame (the answer to a "socket" request), both ways.
QCborMap socketInfoToMap(const ProbeSocketInfo &info);
ProbeSocketInfo socketInfoFromMap(const QCborMap &map);
constexpr quint32 MaxFrame = 16 * 1024 * 1024;
} // namespace probe
} // namespace rill
