#!/usr/bin/env python3
"""Data-integrity peer: sends a known byte stream and checks what arrives, both ways at once.

serve --listen ADDR:PORT --bytes N [--count K] [--mptcp]
    Accepts K connections (default 1) and serves them concurrently: receives until EOF
    (SHA-256 of what arrived) while sending N random bytes, then shutdown(SHUT_WR).
send --connect ADDR:PORT --bytes N [--mptcp]
    The mirror image on the client side.
--reset-after BYTES (either side): send BYTES, then reset the connection instead of finishing.

Each finished connection prints one JSON line on stdout:
    {"sent": N, "sent_sha256": "...", "received": M, "received_sha256": "...", "receive_seconds": S,
     "max_gap_seconds": G}
where S is the time from the first received byte to the last (goodput = M / S), and G the longest
time between two reads that returned data (the worst stall, e.g. during a failover); and
"median_second_bytes", the median of the bytes received in each whole second (steady-state goodput).

--data pattern (the default): every 8-byte word sent is, big-endian, 0xC0 | direction (0 client to
server, 1 server to client), a 16-bit connection id (random per connection) and the word's index
(40 bits). The receiver learns the peer's id from the first word and checks every byte as it
arrives, so a mismatch says where it starts, how long it is, and what arrived instead (this
connection's bytes from another offset: duplicated or skipped; another connection's; zeros;
unrecognised bytes): the report gets "pattern": {"ok": ..., "diagnosis": ..., ...}, the diagnosis
goes to stderr, and the exit status is non-zero. --data random sends os.urandom bytes (SHA-256 only).

Every socket operation has a timeout (--timeout, default 60 s); any error, reset or timeout is
printed on stderr and makes the exit status non-zero. Standard library only.
"""

import argparse
import hashlib
import json
import os
import random
import select
import socket
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262
CHUNK = 256 * 1024


def parse_endpoint(text):
    """Splits "ADDR:PORT" or "[V6ADDR]:PORT" into (family, (host, port))."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"bad endpoint {text!r}: expected [ADDR]:PORT")
        return socket.AF_INET6, (host, int(port))
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"bad endpoint {text!r}: expected ADDR:PORT")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def make_socket(family, mptcp, timeout):
    proto = IPPROTO_MPTCP if mptcp else 0
    sock = socket.socket(family, socket.SOCK_STREAM, proto)
    sock.settimeout(timeout)
    return sock


WORD = 8
TAG = 0xC0  # first byte of every pattern word: 0xC0 | direction


BLOCK_WORDS = 1 << 16  # a block shares the word's first six bytes; its last two count 0..65535
BLOCK = BLOCK_WORDS * WORD
_LOW_HIGH = bytes(i >> 8 for i in range(BLOCK_WORDS))
_LOW_LOW = bytes(i & 0xFF for i in range(BLOCK_WORDS))
_BLOCK_CACHE = {}
_BLOCK_CACHE_LOCK = threading.Lock()


def _pattern_block(direction, connection, block):
    """Block number `block` of the stream of (direction, connection): BLOCK bytes, built at C speed."""
    key = (direction, connection, block)
    with _BLOCK_CACHE_LOCK:
        cached = _BLOCK_CACHE.get(key)
    if cached is not None:
        return cached
    prefix = (((TAG | direction) << 40) | (connection << 24) | block).to_bytes(6, "big")
    data = bytearray(prefix + b"\0\0") * BLOCK_WORDS
    data[6::WORD] = _LOW_HIGH
    data[7::WORD] = _LOW_LOW
    data = bytes(data)
    with _BLOCK_CACHE_LOCK:
        if len(_BLOCK_CACHE) > 64:  # a few blocks per stream in use at once; drop the rest
            _BLOCK_CACHE.clear()
        _BLOCK_CACHE[key] = data
    return data


def pattern_bytes(direction, connection, start, length):
    """The pattern stream of (direction, connection) from byte `start`, `length` bytes."""
    parts = []
    while length > 0:
        block, skip = divmod(start, BLOCK)
        take = min(length, BLOCK - skip)
        parts.append(_pattern_block(direction, connection, block)[skip:skip + take])
        start += take
        length -= take
    return parts[0] if len(parts) == 1 else b"".join(parts)


def decode_word(raw):
    """(direction, connection, byte offset) of one 8-byte pattern word, or None."""
    value = int.from_bytes(raw, "big")
    if len(raw) != WORD or (value >> 57) != (TAG >> 1):
        return None
    return (value >> 56) & 1, (value >> 40) & 0xFFFF, (value & 0xFF_FFFF_FFFF) * WORD


def first_difference(a, b):
    """The first index where the equally long byte strings differ (they must differ)."""
    low, high = 0, len(a)  # a[:low] == b[:low]; a[:high] != b[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle
    return low


def last_difference(a, b):
    """The last index where the equally long byte strings differ (they must differ)."""
    n = len(a)
    low, high = 0, n  # a[n-low:] == b[n-low:]; a[n-high:] != b[n-high:]
    while high - low > 1:
        middle = (low + high) // 2
        if a[n - middle:] == b[n - middle:]:
            low = middle
        else:
            high = middle
    return n - high


class PatternChecker:
    """Checks a received pattern stream as it arrives and describes the first thing that went wrong."""

    MAX_RANGES = 16

    def __init__(self, direction):
        self.direction = direction  # the direction the peer sends in
        self.connection = None  # the peer's id, from the first word
        self.offset = 0
        self.head = b""  # the first bytes, until a whole word is in
        self.bad_ranges = []  # [start, end) stream offsets of bytes that differ, merged, capped
        self.bad_bytes_bound = 0  # bytes inside the bad ranges
        self.diagnosis = None

    def feed(self, data):
        if self.connection is None:
            self.head += data
            if len(self.head) < WORD:
                return
            decoded = decode_word(self.head[:WORD])
            if decoded is None or decoded[0] != self.direction or decoded[2] != 0:
                self.connection = -1  # unknown: every byte will differ from connection 0's stream
            else:
                self.connection = decoded[1]
            data, self.head = self.head, b""
        expected = pattern_bytes(self.direction, max(self.connection, 0), self.offset, len(data))
        if expected != data:
            first = first_difference(expected, data)
            last = last_difference(expected, data)
            self._record(self.offset + first, self.offset + last + 1)
            if self.diagnosis is None:
                self.diagnosis = self._describe(data, first)
        self.offset += len(data)

    def _record(self, start, end):
        if self.bad_ranges and start <= self.bad_ranges[-1][1] + 64 * 1024:
            self.bad_ranges[-1][1] = end
        elif len(self.bad_ranges) < self.MAX_RANGES:
            self.bad_ranges.append([start, end])
        self.bad_bytes_bound = sum(end - start for start, end in self.bad_ranges)

    def _describe(self, data, first):
        """What the bytes from `first` (an index into `data`) are, in words a person can act on."""
        where = self.offset + first
        if self.connection == -1:
            return f"the first word is not this direction's pattern at offset 0: {self.head_hex(data)}"
        window = data[first:first + 64]
        if window.count(0) == len(window):
            return f"zeros from offset {where}"
        # The word boundary at or before the first bad byte, then every byte shift: a candidate counts only
        # when two consecutive words decode to one stream (a single word can be a splice of two).
        aligned = first - (where % WORD)
        for start in range(max(aligned, 0), aligned + 3 * WORD):
            decoded = decode_word(data[start:start + WORD])
            following = decode_word(data[start + WORD:start + 2 * WORD])
            if decoded is None or following is None or following != (decoded[0], decoded[1], decoded[2] + WORD):
                continue
            direction, connection, source = decoded
            at = self.offset + start
            if direction == self.direction and connection == self.connection:
                delta = source - at
                kind = "duplicated (the stream went back)" if delta < 0 else "skipped (the stream jumped ahead)"
                return (f"from offset {where}: this connection's own bytes of offset {source} arrived at "
                        f"{at}, {kind} by {abs(delta)} bytes")
            return (f"from offset {where}: bytes of another stream arrived (direction {direction}, "
                    f"connection {connection}, its offset {source}, at our offset {at})")
        return f"from offset {where}: unrecognised bytes {window[:32].hex()}"

    @staticmethod
    def head_hex(data):
        return data[:16].hex()

    def result(self):
        return {
            "ok": not self.bad_ranges and self.connection != -1,
            "peer_connection": self.connection,
            "checked": self.offset,
            "first_bad_offset": self.bad_ranges[0][0] if self.bad_ranges else None,
            "bad_ranges": self.bad_ranges,
            "bad_bytes_at_most": self.bad_bytes_bound,
            "diagnosis": self.diagnosis,
        }


class Transfer:
    """Sends `nbytes` bytes and receives until EOF on one connected socket, concurrently."""

    def __init__(self, sock, nbytes, label, data="pattern", direction=0, reset_after=None):
        self.sock = sock
        self.nbytes = nbytes
        self.label = label
        self.data = data
        self.direction = direction  # the direction this end sends in
        self.connection = random.getrandbits(16)
        self.checker = PatternChecker(1 - direction) if data == "pattern" else None
        self.reset_after = reset_after
        self.was_reset = False
        self.sent = 0
        self.sent_hash = hashlib.sha256()
        self.received = 0
        self.received_hash = hashlib.sha256()
        self.first_byte_at = None
        self.last_byte_at = None
        self.max_gap = 0.0
        self.second_bins = []  # bytes received in each whole second after the first byte
        self.errors = []

    def _send(self):
        try:
            remaining = self.nbytes
            while remaining > 0:
                if self.reset_after is not None and self.sent >= self.reset_after:
                    # A peer that dies mid-transfer: SO_LINGER {1, 0} makes run()'s close() send a reset,
                    # once the receiving loop (which polls for this flag) has let go of the socket.
                    self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.was_reset = True
                    return
                size = min(CHUNK, remaining)
                if self.reset_after is not None:
                    size = min(size, self.reset_after - self.sent)
                if self.data == "pattern":
                    chunk = pattern_bytes(self.direction, self.connection, self.sent, size)
                else:
                    chunk = os.urandom(size)
                self.sock.sendall(chunk)
                self.sent_hash.update(chunk)
                self.sent += len(chunk)
                remaining -= len(chunk)
            self.sock.shutdown(socket.SHUT_WR)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            self.errors.append(f"send after {self.sent} bytes: {error!r}")

    def _receive(self):
        try:
            while not self.was_reset:
                if self.reset_after is not None and not select.select([self.sock], [], [], 0.1)[0]:
                    continue
                data = self.sock.recv(CHUNK)
                if not data:
                    break
                now = time.monotonic()
                if self.first_byte_at is None:
                    self.first_byte_at = now
                elif now - self.last_byte_at > self.max_gap:
                    self.max_gap = now - self.last_byte_at
                self.last_byte_at = now
                second = int(now - self.first_byte_at)
                while len(self.second_bins) <= second:
                    self.second_bins.append(0)
                self.second_bins[second] += len(data)
                self.received_hash.update(data)
                self.received += len(data)
                if self.checker:
                    self.checker.feed(data)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            if not self.was_reset:
                self.errors.append(f"receive after {self.received} bytes: {error!r}")

    def run(self):
        sender = threading.Thread(target=self._send, daemon=True)
        sender.start()
        self._receive()
        sender.join()
        self.sock.close()
        result = {
            "sent": self.sent,
            "sent_sha256": self.sent_hash.hexdigest(),
            "received": self.received,
            "received_sha256": self.received_hash.hexdigest(),
            "receive_seconds": (self.last_byte_at - self.first_byte_at) if self.first_byte_at else 0.0,
            "max_gap_seconds": self.max_gap,
            # Steady-state goodput: the median of the whole seconds (the last, partial one left out).
            "median_second_bytes": sorted(self.second_bins[:-1])[(len(self.second_bins) - 1) // 2]
            if len(self.second_bins) > 1 else 0,
        }
        if self.checker:
            result["connection"] = self.connection
            result["pattern"] = self.checker.result()
            if not result["pattern"]["ok"]:
                pattern = result["pattern"]
                self.errors.append(
                    f"received bytes differ from the pattern (connection {self.connection} receiving from "
                    f"{pattern['peer_connection']}): {pattern['diagnosis']}; bad ranges {pattern['bad_ranges']}")
        return result


OUTPUT_LOCK = threading.Lock()


def report(label, transfer, result):
    with OUTPUT_LOCK:
        for error in transfer.errors:
            print(f"hashpeer {label}: {error}", file=sys.stderr, flush=True)
        print(json.dumps(result), flush=True)


def serve(args):
    family, address = parse_endpoint(args.listen)
    listener = make_socket(family, args.mptcp, args.timeout)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(address)
    listener.listen(max(16, args.count))
    print(f"hashpeer: listening on {args.listen}", file=sys.stderr, flush=True)
    failures = []
    workers = []

    def handle(conn, peer):
        label = f"serve {peer[0]}:{peer[1]}"
        transfer = Transfer(conn, args.bytes, label, args.data, direction=1, reset_after=args.reset_after)
        result = transfer.run()
        report(label, transfer, result)
        if transfer.errors:
            failures.append(label)

    # The listener stays open until every transfer is done: MPTCP joins (extra subflows) are
    # SYNs to the listening socket, and a closed listener would answer them with a reset.
    try:
        for _ in range(args.count):
            conn, peer = listener.accept()
            conn.settimeout(args.timeout)
            worker = threading.Thread(target=handle, args=(conn, peer), daemon=True)
            worker.start()
            workers.append(worker)
        # Each transfer is bounded by its socket timeouts; bound the total wait as well.
        deadline = time.monotonic() + args.timeout * 4
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.is_alive():
                print("hashpeer serve: a connection did not finish in time", file=sys.stderr, flush=True)
                return 1
    except Exception as error:  # noqa: BLE001
        print(f"hashpeer serve: accept on {args.listen}: {error!r}", file=sys.stderr, flush=True)
        return 1
    finally:
        listener.close()
    return 1 if failures else 0


def send(args):
    family, address = parse_endpoint(args.connect)
    sock = make_socket(family, args.mptcp, args.timeout)
    try:
        sock.connect(address)
    except Exception as error:  # noqa: BLE001
        print(f"hashpeer send: connect to {args.connect}: {error!r}", file=sys.stderr, flush=True)
        sock.close()
        return 1
    label = f"send {args.connect}"
    transfer = Transfer(sock, args.bytes, label, args.data, direction=0, reset_after=args.reset_after)
    result = transfer.run()
    report(label, transfer, result)
    return 1 if transfer.errors else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "send"):
        sub = commands.add_parser(name)
        if name == "serve":
            sub.add_argument("--listen", required=True, metavar="ADDR:PORT")
            sub.add_argument("--count", type=int, default=1, help="connections to accept (default 1)")
        else:
            sub.add_argument("--connect", required=True, metavar="ADDR:PORT")
        sub.add_argument("--bytes", type=int, required=True, help="bytes to send")
        sub.add_argument("--data", choices=("pattern", "random"), default="pattern",
                         help="what to send (default pattern: checked word by word on arrival)")
        sub.add_argument("--mptcp", action="store_true", help="use IPPROTO_MPTCP sockets")
        sub.add_argument("--reset-after", type=int, metavar="BYTES",
                         help="after sending BYTES, reset the connection (SO_LINGER 0): a peer that dies")
        sub.add_argument("--timeout", type=float, default=60.0, help="seconds per socket operation")
    args = parser.parse_args(argv)
    if args.bytes < 0:
        parser.error("--bytes must be >= 0")
    try:
        return serve(args) if args.command == "serve" else send(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001
        print(f"hashpeer {args.command}: {error!r}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
