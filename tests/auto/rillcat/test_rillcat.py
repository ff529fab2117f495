#!/usr/bin/env python3
# Copyright (C) 2026 The Rill authors. SPDX-License-Identifier: MIT
"""Black-box tests of the rillcat binary, against peers that are not Rill: Python sockets and
socat. Everything stays on this machine (127.0.0.1 and Unix sockets in a temporary folder) and
every wait is bounded, so a broken rillcat fails a test instead of hanging it.

    test_rillcat.py PATH/TO/rillcat [unittest arguments]

Exits non-zero if a test failed, after a closing line "N passed, N failed".

    test_rillcat.py --generate SIZE SEED

is the data generator the bulk tests feed rillcat's stdin from: SIZE pseudo-random bytes on
stdout, then their sha256 (hex) on stderr.
"""

import hashlib
import os
import queue
import random
import re
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

RILLCAT = None
SANITIZED = False     # built with AddressSanitizer: its allocator keeps freed memory, RSS means nothing
TIMEOUT = 30          # seconds, for anything that should happen "soon"
BULK_TIMEOUT = 240    # seconds, for the transfers of hundreds of MiB
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
CHUNK = 1 * MiB


# ---- Data

def generate(size, seed):
    """Yields size bytes in chunks: pseudo-random, and different in every chunk (a counter
    leads each one), so lost, repeated or reordered chunks change the hash."""
    base = random.Random(seed).randbytes(CHUNK + 4096)
    index = 0
    left = size
    while left > 0:
        n = min(left, CHUNK)
        offset = (index * 7919) % 4096
        chunk = index.to_bytes(8, "little") + base[offset + 8:offset + CHUNK]
        yield chunk[:n]
        left -= n
        index += 1


def generator_main(size, seed):
    digest = hashlib.sha256()
    out = sys.stdout.buffer
    try:
        for chunk in generate(size, seed):
            out.write(chunk)
            digest.update(chunk)
        out.flush()
    except BrokenPipeError:
        sys.stderr.write("broken pipe\n")
        return 1
    sys.stderr.write(digest.hexdigest() + "\n")
    return 0


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---- Processes

class Rillcat:
    """A running rillcat. stderr is collected by a thread, line by line."""

    def __init__(self, test, args, stdin=subprocess.PIPE, stdout=subprocess.PIPE):
        self.args = args
        self.process = subprocess.Popen([RILLCAT] + args, stdin=stdin, stdout=stdout,
                                        stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.stderr_lines = []
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()
        test.addCleanup(self.kill)

    def _collect(self):
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stderr_lines.append(line)
            self.lines.put(line)
        self.lines.put(None)

    @property
    def pid(self):
        return self.process.pid

    def running(self):
        return self.process.poll() is None

    def stderr_line(self, timeout=TIMEOUT):
        """The next line on stderr; fails on timeout or end of stderr."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("rillcat printed nothing on stderr within %ss" % timeout)
        if line is None:
            raise AssertionError("rillcat's stderr ended: " + self.describe())
        return line

    def listening_endpoint(self):
        line = self.stderr_line()
        match = re.fullmatch(r"listening on ((?:tcp|tls|unix):.+)", line)
        if not match:
            raise AssertionError("expected 'listening on ENDPOINT', got %r" % line)
        return match.group(1)

    def wait(self, timeout=TIMEOUT):
        """The exit status; fails (and kills it) if it does not exit in time."""
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("rillcat did not exit within %ss: %s" % (timeout, self.describe()))
        self.reader.join(timeout=TIMEOUT)
        return status

    def stderr(self):
        return "\n".join(self.stderr_lines)

    def describe(self):
        return "rillcat %s, stderr:\n%s" % (" ".join(self.args), self.stderr())

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass

    def status_kib(self, field):
        """VmRSS, VmHWM... of the running process, in KiB."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise AssertionError("no %s in /proc/%d/status" % (field, self.pid))


def io_counter(pid, field):
    """rchar or wchar of a process: the bytes it read or wrote through system calls."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/io" % (field, pid))


def start_generator(test, size, seed):
    process = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--generate",
                                str(size), str(seed)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def stop():
        if process.poll() is None:
            process.kill()
        process.wait(timeout=TIMEOUT)
        process.stdout.close()
        process.stderr.close()
    test.addCleanup(stop)
    return process


def generator_digest(process):
    try:
        process.wait(timeout=BULK_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError("the generator did not finish")
    text = process.stderr.read().decode().strip()
    if process.returncode != 0 or not re.fullmatch(r"[0-9a-f]{64}", text):
        raise AssertionError("the generator failed: %s" % text)
    return text


def read_to_eof(stream, timeout=TIMEOUT, digest=None):
    """Reads a pipe to its end within timeout: the bytes, or their (count, sha256) if digest."""
    fd = stream.fileno()
    data = bytearray()
    count = 0
    hasher = hashlib.sha256()
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no end of stream within %ss (%d bytes so far)"
                                 % (timeout, count))
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return (count, hasher.hexdigest()) if digest else bytes(data)
        count += len(chunk)
        if digest:
            hasher.update(chunk)
        else:
            data += chunk


class Background:
    """Runs f(*args) in a thread; result() gives its value or raises what it raised."""

    def __init__(self, f, *args):
        self.value = None
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(f,) + args, daemon=True)
        self.thread.start()

    def _run(self, f, *args):
        try:
            self.value = f(*args)
        except BaseException as e:  # reported by result()
            self.error = e

    def result(self, timeout=TIMEOUT):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError("a background task did not finish within %ss" % timeout)
        if self.error:
            raise self.error
        return self.value


# ---- Sockets

def sock_read_to_eof(sock, digest=False):
    data = bytearray()
    count = 0
    hasher = hashlib.sha256()
    buffer = bytearray(1 << 20)
    while True:
        n = sock.recv_into(buffer)
        if n == 0:
            return (count, hasher.hexdigest()) if digest else bytes(data)
        count += n
        if digest:
            hasher.update(memoryview(buffer)[:n])
        else:
            data += buffer[:n]


def send_generated(sock, size, seed):
    hasher = hashlib.sha256()
    for chunk in generate(size, seed):
        sock.sendall(chunk)
        hasher.update(chunk)
    return hasher.hexdigest()


def tcp_server():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(TIMEOUT)
    return server, "tcp:127.0.0.1:%d" % server.getsockname()[1]


def unix_server(path):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    server.settimeout(TIMEOUT)
    return server, "unix:" + path


def connect(endpoint):
    if endpoint.startswith("unix:"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address = endpoint[5:]
    else:
        host, port = endpoint[4:].rsplit(":", 1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (host, int(port))
    sock.settimeout(TIMEOUT)
    sock.connect(address)
    return sock


def accept(server):
    sock, _ = server.accept()
    sock.settimeout(TIMEOUT)
    return sock


def hard_close(sock):
    """Closes with SO_LINGER 0: a reset, not an end of stream."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Base(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rillcat-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def server(self, transport):
        server, endpoint = (tcp_server() if transport == "tcp"
                            else unix_server(self.path("server.sock")))
        self.addCleanup(server.close)
        return server, endpoint

    def rillcat(self, *args, **kwargs):
        return Rillcat(self, list(args), **kwargs)

    def assertExit(self, cat, expected, timeout=TIMEOUT):
        status = cat.wait(timeout)
        self.assertEqual(status, expected, "exit status %s, expected %s; %s"
                         % (status, expected, cat.describe()))

    def assertOneErrorLine(self, cat, *words):
        lines = [line for line in cat.stderr_lines if line]
        self.assertEqual(len(lines), 1, "expected one line on stderr: " + cat.describe())
        self.assertTrue(lines[0].startswith("rillcat: "), cat.describe())
        for word in words:
            self.assertIn(word, lines[0], cat.describe())


# ---------------------------------------------------------------------------------------------

class HalfClose(Base):
    """Half-close in both orders, rillcat connecting and listening, over TCP and Unix sockets."""

    def session(self, transport, listen):
        """Starts rillcat and a connected Python socket at its other end: (rillcat, socket)."""
        if listen:
            endpoint = ("tcp:127.0.0.1:0" if transport == "tcp"
                        else "unix:" + self.path("rillcat.sock"))
            cat = self.rillcat("--listen", endpoint)
            sock = connect(cat.listening_endpoint())
        else:
            server, endpoint = self.server(transport)
            cat = self.rillcat(endpoint)
            sock = accept(server)
        self.addCleanup(sock.close)
        return cat, sock

    def stdin_ends_first(self, transport, listen):
        cat, sock = self.session(transport, listen)
        request = b"a request, then the end of stdin\n" * 1000
        cat.process.stdin.write(request)
        cat.process.stdin.close()
        self.assertEqual(sock_read_to_eof(sock), request, "the peer did not get stdin, then its end")
        self.assertTrue(cat.running(), "rillcat quit before the peer's end of stream: "
                        + cat.describe())
        reply = b"".join(generate(2 * MiB, 5))

        def answer():  # more than the buffers hold: sent while stdout is read
            sock.sendall(reply)
            sock.shutdown(socket.SHUT_WR)
        answering = Background(answer)
        self.assertEqual(read_to_eof(cat.process.stdout), reply,
                         "the reply sent after the half-close did not reach stdout")
        answering.result()
        self.assertExit(cat, 0)

    def peer_ends_first(self, transport, listen):
        cat, sock = self.session(transport, listen)
        greeting = b"the peer speaks first, then half-closes\n"
        sock.sendall(greeting)
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(read_to_eof(cat.process.stdout), greeting,
                         "stdout did not get the peer's bytes, then its end")
        self.assertTrue(cat.running(), "rillcat quit while stdin was open: " + cat.describe())
        late = b"stdin goes on after the peer's end of stream\n" * 5000
        cat.process.stdin.write(late)
        cat.process.stdin.close()
        self.assertEqual(sock_read_to_eof(sock), late, "the peer did not get the rest of stdin")
        self.assertExit(cat, 0)

    def test_stdin_ends_first_tcp_connect(self):
        self.stdin_ends_first("tcp", listen=False)

    def test_stdin_ends_first_unix_connect(self):
        self.stdin_ends_first("unix", listen=False)

    def test_stdin_ends_first_tcp_listen(self):
        self.stdin_ends_first("tcp", listen=True)

    def test_stdin_ends_first_unix_listen(self):
        self.stdin_ends_first("unix", listen=True)

    def test_peer_ends_first_tcp_connect(self):
        self.peer_ends_first("tcp", listen=False)

    def test_peer_ends_first_unix_connect(self):
        self.peer_ends_first("unix", listen=False)

    def test_peer_ends_first_tcp_listen(self):
        self.peer_ends_first("tcp", listen=True)

    def test_peer_ends_first_unix_listen(self):
        self.peer_ends_first("unix", listen=True)

    def test_socat_peer_half_closes_first(self):
        cat = self.rillcat("--listen", "tcp:127.0.0.1:0")
        port = cat.listening_endpoint().rsplit(":", 1)[1]
        # -t: socat waits that long for the other direction after its stdin ends.
        socat = subprocess.Popen(["socat", "-t", str(TIMEOUT), "-", "TCP:127.0.0.1:" + port],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        self.addCleanup(lambda: socat.poll() is None and socat.kill())
        socat.stdin.write(b"ping from socat\n")
        socat.stdin.close()
        self.assertEqual(read_to_eof(cat.process.stdout), b"ping from socat\n")
        cat.process.stdin.write(b"pong from rillcat\n")
        cat.process.stdin.close()
        self.assertEqual(read_to_eof(socat.stdout), b"pong from rillcat\n")
        self.assertEqual(socat.wait(timeout=TIMEOUT), 0, socat.stderr.read().decode())
        socat.stdout.close()
        socat.stderr.close()
        self.assertExit(cat, 0)

    def test_socat_listener_stdin_ends_first(self):
        # socat listens and answers once it has read everything: a request/response server.
        port_holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        port_holder.bind(("127.0.0.1", 0))
        port = port_holder.getsockname()[1]
        port_holder.close()
        socat = subprocess.Popen(["socat", "-d", "-d", "-t", str(TIMEOUT),
                                  "TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr" % port,
                                  "SYSTEM:wc -c; echo done"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(lambda: socat.poll() is None and socat.kill())
        socat_log = queue.Queue()
        threading.Thread(target=lambda: [socat_log.put(line) for line in socat.stderr],
                         daemon=True).start()
        while b"listening on" not in socat_log.get(timeout=TIMEOUT):
            pass
        cat = self.rillcat("tcp:127.0.0.1:%d" % port)
        cat.process.stdin.write(b"x" * 123456)
        cat.process.stdin.close()
        self.assertEqual(read_to_eof(cat.process.stdout).split(), [b"123456", b"done"],
                         "socat's answer, sent after rillcat's end of stream")
        self.assertExit(cat, 0)
        self.assertEqual(socat.wait(timeout=TIMEOUT), 0)


class Bulk(Base):
    """Hundreds of MiB both ways at once, hashed at both ends."""

    def both_ways(self, transport, listen, size):
        generator = start_generator(self, size, 1)
        if listen:
            endpoint = ("tcp:127.0.0.1:0" if transport == "tcp"
                        else "unix:" + self.path("rillcat.sock"))
            cat = self.rillcat("--listen", endpoint, stdin=generator.stdout)
            sock = connect(cat.listening_endpoint())
        else:
            server, endpoint = self.server(transport)
            cat = self.rillcat(endpoint, stdin=generator.stdout)
            sock = accept(server)
        self.addCleanup(sock.close)
        generator.stdout.close()  # rillcat has it now
        sock.settimeout(BULK_TIMEOUT)

        def peer_send():
            digest = send_generated(sock, size, 2)
            sock.shutdown(socket.SHUT_WR)
            return digest
        sending = Background(peer_send)
        receiving = Background(sock_read_to_eof, sock, True)
        stdout = Background(read_to_eof, cat.process.stdout, BULK_TIMEOUT, True)

        sent_by_peer = sending.result(BULK_TIMEOUT)
        received_by_peer = receiving.result(BULK_TIMEOUT)
        at_stdout = stdout.result(BULK_TIMEOUT)
        stdin_digest = generator_digest(generator)
        self.assertEqual(received_by_peer, (size, stdin_digest), "stdin -> peer lost or changed bytes")
        self.assertEqual(at_stdout, (size, sent_by_peer), "peer -> stdout lost or changed bytes")
        self.assertExit(cat, 0)

    def test_256_mib_each_way_at_once_tcp(self):
        self.both_ways("tcp", listen=False, size=256 * MiB)

    def test_64_mib_each_way_at_once_unix_listen(self):
        self.both_ways("unix", listen=True, size=64 * MiB)

    def test_regular_files_for_stdin_and_stdout(self):
        """Files cannot be watched with a notifier: rillcat falls back to blocking calls."""
        source = self.path("in.bin")
        with open(source, "wb") as f:
            for chunk in generate(3 * MiB + 17, 9):
                f.write(chunk)
        server, endpoint = self.server("tcp")
        with open(source, "rb") as stdin, open(self.path("out.bin"), "wb") as stdout:
            cat = self.rillcat(endpoint, stdin=stdin, stdout=stdout)
            sock = accept(server)
            self.addCleanup(sock.close)
            # An echo: read everything, send it back, end.
            data = sock_read_to_eof(sock)
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            self.assertExit(cat, 0)
        with open(source, "rb") as f:
            expected = f.read()
        self.assertEqual(len(data), len(expected))
        self.assertEqual(sha256(data), sha256(expected), "the file did not arrive intact")
        with open(self.path("out.bin"), "rb") as f:
            self.assertEqual(sha256(f.read()), sha256(expected), "stdout file differs")

    def test_dev_null_stdin_and_stdout(self):
        server, endpoint = self.server("unix")
        with open(os.devnull, "rb") as stdin, open(os.devnull, "wb") as stdout:
            cat = self.rillcat(endpoint, stdin=stdin, stdout=stdout)
            sock = accept(server)
            self.addCleanup(sock.close)
            self.assertEqual(sock_read_to_eof(sock), b"", "stdin from /dev/null must end at once")
            sock.sendall(b"discarded" * 100000)
            sock.shutdown(socket.SHUT_WR)
            self.assertExit(cat, 0)


class Backpressure(Base):
    """Memory stays bounded while one side does not read."""

    LIMIT_KIB = 64 * 1024

    def assertBounded(self, kib, what):
        sys.stderr.write("[%s: %.1f MiB] " % (what, kib / 1024))
        if SANITIZED:
            return
        self.assertLess(kib, self.LIMIT_KIB, "%s: %d KiB" % (what, kib))

    def wait_until_still(self, pid, field, what):
        """Waits until a process's rchar/wchar stops moving for a second: it is held back."""
        deadline = time.monotonic() + 60
        last = io_counter(pid, field)
        still_since = time.monotonic()
        while time.monotonic() - still_since < 1.0:
            self.assertLess(time.monotonic(), deadline, what + " never stopped")
            time.sleep(0.1)
            now = io_counter(pid, field)
            if now != last:
                last, still_since = now, time.monotonic()
        return last

    def watch_peak(self, cat):
        """Samples VmHWM (the peak RSS) until rillcat exits; returns a getter of the last sample."""
        peak = [cat.status_kib("VmHWM")]

        def sample():
            while cat.running():
                try:  # VmHWM is approximate (per-thread counters): keep the largest seen
                    peak[0] = max(peak[0], cat.status_kib("VmHWM"))
                except (OSError, AssertionError):
                    break  # it exited
                time.sleep(0.05)
        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        return lambda: (thread.join(TIMEOUT), peak[0])[1]

    def test_stalled_peer_stops_stdin(self):
        size = 1 * GiB
        generator = start_generator(self, size, 3)
        server, endpoint = self.server("tcp")
        cat = self.rillcat(endpoint, stdin=generator.stdout)
        generator.stdout.close()
        sock = accept(server)
        self.addCleanup(sock.close)
        peak = self.watch_peak(cat)

        written = self.wait_until_still(generator.pid, "wchar", "the generator")
        rss = cat.status_kib("VmRSS")
        hwm = cat.status_kib("VmHWM")
        sys.stderr.write("[stdin read while stalled: %.1f MiB] " % (written / MiB))
        self.assertLess(written, size // 4, "rillcat kept reading stdin while the peer stalled")
        self.assertBounded(hwm, "peak RSS while the peer stalled")
        self.assertBounded(rss, "RSS while the peer stalled")

        # The peer reads again: every byte arrives.
        sock.settimeout(BULK_TIMEOUT)
        received = Background(sock_read_to_eof, sock, True)
        count, digest = received.result(BULK_TIMEOUT)
        self.assertEqual((count, digest), (size, generator_digest(generator)),
                         "bytes were lost or changed")
        sock.shutdown(socket.SHUT_WR)
        self.assertExit(cat, 0)
        self.assertBounded(peak(), "peak RSS over the whole transfer")

    def test_stalled_stdout_stops_the_flow(self):
        size = 256 * MiB
        server, endpoint = self.server("unix")
        cat = self.rillcat(endpoint)
        sock = accept(server)
        self.addCleanup(sock.close)
        cat.process.stdin.close()
        sock.settimeout(BULK_TIMEOUT)
        peak = self.watch_peak(cat)

        def peer_send():
            digest = send_generated(sock, size, 4)
            sock.shutdown(socket.SHUT_WR)
            return digest
        sending = Background(peer_send)
        # Nobody reads stdout: rillcat must stop reading the socket.
        self.wait_until_still(cat.pid, "rchar", "rillcat's reading")
        self.assertTrue(sending.thread.is_alive(), "the peer got everything out: no backpressure")
        self.assertBounded(cat.status_kib("VmHWM"), "peak RSS while stdout stalled")

        at_stdout = read_to_eof(cat.process.stdout, BULK_TIMEOUT, digest=True)
        self.assertEqual(at_stdout, (size, sending.result(BULK_TIMEOUT)))
        self.assertExit(cat, 0)
        self.assertBounded(peak(), "peak RSS over the whole transfer")


class Errors(Base):
    """One line on stderr naming the endpoint, exit 1; usage errors exit 2. Nothing hangs."""

    def test_refused_tcp(self):
        # A port bound but not listening refuses connections, and nobody else can take it.
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", 0))
        endpoint = "tcp:127.0.0.1:%d" % holder.getsockname()[1]
        cat = self.rillcat(endpoint)
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, endpoint, "refused")

    def test_refused_unix(self):
        path = self.path("stale.sock")
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        cat = self.rillcat("unix:" + path)
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, "unix:" + path, "refused")

    def test_unix_socket_not_found(self):
        endpoint = "unix:" + self.path("nobody-here.sock")
        cat = self.rillcat(endpoint)
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, endpoint)
        self.assertRegex(cat.stderr(), r"no such|not found", cat.describe())

    def reset(self, transport):
        server, endpoint = self.server(transport)
        cat = self.rillcat(endpoint)
        sock = accept(server)
        # Over a Unix socket only a close that leaves bytes unread resets: let some arrive.
        cat.process.stdin.write(b"unread")
        cat.process.stdin.flush()
        self.assertEqual(sock.recv(6, socket.MSG_PEEK | socket.MSG_WAITALL), b"unread")
        hard_close(sock)
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, "reset")
        if transport == "tcp":
            self.assertIn(endpoint, cat.stderr())

    def test_peer_reset_tcp(self):
        self.reset("tcp")

    def test_peer_reset_unix(self):
        self.reset("unix")

    def test_stdout_closed_early(self):
        server, endpoint = self.server("tcp")
        cat = self.rillcat(endpoint)
        sock = accept(server)
        self.addCleanup(sock.close)
        sock.sendall(b"first bytes")
        self.assertEqual(cat.process.stdout.read(5), b"first")
        cat.process.stdout.close()  # whoever read stdout is gone
        with self.assertRaises((ConnectionResetError, BrokenPipeError),
                               msg="the peer's stream must be cut"):
            for _ in range(64):
                sock.sendall(b"x" * MiB)
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, "stdout", "broken pipe")

    def test_listen_address_in_use(self):
        server, endpoint = self.server("tcp")
        cat = self.rillcat("--listen", endpoint)
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, endpoint)
        self.assertRegex(cat.stderr(), r"address.*in use", cat.describe())

    def test_usage_errors(self):
        cases = [
            [],
            ["--bogus", "tcp:127.0.0.1:1"],
            ["nonsense"],
            ["tcp:127.0.0.1"],
            ["tcp:127.0.0.1:99999"],
            ["unix:"],
            ["--listen"],
            ["--proxy", "tcp:127.0.0.1:0"],
            ["--listen", "--proxy", "tcp:127.0.0.1:0", "unix:/nonexistent"],
            ["tcp:127.0.0.1:1", "tcp:127.0.0.1:2"],
        ]
        for args in cases:
            with self.subTest(args=args):
                cat = self.rillcat(*args, stdin=subprocess.DEVNULL)
                self.assertExit(cat, 2, timeout=10)
                self.assertIn("usage: rillcat", cat.stderr())
                self.assertTrue(cat.stderr_lines[0].startswith("rillcat: "), cat.describe())

    def test_help(self):
        cat = self.rillcat("--help", stdin=subprocess.DEVNULL)
        self.assertExit(cat, 0, timeout=10)
        self.assertIn(b"usage: rillcat", cat.process.stdout.read())


class Listen(Base):
    def test_prints_tcp_endpoint_with_real_port(self):
        cat = self.rillcat("--listen", "tcp:127.0.0.1:0")
        endpoint = cat.listening_endpoint()
        match = re.fullmatch(r"tcp:127\.0\.0\.1:(\d+)", endpoint)
        self.assertTrue(match, endpoint)
        self.assertNotEqual(int(match.group(1)), 0, "the real port, not 0")
        sock = connect(endpoint)  # it is accepting
        self.addCleanup(sock.close)
        sock.sendall(b"hi")
        sock.shutdown(socket.SHUT_WR)
        cat.process.stdin.close()
        self.assertEqual(read_to_eof(cat.process.stdout), b"hi")
        self.assertEqual(sock_read_to_eof(sock), b"")
        self.assertExit(cat, 0)

    def test_prints_unix_endpoint(self):
        path = self.path("listen.sock")
        cat = self.rillcat("--listen", "unix:" + path)
        self.assertEqual(cat.listening_endpoint(), "unix:" + path)
        sock = connect("unix:" + path)
        self.addCleanup(sock.close)
        cat.process.stdin.close()
        self.assertEqual(sock_read_to_eof(sock), b"")
        sock.shutdown(socket.SHUT_WR)
        self.assertExit(cat, 0)


class Verbose(Base):
    def test_states_with_timestamps(self):
        server, endpoint = self.server("tcp")
        cat = self.rillcat("-v", endpoint)
        sock = accept(server)
        self.addCleanup(sock.close)
        cat.process.stdin.close()
        self.assertEqual(sock_read_to_eof(sock), b"")
        sock.shutdown(socket.SHUT_WR)
        self.assertExit(cat, 0)
        stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}"
        for what in ("connected", "write shut down", "peer end of stream", "closed"):
            self.assertRegex(cat.stderr(), r"(?m)^%s .*%s: %s" % (stamp, re.escape(endpoint), what),
                             cat.describe())

    def test_error_is_printed(self):
        server, endpoint = self.server("tcp")
        cat = self.rillcat("-v", endpoint)
        sock = accept(server)
        # Reset once rillcat surely has the connection: after its first bytes arrived.
        cat.process.stdin.write(b"unread")
        cat.process.stdin.flush()
        self.assertEqual(sock.recv(6, socket.MSG_PEEK | socket.MSG_WAITALL), b"unread")
        hard_close(sock)
        self.assertExit(cat, 1)
        self.assertRegex(cat.stderr(), r"(?m): error: .*reset", cat.describe())
        self.assertTrue(cat.stderr_lines[-1].startswith("rillcat: "), cat.describe())


class Proxy(Base):
    def serve(self, server, handler):
        """Accepts connections until the test ends, each handled in its own thread."""
        stop = threading.Event()
        self.addCleanup(stop.set)
        server.settimeout(0.2)

        def loop():
            while not stop.is_set():
                try:
                    sock, _ = server.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                sock.settimeout(TIMEOUT)
                threading.Thread(target=handler, args=(sock,), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()

    @staticmethod
    def answer_after_eof(sock):
        """A request/response server: reads to the end of stream, answers, closes."""
        with sock:
            request = sock_read_to_eof(sock)
            sock.sendall(b"%d bytes, sha256 %s" % (len(request), sha256(request).encode()))
            sock.shutdown(socket.SHUT_WR)
            sock_read_to_eof(sock)

    def test_tcp_to_unix_request_response(self):
        server, target = self.server("unix")
        self.serve(server, self.answer_after_eof)
        cat = self.rillcat("--proxy", "tcp:127.0.0.1:0", target)
        front = cat.listening_endpoint()
        sock = connect(front)
        self.addCleanup(sock.close)
        request = b"GET / HTTP/1.0\r\n\r\n" * 10000
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(sock_read_to_eof(sock),
                         b"%d bytes, sha256 %s" % (len(request), sha256(request).encode()))
        self.assertTrue(cat.running(), "the proxy quit after one connection: " + cat.describe())

    def test_many_connections_at_once(self):
        count = 20
        server, target = self.server("unix")
        self.serve(server, self.answer_after_eof)
        cat = self.rillcat("--proxy", "tcp:127.0.0.1:0", target)
        front = cat.listening_endpoint()
        together = threading.Barrier(count, timeout=TIMEOUT)

        def client(i):
            request = (b"client %d " % i) * (1000 + i)
            with connect(front) as sock:
                sock.sendall(request)
                together.wait()  # all connections are open at once before any ends
                sock.shutdown(socket.SHUT_WR)
                answer = sock_read_to_eof(sock)
            return answer == b"%d bytes, sha256 %s" % (len(request), sha256(request).encode())
        clients = [Background(client, i) for i in range(count)]
        results = [c.result() for c in clients]
        self.assertEqual(results, [True] * count, "some proxied answers were wrong")
        self.assertTrue(cat.running(), cat.describe())

    def test_unix_to_tcp_half_close_from_the_server(self):
        server, target = self.server("tcp")

        def greet_first(sock):
            with sock:
                sock.sendall(b"greeting from the server")
                sock.shutdown(socket.SHUT_WR)
                heard = sock_read_to_eof(sock)
                results.put(heard)
        results = queue.Queue()
        self.serve(server, greet_first)
        cat = self.rillcat("--proxy", "unix:" + self.path("front.sock"), target)
        sock = connect(cat.listening_endpoint())
        self.addCleanup(sock.close)
        self.assertEqual(sock_read_to_eof(sock), b"greeting from the server",
                         "the server's half-close did not come through")
        sock.sendall(b"the client answers after the server's end")
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(results.get(timeout=TIMEOUT), b"the client answers after the server's end")

    def test_target_refused(self):
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(holder.close)
        holder.bind(("127.0.0.1", 0))
        target = "tcp:127.0.0.1:%d" % holder.getsockname()[1]
        cat = self.rillcat("--proxy", "tcp:127.0.0.1:0", target)
        front = cat.listening_endpoint()
        for _ in range(2):  # and it keeps serving
            try:
                # The reset may even come before connect() has seen the connection complete.
                with connect(front) as sock:
                    self.assertEqual(sock.recv(100), b"", "data from nowhere")
                self.fail("the client saw a clean end of stream, not a reset")
            except ConnectionResetError:
                pass
            line = cat.stderr_line()
            self.assertIn(target, line)
            self.assertIn("refused", line)
        self.assertTrue(cat.running(), cat.describe())


# ---- TLS: peers are Python's ssl module (SSLObject over MemoryBIO, so a peer can send
# close_notify and read on) and openssl s_server; certificates made with the openssl command.

CERTS = None


def make_certificates():
    """ca, server (localhost, 127.0.0.1), expired, misnamed (other.example), client: in a
    temporary folder that lives as long as the run."""
    global CERTS
    if CERTS:
        return CERTS
    d = tempfile.mkdtemp(prefix="rillcat-tls-")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]

    def run(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True,
                       timeout=TIMEOUT)
    with open(os.path.join(d, "localhost.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    with open(os.path.join(d, "other.ext"), "w") as f:
        f.write("subjectAltName=DNS:other.example\n")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "30",
        "-subj", "/CN=rillcat-test-ca")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    for name, days, ext in (("server", "30", "localhost.ext"), ("expired", "-1", "localhost.ext"),
                            ("other", "30", "other.ext")):
        run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".crt", "-days", days, "-extfile", ext)
    run("req", *ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=rillcat-client")
    run("x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "client.crt", "-days", "30")
    CERTS = d
    return d


class TlsConn:
    """One side of a TLS connection over a blocking socket, through SSLObject and MemoryBIO."""

    def __init__(self, sock, context, server_side, hostname=None):
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = context.wrap_bio(self.inc, self.out, server_side=server_side,
                                    server_hostname=hostname)

    def _flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def _feed(self):
        data = self.sock.recv(65536)
        if data:
            self.inc.write(data)
        else:
            self.inc.write_eof()

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()

    def send(self, data):
        self.obj.write(data)
        self._flush()

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass  # sent; the peer's is not here yet
        self._flush()

    def read_to_end(self):
        """(data, how): how is "close_notify", "eof" (truncated) or the error."""
        data = bytearray()
        while True:
            try:
                chunk = self.obj.read(65536)
                if not chunk:
                    return bytes(data), "close_notify"
                data += chunk
            except ssl.SSLWantReadError:
                self._flush()
                self._feed()
            except ssl.SSLZeroReturnError:
                return bytes(data), "close_notify"
            except ssl.SSLEOFError:
                return bytes(data), "eof"
            except (ssl.SSLError, OSError) as e:
                return bytes(data), "error: %s" % e


class Tls(Base):
    def setUp(self):
        super().setUp()
        self.certs = make_certificates()

    def cert(self, name):
        return os.path.join(self.certs, name)

    def server_context(self, cert="server.crt", require_client=False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert(cert), self.cert("server.key"))
        if require_client:
            context.load_verify_locations(self.cert("ca.crt"))
            context.verify_mode = ssl.CERT_REQUIRED
        return context

    def client_context(self, client_cert=False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.cert("ca.crt"))
        if client_cert:
            context.load_cert_chain(self.cert("client.crt"), self.cert("client.key"))
        return context

    def tls_server(self, handler, cert="server.crt"):
        """A one-connection TLS server on 127.0.0.1; handler(conn) runs in a thread after the
        handshake (or gets the handshake's exception). Returns (port, Background)."""
        server, _ = tcp_server()
        self.addCleanup(server.close)
        context = self.server_context(cert)

        def run():
            sock = accept(server)
            with sock:
                conn = TlsConn(sock, context, True)
                try:
                    conn.handshake()
                except (ssl.SSLError, OSError) as e:
                    return handler(None, e)
                return handler(conn, None)
        return server.getsockname()[1], Background(run)

    def test_connect_half_close(self):
        """At stdin's end rillcat sends close_notify and then the FIN, and prints the reply
        the server sends after it until the server's close_notify; exit 0."""
        def reply_after_close_notify(conn, error):
            self.assertIsNone(error)
            request, how = conn.read_to_end()
            fin = conn.sock.recv(100)  # after close_notify comes the FIN
            conn.send(b"reply to " + request)
            conn.close_notify()
            conn.sock.shutdown(socket.SHUT_WR)
            return request, how, fin
        port, server = self.tls_server(reply_after_close_notify)
        cat = self.rillcat("--ca", self.cert("ca.crt"), "tls:localhost:%d" % port)
        cat.process.stdin.write(b"the request")
        cat.process.stdin.close()
        self.assertEqual(read_to_eof(cat.process.stdout), b"reply to the request")
        self.assertExit(cat, 0)
        request, how, fin = server.result()
        self.assertEqual((request, how, fin), (b"the request", "close_notify", b""))

    def test_peer_close_notify_does_not_stop_sending(self):
        def greet_then_listen(conn, error):
            self.assertIsNone(error)
            conn.send(b"greeting")
            conn.close_notify()
            conn.sock.shutdown(socket.SHUT_WR)
            return conn.read_to_end()
        port, server = self.tls_server(greet_then_listen)
        cat = self.rillcat("--ca", self.cert("ca.crt"), "tls:localhost:%d" % port)
        self.assertEqual(read_to_eof(cat.process.stdout), b"greeting")
        cat.process.stdin.write(b"the rest of stdin, after the server's close_notify")
        cat.process.stdin.close()
        self.assertEqual(server.result(),
                         (b"the rest of stdin, after the server's close_notify", "close_notify"))
        self.assertExit(cat, 0)

    def test_truncated(self):
        def cut_short(conn, error):
            self.assertIsNone(error)
            conn.send(b"partial answer")
            conn.sock.shutdown(socket.SHUT_WR)  # a FIN without close_notify
            return conn.sock.recv(100)
        port, server = self.tls_server(cut_short)
        endpoint = "tls:localhost:%d" % port
        cat = self.rillcat("--ca", self.cert("ca.crt"), endpoint)
        self.assertEqual(read_to_eof(cat.process.stdout), b"partial answer")
        self.assertExit(cat, 1)
        self.assertOneErrorLine(cat, "rillcat: %s: " % endpoint, "truncated")
        server.result()

    def test_bad_certificates(self):
        cases = [("expired.crt", ["--ca", self.cert("ca.crt")], "certificate has expired"),
                 ("other.crt", ["--ca", self.cert("ca.crt")],
                  "certificate is for other.example, not localhost"),
                 ("server.crt", [], "certificate is not trusted")]  # the system's CAs only
        for cert, options, words in cases:
            with self.subTest(cert=cert, options=options):
                def refused(conn, error):
                    if conn:  # the handshake may complete on the server's side (TLS 1.3)
                        return conn.read_to_end()
                    return b"", str(error)
                port, server = self.tls_server(refused, cert=cert)
                endpoint = "tls:localhost:%d" % port
                cat = self.rillcat(*options, endpoint)
                cat.process.stdin.write(b"must not be sent")
                cat.process.stdin.close()
                self.assertEqual(read_to_eof(cat.process.stdout), b"")
                self.assertExit(cat, 1)
                self.assertOneErrorLine(cat, "rillcat: %s: " % endpoint, "certificate", words)
                data, _ = server.result()
                self.assertEqual(data, b"", "application data was sent")

    def test_openssl_s_server(self):
        server = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept",
                                   "1", "-cert", self.cert("server.crt"), "-key",
                                   self.cert("server.key")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.addCleanup(lambda: (server.poll() is None and server.kill(), server.wait(TIMEOUT)))
        for _ in range(10):  # "Using default temp DH parameters" may come first
            line = server.stdout.readline().decode()
            match = re.match(r"ACCEPT 127\.0\.0\.1:(\d+)", line)
            if match or not line:
                break
        self.assertTrue(match, line)
        cat = self.rillcat("--ca", self.cert("ca.crt"), "tls:localhost:%s" % match.group(1))
        cat.process.stdin.write(b"hello s_server\n")
        cat.process.stdin.close()
        # Our close_notify ends s_server's session; it answers with its own and exits.
        self.assertEqual(read_to_eof(cat.process.stdout), b"")
        self.assertExit(cat, 0)
        output = server.communicate(timeout=TIMEOUT)[0]
        self.assertIn(b"hello s_server\n", output)

    def listen_cat(self, *extra):
        cat = self.rillcat("--listen", "tls:127.0.0.1:0", "--cert", self.cert("server.crt"),
                           "--key", self.cert("server.key"), *extra)
        endpoint = cat.listening_endpoint()
        self.assertRegex(endpoint, r"^tls:127\.0\.0\.1:[1-9][0-9]*$")
        return cat, int(endpoint.rsplit(":", 1)[1])

    def tls_connect(self, port, client_cert=False):
        sock = connect("tcp:127.0.0.1:%d" % port)
        self.addCleanup(sock.close)
        conn = TlsConn(sock, self.client_context(client_cert), False, "localhost")
        return conn

    def test_listen_with_client_certificate(self):
        cat, port = self.listen_cat("--ca", self.cert("ca.crt"))
        conn = self.tls_connect(port, client_cert=True)
        conn.handshake()
        conn.send(b"up")
        conn.close_notify()
        conn.sock.shutdown(socket.SHUT_WR)
        self.assertEqual(read_to_eof(cat.process.stdout), b"up")
        cat.process.stdin.write(b"down")
        cat.process.stdin.close()
        self.assertEqual(conn.read_to_end(), (b"down", "close_notify"))
        self.assertExit(cat, 0)

    def test_listen_client_certificate_missing(self):
        cat, port = self.listen_cat("--ca", self.cert("ca.crt"))
        conn = self.tls_connect(port)
        try:
            conn.handshake()  # TLS 1.3: the client learns of the refusal on its next read
            data, how = conn.read_to_end()
        except (ssl.SSLError, OSError) as e:
            data, how = b"", str(e)
        self.assertEqual(data, b"")
        self.assertNotEqual(how, "close_notify")
        self.assertExit(cat, 1)
        errors = [line for line in cat.stderr_lines if line.startswith("rillcat: ")]
        self.assertEqual(len(errors), 1, cat.describe())
        self.assertIn("certificate", errors[0])
        self.assertEqual(cat.process.stdout.read(), b"")

    def test_proxy_tls_front_to_tcp(self):
        backend, target = self.server("tcp")
        Proxy.serve(self, backend, Proxy.answer_after_eof)
        cat = self.rillcat("--cert", self.cert("server.crt"), "--key", self.cert("server.key"),
                           "--proxy", "tls:127.0.0.1:0", target)
        port = int(cat.listening_endpoint().rsplit(":", 1)[1])
        conn = self.tls_connect(port)
        conn.handshake()
        conn.send(b"through the proxy")
        conn.close_notify()
        conn.sock.shutdown(socket.SHUT_WR)
        request = b"through the proxy"
        self.assertEqual(conn.read_to_end(),
                         (b"%d bytes, sha256 %s" % (len(request), sha256(request).encode()),
                          "close_notify"))
        self.assertTrue(cat.running(), cat.describe())

    def test_proxy_tcp_front_to_tls(self):
        def reply_after_close_notify(conn, error):
            self.assertIsNone(error)
            request, how = conn.read_to_end()
            conn.send(b"tls says: " + request)
            conn.close_notify()
            conn.sock.shutdown(socket.SHUT_WR)
            return how
        port, server = self.tls_server(reply_after_close_notify)
        cat = self.rillcat("--ca", self.cert("ca.crt"), "--proxy", "tcp:127.0.0.1:0",
                           "tls:localhost:%d" % port)
        sock = connect(cat.listening_endpoint())
        self.addCleanup(sock.close)
        sock.sendall(b"hi")
        sock.shutdown(socket.SHUT_WR)
        self.assertEqual(sock_read_to_eof(sock), b"tls says: hi")
        self.assertEqual(server.result(), "close_notify")

    def test_tls_usage_errors(self):
        cases = [["--cert", self.cert("server.crt"), "tls:127.0.0.1:1"],  # no --key
                 ["--ca", self.cert("ca.crt"), "tcp:127.0.0.1:1"],        # not tls:
                 ["--listen", "tls:127.0.0.1:0"],                         # no certificate
                 ["--ca", self.cert("missing.crt"), "tls:127.0.0.1:1"],
                 ["--ca"]]
        for args in cases:
            with self.subTest(args=args):
                cat = self.rillcat(*args, stdin=subprocess.DEVNULL)
                self.assertExit(cat, 2, timeout=10)
                self.assertIn("usage: rillcat", cat.stderr())


# ---------------------------------------------------------------------------------------------

def main():
    global RILLCAT
    if len(sys.argv) >= 2 and sys.argv[1] == "--generate":
        return generator_main(int(sys.argv[2]), int(sys.argv[3]))
    if len(sys.argv) < 2:
        sys.stderr.write("usage: test_rillcat.py PATH/TO/rillcat [unittest arguments]\n")
        return 2
    RILLCAT = os.path.abspath(sys.argv[1])
    if not os.access(RILLCAT, os.X_OK):
        sys.stderr.write("not an executable: %s\n" % RILLCAT)
        return 2
    global SANITIZED
    libraries = subprocess.run(["ldd", RILLCAT], capture_output=True, timeout=TIMEOUT).stdout
    SANITIZED = b"libasan" in libraries
    if not shutil.which("socat"):
        sys.stderr.write("socat is not installed\n")
        return 2
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    program = unittest.main(argv=[sys.argv[0]] + sys.argv[2:], exit=False,
                            testRunner=unittest.TextTestRunner(verbosity=2, stream=sys.stdout))
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
