#!/usr/bin/env python3
"""Data-integrity peer: sends random bytes and hashes what arrives, both ways at once.

serve --listen ADDR:PORT --bytes N [--count K] [--mptcp]
    Accepts K connections (default 1) and serves them concurrently: receives until EOF
    (SHA-256 of what arrived) while sending N random bytes, then shutdown(SHUT_WR).
send --connect ADDR:PORT --bytes N [--mptcp]
    The mirror image on the client side.

Each finished connection prints one JSON line on stdout:
    {"sent": N, "sent_sha256": "...", "received": M, "received_sha256": "...", "receive_seconds": S,
     "max_gap_seconds": G}
where S is the time from the first received byte to the last (goodput = M / S), and G the longest
time between two reads that returned data (the worst stall, e.g. during a failover); and
"median_second_bytes", the median of the bytes received in each whole second (steady-state goodput).
Every socket operation has a timeout (--timeout, default 60 s); any error, reset or timeout is
printed on stderr and makes the exit status non-zero. Standard library only.
"""

import argparse
import hashlib
import json
import os
import socket
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


class Transfer:
    """Sends `nbytes` random bytes and receives until EOF on one connected socket, concurrently."""

    def __init__(self, sock, nbytes, label):
        self.sock = sock
        self.nbytes = nbytes
        self.label = label
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
                chunk = os.urandom(min(CHUNK, remaining))
                self.sock.sendall(chunk)
                self.sent_hash.update(chunk)
                self.sent += len(chunk)
                remaining -= len(chunk)
            self.sock.shutdown(socket.SHUT_WR)
        except Exception as error:  # noqa: BLE001 - every failure is reported
            self.errors.append(f"send after {self.sent} bytes: {error!r}")

    def _receive(self):
        try:
            while True:
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
        except Exception as error:  # noqa: BLE001 - every failure is reported
            self.errors.append(f"receive after {self.received} bytes: {error!r}")

    def run(self):
        sender = threading.Thread(target=self._send, daemon=True)
        sender.start()
        self._receive()
        sender.join()
        self.sock.close()
        return {
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
        transfer = Transfer(conn, args.bytes, label)
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
    transfer = Transfer(sock, args.bytes, label)
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
        sub.add_argument("--bytes", type=int, required=True, help="random bytes to send")
        sub.add_argument("--mptcp", action="store_true", help="use IPPROTO_MPTCP sockets")
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
