#!/usr/bin/env bash
# Replays the failover test's path-manager commands (pm-replay.py) under a plain MPTCP transfer, no relay, RUNS times; stops at the first damaged transfer.
#
# Usage: scripts/stress/pm-replay.sh [RUNS]      (default 50; as root)
#
# Each run builds the reference topology plus uplink C (50mbit tbf on every uplink, like the
# failover test) in fresh namespaces prefixed pmr<pid>r<run>-, puts gw on the userspace path
# manager, starts pm-replay.py in gw (it opens subflows over B and C, C flagged backup), then
# hashpeer.py serve --mptcp in srv (198.18.1.2:5201) and hashpeer.py send --mptcp in gw, 64 MiB each
# way, and takes the links down and up with the failover test's timing: A down, B down (C promoted),
# A up (new subflow over A, C backup again). A run fails on a damaged or short transfer (hashpeer's
# pattern diagnosis is printed); a schedule step that did not reach its expected subflows is only
# reported. Logs of the last run, and of a failed one, stay in $PM_REPLAY_LOGS (default
# /tmp/pm-replay.<pid>).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
topology_lib="$root/scripts/lib/topology.sh"
hashpeer="$root/scripts/lib/hashpeer.py"
replay="$here/pm-replay.py"

runs=${1:-50}
if ! [[ $runs =~ ^[0-9]+$ ]] || ((runs < 1 || runs > 10000)); then
    echo "pm-replay: RUNS must be a number from 1 to 10000" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "pm-replay: needs root (network namespaces)" >&2
    exit 2
fi

bytes=$((64 * 1024 * 1024))
rate=50mbit
port=5201
logs=${PM_REPLAY_LOGS:-/tmp/pm-replay.$$}
mkdir -p "$logs"

loop_label=pm-replay
# shellcheck source=scripts/lib/run-loop.sh
source "$root/scripts/lib/run-loop.sh"
trap cleanup_run EXIT
trap 'exit 130' INT TERM

# Prints gw's subflows towards srv:PORT as "LOCAL[b] ..." sorted (b: flagged backup), e.g.
# "198.18.1.1 198.18.2.1 198.18.3.1b".
subflows() {
    local ns=$1 out
    out=$(timeout 10 ip netns exec "$ns" ss -tniH state established "( dport = :$port )") || return 1
    # shellcheck disable=SC2016 # an awk program
    awk '
        /^[^ \t]/ { n = split($3, a, ":"); local = a[1]; sub(/%.*/, "", local); next }
        local != "" && /tcp-ulp-mptcp/ {
            flags = ""
            if (match($0, /flags:[^ ]*/)) flags = substr($0, RSTART + 6, RLENGTH - 6)
            print local (flags ~ /b/ ? "b" : "")
            local = ""
        }' <<<"$out" | sort | paste -sd' ' -
}

# Waits (at most SECONDS) until gw's subflows are exactly WANT: wait_subflows NS WANT SECONDS.
wait_subflows() {
    local ns=$1 want=$2 seconds=$3 view="" i
    for ((i = 0; i < seconds * 5; i++)); do
        view=$(subflows "$ns" || true)
        if [[ $view == "$want" ]]; then
            echo "  subflows: $view"
            return 0
        fi
        sleep 0.2
    done
    echo "  subflows: expected \"$want\" within ${seconds}s, saw \"$view\""
    return 1
}

# Waits for a background pid (at most SECONDS, then ends it) and sets `waited` to its exit status
# (124 from `timeout` when it ran out of time). Not in a subshell: only this shell can wait for it.
waited=0
wait_pid() {
    local pid=$1 seconds=$2
    if ! timeout "$seconds" tail --pid="$pid" -f /dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
    waited=0
    wait "$pid" || waited=$?
}

# A JSON field of hashpeer's one-line report: json_field FILE KEY.
json_field() {
    python3 -c 'import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("{")]
print(json.loads(line[-1]).get(sys.argv[2], "") if line else "")' "$1" "$2"
}

# Sets the userspace path manager in NS (net.mptcp.path_manager, or pm_type=1 before Linux 6.15).
userspace_pm() {
    local ns=$1
    if timeout 10 ip netns exec "$ns" sysctl -qw net.mptcp.path_manager=userspace 2>/dev/null; then
        return 0
    fi
    timeout 10 ip netns exec "$ns" sysctl -qw net.mptcp.pm_type=1
}

# One run; returns 0 when both directions arrived intact, 1 when damaged, 2 when it could not run.
one_run() {
    local run=$1 dir=$2
    local gw srv
    prefix="pmr$$r${run}-"
    gw="${prefix}gw"
    srv="${prefix}srv"

    topo 60 topo_create "$prefix" "$rate" || return 2
    topo 30 topo_add_uplink_c "$prefix" "$rate" || return 2
    userspace_pm "$gw" || return 2
    timeout 10 ip -n "$gw" mptcp limits set subflows 8 add_addr_accepted 8 || return 2
    timeout 10 ip -n "$srv" mptcp limits set subflows 8 add_addr_accepted 8 || return 2

    start_in "$gw" "$dir/pm-replay.log" 150 python3 -u "$replay" --remote-port "$port" --max-seconds 140 \
        --path a:upa0:198.18.1.1 --path b:upb0:198.18.2.1 --path c:upc0:198.18.3.1:backup
    local replay_pid=${pids[-1]} i
    for ((i = 0; i < 50; i++)); do
        grep -q '^pm-replay: ready' "$dir/pm-replay.log" 2>/dev/null && break
        sleep 0.1
    done
    if ! grep -q '^pm-replay: ready' "$dir/pm-replay.log"; then
        echo "  pm-replay.py did not start:"
        cat "$dir/pm-replay.log"
        return 2
    fi

    start_in "$srv" "$dir/serve.log" 130 python3 "$hashpeer" serve --mptcp --listen "198.18.1.2:$port" \
        --bytes "$bytes" --timeout 30
    local serve_pid=${pids[-1]}
    topo 15 topo_wait_listen "$srv" "$port" 10 || return 2
    start_in "$gw" "$dir/send.log" 130 python3 "$hashpeer" send --mptcp --connect "198.18.1.2:$port" \
        --bytes "$bytes" --timeout 60
    local send_pid=${pids[-1]}

    # The failover test's schedule.
    local notes=()
    wait_subflows "$gw" "198.18.1.1 198.18.2.1 198.18.3.1b" 10 || notes+=("no A+B+C(backup) at start")
    sleep 1
    echo "  upa0 down"
    timeout 10 ip -n "$gw" link set upa0 down
    sleep 1
    echo "  upb0 down"
    timeout 10 ip -n "$gw" link set upb0 down
    wait_subflows "$gw" "198.18.3.1" 5 || notes+=("C not alone and promoted")
    sleep 1.5
    echo "  upa0 up"
    timeout 10 ip -n "$gw" link set upa0 up
    wait_subflows "$gw" "198.18.1.1 198.18.3.1b" 5 || notes+=("no A+C(backup) after A came back")
    sleep 1.5

    local send_status serve_status
    wait_pid "$send_pid" 100
    send_status=$waited
    wait_pid "$serve_pid" 40
    serve_status=$waited
    kill -TERM "$replay_pid" 2>/dev/null || true
    wait_pid "$replay_pid" 10

    local sent_sha recv_at_srv recv_sha_srv sent_sha_srv recv_at_gw recv_sha_gw
    sent_sha=$(json_field "$dir/send.log" sent_sha256)
    recv_at_srv=$(json_field "$dir/serve.log" received)
    recv_sha_srv=$(json_field "$dir/serve.log" received_sha256)
    sent_sha_srv=$(json_field "$dir/serve.log" sent_sha256)
    recv_at_gw=$(json_field "$dir/send.log" received)
    recv_sha_gw=$(json_field "$dir/send.log" received_sha256)

    if grep -q 'REJECTED\|NO ANSWER' "$dir/pm-replay.log"; then
        notes+=("kernel rejected or did not answer a command")
        grep 'REJECTED\|NO ANSWER' "$dir/pm-replay.log" | sed 's/^/    /'
    fi
    ((${#notes[@]} == 0)) || printf '  note: %s\n' "${notes[@]}"

    local damaged=0
    if [[ $recv_at_srv != "$bytes" || -z $sent_sha || $recv_sha_srv != "$sent_sha" ]]; then
        echo "  UPSTREAM (gw -> srv) damaged: srv received ${recv_at_srv:-?} bytes, sha ${recv_sha_srv:-?} vs sent ${sent_sha:-?}"
        damaged=1
    fi
    if [[ $recv_at_gw != "$bytes" || -z $sent_sha_srv || $recv_sha_gw != "$sent_sha_srv" ]]; then
        echo "  DOWNSTREAM (srv -> gw) damaged: gw received ${recv_at_gw:-?} bytes, sha ${recv_sha_gw:-?} vs sent ${sent_sha_srv:-?}"
        damaged=1
    fi
    if ((send_status != 0 || serve_status != 0)); then
        echo "  hashpeer exit statuses: send $send_status, serve $serve_status"
        damaged=1
    fi
    if ((damaged)); then
        echo "  --- hashpeer send (gw) ---"
        cat "$dir/send.log"
        echo "  --- hashpeer serve (srv) ---"
        cat "$dir/serve.log"
        echo "  --- pm-replay.py (gw) ---"
        cat "$dir/pm-replay.log"
        return 1
    fi
    echo "  intact both ways; longest stall: upstream $(json_field "$dir/serve.log" max_gap_seconds) s," \
        "downstream $(json_field "$dir/send.log" max_gap_seconds) s"
    return 0
}

echo "pm-replay: $runs runs, logs in $logs, load $(cut -d' ' -f1-3 /proc/loadavg)"
started=$SECONDS
intact=0
for ((run = 1; run <= runs; run++)); do
    dir="$logs/run-$run"
    mkdir -p "$dir"
    echo "run $run/$runs (load $(cut -d' ' -f1-3 /proc/loadavg))"
    status=0
    one_run "$run" "$dir" || status=$?
    cleanup_run
    case $status in
    0)
        intact=$((intact + 1))
        ;;
    1)
        echo "pm-replay: run $run DAMAGED after $intact intact runs ($((SECONDS - started)) s); logs in $dir"
        exit 1
        ;;
    *)
        echo "pm-replay: run $run could not run; logs in $dir"
        exit 2
        ;;
    esac
done
echo "pm-replay: $intact of $runs runs intact both ways ($((SECONDS - started)) s)"
