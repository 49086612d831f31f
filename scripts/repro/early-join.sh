#!/usr/bin/env bash
# Usage: scripts/repro/early-join.sh [ROUNDS] [JOIN_DELAY_MS] [KIB]   (default 100 0 1024; needs root)
#        EARLY_JOIN_PM=kernel scripts/repro/early-join.sh ...           (the in-kernel path manager)
#        EARLY_JOIN_CHECKSUM=1 scripts/repro/early-join.sh ...          (DSS checksums on, in gw and srv)
#        EARLY_JOIN_FLAP_MS=300 scripts/repro/early-join.sh 60 200 8192  (uplink A down 300 ms into each
#                                                                         round, for EARLY_JOIN_FLAP_DOWN_S)
#
# Many short MPTCP transfers whose join subflows a userspace path manager opens the moment each
# connection is established, as the relay's path manager did: the trigger of the rare digest mismatch
# (docs/RELIABILITY.md finding 2), tried hundreds of times a minute instead of once per 64 MiB run.
#
# One topology (reference + uplink C, 50mbit tbf on every uplink), gw on the userspace path manager
# with pm-driver.py (B and C (backup) created for every connection JOIN_DELAY_MS after its
# ESTABLISHED event; 0 = at once), or, with EARLY_JOIN_PM=kernel, on the in-kernel path manager with
# `subflow` endpoints for B and C (backup), which opens them at establishment. Each round runs 8 (EARLY_JOIN_CONNS) concurrent hashpeer pattern transfers of KIB KiB
# each way, gw -> srv, no link flaps (with EARLY_JOIN_FLAP_MS: A, which every connection starts on, goes
# down that long into each round and comes back EARLY_JOIN_FLAP_DOWN_S (default 3) seconds later: the
# start of docs/RELIABILITY.md finding 11's damaged uploads, with the path manager destroying the dead
# subflow and joining A again). Every received stream is checked word by word; a damaged one is
# printed with hashpeer's diagnosis. Bounded: ROUNDS rounds (at most 2000), 60 s per round, 45 min in
# all. Logs: $EARLY_JOIN_LOGS (default /tmp/early-join.<pid>). Exit: 0 when every stream arrived
# intact, 1 when at least one was damaged, 2 when the setup failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
topology_lib="$root/scripts/lib/topology.sh"
hashpeer="$root/scripts/lib/hashpeer.py"
driver="$here/pm-driver.py"

rounds=${1:-100}
delay=${2:-0}
kib=${3:-1024}
if ! [[ $rounds =~ ^[0-9]+$ ]] || ((rounds < 1 || rounds > 2000)); then
    echo "early-join: ROUNDS must be a number from 1 to 2000" >&2
    exit 2
fi
if ! [[ $delay =~ ^[0-9]+$ && $kib =~ ^[0-9]+$ ]] || ((kib < 1 || kib > 65536)); then
    echo "early-join: JOIN_DELAY_MS is a whole number of milliseconds, KIB from 1 to 65536" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "early-join: needs root (network namespaces)" >&2
    exit 2
fi

conns=${EARLY_JOIN_CONNS:-8}
if ! [[ $conns =~ ^[0-9]+$ ]] || ((conns < 1 || conns > 64)); then
    echo "early-join: EARLY_JOIN_CONNS must be a number from 1 to 64" >&2
    exit 2
fi
bytes=$((kib * 1024))
flap_ms=${EARLY_JOIN_FLAP_MS:-}
flap_down=${EARLY_JOIN_FLAP_DOWN_S:-3}
if [[ -n $flap_ms ]] && ! [[ $flap_ms =~ ^[0-9]+$ && $flap_down =~ ^[0-9]+$ ]] || ((${flap_down:-0} > 20)); then
    echo "early-join: EARLY_JOIN_FLAP_MS and EARLY_JOIN_FLAP_DOWN_S are whole numbers (down at most 20 s)" >&2
    exit 2
fi
rate=50mbit
port=5201
logs=${EARLY_JOIN_LOGS:-/tmp/early-join.$$}
mkdir -p "$logs"

loop_label=early-join
# shellcheck source=scripts/lib/run-loop.sh
source "$root/scripts/lib/run-loop.sh"
trap cleanup_run EXIT
trap 'exit 130' INT TERM

prefix="ej$$-"
gw="${prefix}gw"
srv="${prefix}srv"
topo 60 topo_create "$prefix" "$rate" || exit 2
topo 30 topo_add_uplink_c "$prefix" "$rate" || exit 2
timeout 10 ip -n "$gw" mptcp endpoint flush
timeout 10 ip -n "$gw" mptcp limits set subflows 8 add_addr_accepted 8
timeout 10 ip -n "$srv" mptcp limits set subflows 8 add_addr_accepted 8
checksum=${EARLY_JOIN_CHECKSUM:-0}
for ns in "$gw" "$srv"; do
    timeout 10 ip netns exec "$ns" sysctl -qw net.mptcp.checksum_enabled="$checksum"
    # A SYN lost while A is down must not make the kernel give up MPTCP for the next connections (its
    # active-open blackhole detection did, 180 times of 200, in the first flap run).
    timeout 10 ip netns exec "$ns" sysctl -qw net.mptcp.blackhole_timeout=0 2>/dev/null || true
done
variant=${EARLY_JOIN_PM:-userspace}
if [[ $variant == kernel ]]; then
    timeout 10 ip -n "$gw" mptcp endpoint add 198.18.2.1 dev upb0 subflow
    timeout 10 ip -n "$gw" mptcp endpoint add 198.18.3.1 dev upc0 subflow backup
    # Events only: pm-driver.py then logs what the kernel did and issues nothing (no path is its to manage).
    driver_paths=(--path a:upa0:198.18.99.1)
elif [[ $variant == userspace ]]; then
    timeout 10 ip netns exec "$gw" sysctl -qw net.mptcp.path_manager=userspace
    driver_paths=(--path a:upa0:198.18.1.1 --path b:upb0:198.18.2.1 --path c:upc0:198.18.3.1:backup)
else
    echo "early-join: EARLY_JOIN_PM is kernel or userspace, not $variant" >&2
    exit 2
fi
start_in "$gw" "$logs/pm-driver.log" 2800 python3 -u "$driver" --remote-port "$port" --max-seconds 2750 \
    --join-delay-ms "$delay" "${driver_paths[@]}"
for ((i = 0; i < 50; i++)); do
    grep -q '^pm-driver: ready' "$logs/pm-driver.log" 2>/dev/null && break
    sleep 0.1
done
if ! grep -q '^pm-driver: ready' "$logs/pm-driver.log"; then
    echo "early-join: pm-driver.py did not start:" >&2
    cat "$logs/pm-driver.log" >&2
    exit 2
fi

# Counts the JSON reports of FILES whose pattern check failed, and prints their diagnoses.
damaged_in() {
    python3 - "$@" <<'EOF'
import json, sys
bad = 0
for name in sys.argv[1:]:
    for line in open(name, errors="replace"):
        if line.startswith("{"):
            report = json.loads(line)
            pattern = report.get("pattern") or {}
            if pattern and not pattern.get("ok", True):
                bad += 1
                print(f"  DAMAGED ({name}): {pattern.get('diagnosis')}", file=sys.stderr)
print(bad)
EOF
}

echo "early-join: $rounds rounds of $conns transfers, $kib KiB each way, $variant path manager, joins ${delay} ms after ESTABLISHED," \
    "${flap_ms:+A down ${flap_ms} ms into each round for ${flap_down} s,}" \
    "DSS checksums $checksum;" \
    "logs in $logs"
started=$SECONDS
streams=0
damaged=0
failed=0
for ((round = 1; round <= rounds && SECONDS - started < 2700; round++)); do
    dir="$logs/round-$round"
    mkdir -p "$dir"
    round_pids=()
    timeout -k 5 60 ip netns exec "$srv" python3 "$hashpeer" serve --mptcp --listen "198.18.1.2:$port" \
        --count "$conns" --bytes "$bytes" --timeout 30 >"$dir/serve.log" 2>&1 &
    round_pids+=("$!")
    topo 15 topo_wait_listen "$srv" "$port" 10 || exit 2
    for ((c = 1; c <= conns; c++)); do
        timeout -k 5 60 ip netns exec "$gw" python3 "$hashpeer" send --mptcp --connect "198.18.1.2:$port" \
            --bytes "$bytes" --timeout 30 >"$dir/send-$c.log" 2>&1 &
        round_pids+=("$!")
    done
    if [[ -n $flap_ms ]]; then
        (
            sleep "$(awk -v ms="$flap_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
            timeout 10 ip -n "$gw" link set upa0 down
            sleep "$flap_down"
            timeout 10 ip -n "$gw" link set upa0 up
        ) &
        round_pids+=("$!")
    fi
    status=0
    for pid in "${round_pids[@]}"; do
        wait "$pid" || status=1
    done
    bad=$(damaged_in "$dir"/serve.log "$dir"/send-*.log)
    streams=$((streams + 2 * conns))
    damaged=$((damaged + bad))
    if ((bad > 0)); then
        echo "round $round: $bad damaged stream(s); logs in $dir"
        cp "$logs/pm-driver.log" "$dir/pm-driver-so-far.log"
    elif ((status != 0)); then
        failed=$((failed + 1))
        echo "round $round: a peer failed without damage (see $dir)"
    else
        rm -rf "$dir"
    fi
done
# The kernels' own view: MPTCP counters that were not zero (DSS mismatches, resets sent, duplicates).
for ns in "$gw" "$srv"; do
    echo "early-join: nstat MPTcpExt in ${ns#"$prefix"}:" \
        "$(timeout 10 ip netns exec "$ns" nstat -az 2>/dev/null | awk '/^MPTcpExt/ && $2 != 0 { printf "%s=%s ", substr($1, 9), $2 }')"
done
resets=$(grep -c 'SUB_CLOSED.*reset_reason=1' "$logs/pm-driver.log" || true)
echo "early-join: $damaged of $streams streams damaged, $failed rounds with other failures," \
    "$resets subflows reset by the peer with reason 1, in $((SECONDS - started)) s (joins after ${delay} ms)"
((damaged == 0))
