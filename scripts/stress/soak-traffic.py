#!/usr/bin/env python3
"""Traffic for scripts/stress/soak.sh: servers in dst, generators in cli, and the final accounting.

Every generator runs until a deadline (and a count cap), checks every transfer and sorts it into:
    ok        every byte arrived, in order, both ways
    reset     the connection ended with an error a peer saw (reset, refused, broken pipe): allowed
    damaged   bytes arrived that differ from what was sent (pattern or content mismatch): never allowed
    lost      the connection ended without a reset but short (a clean EOF too early), or hung until the
              socket timeout, or an idle connection closed silently: never allowed
"lost bytes" are the bytes a peer should have received and did not (for damaged transfers: the whole
transfer). Counters go to OUT/status-NAME.txt ("ok reset damaged lost lost_bytes", rewritten at most twice
a second) for the sampler; every transfer that is not ok goes to OUT/NAME.jsonl with what was seen.

    serve-bulk --listen A:P --bytes N --log FILE     hashpeer pattern peer, one thread per connection
    serve-echo --listen A:P                          echoes until EOF, then shuts down its side
    bulk  --connect A:P --bytes N --until T --id-base B --out DIR --name NAME
    short --connect A:P --until T --workers W --out DIR --name NAME
    idle  --connect A:P --until T --count C --hold S --out DIR --name NAME
    report --out DIR --bytes N                       joins bulk client and server reports, sums the rest

Bulk transfers use scripts/lib/hashpeer.py's Transfer and pattern (both directions checked word by word);
the client numbers its connections from --id-base, so the server's report (which names the client's id)
joins it exactly. Standard library only.
"""

import argparse
import errno
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hashpeer  # noqa: E402 - the path above is where it lives

MAX_ITERATIONS = 1_000_000  # every loop is bounded by its deadline and by this
# ENOTCONN: shutdown() or send() on a socket whose connection a reset already closed (the relay reset the
# LAN side because its connect to the converter was refused, right after the client's connect succeeded).
RESET_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNREFUSED, errno.ECONNABORTED, errno.ENETUNREACH,
                errno.EHOSTUNREACH, errno.ENOTCONN}


def parse_endpoint(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def classify_error(error):
    """'reset' for errors a peer saw as a failed connection, 'lost' for a timeout (a hang)."""
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "lost"
    if isinstance(error, OSError) and error.errno in RESET_ERRNOS:
        return "reset"
    return "reset" if isinstance(error, ConnectionError) else "lost"


class Tally:
    """Counters of one generator, shared by its threads, mirrored to a status file for the sampler."""

    def __init__(self, out, name):
        self.path = os.path.join(out, f"status-{name}.txt")
        self.log_path = os.path.join(out, f"{name}.jsonl")
        self.counts = {"ok": 0, "reset": 0, "damaged": 0, "lost": 0, "lost_bytes": 0}
        self.lock = threading.Lock()
        self.written_at = 0.0
        self.write(force=True)
        # Writes are throttled, so a burst's last counts would wait for the next event: flush them.
        threading.Thread(target=self._flush, daemon=True).start()

    def _flush(self):
        for _ in range(MAX_ITERATIONS):
            time.sleep(0.5)
            self.write(force=True)

    def add(self, outcome, lost_bytes=0, record=None):
        with self.lock:
            self.counts[outcome] += 1
            self.counts["lost_bytes"] += lost_bytes
            if record is not None and outcome != "ok":
                record["outcome"] = outcome
                record["at"] = time.time()
                with open(self.log_path, "a") as log:
                    log.write(json.dumps(record) + "\n")
        self.write()

    def write(self, force=False):
        with self.lock:
            now = time.monotonic()
            if not force and now - self.written_at < 0.5:
                return
            self.written_at = now
            line = " ".join(str(self.counts[key]) for key in ("ok", "reset", "damaged", "lost", "lost_bytes"))
            temporary = self.path + ".tmp"
            with open(temporary, "w") as status:
                status.write(line + "\n")
            os.replace(temporary, self.path)


def on_hang(args, label, port):
    """Runs --on-hang LABEL PORT (at most 30 s): the soak dumps both relays' sockets while the hung connection
    is still there to be seen."""
    if not getattr(args, "on_hang", None):
        return
    try:
        subprocess.run([args.on_hang, label, str(port)], timeout=30, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        pass


def local_port(sock):
    """The socket's local port (0 when it has none): the gateway's close line names it as `peer=`."""
    try:
        return sock.getsockname()[1]
    except OSError:
        return 0


def recv_exactly(sock, size, into=None):
    """Up to `size` bytes; fewer only when the peer closed (clean EOF). With `into` (a bytearray) the bytes
    are appended there as they arrive, so that a caller whose read times out still knows what came."""
    buffer = into if into is not None else bytearray()
    while len(buffer) < size:
        data = sock.recv(min(65536, size - len(buffer)))
        if not data:
            break
        buffer += data
    return bytes(buffer)


# --- servers (in dst) -------------------------------------------------------------------------------


def listen(address):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(parse_endpoint(address))
    listener.listen(1024)
    return listener


def serve_bulk(args):
    listener = listen(args.listen)
    lock = threading.Lock()

    def handle(conn):
        conn.settimeout(args.timeout)
        transfer = hashpeer.Transfer(conn, args.bytes, "serve", "pattern", direction=1)
        result = transfer.run()
        pattern = result["pattern"]
        record = {"peer": pattern["peer_connection"], "sent": result["sent"], "received": result["received"],
                  "pattern_ok": pattern["ok"], "diagnosis": pattern["diagnosis"], "errors": transfer.errors,
                  "at": time.time()}
        with lock, open(args.log, "a") as log:
            log.write(json.dumps(record) + "\n")

    for _ in range(MAX_ITERATIONS):
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    return 0


def serve_echo(args):
    listener = listen(args.listen)

    def handle(conn):
        try:
            conn.settimeout(args.timeout)
            for _ in range(MAX_ITERATIONS):
                data = conn.recv(65536)
                if not data:
                    conn.shutdown(socket.SHUT_WR)
                    break
                conn.sendall(data)
        except OSError:
            pass  # the client sees and reports what happened
        finally:
            conn.close()

    for _ in range(MAX_ITERATIONS):
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
    return 0


# --- generators (in cli) ----------------------------------------------------------------------------


def bulk(args):
    """Pattern transfers of --bytes each way, one after the other; every one logged (the report joins them)."""
    tally = Tally(args.out, args.name)
    log_path = os.path.join(args.out, f"{args.name}-client.jsonl")
    for index in range(min(MAX_ITERATIONS, 32768)):
        if time.time() >= args.until:
            break
        ident = (args.id_base + index) & 0xFFFF
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(args.timeout)
        record = {"id": ident, "started": time.time()}
        try:
            sock.connect(parse_endpoint(args.connect))
        except OSError as error:
            sock.close()
            record.update(connect_error=repr(error), errors=[repr(error)], received=0, sent=0, pattern_ok=True)
        else:
            record["local_port"] = local_port(sock)  # run() closes the socket
            transfer = hashpeer.Transfer(sock, args.bytes, "send", "pattern", direction=0)
            transfer.connection = ident
            result = transfer.run()
            record.update(sent=result["sent"], received=result["received"], pattern_ok=result["pattern"]["ok"],
                          diagnosis=result["pattern"]["diagnosis"], errors=transfer.errors)
        record["ended"] = time.time()
        if any("timed out" in error or "Timeout" in error for error in record.get("errors", [])):
            on_hang(args, f"{args.name}-{ident}", record.get("local_port", 0))
        sock.close()
        with open(log_path, "a") as log:
            log.write(json.dumps(record) + "\n")
        # Live counters from the client's side only; the report joins the server's side.
        outcome, lost = classify_bulk(record, None, args.bytes, client_only=True)
        tally.add(outcome, lost)
        if outcome != "ok":
            time.sleep(0.5)  # the converter may be down: do not spin
    tally.write(force=True)
    return 0


def classify_error_text(errors):
    text = " ".join(errors)
    if "Timeout" in text or "timed out" in text:
        return "lost"
    return "reset"


def classify_bulk(client, server, nbytes, client_only=False):
    """(outcome, lost bytes) of one bulk transfer from both sides' reports (server None: none arrived)."""
    sides = [client] if server is None else [client, server]
    if any(not side.get("pattern_ok", True) for side in sides):
        return "damaged", nbytes * sum(1 for side in sides if not side.get("pattern_ok", True))
    errors = [error for side in sides for error in side.get("errors", [])]
    if errors:
        kind = classify_error_text(errors)
        lost = sum(max(0, nbytes - side.get("received", 0)) for side in sides) if kind == "lost" else 0
        return kind, lost
    short = sum(max(0, nbytes - side.get("received", 0)) for side in sides)
    if short:
        return "lost", short  # a clean EOF before every byte: a silent truncation
    return "ok", 0  # with server None: the client received everything, the server's line is missing


def short(args):
    """Small echo requests from several threads: send 1 B - 16 KiB, half-close, read the echo to EOF."""
    tally = Tally(args.out, args.name)
    address = parse_endpoint(args.connect)

    def worker(seed):
        for _ in range(MAX_ITERATIONS):
            if time.time() >= args.until:
                return
            size = 1 + int.from_bytes(os.urandom(2), "big") % 16384
            payload = os.urandom(size)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(args.timeout)
            received = b""
            arrived = bytearray()
            try:
                sock.connect(address)
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                received = recv_exactly(sock, size + 1, into=arrived)
            except OSError as error:
                outcome = classify_error(error)
                # What arrived before the error: the whole echo without its end of stream is a lost FIN.
                received = bytes(arrived)
                if outcome == "lost":
                    on_hang(args, f"{args.name}-{local_port(sock)}", local_port(sock))
                if received == b"" or payload.startswith(received):
                    tally.add(outcome, size if outcome == "lost" else 0,
                              {"size": size, "received": len(received), "error": repr(error),
                               "local_port": local_port(sock)})
                else:
                    tally.add("damaged", size, {"size": size, "received": len(received), "error": repr(error)})
                time.sleep(0.2)
                continue
            finally:
                sock.close()
            if received == payload:
                tally.add("ok")
            elif payload.startswith(received):
                tally.add("lost", size - len(received), {"size": size, "received": len(received),
                                                         "error": "clean EOF before the whole echo"})
            else:
                tally.add("damaged", size, {"size": size, "received": len(received),
                                            "first_difference": next((i for i, (a, b) in
                                                                      enumerate(zip(payload, received))
                                                                      if a != b), min(size, len(received)))})
            time.sleep(args.pause)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, args.until - time.time()) + args.timeout * 3)
    tally.write(force=True)
    return 0


CHECK = 4096


def idle(args):
    """Cohorts of --count connections: a greeting, --hold seconds of silence, then an echo check each."""
    tally = Tally(args.out, args.name)
    address = parse_endpoint(args.connect)
    for cohort in range(MAX_ITERATIONS):
        now = time.time()
        if now >= args.until or (cohort > 0 and args.until - now < args.hold / 2):
            break
        alive = {}
        for index in range(args.count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.settimeout(args.timeout)
            greeting = f"cohort {cohort} connection {index} ".encode().ljust(64, b".")
            try:
                sock.connect(address)
                sock.sendall(greeting)
                echoed = recv_exactly(sock, len(greeting))
            except OSError as error:
                sock.close()
                outcome = classify_error(error)
                tally.add(outcome, 64 if outcome == "lost" else 0,
                          {"cohort": cohort, "index": index, "phase": "greeting", "error": repr(error)})
                time.sleep(0.2)  # the converter may be down: do not spin
                continue
            if echoed != greeting:
                sock.close()
                outcome = "damaged" if not greeting.startswith(echoed) else "lost"
                tally.add(outcome, 64, {"cohort": cohort, "index": index, "phase": "greeting",
                                        "received": len(echoed)})
                continue
            alive[sock] = index
        # The hold: nothing is sent; any readable socket has died (EOF or reset) or received stray bytes.
        hold_start = time.time()
        hold_end = min(hold_start + args.hold, max(args.until, hold_start + 1))
        for _ in range(MAX_ITERATIONS):
            left = hold_end - time.time()
            if left <= 0 or not alive:
                break
            readable, _, _ = select.select(list(alive), [], [], min(1.0, left))
            for sock in readable:
                index = alive.pop(sock)
                record = {"cohort": cohort, "index": index, "phase": "idle",
                          "idle_seconds": round(time.time() - hold_start, 1)}
                try:
                    data = sock.recv(4096)
                except OSError as error:
                    tally.add(classify_error(error), 0, dict(record, error=repr(error)))
                else:
                    if data:
                        tally.add("damaged", CHECK, dict(record, stray_bytes=len(data)))
                    else:
                        tally.add("lost", CHECK, dict(record, error="closed with a clean EOF while idle"))
                sock.close()
        if not alive:
            time.sleep(min(5.0, max(0.0, hold_end - time.time())))  # a whole cohort gone: no tight loop
        # The check: every survivor must still carry bytes both ways, then close cleanly.
        for sock, index in list(alive.items()):
            check = os.urandom(CHECK)
            record = {"cohort": cohort, "index": index, "phase": "check"}
            try:
                sock.sendall(check)
                echoed = recv_exactly(sock, CHECK)
                sock.shutdown(socket.SHUT_WR)
                tail = sock.recv(1) if echoed == check else b""
            except OSError as error:
                outcome = classify_error(error)
                tally.add(outcome, CHECK if outcome == "lost" else 0, dict(record, error=repr(error)))
            else:
                if echoed == check and tail == b"":
                    tally.add("ok")
                elif check.startswith(echoed):
                    tally.add("lost", CHECK - len(echoed), dict(record, received=len(echoed),
                                                                error="clean EOF before the whole echo"))
                else:
                    tally.add("damaged", CHECK, dict(record, received=len(echoed), extra=len(tail)))
            finally:
                sock.close()
    tally.write(force=True)
    return 0


# --- the final accounting --------------------------------------------------------------------------


def read_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path) as lines:
        return [json.loads(line) for line in lines if line.strip()]


def report(args):
    totals = {"ok": 0, "reset": 0, "damaged": 0, "lost": 0, "lost_bytes": 0}
    by_kind = {}
    problems = []
    servers = {}
    for record in read_jsonl(os.path.join(args.out, "bulk-server.jsonl")):
        if record.get("peer") is not None:
            servers.setdefault(record["peer"], []).append(record)
    unmatched = 0
    names = sorted(name[len("status-"):-len(".txt")] for name in os.listdir(args.out)
                   if name.startswith("status-") and name.endswith(".txt"))
    for name in names:
        kind = name.rstrip("0123456789-")
        counts = {"ok": 0, "reset": 0, "damaged": 0, "lost": 0, "lost_bytes": 0}
        if kind == "bulk":
            for client in read_jsonl(os.path.join(args.out, f"{name}-client.jsonl")):
                matches = servers.get(client["id"], [])
                server = matches[-1] if matches else None
                outcome, lost = classify_bulk(client, server, args.bytes)
                if server is None and outcome == "ok":
                    unmatched += 1
                counts[outcome] += 1
                counts["lost_bytes"] += lost
                if outcome in ("damaged", "lost"):
                    problems.append({"generator": name, "outcome": outcome, "client": client, "server": server})
        else:
            with open(os.path.join(args.out, f"status-{name}.txt")) as status:
                values = [int(value) for value in status.read().split()]
            counts = dict(zip(("ok", "reset", "damaged", "lost", "lost_bytes"), values))
            for record in read_jsonl(os.path.join(args.out, f"{name}.jsonl")):
                if record.get("outcome") in ("damaged", "lost"):
                    problems.append(dict(record, generator=name))
        by_kind[name] = counts
        for key in totals:
            totals[key] += counts[key]
    summary = dict(totals, unmatched=unmatched, generators=by_kind, problems=problems[:50])
    with open(os.path.join(args.out, "transfers.json"), "w") as out:
        json.dump(summary, out, indent=1)
    lost_by = ",".join(f"{name}:{counts['lost']}" for name, counts in by_kind.items() if counts["lost"]) or "-"
    damaged_by = ",".join(f"{name}:{counts['damaged']}" for name, counts in by_kind.items() if counts["damaged"]) or "-"
    print(" ".join(f"{key}={totals[key]}" for key in totals) + f" unmatched={unmatched} lost_by={lost_by}"
          f" damaged_by={damaged_by}")
    for problem in problems[:10]:
        print("problem: " + json.dumps(problem)[:400], file=sys.stderr)
    return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("serve-bulk")
    sub.add_argument("--listen", required=True)
    sub.add_argument("--bytes", type=int, required=True)
    sub.add_argument("--log", required=True)
    sub.add_argument("--timeout", type=float, default=30.0)
    sub = commands.add_parser("serve-echo")
    sub.add_argument("--listen", required=True)
    sub.add_argument("--timeout", type=float, default=3600.0)
    for name in ("bulk", "short", "idle"):
        sub = commands.add_parser(name)
        sub.add_argument("--connect", required=True)
        sub.add_argument("--until", type=float, required=True, help="deadline, seconds since the epoch")
        sub.add_argument("--out", required=True)
        sub.add_argument("--name", required=True)
        sub.add_argument("--timeout", type=float, default=30.0, help="seconds per socket operation")
        sub.add_argument("--on-hang", metavar="COMMAND",
                         help="run COMMAND LABEL LOCAL_PORT when a transfer times out (a hang), before closing it")
        if name == "bulk":
            sub.add_argument("--bytes", type=int, required=True)
            sub.add_argument("--id-base", type=int, default=0)
        elif name == "short":
            sub.add_argument("--workers", type=int, default=2)
            sub.add_argument("--pause", type=float, default=0.02, help="seconds between a worker's requests")
        else:
            sub.add_argument("--count", type=int, default=50)
            sub.add_argument("--hold", type=float, default=120.0)
    sub = commands.add_parser("report")
    sub.add_argument("--out", required=True)
    sub.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args(argv)
    handlers = {"serve-bulk": serve_bulk, "serve-echo": serve_echo, "bulk": bulk, "short": short, "idle": idle,
                "report": report}
    try:
        return handlers[args.command](args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
