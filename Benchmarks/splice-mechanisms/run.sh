#!/usr/bin/env bash
# Measures the candidate socket-to-socket byte movers of the relay's data path (splice_bench.c)
# on MPTCP and TCP over loopback, inside a throwaway network namespace, and prints the medians
# as a Markdown table (the one in docs/DATA-PATH.md).
#
# usage: sudo Benchmarks/splice-mechanisms/run.sh [-n BYTES] [-r REPEATS] [-m "a b c d e f"] [-p "mptcp tcp"] [-o RAW_FILE]
#   -n BYTES     payload per run (default 4294967296 = 4 GiB)
#   -r REPEATS   rounds; each round runs every mechanism once per protocol, interleaved (default 3)
#   -m LIST      mechanisms to run (default "a b c d e f"; see splice_bench.c)
#   -p LIST      protocols (default "mptcp tcp"; also tcp2mptcp, mptcp2tcp: mixed legs)
#   -o RAW_FILE  also keep the raw key=value lines there
# Needs root (ip netns). Installs gcc and liburing-dev with apt-get only when they are missing.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
BYTES=$((4 << 30))
REPEATS=3
MECHANISMS="a b c d e f"
PROTOCOLS="mptcp tcp"
RAW_OUT=""
readonly PER_RUN_TIMEOUT=300

while getopts "n:r:m:p:o:" opt; do
    case "$opt" in
        n) BYTES="$OPTARG" ;;
        r) REPEATS="$OPTARG" ;;
        m) MECHANISMS="$OPTARG" ;;
        p) PROTOCOLS="$OPTARG" ;;
        o) RAW_OUT="$OPTARG" ;;
        *) sed -n '6,12p' "$0" >&2; exit 2 ;;
    esac
done
if ! [[ "$BYTES" =~ ^[0-9]+$ && "$REPEATS" =~ ^[0-9]+$ && "$REPEATS" -ge 1 && "$REPEATS" -le 50 ]]; then
    echo "run.sh: -n and -r take positive integers (-r at most 50)" >&2
    exit 2
fi
if [[ "$(id -u)" -ne 0 ]]; then
    echo "run.sh: needs root for ip netns" >&2
    exit 1
fi

# Toolchain: install only what is missing.
missing=()
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[[ -f /usr/include/liburing.h ]] || missing+=(liburing-dev)
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

NAMESPACE="splicebench-$$-$(date +%s)"
WORK_DIR="$(mktemp -d)"
cleanup() {
    ip netns delete "$NAMESPACE" 2>/dev/null || true
    rm -rf "$WORK_DIR"
}
trap cleanup EXIT

gcc -O2 -Wall -Wextra -pthread -o "$WORK_DIR/splice_bench" "$SCRIPT_DIR/splice_bench.c" -luring

ip netns add "$NAMESPACE"
ip netns exec "$NAMESPACE" ip link set lo up
if [[ "$(ip netns exec "$NAMESPACE" sysctl -n net.mptcp.enabled)" != "1" ]]; then
    echo "run.sh: MPTCP is disabled (net.mptcp.enabled != 1)" >&2
    exit 1
fi

RAW="$WORK_DIR/raw.txt"
echo "# $(date -u +%FT%TZ) kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" | tee "$RAW" >&2
echo "# bytes per run $BYTES, repeats $REPEATS, mechanisms: $MECHANISMS, protocols: $PROTOCOLS" | tee -a "$RAW" >&2
for round in $(seq 1 "$REPEATS"); do
    for protocol in $PROTOCOLS; do
        for mechanism in $MECHANISMS; do
            line="$(timeout "$PER_RUN_TIMEOUT" ip netns exec "$NAMESPACE" \
                "$WORK_DIR/splice_bench" -m "$mechanism" -p "$protocol" -n "$BYTES" -t "$PER_RUN_TIMEOUT")"
            echo "round=$round $line" | tee -a "$RAW" >&2
        done
    done
done
if [[ -n "$RAW_OUT" ]]; then
    cp "$RAW" "$RAW_OUT"
fi

# field NAME LINE: the value of NAME=... in a key=value line.
field() {
    local name="$1" line="$2" pair
    for pair in $line; do
        if [[ "$pair" == "$name="* ]]; then
            echo "${pair#*=}"
            return
        fi
    done
}

# median MECHANISM PROTOCOL FIELD: median over the rounds (middle value; mean of the two middle ones).
median() {
    grep -E "mech=$1 proto=$2 " "$RAW" | while read -r line; do field "$3" "$line"; done | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

describe() {
    case "$1" in
        a) echo "(a) blocking splice() loop" ;;
        b) echo "(b) io_uring POLL_ADD + inline nonblocking splice (relay today)" ;;
        c) echo "(c) IORING_OP_SPLICE, one op at a time" ;;
        d) echo "(d) IORING_OP_SPLICE linked (IOSQE_IO_LINK)" ;;
        e) echo "(e) io_uring recv/send, userspace buffer" ;;
        f) echo "(f) io_uring multishot recv, provided buffers + send" ;;
        *) echo "($1)" ;;
    esac
}

echo
echo "Medians of $REPEATS runs, $BYTES bytes each; CPU in seconds per 1e9 bytes."
echo
echo "| mechanism | proto | Gbit/s | relay CPU s/GB (thread + io-wq) | of which relay thread | machine CPU s/GB (all threads) |"
echo "|---|---|---:|---:|---:|---:|"
for protocol in $PROTOCOLS; do
    for mechanism in $MECHANISMS; do
        gbps="$(median "$mechanism" "$protocol" gbps)"
        relay="$(median "$mechanism" "$protocol" relay_cpu_per_gb)"
        thread="$(median "$mechanism" "$protocol" relay_thread_cpu_per_gb)"
        machine="$(median "$mechanism" "$protocol" machine_cpu)"
        machine_per_gb="$(awk -v m="$machine" -v b="$BYTES" 'BEGIN { printf "%.2f", m / (b / 1e9) }')"
        printf '| %s | %s | %.2f | %.2f | %.2f | %s |\n' \
            "$(describe "$mechanism")" "$protocol" "$gbps" "$relay" "$thread" "$machine_per_gb"
    done
done
