// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
#pragma once

/// \file
/// rill::FlowText, flows as people read them (component Models).

#include <rill/flow.h>
#include <rill/modelsglobal.h>

#include <QtCore/QByteArrayView>
#include <QtCore/QDateTime>
#include <QtCore/QString>
#include <QtCore/QStringList>

/// Flows as people read them: the words for states and results, the lamps views colour states
/// with, byte counts, and the bytes themselves as one printable line or a hex dump.
///
/// The Widgets inspector and the QML module both show flows through these, so they say the same
/// things.
namespace rill::FlowText {

/// The word for a flow's \a state, as tables and lamps label it: "connecting", "open",
/// "closing", "closed".
RILL_MODELS_EXPORT QString stateText(Flow::State state);
/// The words for the read direction's \a state: "open", "end of stream", "failed".
RILL_MODELS_EXPORT QString readStateText(Flow::ReadState state);
/// The words for the write direction's \a state: "open", "shutting down" (flushing before the
/// FIN), "closed" (FIN sent, or the peer is gone), "failed".
RILL_MODELS_EXPORT QString writeStateText(Flow::WriteState state);

/// A lamp shows a state at a glance.
///
/// A lamp is told apart by its colour, the state's word beside it.
enum class Lamp {
    Idle,   ///< Not connected yet, or closed.
    Open,   ///< Open.
    Ending, ///< A direction is shutting down, or the flow closing.
    Ended,  ///< That direction's end of stream: the half-close.
    Failed, ///< Failed.
};
/// The lamp of a flow's \a state.
RILL_MODELS_EXPORT Lamp lamp(Flow::State state);
/// The lamp of the read direction's \a state.
RILL_MODELS_EXPORT Lamp lamp(Flow::ReadState state);
/// The lamp of the write direction's \a state.
RILL_MODELS_EXPORT Lamp lamp(Flow::WriteState state);
/// The name of \a lamp for QML (StateLamp.lampState): "idle", "open", "ending", "ended",
/// "failed".
RILL_MODELS_EXPORT QString lampName(Lamp lamp);
/// The lamp called \a name (lampName()); Lamp::Idle for a name that is none of them.
RILL_MODELS_EXPORT Lamp lampNamed(QStringView name);
/// The colour of \a lamp as "#rrggbb", which QColor and QML's color both take.
RILL_MODELS_EXPORT QString lampColor(Lamp lamp);

/// Why a read did not give data: "" for data, "end of stream", or the error's message
/// (errorMessage()).
RILL_MODELS_EXPORT QString readResultText(const ReadResult &result);
/// Why a write was not accepted: "" for Ok, "the write side is closed (end of stream)" at Eof
/// (the bytes were not taken), or the error's message (errorMessage()).
RILL_MODELS_EXPORT QString writeResultText(const WriteResult &result);

/// For a TLS flow (rill::TlsFlow), its session: "TLS 1.3, TLS_AES_128_GCM_SHA256, ALPN h2",
/// or "handshake running" before it completed; empty for any other flow.
RILL_MODELS_EXPORT QString tlsSessionText(const Flow *flow);
/// For a TLS flow, its peer's certificate: subject, issuer and expiry as of  now, such as
/// "CN=localhost, issued by CN=Test CA, valid until 2027-01-05 (29 days left)" or "... expired
/// on 2026-01-05"; "no certificate" when the peer sent none; empty for any other flow.
RILL_MODELS_EXPORT QString peerCertificateText(const Flow *flow, const QDateTime &now);

/// A byte \a count for people: "12 B", "1.5 KiB", "12 KiB", "3.4 MiB", "1.25 GiB"; "-" if
/// negative.
RILL_MODELS_EXPORT QString bytes(qint64 count);
/// A rate for people, as bytes() with "/s": "1.5 KiB/s".
RILL_MODELS_EXPORT QString rate(qint64 bytesPerSecond);

/// The characters printable() shows unless told otherwise.
constexpr int DefaultTextChars = 160;
/// The bytes hexDump() shows unless told otherwise.
constexpr int DefaultHexBytes = 64;

/// Bytes as one line of text, unambiguous and safe to show.
///
/// Printable ASCII and printable UTF-8 as they are; \\n, \\r, \\t and \\\\ escaped; every
/// other byte as \\xNN. At most \a maxChars characters or escapes; when that cut the text, or
/// \a data holds only the first bytes of a chunk of \a totalSize (-1: \a data is all of it),
/// the line ends with " … (SIZE in all)".
RILL_MODELS_EXPORT QString printable(
    QByteArrayView data, qint64 totalSize = -1, int maxChars = DefaultTextChars);
/// The first \a maxBytes of \a data as hex dump lines, 16 bytes each:
/// "    0010  48 69 ... |Hi..|".
///
/// Then "    … SIZE more" for what was not shown (of \a totalSize, if \a data is only the
/// first bytes).
RILL_MODELS_EXPORT QStringList hexDump(
    QByteArrayView data, qint64 totalSize = -1, int maxBytes = DefaultHexBytes);

} // namespace rill::FlowText
