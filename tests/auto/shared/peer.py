#!/usr/bin/env python3
# Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
"""The far end of Rill's socket tests: plain Python sockets, no Qt, so the flows are checked
against a peer nobody here wrote.

    peer.py MODE ENDPOINT [options]

ENDPOINT is tcp:HOST:PORT (tcp:[::1]:PORT for IPv6) or unix:PATH. With --listen the peer binds
there (port 0: a free port), reports "listening" with the real endpoint and accepts one
connection; otherwise it connects.

Modes:
  send-then-shutdown  send the data, shutdown(SHUT_WR), read to EOF.
                      --hold: wait for "go" on stdin between sending and the shutdown.
  read-then-reply     read to EOF, then send the data and shutdown(SHUT_WR).
                      --hold: wait for "go" on stdin before replying.
  echo                send back what arrives; on EOF shutdown(SHUT_WR).
  bulk                send the data while reading to EOF (two threads), shutdown(SHUT_WR)
                      when all is sent.
  stall               read nothing until stdin says "go" (then read to EOF and send the data)
                      or "reset"; "ping" is answered with a "pong" event meanwhile.
  reset               send the data if any (with --hold: only once stdin says "go"); with
                      --peek wait until bytes arrived (so the close finds unread data: that
                      makes a Unix socket report ECONNRESET too); then close with SO_LINGER 0
                      (a TCP RST).
  connect-many        open --count connections one after another, each sending "conn-I\\n" and
                      shutting down; waits for "next" on stdin before each further one. Then
                      reads each to its end (EOF or reset) and reports how each ended.
  listen-only         listen, accept nothing, exit when stdin ends.
  bind-only           bind a Unix socket path without listening, then close it: a stale
                      socket file.
  sink                read to EOF or a reset (with --hold: only once stdin says "go"; "ping"
                      is answered meanwhile), report "ended" with how it ended ("eof" or
                      "reset") and what was read; after an EOF send the data and
                      shutdown(SHUT_WR).
  read-then-reset     read until at least --after N bytes were read, wait until more bytes are
                      waiting unread (so a Unix socket reports ECONNRESET too), then close with
                      SO_LINGER 0; report "reset" with what was read.
  close               close at once (a FIN, nothing sent, nothing read).
  echo-many           listen (always), accept any number of connections and echo each one
                      (one thread, selectors: epoll on Linux); a connection's EOF is answered
                      with shutdown(SHUT_WR) once its echo is sent. Reports "accepted" with the
                      count after every --count connections, "done" when stdin ends.

The data sent is --text TEXT, --file PATH (the file's bytes), or --bytes N pseudo-random bytes
from --seed. --pieces N sends it in pieces of random sizes from 1 to N bytes, one send() each
(TCP_NODELAY on), so the reader sees many segment boundaries. Events are JSON objects, one a
line, on stdout: listening, connected, sent, eof, reset, ended, closed, done, error. Counts
and sha256 hex digests of both directions are reported with them.
"""

import argparse
import hashlib
import json
import random
import socket
import struct
import sys
import threading

CHUNK = 1 << 20


def emit(event, **fields):
    fields["event"] = event
    print(json.dumps(fields), flush=True)


def parse_endpoint(text):
    if text.startswith("unix:"):
        return socket.AF_UNIX, text[5:]
    if not text.startswith("tcp:"):
        raise ValueError("bad endpoint " + text)
    host, port = text[4:].rsplit(":", 1)
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


def endpoint_text(family, address):
    if family == socket.AF_UNIX:
        return "unix:" + (address or "")
    if family == socket.AF_INET6:
        return "tcp:[%s]:%d" % (address[0], address[1])
    return "tcp:%s:%d" % (address[0], address[1])


def report_connected(sock, family):
    emit("connected", local=endpoint_text(family, sock.getsockname()),
         peer=endpoint_text(family, sock.getpeername()))


def listening_socket(family, address):
    server = socket.socket(family, socket.SOCK_STREAM)
    if family != socket.AF_UNIX:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(address)
    server.listen(16)
    emit("listening", endpoint=endpoint_text(family, server.getsockname()))
    return server


def open_connection(args):
    family, address = parse_endpoint(args.endpoint)
    if args.listen:
        server = listening_socket(family, address)
        sock, _ = server.accept()
        server.close()
    else:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.connect(address)
    report_connected(sock, family)
    return sock


def chunks(args):
    """The data to send, in pieces."""
    if args.text is not None:
        if args.text:
            yield args.text.encode()
        return
    if args.file is not None:
        with open(args.file, "rb") as source:
            while True:
                piece = source.read(CHUNK)
                if not piece:
                    return
                yield piece
    rng = random.Random(args.seed)
    left = args.bytes
    while left > 0:
        n = min(left, CHUNK)
        yield rng.randbytes(n)
        left -= n


class Counter:
    def __init__(self):
        self.count = 0
        self.hash = hashlib.sha256()

    def add(self, data):
        self.count += len(data)
        self.hash.update(data)

    def fields(self, prefix):
        return {prefix: self.count, prefix + "_sha256": self.hash.hexdigest()}


def send_all(sock, args, counter):
    if args.pieces > 0 and sock.family != socket.AF_UNIX:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rng = random.Random(args.seed + 1)
    for chunk in chunks(args):
        view = memoryview(chunk)
        while len(view) > 0:
            n = len(view)
            if args.pieces > 0:
                # as many small pieces as large ones: sizes spread over orders of magnitude
                n = min(n, rng.randint(1, 1 << rng.randint(0, args.pieces.bit_length())),
                        args.pieces)
            sock.sendall(view[:n])
            counter.add(view[:n])
            view = view[n:]


def read_to_eof(sock, counter):
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while True:
        n = sock.recv_into(buffer)
        if n == 0:
            return
        counter.add(view[:n])


def wait_for(word):
    """Blocks until stdin says word, or another command that ends waiting ("go", "reset",
    "next"); returns it ("" when stdin ended). Answers "ping" with a "pong" event meanwhile, so
    the test can tell the peer is alive and still not reading."""
    while True:
        line = sys.stdin.readline()
        if not line:
            return ""
        line = line.strip()
        if line == "ping":
            emit("pong")
        elif line == word or line in ("go", "reset", "next"):
            return line


def hard_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    emit("reset")


def mode_send_then_shutdown(args):
    sock = open_connection(args)
    sent, received = Counter(), Counter()
    send_all(sock, args, sent)
    if args.hold:
        wait_for("go")
    sock.shutdown(socket.SHUT_WR)
    emit("sent", **sent.fields("sent"))
    read_to_eof(sock, received)
    emit("done", **sent.fields("sent"), **received.fields("received"))
    sock.close()


def mode_read_then_reply(args):
    sock = open_connection(args)
    sent, received = Counter(), Counter()
    read_to_eof(sock, received)
    emit("eof", **received.fields("received"))
    if args.hold:
        wait_for("go")
    send_all(sock, args, sent)
    sock.shutdown(socket.SHUT_WR)
    emit("done", **sent.fields("sent"), **received.fields("received"))
    sock.close()


def mode_echo(args):
    sock = open_connection(args)
    counter = Counter()
    while True:
        data = sock.recv(CHUNK)
        if not data:
            break
        sock.sendall(data)
        counter.add(data)
    sock.shutdown(socket.SHUT_WR)
    emit("done", **counter.fields("sent"), **counter.fields("received"))
    sock.close()


def mode_bulk(args):
    sock = open_connection(args)
    sent, received = Counter(), Counter()
    failure = []

    def sender():
        try:
            send_all(sock, args, sent)
            sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            failure.append(str(e))

    thread = threading.Thread(target=sender)
    thread.start()
    read_to_eof(sock, received)
    thread.join()
    if failure:
        raise OSError(failure[0])
    emit("done", **sent.fields("sent"), **received.fields("received"))
    sock.close()


def mode_stall(args):
    sock = open_connection(args)
    command = wait_for("go")
    if command == "reset":
        hard_close(sock)
        return
    if command != "go":
        return
    sent, received = Counter(), Counter()
    read_to_eof(sock, received)
    emit("eof", **received.fields("received"))
    send_all(sock, args, sent)
    sock.shutdown(socket.SHUT_WR)
    emit("done", **sent.fields("sent"), **received.fields("received"))
    sock.close()


def mode_reset(args):
    sock = open_connection(args)
    sent = Counter()
    if args.hold:
        wait_for("go")
    send_all(sock, args, sent)
    if args.peek:
        sock.recv(1, socket.MSG_PEEK)
    hard_close(sock)


def mode_connect_many(args):
    family, address = parse_endpoint(args.endpoint)
    socks = []
    for i in range(args.count):
        if i > 0 and wait_for("next") != "next":
            break
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.connect(address)
        sock.sendall(("conn-%d\n" % i).encode())
        sock.shutdown(socket.SHUT_WR)
        socks.append(sock)
        emit("connected", index=i)
    ends = []
    for sock in socks:
        try:
            read_to_eof(sock, Counter())
            ends.append("eof")
        except ConnectionResetError:
            ends.append("reset")
        sock.close()
    emit("done", connections=len(socks), ends=ends)


def mode_listen_only(args):
    family, address = parse_endpoint(args.endpoint)
    server = listening_socket(family, address)
    while sys.stdin.readline():
        pass
    server.close()


def mode_bind_only(args):
    family, address = parse_endpoint(args.endpoint)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.bind(address)
    sock.close()
    emit("bound", endpoint=args.endpoint)


def mode_sink(args):
    sock = open_connection(args)
    if args.hold and wait_for("go") != "go":
        return
    received = Counter()
    how = "eof"
    try:
        read_to_eof(sock, received)
    except ConnectionResetError:
        how = "reset"
    emit("ended", how=how, **received.fields("received"))
    if how == "eof":
        sent = Counter()
        send_all(sock, args, sent)
        sock.shutdown(socket.SHUT_WR)
        emit("done", **sent.fields("sent"), **received.fields("received"))
    sock.close()


def mode_read_then_reset(args):
    sock = open_connection(args)
    received = Counter()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    while received.count < args.after:
        n = sock.recv_into(buffer, min(CHUNK, args.after - received.count))
        if n == 0:
            emit("eof", **received.fields("received"))
            return
        received.add(view[:n])
    sock.recv(1, socket.MSG_PEEK)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    emit("reset", **received.fields("received"))


def mode_close(args):
    sock = open_connection(args)
    sock.close()
    emit("closed")


def mode_echo_many(args):
    import selectors
    family, address = parse_endpoint(args.endpoint)
    server = socket.socket(family, socket.SOCK_STREAM)
    if family != socket.AF_UNIX:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(address)
    server.listen(4096)
    server.setblocking(False)
    emit("listening", endpoint=endpoint_text(family, server.getsockname()))
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    pending = {}  # connection -> bytes not yet echoed
    ended = set()  # connections whose peer sent EOF
    accepted = 0
    echoed = 0

    def interest(conn):
        events = selectors.EVENT_READ if conn not in ended else 0
        if pending[conn]:
            events |= selectors.EVENT_WRITE
        if events:
            selector.modify(conn, events, "conn")
        else:
            selector.unregister(conn)
            conn.shutdown(socket.SHUT_WR)
            conn.close()
            del pending[conn]
            ended.discard(conn)

    while True:
        for key, events in selector.select():
            if key.data == "stdin":
                if not sys.stdin.readline():
                    emit("done", accepted=accepted, echoed=echoed)
                    return
            elif key.data == "accept":
                while True:
                    try:
                        conn, _ = server.accept()
                    except BlockingIOError:
                        break
                    conn.setblocking(False)
                    if family != socket.AF_UNIX:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    pending[conn] = b""
                    selector.register(conn, selectors.EVENT_READ, "conn")
                    accepted += 1
                    if accepted % max(args.count, 1) == 0:
                        emit("accepted", count=accepted)
            else:
                conn = key.fileobj
                try:
                    if events & selectors.EVENT_READ:
                        data = conn.recv(CHUNK)
                        if data:
                            pending[conn] += data
                        else:
                            ended.add(conn)
                    if pending[conn]:
                        n = conn.send(pending[conn])
                        echoed += n
                        pending[conn] = pending[conn][n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    selector.unregister(conn)
                    conn.close()
                    del pending[conn]
                    ended.discard(conn)
                    continue
                interest(conn)


MODES = {
    "send-then-shutdown": mode_send_then_shutdown,
    "read-then-reply": mode_read_then_reply,
    "echo": mode_echo,
    "bulk": mode_bulk,
    "stall": mode_stall,
    "reset": mode_reset,
    "connect-many": mode_connect_many,
    "listen-only": mode_listen_only,
    "bind-only": mode_bind_only,
    "sink": mode_sink,
    "read-then-reset": mode_read_then_reset,
    "close": mode_close,
    "echo-many": mode_echo_many,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("endpoint")
    parser.add_argument("--listen", action="store_true")
    parser.add_argument("--text")
    parser.add_argument("--bytes", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hold", action="store_true")
    parser.add_argument("--peek", action="store_true")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--file")
    parser.add_argument("--after", type=int, default=0)
    parser.add_argument("--pieces", type=int, default=0)
    args = parser.parse_args()
    try:
        MODES[args.mode](args)
    except OSError as e:
        emit("error", message=str(e), errno=e.errno or 0)
        sys.exit(2)


if __name__ == "__main__":
    main()
