// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick
import QtTest
import Rill

// TcpFlow and LocalFlow from QML against the echo servers of tst_qml.cpp (testEnv).
TestCase {
    id: testCase
    name: "Flows"

    readonly property int timeout: 15000

    Component {
        id: tcpFlowComponent
        TcpFlow {
            // What arrived, for the tests to compare.
            property string received: ""
            property var receivedBytes: []
            property int endOfStreamCount: 0
            property var finished: ({}) // write id -> [ok, errorString]
            property var errors: []
            onTextReceived: text => received += text
            onDataReceived: data => receivedBytes = receivedBytes.concat(Array.from(new Uint8Array(data)))
            onEndOfStream: endOfStreamCount += 1
            onWriteFinished: (id, ok, errorString) => { finished[id] = [ok, errorString]; finishedChanged() }
            onErrorOccurred: errorString => errors = errors.concat([errorString])
        }
    }
    Component {
        id: localFlowComponent
        LocalFlow {
            property string received: ""
            property int endOfStreamCount: 0
            property var finished: ({})
            onTextReceived: text => received += text
            onEndOfStream: endOfStreamCount += 1
            onWriteFinished: (id, ok, errorString) => { finished[id] = [ok, errorString]; finishedChanged() }
        }
    }
    Component {
        id: modelComponent
        FlowModel { updateInterval: 20 }
    }

    function tcpFlow(properties) {
        const flow = createTemporaryObject(tcpFlowComponent, testCase, properties)
        verify(flow, "a TcpFlow could not be created")
        return flow
    }

    function waitOpen(flow) {
        tryCompare(flow, "state", TcpFlow.Open, timeout, "the flow never opened: " + flow.errorString)
    }

    function waitFinished(flow, id) {
        tryVerify(() => flow.finished[id] !== undefined, timeout, "write " + id + " never finished")
        return flow.finished[id]
    }

    function test_echo_text_and_bytes() {
        const flow = tcpFlow({ host: "127.0.0.1", port: testEnv.tcpEchoPort })
        compare(flow.state, TcpFlow.Unconnected, "a new flow is unconnected")
        compare(flow.endpoint, "tcp:127.0.0.1:" + testEnv.tcpEchoPort, "endpoint follows host and port")
        const connectedSpy = createTemporaryObject(signalSpy, testCase, { target: flow, signalName: "connected" })
        flow.open()
        compare(flow.state, TcpFlow.Connecting, "open() starts connecting")
        waitOpen(flow)
        compare(connectedSpy.count, 1, "connected() once")
        verify(flow.flow !== null, "the library's flow is there once connected")
        compare(flow.peerEndpoint, "tcp:127.0.0.1:" + testEnv.tcpEchoPort, "peer endpoint")
        verify(flow.localEndpoint.startsWith("tcp:127.0.0.1:"), "local endpoint: " + flow.localEndpoint)

        const first = flow.write("hello, ")
        const second = flow.write("w\u00f6rld") // two bytes in UTF-8
        compare(first, 1, "write ids start at 1")
        compare(second, 2, "write ids increase")
        verify(flow.finished[first] === undefined, "a result comes after write() returned")
        compare(flow.pendingWrites, 2, "both wait for their result")
        verify(waitFinished(flow, first)[0], "the first write was accepted")
        verify(waitFinished(flow, second)[0], "the second write was accepted")
        compare(flow.finished[second][1], "", "no error text for an accepted write")
        tryCompare(flow, "received", "hello, w\u00f6rld", timeout, "the echo as text")
        compare(flow.bytesIn, 13, "bytes in")
        tryCompare(flow, "bytesOut", 13, timeout, "bytes out")
        compare(flow.pendingWrites, 0, "no write waits for its result")

        // Bytes as an ArrayBuffer, including values that are not text.
        const bytes = new Uint8Array([0, 1, 2, 127, 128, 255])
        flow.receivedBytes = []
        const third = flow.write(bytes.buffer)
        compare(third, 3, "an ArrayBuffer write gets the next id")
        verify(waitFinished(flow, third)[0], "the ArrayBuffer write was accepted")
        tryVerify(() => flow.receivedBytes.length === 6, timeout, "the six bytes came back")
        compare(flow.receivedBytes, [0, 1, 2, 127, 128, 255], "the bytes came back as they were")
        tryCompare(flow, "bytesOut", 19, timeout, "bytes out with the ArrayBuffer")
    }

    function test_write_of_other_types_is_refused() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        ignoreWarning(/write\(\) takes a string or an ArrayBuffer/)
        compare(flow.write(42), 0, "a number is not written")
        compare(flow.pendingWrites, 0, "and nothing waits")
    }

    function test_half_close_sees_the_peers_eof() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        const model = createTemporaryObject(modelComponent, testCase)
        model.add(flow, "client")
        compare(model.count, 0, "not shown before it connects")
        flow.open()
        waitOpen(flow)
        compare(model.count, 1, "shown once connected")
        compare(model.data(model.index(0, FlowTableModel.NameColumn), FlowTableModel.NameRole),
                "client", "the name given to add()")

        const id = flow.write("last words")
        flow.shutdownWrite()
        verify(waitFinished(flow, id)[0], "the write before the shutdown was accepted")
        tryCompare(flow, "writeState", TcpFlow.WriteClosed, timeout, "our FIN went out")
        // The echo server answers our end of stream with its own, after the echo.
        tryCompare(flow, "endOfStreamCount", 1, timeout, "the peer's end of stream reached QML")
        compare(flow.received, "last words", "everything sent before the FIN came back")
        compare(flow.readState, TcpFlow.ReadEof, "read side at end of stream")
        compare(flow.readStateName, "Eof", "read state name")
        tryCompare(flow, "state", TcpFlow.Closed, timeout, "both directions done: closed")
        compare(flow.errorString, "", "a clean close is no error")

        const afterId = flow.write("too late")
        const result = waitFinished(flow, afterId)
        verify(!result[0], "a write after the shutdown fails")
        verify(result[1].length > 0, "and says why")

        // The model saw it too.
        tryCompare(model, "count", 1)
        tryVerify(() => model.data(model.index(0, FlowTableModel.ReadStateColumn)) === "end of stream",
                  timeout, "the model shows the read side at end of stream")
        tryVerify(() => model.data(model.index(0, FlowTableModel.BytesOutColumn), FlowTableModel.BytesOutRole) === 10,
                  timeout, "the model counts the bytes out")
        compare(model.data(model.index(0, FlowTableModel.BytesInColumn), FlowTableModel.BytesInRole), 10,
                "the model counts the bytes in")
        compare(model.data(model.index(0, FlowTableModel.WriteStateColumn)), "closed",
                "the model shows the write side closed")
    }

    function test_shutdown_read() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        flow.open()
        waitOpen(flow)
        flow.shutdownRead()
        tryCompare(flow, "readState", TcpFlow.ReadEof, timeout, "reading is over at once")
        const id = flow.write("still writing")
        verify(waitFinished(flow, id)[0], "writing goes on after shutdownRead()")
        compare(flow.writeState, TcpFlow.WriteOpen, "the write side is still open")
    }

    function test_refused_reaches_qml_as_text() {
        const flow = tcpFlow({ port: testEnv.refusedPort })
        const errorSpy = createTemporaryObject(signalSpy, testCase, { target: flow, signalName: "errorOccurred" })
        flow.open()
        const id = flow.write("queued while connecting")
        tryCompare(flow, "state", TcpFlow.Closed, timeout, "connecting failed")
        compare(errorSpy.count, 1, "errorOccurred() once")
        verify(flow.errorString.indexOf("refused") >= 0, "the error text says refused: " + flow.errorString)
        verify(flow.errorString.indexOf("127.0.0.1:" + testEnv.refusedPort) >= 0,
               "the error text names the endpoint: " + flow.errorString)
        compare(errorSpy.signalArguments[0][0], flow.errorString, "the signal carries the text")
        compare(flow.errorKind, "connection refused", "the error kind")
        compare(flow.readState, TcpFlow.ReadFailed, "read side failed")
        compare(flow.writeState, TcpFlow.WriteFailed, "write side failed")
        const result = waitFinished(flow, id)
        verify(!result[0], "the write made while connecting failed")
        compare(result[1], flow.errorString, "with the connection's error")
        compare(flow.pendingWrites, 0, "nothing waits any more")
    }

    function test_write_when_unconnected_fails_later() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        const id = flow.write("nobody listens")
        compare(id, 1, "the write gets an id")
        verify(flow.finished[id] === undefined, "its result comes after write() returned")
        compare(flow.pendingWrites, 1, "it waits for its result")
        const result = waitFinished(flow, id)
        verify(!result[0], "it failed")
        compare(result[1], "not connected", "and says so")
    }

    function test_abort_while_connecting() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        const acceptedBefore = testEnv.echoAccepted
        flow.open()
        const id = flow.write("never sent")
        flow.abort()
        compare(flow.state, TcpFlow.Closed, "aborting gives up at once")
        compare(flow.errorKind, "aborted", "error kind")
        const result = waitFinished(flow, id)
        verify(!result[0], "the waiting write failed")
        // The connection still completes underneath; it must not revive the flow.
        tryVerify(() => testEnv.echoAccepted > acceptedBefore, timeout, "the server saw the connection")
        compare(flow.state, TcpFlow.Closed, "still closed")
        compare(flow.flow, null, "no flow adopted after abort()")
    }

    function test_destroyed_while_connecting() {
        // The connect outlives the item: the connection it makes is closed, and nothing runs
        // on the destroyed item.
        const flow = tcpFlowComponent.createObject(testCase, { port: testEnv.tcpEchoPort })
        verify(flow, "a TcpFlow could not be created")
        const acceptedBefore = testEnv.echoAccepted
        const endedBefore = testEnv.echoEnded
        flow.open()
        testEnv.destroyNow(flow)
        tryVerify(() => testEnv.echoAccepted > acceptedBefore, timeout, "the server saw the connection")
        tryVerify(() => testEnv.echoEnded > endedBefore, timeout, "the connection was closed")
    }

    function test_reopen_after_close() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        flow.open()
        waitOpen(flow)
        flow.close()
        tryCompare(flow, "state", TcpFlow.Closed, timeout, "close() finishes")
        flow.received = ""
        flow.open()
        waitOpen(flow)
        compare(flow.bytesIn, 0, "counters start again")
        const id = flow.write("again")
        verify(waitFinished(flow, id)[0], "write on the new connection")
        tryCompare(flow, "received", "again", timeout, "echo on the new connection")
    }

    function test_abort_open_flow() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort })
        flow.open()
        waitOpen(flow)
        flow.abort()
        tryCompare(flow, "state", TcpFlow.Closed, timeout, "aborted")
        compare(flow.errorKind, "aborted", "the error says aborted")
        compare(flow.readState, TcpFlow.ReadFailed, "reading failed")
    }

    function test_idle_timeout_aborts_when_asked() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort, idleTimeout: 50, abortWhenIdle: true })
        const idleSpy = createTemporaryObject(signalSpy, testCase, { target: flow, signalName: "idleTimedOut" })
        flow.open()
        waitOpen(flow)
        compare(flow.flow.idleTimeout, 50, "the limit reached the library's flow")
        tryCompare(flow, "state", TcpFlow.Closed, timeout, "an idle flow with abortWhenIdle ends")
        compare(idleSpy.count, 1, "idleTimedOut() once before the abort")
        compare(flow.errorKind, "timed out", "the error says timed out")
    }

    function test_idle_timeout_notifies_and_goes_on() {
        const flow = tcpFlow({ port: testEnv.tcpEchoPort, idleTimeout: 30 })
        const idleSpy = createTemporaryObject(signalSpy, testCase, { target: flow, signalName: "idleTimedOut" })
        flow.open()
        waitOpen(flow)
        tryVerify(() => idleSpy.count >= 2, timeout, "idleTimedOut() again after each idle period")
        compare(flow.state, TcpFlow.Open, "without abortWhenIdle the flow stays open")
        flow.idleTimeout = 0
        compare(flow.flow.idleTimeout, 0, "switched off on the library's flow too")
        flow.write("still here")
        tryCompare(flow, "received", "still here", timeout, "the flow still works")
    }

    function test_endpoint_string() {
        const flow = tcpFlow({ endpoint: "tcp:127.0.0.1:" + testEnv.tcpEchoPort })
        compare(flow.host, "127.0.0.1", "host from the endpoint")
        compare(flow.port, testEnv.tcpEchoPort, "port from the endpoint")
        flow.open()
        waitOpen(flow)

        const wrong = tcpFlow({ endpoint: "unix:/nonexistent" })
        wrong.open()
        compare(wrong.state, TcpFlow.Closed, "a TcpFlow does not connect to a Unix socket")
        compare(wrong.errorKind, "invalid argument", "error kind: " + wrong.errorKind)
    }

    function test_local_flow_echo_and_half_close() {
        const flow = createTemporaryObject(localFlowComponent, testCase, { path: testEnv.unixEchoPath })
        compare(flow.endpoint, "unix:" + testEnv.unixEchoPath, "endpoint follows the path")
        compare(flow.transport, "unix", "transport")
        flow.open()
        tryCompare(flow, "state", LocalFlow.Open, timeout, "connected: " + flow.errorString)
        const id = flow.write("over a unix socket")
        verify(waitFinished(flow, id)[0], "accepted")
        tryCompare(flow, "received", "over a unix socket", timeout, "echo")
        flow.shutdownWrite()
        tryCompare(flow, "endOfStreamCount", 1, timeout, "the peer's end of stream")
        tryCompare(flow, "state", LocalFlow.Closed, timeout, "closed")
    }

    function test_local_flow_missing_path() {
        const flow = createTemporaryObject(localFlowComponent, testCase,
                                           { path: testEnv.tempDir + "/nobody-here" })
        flow.connectToServer(flow.path)
        tryCompare(flow, "state", LocalFlow.Closed, timeout, "connecting failed")
        verify(flow.errorString.indexOf("nobody-here") >= 0, "the error names the path: " + flow.errorString)
    }

    function test_python_echo_peer() {
        const port = testEnv.startPythonEcho()
        verify(port > 0, "the Python echo peer is listening")
        const flow = tcpFlow({})
        flow.connectToHost("127.0.0.1", port)
        waitOpen(flow)
        let expected = ""
        for (let i = 0; i < 20; ++i) {
            flow.write("line " + i + "\n")
            expected += "line " + i + "\n"
        }
        tryCompare(flow, "received", expected, timeout, "the Python peer echoed every line")
        flow.shutdownWrite()
        tryCompare(flow, "endOfStreamCount", 1, timeout, "the Python peer half-closed after our FIN")
        tryCompare(flow, "state", TcpFlow.Closed, timeout, "closed")
    }

    Component {
        id: signalSpy
        SignalSpy { }
    }
}
