#!/usr/bin/env python3
# Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
"""Black-box tests of the rillhttp binary (issue 16's command line), against peers that are not
Rill: curl, Python's http.server (on a Unix socket too) and raw sockets. Loopback and Unix
sockets in a temporary folder only; every wait is bounded.

    test_rillhttp.py PATH/TO/rillhttp [unittest arguments]
"""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "shared"))
from httppeers import Handler, TCPHTTPServer, UnixHTTPServer, answer_raw, recv_all  # noqa: E402

RILLHTTP = None
TIMEOUT = 30


class Served:
    """rillhttp serve on LISTEN over DIR, until stopped."""

    def __init__(self, directory, listen="tcp:127.0.0.1:0", extra=()):
        self.process = subprocess.Popen([RILLHTTP, "serve", *extra, listen, directory],
                                        stderr=subprocess.PIPE)
        line = self.process.stderr.readline().decode().strip()
        assert line.startswith("listening on "), line
        self.endpoint = line[len("listening on "):]
        if self.endpoint.startswith("tcp:"):
            self.port = int(self.endpoint.rsplit(":", 1)[1])
            self.url = "http://127.0.0.1:%d" % self.port

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)

    def raw(self, data):
        s = self.connect()
        s.sendall(data)
        got = recv_all(s)
        s.close()
        return got

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(TIMEOUT)
        self.process.stderr.close()
        return code


def client(*args, input_data=None):
    return subprocess.run([RILLHTTP, *args], capture_output=True, timeout=TIMEOUT, input=input_data)


class Echoes(Handler):
    def do_GET(self):
        if self.path == "/teapot":
            self.reply(418, b"short and stout\n")
        elif self.path == "/redirect":
            self.reply(302, b"", [("Location", "/elsewhere")])
        else:
            self.reply(200, ("host=%s path=%s\n" % (self.headers.get("Host"), self.path)).encode())

    def do_POST(self):
        body = self.request_body()
        self.reply(200, ("%s %d %s\n" % (self.headers.get("X-Test", "-"), len(body),
                                          hashlib.sha256(body).hexdigest())).encode())

    do_PUT = do_POST


def one_shot_server(reply, close=True):
    """A TCP listener that answers one request with raw bytes (and then closes, or stays)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve():
        c, _ = srv.accept()
        answer_raw(c, reply)
        if close:
            c.close()
        else:
            time.sleep(5)  # a server that stalls: the client's --max-time is the one to end it
            c.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


class ServeTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.root = os.path.join(self.dir.name, "www")
        os.makedirs(os.path.join(self.root, "sub"))
        os.makedirs(os.path.join(self.root, "empty"))
        with open(os.path.join(self.root, "a.txt"), "wb") as f:
            f.write(b"hello\n")
        with open(os.path.join(self.root, "sub", "index.html"), "wb") as f:
            f.write(b"<p>index</p>\n")
        with open(os.path.join(self.dir.name, "secret"), "wb") as f:
            f.write(b"secret\n")
        os.symlink(os.path.join(self.dir.name, "secret"), os.path.join(self.root, "out"))
        os.symlink(os.path.join(self.root, "a.txt"), os.path.join(self.root, "in"))
        self.served = None

    def tearDown(self):
        if self.served:
            self.served.stop(signal.SIGKILL)
        self.dir.cleanup()

    def serve(self, *extra, listen="tcp:127.0.0.1:0"):
        self.served = Served(self.root, listen, extra)
        return self.served

    def curl(self, *args):
        return subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=TIMEOUT)

    def test_get_head_and_headers(self):
        s = self.serve()
        r = self.curl("-i", s.url + "/a.txt")
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        self.assertEqual(body, b"hello\n")
        self.assertIn(b"HTTP/1.1 200 OK", head)
        self.assertIn(b"Content-Length: 6", head)
        self.assertIn(b"Content-Type: text/plain", head)
        self.assertIn(b"Last-Modified: ", head)
        r = self.curl("-I", s.url + "/sub/")
        self.assertIn(b"Content-Type: text/html", r.stdout)
        self.assertIn(b"Content-Length: 13", r.stdout)
        self.assertEqual(self.curl(s.url + "/sub/").stdout, b"<p>index</p>\n")
        self.assertEqual(self.curl(s.url + "/in").stdout, b"hello\n")  # a symlink inside DIR

    def test_status_codes(self):
        s = self.serve()
        code = lambda *a: self.curl("-o", "/dev/null", "-w", "%{http_code}", *a).stdout
        self.assertEqual(code(s.url + "/missing"), b"404")
        self.assertEqual(code(s.url + "/empty/"), b"404")
        self.assertEqual(code("-X", "POST", s.url + "/a.txt"), b"405")
        r = self.curl("-i", "-X", "DELETE", s.url + "/a.txt")
        self.assertIn(b"Allow: GET, HEAD", r.stdout)

    def test_no_file_outside_dir(self):
        s = self.serve()
        for target in [b"/../secret", b"/sub/../../secret", b"/%2e%2e/secret", b"/%2E%2E/secret",
                       b"/sub/%2e%2e/%2e%2e/secret", b"/..%2fsecret", b"/sub%2f..%2f..%2fsecret",
                       b"/out", b"/%2e%2e%5csecret"]:
            reply = s.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            status = reply.split(b" ", 2)[1] if reply else b""
            self.assertIn(status, (b"403", b"404"), target)
            self.assertNotIn(b"secret\n", reply, target)

    def test_keep_alive_pipelining_and_http10(self):
        s = self.serve()
        reply = s.raw(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /sub/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(reply.count(b"HTTP/1.1 200 OK"), 3)
        self.assertLess(reply.index(b"hello\n"), reply.index(b"<p>index</p>"))
        self.assertTrue(reply.endswith(b"<p>index</p>\n"))
        # HTTP/1.0: closed after one response unless keep-alive was asked for.
        reply = s.raw(b"GET /a.txt HTTP/1.0\r\n\r\n")
        self.assertTrue(reply.endswith(b"hello\n"))
        sock = s.connect()
        sock.sendall(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        sock.settimeout(TIMEOUT)
        first = b""
        while not first.endswith(b"hello\n"):
            first += sock.recv(65536)
        self.assertIn(b"Connection: keep-alive", first)
        sock.sendall(b"GET /a.txt HTTP/1.0\r\n\r\n")
        self.assertTrue(recv_all(sock).endswith(b"hello\n"))

    def test_curl_many_on_one_connection(self):
        s = self.serve()
        urls = [s.url + "/a.txt"] * 50
        r = self.curl("-v", *urls)
        self.assertEqual(r.stdout, b"hello\n" * 50)
        self.assertEqual(r.stderr.count(b"Re-using existing connection"), 49)

    def test_limits(self):
        s = self.serve("--header-timeout", "0.3")
        reply = s.raw(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431 "), reply[:80])
        reply = s.raw(b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:80])
        reply = s.raw(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:80])
        reply = s.raw(b"GARBAGE\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 400 "), reply[:80])
        # Slowloris: the head never completes within --header-timeout.
        sock = s.connect()
        sock.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n")
        reply = recv_all(sock)
        self.assertTrue(reply.startswith(b"HTTP/1.1 408 "), reply[:80])

    def test_idle_timeout(self):
        s = self.serve("--idle-timeout", "0.3")
        sock = s.connect()
        sock.sendall(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = recv_all(sock)  # returns once the server closes the idle connection
        self.assertTrue(reply.endswith(b"hello\n"))
        self.assertEqual(reply.count(b"HTTP/1.1"), 1)

    def test_unix_socket_and_large_file(self):
        path = os.path.join(self.dir.name, "s.sock")
        big = os.path.join(self.root, "big.bin")
        data = os.urandom(1024 * 1024) * 24
        with open(big, "wb") as f:
            f.write(data)
        self.serve(listen="unix:" + path)
        r = self.curl("--unix-socket", path, "http://localhost/big.bin")
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), hashlib.sha256(data).hexdigest())
        r = client("--unix-socket", path, "http://localhost/big.bin")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_sigterm_finishes_download_in_flight(self):
        big = os.path.join(self.root, "big.bin")
        data = os.urandom(1024 * 1024) * 32
        with open(big, "wb") as f:
            f.write(data)
        s = self.serve()
        sock = s.connect()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(65536)  # the download is under way
        s.process.send_signal(signal.SIGINT)
        rest = recv_all(sock)
        body = (first + rest).partition(b"\r\n\r\n")[2]
        self.assertEqual(len(body), len(data))
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(data).digest())
        self.assertEqual(s.stop(), 0)
        sock.close()
        with self.assertRaises(OSError):
            s.connect()
        self.served = None

    def test_usage(self):
        self.assertEqual(client("serve").returncode, 2)
        self.assertEqual(client("serve", "bogus:1", self.root).returncode, 2)
        self.assertEqual(client("serve", "--header-timeout", "x", "tcp:127.0.0.1:0", self.root).returncode, 2)


class ClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.dir.name, "py.sock")
        cls.unix = UnixHTTPServer(cls.path, Echoes)
        cls.tcp = TCPHTTPServer(("127.0.0.1", 0), Echoes)
        cls.url = "http://127.0.0.1:%d" % cls.tcp.server_address[1]
        for srv in (cls.unix, cls.tcp):
            threading.Thread(target=srv.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        for srv in (cls.unix, cls.tcp):
            srv.shutdown()
            srv.server_close()
        cls.dir.cleanup()

    def test_get_over_tcp_and_unix(self):
        r = client(self.url + "/x?y=1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"host=127.0.0.1:%d path=/x?y=1\n" % self.tcp.server_address[1])
        r = client("--unix-socket", self.path, "http://docker.local/v1/info")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"host=docker.local path=/v1/info\n")

    def test_include_output_and_verbose(self):
        r = client("-i", self.url + "/")
        self.assertTrue(r.stdout.startswith(b"HTTP/1.1 200 OK\r\n"))
        self.assertIn(b"\r\n\r\nhost=", r.stdout)
        out = os.path.join(self.dir.name, "out.txt")
        r = client("-v", "-o", out, self.url + "/file")
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"> GET /file HTTP/1.1", r.stderr)
        self.assertIn(b"< HTTP/1.1 200 OK", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), b"host=127.0.0.1:%d path=/file\n" % self.tcp.server_address[1])

    def test_data_binary_headers_method(self):
        r = client("-H", "X-Test: yes", "--data-binary", "abc", self.url + "/")
        self.assertEqual(r.stdout, b"yes 3 " + hashlib.sha256(b"abc").hexdigest().encode() + b"\n")
        data = os.urandom(3 * 1024 * 1024 + 7)
        f = os.path.join(self.dir.name, "up.bin")
        with open(f, "wb") as out:
            out.write(data)
        r = client("-X", "PUT", "--data-binary", "@" + f, "--unix-socket", self.path, "http://x/")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"- %d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode()))

    def test_status_and_fail(self):
        r = client(self.url + "/teapot")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"short and stout\n")
        r = client("--fail", self.url + "/teapot")
        self.assertEqual(r.returncode, 22)
        r = client(self.url + "/redirect")  # no redirects followed
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")

    def test_failures(self):
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()
        r = client("http://127.0.0.1:%d/" % port)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.count(b"\n"), 1)
        self.assertIn(b"rillhttp: tcp:127.0.0.1:%d" % port, r.stderr)
        self.assertIn(b"refused", r.stderr)
        self.assertEqual(client("ftp://x/").returncode, 1)
        self.assertEqual(client("not a url").returncode, 1)
        port = one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
        r = client("http://127.0.0.1:%d/" % port)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"rillhttp: tcp:127.0.0.1:%d" % port, r.stderr)
        port = one_shot_server(b"HTTP/1.1 twohundred OK\r\n\r\n")
        r = client("http://127.0.0.1:%d/" % port)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"malformed", r.stderr)

    def test_max_time(self):
        port = one_shot_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nslow", close=False)
        r = client("--max-time", "0.5", "http://127.0.0.1:%d/" % port)
        self.assertEqual(r.returncode, 28, r.stderr)
        port = one_shot_server(b"", close=False)
        r = client("--max-time", "0.5", "http://127.0.0.1:%d/" % port)
        self.assertEqual(r.returncode, 28, r.stderr)

    def test_usage(self):
        self.assertEqual(client().returncode, 2)
        self.assertEqual(client("--bogus", self.url).returncode, 2)
        self.assertEqual(client("-X").returncode, 2)
        self.assertEqual(client("--max-time", "soon", self.url).returncode, 2)
        self.assertEqual(client(self.url, self.url).returncode, 2)


if __name__ == "__main__":
    RILLHTTP = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=1, warnings="ignore")
