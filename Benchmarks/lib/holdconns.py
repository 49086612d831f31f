#!/usr/bin/env python3
"""Idle-connection memory probe for Benchmarks/run.sh (standard library only).

serve --listen ADDR:PORT [--lifetime SECONDS]
    Runs in dst. Accepts any number of connections (epoll), echoes whatever arrives and closes
    a connection when its peer does. Exits on SIGTERM/SIGINT or after --lifetime seconds.

hold --connect ADDR:PORT --count N --ns NS [--ns NS ...] --comm NAME[,NAME...]
    Runs in cli. Measures the resident memory (sum of VmRSS) of every process whose command
    name is one of NAMEs in the network namespaces NS (the contender's processes in gw and
    srv), then opens N connections through the chain, sends one byte on each and waits for its
    echo (so every connection really reached dst and back), waits --settle seconds, measures
    again, prints one JSON line and closes everything with resets (SO_LINGER 0: no TIME_WAIT
    left behind for the next test). Exit status 0 only if all N connections echoed in time.
"""

import argparse
import errno
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import time

from bench import namespace_pids  # same folder: one reader of `ip netns pids`


def endpoint(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise argparse.ArgumentTypeError(f"expected ADDR:PORT, got {text!r}")
    return host, int(port)


def raise_nofile(wanted):
    """Raises the open-file limit to `wanted`, or as far as the hard limit allows when this
    process may not raise the hard limit (no CAP_SYS_RESOURCE, as in some containers)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        if hard == resource.RLIM_INFINITY or hard > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def comm_of(pid):
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
            return f.read().strip()
    except OSError:
        return None


def field_kib(path, name):
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0  # gone, or a kernel thread


def measure(namespaces, comms):
    """Sum of VmRSS and of Pss (shared pages divided among their users) over the processes."""
    rss = pss = count = 0
    for ns in namespaces:
        for pid in namespace_pids(ns):
            if comm_of(pid) in comms:
                rss += field_kib(f"/proc/{pid}/status", "VmRSS:")
                pss += field_kib(f"/proc/{pid}/smaps_rollup", "Pss:")
                count += 1
    return rss, pss, count


def serve(args):
    raise_nofile(200000)
    host, port = args.listen
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(8192)
    listener.setblocking(False)
    ep = select.epoll()
    ep.register(listener.fileno(), select.EPOLLIN)
    conns = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.monotonic() + args.lifetime
    while not stop and time.monotonic() < deadline:
        try:
            events = ep.poll(1.0)
        except InterruptedError:
            continue
        for fd, _ in events:
            if fd == listener.fileno():
                for _ in range(1024):  # bounded accept burst
                    try:
                        conn, _ = listener.accept()
                    except BlockingIOError:
                        break
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE):
                            print(f"holdconns serve: {e}", file=sys.stderr)
                        break
                    conn.setblocking(False)
                    conns[conn.fileno()] = conn
                    ep.register(conn.fileno(), select.EPOLLIN)
                continue
            conn = conns.get(fd)
            if conn is None:
                continue
            try:
                data = conn.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                try:
                    conn.send(data)  # one byte at a time in practice; never blocks here
                except OSError:
                    data = b""
            if not data:
                ep.unregister(fd)
                conns.pop(fd).close()
    return 0


def hold(args):
    n = args.count
    raise_nofile(n + 4096)
    comms = set(args.comm.split(","))
    before_kib, before_pss, before_procs = measure(args.ns, comms)

    ep = select.epoll()
    pending = {}  # fd -> [sock, state] ; state 0 = connecting, 1 = waiting for echo
    done = []
    opened = 0
    failures = 0
    start = time.monotonic()
    deadline = start + args.timeout
    while len(done) < n and time.monotonic() < deadline:
        while opened < n and len(pending) < args.concurrency:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex(args.connect)
            if err not in (0, errno.EINPROGRESS):
                s.close()
                failures += 1
                opened += 1
                continue
            pending[s.fileno()] = [s, 0]
            ep.register(s.fileno(), select.EPOLLOUT)
            opened += 1
        if failures > n // 100 + 5:
            break
        for fd, ev in ep.poll(0.5):
            entry = pending.get(fd)
            if entry is None:
                continue
            s, state = entry
            if ev & (select.EPOLLERR | select.EPOLLHUP) and state == 0:
                ep.unregister(fd)
                del pending[fd]
                s.close()
                failures += 1
                continue
            if state == 0:
                try:
                    s.send(b"x")
                except OSError:
                    ep.unregister(fd)
                    del pending[fd]
                    s.close()
                    failures += 1
                    continue
                entry[1] = 1
                ep.modify(fd, select.EPOLLIN)
            else:
                try:
                    data = s.recv(16)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                ep.unregister(fd)
                del pending[fd]
                if data:
                    done.append(s)
                else:
                    s.close()
                    failures += 1
    open_seconds = time.monotonic() - start
    ok = len(done)
    time.sleep(args.settle)
    after_kib, after_pss, after_procs = measure(args.ns, comms)
    report = {
        "n": n,
        "echoed": ok,
        "failed": failures,
        "open_seconds": round(open_seconds, 3),
        "rss_before_kib": before_kib,
        "rss_after_kib": after_kib,
        "pss_before_kib": before_pss,
        "pss_after_kib": after_pss,
        "procs_before": before_procs,
        "procs_after": after_procs,
    }
    # While every connection is still open: how long the relay's side port takes to answer.
    for url in args.scrape or []:
        name = "scrape_" + url.rstrip("/").rsplit("/", 1)[-1] + "_s"
        try:
            result = subprocess.run(
                ["ip", "netns", "exec", args.scrape_ns, "curl", "-sf", "-o", "/dev/null",
                 "-w", "%{time_total}", "--max-time", "20", url],
                capture_output=True, text=True, timeout=30, check=True)
            report[name] = float(result.stdout.strip())
        except (subprocess.SubprocessError, ValueError) as error:
            print(f"holdconns hold: scraping {url} failed: {error}", file=sys.stderr)
    print(json.dumps(report), flush=True)
    linger = (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
    for s in done + [e[0] for e in pending.values()]:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        except OSError:
            pass
        s.close()
    if ok != n:
        print(f"holdconns hold: only {ok} of {n} connections echoed within {args.timeout}s "
              f"({failures} failed)", file=sys.stderr)
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--listen", type=endpoint, required=True)
    p.add_argument("--lifetime", type=float, default=3600)
    p = sub.add_parser("hold")
    p.add_argument("--connect", type=endpoint, required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--ns", action="append", required=True)
    p.add_argument("--comm", required=True)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--settle", type=float, default=1.0)
    p.add_argument("--scrape", action="append",
                   help="URL to time with curl (in --scrape-ns) while the connections are held")
    p.add_argument("--scrape-ns", default="")
    args = parser.parse_args()
    return serve(args) if args.cmd == "serve" else hold(args)


if __name__ == "__main__":
    sys.exit(main())
