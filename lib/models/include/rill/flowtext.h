// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

// Flows as people read them: the words for states and results, the lamps views colour states
// with, byte counts, and the bytes themselves as one printable line or a hex dump. The Widgets
// inspector and the QML module both show flows through these, so they say the same things.

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QByteArrayView>
#include <QtCore/QString>
#include <QtCore/QStringList>

namespace rill::FlowText {

// The words for a flow's state and for each direction, as tables and lamps label them.
RILL_MODELS_EXPORT QString stateText(Flow::State state); // "connecting", "open", "closing", "closed"
RILL_MODELS_EXPORT QString readStateText(Flow::ReadState state); // "open", "end of stream", "failed"
// "open", "shutting down" (flushing before the FIN), "closed" (FIN sent, or the peer is gone),
// "failed"
RILL_MODELS_EXPORT QString writeStateText(Flow::WriteState state);

// A lamp shows a state at a glance: open, ending (a direction is shutting down or the flow
// closing), ended (that direction's end of stream: the half-close), failed, or idle (not
// connected yet, or closed). A lamp is told apart by its colour, the state's word beside it.
enum class Lamp { Idle, Open, Ending, Ended, Failed };
RILL_MODELS_EXPORT Lamp lamp(Flow::State state);
RILL_MODELS_EXPORT Lamp lamp(Flow::ReadState state);
RILL_MODELS_EXPORT Lamp lamp(Flow::WriteState state);
// "idle", "open", "ending", "ended", "failed": the lamp's name for QML (StateLamp.lampState).
RILL_MODELS_EXPORT QString lampName(Lamp lamp);
RILL_MODELS_EXPORT Lamp lampNamed(QStringView name); // Idle for a name that is none of them
// Its colour as "#rrggbb", which QColor and QML's color both take.
RILL_MODELS_EXPORT QString lampColor(Lamp lamp);

// Why an operation did not give what was asked: "" for data or Ok, "end of stream", or the
// error's message (errorMessage()).
RILL_MODELS_EXPORT QString readResultText(const ReadResult &result);
// For a write "the write side is closed (end of stream)" at Eof: the bytes were not taken.
RILL_MODELS_EXPORT QString writeResultText(const WriteResult &result);

// Byte counts for people: "12 B", "1.5 KiB", "12 KiB", "3.4 MiB", "1.25 GiB"; "-" if negative.
RILL_MODELS_EXPORT QString bytes(qint64 count);
RILL_MODELS_EXPORT QString rate(qint64 bytesPerSecond); // "1.5 KiB/s"

constexpr int DefaultTextChars = 160;
constexpr int DefaultHexBytes = 64;

// Bytes as one line of text, unambiguous and safe to show: printable ASCII and printable UTF-8
// as they are; \n, \r, \t and \\ escaped; every other byte as \xNN. At most maxChars
// characters or escapes; when that cut the text, or data holds only the first bytes of a chunk
// of totalSize (-1: data is all of it), the line ends with " … (SIZE in all)".
RILL_MODELS_EXPORT QString printable(
    QByteArrayView data, qint64 totalSize = -1, int maxChars = DefaultTextChars);
// The first maxBytes of data as hex dump lines, 16 bytes each: "    0010  48 69 ... |Hi..|",
// then "    … SIZE more" for what was not shown (of totalSize, if data is only the first bytes).
RILL_MODELS_EXPORT QStringList hexDump(
    QByteArrayView data, qint64 totalSize = -1, int maxBytes = DefaultHexBytes);

} // namespace rill::FlowText
