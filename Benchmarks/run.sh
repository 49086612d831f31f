#!/usr/bin/env bash
# mptcp-relay against HAProxy, socat and the kernel, side by side on the reference topology.
#
#   cli ── gw ══ uplinks A and B ══ srv ── dst        (scripts/lib/topology.sh, no rate limit)
#
# Contenders, each in turn on the same chain, interleaved over rounds (medians reported):
#   direct       kernel routing cli -> dst, no proxy (the upper bound)
#   mptcp-relay  forward in gw, convert in srv
#   mptcp-relay-pm  the same with the relay as gw's MPTCP path manager (connection rows only)
#   haproxy      `mptcpize run haproxy` (mode tcp, option splice-auto, nbthread 2) in gw and srv
#   socat        `mptcpize run socat TCP-LISTEN:...,fork TCP:...` in gw and srv
# Figures: iperf3 1 stream both ways and 8 streams, wrk connections/s (Connection: close) and
# keep-alive latency against nginx in dst, CPU seconds per GB and RSS per idle connection of the
# contender's processes, and the share of 2 x 100 Mbit/s (tbf) that one stream gets.
# Then the sustained section (Benchmarks/lib/sustained.sh): the same wrk with Connection: close
# without pause for 60 s, each contender on a fresh chain; conn/s per 10 s window and the
# contender's CPU seconds per 1 000 connections.
# Then the path-manager section (Benchmarks/lib/paths.sh): the relay as gw's MPTCP path manager
# with a third uplink C; aggregation share over A+B, and the failover stall when A goes down with C
# as standby or on-demand backup (and the kernel path manager for comparison).
# What each figure means and its caveats: docs/BENCHMARKS.md.
#
# usage: sudo Benchmarks/run.sh [--quick] [--rounds N] [--out DIR] [--contenders "a b ..."]
#                              [--sustained-seconds N] [--only paths|sustained]
#   --quick         1 round, short runs, 1000 idle connections (about 2 minutes with a built binary);
#                   results go to Benchmarks/results/tmp/quick unless --out says otherwise
#   --rounds N      rounds (default 3, --quick 1)
#   --out DIR       where latest.md, latest.json, latest.png, paths.md, paths.json and machine.txt
#                   go (default Benchmarks/results)
#   --contenders L  subset, e.g. "direct mptcp-relay haproxy" (default: all five)
#   --sustained-seconds N  length of each sustained run (default 60, --quick 6); windows of 10 s
#                   (N/3 s when N < 30)
#   --only paths    only the path-manager section: writes paths.md and paths.json (latest.* and
#                   machine.txt stay as they are); about 1 minute, 30 s with --quick
#   --only sustained  only the sustained section: writes sustained.md and sustained.json (about
#                   5 minutes per round with all five contenders)
# Installs what is missing with apt-get, builds the relay with
# scripts/build-release.sh (the .deb's release build, in .build-release), removes every namespace and process it
# created on exit (also on Ctrl-C). Exit status is non-zero only when the harness breaks (a
# contender passes no data, a listener never comes up, ...); no timing is asserted.
set -euo pipefail

bench=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$bench/.." && pwd)
lib=$bench/lib
# shellcheck source=scripts/lib/topology.sh
source "$repo/scripts/lib/topology.sh"
# shellcheck source=Benchmarks/lib/common.sh
source "$lib/common.sh"
# shellcheck source=Benchmarks/lib/contenders.sh
source "$lib/contenders.sh"
# shellcheck source=Benchmarks/lib/paths.sh
source "$lib/paths.sh"
# shellcheck source=Benchmarks/lib/sustained.sh
source "$lib/sustained.sh"

usage() {
    sed -n '23,40p' "$0" | sed 's/^# \{0,1\}//'
}

quick=0
rounds=""
out=""
contenders=(direct mptcp-relay mptcp-relay-pm haproxy socat)
only=""
sustained_seconds=""
while (($# > 0)); do
    case $1 in
    --quick) quick=1 ;;
    --rounds)
        rounds=${2:?--rounds needs a number}
        shift
        ;;
    --out)
        out=${2:?--out needs a directory}
        shift
        ;;
    --contenders)
        read -r -a contenders <<<"${2:?--contenders needs a list}"
        shift
        ;;
    --sustained-seconds)
        sustained_seconds=${2:?--sustained-seconds needs a number}
        shift
        ;;
    --only)
        only=${2:?--only needs a section (paths, sustained)}
        [[ $only == paths || $only == sustained ]] || {
            echo "run.sh: --only takes: paths, sustained" >&2
            exit 2
        }
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
    shift
done

if ((quick)); then
    rounds=${rounds:-1}
    iperf_seconds=2
    wrk_seconds=2
    lat1_seconds=1
    idle_n=1000
    idle_n_socat=300
    tbf_seconds=2
    sustained_seconds=${sustained_seconds:-6}
    paths_agg_bytes=$((40 * 1048576))
    paths_fail_bytes=$((32 * 1048576))
    paths_contenders=(relay-standby relay-on-demand kernel)
    out=${out:-$bench/results/tmp/quick}
else
    rounds=${rounds:-3}
    iperf_seconds=4
    wrk_seconds=4
    lat1_seconds=2
    idle_n=10000
    idle_n_socat=1000
    tbf_seconds=5
    sustained_seconds=${sustained_seconds:-60}
    paths_agg_bytes=$((96 * 1048576))
    paths_fail_bytes=$((48 * 1048576))
    paths_contenders=(relay-standby relay-on-demand kernel)
    out=${out:-$bench/results}
fi
# Each relay process holds two descriptors per relayed connection (HAProxy also keeps some for its
# splice pipes): stay within the open-file limit the contenders get.
idle_max=$(((NOFILE - 1500) / 2 / 500 * 500))
if ((idle_n > idle_max)); then
    echo "run.sh: open-file limit $NOFILE (no CAP_SYS_RESOURCE to raise it): $idle_max idle connections instead of $idle_n" >&2
    idle_n=$idle_max
fi
tbf_rate=100mbit
tbf_sum_mbps=200
if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 20)); then
    echo "run.sh: --rounds takes 1..20" >&2
    exit 2
fi
if ! [[ $sustained_seconds =~ ^[0-9]+$ ]] || ((sustained_seconds < 3 || sustained_seconds > 600)); then
    echo "run.sh: --sustained-seconds takes 3..600" >&2
    exit 2
fi
# Windows of 10 s show a collapse in a 60 s run; a short run (--quick) gets three windows.
if ((sustained_seconds >= 30)); then
    sustained_window=10
else
    sustained_window=$(awk -v s="$sustained_seconds" 'BEGIN { printf "%g", s / 3 }')
fi
for c in "${contenders[@]}"; do
    case $c in
    direct | mptcp-relay | mptcp-relay-pm | haproxy | socat) ;;
    *)
        echo "run.sh: unknown contender $c (direct, mptcp-relay, mptcp-relay-pm, haproxy, socat)" >&2
        exit 2
        ;;
    esac
done
if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: run as root (it creates network namespaces): sudo $0" >&2
    exit 1
fi

P="bn$$-"
main_prefix=$P
pids=()
keep_work=0
work=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    stop_pids
    [[ -n $sustained_prefix ]] && topo_destroy "$sustained_prefix"
    topo_destroy "$main_prefix"
    if [[ -n $work && -d $work ]]; then
        # Kept when something broke (for its logs); removed after success and after Ctrl-C.
        if ((keep_work || (status != 0 && status != 130 && status != 143))); then
            echo "run.sh: logs and configs kept in $work" >&2
        else
            rm -rf "$work"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

started=$SECONDS

# --- 1. dependencies -------------------------------------------------------------------------
say "Dependencies"
missing=()
need() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
}
need iperf3 iperf3
need wrk wrk
need nginx nginx-light
need haproxy haproxy
need mptcpize mptcpize
need socat socat
need gnuplot gnuplot-nox
need python3 python3
need prlimit util-linux
need ss iproute2
if ((${#missing[@]} > 0)); then
    echo "installing: ${missing[*]}"
    timeout 300 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "all present"
fi

# --- 2. build ------------------------------------------------------------------------------------
say "Building mptcp-relay (scripts/build-release.sh: release, static Swift runtime, .build-release)"
build_started=$SECONDS
# The release build the .deb ships (packaging/deb/build.sh), so a CI run compiles it once and the
# benchmark measures the binary users install. It retries a failed build once (a source file saved
# during the build fails it).
build_log=/tmp/mptcp-relay-bench-build.$$.log
if ! relay=$("$repo/scripts/build-release.sh" 2>"$build_log" | tail -n 1); then
    tail -n 15 "$build_log" >&2
    rm -f "$build_log"
    die "scripts/build-release.sh failed"
fi
rm -f "$build_log"
[[ -x $relay ]] || die "no binary at $relay"
build_seconds=$((SECONDS - build_started))
echo "built in ${build_seconds}s: $relay"
measure_started=$SECONDS

# --- 3. machine, topology, services ------------------------------------------------------------
work=$(mktemp -d /tmp/mptcp-relay-bench.XXXXXX)
raw=$work/raw.jsonl
: >"$raw"
python3 "$lib/bench.py" machine --repo "$repo" --json "$work/machine.json"

say "Topology ${P}{cli,gw,srv,dst} (no rate limit) and services in dst"
# Room for the connection tests (ephemeral ports, TIME_WAIT reuse, deep accept queues) and TCP
# Fast Open in gw and srv: bench_topo_create in Benchmarks/lib/common.sh.
bench_topo_create "$P"
if [[ -z $only ]]; then
    dst_services_start
    echo "dst: nginx on :80 (/1k), iperf3 -s on :5201, idle echo on :9000"
fi

# --- 4. measurements -----------------------------------------------------------------------------

# cpu_of NAME: CPU seconds so far of the contender's processes in gw and srv (0 for direct).
cpu_of() {
    local name=$1
    if [[ $name == direct ]]; then
        echo 0
    else
        python3 "$lib/bench.py" cpu --ns "${P}gw" --ns "${P}srv" --comm "$(contender_comm "$name")"
    fi
}

# run_iperf PHASE ROUND NAME TEST ARGS...: one iperf3 run from cli, with the contender's CPU.
run_iperf() {
    local phase=$1 round=$2 name=$3 test=$4
    shift 4
    local ep file cpu0 cpu1 extra=()
    ep=$(contender_endpoint "$name" 0)
    file=$work/$phase-$round-$name-$test.iperf.json
    cpu0=$(cpu_of "$name")
    if ! ip netns exec "${P}cli" timeout $((iperf_seconds + tbf_seconds + 30)) \
        iperf3 -c "${ep%:*}" -p "${ep##*:}" -J "$@" >"$file" 2>&1; then
        tail -n 20 "$file" >&2
        die "$name: iperf3 $test failed"
    fi
    sleep 0.3 # let socat children exit and be reaped, so that their CPU time is counted
    cpu1=$(cpu_of "$name")
    [[ $name == direct ]] || extra+=(--cpu-before "$cpu0" --cpu-after "$cpu1")
    [[ $phase == tbf ]] && extra+=(--share-of "$tbf_sum_mbps")
    python3 "$lib/bench.py" record --raw "$raw" --phase "$phase" --round "$round" \
        --contender "$name" --test "$test" --iperf "$file" "${extra[@]}"
}

# run_wrk ROUND NAME TEST ARGS...: one wrk run from cli against nginx's 1 KiB file.
run_wrk() {
    local round=$1 name=$2 test=$3
    shift 3
    local ep file
    ep=$(contender_endpoint "$name" 1)
    file=$work/main-$round-$name-$test.wrk.txt
    if ! ip netns exec "${P}cli" timeout $((wrk_seconds + 30)) \
        wrk --latency "$@" "http://$ep/1k" >"$file" 2>&1; then
        tail -n 20 "$file" >&2
        die "$name: wrk $test failed"
    fi
    python3 "$lib/bench.py" record --raw "$raw" --phase main --round "$round" \
        --contender "$name" --test "$test" --wrk "$file"
}

# run_idle ROUND NAME: RSS growth of the contender's processes with N idle relayed connections.
run_idle() {
    local round=$1 name=$2
    local ep file n=$idle_n
    [[ $name == socat ]] && n=$idle_n_socat
    ep=$(contender_endpoint "$name" 2)
    file=$work/main-$round-$name-idle.json
    local scrape=()
    if [[ $name == mptcp-relay ]]; then
        # The relay's metrics side port in gw, timed while every idle connection is live.
        scrape=(--scrape-ns "${P}gw" --scrape http://127.0.0.1:9090/metrics
            --scrape http://127.0.0.1:9090/connections)
    fi
    if ! ip netns exec "${P}cli" timeout 150 python3 "$lib/holdconns.py" hold --connect "$ep" \
        --count "$n" --ns "${P}gw" --ns "${P}srv" --comm "$(contender_comm "$name")" \
        --timeout 100 --settle 1 "${scrape[@]}" >"$file" 2>"$file.err"; then
        cat "$file.err" >&2
        die "$name: idle connections did not all pass data"
    fi
    python3 "$lib/bench.py" record --raw "$raw" --phase main --round "$round" \
        --contender "$name" --test idle --hold "$file"
}

# mptcp_counters FILE: srv's MPTcpExt counters.
mptcp_counters() {
    ip netns exec "${P}srv" python3 "$lib/bench.py" counters >"$1"
}

# turn_main ROUND NAME: every unthrottled figure of one contender (mptcp-relay-pm: only the
# connection rate, the figure that the path manager changes).
turn_main() {
    local round=$1 name=$2
    echo "-- round $round: $name"
    contender_start "$name"
    mptcp_counters "$work/counters-$round-$name-0.json"
    if [[ $name == mptcp-relay-pm ]]; then
        run_wrk "$round" "$name" close -t 2 -c 32 -d "${wrk_seconds}s" -H 'Connection: close'
        turn_main_end "$round" "$name"
        return
    fi
    run_iperf main "$round" "$name" up -t "$iperf_seconds"
    run_iperf main "$round" "$name" down -t "$iperf_seconds" -R
    run_iperf main "$round" "$name" up8 -t "$iperf_seconds" -P 8
    run_wrk "$round" "$name" close -t 2 -c 32 -d "${wrk_seconds}s" -H 'Connection: close'
    run_wrk "$round" "$name" keepalive -t 2 -c 32 -d "${wrk_seconds}s"
    run_wrk "$round" "$name" latency1 -t 1 -c 1 -d "${lat1_seconds}s"
    [[ $name == direct ]] || run_idle "$round" "$name"
    turn_main_end "$round" "$name"
}

# turn_main_end ROUND NAME: srv's MPTCP counters over the turn, and the contender stopped.
turn_main_end() {
    local round=$1 name=$2
    mptcp_counters "$work/counters-$round-$name-1.json"
    python3 "$lib/bench.py" record --raw "$raw" --phase main --round "$round" --contender "$name" \
        --test mptcp --counters-before "$work/counters-$round-$name-0.json" \
        --counters-after "$work/counters-$round-$name-1.json"
    contender_stop
}

# turn_tbf ROUND NAME: one stream each way over the two rate-limited uplinks (not for
# mptcp-relay-pm: the path-manager section measures the relay's aggregation as path manager).
turn_tbf() {
    local round=$1 name=$2
    [[ $name == mptcp-relay-pm ]] && return 0
    echo "-- round $round: $name"
    contender_start "$name"
    run_iperf tbf "$round" "$name" agg_up -t "$tbf_seconds" -O 1
    run_iperf tbf "$round" "$name" agg_down -t "$tbf_seconds" -O 1 -R
    contender_stop
}

# rotated ROUND: the contenders, starting at a different one each round (no fixed position).
rotated() {
    local round=$1 n=${#contenders[@]} i
    for ((i = 0; i < n; i++)); do
        echo "${contenders[(i + round - 1) % n]}"
    done
}

main_seconds=0
sustained_secs=0
if [[ -z $only ]]; then
    say "Unthrottled chain: $rounds round(s) of ${contenders[*]}"
    for ((round = 1; round <= rounds; round++)); do
        for name in $(rotated "$round"); do
            turn_main "$round" "$name"
        done
    done
    main_seconds=$((SECONDS - measure_started))
fi

if [[ -z $only || $only == sustained ]]; then
    sustained_started=$SECONDS
    say "Sustained connections: ${sustained_seconds} s of wrk per contender, each on a fresh chain: $rounds round(s)"
    for ((round = 1; round <= rounds; round++)); do
        for name in $(rotated "$round"); do
            sustained_turn "$round" "$name"
        done
    done
    sustained_secs=$((SECONDS - sustained_started))
fi

if [[ -z $only ]]; then
    say "Two $tbf_rate uplinks (tbf on both ends of A and B): $rounds round(s)"
    for ns in "${P}gw" "${P}srv"; do
        topo_rate_limit "$ns" upa0 "$tbf_rate"
        topo_rate_limit "$ns" upb0 "$tbf_rate"
    done
    for ((round = 1; round <= rounds; round++)); do
        for name in $(rotated "$round"); do
            turn_tbf "$round" "$name"
        done
    done
fi

paths_seconds=0
if [[ -z $only || $only == paths ]]; then
    paths_started=$SECONDS
    say "Path manager: uplinks A, B and C at $PATHS_RATE, aggregation and failover: $rounds round(s)"
    paths_rounds "$rounds" "$paths_agg_bytes" "$paths_fail_bytes" "${paths_contenders[@]}"
    paths_seconds=$((SECONDS - paths_started))
fi

# --- 5. report -------------------------------------------------------------------------------------
say "Report"
python3 "$lib/bench.py" machine-finish --json "$work/machine.json" --text "$work/machine.txt"
cmdline="Benchmarks/run.sh"
((quick)) && cmdline+=" --quick"
[[ -n $only ]] && cmdline+=" --only $only"
paths_params=$(printf '"paths_rounds": %d, "paths_rate": "%s", "paths_agg_bytes": %d, "paths_fail_bytes": %d, "paths_event_at": %s, "paths_contenders": "%s", "paths_seconds": %d' \
    "$rounds" "$PATHS_RATE" "$paths_agg_bytes" "$paths_fail_bytes" "$PATHS_EVENT_AT" \
    "${paths_contenders[*]}" "$paths_seconds")
mkdir -p "$out"
if [[ $only == sustained ]]; then
    params=$(printf '{"command": "%s", "rounds": %d, "sustained_seconds": %d, "sustained_window": %s, "contenders": "%s", "build_seconds": %d, "measure_seconds": %d}' \
        "$cmdline" "$rounds" "$sustained_seconds" "$sustained_window" "${contenders[*]}" \
        "$build_seconds" $((SECONDS - measure_started)))
    python3 "$lib/bench.py" sustained-report --raw "$raw" --machine "$work/machine.json" \
        --params "$params" --out "$out"
    cat "$out/sustained.md"
    echo
    echo "results: $out/sustained.md, sustained.json"
elif [[ $only == paths ]]; then
    params=$(printf '{"command": "%s", "build_seconds": %d, "measure_seconds": %d, %s}' \
        "$cmdline" "$build_seconds" $((SECONDS - measure_started)) "$paths_params")
    python3 "$lib/bench.py" paths-report --raw "$raw" --machine "$work/machine.json" \
        --params "$params" --out "$out"
    cat "$out/paths.md"
    echo
    echo "results: $out/paths.md, paths.json"
else
    params=$(printf '{"command": "%s", "rounds": %d, "iperf_seconds": %d, "wrk_seconds": %d, "lat1_seconds": %d, "idle_n": %d, "idle_n_socat": %d, "tbf_rate": "%s", "tbf_seconds": %d, "sustained_seconds": %d, "sustained_window": %s, "contenders": "%s", "build_seconds": %d, "measure_seconds": %d, "main_seconds": %d, "sustained_section_seconds": %d, %s}' \
        "$cmdline" "$rounds" "$iperf_seconds" "$wrk_seconds" "$lat1_seconds" "$idle_n" "$idle_n_socat" \
        "$tbf_rate" "$tbf_seconds" "$sustained_seconds" "$sustained_window" "${contenders[*]}" \
        "$build_seconds" $((SECONDS - measure_started)) "$main_seconds" "$sustained_secs" "$paths_params")
    python3 "$lib/bench.py" report --raw "$raw" --machine "$work/machine.json" --params "$params" \
        --out "$out" --gnuplot
    python3 "$lib/bench.py" paths-report --raw "$raw" --machine "$work/machine.json" \
        --params "$params" --out "$out"
    cp "$work/machine.txt" "$out/machine.txt"
    cat "$out/latest.md"
    echo
    echo "results: $out/latest.md, latest.json, latest.png, paths.md, paths.json, machine.txt"
fi
echo "time: build ${build_seconds}s, measurements $((SECONDS - measure_started))s, total $((SECONDS - started))s"
