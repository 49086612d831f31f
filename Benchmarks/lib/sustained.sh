# shellcheck shell=bash
# shellcheck disable=SC2154 # work, lib, raw, main_prefix, pids and sustained_* are run.sh's globals
#
# The sustained-connections section of Benchmarks/run.sh: wrk with `Connection: close` without
# pause for sustained_seconds, sampled every second, for each contender on a fresh chain.
# Sourced by run.sh after common.sh and contenders.sh; uses run.sh's globals and functions: work
# (temp dir), lib (this directory), raw (JSON lines), main_prefix (the main chain's prefix), pids,
# sustained_seconds, sustained_window, cpu_of and mptcp_counters.
#
# Why a fresh chain: every connection through a proxy leaves a TIME_WAIT socket on some hop for
# 60 s (in cli when the client closes first, which it does through the proxies), and Linux's
# search for a free ephemeral port slows down as they pile up. A contender that runs after another
# one would start with the other's TIME_WAIT sockets. So each turn gets new namespaces (new
# network stacks: no socket of any earlier turn), built like the main chain with
# bench_topo_create, nginx in dst, and nothing else; they are deleted after the turn.

# The prefix of the fresh chain that exists right now ("" when none): run.sh's cleanup deletes it.
sustained_prefix=""
sustained_count=0

# sustained_turn ROUND NAME: one sustained run of one contender on a fresh chain.
sustained_turn() {
    local round=$1 name=$2
    sustained_count=$((sustained_count + 1))
    sustained_prefix="${main_prefix}s$sustained_count-"
    # Every helper below (contender_start, cpu_of, mptcp_counters, ...) works on ${P}: the fresh
    # chain, for this turn only.
    local P=$sustained_prefix npids=${#pids[@]}
    local base=$work/sustained-$round-$name ep cpu0 cpu1 status extra=()
    echo "-- round $round: $name (fresh chain ${P}*)"
    bench_topo_create "$P"
    dst_nginx_start "s$sustained_count"
    contender_start "$name"
    ep=$(contender_endpoint "$name" 1)
    mptcp_counters "$base.mib0.json"
    cpu0=$(cpu_of "$name")
    status=0
    python3 "$lib/bench.py" sustained --prefix "$P" --seconds "$sustained_seconds" --interval 1 \
        --wrk-out "$base.wrk.txt" --samples "$base.samples.json" -- \
        -t 2 -c 32 -d "${sustained_seconds}s" --latency -H 'Connection: close' "http://$ep/1k" ||
        status=$?
    if ((status != 0)); then
        tail -n 20 "$base.wrk.txt" >&2
        die "$name: sustained wrk failed (status $status)"
    fi
    sleep 0.3 # let socat children exit and be reaped, so that their CPU time is counted
    cpu1=$(cpu_of "$name")
    mptcp_counters "$base.mib1.json"
    [[ $name == direct ]] || extra+=(--cpu-before "$cpu0" --cpu-after "$cpu1")
    python3 "$lib/bench.py" record --raw "$raw" --phase main --round "$round" \
        --contender "$name" --test sustained --wrk "$base.wrk.txt" \
        --samples "$base.samples.json" --window "$sustained_window" \
        --counters-before "$base.mib0.json" --counters-after "$base.mib1.json" "${extra[@]}"
    contender_stop
    topo_destroy "$P"
    # Forget the processes of this chain (all ended by topo_destroy), so that the final cleanup
    # never signals a process id that may have been reused since.
    local pid
    for pid in "${pids[@]:npids}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=("${pids[@]:0:npids}")
    sustained_prefix=""
}
