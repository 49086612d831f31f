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
    for ns in $(topo_namespaces "$prefix"); do
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
