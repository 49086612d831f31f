#!/usr/bin/env python3
"""Replays the relay's userspace MPTCP path-manager commands on one plain MPTCP connection (no relay).

Run it inside the client namespace (net.mptcp.path_manager=userspace there) before the client
connects. It resolves the `mptcp_pm` generic netlink family and its `mptcp_pm_events` group with
CTRL_CMD_GETFAMILY, follows the links of the given paths over rtnetlink, takes the first
client-side MPTCP connection whose CREATED event leaves from a path's source address (optionally
to --remote-port), and from then on does what mptcp-relay's path manager does for a `standby`
policy (Sources/PathManager: SubflowPlanner, PathManagerService+Connections):

  * once ESTABLISHED: SUBFLOW_CREATE on every up primary path without a subflow, and on every up
    backup path with the backup flag (MPTCP_PM_ADDR_FLAG_BACKUP in the create);
  * no primary up: backups are wanted without the flag (SET_FLAGS backup=0 on an existing one);
  * subflows on down paths: SUBFLOW_DESTROY; order: creations, flag changes, destructions;
  * re-planned on ESTABLISHED, SUB_ESTABLISHED, SUB_CLOSED, on every path transition, and every
    second; a subflow that closes on an up path is held off for 2 s.

Attribute layout, as MPTCPPathManagerRequest/MPTCPAddress build it:
  SUBFLOW_CREATE  TOKEN u32; ADDR{ID u8 = path index + 1, [FLAGS u32 = BACKUP], IF_IDX s32, FAMILY
                  u16, ADDR4}; ADDR_REMOTE{PORT u16, FAMILY, ADDR4}
  SUBFLOW_DESTROY TOKEN; ADDR{PORT, FAMILY, ADDR4}; ADDR_REMOTE{PORT, FAMILY, ADDR4}
  SET_FLAGS       TOKEN; ADDR{FLAGS u32 (always), PORT, FAMILY, ADDR4}; ADDR_REMOTE{PORT, FAMILY, ADDR4}

Every command and the kernel's ack (errno) is printed with a timestamp; events too. A line
"pm-replay: ready" says the sockets are subscribed. Exits when the connection closes, after
--max-seconds, or on SIGTERM; the last line is a summary ("rejected=N"). Standard library only.

Usage: pm-replay.py --path a:upa0:198.18.1.1 --path b:upb0:198.18.2.1 \
           --path c:upc0:198.18.3.1:backup [--remote-port 5201] [--max-seconds 120] [--hex]
"""

import argparse
import errno
import os
import select
import signal
import socket
import struct
import sys
import time

# --- netlink basics -------------------------------------------------------------------------------
NETLINK_ROUTE = 0
NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLM_F_DUMP = 0x300
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLA_F_NESTED = 0x8000
NLA_TYPE_MASK = 0x3FFF

GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID = 1
CTRL_ATTR_FAMILY_NAME = 2
CTRL_ATTR_MCAST_GROUPS = 7
CTRL_ATTR_MCAST_GRP_NAME = 1
CTRL_ATTR_MCAST_GRP_ID = 2

RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTMGRP_LINK = 1
IFLA_IFNAME = 3
IFF_UP = 0x1
IFF_LOWER_UP = 0x10000

# --- mptcp_pm (include/uapi/linux/mptcp_pm.h) -----------------------------------------------------
MPTCP_PM_VER = 1
CMD_SET_FLAGS = 7
CMD_SUBFLOW_CREATE = 10
CMD_SUBFLOW_DESTROY = 11
CMD_REMOVE = 9
CMD_NAMES = {CMD_SET_FLAGS: "SET_FLAGS", CMD_SUBFLOW_CREATE: "SUBFLOW_CREATE",
             CMD_SUBFLOW_DESTROY: "SUBFLOW_DESTROY", CMD_REMOVE: "REMOVE"}
PM_ATTR_LOC_ID = 5
PM_ATTR_ADDR = 1
PM_ATTR_TOKEN = 4
PM_ATTR_ADDR_REMOTE = 6
ADDR_ATTR_FAMILY = 1
ADDR_ATTR_ID = 2
ADDR_ATTR_ADDR4 = 3
ADDR_ATTR_ADDR6 = 4
ADDR_ATTR_PORT = 5
ADDR_ATTR_FLAGS = 6
ADDR_ATTR_IF_IDX = 7
ADDR_FLAG_BACKUP = 1 << 2

EV_CREATED, EV_ESTABLISHED, EV_CLOSED = 1, 2, 3
EV_ANNOUNCED, EV_REMOVED = 6, 7
EV_SUB_ESTABLISHED, EV_SUB_CLOSED, EV_SUB_PRIORITY = 10, 11, 13
EV_NAMES = {1: "CREATED", 2: "ESTABLISHED", 3: "CLOSED", 6: "ANNOUNCED", 7: "REMOVED",
            10: "SUB_ESTABLISHED", 11: "SUB_CLOSED", 13: "SUB_PRIORITY", 15: "LISTENER_CREATED",
            16: "LISTENER_CLOSED"}
# MPTCP_ATTR_* of events
A_TOKEN, A_FAMILY, A_LOC_ID, A_REM_ID = 1, 2, 3, 4
A_SADDR4, A_SADDR6, A_DADDR4, A_DADDR6 = 5, 6, 7, 8
A_SPORT, A_DPORT, A_BACKUP, A_ERROR, A_FLAGS = 9, 10, 11, 12, 13
A_IF_IDX, A_RESET_REASON, A_RESET_FLAGS, A_SERVER_SIDE = 15, 16, 17, 18
EV_FLAG_SERVER_SIDE = 1 << 1

HOLD_OFF = 2.0        # PathManagerService.holdOffMilliseconds
REPLAN_INTERVAL = 1.0  # PathManagerService.replanIntervalMilliseconds
ACK_TIMEOUT = 2.0

START = time.monotonic()


def log(text):
    print(f"[{time.monotonic() - START:8.3f}] {text}", flush=True)


def attr(kind, payload):
    """One netlink attribute, padded to 4 bytes."""
    raw = struct.pack("=HH", 4 + len(payload), kind) + payload
    return raw + b"\0" * (-len(raw) % 4)


def nested(kind, payload):
    return attr(kind | NLA_F_NESTED, payload)


def parse_attrs(data):
    """{type: payload} of a run of attributes (the last of each type wins; none repeat here)."""
    out = {}
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4 or offset + length > len(data):
            break
        out[kind & NLA_TYPE_MASK] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return out


def parse_attr_list(data):
    """[(type, payload)] of a run of attributes, in order (for arrays such as MCAST_GROUPS)."""
    out = []
    offset = 0
    while offset + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, offset)
        if length < 4 or offset + length > len(data):
            break
        out.append((kind & NLA_TYPE_MASK, data[offset + 4:offset + length]))
        offset += (length + 3) & ~3
    return out


def messages(data):
    """(type, flags, seq, payload) of each netlink message in a datagram."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", data, offset)
        if length < 16 or offset + length > len(data):
            break
        yield kind, flags, seq, data[offset + 16:offset + length]
        offset += (length + 3) & ~3


class Requests:
    """A netlink socket for request/ack exchanges, with its own sequence numbers."""

    def __init__(self, protocol):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol)
        self.sock.bind((0, 0))
        self.sock.settimeout(ACK_TIMEOUT)
        self.seq = int(time.time()) & 0xFFFF

    def send(self, kind, flags, body):
        self.seq += 1
        header = struct.pack("=IHHII", 16 + len(body), kind, flags, self.seq, 0)
        self.sock.send(header + body)
        return self.seq

    def collect(self, seq):
        """Replies to `seq` until its ack (NLMSG_ERROR) or NLMSG_DONE: (errno, [payloads])."""
        replies = []
        deadline = time.monotonic() + ACK_TIMEOUT
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            for kind, _flags, rseq, payload in messages(data):
                if rseq != seq:
                    continue
                if kind == NLMSG_ERROR:
                    return -struct.unpack_from("=i", payload)[0], replies
                if kind == NLMSG_DONE:
                    return 0, replies
                replies.append((kind, payload))
        return None, replies  # no answer in time


def resolve_family(name, group_name):
    """(family id, multicast group id) of a generic netlink family, via CTRL_CMD_GETFAMILY."""
    ctrl = Requests(NETLINK_GENERIC)
    body = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0")
    seq = ctrl.send(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, body)
    err, replies = ctrl.collect(seq)
    ctrl.sock.close()
    if err or not replies:
        raise SystemExit(f"pm-replay: CTRL_CMD_GETFAMILY {name}: errno {err}")
    attrs = parse_attrs(replies[0][1][4:])
    family = struct.unpack("=H", attrs[CTRL_ATTR_FAMILY_ID][:2])[0]
    group = None
    for _index, entry in parse_attr_list(attrs.get(CTRL_ATTR_MCAST_GROUPS, b"")):
        fields = parse_attrs(entry)
        if fields.get(CTRL_ATTR_MCAST_GRP_NAME, b"").rstrip(b"\0").decode() == group_name:
            group = struct.unpack("=I", fields[CTRL_ATTR_MCAST_GRP_ID][:4])[0]
    if group is None:
        raise SystemExit(f"pm-replay: family {name} has no multicast group {group_name}")
    return family, group


# --- addresses as MPTCPAddress.append writes them -------------------------------------------------
def pm_address(address, port=None, ident=None, flags=None, ifindex=None):
    """The inside of ADDR / ADDR_REMOTE, in the relay's (iproute2's) order: id, flags, ifindex, port,
    family, address."""
    body = b""
    if ident is not None:
        body += attr(ADDR_ATTR_ID, struct.pack("=B", ident))
    if flags is not None:
        body += attr(ADDR_ATTR_FLAGS, struct.pack("=I", flags))
    if ifindex is not None:
        body += attr(ADDR_ATTR_IF_IDX, struct.pack("=i", ifindex))
    if port is not None:
        body += attr(ADDR_ATTR_PORT, struct.pack("=H", port))  # host order, unlike the events
    if ":" in address:
        body += attr(ADDR_ATTR_FAMILY, struct.pack("=H", socket.AF_INET6))
        body += attr(ADDR_ATTR_ADDR6, socket.inet_pton(socket.AF_INET6, address))
    else:
        body += attr(ADDR_ATTR_FAMILY, struct.pack("=H", socket.AF_INET))
        body += attr(ADDR_ATTR_ADDR4, socket.inet_pton(socket.AF_INET, address))
    return body


class Path:
    def __init__(self, index, spec):
        parts = spec.split(":")
        if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("primary", "backup")):
            raise SystemExit(f"pm-replay: bad --path {spec!r}: NAME:IFACE:SOURCE[:primary|backup]")
        self.index = index
        self.name, self.interface, self.source = parts[:3]
        self.backup_class = len(parts) == 4 and parts[3] == "backup"
        self.ifindex = None
        self.up = False


class Subflow:
    def __init__(self, path, local, remote, backup, local_id):
        self.path = path
        self.local = local      # (address, port)
        self.remote = remote    # (address, port)
        self.backup = backup
        self.local_id = local_id

    def __repr__(self):
        return (f"{self.local[0]}:{self.local[1]}(id {self.local_id}{', backup' if self.backup else ''})")


class Connection:
    def __init__(self, token, remote, initial):
        self.token = token
        self.remote = remote
        self.subflows = [initial]
        self.creating = 0
        self.established = False
        self.established_at = None  # monotonic time of the ESTABLISHED event
        self.hold_off = {}  # path index -> monotonic deadline


class Replay:
    def __init__(self, args):
        self.args = args
        self.paths = [Path(i, spec) for i, spec in enumerate(args.path)]
        self.primaries = [p.index for p in self.paths if not p.backup_class]
        self.backups = [p.index for p in self.paths if p.backup_class]
        self.family, group = resolve_family("mptcp_pm", "mptcp_pm_events")
        self.events = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.events.bind((0, 0))
        self.events.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group)
        self.events.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.pm = Requests(NETLINK_GENERIC)
        self.links = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.links.bind((0, RTMGRP_LINK))
        self.connection = None
        self.done = False
        self.commands = 0
        self.rejected = 0
        self.unanswered = 0
        self.last_replan = 0.0
        self.dump_links()
        log(f"pm-replay: mptcp_pm family {self.family}, mptcp_pm_events group {group}; paths "
            + ", ".join(f"{p.name}={p.interface}/{p.source} ifindex {p.ifindex} "
                        f"{'backup' if p.backup_class else 'primary'} {'up' if p.up else 'down'}"
                        for p in self.paths))

    # --- links ----------------------------------------------------------------------------------
    def dump_links(self):
        rt = Requests(NETLINK_ROUTE)
        seq = rt.send(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBHiII", 0, 0, 0, 0, 0, 0))
        deadline = time.monotonic() + ACK_TIMEOUT
        finished = False
        while not finished and time.monotonic() < deadline:
            try:
                data = rt.sock.recv(65536)
            except socket.timeout:
                break
            for kind, _flags, rseq, payload in messages(data):
                if rseq != seq:
                    continue
                if kind in (NLMSG_DONE, NLMSG_ERROR):
                    finished = True
                elif kind == RTM_NEWLINK:
                    self.link_message(kind, payload, initial=True)
        rt.sock.close()
        if not finished:
            raise SystemExit("pm-replay: the link dump did not finish")

    def link_message(self, kind, payload, initial=False):
        if len(payload) < 16:
            return False
        _family, _pad, _type, index, flags, _change = struct.unpack_from("=BBHiII", payload)
        name = parse_attrs(payload[16:]).get(IFLA_IFNAME, b"").rstrip(b"\0").decode()
        changed = False
        for path in self.paths:
            if path.interface != name:
                continue
            path.ifindex = index
            up = kind == RTM_NEWLINK and flags & IFF_UP != 0 and flags & IFF_LOWER_UP != 0
            if up != path.up:
                path.up = up
                changed = True
                if not initial:
                    log(f"path {path.name} ({name}) {'came up' if up else 'went down'}")
        return changed

    def read_links(self):
        changed = False
        data = self.links.recv(65536)
        for kind, _flags, _seq, payload in messages(data):
            if kind in (RTM_NEWLINK, RTM_DELLINK):
                changed |= self.link_message(kind, payload)
        if changed:
            self.replan("path transition")

    def up_mask(self):
        return sum(1 << p.index for p in self.paths if p.up)

    def path_of(self, address):
        for path in self.paths:
            if path.source == address:
                return path.index
        return None

    # --- events ---------------------------------------------------------------------------------
    def read_events(self):
        data = self.events.recv(1 << 16)
        replan = False
        for kind, _flags, _seq, payload in messages(data):
            if kind != self.family or len(payload) < 4:
                continue
            replan |= self.apply(payload[0], parse_attrs(payload[4:]))
        if replan:
            self.replan("event")

    @staticmethod
    def event_fields(a):
        def ip(key4, key6):
            if key4 in a:
                return socket.inet_ntop(socket.AF_INET, a[key4][:4])
            if key6 in a:
                return socket.inet_ntop(socket.AF_INET6, a[key6][:16])
            return None

        fields = {
            "token": struct.unpack("=I", a[A_TOKEN][:4])[0] if A_TOKEN in a else 0,
            "saddr": ip(A_SADDR4, A_SADDR6),
            "daddr": ip(A_DADDR4, A_DADDR6),
            "sport": struct.unpack("!H", a[A_SPORT][:2])[0] if A_SPORT in a else None,
            "dport": struct.unpack("!H", a[A_DPORT][:2])[0] if A_DPORT in a else None,
            "loc_id": a[A_LOC_ID][0] if A_LOC_ID in a else None,
            "rem_id": a[A_REM_ID][0] if A_REM_ID in a else None,
            "backup": a[A_BACKUP][0] != 0 if A_BACKUP in a else None,
            "error": a[A_ERROR][0] if A_ERROR in a else None,
            "flags": struct.unpack("=H", a[A_FLAGS][:2])[0] if A_FLAGS in a else None,
            "if_idx": struct.unpack("=i", a[A_IF_IDX][:4])[0] if A_IF_IDX in a else None,
            "server_side": a[A_SERVER_SIDE][0] != 0 if A_SERVER_SIDE in a else None,
            "reset_reason": struct.unpack("=I", a[A_RESET_REASON][:4])[0] if A_RESET_REASON in a else None,
        }
        return fields

    def apply(self, command, a):
        """PathManagerService.apply(_:): updates the table; True when the connection is re-planned."""
        e = self.event_fields(a)
        name = EV_NAMES.get(command, str(command))
        shown = " ".join(f"{k}={v}" for k, v in e.items() if v is not None and k != "token")
        mine = self.connection is not None and e["token"] == self.connection.token
        if command in (EV_CREATED, EV_ESTABLISHED) and e["server_side"] is None:
            e["server_side"] = (e["flags"] or 0) & EV_FLAG_SERVER_SIDE != 0
        if command == EV_CREATED and self.connection is None and not e["server_side"]:
            path = self.path_of(e["saddr"])
            if path is not None and (self.args.remote_port is None or e["dport"] == self.args.remote_port):
                initial = Subflow(path, (e["saddr"], e["sport"]), (e["daddr"], e["dport"]), False, 0)
                self.connection = Connection(e["token"], (e["daddr"], e["dport"]), initial)
                mine = True
        if not mine:
            log(f"event {name} token={e['token']:#010x} {shown} (not ours)")
            return False
        log(f"event {name} token={e['token']:#010x} {shown}")
        c = self.connection
        local = (e["saddr"], e["sport"])
        path = self.path_of(e["saddr"])
        if command == EV_CREATED:
            return False
        if command == EV_ESTABLISHED:
            c.established = True
            c.established_at = time.monotonic()
            return True
        if command == EV_SUB_ESTABLISHED:
            if path is None or e["sport"] is None:
                return False
            c.creating &= ~(1 << path)
            remote = (e["daddr"], e["dport"])
            if not any(s.local == local and s.remote == remote for s in c.subflows):
                c.subflows.append(Subflow(path, local, remote, bool(e["backup"]), e["loc_id"]))
            return True
        if command == EV_SUB_CLOSED:
            if path is None or e["sport"] is None:
                return False
            known = any(s.local == local for s in c.subflows)
            c.subflows = [s for s in c.subflows if s.local != local]
            was_creating = c.creating & (1 << path) != 0
            c.creating &= ~(1 << path)
            if (was_creating or known) and self.paths[path].up:
                c.hold_off[path] = time.monotonic() + HOLD_OFF
                log(f"  hold-off: path {self.paths[path].name} for {HOLD_OFF:.0f} s")
            return True
        if command == EV_SUB_PRIORITY:
            for s in c.subflows:
                if s.local == local and e["backup"] is not None:
                    s.backup = e["backup"]
            return False
        if command == EV_CLOSED:
            self.done = True
            return False
        return False

    # --- planning (SubflowPlanner) ----------------------------------------------------------------
    def wanted(self, up):
        primaries = [i for i in self.primaries if up & (1 << i)]
        backups = [i for i in self.backups if up & (1 << i)]
        if not primaries:
            return {i: False for i in backups}
        wanted = {i: False for i in primaries}
        for i in backups:  # standby
            wanted[i] = True
        return wanted

    def actions(self, c, up, held):
        wanted = self.wanted(up)
        if not wanted:
            return [("close",)]
        creations, flag_changes, destructions, unwanted_up = [], [], [], []
        covered = set()
        for s in c.subflows:
            if s.path not in wanted or s.path in covered:
                if up & (1 << s.path):
                    unwanted_up.append(s)
                else:
                    destructions.append(("destroy", s))
                continue
            covered.add(s.path)
            if s.backup != wanted[s.path]:
                flag_changes.append(("set_backup", s, wanted[s.path]))
        if covered:
            destructions += [("destroy", s) for s in unwanted_up]
        if c.established and time.monotonic() >= c.established_at + self.args.join_delay_ms / 1000:
            for path in sorted(wanted):
                bit = 1 << path
                if path in covered or c.creating & bit or held & bit:
                    continue
                creations.append(("create", path, wanted[path]))
        return creations + flag_changes + destructions

    def replan(self, why):
        self.last_replan = time.monotonic()
        c = self.connection
        if c is None or self.done:
            return
        now = time.monotonic()
        held = sum(1 << p for p, until in c.hold_off.items() if until > now)
        plan = self.actions(c, self.up_mask(), held)
        if plan:
            log(f"replan ({why}): subflows {c.subflows}, up {[p.name for p in self.paths if p.up]}")
        for action in plan:
            self.perform(action)

    def perform(self, action):
        c = self.connection
        tok = struct.pack("=I", c.token)
        if action[0] == "create":
            _, path, backup = action
            p = self.paths[path]
            local = pm_address(p.source, ident=path + 1, flags=ADDR_FLAG_BACKUP if backup else None,
                               ifindex=p.ifindex)
            remote = pm_address(c.remote[0], port=c.remote[1])
            body = attr(PM_ATTR_TOKEN, tok) + nested(PM_ATTR_ADDR, local) + nested(PM_ATTR_ADDR_REMOTE, remote)
            what = (f"{p.source} id {path + 1}{' flags backup' if backup else ''} if_idx {p.ifindex} "
                    f"-> {c.remote[0]}:{c.remote[1]}")
            if self.request(CMD_SUBFLOW_CREATE, body, what) == 0:
                c.creating |= 1 << path
            else:
                c.hold_off[path] = time.monotonic() + HOLD_OFF
        elif action[0] == "destroy":
            s = action[1]
            if not self.paths[s.path].up and s.local_id is not None:
                # As the relay does: withdraw the dead path's address (REMOVE_ADDR) before destroying.
                self.request(CMD_REMOVE, attr(PM_ATTR_TOKEN, tok) + attr(PM_ATTR_LOC_ID, bytes([s.local_id])),
                             f"id {s.local_id} (path {self.paths[s.path].name})")
            local = pm_address(s.local[0], port=s.local[1])
            remote = pm_address(s.remote[0], port=s.remote[1])
            body = attr(PM_ATTR_TOKEN, tok) + nested(PM_ATTR_ADDR, local) + nested(PM_ATTR_ADDR_REMOTE, remote)
            self.request(CMD_SUBFLOW_DESTROY, body,
                         f"{s.local[0]}:{s.local[1]} -> {s.remote[0]}:{s.remote[1]} (path {self.paths[s.path].name})")
            # The relay forgets the subflow whatever the kernel answered.
            c.subflows = [x for x in c.subflows if not (x.local == s.local and x.remote == s.remote)]
        elif action[0] == "set_backup":
            _, s, backup = action
            local = pm_address(s.local[0], port=s.local[1], flags=ADDR_FLAG_BACKUP if backup else 0)
            remote = pm_address(s.remote[0], port=s.remote[1])
            body = attr(PM_ATTR_TOKEN, tok) + nested(PM_ATTR_ADDR, local) + nested(PM_ATTR_ADDR_REMOTE, remote)
            err = self.request(CMD_SET_FLAGS, body,
                               f"{s.local[0]}:{s.local[1]} -> {s.remote[0]}:{s.remote[1]} backup={int(backup)} "
                               f"(path {self.paths[s.path].name})")
            if err == 0:
                s.backup = backup
            else:
                c.hold_off[s.path] = time.monotonic() + HOLD_OFF
        elif action[0] == "close":
            log("every allowed path is down: the relay would close the connection (nothing sent)")
            self.done = True

    def request(self, command, attrs, what):
        body = struct.pack("=BBH", command, MPTCP_PM_VER, 0) + attrs
        seq = self.pm.send(self.family, NLM_F_REQUEST | NLM_F_ACK, body)
        self.commands += 1
        if self.args.hex:
            header = struct.pack("=IHHII", 16 + len(body), self.family, NLM_F_REQUEST | NLM_F_ACK, seq, 0)
            log(f"  bytes {(header + body).hex()}")
        err, _ = self.pm.collect(seq)
        name = CMD_NAMES[command]
        if err is None:
            self.unanswered += 1
            log(f"command {name} {what}: NO ANSWER in {ACK_TIMEOUT} s")
            return -1
        if err:
            self.rejected += 1
            log(f"command {name} {what}: REJECTED errno {err} ({errno.errorcode.get(err, '?')}: {os.strerror(err)})")
        else:
            log(f"command {name} {what}: ack")
        return err

    def joins_due(self, connections):
        """The soonest time a delayed join of CONNECTIONS becomes due (None: none waits)."""
        delay = self.args.join_delay_ms / 1000
        due = [c.established_at + delay for c in connections
               if c is not None and c.established and time.monotonic() < c.established_at + delay]
        return min(due) if due else None

    # --- main loop ------------------------------------------------------------------------------
    def run(self):
        deadline = time.monotonic() + self.args.max_seconds
        print("pm-replay: ready", flush=True)
        while not self.done and time.monotonic() < deadline:
            timeout = max(0.0, min(REPLAN_INTERVAL, deadline - time.monotonic()))
            due = self.joins_due([self.connection])
            if due is not None:
                timeout = max(0.0, min(timeout, due - time.monotonic()))
            ready, _, _ = select.select([self.events, self.links], [], [], timeout)
            if self.links in ready:
                self.read_links()
            if self.events in ready:
                self.read_events()
            if time.monotonic() - self.last_replan >= REPLAN_INTERVAL:
                self.replan("periodic")
            elif due is not None and time.monotonic() >= due:
                self.replan("join delay over")
        if not self.done:
            log(f"pm-replay: stopping after {self.args.max_seconds} s")
        log(f"pm-replay: summary commands={self.commands} rejected={self.rejected} unanswered={self.unanswered} "
            f"connection={'%#010x' % self.connection.token if self.connection else 'none'}")
        return 0


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", action="append", required=True, metavar="NAME:IFACE:SOURCE[:backup]",
                        help="a path, in the relay's order (local address id = position + 1)")
    parser.add_argument("--remote-port", type=int, help="only a connection to this port")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop after this long")
    parser.add_argument("--hex", action="store_true", help="print every request's bytes")
    parser.add_argument("--join-delay-ms", type=float, default=0.0,
                        help="open joins only this long after ESTABLISHED (default 0: at once)")
    args = parser.parse_args(argv)
    if len(args.path) > 8:
        parser.error("at most 8 paths")
    replay = Replay(args)

    def stop(_signum, _frame):
        replay.done = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return replay.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
