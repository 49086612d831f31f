#!/usr/bin/env python3
"""MPTCP + TCP Fast Open: the server side sends past the client's receive window (Linux 6.18.44).

window [--connections N]
    In one network namespace, over loopback: an MPTCP listener with TCP_FASTOPEN, and clients with
    TCP_FASTOPEN_CONNECT that never read. The first connection fetches the cookie; the next ones carry
    a byte in their SYN, so the kernel creates the server socket from the SYN (passive Fast Open).
    Each accepted socket writes up to 4 MiB, waits 200 ms and reads its TCP_INFO: whatever was sent
    and not acknowledged then was sent past the window the client advertised (a correct sender stops
    at the window and sends nothing but window probes). The same again without Fast Open, as the
    control, and plain TCP with Fast Open as a second one. Prints one line per connection and a
    verdict: AFFECTED (exit 3) when an MPTCP Fast Open connection sent more than 256 KiB past the
    window and no control did, OK (exit 0) when none did, UNCLEAR (exit 2) otherwise. Needs
    net.ipv4.tcp_fastopen = 3 in the namespace.

serve --listen ADDR:PORT --bytes N --count K
fetch --connect ADDR:PORT --bytes N --count K [--no-fast-open] [--pause SECONDS]
    The symptom between two hosts: fetch sends a 64-byte request (in the SYN once it has a cookie),
    then, like a slow LAN client behind a gateway, pauses before reading; serve answers each request
    with N bytes. For each connection, fetch prints its duration and how many segments its kernel
    dropped as outside the MPTCP receive window (MPTcpExtNoDSSInWindow in this namespace).

Standard library only; every socket operation has a timeout.
"""

import argparse
import socket
import struct
import sys
import time

IPPROTO_MPTCP = 262
TCP_FASTOPEN = 23
TCP_FASTOPEN_CONNECT = 30
TCP_INFO_SIZE = 232
BYTES_ACKED = 120  # offsets in the kernel's struct tcp_info (include/uapi/linux/tcp.h)
BYTES_SENT = 200
PAST_WINDOW_LIMIT = 256 * 1024  # plain TCP over loopback leaves up to ~47 KiB unacknowledged


def netstat(group, name):
    """A counter of /proc/net/netstat (this namespace), e.g. netstat("MPTcpExt", "NoDSSInWindow")."""
    lines = open("/proc/net/netstat").read().split("\n")
    for i in range(0, len(lines) - 1, 2):
        keys, values = lines[i].split(), lines[i + 1].split()
        if keys and keys[0] == group + ":" and name in keys:
            return int(values[keys.index(name)])
    return 0


def endpoint(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def window_check(args):
    """Fast Open over MPTCP, then the controls: MPTCP without Fast Open, plain TCP with Fast Open."""
    past = {}
    for protocol, fast_open in ((IPPROTO_MPTCP, True), (IPPROTO_MPTCP, False), (0, True)):
        name = ("mptcp" if protocol else "tcp  ") + (" fast_open=yes" if fast_open else " fast_open=no ")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, protocol)
        listener.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(5)
        for index in range(args.connections):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM, protocol)
            client.settimeout(5)
            if fast_open:
                client.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
            passive_before = netstat("TcpExt", "TCPFastOpenPassive")
            client.connect(listener.getsockname())
            client.send(b"r")  # with Fast Open and a cookie: the SYN carries it
            server, _ = listener.accept()
            server.setblocking(False)
            queued = 0
            try:
                while queued < 4 << 20:
                    queued += server.send(bytes(65536))
            except BlockingIOError:
                pass
            time.sleep(0.2)
            info = server.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCP_INFO_SIZE)
            acked = struct.unpack_from("Q", info, BYTES_ACKED)[0]
            sent = struct.unpack_from("Q", info, BYTES_SENT)[0]
            in_syn = netstat("TcpExt", "TCPFastOpenPassive") > passive_before
            beyond = max(0, sent - acked)
            print(f"{name} connection={index} request_in_syn={'yes' if in_syn else 'no '} sent={sent} "
                  f"acknowledged={acked} past_window={beyond}", flush=True)
            if in_syn or not fast_open:
                past.setdefault((protocol, fast_open), []).append(beyond)
            client.close()
            server.close()
        listener.close()
    tested = past.get((IPPROTO_MPTCP, True), [])
    bad = [b for b in tested if b > PAST_WINDOW_LIMIT]
    controls = past.get((IPPROTO_MPTCP, False), []) + past.get((0, True), [])
    controls_bad = [b for b in controls if b > PAST_WINDOW_LIMIT]
    if not tested:
        print("UNCLEAR: no request was carried in a SYN (is net.ipv4.tcp_fastopen = 3 here?)")
        return 2
    if bad and not controls_bad:
        print(f"AFFECTED: {len(bad)} of {len(tested)} MPTCP Fast Open connections sent more than "
              f"{PAST_WINDOW_LIMIT} bytes past the client's window; no control did")
        return 3
    if not bad and not controls_bad:
        print("OK: no connection sent past the client's window")
        return 0
    print("UNCLEAR: a control connection sent past the window too")
    return 2


def serve(args):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    listener.bind(endpoint(args.listen))
    listener.listen(16)
    listener.settimeout(args.timeout)
    print("serve: listening", flush=True)
    block = bytes(65536)
    for _ in range(args.count):
        conn, _ = listener.accept()
        conn.settimeout(args.timeout)
        try:
            conn.recv(64)
            left = args.bytes
            while left > 0:
                left -= conn.send(block[: min(left, len(block))])
        except OSError as error:
            print(f"serve: {error!r}", flush=True)
        conn.close()
    return 0


def fetch(args):
    stalled = 0
    for index in range(args.count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
        sock.settimeout(args.timeout)
        if not args.no_fast_open:
            sock.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
        dropped_before = netstat("MPTcpExt", "NoDSSInWindow")
        active_before = netstat("TcpExt", "TCPFastOpenActive")
        start = time.monotonic()
        got, error = 0, ""
        try:
            sock.connect(endpoint(args.connect))
            sock.sendall(bytes(64))
            time.sleep(args.pause)
            while True:
                data = sock.recv(1 << 20)
                if not data:
                    break
                got += len(data)
        except OSError as exc:
            error = f" error={exc!r}"
        seconds = time.monotonic() - start
        sock.close()
        slow = seconds > args.pause + 3 or got != args.bytes
        stalled += slow
        print(f"fetch: connection={index} request_in_syn="
              f"{'yes' if netstat('TcpExt', 'TCPFastOpenActive') - active_before else 'no '} "
              f"received={got} seconds={seconds:.2f} "
              f"dropped_out_of_window={netstat('MPTcpExt', 'NoDSSInWindow') - dropped_before}"
              f"{' STALLED' if slow else ''}{error}", flush=True)
    return 1 if stalled else 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    window = commands.add_parser("window")
    window.add_argument("--connections", type=int, default=3)
    server = commands.add_parser("serve")
    server.add_argument("--listen", required=True)
    client = commands.add_parser("fetch")
    client.add_argument("--connect", required=True)
    client.add_argument("--no-fast-open", action="store_true")
    client.add_argument("--pause", type=float, default=0.5)
    for sub in (server, client):
        sub.add_argument("--bytes", type=int, required=True)
        sub.add_argument("--count", type=int, required=True)
        sub.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args(argv)
    if args.command == "window":
        return window_check(args)
    return serve(args) if args.command == "serve" else fetch(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
