#!/usr/bin/env python3
"""How connections end when a relay dies: both ends of N idle connections say whether they saw a reset
or a clean end of stream (EOF), for the network tests of a relay killed mid-connection.

serve --listen ADDR:PORT --count N [--seconds S]
    Accepts N connections; reads each until it ends; prints "READY <i>" once connection i has delivered
    its first --bytes bytes, and "END <i> reset|eof|timeout <bytes>" when it ends.
hold --connect ADDR:PORT --count N [--bytes B] [--seconds S]
    Opens N connections, sends B bytes on each (default 1000), then reads until each ends and prints
    "END <i> reset|eof|timeout <bytes>".
Every wait is bounded by --seconds (default 30). Standard library only.
"""

import argparse
import socket
import sys
import threading
import time

# Threads report at the same moment (one kill resets every connection): one lock, one write per line, so
# that two reports never interleave on a line.
OUTPUT = threading.Lock()


def say(line):
    """Prints one whole line."""
    with OUTPUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def watch(connection, index, deadline, announce_after=None):
    """Reads until the connection ends; prints how."""
    received = 0
    announced = announce_after is None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            say(f"END {index} timeout {received}")
            return
        connection.settimeout(min(remaining, 1.0))
        try:
            chunk = connection.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            say(f"END {index} reset {received}")
            return
        except OSError as error:
            say(f"END {index} error:{error.errno} {received}")
            return
        if not chunk:
            say(f"END {index} eof {received}")
            return
        received += len(chunk)
        if not announced and received >= announce_after:
            announced = True
            say(f"READY {index}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["serve", "hold"])
    parser.add_argument("--listen")
    parser.add_argument("--connect")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--bytes", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30)
    arguments = parser.parse_args()
    deadline = time.monotonic() + arguments.seconds
    threads = []
    if arguments.mode == "serve":
        host, port = arguments.listen.rsplit(":", 1)
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, int(port)))
        listener.listen(64)
        listener.settimeout(arguments.seconds)
        say("LISTENING")
        for index in range(arguments.count):
            try:
                connection, _ = listener.accept()
            except socket.timeout:
                break
            thread = threading.Thread(target=watch, args=(connection, index, deadline, arguments.bytes))
            thread.start()
            threads.append(thread)
    else:
        host, port = arguments.connect.rsplit(":", 1)
        for index in range(arguments.count):
            connection = socket.create_connection((host, int(port)), timeout=10)
            connection.sendall(b"x" * arguments.bytes)
            thread = threading.Thread(target=watch, args=(connection, index, deadline))
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
