#!/usr/bin/env bash
# Usage: scripts/repro/mptcp-tfo-window.sh [CONNECTIONS]   (default 8; needs root)
#
# Reproduces, without mptcp-relay, why downloads stall over MPTCP with TCP Fast Open
# (docs/RELIABILITY.md finding 7): a passive (server-side) MPTCP socket created from a SYN that
# carries a Fast Open cookie starts with a send window of the SYN's window field shifted by the
# client's window scale (64240 << 10, about 63 MiB, instead of 64240), so it sends past the client's
# receive window; the client drops what does not fit (MPTcpExtNoDSSInWindow), and only MPTCP-level
# retransmissions, hundreds of milliseconds apart, repair the stream.
#
# 1. mechanism: in one namespace (net.ipv4.tcp_fastopen = 3), mptcp-tfo-window.py `window`: server
#    sockets write to clients that never read; Fast Open MPTCP sockets send far past the window, the
#    controls (MPTCP without Fast Open, TCP with Fast Open) do not.
# 2. symptom: the reference topology (scripts/lib/topology.sh, tcp_fastopen = 3 in gw and srv), a
#    server in srv sending 20 MB per connection, and in gw a client that pauses 0.5 s before reading
#    (as a slow LAN client behind a gateway does): CONNECTIONS + 1 connections with Fast Open (the
#    first fetches the cookie), then CONNECTIONS without.
#
# Namespaces are prefixed tfw<pid>- and deleted on exit. Exit status: 3 when the kernel is affected
# (the mechanism check says so, or a Fast Open connection stalled), 0 when not, 2 when it could not run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
topology_lib="$root/scripts/lib/topology.sh"
peer="$here/mptcp-tfo-window.py"

connections=${1:-8}
if ! [[ $connections =~ ^[0-9]+$ ]] || ((connections < 1 || connections > 100)); then
    echo "mptcp-tfo-window: CONNECTIONS must be a number from 1 to 100" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "mptcp-tfo-window: needs root (network namespaces)" >&2
    exit 2
fi

bytes=20000000
port=5201
loop_label=mptcp-tfo-window
# shellcheck source=scripts/lib/run-loop.sh
source "$root/scripts/lib/run-loop.sh"
single=""
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    cleanup_run
    if [[ -n $single ]]; then
        ip netns del "$single" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "mptcp-tfo-window: $(uname -r)"
status=0

echo "== 1. mechanism: loopback, clients that never read"
single="tfw$$-lo"
ip netns add "$single"
ip -n "$single" link set lo up
ip netns exec "$single" sysctl -qw net.mptcp.enabled=1
ip netns exec "$single" sysctl -qw net.ipv4.tcp_fastopen=3
verdict=0
timeout 60 ip netns exec "$single" python3 "$peer" window --connections 3 || verdict=$?
case $verdict in
0) ;;
3) status=3 ;;
*)
    echo "mptcp-tfo-window: the mechanism check could not decide (exit $verdict)" >&2
    status=2
    ;;
esac
ip netns del "$single"
single=""

echo "== 2. symptom: 20 MB downloads gw <- srv, the client pausing 0.5 s before it reads"
prefix="tfw$$-"
topo 60 topo_create "$prefix" || exit 2
for ns in gw srv; do
    ip netns exec "${prefix}$ns" sysctl -qw net.ipv4.tcp_fastopen=3
done
logs=$(mktemp -d /tmp/mptcp-tfo-window.XXXXXX)
total=$((2 * connections + 1))
start_in "${prefix}srv" "$logs/serve.log" 600 python3 -u "$peer" serve --listen "198.18.1.2:$port" \
    --bytes "$bytes" --count "$total" --timeout 60
topo 15 topo_wait_listen "${prefix}srv" "$port" 10 || exit 2
for mode in fast-open plain; do
    count=$connections
    flag=()
    if [[ $mode == fast-open ]]; then
        count=$((connections + 1))
    else
        flag=(--no-fast-open)
    fi
    echo "-- $mode"
    result=0
    timeout -k 5 $((count * 90)) ip netns exec "${prefix}gw" python3 -u "$peer" fetch \
        --connect "198.18.1.2:$port" --bytes "$bytes" --count "$count" --timeout 60 "${flag[@]}" ||
        result=$?
    if [[ $mode == fast-open ]] && ((result != 0)); then
        status=3
    fi
done
echo "-- kernel counters (non-zero)"
ip netns exec "${prefix}gw" nstat -az 2>/dev/null | grep -E 'TcpExtTCPFastOpen|MPTcpExt(NoDSSInWindow|OFOQueue )' |
    grep -v ' 0 ' | sed 's/^/gw  /' || true
ip netns exec "${prefix}srv" nstat -az 2>/dev/null | grep -E 'TcpExtTCPFastOpen|MPTcpExt(MPTCPRetrans|SndWndShared)' |
    grep -v ' 0 ' | sed 's/^/srv /' || true
rm -rf "$logs"

case $status in
3) echo "mptcp-tfo-window: AFFECTED: MPTCP Fast Open sends past the receive window on $(uname -r)" ;;
0) echo "mptcp-tfo-window: not reproduced on $(uname -r)" ;;
esac
exit "$status"
