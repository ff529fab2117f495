// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick
import QtQuick.Controls

// A table with a header row over any table model (FlowModel, WriteLedgerModel): each cell shows
// the model's display text. For a flow model (lamps: true) the state, read and write columns
// carry a lamp (the model's lamp role), so half-closed flows stand out.
Item {
    id: root

    property alias model: table.model
    property bool lamps: false
    property int currentRow: -1
    property var columnWidths: []
    property var rightAligned: []
    readonly property alias rows: table.rows
    readonly property alias columns: table.columns
    readonly property alias view: table

    signal rowClicked(int row)

    HorizontalHeaderView {
        id: header
        objectName: "header"
        syncView: table
        anchors.left: table.left
        anchors.top: parent.top
        clip: true
    }

    TableView {
        id: table
        anchors.top: header.bottom
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        clip: true
        columnSpacing: 1
        rowSpacing: 1
        boundsBehavior: Flickable.StopAtBounds
        columnWidthProvider: column => root.columnWidths[column] ?? 90
        ScrollBar.vertical: ScrollBar { }
        ScrollBar.horizontal: ScrollBar { }

        delegate: Rectangle {
            id: cell
            objectName: "cell"
            required property int row
            required property int column
            required property var model   // the cell's roles (state, readState, lamp, ...)
            required property var display // the column's text
            // For tests and tools: where this cell is and what it says.
            readonly property int cellRow: row
            readonly property int cellColumn: column
            readonly property string text: label.text
            readonly property string lampState: lamp.visible ? lamp.lampState : ""

            implicitHeight: 26
            color: cell.row === root.currentRow ? cell.palette.highlight
                                                : (cell.row % 2 ? cell.palette.alternateBase : cell.palette.base)

            StateLamp {
                id: lamp
                objectName: "lamp"
                visible: root.lamps && lamp.lampState !== ""
                anchors.left: parent.left
                anchors.leftMargin: 6
                anchors.verticalCenter: parent.verticalCenter
                lampState: root.lamps ? (cell.model.lamp ?? "") : ""
            }
            Label {
                id: label
                anchors.left: lamp.visible ? lamp.right : parent.left
                anchors.right: parent.right
                anchors.leftMargin: 6
                anchors.rightMargin: 6
                anchors.verticalCenter: parent.verticalCenter
                horizontalAlignment: root.rightAligned.indexOf(cell.column) >= 0 ? Text.AlignRight
                                                                                 : Text.AlignLeft
                elide: Text.ElideRight
                color: cell.row === root.currentRow ? cell.palette.highlightedText : cell.palette.text
                text: cell.display === undefined ? "" : String(cell.display)
            }
            TapHandler {
                onTapped: root.rowClicked(cell.row)
            }
        }
    }
}
