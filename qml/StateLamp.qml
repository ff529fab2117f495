// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick
import Rill

// A lamp for one of a flow's states, in rill::FlowText's colours (those of the Widgets
// inspector): green while open, amber while ending, blue once that side has ended (the
// half-close), red when it failed, grey when closed or not yet connected.
Rectangle {
    id: lamp

    // "open", "ending" (shutting down, closing), "ended" (end of stream, FIN sent), "failed",
    // "idle" (connecting, closed)
    property string lampState: "idle"

    implicitWidth: 12
    implicitHeight: 12
    radius: width / 2
    border.width: 1
    border.color: Qt.darker(color, 1.4)
    color: FlowText.lampColor(lampState)
}
