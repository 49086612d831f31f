#!/usr/bin/env bash
# Usage: scripts/repro/mptcp-poll-stall.sh [RUNS] [kernel|userspace]   (default 40 kernel; needs root)
#
# Reproduces, without mptcp-relay, an MPTCP socket that holds received data but does not report
# POLLIN. Each run builds the reference topology plus uplink C (50mbit tbf on every uplink) in fresh
# namespaces prefixed pps<pid>r<run>-, runs mptcp-poll-stall.py as MPTCP server in srv
# (198.18.1.2:5201) and as MPTCP client in gw, 6 concurrent connections of 6 MiB each way, and takes
# gw's upa0 and then upb0 down for 0.7 s each (the relay reproducer's schedule). Path management:
#
#   kernel     gw: `ip mptcp endpoint add` B (198.18.2.1 dev upb0) and C (198.18.3.1 dev upc0,
#              backup) as `subflow` endpoints; limits subflows 8 add_addr_accepted 8 on gw and srv.
#   userspace  gw: net.mptcp.path_manager=userspace and pm-driver.py, which issues SUBFLOW_CREATE /
#              SUBFLOW_DESTROY / SET_FLAGS for every connection as the relay's path manager does
#              (B and C (backup) at establishment; destroy on link down, create again on link up).
#
# A run is STALL when a peer found a socket poll() calls unreadable that recv(MSG_PEEK) finds data in
# (mptcp-poll-stall.py exit 3); `ss -tiM` and nstat of gw and srv are then saved in the run's log
# directory while the peer holds its sockets open. Other outcomes: OK, FAIL (an error or a timeout
# without hidden data). Logs: $PPS_LOGS (default /tmp/mptcp-poll-stall.<pid>). Exit: 0 when no run
# stalled, 3 when at least one did, 2 when a run could not be set up.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
topology_lib="$root/scripts/lib/topology.sh"
peer="$here/mptcp-poll-stall.py"
driver="$here/pm-driver.py"

runs=${1:-40}
variant=${2:-kernel}
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1 || runs > 1000)); then
    echo "mptcp-poll-stall: RUNS must be a number from 1 to 1000" >&2
    exit 2
fi
case $variant in
kernel | userspace) ;;
*)
    echo "mptcp-poll-stall: the variant is kernel or userspace, not $variant" >&2
    exit 2
    ;;
esac
if [[ $(id -u) -ne 0 ]]; then
    echo "mptcp-poll-stall: needs root (network namespaces)" >&2
    exit 2
fi

conns=6
bytes=$((6 * 1024 * 1024))
rate=50mbit
port=5201
stall=3
logs=${PPS_LOGS:-/tmp/mptcp-poll-stall.$$}
mkdir -p "$logs"

loop_label=mptcp-poll-stall
# shellcheck source=scripts/lib/run-loop.sh
source "$root/scripts/lib/run-loop.sh"
trap cleanup_run EXIT
trap 'exit 130' INT TERM

# Saves the MPTCP state of gw and srv: snapshot DIR NAME.
snapshot() {
    local dir=$1 name=$2 ns
    for ns in gw srv; do
        {
            echo "== ${prefix}$ns ss -taiMn"
            timeout 10 ip netns exec "${prefix}$ns" ss -taiMn || true
            echo "== ${prefix}$ns nstat (MPTCP, non-zero)"
            timeout 10 ip netns exec "${prefix}$ns" nstat -az 2>/dev/null | grep -i mptcp | grep -v ' 0 ' || true
        } >"$dir/$name-$ns.txt" 2>&1
    done
}

# One run: prints its outcome (OK, STALL or FAIL) as the last line; returns 2 when it could not run.
one_run() {
    local run=$1 dir=$2
    local gw srv
    prefix="pps$$r${run}-"
    gw="${prefix}gw"
    srv="${prefix}srv"

    topo 60 topo_create "$prefix" "$rate" || return 2
    topo 30 topo_add_uplink_c "$prefix" "$rate" || return 2
    timeout 10 ip -n "$gw" mptcp endpoint flush || return 2
    timeout 10 ip -n "$gw" mptcp limits set subflows 8 add_addr_accepted 8 || return 2
    timeout 10 ip -n "$srv" mptcp limits set subflows 8 add_addr_accepted 8 || return 2
    if [[ $variant == kernel ]]; then
        timeout 10 ip -n "$gw" mptcp endpoint add 198.18.2.1 dev upb0 subflow || return 2
        timeout 10 ip -n "$gw" mptcp endpoint add 198.18.3.1 dev upc0 subflow backup || return 2
    else
        timeout 10 ip netns exec "$gw" sysctl -qw net.mptcp.path_manager=userspace || return 2
        start_in "$gw" "$dir/pm-driver.log" 60 python3 -u "$driver" --remote-port "$port" --max-seconds 55 \
            --path a:upa0:198.18.1.1 --path b:upb0:198.18.2.1 --path c:upc0:198.18.3.1:backup
        local i
        for ((i = 0; i < 50; i++)); do
            grep -q '^pm-driver: ready' "$dir/pm-driver.log" 2>/dev/null && break
            sleep 0.1
        done
        if ! grep -q '^pm-driver: ready' "$dir/pm-driver.log"; then
            echo "  pm-driver.py did not start:"
            cat "$dir/pm-driver.log"
            return 2
        fi
    fi

    start_in "$srv" "$dir/server.log" 60 python3 -u "$peer" server --listen "198.18.1.2:$port" \
        --conns "$conns" --bytes "$bytes" --stall "$stall" --timeout 45 --hold 8
    local server_pid=${pids[-1]}
    topo 15 topo_wait_listen "$srv" "$port" 10 || return 2
    start_in "$gw" "$dir/client.log" 60 python3 -u "$peer" client --connect "198.18.1.2:$port" \
        --conns "$conns" --bytes "$bytes" --stall "$stall" --timeout 45 --hold 8
    local client_pid=${pids[-1]}

    local dev first=1
    for dev in upa0 upb0; do
        if ((first)); then
            sleep 0.5
            snapshot "$dir" start # which subflows carry the transfers before the first flap
            first=0
            sleep 0.2
        else
            sleep 0.7
        fi
        timeout 10 ip -n "$gw" link set "$dev" down
        sleep 0.7
        timeout 10 ip -n "$gw" link set "$dev" up
    done

    # Wait (bounded) for both peers; take a snapshot as soon as one reports a STALL.
    local snapped=0 t
    for ((t = 0; t < 600; t++)); do
        if ((!snapped)) && grep -q 'STALL:' "$dir/client.log" "$dir/server.log" 2>/dev/null; then
            sleep 0.5
            snapshot "$dir" stall
            snapped=1
        fi
        if ! kill -0 "$client_pid" 2>/dev/null && ! kill -0 "$server_pid" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    local client_status=0 server_status=0
    kill -TERM "$client_pid" "$server_pid" 2>/dev/null || true
    wait "$client_pid" || client_status=$?
    wait "$server_pid" || server_status=$?

    if ((client_status == 3 || server_status == 3)); then
        grep -h 'STALL:' "$dir/client.log" "$dir/server.log" | sed 's/^/  gw client: /;2,$s/gw client/srv server/' || true
        echo "  ss -tiM state in $dir/stall-gw.txt and $dir/stall-srv.txt"
        echo STALL
    elif ((client_status == 0 && server_status == 0)); then
        echo OK
    else
        snapshot "$dir" fail
        echo "  exit statuses: client (gw) $client_status, server (srv) $server_status"
        grep -h 'ERROR\|unfinished\|TIMEOUT\|silent' "$dir/client.log" "$dir/server.log" | head -20 | sed 's/^/  /' || true
        echo FAIL
    fi
}

echo "mptcp-poll-stall: $runs runs, path manager $variant, logs in $logs, kernel $(uname -r)"
started=$SECONDS
ok=0 stalls=0 fails=0
for ((run = 1; run <= runs; run++)); do
    dir="$logs/run-$run"
    mkdir -p "$dir"
    status=0
    # Not in a command substitution: the run's pids and prefix must stay in this shell for cleanup.
    one_run "$run" "$dir" >"$dir/outcome.txt" || status=$?
    cleanup_run
    outcome=$(<"$dir/outcome.txt")
    if ((status != 0)); then
        printf '%s\n' "$outcome"
        echo "mptcp-poll-stall: run $run could not be set up; logs in $dir"
        exit 2
    fi
    result=${outcome##*$'\n'}
    case $result in
    OK) ok=$((ok + 1)) ;;
    STALL) stalls=$((stalls + 1)) ;;
    *) fails=$((fails + 1)) ;;
    esac
    echo "run $run/$runs: $result ($((SECONDS - started)) s, load $(cut -d' ' -f1 /proc/loadavg))"
    if [[ $result != OK ]]; then
        printf '%s\n' "$outcome" | sed '$d'
    fi
done
echo "subflows (gw, 0.5 s into each run, summed over runs) by local address:"
# shellcheck disable=SC2016 # an awk program
cat "$logs"/run-*/start-gw.txt 2>/dev/null |
    awk '/^tcp +ESTAB/ { split($5, a, "[:%]"); n[a[1]]++ } END { for (x in n) printf "  %s %d\n", x, n[x] }' | sort || true
echo "mptcp-poll-stall: $variant: $runs runs: $ok OK, $stalls STALL, $fails FAIL ($((SECONDS - started)) s)"
((stalls == 0)) || exit 3
