#!/usr/bin/env python3
"""Plays systemd's side of Type=notify for a test: runs COMMAND with NOTIFY_SOCKET set to a fresh
datagram socket, prints each notification it receives as `NOTIFY <line>`, sends SIGTERM once READY=1
has arrived (after --hold seconds), and exits when COMMAND does (killing it after --timeout seconds).

Usage: notify-listener.py [--hold S] [--timeout S] COMMAND [ARG...]
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hold", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=20.0)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    arguments = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="mr-notify-")
    path = os.path.join(directory, "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(0.2)
    child = subprocess.Popen(arguments.command, env={**os.environ, "NOTIFY_SOCKET": path})
    deadline = time.monotonic() + arguments.timeout
    ready_at = None
    terminated = False
    try:
        while time.monotonic() < deadline:
            try:
                message = listener.recv(4096).decode()
                for line in message.splitlines():
                    print(f"NOTIFY {line}", flush=True)
                if "READY=1" in message.splitlines() and ready_at is None:
                    ready_at = time.monotonic()
            except socket.timeout:
                pass
            if ready_at is not None and not terminated and time.monotonic() - ready_at >= arguments.hold:
                child.send_signal(signal.SIGTERM)
                terminated = True
            if child.poll() is not None:
                break
        else:
            print("TIMEOUT", flush=True)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        listener.close()
        os.unlink(path)
        os.rmdir(directory)
    print(f"EXIT {child.returncode}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
