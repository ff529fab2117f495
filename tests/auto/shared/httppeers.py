# Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
"""Python HTTP peers' pieces shared by tst_http (tests/auto/http/peers.py) and the rillhttp
tests (tests/auto/rillhttp/test_rillhttp.py): reading raw sockets, http.server handlers that
say nothing, and threaded http.server servers on TCP and Unix sockets."""
import http.server
import socketserver


def recv_all(sock, timeout=30):
    """Everything until the peer closes (or resets)."""
    sock.settimeout(timeout)
    # Pieces joined once at the end: bytes += bytes copies all so far each time, which makes
    # reading 32 MiB take seconds, long enough for a server's bounded close to give up on us.
    pieces = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        pieces.append(chunk)
    return b"".join(pieces)


def answer_raw(conn, reply):
    """Reads one request head from conn, then sends the raw bytes of reply."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    conn.sendall(reply)


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 and silent; subclasses answer with reply()."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def address_string(self):
        return "peer"

    def request_body(self):
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Quiet:
    # A client under test may leave with its kept-alive connection open: a reset the server
    # need not print.
    def handle_error(self, request, client_address):
        pass


class UnixHTTPServer(_Quiet, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class TCPHTTPServer(_Quiet, socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
