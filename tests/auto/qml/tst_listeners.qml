// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick
import QtTest
import Rill

// TcpListener and LocalListener: servers written in QML, and backpressure seen from QML.
TestCase {
    id: testCase
    name: "Listeners"

    readonly property int timeout: 15000

    // An echo server in QML: what arrives goes back; the client's end of stream ends ours.
    Component {
        id: tcpEchoListener
        TcpListener {
            property var flows: []
            property AbstractFlow lastFlow: null // an object property: null once the flow is deleted
            onAccepted: flow => {
                flows = flows.concat([flow])
                lastFlow = flow
                flow.dataReceived.connect(data => flow.write(data))
                flow.endOfStream.connect(() => flow.shutdownWrite())
            }
        }
    }
    Component {
        id: localEchoListener
        LocalListener {
            property var flows: []
            onAccepted: flow => {
                flows = flows.concat([flow])
                flow.dataReceived.connect(data => flow.write(data))
                flow.endOfStream.connect(() => flow.shutdownWrite())
            }
        }
    }
    // A server that only reads (while its flows' `reading` is true).
    Component {
        id: sinkListener
        TcpListener {
            property var flows: []
            onAccepted: flow => flows = flows.concat([flow])
        }
    }
    Component {
        id: tcpClient
        TcpFlow {
            property string received: ""
            property int finishedOk: 0
            property int finishedFailed: 0
            onTextReceived: text => received += text
            onWriteFinished: (id, ok) => ok ? ++finishedOk : ++finishedFailed
        }
    }
    Component {
        id: localClient
        LocalFlow {
            property string received: ""
            onTextReceived: text => received += text
        }
    }

    function test_tcp_listener_in_qml() {
        const listener = createTemporaryObject(tcpEchoListener, testCase)
        verify(listener.listen(), "listening: " + listener.errorString)
        verify(listener.listening, "listening property")
        verify(listener.serverPort > 0, "a free port was picked")
        compare(listener.endpoint, "tcp:127.0.0.1:" + listener.serverPort, "endpoint")

        const client = createTemporaryObject(tcpClient, testCase)
        client.connectToHost("127.0.0.1", listener.serverPort)
        tryCompare(client, "state", TcpFlow.Open, timeout, "client connected: " + client.errorString)
        tryCompare(listener, "acceptedCount", 1, timeout, "the listener accepted it")
        const server = listener.flows[0]
        verify(server instanceof TcpFlow || server.transport === "tcp", "the accepted flow is a TcpFlow")
        compare(server.state, TcpFlow.Open, "accepted flows are open")
        compare(server.peerEndpoint, client.localEndpoint, "the two ends agree")

        client.write("ping")
        tryCompare(client, "received", "ping", timeout, "echoed by the QML server")
        client.shutdownWrite()
        tryCompare(server, "readState", TcpFlow.ReadEof, timeout, "the server saw our end of stream")
        tryCompare(client, "readState", TcpFlow.ReadEof, timeout, "and ended its side in answer")
        tryCompare(client, "state", TcpFlow.Closed, timeout, "client closed")
        tryCompare(server, "state", TcpFlow.Closed, timeout, "server flow closed")

        compare(listener.lastFlow, server, "the last accepted flow")
        listener.dispose(server)
        tryCompare(listener, "lastFlow", null, timeout, "dispose() deleted the accepted flow")
        listener.close()
        verify(!listener.listening, "closed")
        compare(listener.serverPort, 0, "no port when closed")
    }

    function test_listen_failure_is_text() {
        const first = createTemporaryObject(tcpEchoListener, testCase)
        verify(first.listen(), "first listener")
        const second = createTemporaryObject(tcpEchoListener, testCase, { port: first.serverPort })
        verify(!second.listen(), "the port is taken")
        verify(second.errorString.length > 0, "and the listener says why")
        verify(second.errorString.indexOf("" + first.serverPort) >= 0,
               "naming the endpoint: " + second.errorString)
    }

    function test_local_listener_in_qml() {
        const path = testEnv.tempDir + "/qml-listener"
        const listener = createTemporaryObject(localEchoListener, testCase, { path: path })
        verify(listener.listen(), "listening: " + listener.errorString)
        compare(listener.endpoint, "unix:" + path, "endpoint")
        const client = createTemporaryObject(localClient, testCase, { path: path })
        client.open()
        tryCompare(client, "state", LocalFlow.Open, timeout, "connected: " + client.errorString)
        client.write("local ping")
        tryCompare(client, "received", "local ping", timeout, "echoed")
        tryCompare(listener, "acceptedCount", 1, timeout, "one accepted")
        compare(listener.flows[0].transport, "unix", "the accepted flow is a LocalFlow")
        client.close()
        tryCompare(client, "state", LocalFlow.Closed, timeout, "close() completes: the QML server ended its side")
    }

    // A server that stops reading pushes back: the client's writes wait above its high-water
    // mark, QML sees them waiting, and they all finish once the server reads again.
    function test_waiting_writes_are_visible() {
        const listener = createTemporaryObject(sinkListener, testCase)
        verify(listener.listen(), "listening")
        const client = createTemporaryObject(tcpClient, testCase, { highWaterMark: 64 * 1024 })
        client.connectToHost("127.0.0.1", listener.serverPort)
        tryCompare(listener, "acceptedCount", 1, timeout, "accepted")
        const server = listener.flows[0]
        server.reading = false

        // More than the kernel's buffers hold, so the send queue must fill.
        const chunk = "x".repeat(1024 * 1024)
        const count = 16
        for (let i = 0; i < count; ++i)
            compare(client.write(chunk), i + 1, "write id")
        compare(client.pendingWrites, count, "every write waits for its result")
        tryVerify(() => client.writesWaiting > 0, timeout, "writes wait above the high-water mark")
        tryVerify(() => client.bytesQueued >= 64 * 1024, timeout, "the send queue is at its mark")
        verify(client.pendingWrites > 0, "QML sees writes without a result")
        compare(client.finishedFailed, 0, "none failed")

        server.reading = true
        tryCompare(client, "finishedOk", count, timeout, "every write was accepted in the end")
        compare(client.pendingWrites, 0, "none waits")
        compare(client.writesWaiting, 0, "none above the mark")
        tryCompare(server, "bytesIn", count * chunk.length, timeout, "the server read everything")
        tryCompare(client, "bytesOut", count * chunk.length, timeout, "the client counted it out")
    }
}
