// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQml
import Rill

// Run by qml-installcheck against the installed module: an echo server and a client, both in
// QML; exits 0 once the echo and the server's end of stream came back.
QtObject {
    id: check

    property string received: ""
    property FlowModel model: FlowModel { }

    property TcpListener listener: TcpListener {
        onAccepted: flow => {
            flow.dataReceived.connect(data => flow.write(data))
            flow.endOfStream.connect(() => flow.shutdownWrite())
        }
    }
    property TcpFlow client: TcpFlow {
        onTextReceived: text => check.received += text
        onEndOfStream: Qt.exit(check.received === "installed" && check.model.count === 1 ? 0 : 2)
        onErrorOccurred: errorString => { console.log(errorString); Qt.exit(3) }
    }

    Component.onCompleted: {
        if (!listener.listen()) {
            console.log(listener.errorString)
            Qt.exit(4)
            return
        }
        model.add(client)
        client.connectToHost("127.0.0.1", listener.serverPort)
        client.write("installed")
        client.shutdownWrite()
    }
}
