#!/usr/bin/env python3
# Usage: mptcp-poll-stall.py client --connect HOST:PORT [--conns N] [--bytes B] [--stall T] [--timeout S] [--hold H] [--read-rate R]
#        mptcp-poll-stall.py server --listen HOST:PORT  [--conns N] [--bytes B] [--stall T] [--timeout S] [--hold H] [--read-rate R]
"""A poll-driven MPTCP peer that detects an MPTCP socket which holds data but never reports POLLIN.

Usage: mptcp-poll-stall.py client --connect HOST:PORT [--bind ADDR] [--conns N] [--bytes B]
                                  [--stall T] [--timeout S] [--hold H] [--read-rate R] [--tcp]
       mptcp-poll-stall.py server --listen HOST:PORT [--conns N] [--bytes B]
                                  [--stall T] [--timeout S] [--hold H] [--read-rate R] [--tcp]

Each side opens (client) or accepts (server) N MPTCP connections (IPPROTO_MPTCP; --tcp for plain TCP),
and on every one sends B bytes of a fixed pattern, shuts down its write side, and receives until EOF,
like a relay's data path: nonblocking sockets, and a read or write only after select.poll() reported
the socket ready (POLLIN / POLLOUT). It never reads blindly, except for the one diagnostic probe:

  when a connection that has not reached EOF received nothing for T seconds, and poll() does not report
  POLLIN for it (checked again with a zero-timeout poll of that fd alone), it does ONE
  recv(MSG_PEEK | MSG_DONTWAIT). If that returns K > 0 bytes, the socket holds data that poll() hides:
  it prints "STALL: poll reports no POLLIN but recv has K bytes ..." and, after holding the sockets
  open for H seconds (so that `ss -tiM` can be taken meanwhile), exits 3. If the probe finds nothing
  (EAGAIN), the silence is genuine; the next probe for that connection comes only after another 2x
  the previous wait (T, 2T, 4T ... of silence), and any progress resets it.

With --read-rate R, each connection reads at most R bytes/s (a token bucket; while it is empty the
connection does not ask for POLLIN, and that time is not counted as silence): a slow consumer, like a
relay whose other side drains slowly, so that the MPTCP receive buffer fills and data waits in subflows.

Received bytes are compared with the pattern (a mismatch is an error, exit 1). The whole run is bounded
by S seconds (--timeout): when it runs out without a STALL, it says which connections were unfinished
and exits 1. All connections complete, intact both ways: prints "OK ..." and exits 0. Bad usage: 2.
Standard library only.
"""

import argparse
import errno
import os
import random
import select
import socket
import sys
import time

IPPROTO_MPTCP = 262
PERIOD = 1048573  # the pattern repeats with a prime period, so a shifted stream never matches
_BASE = random.Random(20240917).randbytes(PERIOD)
PATTERN = _BASE + _BASE[:1 << 20]
CHUNK = 256 * 1024
START = time.monotonic()


def log(text):
    print(f"[{time.monotonic() - START:7.3f}] {text}", flush=True)


def pattern(offset, length):
    """The pattern bytes at stream offset OFFSET (length <= 1 MiB)."""
    start = offset % PERIOD
    return PATTERN[start:start + length]


def hostport(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


class Conn:
    def __init__(self, index, sock, total, stall):
        self.index = index
        self.sock = sock
        self.fd = sock.fileno()
        self.total = total
        self.sent = 0
        self.received = 0
        self.shut = False
        self.eof = False
        self.connected = False
        self.last_progress = time.monotonic()
        self.probe_after = stall
        self.probes = 0
        self.name = f"conn {index}"
        self.rate = 0.0  # bytes/s this connection may read (0: no limit); a slow consumer
        self.budget = 0.0
        self.budget_time = time.monotonic()
        self.paused = False

    def refill(self, now):
        """Token bucket of --read-rate: True while this connection may read."""
        if not self.rate:
            return True
        self.budget = min(self.budget + (now - self.budget_time) * self.rate, float(4 * CHUNK))
        self.budget_time = now
        return self.budget > 0

    def describe(self):
        try:
            local = "%s:%d" % self.sock.getsockname()[:2]
            peer = "%s:%d" % self.sock.getpeername()[:2]
        except OSError:
            local = peer = "?"
        return f"{self.name} {local}->{peer}"

    def done(self):
        return self.shut and self.eof

    def events(self):
        if not self.connected:
            return select.POLLOUT
        ev = 0
        if not self.eof and not self.paused:
            ev |= select.POLLIN
        if not self.shut:
            ev |= select.POLLOUT
        return ev


class Peer:
    def __init__(self, args):
        self.args = args
        self.conns = {}
        self.poller = select.poll()
        self.proto = 0 if args.tcp else IPPROTO_MPTCP
        self.listener = None
        self.accepted = 0
        self.finished = 0
        self.stalled = None

    def new_socket(self, family):
        return socket.socket(family, socket.SOCK_STREAM, self.proto)

    def add(self, sock):
        index = len(self.conns) + self.finished
        c = Conn(index, sock, self.args.bytes, self.args.stall)
        c.rate = float(self.args.read_rate)
        self.conns[c.fd] = c
        self.poller.register(c.fd, c.events())
        return c

    def start(self):
        a = self.args
        if a.mode == "server":
            host, port = a.listen
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self.listener = self.new_socket(family)
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.listener.bind((host, port))
            self.listener.listen(64)
            self.listener.setblocking(False)
            self.poller.register(self.listener.fileno(), select.POLLIN)
            log(f"listening on {host}:{port} ({'tcp' if a.tcp else 'mptcp'}), {a.conns} connections of {a.bytes} bytes each way")
        else:
            host, port = a.connect
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            for _ in range(a.conns):
                s = self.new_socket(family)
                if a.bind:
                    s.bind((a.bind, 0))
                s.setblocking(False)
                err = s.connect_ex((host, port))
                if err not in (0, errno.EINPROGRESS):
                    raise SystemExit(f"connect {host}:{port}: {os.strerror(err)}")
                self.add(s)
            log(f"connecting {a.conns} x to {host}:{port} ({'tcp' if a.tcp else 'mptcp'}), {a.bytes} bytes each way")

    def accept(self):
        while self.accepted < self.args.conns:
            try:
                s, _ = self.listener.accept()
            except BlockingIOError:
                return
            s.setblocking(False)
            self.accepted += 1
            c = self.add(s)
            c.connected = True
            c.last_progress = time.monotonic()
            self.poller.modify(c.fd, c.events())
            log(f"accepted {c.describe()}")
        self.poller.unregister(self.listener.fileno())

    def handle(self, c, revents):
        now = time.monotonic()
        if not c.connected:
            err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise RuntimeError(f"{c.name}: connect failed: {os.strerror(err)}")
            if not revents & select.POLLOUT:
                return
            c.connected = True
            c.last_progress = now
            log(f"connected {c.describe()}")
        if revents & (select.POLLIN | select.POLLHUP | select.POLLERR) and not c.eof:
            got = 0
            while True:  # drain what poll said is there (nonblocking; stops at EAGAIN)
                try:
                    data = c.sock.recv(CHUNK)
                except BlockingIOError:
                    break
                except ConnectionError as e:
                    raise RuntimeError(f"{c.describe()}: recv: {e}") from None
                if not data:
                    c.eof = True
                    log(f"{c.describe()}: EOF after {c.received} bytes")
                    if c.received != c.total:
                        raise RuntimeError(f"{c.describe()}: EOF after {c.received} of {c.total} bytes")
                    break
                if data != pattern(c.received, len(data)):
                    raise RuntimeError(f"{c.describe()}: received bytes differ from the pattern at offset {c.received}..{c.received + len(data)}")
                c.received += len(data)
                got += len(data)
                if c.received > c.total:
                    raise RuntimeError(f"{c.describe()}: received {c.received} > {c.total} bytes")
                if got >= 4 * CHUNK:
                    break  # fairness between connections
                if c.rate:
                    c.budget -= len(data)
                    if c.budget <= 0:
                        c.paused = True  # stop asking for POLLIN until the bucket refills
                        break
            if got:
                c.last_progress = now
                c.probe_after = self.args.stall
        if revents & select.POLLOUT and not c.shut:
            while c.sent < c.total:
                n = min(CHUNK, c.total - c.sent)
                try:
                    w = c.sock.send(pattern(c.sent, n))
                except BlockingIOError:
                    break
                except ConnectionError as e:
                    raise RuntimeError(f"{c.describe()}: send: {e}") from None
                c.sent += w
                if w < n:
                    break
            if c.sent == c.total:
                c.sock.shutdown(socket.SHUT_WR)
                c.shut = True
                log(f"{c.describe()}: sent {c.sent} bytes and shut down writing")
        if c.done():
            self.poller.unregister(c.fd)
            del self.conns[c.fd]
            c.sock.close()
            self.finished += 1
        else:
            self.poller.modify(c.fd, c.events())

    def probe(self, c, now):
        """The one diagnostic read: poll() alone, then recv(MSG_PEEK|MSG_DONTWAIT)."""
        single = select.poll()
        single.register(c.fd, select.POLLIN | select.POLLOUT | select.POLLRDHUP)
        ready = single.poll(0)
        revents = ready[0][1] if ready else 0
        if revents & select.POLLIN:
            return  # readable after all; the main loop will read it
        c.probes += 1
        silent = now - c.last_progress
        try:
            k = len(c.sock.recv(1 << 24, socket.MSG_PEEK | socket.MSG_DONTWAIT))
            peek = str(k)
        except BlockingIOError:
            k, peek = 0, "EAGAIN"
        except OSError as e:
            k, peek = 0, repr(e)
        names = "|".join(n for n, bit in (("POLLIN", select.POLLIN), ("POLLOUT", select.POLLOUT),
                                          ("POLLRDHUP", select.POLLRDHUP), ("POLLHUP", select.POLLHUP),
                                          ("POLLERR", select.POLLERR)) if revents & bit) or "0"
        state = f"received {c.received}/{c.total}, sent {c.sent}/{c.total}{', shut' if c.shut else ''}"
        if k > 0:
            self.stalled = c
            log(f"STALL: poll reports no POLLIN but recv has {k} bytes: {c.describe()} silent {silent:.1f} s, "
                f"poll revents {names}, {state}")
        else:
            log(f"silent: {c.describe()} {silent:.1f} s, poll revents {names}, peek {peek}, {state}")
            c.probe_after *= 2

    def run(self):
        a = self.args
        deadline = START + a.timeout
        self.start()
        while time.monotonic() < deadline:
            if self.listener is None or self.accepted == a.conns:
                if not self.conns:
                    log(f"OK: {self.finished} connections, {a.bytes} bytes each way, intact")
                    return 0
            for fd, revents in self.poller.poll(200):
                if self.listener is not None and fd == self.listener.fileno():
                    self.accept()
                elif fd in self.conns:
                    self.handle(self.conns[fd], revents)
            now = time.monotonic()
            for c in list(self.conns.values()):
                if c.paused:
                    c.last_progress = now  # not waiting for POLLIN while paused: not silence
                    if c.refill(now):
                        c.paused = False
                        self.poller.modify(c.fd, c.events())
                    continue
                if c.connected and not c.eof and now - c.last_progress >= c.probe_after:
                    self.probe(c, now)
                    if self.stalled:
                        break
            if self.stalled:
                if a.hold > 0:
                    log(f"holding the sockets open for {a.hold} s")
                    time.sleep(a.hold)
                return 3
        for c in self.conns.values():
            log(f"unfinished: {c.describe()} received {c.received}/{c.total}, sent {c.sent}/{c.total}, "
                f"probes {c.probes}")
        if self.listener is not None and self.accepted < a.conns:
            log(f"unfinished: accepted only {self.accepted} of {a.conns}")
        log(f"TIMEOUT after {a.timeout} s without a hidden-data stall")
        return 1


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("client", "server"))
    parser.add_argument("--connect", type=hostport, help="client: HOST:PORT")
    parser.add_argument("--bind", help="client: local address to bind")
    parser.add_argument("--listen", type=hostport, help="server: HOST:PORT")
    parser.add_argument("--conns", type=int, default=6)
    parser.add_argument("--bytes", type=int, default=6 << 20)
    parser.add_argument("--stall", type=float, default=3.0, help="seconds without progress before the probe")
    parser.add_argument("--timeout", type=float, default=40.0, help="bound of the whole run")
    parser.add_argument("--hold", type=float, default=0.0, help="after a STALL, keep the sockets this long")
    parser.add_argument("--read-rate", type=float, default=0.0,
                        help="read at most this many bytes/s per connection (a slow consumer); 0: no limit")
    parser.add_argument("--tcp", action="store_true", help="plain TCP instead of MPTCP")
    args = parser.parse_args(argv)
    if (args.mode == "client") != (args.connect is not None) or (args.mode == "server") != (args.listen is not None):
        parser.error("client needs --connect, server needs --listen")
    if not (1 <= args.conns <= 1000 and args.bytes >= 0 and args.stall > 0 and 0 < args.timeout <= 3600):
        parser.error("out-of-range --conns/--bytes/--stall/--timeout")
    try:
        return Peer(args).run()
    except RuntimeError as e:
        log(f"ERROR: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
