#!/usr/bin/env python3
# Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
"""The far end of Rill's TLS tests: Python's ssl module (OpenSSL underneath, but driven by
CPython's code, not ours), with SSLObject and MemoryBIO so that this side can send close_notify
and still read (ssl.SSLSocket.unwrap() cannot).

    tlspeer.py ROLE MODE [options]

ROLE is "server" (listens on 127.0.0.1, port 0, reports {"event": "listening", "port": N})
or "client" (connects to --port). Modes:
  reply-after-eof  read to the peer's close_notify, then send the data, close_notify, FIN;
                   read on to the TCP end.
  send-then-read   send the data and close_notify (then FIN, with --fin), read to the peer's
                   close_notify, then FIN.
  truncate         send the data, then close the TCP connection without close_notify.
  bulk             send the data while reading to close_notify (both at once), then
                   close_notify and FIN.

Options: --cert/--key (this side's), --ca (trust; a client verifies the server against it
and --name; a server with --ca requires a client certificate), --text TEXT or --bytes N
(pseudo-random, --seed), --alpn P,Q. Events are JSON lines on stdout: listening, encrypted
(with version, cipher, alpn), received (count, sha256, how it ended: close_notify, eof,
error), done.
"""

import argparse
import hashlib
import json
import random
import select
import socket
import ssl
import sys


def event(name, **fields):
    fields["event"] = name
    print(json.dumps(fields), flush=True)


class Tls:
    def __init__(self, sock, context, server, name):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.inc, self.out, server_side=server,
                                    server_hostname=None if server else name)
        self.tcp_eof = False

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            self.tcp_eof = True
            self.inc.write_eof()
            return False
        self.inc.write(data)
        return True

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self.flush()
                return
            except ssl.SSLWantReadError:
                self.flush()
                if not self.feed():
                    raise ConnectionError("eof during handshake")

    def send(self, data):
        view = memoryview(data)
        while view:
            n = self.obj.write(view[:65536])
            view = view[n:]
            self.flush()

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass  # sent; the peer's close_notify is not here yet, which is fine
        self.flush()

    def read_some(self):
        """Returns bytes, b"" at close_notify, or raises."""
        while True:
            try:
                return self.obj.read(65536)
            except ssl.SSLWantReadError:
                self.flush()
                if not self.feed():
                    continue  # the MemoryBIO's eof makes the next read raise
            except ssl.SSLZeroReturnError:
                return b""


def read_to_end(tls):
    digest = hashlib.sha256()
    count = 0
    how = "close_notify"
    try:
        while True:
            data = tls.read_some()
            if not data:
                break
            digest.update(data)
            count += len(data)
    except ssl.SSLEOFError:
        how = "eof"
    except (ssl.SSLError, ConnectionError) as e:
        how = "error: %s" % e
    event("received", count=count, sha256=digest.hexdigest(), how=how)
    return how


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("mode")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--name", default="localhost")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--text")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--alpn")
    p.add_argument("--fin", action="store_true")
    a = p.parse_args()

    if a.text is not None:
        data = a.text.encode()
    else:  # in pieces: randbytes() takes at most 2**31 bits at once
        rng = random.Random(a.seed)
        data = b"".join(rng.randbytes(min(1 << 20, a.bytes - i)) for i in range(0, a.bytes, 1 << 20))
    server = a.role == "server"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if a.cert:
        context.load_cert_chain(a.cert, a.key)
    if a.ca:
        context.load_verify_locations(a.ca)
        if server:
            context.verify_mode = ssl.CERT_REQUIRED
    if a.alpn:
        context.set_alpn_protocols(a.alpn.split(","))

    if server:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        event("listening", port=listener.getsockname()[1])
        sock, _ = listener.accept()
    else:
        sock = socket.create_connection(("127.0.0.1", a.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    tls = Tls(sock, context, server, a.name)
    try:
        tls.handshake()
    except Exception as e:  # noqa: BLE001 - reported, the test decides
        event("handshake-failed", error=str(e))
        sock.close()
        return
    event("encrypted", version=tls.obj.version(), cipher=tls.obj.cipher()[0],
          alpn=tls.obj.selected_alpn_protocol() or "")

    if a.mode == "reply-after-eof":
        read_to_end(tls)
        tls.send(data)
        tls.close_notify()
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(65536):
            pass
    elif a.mode == "send-then-read":
        tls.send(data)
        tls.close_notify()
        if a.fin:
            sock.shutdown(socket.SHUT_WR)
        read_to_end(tls)
        if not a.fin:
            sock.shutdown(socket.SHUT_WR)
    elif a.mode == "truncate":
        tls.send(data)
        sock.shutdown(socket.SHUT_WR)  # a FIN without close_notify
        try:
            while sock.recv(65536):
                pass
        except ConnectionError:
            pass
    elif a.mode == "bulk":
        # Encrypts ahead only while less than 1 MiB of ciphertext waits for the socket, so
        # memory stays bounded whatever the size; close_notify follows the last byte.
        sock.setblocking(False)
        offset = 0
        pending = b""
        notified = False
        digest = hashlib.sha256()
        count = 0
        how = None
        while how is None or pending or not notified:
            while len(pending) < (1 << 20) and not notified:
                if offset < len(data):
                    n = tls.obj.write(data[offset:offset + 262144])
                    offset += n
                else:
                    try:
                        tls.obj.unwrap()
                    except ssl.SSLWantReadError:
                        pass
                    notified = True
                pending += tls.out.read()
            r, w, _ = select.select([sock] if how is None else [], [sock] if pending else [], [])
            if w:
                try:
                    n = sock.send(pending[:262144])
                    pending = pending[n:]
                except BlockingIOError:
                    pass
            if r:
                try:
                    chunk = sock.recv(262144)
                except BlockingIOError:
                    continue
                if not chunk:
                    tls.inc.write_eof()
                else:
                    tls.inc.write(chunk)
                while how is None:
                    try:
                        plain = tls.obj.read(262144)
                        if not plain:
                            how = "close_notify"
                            break
                        digest.update(plain)
                        count += len(plain)
                    except ssl.SSLWantReadError:
                        break
                    except ssl.SSLZeroReturnError:
                        how = "close_notify"
                    except ssl.SSLError as e:
                        how = "error: %s" % e
        sock.setblocking(True)
        event("received", count=count, sha256=digest.hexdigest(), how=how)
        sock.shutdown(socket.SHUT_WR)
    event("done", sent=len(data), sent_sha256=hashlib.sha256(data).hexdigest())
    sock.close()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        event("done", error="broken pipe")
