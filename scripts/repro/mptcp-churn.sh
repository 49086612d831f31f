#!/usr/bin/env bash
# Usage: scripts/repro/mptcp-churn.sh [ROUNDS] [CONNECTIONS]   (default 10 20000; needs root)
#        MPTCP_CHURN_PM=none      no join subflow (gw's `subflow` endpoint removed)
#        MPTCP_CHURN_CHECKSUM=1   DSS checksums on (net.mptcp.checksum_enabled=1 in gw and srv)
#        MPTCP_CHURN_UPLOAD=256 MPTCP_CHURN_DOWNLOAD=2048 MPTCP_CHURN_PARALLEL=64
#
# The churn test's MPTCP leg without the relay: loadpeer.py churn --mptcp in gw against loadpeer.py
# serve --mptcp in srv, ROUNDS rounds of CONNECTIONS short connections (256 bytes up, 2 KiB down, 64 at
# a time) over the test topology (uplinks A and B, unlimited, gw's in-kernel path manager opening a
# join on B at establishment, the load tuning of the network tests). Every upload and download is
# checked by SHA-256; a damaged one is printed with loadpeer's diagnosis (first differing byte, and
# whose bytes those are) and ends the loop. Bounded: ROUNDS at most 500, 45 min in all. Logs:
# $MPTCP_CHURN_LOGS (default /tmp/mptcp-churn.<pid>). Exit: 0 when every connection was intact, 1 when
# at least one was damaged, 2 when the setup failed, 3 when connections failed without damage.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
topology_lib="$root/scripts/lib/topology.sh"
loadpeer="$root/scripts/lib/loadpeer.py"

rounds=${1:-10}
connections=${2:-20000}
if ! [[ $rounds =~ ^[0-9]+$ && $connections =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 500)) ||
    ((connections < 1 || connections > 1000000)); then
    echo "mptcp-churn: ROUNDS from 1 to 500, CONNECTIONS from 1 to 1000000" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "mptcp-churn: needs root (network namespaces)" >&2
    exit 2
fi
upload=${MPTCP_CHURN_UPLOAD:-256}
download=${MPTCP_CHURN_DOWNLOAD:-2048}
parallel=${MPTCP_CHURN_PARALLEL:-64}
variant=${MPTCP_CHURN_PM:-kernel}
checksum=${MPTCP_CHURN_CHECKSUM:-0}
logs=${MPTCP_CHURN_LOGS:-/tmp/mptcp-churn.$$}
mkdir -p "$logs"
port=5201

loop_label=mptcp-churn
# shellcheck source=scripts/lib/run-loop.sh
source "$root/scripts/lib/run-loop.sh"
trap cleanup_run EXIT
trap 'exit 130' INT TERM

prefix="mc$$-"
gw="${prefix}gw"
srv="${prefix}srv"
topo 60 topo_create "$prefix" || exit 2
prefix_made=$prefix
topo 30 topo_tune_load "$prefix" || exit 2
case $variant in
kernel) ;;
none) timeout 10 ip -n "$gw" mptcp endpoint flush ;;
*)
    echo "mptcp-churn: MPTCP_CHURN_PM is kernel or none, not $variant" >&2
    exit 2
    ;;
esac
for ns in "$gw" "$srv"; do
    timeout 10 ip netns exec "$ns" sysctl -qw net.mptcp.checksum_enabled="$checksum"
    timeout 10 ip netns exec "$ns" nstat -n >/dev/null 2>&1 || true
done

seconds=$((connections / 200 + 60))
echo "mptcp-churn: $rounds rounds of $connections connections ($upload B up, $download B down, $parallel at a time)," \
    "path manager: $variant, DSS checksums: $checksum; logs in $logs"
started=$SECONDS
damaged=0
failed=0
total=0
for ((round = 1; round <= rounds && SECONDS - started < 2700; round++)); do
    serve_log="$logs/round-$round-serve.log"
    churn_log="$logs/round-$round-churn.log"
    timeout -k 5 $((seconds + 30)) ip netns exec "$srv" python3 "$loadpeer" serve --mptcp \
        --listen "198.18.1.2:$port" --count "$connections" --timeout 30 --seconds $((seconds + 20)) \
        >"$serve_log" 2>&1 &
    serve_pid=$!
    topo 15 topo_wait_listen "$srv" "$port" 10 || exit 2
    churn_status=0
    timeout -k 5 $((seconds + 30)) ip netns exec "$gw" python3 "$loadpeer" churn --mptcp \
        --connect "198.18.1.2:$port" --count "$connections" --parallel "$parallel" --upload "$upload" \
        --download "$download" --timeout 30 --seconds "$seconds" >"$churn_log" 2>&1 || churn_status=$?
    serve_status=0
    wait "$serve_pid" || serve_status=$?
    total=$((total + connections))
    summary="serve $(grep '^{' "$serve_log" | tail -1), churn $(grep '^{' "$churn_log" | tail -1)"
    if grep -q -e '_digest' "$serve_log" "$churn_log"; then
        damaged=$((damaged + 1))
        echo "round $round: DAMAGED: $summary"
        grep -h '^loadpeer' "$serve_log" "$churn_log" | head -20
        break
    elif ((churn_status != 0 || serve_status != 0)); then
        failed=$((failed + 1))
        echo "round $round: failures without damage: $summary"
        grep -h '^loadpeer' "$serve_log" "$churn_log" | head -5
    else
        echo "round $round: intact ($summary)"
        rm -f "$serve_log" "$churn_log"
    fi
done
for ns in "$gw" "$srv"; do
    echo "mptcp-churn: nstat MPTcpExt in ${ns#"$prefix_made"}:" \
        "$(timeout 10 ip netns exec "$ns" nstat -az 2>/dev/null | awk '/^MPTcpExt/ && $2 != 0 { printf "%s=%s ", substr($1, 9), $2 }')"
done
echo "mptcp-churn: $total connections in $((SECONDS - started)) s; $damaged rounds with damage, $failed with other failures"
if ((damaged > 0)); then exit 1; fi
if ((failed > 0)); then exit 3; fi
exit 0
