# shellcheck shell=bash
# shellcheck disable=SC2034 # keep_work is read by run.sh's cleanup (which names the kept dir)
#
# Small helpers of Benchmarks/run.sh: messages, background processes in namespaces, bounded waits.
# Globals used: P (namespace prefix), work (temp dir), pids (array of started process ids).

say() {
    if [[ -t 1 ]]; then
        printf '\n\033[1m== %s\033[0m\n' "$*"
    else
        printf '\n== %s\n' "$*"
    fi
}

die() {
    echo "run.sh: $*" >&2
    keep_work=1
    exit 1
}

# wait_listen NS PORT LOGFILE: waits (at most 15 s) until the port listens; otherwise shows the
# log and dies.
wait_listen() {
    local ns=$1 port=$2 log=$3
    if ! topo_wait_listen "$ns" "$port" 15; then
        tail -n 20 "$log" >&2 || true
        die "nothing listens on port $port in $ns (log: $log)"
    fi
}

# ns_kill_all NS: ends every process in the namespace (SIGTERM, then SIGKILL after 2 s), by id.
ns_kill_all() {
    local ns=$1 round pid found
    for round in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        found=0
        for pid in $(ip netns pids "$ns" 2>/dev/null || true); do
            found=1
            if ((round <= 10)); then
                kill -TERM "$pid" 2>/dev/null || true
            else
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
        ((found)) || return 0
        sleep 0.2
    done
    echo "run.sh: processes left in $ns: $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')" >&2
}

# stop_pids: ends every process this run started (bounded: 3 s per process, then SIGKILL).
stop_pids() {
    local pid i
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}

# ns_sysctl NS KEY=VALUE...: sets sysctls inside a namespace.
ns_sysctl() {
    local ns=$1 kv
    shift
    for kv in "$@"; do
        ip netns exec "$ns" sysctl -qw "$kv" >/dev/null
    done
}

# bench_topo_create PREFIX: the reference topology (topo_create, no rate limit) with the harness's
# settings. In every namespace: ephemeral ports above every listening port (10240-65000), TIME_WAIT
# reuse for outgoing connections (tcp_tw_reuse = 1), deep accept queues (somaxconn and
# tcp_max_syn_backlog 8192). In gw and srv, TCP Fast Open as a gateway and a server would run it
# (client and server bits), so that a relay configured with fast_open = true can use it (off by
# default); HAProxy and socat are not configured for it, as their documented setups are not.
bench_topo_create() {
    local prefix=$1 ns
    topo_create "$prefix" || die "could not create the topology ${prefix}*"
    for ns in $(topo_namespaces "$prefix"); do
        ns_sysctl "$ns" net.ipv4.ip_local_port_range="10240 65000" net.ipv4.tcp_tw_reuse=1 \
            net.core.somaxconn=8192 net.ipv4.tcp_max_syn_backlog=8192
    done
    for ns in gw srv; do
        ns_sysctl "${prefix}$ns" net.ipv4.tcp_fastopen=3
    done
}
