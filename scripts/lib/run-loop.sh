# shellcheck shell=bash
#
# What the loop scripts (scripts/stress/pm-replay.sh, scripts/repro/mptcp-poll-stall.sh) share for one
# run: topology.sh functions run bounded in a child shell, background commands in namespaces whose
# pids are remembered, and a cleanup that ends them and deletes the run's namespaces.
#
# The sourcing script sets `topology_lib` (path of scripts/lib/topology.sh) and `loop_label` (its name,
# for messages), then sets `prefix` to the run's namespace prefix once it creates the topology, and
# installs `trap cleanup_run EXIT`.

prefix=""
pids=()

# Runs a topology.sh function in a child shell, bounded in time: topo SECONDS FUNCTION ARGS...
topo() {
    local seconds=$1
    shift
    # shellcheck disable=SC2016 # expanded by the child shell
    timeout "$seconds" bash -c 'set -euo pipefail; source "$1"; shift; "$@"' topo "${topology_lib:?}" "$@"
}

# Ends this run's processes (by id) and deletes its namespaces (only ours). Safe to call twice.
cleanup_run() {
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    if [[ -n $prefix ]]; then
        topo 60 topo_destroy "$prefix" || echo "${loop_label:?}: removing ${prefix}* failed" >&2
        prefix=""
    fi
}

# Starts a command in the background in namespace NS, bounded in time, output to LOG, pid in `pids`:
# start_in NS LOG SECONDS COMMAND...
start_in() {
    local ns=$1 log=$2 seconds=$3
    shift 3
    timeout -k 5 "$seconds" ip netns exec "$ns" "$@" >"$log" 2>&1 &
    pids+=("$!")
}
