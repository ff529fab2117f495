#!/usr/bin/env python3
# Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
"""Peers for tst_http that nobody here wrote the HTTP of: Python's http.client and
http.server, and raw sockets for what no well-behaved peer sends.

  peers.py keepalive HOST PORT N          N GETs of /hello on one http.client connection
  peers.py raw HOST PORT HEX|- [WAIT]     send the bytes (hex, or hex on stdin), print what comes back (hex)
                                          until the server closes; WAIT: seconds to pause after
                                          the first line of bytes (slowloris)
  peers.py noread HOST PORT PATH          request PATH and never read; exits when the server
                                          drops the connection
  peers.py unixserver PATH                http.server on a Unix socket (GET /hello, POST /echo)
  peers.py script PATH HEXREPLY           a Unix socket server that reads one request head and
                                          answers the raw bytes, then closes
  peers.py hold HEXREPLY|-                a TCP server on 127.0.0.1 (prints its port after
                                          "ready") that answers each connection's request head
                                          with the raw bytes (- : reads nothing, answers nothing),
                                          keeps it open and prints "closed" when the client closes it
  peers.py hangup HOST PORT PATH          request PATH, then reset the connection at once
Servers print "ready" once they listen.
"""
import http.client
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared"))
from httppeers import Handler, UnixHTTPServer, answer_raw, recv_all  # noqa: E402


def keepalive(host, port, n):
    conn = http.client.HTTPConnection(host, int(port))
    ok = 0
    for i in range(int(n)):
        conn.request("GET", "/hello?i=%d" % i)
        r = conn.getresponse()
        body = r.read()
        if r.status == 200 and body == b"hello\n":
            ok += 1
    conn.close()
    print(ok)


def raw(host, port, hexbytes, wait=None):
    data = bytes.fromhex(sys.stdin.read() if hexbytes == "-" else hexbytes)
    s = socket.create_connection((host, int(port)))
    if wait is not None:
        cut = data.index(b"\n") + 1
        s.sendall(data[:cut])
        time.sleep(float(wait))  # the peer under test is the slow client here
        try:
            s.sendall(data[cut:])
        except OSError:
            pass
    else:
        s.sendall(data)
    print(recv_all(s, 30).hex())


def noread(host, port, path):
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    print("sent", flush=True)
    # Never read: wait for the server to give up on us (reset or close seen by poll).
    import select
    p = select.poll()
    p.register(s, select.POLLRDHUP | select.POLLERR | select.POLLHUP)
    while True:
        ev = p.poll(60000)
        if not ev:
            print("still open")
            return
        if ev[0][1] & (select.POLLRDHUP | select.POLLERR | select.POLLHUP):
            print("closed")
            return


class HelloEcho(Handler):
    def do_GET(self):
        self.reply(200, b"hello from python\n", [("Content-Type", "text/plain")])

    def do_POST(self):
        self.reply(200, self.request_body())


def unixserver(path):
    if os.path.exists(path):
        os.unlink(path)
    with UnixHTTPServer(path, HelloEcho) as server:
        print("ready", flush=True)
        server.serve_forever()


def script(path, hexreply):
    reply = bytes.fromhex(hexreply)
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(8)
    print("ready", flush=True)
    while True:
        c, _ = srv.accept()
        answer_raw(c, reply)
        c.close()


def hold(hexreply):
    reply = None if hexreply == "-" else bytes.fromhex(hexreply)
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    print("ready", flush=True)
    print(srv.getsockname()[1], flush=True)
    while True:
        c, _ = srv.accept()
        if reply is not None:
            answer_raw(c, reply)
        recv_all(c, 60)  # until the client closes (or resets)
        c.close()
        print("closed", flush=True)


def hangup(host, port, path):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # linger 0: a reset, not a polite end of the request
    print("reset", flush=True)


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
