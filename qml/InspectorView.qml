// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Rill

// The inspector's main screen: every flow of a FlowModel (or any rill::FlowTableModel) in a
// table with lamps for its state and each direction, and below it the selected flow's write
// ledger and data log (from the moment it was selected).
Pane {
    id: root
    objectName: "inspectorView"

    property FlowTableModel model
    // The selected flow, by its row id (the first flow until the user picks one).
    property int currentId: 0
    readonly property int currentRow: model ? (model.count, model.rowOfId(currentId)) : -1
    readonly property Flow currentFlow: currentRow >= 0 ? model.flow(currentRow) : null

    padding: 8

    Connections {
        target: root.model
        function onCountChanged() { root.selectFirstIfNone() }
    }
    Component.onCompleted: selectFirstIfNone()
    function selectFirstIfNone() {
        if (root.model && root.currentRow < 0 && root.model.count > 0)
            root.currentId = root.model.data(root.model.index(0, 0), FlowTableModel.IdRole)
    }

    ColumnLayout {
        anchors.fill: parent
        spacing: 6

        RowLayout {
            Layout.fillWidth: true
            Label {
                text: qsTr("Flows")
                font.bold: true
                font.pixelSize: 16
            }
            Label {
                objectName: "flowCountLabel"
                text: !root.model ? "" : root.model.count === 1 ? qsTr("1 flow")
                                                             : qsTr("%1 flows").arg(root.model.count)
            }
            Item { Layout.fillWidth: true }
            Row {
                spacing: 12
                Repeater {
                    model: [["open", qsTr("open")], ["ending", qsTr("shutting down")],
                            ["ended", qsTr("ended (half-closed)")], ["failed", qsTr("failed")]]
                    Row {
                        id: legendEntry
                        required property var modelData
                        spacing: 4
                        StateLamp {
                            lampState: legendEntry.modelData[0]
                            anchors.verticalCenter: parent.verticalCenter
                        }
                        Label { text: legendEntry.modelData[1] }
                    }
                }
            }
        }

        FlowTable {
            id: flowTable
            objectName: "flowTable"
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredHeight: 3
            model: root.model
            lamps: true
            currentRow: root.currentRow
            columnWidths: [40, 120, 70, 170, 170, 90, 120, 120, 90, 90, 80, 70, 110, 260]
            rightAligned: [0, 8, 9, 10, 11, 12]
            onRowClicked: row => root.currentId =
                    root.model.data(root.model.index(row, 0), FlowTableModel.IdRole)
        }

        Label {
            objectName: "selectionLabel"
            Layout.fillWidth: true
            elide: Text.ElideRight
            text: root.currentFlow
                  ? qsTr("Flow %1: %2 \u2192 %3").arg(root.currentId)
                        .arg(root.currentFlow.localEndpoint).arg(root.currentFlow.peerEndpoint)
                  : qsTr("No flow selected")
        }

        RowLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            Layout.preferredHeight: 2
            spacing: 8

            GroupBox {
                title: qsTr("Write ledger (%1 waiting)").arg(ledger.waitingCount)
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.preferredWidth: 1

                FlowTable {
                    id: ledgerTable
                    objectName: "ledgerView"
                    anchors.fill: parent
                    model: WriteLedgerModel {
                        id: ledger
                        objectName: "ledgerModel"
                        flow: root.currentFlow
                    }
                    columnWidths: [60, 80, 80, 100, 90, 90, 200]
                    rightAligned: [0, 1, 4, 5]
                }
            }

            GroupBox {
                title: qsTr("Data log (%1 in, %2 out)").arg(FlowText.bytes(dataLog.bytesIn))
                                                       .arg(FlowText.bytes(dataLog.bytesOut))
                Layout.fillWidth: true
                Layout.fillHeight: true
                Layout.preferredWidth: 1

                ListView {
                    id: dataLogView
                    objectName: "dataLogView"
                    anchors.fill: parent
                    clip: true
                    boundsBehavior: Flickable.StopAtBounds
                    model: DataLog {
                        id: dataLog
                        objectName: "dataLogModel"
                        flow: root.currentFlow
                    }
                    // Follow the newest entries unless the user scrolled up.
                    property bool following: true
                    onMovementEnded: following = atYEnd
                    onCountChanged: if (following) positionViewAtEnd()
                    ScrollBar.vertical: ScrollBar { }

                    delegate: RowLayout {
                        id: entry
                        required property string direction
                        required property var time
                        required property int size
                        required property string text
                        width: ListView.view.width
                        spacing: 8
                        Label {
                            text: Qt.formatTime(entry.time, "hh:mm:ss.zzz")
                            font.family: "monospace"
                            opacity: 0.7
                        }
                        Label {
                            text: entry.direction === "in" ? "\u2190 in " : "\u2192 out"
                            color: entry.direction === "in" ? "#0969da" : "#8250df"
                            font.family: "monospace"
                        }
                        Label {
                            text: FlowText.bytes(entry.size)
                            Layout.preferredWidth: 60
                            horizontalAlignment: Text.AlignRight
                            font.family: "monospace"
                        }
                        Label {
                            text: entry.text
                            Layout.fillWidth: true
                            elide: Text.ElideRight
                            font.family: "monospace"
                        }
                    }
                }
            }
        }
    }
}
