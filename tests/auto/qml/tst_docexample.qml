// Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
import QtQuick
import QtTest
import Rill

// The ten-line example of docs/qml.md, against the echo server (port from testEnv), with its
// console.log() calls recording instead.
TestCase {
    id: testCase
    name: "DocExample"

    property var log: []

    TcpFlow {
        id: example
        host: "127.0.0.1"; port: testEnv.tcpEchoPort
        onConnected: { write("hello\n"); shutdownWrite() }
        onTextReceived: text => testCase.log = testCase.log.concat(["got " + text])
        onEndOfStream: testCase.log = testCase.log.concat(["the peer finished too"])
        onErrorOccurred: message => testCase.log = testCase.log.concat([message])
        Component.onCompleted: open()
    }

    function test_example_runs() {
        tryCompare(testCase, "log", ["got hello\n", "the peer finished too"], 15000,
                   "what the example logs")
        tryCompare(example, "state", TcpFlow.Closed, 15000, "both sides finished")
    }
}
