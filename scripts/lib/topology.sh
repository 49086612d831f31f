# shellcheck shell=bash
#
# The reference topology of TESTING.md, in network namespaces with a per-run prefix.
#
#   cli ──── gw ════ uplink A ════ srv ──── dst
#             │ ════ uplink B ════ │
#
#   cli  eth0  198.18.0.2/24   default via gw
#   gw   lan0  198.18.0.1/24
#        upa0  198.18.1.1/24   table 101: default via 198.18.1.2 (ip rule from 198.18.1.1)
#        upb0  198.18.2.1/24   table 102: default via 198.18.2.2 (ip rule from 198.18.2.1)
#   srv  upa0  198.18.1.2/24
#        upb0  198.18.2.2/24
#        lan0  198.19.0.1/24
#   dst  eth0  198.19.0.2/24   default via srv
#
# gw and srv forward, and route 198.19.0.0/24 and 198.18.0.0/24 over uplink A, so that the
# "direct" path cli -> dst works without any proxy (the upper bound for benchmarks).
# MPTCP: limits raised in gw and srv; gw has a `subflow` endpoint on 198.18.2.1, so the kernel
# path manager opens a second subflow over uplink B for every MPTCP connection that gw opens.
#
# Interfaces are created directly inside their namespaces, so their names never collide with
# another run's, and namespaces carry the run's prefix. Only addresses from 198.18.0.0/15 are
# used; nothing leaves the namespaces.
#
# Usage (from a script with `set -euo pipefail`):
#   source scripts/lib/topology.sh
#   P="mr$$-"
#   trap 'topo_destroy "$P"' EXIT
#   topo_create "$P" 100mbit      # rate is optional: "" or omitted means no tbf
#   ip netns exec "${P}cli" ...
#   topo_if_tx_bytes "${P}gw" upa0

# Names of the four namespaces for a prefix, in creation order.
topo_namespaces() {
    local prefix=$1
    printf '%s\n' "${prefix}cli" "${prefix}gw" "${prefix}srv" "${prefix}dst"
}

# Starts COMMAND in the background inside NS, output to LOGFILE, and appends its pid to the caller's
# `pids` array (which the caller's cleanup ends): topo_start_in NS LOGFILE COMMAND...
topo_start_in() {
    local ns=$1 log=$2
    shift 2
    ip netns exec "$ns" "$@" >"$log" 2>&1 &
    pids+=("$!")
}

# Runs a command inside namespace NS.
topo_exec() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@"
}

# Creates a veth pair with one end in each namespace: topo_veth NS_A IF_A NS_B IF_B.
topo_veth() {
    local ns_a=$1 if_a=$2 ns_b=$3 if_b=$4
    ip link add name "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b"
}

# Adds ADDR/LEN to IF in NS and brings the link up.
topo_addr() {
    local ns=$1 dev=$2 cidr=$3
    ip -n "$ns" addr add "$cidr" dev "$dev"
    ip -n "$ns" link set "$dev" up
}

# Puts a token bucket filter of RATE (tc syntax, e.g. 100mbit) on the egress of IF in NS.
topo_rate_limit() {
    local ns=$1 dev=$2 rate=$3
    # burst must hold at least rate/HZ; 256 KiB covers 100mbit-1gbit with GSO segments.
    ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "$rate" burst 256kb latency 20ms
}

# Base settings of a fresh namespace: loopback up, MPTCP on, no reverse-path filtering
# (subflows arrive on one uplink for an address that lives on the other).
topo_ns_base() {
    local ns=$1
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.mptcp.enabled=1
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.default.rp_filter=0
}

# Creates the topology: topo_create PREFIX [RATE]. RATE (e.g. 100mbit) limits both ends of both
# uplinks with tbf; empty or omitted means unlimited. On failure, deletes what it made.
topo_create() {
    local prefix=${1:?topo_create needs a prefix}
    local rate=${2:-}

    if ! topo_create_steps "$prefix" "$rate"; then
        echo "topology: creating ${prefix}* failed; removing it" >&2
        topo_destroy "$prefix"
        return 1
    fi
}

# The steps of topo_create, each one checked; kept apart so that the caller can clean up.
topo_create_steps() {
    local prefix=$1 rate=$2
    local cli="${prefix}cli" gw="${prefix}gw" srv="${prefix}srv" dst="${prefix}dst"
    local ns dev

    for ns in "$cli" "$gw" "$srv" "$dst"; do
        ip netns add "$ns" || return 1
        topo_ns_base "$ns" || return 1
    done

    topo_veth "$cli" eth0 "$gw" lan0 || return 1
    topo_veth "$gw" upa0 "$srv" upa0 || return 1
    topo_veth "$gw" upb0 "$srv" upb0 || return 1
    topo_veth "$srv" lan0 "$dst" eth0 || return 1

    topo_addr "$cli" eth0 198.18.0.2/24 || return 1
    topo_addr "$gw" lan0 198.18.0.1/24 || return 1
    topo_addr "$gw" upa0 198.18.1.1/24 || return 1
    topo_addr "$gw" upb0 198.18.2.1/24 || return 1
    topo_addr "$srv" upa0 198.18.1.2/24 || return 1
    topo_addr "$srv" upb0 198.18.2.2/24 || return 1
    topo_addr "$srv" lan0 198.19.0.1/24 || return 1
    topo_addr "$dst" eth0 198.19.0.2/24 || return 1

    # Edge hosts: everything through their router.
    ip -n "$cli" route add default via 198.18.0.1 dev eth0 || return 1
    ip -n "$dst" route add default via 198.19.0.1 dev eth0 || return 1

    # Routers: forwarding for the direct path, which uses uplink A.
    ip netns exec "$gw" sysctl -qw net.ipv4.ip_forward=1 || return 1
    ip netns exec "$srv" sysctl -qw net.ipv4.ip_forward=1 || return 1
    ip -n "$gw" route add 198.19.0.0/24 via 198.18.1.2 dev upa0 || return 1
    ip -n "$srv" route add 198.18.0.0/24 via 198.18.1.1 dev upa0 || return 1

    # gw: one routing table per uplink, selected by source address (the MPTCP way).
    ip -n "$gw" rule add from 198.18.1.1 table 101 || return 1
    ip -n "$gw" route add 198.18.1.0/24 dev upa0 scope link src 198.18.1.1 table 101 || return 1
    ip -n "$gw" route add default via 198.18.1.2 dev upa0 table 101 || return 1
    ip -n "$gw" rule add from 198.18.2.1 table 102 || return 1
    ip -n "$gw" route add 198.18.2.0/24 dev upb0 scope link src 198.18.2.1 table 102 || return 1
    ip -n "$gw" route add default via 198.18.2.2 dev upb0 table 102 || return 1

    # MPTCP: room for subflows on both ends; gw opens an extra subflow from uplink B.
    ip -n "$gw" mptcp limits set subflows 8 add_addr_accepted 8 || return 1
    ip -n "$srv" mptcp limits set subflows 8 add_addr_accepted 8 || return 1
    ip -n "$gw" mptcp endpoint add 198.18.2.1 dev upb0 subflow || return 1

    if [[ -n $rate ]]; then
        for dev in upa0 upb0; do
            topo_rate_limit "$gw" "$dev" "$rate" || return 1
            topo_rate_limit "$srv" "$dev" "$rate" || return 1
        done
    fi
    return 0
}

# Kills every process still running inside the prefix's namespaces, by id, then deletes the
# namespaces. Safe to call twice, from traps, and on a half-built topology.
topo_destroy() {
    local prefix=${1:?topo_destroy needs a prefix}
    local ns pid pids round
    # The scale-out converters (topo_add_converters), when they were made.
    for ns in $(topo_namespaces "$prefix") "${prefix}cv1" "${prefix}cv2"; do
        [[ -e /run/netns/$ns ]] || continue
        for round in 1 2 3 4 5 6 7 8 9 10; do
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            [[ -n $pids ]] || break
            for pid in $pids; do
                if ((round < 6)); then
                    kill -TERM "$pid" 2>/dev/null || true
                else
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            done
            sleep 0.2
        done
        ip netns del "$ns" 2>/dev/null || true
    done
}

# Prints the transmitted byte counter of IF in NS.
topo_if_tx_bytes() {
    local ns=$1 dev=$2
    ip netns exec "$ns" cat "/sys/class/net/$dev/statistics/tx_bytes"
}

# Prints the received byte counter of IF in NS.
topo_if_rx_bytes() {
    local ns=$1 dev=$2
    ip netns exec "$ns" cat "/sys/class/net/$dev/statistics/rx_bytes"
}

# Waits until something listens on TCP PORT in NS: topo_wait_listen NS PORT [SECONDS].
topo_wait_listen() {
    local ns=$1 port=$2 seconds=${3:-10}
    local tries=$((seconds * 10)) i
    for ((i = 0; i < tries; i++)); do
        if ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    echo "topology: nothing listens on port $port in $ns after ${seconds}s" >&2
    return 1
}

# Prepares the topology for thousands of connections (the load and hostile-peer tests):
# topo_tune_load PREFIX. In every namespace: TIME_WAIT sockets may be reused for new outgoing
# connections after a second (tcp_tw_reuse = 1) and ephemeral ports span 10000-65000, so that the
# dialing hosts (cli, gw, srv) do not run out of ports while 60 s of TIME_WAIT accumulate; and TCP
# buffers grow to 1 MiB at most (instead of 4 and 32 MiB), so that a peer that stops reading holds
# a few MiB of kernel memory per connection, not tens (tcp_mem is shared by the whole machine).
topo_tune_load() {
    local prefix=${1:?topo_tune_load needs a prefix}
    local ns
    for ns in $(topo_namespaces "$prefix"); do
        ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
            net.ipv4.ip_local_port_range="10000 65000" \
            net.ipv4.tcp_rmem="4096 131072 1048576" \
            net.ipv4.tcp_wmem="4096 16384 1048576" || return 1
    done
}

# Takes gw's MPTCP `subflow` endpoints away, so that the in-kernel path manager opens no join subflow:
# topo_no_joins PREFIX. Every connection then runs on its initial subflow only. For the suites that test
# the relay's own handling of many connections (load, churn, hostile peers, reload): joins opened at
# establishment reach a Linux MPTCP bug that damages about one short stream in 100 000 under load
# (docs/RELIABILITY.md finding 2); scripts/stress/churn.sh keeps the endpoints and so still catches it.
topo_no_joins() {
    local prefix=${1:?topo_no_joins needs a prefix}
    ip -n "${prefix}gw" mptcp endpoint flush
}

# ---------------------------------------------------------------------------------------------
# Two converter instances behind srv, for scale-out tests (opt-in; docs/SCALE-OUT.md):
#
#   srv  cv1   198.19.10.1/24  <->  cv1  eth0  198.19.10.2/24 (balanced to), .3 (announced)
#   srv  cv2   198.19.11.1/24  <->  cv2  eth0  198.19.11.2/24 (balanced to), .3 (announced)
#   (each instance: default via srv's end)
#
# srv (the balancer) routes to both; each instance forbids joins to the address its connections were
# opened to (net.mptcp.allow_join_initial_addr_port = 0: the C flag), takes up to 8 subflows, and
# reaches dst through srv. topo_add_converters PREFIX
topo_add_converters() {
    local prefix=${1:?topo_add_converters needs a prefix}
    local srv="${prefix}srv" index ns
    for index in 1 2; do
        ns="${prefix}cv$index"
        ip netns add "$ns" || return 1
        topo_ns_base "$ns" || return 1
        topo_veth "$srv" "cv$index" "$ns" eth0 || return 1
        topo_addr "$srv" "cv$index" "198.19.1$((index - 1)).1/24" || return 1
        topo_addr "$ns" eth0 "198.19.1$((index - 1)).2/24" || return 1
        # The address it announces: a second one, since the kernel never announces the address its
        # connections already use (the DNAT target, .2).
        ip -n "$ns" addr add "198.19.1$((index - 1)).3/24" dev eth0 || return 1
        ip -n "$ns" route add default via "198.19.1$((index - 1)).1" dev eth0 || return 1
        ip netns exec "$ns" sysctl -qw net.mptcp.allow_join_initial_addr_port=0 || return 1
        ip -n "$ns" mptcp limits set subflows 8 add_addr_accepted 8 || return 1
    done
}

# ---------------------------------------------------------------------------------------------
# IPv6 and extra destinations (opt-in: topo_create alone builds exactly the IPv4 topology above).
#
#   topo_create "$P" && topo_add_ipv6 "$P" && topo_add_destinations "$P" 198.19.1.10 2001:db8:19:1::10
#
# Every IPv4 /24 of the topology gets an IPv6 /64 whose third and fourth groups mirror it, and the
# same host numbers (198.18.1.1 <-> 2001:db8:18:1::1):
#
#   cli  eth0  2001:db8:18::2/64     default via gw
#   gw   lan0  2001:db8:18::1/64
#        upa0  2001:db8:18:1::1/64   table 101: default via 2001:db8:18:1::2 (ip -6 rule from ::1)
#        upb0  2001:db8:18:2::1/64   table 102: default via 2001:db8:18:2::2 (ip -6 rule from ::1)
#   srv  upa0  2001:db8:18:1::2/64
#        upb0  2001:db8:18:2::2/64
#        lan0  2001:db8:19::1/64
#   dst  eth0  2001:db8:19::2/64     default via srv
#
# gw and srv forward IPv6 too, and route the two LAN /64s over uplink A (the direct path, as for
# IPv4). gw gets a second MPTCP `subflow` endpoint, 2001:db8:18:2::1 on upb0, so that MPTCP
# connections over IPv6 also open a subflow on uplink B (the kernel never mixes families in one
# MPTCP connection: IPv4 connections use the IPv4 endpoint, IPv6 ones the IPv6 endpoint).
# Addresses are added with `nodad`, so they are usable at once.
#
# topo_add_destinations puts extra host addresses (198.19.0.0/16 and 2001:db8:19::/48 only) on
# dst's loopback and routes those two prefixes from srv to dst. gw has no route to them (only to
# the server LAN link itself), so a LAN connection to one of them reaches dst only through a relay.

# The IPv6 address of a topology endpoint: topo_ipv6_of gw upa0 -> 2001:db8:18:1::1.
topo_ipv6_of() {
    local host=$1 dev=$2
    case "$host/$dev" in
    cli/eth0) echo 2001:db8:18::2 ;;
    gw/lan0) echo 2001:db8:18::1 ;;
    gw/upa0) echo 2001:db8:18:1::1 ;;
    gw/upb0) echo 2001:db8:18:2::1 ;;
    srv/upa0) echo 2001:db8:18:1::2 ;;
    srv/upb0) echo 2001:db8:18:2::2 ;;
    srv/lan0) echo 2001:db8:19::1 ;;
    dst/eth0) echo 2001:db8:19::2 ;;
    *)
        echo "topology: no IPv6 address for $host/$dev" >&2
        return 1
        ;;
    esac
}

# Adds ADDR/LEN (IPv6, no duplicate address detection) to IF in NS.
topo_addr6() {
    local ns=$1 dev=$2 cidr=$3
    ip -n "$ns" -6 addr add "$cidr" dev "$dev" nodad
}

# Adds IPv6 to a topology made by topo_create: topo_add_ipv6 PREFIX. On failure, says so and
# returns non-zero (the caller's trap removes the namespaces).
topo_add_ipv6() {
    local prefix=${1:?topo_add_ipv6 needs a prefix}
    if ! topo_add_ipv6_steps "$prefix"; then
        echo "topology: adding IPv6 to ${prefix}* failed" >&2
        return 1
    fi
}

topo_add_ipv6_steps() {
    local prefix=$1
    local cli="${prefix}cli" gw="${prefix}gw" srv="${prefix}srv" dst="${prefix}dst"
    local ns

    for ns in "$cli" "$gw" "$srv" "$dst"; do
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 || return 1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=0 || return 1
        # No router advertisements are sent here; never let one add routes behind our back.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 || return 1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_ra=0 || return 1
    done

    topo_addr6 "$cli" eth0 2001:db8:18::2/64 || return 1
    topo_addr6 "$gw" lan0 2001:db8:18::1/64 || return 1
    topo_addr6 "$gw" upa0 2001:db8:18:1::1/64 || return 1
    topo_addr6 "$gw" upb0 2001:db8:18:2::1/64 || return 1
    topo_addr6 "$srv" upa0 2001:db8:18:1::2/64 || return 1
    topo_addr6 "$srv" upb0 2001:db8:18:2::2/64 || return 1
    topo_addr6 "$srv" lan0 2001:db8:19::1/64 || return 1
    topo_addr6 "$dst" eth0 2001:db8:19::2/64 || return 1

    ip -n "$cli" -6 route add default via 2001:db8:18::1 dev eth0 || return 1
    ip -n "$dst" -6 route add default via 2001:db8:19::1 dev eth0 || return 1

    ip netns exec "$gw" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
    ip netns exec "$srv" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
    ip -n "$gw" -6 route add 2001:db8:19::/64 via 2001:db8:18:1::2 dev upa0 || return 1
    ip -n "$srv" -6 route add 2001:db8:18::/64 via 2001:db8:18:1::1 dev upa0 || return 1

    ip -n "$gw" -6 rule add from 2001:db8:18:1::1 table 101 || return 1
    ip -n "$gw" -6 route add 2001:db8:18:1::/64 dev upa0 table 101 || return 1
    ip -n "$gw" -6 route add default via 2001:db8:18:1::2 dev upa0 table 101 || return 1
    ip -n "$gw" -6 rule add from 2001:db8:18:2::1 table 102 || return 1
    ip -n "$gw" -6 route add 2001:db8:18:2::/64 dev upb0 table 102 || return 1
    ip -n "$gw" -6 route add default via 2001:db8:18:2::2 dev upb0 table 102 || return 1

    ip -n "$gw" mptcp endpoint add 2001:db8:18:2::1 dev upb0 subflow || return 1
    topo_wait_ipv6_settled "$prefix" || return 1
    return 0
}

# Waits (at most 10 s) until no IPv6 address in the prefix's namespaces is tentative: the
# link-local addresses still run duplicate address detection for a second or two after the links
# come up, and their local routes appear only then (a ruleset snapshot taken earlier would differ
# from one taken later).
topo_wait_ipv6_settled() {
    local prefix=$1 ns i busy
    for ((i = 0; i < 100; i++)); do
        busy=0
        for ns in $(topo_namespaces "$prefix"); do
            if [[ -n $(ip -n "$ns" -6 addr show tentative 2>/dev/null) ]]; then
                busy=1
                break
            fi
        done
        ((busy)) || return 0
        sleep 0.1
    done
    echo "topology: IPv6 addresses in ${prefix}* still tentative after 10s" >&2
    return 1
}

# Adds host addresses to dst's loopback and routes them from srv: topo_add_destinations PREFIX
# ADDR... Each ADDR is an IPv4 address in 198.19.0.0/16 (outside 198.19.0.0/24) or an IPv6
# address in 2001:db8:19::/48 (outside 2001:db8:19::/64); anything else is refused.
topo_add_destinations() {
    local prefix=${1:?topo_add_destinations needs a prefix}
    shift
    local srv="${prefix}srv" dst="${prefix}dst" addr srv_v6
    for addr in "$@"; do
        case $addr in
        198.19.0.*)
            echo "topology: $addr is on the server LAN link; pick one outside 198.19.0.0/24" >&2
            return 1
            ;;
        198.19.*.*) ip -n "$dst" addr add "$addr/32" dev lo || return 1 ;;
        2001:db8:19::*)
            echo "topology: $addr is on the server LAN link; pick one outside 2001:db8:19::/64" >&2
            return 1
            ;;
        2001:db8:19:*) ip -n "$dst" -6 addr add "$addr/128" dev lo nodad || return 1 ;;
        *)
            echo "topology: destination $addr is outside 198.19.0.0/16 and 2001:db8:19::/48" >&2
            return 1
            ;;
        esac
    done
    ip -n "$srv" route replace 198.19.0.0/16 via 198.19.0.2 dev lan0 || return 1
    # IPv6 only when topo_add_ipv6 has run. (No `| grep -q`: under pipefail, grep's early exit
    # could fail the pipeline.)
    srv_v6=$(ip -n "$srv" -6 addr show dev lan0) || return 1
    if [[ $srv_v6 == *"inet6 2001:db8:19::1/"* ]]; then
        ip -n "$srv" -6 route replace 2001:db8:19::/48 via 2001:db8:19::2 dev lan0 || return 1
    fi
    return 0
}

# Prints the IPv6 octets sent on IF in NS (the interface's Ip6OutOctets).
topo_if_ip6_tx_bytes() {
    local ns=$1 dev=$2
    # shellcheck disable=SC2016 # an awk program, expanded by awk
    ip netns exec "$ns" awk '$1 == "Ip6OutOctets" { print $2; found = 1 } END { exit !found }' \
        "/proc/net/dev_snmp6/$dev"
}

# ---------------------------------------------------------------------------------------------
# A third uplink, C, for path-manager tests (opt-in):
#
#   gw   upc0  198.18.3.1/24   table 103: default via 198.18.3.2 (ip rule from 198.18.3.1)
#   srv  upc0  198.18.3.2/24
#
# No MPTCP endpoint is added for it: the relay (as path manager) decides when C carries subflows.
# topo_add_uplink_c PREFIX [RATE] — RATE limits both ends with tbf, as topo_create does for A and B.
topo_add_uplink_c() {
    local prefix=${1:?topo_add_uplink_c needs a prefix}
    local rate=${2:-}
    local gw="${prefix}gw" srv="${prefix}srv"
    if ! {
        topo_veth "$gw" upc0 "$srv" upc0 &&
            topo_addr "$gw" upc0 198.18.3.1/24 &&
            topo_addr "$srv" upc0 198.18.3.2/24 &&
            ip -n "$gw" rule add from 198.18.3.1 table 103 &&
            ip -n "$gw" route add 198.18.3.0/24 dev upc0 scope link src 198.18.3.1 table 103 &&
            ip -n "$gw" route add default via 198.18.3.2 dev upc0 table 103 &&
            { [[ -z $rate ]] || { topo_rate_limit "$gw" upc0 "$rate" && topo_rate_limit "$srv" upc0 "$rate"; }; }
    }; then
        echo "topology: adding uplink C to ${prefix}* failed" >&2
        return 1
    fi
}
