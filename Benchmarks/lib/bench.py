#!/usr/bin/env python3
"""Helpers of Benchmarks/run.sh (standard library only).

cpu --ns NS [--ns NS ...] --comm NAME[,NAME...]
    Prints the CPU seconds (utime + stime + cutime + cstime from /proc/PID/stat) summed over
    every process named NAME in the namespaces NS. cutime/cstime count children that have
    exited and been reaped (socat forks one child per connection).
counters
    Prints the MPTcpExt counters of the current network namespace (/proc/net/netstat) as JSON.
sustained --prefix P --seconds S --wrk-out FILE --samples FILE [--interval I] -- WRK_ARGS...
    Runs wrk WRK_ARGS in namespace Pcli (its output to --wrk-out) and, every I seconds while it
    runs, samples dst's accepted TCP connections (Tcp PassiveOpens in Pdst), cli's connection
    attempts (ActiveOpens) and the TIME_WAIT sockets of each namespace (/proc/net/sockstat):
    writes them as JSON to --samples. Exits with wrk's status.
record --raw FILE --phase P --round R --contender C --test T [sources...]
    Turns one measurement into a JSON line appended to FILE, and prints a one-line summary.
    Sources: --iperf FILE (iperf3 -J), --wrk FILE (wrk --latency), --hold FILE (holdconns.py),
    --cpu-before S --cpu-after S, --counters-before FILE --counters-after FILE,
    --samples FILE --window W (bench.py sustained: per-window connection rates).
    Exits non-zero when the measurement shows that no data passed (a broken harness).
paths-record --raw FILE --round R --contender C --test T --client FILE --server FILE
             --bytes-up N --bytes-down N [--tx-before FILE --tx-after FILE] [--subflows TEXT]
             [--counters-before FILE --counters-after FILE] [--share-of MBPS]
    Turns one hashpeer.py transfer of the path-manager section (the client's and the server's
    JSON line, gw's uplink tx counters before and after) into a JSON line appended to FILE.
    Exits non-zero when no byte passed either way, or when a transfer without a link event
    arrived incomplete or corrupted (a broken harness).
report --raw FILE --machine FILE --out DIR [--gnuplot]
    Medians per figure and contender, ratios, targets: writes DIR/latest.md, DIR/latest.json
    and (with --gnuplot) DIR/latest.png. When FILE holds path-manager records, latest.md and
    latest.json include their tables too.
paths-report --raw FILE --machine FILE --params JSON --out DIR
    Only the path-manager figures: writes DIR/paths.md and DIR/paths.json.
sustained-report --raw FILE --machine FILE --params JSON --out DIR
    Only the sustained-connections figures: writes DIR/sustained.md and DIR/sustained.json.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

CONTENDERS = ["direct", "mptcp-relay", "mptcp-relay-pm", "haproxy", "socat"]
LABELS = {"direct": "direct", "mptcp-relay": "mptcp-relay", "mptcp-relay-pm": "relay as PM",
          "haproxy": "HAProxy", "socat": "socat"}


def fail(msg):
    print(f"bench.py: {msg}", file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# /proc readers

def namespace_pids(ns):
    out = subprocess.run(["ip", "netns", "pids", ns], check=True, capture_output=True,
                         text=True, timeout=20).stdout
    return [int(p) for p in out.split()]


def proc_cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None, 0
    comm = text[text.index("(") + 1:text.rindex(")")]
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14..17.
    return comm, sum(int(x) for x in fields[11:15])


def cmd_cpu(args):
    comms = set(args.comm.split(","))
    ticks = 0
    for ns in args.ns:
        for pid in namespace_pids(ns):
            comm, t = proc_cpu_ticks(pid)
            if comm in comms:
                ticks += t
    print(f"{ticks / os.sysconf('SC_CLK_TCK'):.2f}")


def cmd_counters(_args):
    with open("/proc/net/netstat", encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = {}
    for head, vals in zip(lines[::2], lines[1::2]):
        if head.startswith("MPTcpExt:"):
            out = {k: int(v) for k, v in zip(head.split()[1:], vals.split()[1:])}
    print(json.dumps(out))


CLONE_NEWNET = 0x40000000


class NetnsReader:
    """Reads /proc/net files of other network namespaces by switching this thread into them
    (setns(2) on /run/netns/NAME) and back; needs root, as the harness runs."""

    def __init__(self, names):
        import ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        self.fds = {n: os.open(f"/run/netns/{n}", os.O_RDONLY) for n in names}

    def _setns(self, fd):
        if self.libc.setns(fd, CLONE_NEWNET) != 0:
            import ctypes
            fail(f"setns: {os.strerror(ctypes.get_errno())}")

    def read(self, name, path):
        self._setns(self.fds[name])
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        finally:
            self._setns(self.home)


def snmp_tcp(text):
    """The Tcp: counters of a /proc/net/snmp text as a dict."""
    rows = [l.split()[1:] for l in text.splitlines() if l.startswith("Tcp:")]
    return {k: int(v) for k, v in zip(rows[0], rows[1])}


def sockstat_tw(text):
    """TIME_WAIT sockets of the namespace (the `tw` field of /proc/net/sockstat's TCP line)."""
    m = re.search(r"^TCP:.*\btw (\d+)", text, re.M)
    return int(m.group(1)) if m else None


def cmd_sustained(args):
    """wrk for a long run in Pcli, sampled every --interval seconds (see the module doc)."""
    import time
    names = [args.prefix + n for n in ("cli", "gw", "srv", "dst")]
    reader = NetnsReader(names)
    wrk_args = args.wrk_args[1:] if args.wrk_args[:1] == ["--"] else args.wrk_args

    def sample(t0):
        dst = snmp_tcp(reader.read(args.prefix + "dst", "/proc/net/snmp"))
        cli = snmp_tcp(reader.read(args.prefix + "cli", "/proc/net/snmp"))
        tw = [sockstat_tw(reader.read(n, "/proc/net/sockstat")) for n in names]
        return [round(time.monotonic() - t0, 3), dst["PassiveOpens"], cli["ActiveOpens"]] + tw

    t0 = time.monotonic()
    samples = [sample(t0)]
    with open(args.wrk_out, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", args.prefix + "cli", "timeout",
                                 str(int(args.seconds) + 30), "wrk"] + wrk_args,
                                stdout=out, stderr=subprocess.STDOUT)
    # One sample per interval on a fixed grid (no drift), bounded by wrk's own timeout.
    # wrk's end is noticed within 20 ms, so that the last sample closes the run, not an idle
    # second after it.
    deadline = t0 + args.seconds + 40
    k = 1
    while proc.poll() is None and time.monotonic() < deadline:
        while proc.poll() is None and time.monotonic() < t0 + k * args.interval:
            time.sleep(min(0.02, max(0.0, t0 + k * args.interval - time.monotonic())))
        k += 1
        if proc.poll() is None:
            samples.append(sample(t0))
    try:
        status = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        status = proc.wait()
    samples.append(sample(t0))
    with open(args.samples, "w", encoding="utf-8") as f:
        json.dump({"columns": ["t", "dst_passive_opens", "cli_active_opens", "tw_cli", "tw_gw",
                               "tw_srv", "tw_dst"],
                   "interval": args.interval, "samples": samples}, f)
        f.write("\n")
    sys.exit(status)


def first_line(cmd):
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    text = (res.stdout + res.stderr).strip()
    return text.splitlines()[0] if text else "?"


def dpkg_version(pkg):
    return first_line(["dpkg-query", "-W", "-f", "${Version}", pkg])


def cmd_machine(args):
    """Describes the machine and the versions under test; writes JSON and a text file."""
    import datetime
    import platform
    cpu_model = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as f:
        mem_kib = int(f.readline().split()[1])
    with open("/proc/loadavg", encoding="utf-8") as f:
        load = " ".join(f.read().split()[:3])
    repo = args.repo
    commit = first_line(["git", "-C", repo, "rev-parse", "--short=12", "HEAD"])
    dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--", "Sources",
                            "Package.swift"], capture_output=True, text=True, timeout=20,
                           check=False).stdout.strip()
    if dirty:
        commit += f" + uncommitted changes in {len(dirty.splitlines())} source file(s)"
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory": f"{mem_kib / 1048576:.1f} GiB RAM",
        "load_before": load,
        "relay_commit": commit,
        "swift": first_line(["swift", "--version"]),
        "liburing": dpkg_version("liburing2"),
        "haproxy": first_line(["haproxy", "-v"]),
        "socat": next((l for l in subprocess.run(["socat", "-V"], capture_output=True, text=True,
                                         timeout=20, check=False).stdout.splitlines()
              if l.startswith("socat version")), "?"),
        "iperf3": first_line(["iperf3", "-v"]),
        "wrk": first_line(["wrk", "-v"]),
        "nginx": first_line(["nginx", "-v"]),
        "mptcpize": "mptcpize " + dpkg_version("mptcpize"),
        "python3": first_line(["python3", "--version"]),
    }
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
        f.write("\n")


def cmd_machine_finish(args):
    """Adds the load average after the run and writes the text description."""
    with open(args.json, encoding="utf-8") as f:
        info = json.load(f)
    with open("/proc/loadavg", encoding="utf-8") as f:
        info["load_after"] = " ".join(f.read().split()[:3])
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    with open(args.text, "w", encoding="utf-8") as f:
        f.write("# Machine of the latest Benchmarks/run.sh results\n")
        for key, value in info.items():
            f.write(f"{key}: {value}\n")


# ---------------------------------------------------------------------------------------------
# Parsers

def parse_iperf(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: no iperf3 JSON ({e})")
    if data.get("error"):
        fail(f"{path}: iperf3 error: {data['error']}")
    end = data.get("end", {})
    recv = end.get("sum_received", {})
    nbytes = int(recv.get("bytes", 0))
    if nbytes <= 0:
        fail(f"{path}: iperf3 moved no bytes")
    return {"gbps": recv["bits_per_second"] / 1e9, "mbps": recv["bits_per_second"] / 1e6,
            "bytes": nbytes, "seconds": recv.get("seconds"),
            "retransmits": end.get("sum_sent", {}).get("retransmits")}


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        fail(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def parse_wrk(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        fail(f"{path}: {e}")
    out = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
    if not m or int(m.group(1)) == 0:
        fail(f"{path}: wrk completed no requests:\n{text}")
    out["requests"] = int(m.group(1))
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", text, re.M)
        if m:
            out[f"p{pct}_ms"] = wrk_ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    if out["non_2xx"] > out["requests"] // 100:
        fail(f"{path}: {out['non_2xx']} of {out['requests']} responses were not 2xx")
    return out


def counter_at(samples, t):
    """The dst connection counter at time t, interpolated linearly between two samples."""
    for (t0, n0, *_), (t1, n1, *_) in zip(samples, samples[1:]):
        if t0 <= t <= t1:
            return n0 if t1 == t0 else n0 + (n1 - n0) * (t - t0) / (t1 - t0)
    return samples[-1][1] if t > samples[-1][0] else samples[0][1]


def sustained_figures(path, window):
    """Per-window and per-sample connection rates of one bench.py sustained run: connections
    that reached dst (its Tcp PassiveOpens), in windows of `window` seconds that end at the
    run's end."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: no samples ({e})")
    samples = data["samples"]
    if len(samples) < 3:
        fail(f"{path}: only {len(samples)} samples")
    # Windows end at the run's end (the last sample, taken as wrk exits), so that the last window
    # is the run's last `window` seconds; the first one starts at wrk's start or just after it.
    end = samples[-1][0]
    n = min(int((end + 0.5 * window) // window), 1000)
    windows = []
    for k in range(n, 0, -1):
        a, b = max(0.0, end - k * window), end - (k - 1) * window
        windows.append(round((counter_at(samples, b) - counter_at(samples, a)) / (b - a), 1))
    # Per sample interval; the short last one (wrk ended between two grid points) is left out.
    step = data.get("interval", 1.0)
    timeline = [[round(s1[0], 1), round((s1[1] - s0[1]) / (s1[0] - s0[0]), 1)]
                for s0, s1 in zip(samples, samples[1:]) if s1[0] - s0[0] >= 0.5 * step]
    cols = data["columns"]
    last = dict(zip(cols, samples[-1]))
    out = {"window_s": window, "windows_rps": windows, "timeline_rps": timeline,
           "dst_connections": samples[-1][1] - samples[0][1],
           "cli_connect_attempts": samples[-1][2] - samples[0][2],
           "time_wait_end": {n: last[f"tw_{n}"] for n in ("cli", "gw", "srv", "dst")},
           "time_wait_cli_max": max(s[cols.index("tw_cli")] or 0 for s in samples)}
    if windows:
        out["last_window_rps"] = windows[-1]
        out["min_window_rps"] = min(windows)
    return out


def cmd_record(args):
    rec = {"phase": args.phase, "round": args.round, "contender": args.contender,
           "test": args.test}
    if args.iperf:
        rec.update(parse_iperf(args.iperf))
        if args.share_of:
            rec["share"] = 100.0 * rec["mbps"] / args.share_of
    if args.wrk:
        rec.update(parse_wrk(args.wrk))
    if args.hold:
        try:
            with open(args.hold, encoding="utf-8") as f:
                hold = json.loads(f.read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError) as e:
            fail(f"{args.hold}: no holdconns report ({e})")
        rec.update(hold)
        if hold["echoed"] != hold["n"]:
            fail(f"{args.contender}: only {hold['echoed']} of {hold['n']} idle connections "
                 "passed data")
        rec["kib_per_conn"] = (hold["rss_after_kib"] - hold["rss_before_kib"]) / hold["n"]
        rec["pss_kib_per_conn"] = (hold["pss_after_kib"] - hold["pss_before_kib"]) / hold["n"]
    if args.samples:
        rec.update(sustained_figures(args.samples, args.window))
    if args.cpu_before is not None and args.cpu_after is not None:
        rec["cpu_s"] = round(args.cpu_after - args.cpu_before, 3)
        if "bytes" in rec:
            rec["cpu_s_per_gb"] = rec["cpu_s"] / (rec["bytes"] / 1e9)
        if args.samples and rec.get("requests"):
            rec["cpu_s_per_kconn"] = rec["cpu_s"] / rec["requests"] * 1000
    if args.counters_before and args.counters_after:
        with open(args.counters_before, encoding="utf-8") as f:
            c0 = json.load(f)
        with open(args.counters_after, encoding="utf-8") as f:
            c1 = json.load(f)
        delta = {k: c1[k] - c0.get(k, 0) for k in c1 if c1[k] != c0.get(k, 0)}
        rec["srv_mptcp_counters"] = delta
        if args.contender != "direct":
            if delta.get("MPCapableSYNRX", 0) <= 0:
                fail(f"{args.contender}: srv saw no MP_CAPABLE SYN during its turn: the uplink "
                     "hop was not MPTCP")
        rec["mptcp_connections"] = delta.get("MPCapableSYNRX", 0)
        rec["mptcp_joins"] = delta.get("MPJoinSynRx", 0)
    for kv in args.set or []:
        key, _, value = kv.partition("=")
        try:
            rec[key] = json.loads(value)
        except ValueError:
            rec[key] = value
    with open(args.raw, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
    shown = []
    for key, fmt in (("gbps", "{:.2f} Gbit/s"), ("rps", "{:.0f} req/s"), ("p50_ms", "p50 {:.3f} ms"),
                     ("p99_ms", "p99 {:.3f} ms"), ("cpu_s_per_gb", "{:.2f} CPU s/GB"),
                     ("kib_per_conn", "RSS {:.1f} KiB/conn"),
                     ("pss_kib_per_conn", "PSS {:.1f} KiB/conn"),
                     ("last_window_rps", "last window {:.0f} conn/s"),
                     ("cpu_s_per_kconn", "{:.3f} CPU s/1000 conns"),
                     ("mptcp_connections", "{} MPTCP conns"), ("mptcp_joins", "{} joins")):
        if key in rec and not (key == "gbps" and args.phase == "tbf"):
            shown.append(fmt.format(rec[key]))
    if args.phase == "tbf" and "mbps" in rec:
        shown.append(f"{rec['mbps']:.1f} Mbit/s")
    if "windows_rps" in rec:
        shown.append("windows " + " ".join(f"{w:.0f}" for w in rec["windows_rps"]))
        shown.append(f"TIME_WAIT in cli at the end {rec['time_wait_end']['cli']}")
    print(f"  [{args.phase} r{args.round}] {args.contender:14s} {args.test:10s} " + ", ".join(shown),
          flush=True)


# ---------------------------------------------------------------------------------------------
# Report

# (key, label, unit, better, source test, metric, format)
FIGURES = [
    ("up_1", "Throughput cli→dst, 1 stream", "Gbit/s", "high", "up", "gbps", "{:.2f}"),
    ("down_1", "Throughput dst→cli, 1 stream (-R)", "Gbit/s", "high", "down", "gbps", "{:.2f}"),
    ("up_8", "Throughput cli→dst, 8 streams (-P 8)", "Gbit/s", "high", "up8", "gbps", "{:.2f}"),
    ("cps", "New connections/s (wrk, Connection: close, 32 conns)", "conn/s", "high", "close",
     "rps", "{:.0f}"),
    ("cps_sust", "Sustained connections/s, whole run (same wrk, fresh chain)", "conn/s", "high",
     "sustained", "rps", "{:.0f}"),
    ("cps_sust_last", "Sustained connections/s, last window of the run", "conn/s", "high",
     "sustained", "last_window_rps", "{:.0f}"),
    ("ka_rps", "Requests/s keep-alive (wrk, 32 conns)", "req/s", "high", "keepalive", "rps",
     "{:.0f}"),
    ("ka_p50", "Latency p50 keep-alive, 32 conns", "ms", "low", "keepalive", "p50_ms", "{:.3f}"),
    ("ka_p99", "Latency p99 keep-alive, 32 conns", "ms", "low", "keepalive", "p99_ms", "{:.3f}"),
    ("c1_p50", "Latency p50 keep-alive, 1 conn", "ms", "low", "latency1", "p50_ms", "{:.3f}"),
    ("c1_p99", "Latency p99 keep-alive, 1 conn", "ms", "low", "latency1", "p99_ms", "{:.3f}"),
    ("cpu_up", "Relay CPU per GB, cli→dst 1 stream", "CPU s/GB", "low", "up", "cpu_s_per_gb",
     "{:.2f}"),
    ("cpu_down", "Relay CPU per GB, dst→cli 1 stream", "CPU s/GB", "low", "down", "cpu_s_per_gb",
     "{:.2f}"),
    ("cpu_both", "Relay CPU per GB, both single-stream runs", "CPU s/GB", "low", None, None,
     "{:.2f}"),
    ("cpu_up8", "Relay CPU per GB, 8 streams", "CPU s/GB", "low", "up8", "cpu_s_per_gb", "{:.2f}"),
    ("cpu_kconn", "Relay CPU per 1 000 connections, sustained run", "CPU s", "low", "sustained",
     "cpu_s_per_kconn", "{:.3f}"),
    ("mem", "Memory per idle relayed connection (VmRSS growth / N)", "KiB", "low", "idle",
     "kib_per_conn", "{:.1f}"),
    ("mem_pss", "Memory per idle relayed connection (Pss growth / N)", "KiB", "low", "idle",
     "pss_kib_per_conn", "{:.1f}"),
    ("scrape_metrics", "Relay /metrics scrape with N idle connections live", "s", "low", "idle",
     "scrape_metrics_s", "{:.3f}"),
    ("scrape_connections", "Relay /connections with N idle connections live", "s", "low", "idle",
     "scrape_connections_s", "{:.3f}"),
    ("agg_up", "2 × 100 Mbit/s uplinks, cli→dst, share of 200 Mbit/s", "%", "high", "agg_up",
     "share", "{:.1f}"),
    ("agg_down", "2 × 100 Mbit/s uplinks, dst→cli, share of 200 Mbit/s", "%", "high", "agg_down",
     "share", "{:.1f}"),
    ("agg_up_rel", "2 × 100 Mbit/s uplinks, cli→dst, share of 2 × direct's one-uplink goodput",
     "%", "high", "agg_up", "mbps", "{:.1f}"),
    ("agg_down_rel", "2 × 100 Mbit/s uplinks, dst→cli, share of 2 × direct's one-uplink goodput",
     "%", "high", "agg_down", "mbps", "{:.1f}"),
]

# figure key -> (kind, threshold, text)
TARGETS = {
    "up_1": ("vs_haproxy_min", 1.5, "≥ 1.5× HAProxy"),
    "down_1": ("vs_haproxy_min", 1.5, "≥ 1.5× HAProxy"),
    "up_8": ("vs_haproxy_min", 1.5, "≥ 1.5× HAProxy"),
    "cps": ("vs_haproxy_min", 1.5, "≥ 1.5× HAProxy"),
    "cps_sust": ("vs_haproxy_min", 1.5, "≥ 1.5× HAProxy"),
    "cps_sust_last": ("vs_haproxy_min", 1.5, "≥ 1.5× HAProxy"),
    "cpu_kconn": ("vs_haproxy_max", 0.6, "≤ 0.6× HAProxy"),
    "cpu_both": ("vs_haproxy_max", 0.6, "≤ 0.6× HAProxy"),
    "mem": ("abs_max", 16.0, "≤ 16 KiB"),
    "scrape_metrics": ("abs_max", 1.0, "well under 1 s"),
    "agg_up": ("abs_min", 95.0, "≥ 95 %"),
    "agg_down": ("abs_min", 95.0, "≥ 95 %"),
}


def load_raw(path):
    recs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def per_round_values(recs, key, test, metric, contender):
    if key == "cpu_both":
        by_round = {}
        for r in recs:
            if r["contender"] == contender and r["test"] in ("up", "down") and "cpu_s" in r:
                cpu, nbytes = by_round.get(r["round"], (0.0, 0))
                by_round[r["round"]] = (cpu + r["cpu_s"], nbytes + r["bytes"])
        return [cpu / (nbytes / 1e9) for _, (cpu, nbytes) in sorted(by_round.items()) if nbytes]
    if key.endswith("_rel"):
        # What one TCP stream gets over one tbf uplink (direct, same round) is 100 % of a link:
        # tbf counts Ethernet frames, iperf3 counts payload.
        direct = {r["round"]: r[metric] for r in recs
                  if r["contender"] == "direct" and r["test"] == test and metric in r}
        return [100.0 * r[metric] / (2 * direct[r["round"]]) for r in recs
                if r["contender"] == contender and r["test"] == test and metric in r
                and direct.get(r["round"])]
    return [r[metric] for r in recs
            if r["contender"] == contender and r["test"] == test and metric in r]


def fmt_val(fmt, v):
    return "–" if v is None else fmt.format(v)


def judge(key, relay, haproxy):
    """Returns (target text, verdict with margin) for the relay's median."""
    kind, threshold, text = TARGETS[key]
    if relay is None:
        return text, "not measured"
    if kind.startswith("vs_haproxy"):
        if not haproxy:
            return text, "no HAProxy figure"
        value, shown = relay / haproxy, f"{relay / haproxy:.2f}×"
    else:
        value, shown = relay, f"{relay:.1f}"
    if kind.endswith("_min"):
        met = value >= threshold
        margin = abs(value / threshold - 1) * 100
        how = "above the target" if met else "short of the target"
    else:
        met = value <= threshold
        margin = abs(1 - value / threshold) * 100
        how = "below the limit" if met else "over the limit"
    word = "**met**" if met else "**missed**"
    return text, f"{word}: {shown}, {margin:.0f}% {how}"


def summarize(recs):
    summary = {}
    for key, label, unit, better, test, metric, _fmt in FIGURES:
        entry = {"label": label, "unit": unit, "better": better, "contenders": {}}
        for c in CONTENDERS:
            vals = per_round_values(recs, key, test, metric, c)
            if vals:
                entry["contenders"][c] = {"median": statistics.median(vals), "min": min(vals),
                                          "max": max(vals), "rounds": vals}
        summary[key] = entry
    # Added latency: each contender's median minus direct's median.
    for key in ("ka_p50", "ka_p99", "c1_p50", "c1_p99"):
        d = summary[key]["contenders"].get("direct")
        if d:
            for c, e in summary[key]["contenders"].items():
                e["added_vs_direct"] = e["median"] - d["median"]
    return summary


def sustained_summarize(recs):
    """Per contender: the median over rounds of each window's conn/s, of the per-sample timeline,
    of TIME_WAIT sockets per namespace at the end, and of MPTCP joins per connection."""
    out = {}
    for c in CONTENDERS:
        rs = [r for r in recs if r["contender"] == c and r["test"] == "sustained"]
        if not rs:
            continue
        nwin = min(len(r["windows_rps"]) for r in rs)
        ntl = min(len(r["timeline_rps"]) for r in rs)
        out[c] = {
            "window_s": rs[0]["window_s"],
            "windows_rps": [statistics.median(r["windows_rps"][i] for r in rs)
                            for i in range(nwin)],
            "timeline_rps": [[rs[0]["timeline_rps"][i][0],
                              statistics.median(r["timeline_rps"][i][1] for r in rs)]
                             for i in range(ntl)],
            "requests": statistics.median(r["requests"] for r in rs),
            "socket_errors": statistics.median(r.get("socket_errors", 0) for r in rs),
            "time_wait_end": {n: statistics.median(r["time_wait_end"][n] or 0 for r in rs)
                              for n in ("cli", "gw", "srv", "dst")},
            "joins_per_conn": statistics.median(
                r.get("mptcp_joins", 0) / r["mptcp_connections"] for r in rs
                if r.get("mptcp_connections")) if any(r.get("mptcp_connections") for r in rs)
            else None,
        }
    return out


def sustained_markdown(sus):
    """The per-window table of the sustained-connections run."""
    window = next(iter(sus.values()))["window_s"]
    nwin = max(len(e["windows_rps"]) for e in sus.values())
    lines = ["## Sustained connections: conn/s per window\n",
             f"wrk `Connection: close`, 32 connections, 1 KiB from nginx, run without pause; "
             f"connections that reached dst (its Tcp PassiveOpens) per second in {window:g}-s "
             "windows (the last one ends when wrk ends), median over rounds; each contender on a "
             "fresh chain. TIME_WAIT: "
             "sockets in that state in each namespace when wrk ends (cli / gw / srv / dst); "
             "joins: srv's MP_JOIN SYNs per MPTCP connection.\n"]
    head = ["contender"] + [f"{i * window:g}–{(i + 1) * window:g} s" for i in range(nwin)] + \
        ["last / first", "completed", "socket errors", "TIME_WAIT cli / gw / srv / dst", "joins"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|---|" + "---:|" * (nwin + 3) + "---:|---:|")
    for c in CONTENDERS:
        e = sus.get(c)
        if not e:
            continue
        w = e["windows_rps"]
        cells = [LABELS[c]] + [f"{v:.0f}" for v in w] + ["–"] * (nwin - len(w))
        cells.append(f"{w[-1] / w[0]:.2f}" if w and w[0] else "–")
        cells.append(f"{e['requests']:.0f}")
        cells.append(f"{e['socket_errors']:.0f}")
        tw = e["time_wait_end"]
        cells.append(" / ".join(f"{tw[n]:.0f}" for n in ("cli", "gw", "srv", "dst")))
        cells.append("–" if e["joins_per_conn"] is None else f"{e['joins_per_conn']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def write_markdown(path, summary, machine, params, sustained=None):
    lines = []
    lines.append("# mptcp-relay benchmark: latest run\n")
    lines.append(f"Run {machine.get('date', '?')} with `{params.get('command', 'Benchmarks/run.sh')}`: "
                 f"{params['rounds']} interleaved round(s), median shown, [min–max] over rounds. "
                 f"Relay commit `{machine.get('relay_commit', '?')}`. How to read it: "
                 "[docs/BENCHMARKS.md](../../docs/BENCHMARKS.md).\n")
    lines.append(f"Machine: Linux {machine.get('kernel', '?')}, {machine.get('cpus', '?')} CPUs "
                 f"({machine.get('cpu_model', '?')}), {machine.get('memory', '?')}; "
                 f"load average before/after: {machine.get('load_before', '?')} / "
                 f"{machine.get('load_after', '?')}. All processes (clients, relays, servers) "
                 "share the same cores. Versions: see `machine.txt`.\n")
    lines.append(f"Settings: iperf3 {params['iperf_seconds']} s per run; wrk {params['wrk_seconds']} s "
                 f"(latency with 1 connection: {params['lat1_seconds']} s); idle connections: "
                 f"{params['idle_n']} ({params['idle_n_socat']} for socat, which forks a process per "
                 f"connection); uplinks limited to {params['tbf_rate']} each for the aggregation "
                 f"rows ({params['tbf_seconds']} s after 1 s omitted)"
                 + (f"; sustained connections: wrk for {params['sustained_seconds']} s, windows of "
                    f"{params['sustained_window']} s, each contender on a fresh chain (new "
                    "namespaces, no TIME_WAIT left from anything before)"
                    if "sustained_seconds" in params else "") + ".\n")
    lines += figure_table(summary)
    lines.append("")
    lines.append("↑ higher is better, ↓ lower is better. Latency cells show, in brackets after the "
                 "range, the latency added over direct (ms). CPU and memory count only the "
                 "contender's own processes in gw and srv (direct has none). "
                 "Direct uses uplink A only, so it cannot exceed 50 % in the aggregation rows. "
                 "tbf limits Ethernet frames while iperf3 counts payload, so one TCP stream gets "
                 "about 95.6 % of a 100 Mbit/s link and an MPTCP stream (DSS options in every "
                 "segment) somewhat less: the last two rows take direct's goodput over one uplink, "
                 "measured in the same round, as 100 % of a link. " + RELAY_PM_NOTE)
    lines.append("")
    if sustained:
        lines += sustained_markdown(sustained)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


RELAY_PM_NOTE = ("\"relay as PM\" is mptcp-relay with `path_manager = \"relay\"` in gw (subflows "
                 "over uplinks A and B opened by the relay, not by the kernel's endpoints); it runs "
                 "only the connection rows.")


def figure_table(summary):
    """The main table: one row per figure of `summary`, with ratios, targets and verdicts."""
    lines = []
    head = ["figure", "unit"] + [LABELS[c] for c in CONTENDERS] + \
        ["relay / HAProxy", "relay as PM / HAProxy", "relay / direct", "target", "result"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(CONTENDERS) + 3) + ["---", "---"])
                 + "|")
    fmts = {f[0]: f[6] for f in FIGURES}
    for key, entry in summary.items():
        fmt = fmts[key]
        cells = [entry["label"] + (" ↑" if entry["better"] == "high" else " ↓"), entry["unit"]]
        meds = {}
        for c in CONTENDERS:
            e = entry["contenders"].get(c)
            if not e:
                cells.append("–")
                continue
            meds[c] = e["median"]
            cell = fmt_val(fmt, e["median"])
            if len(e["rounds"]) > 1:
                cell += f" [{fmt_val(fmt, e['min'])}–{fmt_val(fmt, e['max'])}]"
            if "added_vs_direct" in e and c != "direct":
                cell += f" (+{e['added_vs_direct']:.3f})" if e["added_vs_direct"] >= 0 else \
                    f" ({e['added_vs_direct']:.3f})"
            cells.append(cell)
        relay = meds.get("mptcp-relay")
        for mine, ref in (("mptcp-relay", "haproxy"), ("mptcp-relay-pm", "haproxy"),
                          ("mptcp-relay", "direct")):
            v, r = meds.get(mine), meds.get(ref)
            cells.append(f"{v / r:.2f}×" if v is not None and r else "–")
        if key in TARGETS:
            text, result = judge(key, relay, meds.get("haproxy"))
        else:
            text, result = "", ""
        cells += [text, result]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


SUSTAINED_FIGURES = ("cps_sust", "cps_sust_last", "cpu_kconn")


def cmd_sustained_report(args):
    """Only the sustained section (run.sh --only sustained): DIR/sustained.md and .json."""
    recs = [r for r in load_raw(args.raw) if r.get("test") == "sustained"]
    if not recs:
        fail(f"{args.raw}: no sustained records")
    with open(args.machine, encoding="utf-8") as f:
        machine = json.load(f)
    params = json.loads(args.params)
    summary = {k: v for k, v in summarize(recs).items() if k in SUSTAINED_FIGURES}
    sustained = sustained_summarize(recs)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "sustained.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": machine, "params": params, "summary": summary,
                   "sustained": sustained, "records": recs}, f, indent=1)
        f.write("\n")
    lines = ["# mptcp-relay benchmark: sustained connections\n",
             f"Run {machine.get('date', '?')} with `{params.get('command', 'Benchmarks/run.sh')}`: "
             f"{params['rounds']} round(s), median shown, [min–max] over rounds; wrk for "
             f"{params['sustained_seconds']} s per contender, each on a fresh chain. Relay commit "
             f"`{machine.get('relay_commit', '?')}`. Machine: Linux {machine.get('kernel', '?')}, "
             f"{machine.get('cpus', '?')} CPUs, load average before/after: "
             f"{machine.get('load_before', '?')} / {machine.get('load_after', '?')}. How to read "
             "it: [docs/BENCHMARKS.md](../../docs/BENCHMARKS.md#sustained-connections-on-a-fresh-chain)."
             "\n"]
    lines += figure_table(summary)
    lines += ["", RELAY_PM_NOTE, ""]
    lines += sustained_markdown(sustained)
    with open(os.path.join(args.out, "sustained.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def write_chart(path, summary, sustained, workdir):
    panels = [
        ("Throughput, Gbit/s", [("up_1", "1 stream up"), ("down_1", "1 stream down"),
                                ("up_8", "8 streams up")]),
        ("New connections/s", [("cps", "peak (short run)"), ("cps_sust", "sustained, whole run"),
                               ("cps_sust_last", "sustained, last window")]),
        ("Requests/s keep-alive, 32 conns", [("ka_rps", "req/s")]),
        ("Latency added over direct, ms", [("ka_p50", "p50, 32 conns"),
                                           ("ka_p99", "p99, 32 conns"),
                                           ("c1_p50", "p50, 1 conn"),
                                           ("c1_p99", "p99, 1 conn")]),
        ("Relay CPU s per GB", [("cpu_up", "up"), ("cpu_down", "down"), ("cpu_up8", "8 streams")]),
        ("Relay CPU s per 1 000 connections (sustained)", [("cpu_kconn", "CPU s")]),
        ("Memory per idle connection, KiB (log scale)", [("mem", "VmRSS"), ("mem_pss", "Pss")]),
        ("Share of 2 × 100 Mbit/s, %", [("agg_up", "up"), ("agg_down", "down")]),
    ]
    # Only the contenders this run measured (a --contenders subset leaves no empty slots).
    shown = [c for c in CONTENDERS if any(c in e["contenders"] for e in summary.values())]
    script = ["set terminal pngcairo size 1600,1350 font 'DejaVu Sans,10'",
              f"set output '{path}'",
              "set multiplot layout 3,3 title 'mptcp-relay vs HAProxy vs socat vs direct "
              "(medians)'",
              "set style data histograms", "set style histogram clustered gap 1",
              "set style fill solid 0.85 border -1", "set boxwidth 0.9", "set grid ytics",
              "set key top left font ',8'", "set yrange [0:*]", "set xtics font ',9'"]
    for i, (title, series) in enumerate(panels):
        datafile = os.path.join(workdir, f"panel{i}.dat")
        with open(datafile, "w", encoding="utf-8") as f:
            f.write("contender " + " ".join(f'"{s[1]}"' for s in series) + "\n")
            for c in shown:
                row = []
                for key, _ in series:
                    e = summary[key]["contenders"].get(c)
                    v = None
                    if e:
                        v = e.get("added_vs_direct", e["median"]) if key.startswith(("ka_p", "c1_p")) \
                            else e["median"]
                    row.append("NaN" if v is None else f"{v:.6g}")
                f.write(f'"{LABELS[c]}" ' + " ".join(row) + "\n")
        script.append(f"set title '{title}'")
        if title.startswith("Memory"):
            script += ["set logscale y", "set yrange [*:*]"]
        elif title.startswith("Latency"):
            script += ["unset logscale y", "set yrange [*:*]"]
        else:
            script += ["unset logscale y", "set yrange [0:*]"]
        plots = [f"'{datafile}' using {j + 2}:xtic(1) title columnheader({j + 2})"
                 for j in range(len(series))]
        script.append("plot " + ", ".join(plots))
    # The sustained run over time: connections per second that reached dst, per contender.
    cols = [c for c in CONTENDERS if c in (sustained or {})]
    if cols:
        datafile = os.path.join(workdir, "timeline.dat")
        n = max(len(sustained[c]["timeline_rps"]) for c in cols)
        with open(datafile, "w", encoding="utf-8") as f:
            for i in range(n):
                row = []
                for c in cols:
                    tl = sustained[c]["timeline_rps"]
                    row += [f"{tl[i][0]:.6g}", f"{tl[i][1]:.6g}"] if i < len(tl) else ["NaN", "NaN"]
                f.write(" ".join(row) + "\n")
        script += ["set title 'Sustained run: conn/s reaching dst, per sample'",
                   "unset logscale y", "set yrange [0:*]", "set style data lines",
                   "set xlabel 'seconds since wrk started' font ',9'", "set xtics auto",
                   "set key top right font ',8'"]
        plots = [f"'{datafile}' using {2 * j + 1}:{2 * j + 2} with lines lw 2 title '{LABELS[c]}'"
                 for j, c in enumerate(cols)]
        script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    gp = os.path.join(workdir, "chart.gp")
    with open(gp, "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")
    res = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60,
                         check=False)
    if res.returncode != 0 or not os.path.exists(path):
        fail(f"gnuplot failed: {res.stderr}")


# ---------------------------------------------------------------------------------------------
# Path manager: aggregation share and failover stall (phase "paths")

PATH_CONTENDERS = ["relay-standby", "relay-on-demand", "kernel"]
PATH_LABELS = {"relay-standby": "relay, standby", "relay-on-demand": "relay, on-demand",
               "kernel": "kernel PM"}
STALL_LIMIT_S = 0.5
AGG_TARGET = 95.0


def hashpeer_line(path):
    """The last JSON line hashpeer.py printed, or {} when it printed none (it failed early)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().strip().splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return {}


def cmd_paths_record(args):
    client = hashpeer_line(args.client)
    server = hashpeer_line(args.server)
    rec = {"phase": "paths", "round": args.round, "contender": args.contender, "test": args.test,
           "bytes_up": args.bytes_up, "bytes_down": args.bytes_down}
    # cli -> dst: the client sent, dst's server received; dst -> cli the other way round.
    up_recv = int(server.get("received", 0))
    down_recv = int(client.get("received", 0))
    rec["received_up"] = up_recv
    rec["received_down"] = down_recv
    rec["intact_up"] = (up_recv == args.bytes_up and client.get("sent") == args.bytes_up
                        and server.get("received_sha256") == client.get("sent_sha256"))
    rec["intact_down"] = (down_recv == args.bytes_down and server.get("sent") == args.bytes_down
                          and client.get("received_sha256") == server.get("sent_sha256"))
    # Bytes that did not arrive intact: what is missing, or everything when the hash differs.
    rec["lost_up"] = 0 if rec["intact_up"] else max(args.bytes_up - up_recv, 0) or args.bytes_up
    rec["lost_down"] = 0 if rec["intact_down"] else \
        max(args.bytes_down - down_recv, 0) or args.bytes_down
    rec["stall_up_s"] = server.get("max_gap_seconds")
    rec["stall_down_s"] = client.get("max_gap_seconds")
    rec["receive_up_s"] = server.get("receive_seconds")
    rec["receive_down_s"] = client.get("receive_seconds")
    if up_recv and server.get("receive_seconds"):
        rec["mbps"] = up_recv * 8 / server["receive_seconds"] / 1e6
        if args.share_of:
            rec["share"] = 100.0 * rec["mbps"] / args.share_of
    if args.tx_before and args.tx_after:
        with open(args.tx_before, encoding="utf-8") as f:
            t0 = json.load(f)
        with open(args.tx_after, encoding="utf-8") as f:
            t1 = json.load(f)
        tx = {k: t1[k] - t0[k] for k in ("a", "b", "c")}
        rec["gw_tx_bytes"] = tx
        total = sum(tx.values())
        rec["c_share"] = 100.0 * tx["c"] / total if total else None
    if args.subflows is not None:
        rec["subflows_at_event"] = args.subflows.split()
    if args.counters_before and args.counters_after:
        with open(args.counters_before, encoding="utf-8") as f:
            c0 = json.load(f)
        with open(args.counters_after, encoding="utf-8") as f:
            c1 = json.load(f)
        rec["srv_mptcp_counters"] = {k: c1[k] - c0.get(k, 0) for k in c1 if c1[k] != c0.get(k, 0)}
    if up_recv == 0 and down_recv == 0:
        fail(f"{args.contender} {args.test}: no byte passed either way (see {args.client}, "
             f"{args.server})")
    if args.test != "failover" and not (rec["intact_up"] and rec["intact_down"]):
        fail(f"{args.contender} {args.test}: a transfer without any link event arrived "
             f"incomplete or corrupted ({up_recv}/{args.bytes_up} up, "
             f"{down_recv}/{args.bytes_down} down)")
    with open(args.raw, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")
    shown = []
    if args.test != "failover":
        shown.append(f"{rec.get('mbps', 0):.1f} Mbit/s cli→dst")
        if "share" in rec and args.test == "aggregate":
            shown.append(f"{rec['share']:.1f} % of {args.share_of:.0f}")
        if rec.get("c_share") is not None:
            shown.append(f"C {rec['c_share']:.2f} % of gw's uplink bytes")
    else:
        for key, what in (("stall_up_s", "stall up"), ("stall_down_s", "stall down")):
            v = rec[key]
            shown.append(f"{what} {v:.3f} s" if v is not None else f"{what} –")
        shown.append("intact both ways" if rec["intact_up"] and rec["intact_down"] else
                     f"LOST {rec['lost_up']} B up, {rec['lost_down']} B down")
        shown.append(f"C carried {rec['gw_tx_bytes']['c'] / 1e6:.1f} MB up" if "gw_tx_bytes" in rec
                     else "")
        shown.append(f"subflows at the event: {' '.join(rec['subflows_at_event']) or 'none'}")
        if "srv_mptcp_counters" in rec:
            shown.append(f"srv got {rec['srv_mptcp_counters'].get('RmAddr', 0)} REMOVE_ADDR")
    print(f"  [paths r{args.round}] {args.contender:15s} {args.test:10s} " +
          ", ".join(s for s in shown if s), flush=True)


def stats(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals), "rounds": vals}


def paths_summarize(recs):
    recs = [r for r in recs if r.get("phase") == "paths"]
    if not recs:
        return None
    one = {r["round"]: r.get("mbps") for r in recs if r["test"] == "one_uplink"}
    agg = [r for r in recs if r["test"] == "aggregate"]
    aggregation = {
        "one_mbps": stats([r.get("mbps") for r in recs if r["test"] == "one_uplink"]),
        "agg_mbps": stats([r.get("mbps") for r in agg]),
        "agg_share": stats([r.get("share") for r in agg]),
        "agg_rel": stats([100.0 * r["mbps"] / (2 * one[r["round"]]) for r in agg
                          if r.get("mbps") and one.get(r["round"])]),
        "agg_c_share": stats([r.get("c_share") for r in agg]),
    }
    failover = {}
    for c in PATH_CONTENDERS:
        rs = [r for r in recs if r["test"] == "failover" and r["contender"] == c]
        if not rs:
            continue
        failover[c] = {
            "stall_up_s": stats([r.get("stall_up_s") for r in rs]),
            "stall_down_s": stats([r.get("stall_down_s") for r in rs]),
            "stall_worst_s": stats([max(r["stall_up_s"], r["stall_down_s"]) for r in rs
                                    if r.get("stall_up_s") is not None
                                    and r.get("stall_down_s") is not None]),
            "c_mb": stats([r["gw_tx_bytes"]["c"] / 1e6 for r in rs if "gw_tx_bytes" in r]),
            "srv_rm_addr": stats([r["srv_mptcp_counters"].get("RmAddr", 0) for r in rs
                                  if "srv_mptcp_counters" in r]),
            "lost_bytes": sum(r["lost_up"] + r["lost_down"] for r in rs),
            "transfers": 2 * len(rs),
            "intact": sum(int(r["intact_up"]) + int(r["intact_down"]) for r in rs),
        }
    return {"aggregation": aggregation, "failover": failover}


def judge_value(value, threshold, minimum, shown):
    if value is None:
        return "not measured"
    if minimum:
        met = value >= threshold
        margin = abs(value / threshold - 1) * 100
        how = "above the target" if met else "short of the target"
    else:
        met = value <= threshold
        margin = abs(1 - value / threshold) * 100
        how = "below the limit" if met else "over the limit"
    return f"{'**met**' if met else '**missed**'}: {shown}, {margin:.0f}% {how}"


def cell(e, fmt):
    if not e:
        return "–"
    text = fmt.format(e["median"])
    if len(e["rounds"]) > 1:
        text += f" [{fmt.format(e['min'])}–{fmt.format(e['max'])}]"
    return text


def paths_markdown(summary, params, heading="##"):
    """The two path-manager tables (aggregation, failover) as Markdown lines."""
    lines = []
    rate = params.get("paths_rate", "100mbit")
    lines.append(f"{heading} Path manager: aggregation and failover\n")
    lines.append(f"Uplinks A, B and C limited to {rate} each (tbf on both ends); the relay as the "
                 "gateway's MPTCP path manager (`path_manager = \"relay\"`, one worker), "
                 "scripts/lib/hashpeer.py sending random bytes through gw → srv → dst and "
                 f"checking their SHA-256. {params.get('paths_rounds', '?')} round(s), median "
                 "shown, [min–max] over rounds. Aggregation: "
                 f"{params.get('paths_agg_bytes', 0) / 1048576:.0f} MiB cli→dst (the one-uplink "
                 "reference half of that). Failover: "
                 f"{params.get('paths_fail_bytes', 0) / 1048576:.0f} MiB each way at once, "
                 f"`ip link set upa0 down` in gw {params.get('paths_event_at', '?')} s after the "
                 "start.\n")
    a = summary["aggregation"]
    lines.append("| aggregation, cli→dst | unit | mptcp-relay | target | result |")
    lines.append("|---|---|---:|---|---|")
    share = a["agg_share"]["median"] if a["agg_share"] else None
    rows = [
        ("One uplink (policy paths a), goodput ↑", "Mbit/s", a["one_mbps"], "{:.1f}", "", ""),
        ("A + B (policy paths a, b; C standby), goodput ↑", "Mbit/s", a["agg_mbps"], "{:.1f}", "",
         ""),
        ("A + B, share of 200 Mbit/s ↑", "%", a["agg_share"], "{:.1f}", f"≥ {AGG_TARGET:.0f} %",
         judge_value(share, AGG_TARGET, True, f"{share:.1f}" if share is not None else "")),
        ("A + B, share of 2 × one-uplink goodput (same round) ↑", "%", a["agg_rel"], "{:.1f}", "",
         ""),
        ("C's share of gw's uplink tx bytes (standby) ↓", "%", a["agg_c_share"], "{:.2f}", "", ""),
    ]
    for label, unit, e, fmt, target, result in rows:
        lines.append(f"| {label} | {unit} | {cell(e, fmt)} | {target} | {result} |")
    lines.append("")
    f = summary["failover"]
    cols = [c for c in PATH_CONTENDERS if c in f]
    lines.append("| failover: A down mid-transfer, C takes over | unit | " +
                 " | ".join(PATH_LABELS[c] for c in cols) + " | target | result |")
    lines.append("|---|---|" + "---:|" * len(cols) + "---|---|")
    sb = f.get("relay-standby", {})
    for key, label in (("stall_up_s", "Longest stall cli→dst (dst's longest gap) ↓"),
                       ("stall_down_s", "Longest stall dst→cli (cli's longest gap) ↓"),
                       ("stall_worst_s", "Longest stall, worse direction ↓")):
        v = sb[key]["median"] if sb.get(key) else None
        target = f"≤ {STALL_LIMIT_S} s with standby" if key != "stall_worst_s" else ""
        result = judge_value(v, STALL_LIMIT_S, False, f"{v:.3f} s" if v is not None else "") \
            if target else ""
        lines.append(f"| {label} | s | " + " | ".join(cell(f[c][key], "{:.3f}") for c in cols) +
                     f" | {target} | {result} |")
    lost_cells = [f"{f[c]['lost_bytes']} ({f[c]['intact']}/{f[c]['transfers']} intact)"
                  for c in cols]
    if sb:
        ok = sb["lost_bytes"] == 0 and sb["intact"] == sb["transfers"]
        result = (f"{'**met**' if ok else '**missed**'}: {sb['lost_bytes']} bytes lost, "
                  f"{sb['intact']} of {sb['transfers']} transfers intact")
    else:
        result = "not measured"
    lines.append("| Bytes lost or corrupted, all rounds, both ways ↓ | bytes | " +
                 " | ".join(lost_cells) + f" | 0 with standby | {result} |")
    lines.append("| C's tx bytes in gw during the transfer | MB | " +
                 " | ".join(cell(f[c]["c_mb"], "{:.1f}") for c in cols) + " |  |  |")
    lines.append("| REMOVE_ADDR that srv received (MPTcpExt RmAddr) | count | " +
                 " | ".join(cell(f[c].get("srv_rm_addr"), "{:.0f}") for c in cols) + " |  |  |")
    lines.append("")
    lines.append("The stall is the longest time between two reads that returned data on the "
                 "receiving side (hashpeer.py's `max_gap_seconds`), over the whole transfer. "
                 "standby: C's subflow is open (flagged backup) from the start; on-demand: the "
                 "relay opens it when A goes down; kernel PM: `path_manager = \"kernel\"`, the "
                 "relay only adds in-kernel endpoints (A, and C with the backup flag) and removes "
                 "A's when it goes down. How these are measured: "
                 "[docs/BENCHMARKS.md](../../docs/BENCHMARKS.md#path-manager-aggregation-and-failover).")
    lines.append("")
    return lines


def cmd_paths_report(args):
    recs = [r for r in load_raw(args.raw) if r.get("phase") == "paths"]
    with open(args.machine, encoding="utf-8") as f:
        machine = json.load(f)
    params = json.loads(args.params)
    summary = paths_summarize(recs)
    if summary is None:
        fail(f"{args.raw}: no path-manager records")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "paths.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": machine, "params": params, "summary": summary, "records": recs},
                  f, indent=1)
        f.write("\n")
    lines = ["# mptcp-relay benchmark: path manager\n",
             f"Run {machine.get('date', '?')} with `{params.get('command', 'Benchmarks/run.sh')}`. "
             f"Relay commit `{machine.get('relay_commit', '?')}`. Machine: Linux "
             f"{machine.get('kernel', '?')}, {machine.get('cpus', '?')} CPUs, load average "
             f"before/after: {machine.get('load_before', '?')} / {machine.get('load_after', '?')}. "
             "A full run of Benchmarks/run.sh writes these tables into latest.md too.\n"]
    lines += paths_markdown(summary, params)
    with open(os.path.join(args.out, "paths.md"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def cmd_report(args):
    recs = load_raw(args.raw)
    with open(args.machine, encoding="utf-8") as f:
        machine = json.load(f)
    params = json.loads(args.params)
    summary = summarize(recs)
    sustained = sustained_summarize(recs)
    paths = paths_summarize(recs)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "latest.json"), "w", encoding="utf-8") as f:
        json.dump({"machine": machine, "params": params, "summary": summary,
                   "sustained": sustained, "paths": paths, "records": recs}, f, indent=1)
        f.write("\n")
    md = os.path.join(args.out, "latest.md")
    write_markdown(md, summary, machine, params, sustained)
    if paths is not None:
        with open(md, "a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(paths_markdown(paths, params)))
    if args.gnuplot:
        with tempfile.TemporaryDirectory() as tmp:
            write_chart(os.path.join(args.out, "latest.png"), summary, sustained, tmp)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("cpu")
    p.add_argument("--ns", action="append", required=True)
    p.add_argument("--comm", required=True)
    sub.add_parser("counters")
    p = sub.add_parser("sustained")
    p.add_argument("--prefix", required=True, help="namespace prefix: PREFIXcli ... PREFIXdst")
    p.add_argument("--seconds", type=float, required=True, help="wrk's -d, for the time bounds")
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--wrk-out", required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("wrk_args", nargs=argparse.REMAINDER)
    p = sub.add_parser("machine")
    p.add_argument("--repo", required=True)
    p.add_argument("--json", required=True)
    p = sub.add_parser("machine-finish")
    p.add_argument("--json", required=True)
    p.add_argument("--text", required=True)
    p = sub.add_parser("record")
    p.add_argument("--raw", required=True)
    p.add_argument("--phase", required=True)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--contender", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--iperf")
    p.add_argument("--share-of", type=float, help="Mbit/s that count as 100 %%")
    p.add_argument("--wrk")
    p.add_argument("--hold")
    p.add_argument("--cpu-before", type=float)
    p.add_argument("--cpu-after", type=float)
    p.add_argument("--counters-before")
    p.add_argument("--counters-after")
    p.add_argument("--samples", help="bench.py sustained's samples")
    p.add_argument("--window", type=float, default=10.0, help="seconds per window (--samples)")
    p.add_argument("--set", action="append", help="KEY=JSON extra fields")
    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("--params", required=True, help="JSON object of run settings")
    p.add_argument("--out", required=True)
    p.add_argument("--gnuplot", action="store_true")
    p = sub.add_parser("paths-record")
    p.add_argument("--raw", required=True)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--contender", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--client", required=True, help="hashpeer.py send's output")
    p.add_argument("--server", required=True, help="hashpeer.py serve's output")
    p.add_argument("--bytes-up", type=int, required=True)
    p.add_argument("--bytes-down", type=int, required=True)
    p.add_argument("--tx-before")
    p.add_argument("--tx-after")
    p.add_argument("--subflows")
    p.add_argument("--counters-before", help="srv's MPTcpExt counters (bench.py counters)")
    p.add_argument("--counters-after")
    p.add_argument("--share-of", type=float, help="Mbit/s that count as 100 %%")
    p = sub.add_parser("sustained-report")
    p.add_argument("--raw", required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("--params", required=True, help="JSON object of run settings")
    p.add_argument("--out", required=True)
    p = sub.add_parser("paths-report")
    p.add_argument("--raw", required=True)
    p.add_argument("--machine", required=True)
    p.add_argument("--params", required=True, help="JSON object of run settings")
    p.add_argument("--out", required=True)
    args = parser.parse_args()
    {"cpu": cmd_cpu, "counters": cmd_counters, "sustained": cmd_sustained, "record": cmd_record, "report": cmd_report,
     "machine": cmd_machine, "machine-finish": cmd_machine_finish,
     "paths-record": cmd_paths_record, "paths-report": cmd_paths_report,
     "sustained-report": cmd_sustained_report}[args.cmd](args)


if __name__ == "__main__":
    main()
