#!/usr/bin/env python3
"""A minimal RFC 8803 client written from the RFC and docs/PROTOCOL.md, independently of the relay's
Swift codec: sends one Convert request (Connect TLV, optionally mptcp-relay's Cookie TLV), reads the
converter's answer, and prints it as one JSON line:

    {"answer": "success"}                       the converter connected on
    {"answer": "error", "code": 32}             an Error TLV (RFC 8803 section 4.2.7)
    {"answer": "closed"}                        the converter closed without a full answer

Usage:
  convert-client.py --connect 198.18.1.2:8443 --destination 198.19.0.2:5201
                    [--client NAME --key BASE64 [--time-offset SECONDS]]
                    [--save FILE | --replay FILE] [--hold SECONDS] [--tcp] [--timeout SECONDS]

--save writes the request's bytes to FILE; --replay sends FILE's bytes instead of building a request
(a replayed request). --hold keeps a successful connection open that long before closing. The cookie
is built as docs/PROTOCOL.md ("Client authentication") describes. Standard library only.
"""

import argparse
import base64
import hashlib
import hmac
import ipaddress
import json
import os
import socket
import struct
import sys
import time

IPPROTO_MPTCP = 262
MAGIC = 0x2263


def connect_tlv(host, port):
    address = ipaddress.ip_address(host)
    if address.version == 4:
        address = ipaddress.IPv6Address("::ffff:" + host)
    return bytes([10, 5]) + struct.pack(">H", port) + address.packed


def cookie_tlv(name, key, timestamp, connect):
    nonce = os.urandom(16)
    header = bytes([1, len(name)]) + struct.pack(">Q", timestamp) + nonce + name
    mac = hmac.new(key, b"mptcp-relay cookie" + header + connect, hashlib.sha256).digest()
    value = b"\0\0" + header + mac
    value += bytes((-(2 + len(value))) % 4)
    return bytes([22, (2 + len(value)) // 4]) + value


def message(tlvs):
    body = b"".join(tlvs)
    return bytes([1, (4 + len(body)) // 4]) + struct.pack(">H", MAGIC) + body


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connect", required=True, metavar="ADDR:PORT")
    parser.add_argument("--destination", metavar="ADDR:PORT")
    parser.add_argument("--client")
    parser.add_argument("--key")
    parser.add_argument("--time-offset", type=int, default=0)
    parser.add_argument("--save")
    parser.add_argument("--replay")
    parser.add_argument("--hold", type=float, default=0.0)
    parser.add_argument("--tcp", action="store_true", help="plain TCP instead of MPTCP")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)

    if args.replay:
        with open(args.replay, "rb") as f:
            request = f.read()
    else:
        host, port = args.destination.rsplit(":", 1)
        connect = connect_tlv(host.strip("[]"), int(port))
        tlvs = [connect]
        if args.client:
            key = base64.b64decode(args.key)
            tlvs.append(cookie_tlv(args.client.encode(), key, int(time.time()) + args.time_offset, connect))
        request = message(tlvs)
    if args.save:
        with open(args.save, "wb") as f:
            f.write(request)

    host, port = args.connect.rsplit(":", 1)
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, 0 if args.tcp else IPPROTO_MPTCP)
    sock.settimeout(args.timeout)
    sock.connect((host.strip("[]"), int(port)))
    sock.sendall(request)
    try:
        header = read_exactly(sock, 4)
        rest = read_exactly(sock, header[1] * 4 - 4) if header and header[1] >= 1 else None
    except ConnectionResetError:
        header = rest = None
    if header is None or rest is None or header[0] != 1 or struct.unpack(">H", header[2:4])[0] != MAGIC:
        print(json.dumps({"answer": "closed"}), flush=True)
        return 0
    offset = 0
    while offset + 2 <= len(rest):
        kind, words = rest[offset], rest[offset + 1]
        if words == 0:
            break
        if kind == 30:
            print(json.dumps({"answer": "error", "code": rest[offset + 2]}), flush=True)
            return 0
        offset += words * 4
    print(json.dumps({"answer": "success"}), flush=True)
    if args.hold > 0:
        time.sleep(args.hold)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
