// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick

// A lamp for one of a flow's states: green while open, amber once that side has ended (the
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
    color: {
        switch (lampState) {
        case "open": return "#2da44e"
        case "ending": return "#e3b341"
        case "ended": return "#d4881e"
        case "failed": return "#cf222e"
        default: return "#8c959f"
        }
    }
}
