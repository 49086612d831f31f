#!/usr/bin/env python3
# Usage: pm-driver.py --path a:upa0:198.18.1.1 --path b:upb0:198.18.2.1 --path c:upc0:198.18.3.1:backup
#                     [--remote-port 5201] [--max-seconds 60]
"""A userspace MPTCP path manager for every client-side connection of a namespace, as mptcp-relay's is.

scripts/stress/pm-replay.py replays the relay's path-manager decisions (SUBFLOW_CREATE on B and on C
with the backup flag once a connection is established, SUBFLOW_DESTROY for subflows on a link that
went down, SUBFLOW_CREATE again when it comes back, SET_FLAGS backup=0 on C when no primary path is
up) for ONE connection. This driver reuses its netlink code and planner unchanged and keeps one of its
Connection records per MPTCP token, so that every client connection that leaves from a path's source
address (to --remote-port) is managed, as the relay manages all of its upstream connections.

Run it inside the client namespace with net.mptcp.path_manager=userspace, before the client connects.
Prints "pm-driver: ready" once subscribed, every command with the kernel's answer, and a summary when
it stops (after --max-seconds, or on SIGTERM). Standard library only.
"""

import argparse
import importlib.util
import os
import select
import signal
import sys
import time

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("pm_replay", os.path.join(_here, "..", "stress", "pm-replay.py"))
pr = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pr)


class Driver(pr.Replay):
    def __init__(self, args):
        super().__init__(args)
        self.table = {}  # token -> pm-replay Connection
        self.stopping = False

    def apply(self, command, a):
        token = self.event_fields(a)["token"]
        self.connection = self.table.get(token)
        self.done = False
        replan = super().apply(command, a)
        if self.connection is not None and self.connection.token == token:
            self.table.setdefault(token, self.connection)
        if command == pr.EV_CLOSED:
            self.table.pop(token, None)
            replan = False
        self.connection = None
        self.done = False
        return replan

    def replan(self, why):
        self.last_replan = time.monotonic()
        for c in list(self.table.values()):
            self.connection = c
            self.done = False
            super().replan(why)
        self.connection = None
        self.done = False  # a "close" plan (every allowed path down) closes nothing here

    def run(self):
        deadline = time.monotonic() + self.args.max_seconds
        print("pm-driver: ready", flush=True)
        while not self.stopping and time.monotonic() < deadline:
            timeout = max(0.0, min(pr.REPLAN_INTERVAL, deadline - time.monotonic()))
            due = self.joins_due(self.table.values())
            if due is not None:
                timeout = max(0.0, min(timeout, due - time.monotonic()))
            ready, _, _ = select.select([self.events, self.links], [], [], timeout)
            if self.links in ready:
                self.read_links()
            if self.events in ready:
                self.read_events()
            if time.monotonic() - self.last_replan >= pr.REPLAN_INTERVAL:
                self.replan("periodic")
            elif due is not None and time.monotonic() >= due:
                self.replan("join delay over")
        pr.log(f"pm-driver: summary commands={self.commands} rejected={self.rejected} "
               f"unanswered={self.unanswered} open connections={len(self.table)}")
        return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", action="append", required=True, metavar="NAME:IFACE:SOURCE[:backup]")
    parser.add_argument("--remote-port", type=int, help="only connections to this port")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--hex", action="store_true", help="print every request's bytes")
    parser.add_argument("--join-delay-ms", type=float, default=0.0,
                        help="open joins only this long after ESTABLISHED (default 0: at once)")
    args = parser.parse_args(argv)
    if len(args.path) > 8:
        parser.error("at most 8 paths")
    driver = Driver(args)

    def stop(_signum, _frame):
        driver.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return driver.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
