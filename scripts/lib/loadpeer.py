#!/usr/bin/env python3
"""Load and hostile-peer generator for the relay's network tests: many connections in one asyncio process.

Every connection starts with a 16-byte header from the client: b"LP01", then big-endian u32 connection id,
u32 upload length and u32 download length. The client sends `upload` bytes and half-closes; the server reads
until EOF, checks count and SHA-256, sends `download` bytes and closes; the client reads until EOF and checks
the same. The bytes of (connection, direction) are a window into a fixed random block that starts at an
offset of its own, so one connection's bytes delivered on another fail the digest.

serve --listen ADDR:PORT --count N [--hold N --release-file PATH]
    Serves until N connections have ended (well or not), or --seconds passed. With --hold, no reply is sent
    until N uploads have arrived (so that N connections are open at once) and PATH exists.
many --connect ADDR:PORT --count N --upload U --download D [--connecting C]
    (serve, many and churn take --mptcp: MPTCP sockets, for runs without a relay)
    Opens N connections (at most C connects in flight) and keeps each open until its reply is complete.
churn --connect ADDR:PORT --count N --parallel C --upload U --download D
    N short connections, C at a time, as fast as they go.
stall --connect ADDR:PORT --count N --download D --hold-seconds S
    N clients that ask for D bytes and never read them (a small receive buffer: a zero window), for S s.
reset --connect ADDR:PORT --count N --download D --read R
    N clients that ask for D bytes, read R of them and reset the connection (SO_LINGER 0), all at once.

Each command prints one JSON line on stdout: {"connections": ..., "ok": ..., "errors": {reason: count},
"seconds": ...} and, for serve, "peak_open"; examples of the first errors go to stderr. The exit status is
0 when every connection ended as the command expects. Every wait is bounded (--timeout per connection,
--seconds for the whole run). Standard library only.
"""

import argparse
import asyncio
import collections
import errno
import hashlib
import json
import os
import random
import resource
import socket
import struct
import sys
import time

MAGIC = b"LP01"
HEADER = struct.Struct(">4sIII")
BLOCK = 65536
CHUNK = 65536
# One random block per direction (0: client to server, 1: server to client), doubled so that any window of up
# to BLOCK bytes is one slice.
BASES = [random.Random(direction).randbytes(BLOCK) * 2 for direction in (0, 1)]


def stream_chunks(connection, direction, length):
    """The bytes connection `connection` sends in `direction`, CHUNK at a time."""
    base = BASES[direction]
    position = (connection * 977 + direction * 131) % BLOCK
    while length > 0:
        size = min(CHUNK, length)
        yield base[position:position + size]
        position = (position + size) % BLOCK
        length -= size


_DIGESTS = {}


def expected_digest(connection, direction, length):
    """SHA-256 of what `connection` sends in `direction` (cached: churn repeats a few ids)."""
    key = ((connection * 977 + direction * 131) % BLOCK, direction, length)
    digest = _DIGESTS.get(key)
    if digest is None:
        hasher = hashlib.sha256()
        for chunk in stream_chunks(connection, direction, length):
            hasher.update(chunk)
        digest = _DIGESTS[key] = hasher.hexdigest()
    return digest


def parse_endpoint(text):
    """("host", port) of "ADDR:PORT" or "[V6ADDR]:PORT"."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
        return host, int(port)
    host, _, port = text.rpartition(":")
    return host, int(port)


IPPROTO_MPTCP = 262


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def raise_file_limit():
    """Soft RLIMIT_NOFILE up to the hard limit: one process holds thousands of sockets."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Tally:
    """Outcomes by reason, with the first few error messages kept for stderr."""

    def __init__(self, label):
        self.label = label
        self.ok = 0
        self.errors = collections.Counter()
        self.examples = []
        self.started = time.monotonic()

    def fail(self, reason, detail=""):
        self.errors[reason] += 1
        if len(self.examples) < 10:
            self.examples.append(f"{reason}: {detail}" if detail else reason)

    def report(self, extra=None):
        for example in self.examples:
            print(f"loadpeer {self.label}: {example}", file=sys.stderr, flush=True)
        result = {
            "connections": self.ok + sum(self.errors.values()),
            "ok": self.ok,
            "errors": dict(self.errors),
            "seconds": round(time.monotonic() - self.started, 3),
        }
        result.update(extra or {})
        print(json.dumps(result), flush=True)


def describe(error):
    """A short reason for an exception: its class (timeouts and resets group well by class)."""
    if isinstance(error, asyncio.TimeoutError):
        return "timeout"
    if isinstance(error, asyncio.IncompleteReadError):
        return "incomplete"
    return type(error).__name__


async def read_to_eof(reader, keep=None):
    """(count, SHA-256) of everything until EOF; the first KEEP_BYTES go into `keep` (a bytearray) when given."""
    hasher = hashlib.sha256()
    count = 0
    while True:
        data = await reader.read(CHUNK)
        if not data:
            return count, hasher.hexdigest()
        hasher.update(data)
        if keep is not None and len(keep) < KEEP_BYTES:
            keep += data[:KEEP_BYTES - len(keep)]
        count += len(data)


KEEP_BYTES = 65536


def explain_damage(received, connection, direction):
    """Where `received` first differs from what `connection` sends in `direction`, and whose bytes it holds
    there: the connection (of this direction's stream) whose window starts with the damaged bytes, if any."""
    expected = b"".join(stream_chunks(connection, direction, len(received)))
    offset = next((index for index, (a, b) in enumerate(zip(received, expected)) if a != b), None)
    if offset is None:
        return "no difference in the first %d bytes" % len(received)
    sample = bytes(received[offset:offset + 16])
    found = BASES[direction].find(sample) if len(sample) >= 8 else -1
    owner = "not from this direction's stream"
    if found >= 0:
        # position = (c * 977 + direction * 131) % BLOCK, so the window start minus `offset` names c.
        start = (found - offset) % BLOCK
        candidate = (start - direction * 131) * pow(977, -1, BLOCK) % BLOCK
        expected_at = ((connection * 977 + direction * 131) + offset) % BLOCK
        owner = (f"stream position {found} (expected {expected_at}): connection {candidate} (mod {BLOCK}) if at the"
                 " same offset")
    return f"first difference at byte {offset}: got {sample.hex()}, {owner}; " + locate_tail(received, direction)


def locate_tail(received, direction):
    """Where the last 16 received bytes sit in this direction's stream (to tell a shift from a swap)."""
    tail = bytes(received[-16:])
    found = BASES[direction].find(tail) if len(tail) == 16 else -1
    where = f"stream position {found}" if found >= 0 else "not from this direction's stream"
    return f"last 16 bytes {tail.hex()}: {where}"


async def send_stream(writer, connection, direction, length):
    for chunk in stream_chunks(connection, direction, length):
        writer.write(chunk)
        await writer.drain()
        # drain() does not yield while the socket takes everything: without this, one connection into a
        # deep buffer would keep every other connection of the process waiting.
        await asyncio.sleep(0)


# MARK: serve


async def serve(args):
    host, port = parse_endpoint(args.listen)
    tally = Tally("serve")
    finished = asyncio.Event()
    uploads_in = 0
    all_uploaded = asyncio.Event()
    open_now = 0
    peak_open = 0

    async def released():
        await all_uploaded.wait()
        while args.release_file and not os.path.exists(args.release_file):
            await asyncio.sleep(0.05)

    async def handle(reader, writer):
        nonlocal uploads_in, open_now, peak_open
        peer = "%s:%s" % writer.get_extra_info("peername")[:2]
        open_now += 1
        peak_open = max(peak_open, open_now)
        try:
            magic, connection, upload, download = HEADER.unpack(
                await asyncio.wait_for(reader.readexactly(HEADER.size), args.timeout))
            if magic != MAGIC:
                raise ValueError(f"bad header {magic!r}")
            kept = bytearray()
            count, digest = await asyncio.wait_for(read_to_eof(reader, kept), args.timeout)
            if count != upload:
                tally.fail("upload_length", f"connection {connection} from {peer}: {count} of {upload} bytes")
                return
            if digest != expected_digest(connection, 0, upload):
                tally.fail("upload_digest", f"connection {connection} from {peer}: {upload} bytes, wrong SHA-256; "
                           + explain_damage(kept, connection, 0))
                return
            if args.hold:
                uploads_in += 1
                if uploads_in == args.hold:
                    print(f"loadpeer serve: all {args.hold} uploads in", file=sys.stderr, flush=True)
                    all_uploaded.set()
                await asyncio.wait_for(released(), args.timeout)
            await asyncio.wait_for(send_stream(writer, connection, 1, download), args.timeout)
            writer.write_eof()
            # drain() returns once the transport's buffer is below its low-water mark, not empty: with a
            # write-buffer limit of 0 it returns only when the kernel has taken every byte. Counting the
            # connection before that let the last one's unsent tail (up to 64 KiB) die with this process
            # when the run ended: the relays then saw a clean end of stream too early (RELIABILITY finding 10).
            writer.transport.set_write_buffer_limits(high=0)
            await asyncio.wait_for(writer.drain(), args.timeout)
            tally.ok += 1
        except Exception as error:  # noqa: BLE001 - every failure is counted
            tally.fail(describe(error), f"from {peer}: {error!r}")
        finally:
            open_now -= 1
            writer.close()
            if tally.ok + sum(tally.errors.values()) >= args.count:
                finished.set()

    if args.mptcp:
        listener = socket.socket(family_of(host), socket.SOCK_STREAM, IPPROTO_MPTCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(4096)
        listener.setblocking(False)
        server = await asyncio.start_server(handle, sock=listener, backlog=4096)
    else:
        server = await asyncio.start_server(handle, host, port, backlog=4096, reuse_address=True)
    print(f"loadpeer serve: listening on {args.listen}", file=sys.stderr, flush=True)
    try:
        await asyncio.wait_for(finished.wait(), args.seconds)
    except asyncio.TimeoutError:
        tally.fail("run_timeout", f"{args.seconds} s passed")
    server.close()
    tally.report({"peak_open": peak_open})
    return 0 if tally.ok == args.count and not tally.errors else 1


# MARK: clients


async def open_stream(host, port, mptcp):
    """asyncio streams of a new connection to (host, port), over MPTCP when `mptcp`."""
    if not mptcp:
        return await asyncio.open_connection(host, port)
    sock = socket.socket(family_of(host), socket.SOCK_STREAM, IPPROTO_MPTCP)
    sock.setblocking(False)
    try:
        # Not loop.sock_connect: it resolves the address with the socket's protocol, which getaddrinfo
        # does not know for MPTCP.
        code = sock.connect_ex((host, port))
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, os.strerror(code))
        if code:
            loop = asyncio.get_running_loop()
            writable = loop.create_future()
            loop.add_writer(sock.fileno(), lambda: writable.done() or writable.set_result(None))
            try:
                await writable
            finally:
                loop.remove_writer(sock.fileno())
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
    except BaseException:
        sock.close()
        raise
    return await asyncio.open_connection(sock=sock)


async def exchange(host, port, connection, upload, download, timeout, connecting=None, mptcp=False):
    """One well-behaved connection; raises on anything but every byte back with the right digest."""
    if connecting is not None:
        async with connecting:
            reader, writer = await asyncio.wait_for(open_stream(host, port, mptcp), timeout)
    else:
        reader, writer = await asyncio.wait_for(open_stream(host, port, mptcp), timeout)
    try:
        local = "%s:%s" % writer.get_extra_info("sockname")[:2]
        writer.write(HEADER.pack(MAGIC, connection, upload, download))
        await asyncio.wait_for(send_stream(writer, connection, 0, upload), timeout)
        writer.write_eof()
        kept = bytearray()
        count, digest = await asyncio.wait_for(read_to_eof(reader, kept), timeout)
        if count != download:
            raise ValueError(f"download_length: {count} of {download} bytes (from {local})")
        if digest != expected_digest(connection, 1, download):
            raise ValueError(f"download_digest: {download} bytes, wrong SHA-256 (from {local}); "
                             + explain_damage(kept, connection, 1))
    finally:
        writer.close()


async def run_clients(args, parallel):
    host, port = parse_endpoint(args.connect)
    tally = Tally(args.command)
    connecting = asyncio.Semaphore(args.connecting) if args.command == "many" else None
    running = asyncio.Semaphore(parallel)

    async def one(connection):
        async with running:
            try:
                await exchange(host, port, connection, args.upload, args.download, args.timeout, connecting,
                               args.mptcp)
                tally.ok += 1
            except Exception as error:  # noqa: BLE001
                reason = str(error).split(":")[0] if isinstance(error, ValueError) else describe(error)
                tally.fail(reason, f"connection {connection}: {error!r}")

    tasks = [asyncio.ensure_future(one(connection)) for connection in range(args.count)]
    done, pending = await asyncio.wait(tasks, timeout=args.seconds)
    for task in pending:
        task.cancel()
    if pending:
        tally.fail("run_timeout", f"{len(pending)} connections unfinished after {args.seconds} s")
    tally.report()
    return 0 if tally.ok == args.count else 1


# MARK: hostile clients


async def stall(args):
    """Clients that ask for bytes and never read: their receive window closes and stays shut."""
    host, port = parse_endpoint(args.connect)
    tally = Tally("stall")
    writers = []
    for connection in range(args.count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)), args.timeout)
            reader, writer = await asyncio.open_connection(sock=sock)
            writer.write(HEADER.pack(MAGIC, connection, 0, args.download))
            writer.write_eof()
            writers.append(writer)
            tally.ok += 1
        except Exception as error:  # noqa: BLE001
            sock.close()
            tally.fail(describe(error), repr(error))
    print(f"loadpeer stall: {tally.ok} connections holding", file=sys.stderr, flush=True)
    await asyncio.sleep(args.hold_seconds)
    for writer in writers:
        writer.close()
    tally.report()
    return 0 if tally.ok == args.count else 1


async def reset(args):
    """Clients that reset mid-transfer, all at once: each reads `--read` bytes of its download, then RST."""
    host, port = parse_endpoint(args.connect)
    tally = Tally("reset")

    async def one(connection):
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), args.timeout)
        except Exception as error:  # noqa: BLE001
            tally.fail("connect_" + describe(error), repr(error))
            return
        try:
            writer.write(HEADER.pack(MAGIC, connection, 0, args.download))
            writer.write_eof()
            await asyncio.wait_for(reader.readexactly(args.read), args.timeout)
            tally.ok += 1
        except Exception as error:  # noqa: BLE001
            tally.fail(describe(error), repr(error))
        finally:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    tasks = [asyncio.ensure_future(one(connection)) for connection in range(args.count)]
    done, pending = await asyncio.wait(tasks, timeout=args.seconds)
    for task in pending:
        task.cancel()
    if pending:
        tally.fail("run_timeout", f"{len(pending)} connections unfinished after {args.seconds} s")
    tally.report()
    return 0 if tally.ok == args.count else 1


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("serve", "many", "churn", "stall", "reset"):
        sub = commands.add_parser(name)
        if name == "serve":
            sub.add_argument("--listen", required=True, metavar="ADDR:PORT")
            sub.add_argument("--hold", type=int, default=0, help="send no reply before this many uploads are in")
            sub.add_argument("--release-file", help="with --hold, also wait until this file exists")
        else:
            sub.add_argument("--connect", required=True, metavar="ADDR:PORT")
            sub.add_argument("--download", type=int, default=0, help="bytes each connection asks for")
        if name in ("serve", "many", "churn"):
            sub.add_argument("--mptcp", action="store_true", help="MPTCP sockets instead of TCP (no relay)")
        if name in ("many", "churn"):
            sub.add_argument("--upload", type=int, default=0, help="bytes each connection sends")
        sub.add_argument("--count", type=int, required=True, help="connections")
        sub.add_argument("--timeout", type=float, default=60.0, help="seconds per connection step")
        sub.add_argument("--seconds", type=float, default=300.0, help="seconds for the whole run")
        if name == "many":
            sub.add_argument("--connecting", type=int, default=256, help="connects in flight at most")
        if name == "churn":
            sub.add_argument("--parallel", type=int, default=64, help="connections at once")
        if name == "stall":
            sub.add_argument("--hold-seconds", type=float, required=True, help="how long to hold them")
        if name == "reset":
            sub.add_argument("--read", type=int, default=65536, help="bytes to read before the reset")
    args = parser.parse_args(argv)
    raise_file_limit()
    if args.command == "serve":
        runner = serve(args)
    elif args.command == "many":
        runner = run_clients(args, parallel=args.count)
    elif args.command == "churn":
        runner = run_clients(args, parallel=args.parallel)
    elif args.command == "stall":
        runner = stall(args)
    else:
        runner = reset(args)
    try:
        return asyncio.run(runner)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
