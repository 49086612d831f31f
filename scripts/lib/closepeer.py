#!/usr/bin/env python3
"""Who closes first: request/response connections the way a web browser or wrk and a web server end them,
for the network test of the relay's end-of-stream handling (issue 14).

serve --listen ADDR:PORT --count N [--bytes B] [--seconds S] [--coalesce]
    Accepts N connections one after another; on each reads the request (up to 1 KiB), sends B bytes
    (default 1024) and closes at once, as a server that answers `Connection: close` does. With
    --coalesce the bytes go with MSG_MORE, so that they leave in one segment with the FIN (as from a
    server whose response is still queued when it closes). Prints "SERVED <n>" at the end.
request --connect ADDR:PORT --count N [--bytes B] [--seconds S] [--sniff]
    Opens N connections one after another; on each sends a 64-byte request, reads exactly B bytes and
    closes at once, as an HTTP client that knows the response length does: whichever FIN was first decides
    which end keeps the TIME_WAIT. Counts the connections whose end of stream (the server's FIN, passed on
    by the relays) was already there when the last byte was read, and prints
    "REQUESTS <n> ok <ok> eof_first <k>". With --sniff (root), it also watches the namespace's IPv4
    packets from the server's port and counts how the server side's FIN arrived: on the segment with
    the last bytes, or alone after them ("FINS with_data <a> alone <b>").
Every wait is bounded by --seconds (default 60). Standard library only.
"""

import argparse
import select
import socket
import struct
import sys
import threading
import time

ETH_P_IP = 0x0800
TCP_FIN = 0x01


class FinSniffer(threading.Thread):
    """Counts the TCP segments from `port` that carry a FIN, with payload and without."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.with_data = 0
        self.alone = 0
        self.stopping = False
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
        self.sock.settimeout(0.2)

    def run(self):
        while not self.stopping:
            try:
                packet = self.sock.recv(65536)
            except socket.timeout:
                continue
            if len(packet) < 40 or packet[9] != 6:
                continue
            header = (packet[0] & 0x0F) * 4
            total = struct.unpack("!H", packet[2:4])[0]
            source_port = struct.unpack("!H", packet[header:header + 2])[0]
            if source_port != self.port:
                continue
            offset = (packet[header + 12] >> 4) * 4
            flags = packet[header + 13]
            if flags & TCP_FIN:
                if total - header - offset > 0:
                    self.with_data += 1
                else:
                    self.alone += 1


def endpoint(text):
    """ADDR:PORT or [ADDR]:PORT to (family, address, port)."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, host, int(port)


def serve(arguments):
    family, host, port = endpoint(arguments.listen)
    deadline = time.monotonic() + arguments.seconds
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))
    listener.listen(128)
    listener.settimeout(arguments.seconds)
    print("LISTENING", flush=True)
    payload = b"r" * arguments.bytes
    served = 0
    while served < arguments.count and time.monotonic() < deadline:
        connection, _ = listener.accept()
        connection.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            connection.recv(1024)
            connection.sendall(payload, socket.MSG_MORE if arguments.coalesce else 0)
            served += 1
        except OSError:
            pass
        connection.close()
    print(f"SERVED {served}", flush=True)
    return 0 if served == arguments.count else 1


def request(arguments):
    family, host, port = endpoint(arguments.connect)
    deadline = time.monotonic() + arguments.seconds
    sniffer = FinSniffer(port) if arguments.sniff else None
    if sniffer:
        sniffer.start()
    ok = 0
    eof_first = 0
    attempts = 0
    while attempts < arguments.count and time.monotonic() < deadline:
        attempts += 1
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(max(deadline - time.monotonic(), 0.1))
        try:
            sock.connect((host, port))
            sock.sendall(b"q" * 64)
            received = 0
            while received < arguments.bytes:
                chunk = sock.recv(arguments.bytes - received)
                if not chunk:
                    break
                received += len(chunk)
            if received == arguments.bytes:
                ok += 1
                # Without waiting: is the end of stream already queued behind the last byte?
                readable, _, _ = select.select([sock], [], [], 0)
                if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                    eof_first += 1
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
        sock.close()
    print(f"REQUESTS {attempts} ok {ok} eof_first {eof_first}", flush=True)
    if sniffer:
        time.sleep(0.3)
        sniffer.stopping = True
        sniffer.join()
        print(f"FINS with_data {sniffer.with_data} alone {sniffer.alone}", flush=True)
    return 0 if ok == arguments.count else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, flag in (("serve", "--listen"), ("request", "--connect")):
        command = commands.add_parser(name)
        command.add_argument(flag, required=True)
        command.add_argument("--count", type=int, required=True)
        command.add_argument("--bytes", type=int, default=1024)
        command.add_argument("--seconds", type=float, default=60)
        if name == "serve":
            command.add_argument("--coalesce", action="store_true")
        else:
            command.add_argument("--sniff", action="store_true")
    arguments = parser.parse_args()
    return serve(arguments) if arguments.command == "serve" else request(arguments)


if __name__ == "__main__":
    sys.exit(main())
