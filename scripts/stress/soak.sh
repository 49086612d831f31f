#!/usr/bin/env bash
# The soak (issue 11; not in CI): MINUTES of mixed traffic through both relays in the reference topology,
# with uplink A flapping and the converter killed (SIGKILL) and restarted, sampling both relays every
# second, then a PNG chart and one summary line: what was lost (must be 0 bytes) and what grew.
#
#   scripts/stress/soak.sh [MINUTES] [OUT_DIR]
#     MINUTES  of traffic, default 30 (2 or more: at least one flap and one converter restart)
#     OUT_DIR  default Benchmarks/results/tmp/soak (git-ignored); holds soak.csv, soak.png, summary.txt,
#              events.csv, transfers.json, the relays' logs and configs
#   Build first: `swift build` (uses .build/debug/mptcp-relay), or scripts/build-release.sh (then
#   .build-release/release/mptcp-relay is used when present). MPTCP_RELAY_BINARY overrides both.
#   Needs root (namespaces); installs gnuplot (gnuplot-nox) with apt-get if it is missing.
#
# Traffic (in cli, towards three servers in dst, each through its own gateway listener):
#   bulk   two loops of hashpeer pattern transfers, SOAK_BULK_MIB (32) MiB each way, checked word by word
#          on both ends, client and server reports joined by connection id
#   short  echo requests of 1 B - 16 KiB (two threads, ~50/s), echo compared byte for byte
#   idle   cohorts of 50 connections: a greeting, silence for a hold (2/5 of the restart interval, at most
#          120 s), then a 4 KiB echo each and a clean close
# Faults: uplink A (gw's upa0) down for 3 s every 25 s; the converter killed with SIGKILL and restarted
# every 5 minutes (every MINUTES/2 for shorter runs). Both relays run with idle_timeout = 0.
# Verdict: exit 1 if any transfer was damaged or lost (ended short without a reset, hung, an idle
# connection closed silently), or if the gateway's fds or RSS, measured idle after a warm-up and again
# idle after the traffic, grew beyond SOAK_FD_TOLERANCE (default 2) fds or SOAK_RSS_TOLERANCE_PCT
# (default 20) percent, or if the gateway's path manager still tracks connections 35 s after the drain.
# Resets are counted, not failures: a killed converter resets what it carried.
# Pipes are judged apart: each worker keeps up to 256 empty pipes pooled, so pipe fds may stay up.
# SOAK_FLAP_EVERY / SOAK_FLAP_DOWN: the flap period and how long A stays down (default 25 and 3 s); a short
# period (e.g. 6 and 2) catches more young bulk transfers in a flap, the trigger of finding 11.
# SOAK_GATEWAY_LOG_LEVEL: the gateway relay's --log-level (default info; debug shows the path manager's
# subflow commands, large).
# SOAK_BLACKHOLE_TIMEOUT: gw's net.mptcp.blackhole_timeout, default 0 here (the kernel's 3600 lets one
# flap turn active MPTCP off for an hour; the summary counts the gateway's MPTCP fallbacks).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
# shellcheck source=scripts/lib/topology.sh
source "$root/scripts/lib/topology.sh"

usage() {
    sed -n '2,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case ${1:-} in
-h | --help)
    usage
    exit 0
    ;;
esac
minutes=${1:-30}
out=${2:-$root/Benchmarks/results/tmp/soak}
if ! [[ $minutes =~ ^[0-9]+$ ]] || ((minutes < 1 || minutes > 1440)); then
    echo "soak: MINUTES must be a whole number from 1 to 1440, not '$minutes'" >&2
    exit 2
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "soak: run as root (it creates network namespaces)" >&2
    exit 1
fi
if [[ -n ${MPTCP_RELAY_BINARY:-} ]]; then
    binary=$MPTCP_RELAY_BINARY
elif [[ -x $root/.build-release/release/mptcp-relay ]]; then
    binary=$root/.build-release/release/mptcp-relay
else
    binary=$root/.build/debug/mptcp-relay
fi
if [[ ! -x $binary ]]; then
    echo "soak: no relay binary at $binary; build first (swift build, or scripts/build-release.sh)" >&2
    exit 1
fi
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "soak: installing gnuplot-nox"
    timeout 300 apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends gnuplot-nox
fi
for cmd in curl python3 ip; do
    command -v "$cmd" >/dev/null 2>&1 || {
        echo "soak: $cmd is missing (scripts/install-deps.sh installs it)" >&2
        exit 1
    }
done

duration=$((minutes * 60))
bulk_bytes=$((${SOAK_BULK_MIB:-32} * 1024 * 1024))
fd_tolerance=${SOAK_FD_TOLERANCE:-2}
rss_tolerance_pct=${SOAK_RSS_TOLERANCE_PCT:-20}
flap_every=${SOAK_FLAP_EVERY:-25}
flap_down=${SOAK_FLAP_DOWN:-3}
if ! [[ $flap_every =~ ^[0-9]+$ && $flap_down =~ ^[0-9]+$ ]] || ((flap_down < 1 || flap_every <= flap_down)); then
    echo "soak: SOAK_FLAP_EVERY must be larger than SOAK_FLAP_DOWN (whole seconds, at least 1)" >&2
    exit 2
fi
restart_every=$((duration / 2 < 300 ? duration / 2 : 300))
((restart_every >= 30)) || restart_every=30
idle_hold=$((restart_every * 2 / 5))
((idle_hold <= 120)) || idle_hold=120
((idle_hold >= 10)) || idle_hold=10
traffic=$root/scripts/stress/soak-traffic.py
hang_hook=$out/on-hang.sh

P="sk$$-"
gw=${P}gw
srv=${P}srv
cli=${P}cli
dst=${P}dst
mkdir -p "$out"
rm -f "$out"/*.jsonl "$out"/status-*.txt "$out"/soak.csv "$out"/events.csv "$out"/*.log "$out"/soak.png \
    "$out"/summary.txt "$out"/transfers.json "$out"/stop
pids=()
helpers=()

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${helpers[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${helpers[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    topo_destroy "$P"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say() { echo "soak: $*"; }
now() { date +%s.%N; }

# --- topology and relays ---------------------------------------------------------------------------
say "$minutes min; relay $binary; output $out"
topo_create "$P" 100mbit
# A flap that catches a connection's SYN on the dying uplink makes the kernel retry it without
# MP_CAPABLE and, with the default blackhole_timeout (3600), turn active MPTCP off for the whole
# namespace for an hour (seen in the first soaks, at the fourth or fifth flap): the rest of the soak
# would be plain TCP. Off here so that MPTCP is soaked; SOAK_BLACKHOLE_TIMEOUT=3600 shows the default.
ip netns exec "$gw" sysctl -qw "net.mptcp.blackhole_timeout=${SOAK_BLACKHOLE_TIMEOUT:-0}"

cat >"$out/gateway.toml" <<'EOF'
[runtime]
workers = 2
path_manager = "relay"
idle_timeout = 0

[metrics]
listen = "127.0.0.1:9090"

[[listener]]
name = "bulk"
role = "forward"
listen = "198.18.0.1:8000"
upstream = "198.18.1.2:8443"
destination = "198.19.0.2:5201"

[[listener]]
name = "short"
role = "forward"
listen = "198.18.0.1:8001"
upstream = "198.18.1.2:8443"
destination = "198.19.0.2:5202"

[[listener]]
name = "idle"
role = "forward"
listen = "198.18.0.1:8002"
upstream = "198.18.1.2:8443"
destination = "198.19.0.2:5202"

[[path]]
name = "a"
interface = "upa0"
[[path]]
name = "b"
interface = "upb0"

[[policy]]
name = "all"
match = { destinations = ["0.0.0.0/0"] }
paths = ["a", "b"]
EOF
cat >"$out/converter.toml" <<'EOF'
[runtime]
workers = 2
idle_timeout = 0

[metrics]
listen = "127.0.0.1:9091"

[[listener]]
name = "converter"
role = "convert"
authentication = "none"
listen = "0.0.0.0:8443"
allow = ["198.19.0.0/24"]
EOF

# Starts the converter in srv (appending to its log) and records its pid for the sampler.
start_converter() {
    ip netns exec "$srv" "$binary" run --config "$out/converter.toml" >>"$out/converter.log" 2>&1 &
    echo "$!" >"$out/converter.pid"
    topo_wait_listen "$srv" 8443 20
}

start_converter
topo_start_in "$gw" "$out/gateway.log" "$binary" run --config "$out/gateway.toml" --log-level "${SOAK_GATEWAY_LOG_LEVEL:-info}"
gateway_pid=${pids[-1]}
topo_wait_listen "$gw" 8000 20
topo_start_in "$dst" "$out/serve-bulk.log" python3 "$traffic" serve-bulk --listen 198.19.0.2:5201 \
    --bytes "$bulk_bytes" --log "$out/bulk-server.jsonl"
topo_start_in "$dst" "$out/serve-echo.log" python3 "$traffic" serve-echo --listen 198.19.0.2:5202
topo_wait_listen "$dst" 5201 10
topo_wait_listen "$dst" 5202 10

# Prints "rss_kib fds" of a pid, or "NaN NaN" when it is gone.
proc_usage() {
    local pid=$1 rss fds
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || rss=
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) || fds=
    if [[ -z $rss ]]; then
        echo "NaN NaN"
    else
        echo "$rss $fds"
    fi
}

# Prints how many of a pid's fds are pipes.
pipe_fds() {
    find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -lname 'pipe:*' 2>/dev/null | wc -l
}

# Writes what a pid's fds point to (socket:[…], pipe:[…], anon_inode:[io_uring], …), counted by kind.
fd_kinds() {
    local pid=$1
    find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null | sed 's/\[[0-9]*\]$//' | sort | uniq -c
}

# Prints "active closed_not_completed mptcp_fallbacks" from a relay's /metrics in NS on PORT, or NaNs.
relay_metrics() {
    local ns=$1 port=$2 text
    if ! text=$(ip netns exec "$ns" curl -sf --max-time 2 "http://127.0.0.1:$port/metrics" 2>/dev/null); then
        echo "NaN NaN NaN"
        return
    fi
    # shellcheck disable=SC2016 # an awk program
    awk '
        /^mptcp_relay_connections_active[{ ]/ { active += $NF }
        /^mptcp_relay_connections_closed_total[{ ]/ && !/result="completed"/ { errors += $NF }
        /^mptcp_relay_mptcp_fallbacks_total[{ ]/ { fallbacks += $NF }
        END { printf "%d %d %d\n", active, errors, fallbacks }' <<<"$text"
}

# Prints "ok reset damaged lost lost_bytes" summed over the generators' status files.
transfer_counts() {
    cat "$out"/status-*.txt 2>/dev/null |
        awk '{ for (i = 1; i <= 5; i++) s[i] += $i } END { printf "%d %d %d %d %d\n", s[1], s[2], s[3], s[4], s[5] }'
}

# Waits (at most SECONDS) until both relays report no live connection.
wait_quiet() {
    local seconds=$1 i g c
    for ((i = 0; i < seconds; i++)); do
        read -r g _ < <(relay_metrics "$gw" 9090)
        read -r c _ < <(relay_metrics "$srv" 9091)
        [[ $g == 0 && $c == 0 ]] && return 0
        sleep 1
    done
    say "relays still hold connections after ${seconds}s (gateway $g, converter $c)"
    return 0
}

# --- warm-up, then the idle baseline ---------------------------------------------------------------
say "warm-up (15 s of every kind of traffic)"
warm_until=$(($(date +%s) + 15))
warm=()
ip netns exec "$cli" python3 "$traffic" bulk --connect 198.18.0.1:8000 --bytes "$bulk_bytes" \
    --until "$warm_until" --id-base 60000 --out "$out" --name warm-bulk >"$out/warm.log" 2>&1 &
warm+=("$!")
ip netns exec "$cli" python3 "$traffic" short --connect 198.18.0.1:8001 --until "$warm_until" \
    --out "$out" --name warm-short >>"$out/warm.log" 2>&1 &
warm+=("$!")
ip netns exec "$cli" python3 "$traffic" idle --connect 198.18.0.1:8002 --until "$warm_until" --count 50 \
    --hold 5 --out "$out" --name warm-idle >>"$out/warm.log" 2>&1 &
warm+=("$!")
for pid in "${warm[@]}"; do
    wait "$pid" || true
done
wait_quiet 30
sleep 2
read -r base_rss base_fds < <(proc_usage "$gateway_pid")
read -r cbase_rss cbase_fds < <(proc_usage "$(cat "$out/converter.pid")")
fd_kinds "$gateway_pid" >"$out/gateway-fds-baseline.txt"
base_pipes=$(pipe_fds "$gateway_pid")
say "baseline: gateway RSS ${base_rss} KiB, ${base_fds} fds; converter RSS ${cbase_rss} KiB, ${cbase_fds} fds"

# --- the sampler ------------------------------------------------------------------------------------
start=$(now)
echo "t,gw_rss_mib,gw_fds,conv_rss_mib,conv_fds,gw_active,conv_active,gw_errors,conv_errors,ok,reset,damaged,lost,lost_bytes,link_a_up,gw_fallbacks" \
    >"$out/soak.csv"
echo "t,event" >"$out/events.csv"
(
    max=$((duration + 900))
    for ((i = 0; i < max; i++)); do
        [[ -e $out/stop ]] && break
        t=$(awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
        read -r g_rss g_fds < <(proc_usage "$gateway_pid")
        read -r c_rss c_fds < <(proc_usage "$(cat "$out/converter.pid")")
        read -r g_active g_err g_fallbacks < <(relay_metrics "$gw" 9090)
        read -r c_active c_err _ < <(relay_metrics "$srv" 9091)
        read -r ok reset damaged lost lost_bytes < <(transfer_counts)
        if [[ $(ip -n "$gw" -o link show upa0 2>/dev/null) == *"state UP"* ]]; then link=1; else link=0; fi
        awk -v OFS=, -v t="$t" -v gr="$g_rss" -v gf="$g_fds" -v cr="$c_rss" -v cf="$c_fds" \
            -v ga="$g_active" -v ca="$c_active" -v ge="$g_err" -v ce="$c_err" -v ok="$ok" -v rs="$reset" \
            -v dm="$damaged" -v ls="$lost" -v lb="$lost_bytes" -v l="$link" -v fb="$g_fallbacks" 'BEGIN {
                print t, (gr == "NaN" ? "NaN" : sprintf("%.2f", gr / 1024)), gf,
                    (cr == "NaN" ? "NaN" : sprintf("%.2f", cr / 1024)), cf, ga, ca, ge, ce, ok, rs, dm, ls, lb, l, fb
            }' >>"$out/soak.csv"
        sleep 1
    done
) &
helpers+=("$!")

# --- the faults ---------------------------------------------------------------------------------------
(
    elapsed() { awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%.1f", a - b }'; }
    next_flap=20
    next_restart=$restart_every
    for ((s = 0; s < duration; s++)); do
        [[ -e $out/stop ]] && break
        if ((s >= next_flap)); then
            echo "$(elapsed),flap_down" >>"$out/events.csv"
            ip -n "$gw" link set upa0 down
            sleep "$flap_down"
            ip -n "$gw" link set upa0 up
            echo "$(elapsed),flap_up" >>"$out/events.csv"
            s=$((s + flap_down))
            next_flap=$((next_flap + flap_every))
        fi
        if ((s >= next_restart && s + 10 < duration)); then
            echo "$(elapsed),restart" >>"$out/events.csv"
            kill -KILL "$(cat "$out/converter.pid")" 2>/dev/null || true
            sleep 2
            start_converter || echo "soak: the converter did not come back" >&2
            # What the gateway still holds towards the dead converter a few seconds later (a connection
            # that was not reset shows up here).
            (sleep 5 && ip netns exec "$gw" ss -tniM >"$out/gw-ss-after-restart-$(elapsed).txt" 2>&1) &
            s=$((s + 2))
            next_restart=$((next_restart + restart_every))
        fi
        sleep 1
    done
) &
helpers+=("$!")

# --- the traffic ----------------------------------------------------------------------------------------
until=$(($(date +%s) + duration))
say "traffic until $(date -d "@$until" +%T): bulk x2, short, idle cohorts of 50 held ${idle_hold}s;" \
    "flaps every ${flap_every}s, converter restarts every ${restart_every}s"
# A transfer that times out (a hang) runs this while both relays still hold the connection: their sockets
# (ss -tniMem: every subflow, its queues, socket memory and MPTCP state), the MPTCP counters, both relays'
# stall counters and the gateway's view.
cat >"$hang_hook" <<HOOK
#!/bin/bash
# on-hang.sh LABEL CLIENT_PORT (written by soak.sh)
{
    echo "hang \$1 (client port \$2) at \$(date +%T.%N)"
    for ns in $gw $srv; do
        echo "--- ss -tniMem in \$ns"
        ip netns exec "\$ns" ss -tniMem 2>&1 | grep -v 'Failed to find cgroup2 mount'
        echo "--- nstat MPTCP in \$ns"
        ip netns exec "\$ns" nstat -az 2>/dev/null | grep -i '^Mptcp' | awk '\$2 != 0'
    done
    echo "--- stall counters (gateway 9090, converter 9091)"
    ip netns exec $gw curl -s --max-time 3 http://127.0.0.1:9090/metrics | grep -E '^mptcp_relay_(stalled|receive_buffer)'
    ip netns exec $srv curl -s --max-time 3 http://127.0.0.1:9091/metrics | grep -E '^mptcp_relay_(stalled|receive_buffer)'
    echo "--- gateway /connections"
    ip netns exec $gw curl -s --max-time 3 http://127.0.0.1:9090/connections
} >"$out/hang-\$1.txt" 2>&1
HOOK
chmod +x "$hang_hook"
gens=()
for k in 0 1; do
    ip netns exec "$cli" python3 "$traffic" bulk --connect 198.18.0.1:8000 --bytes "$bulk_bytes" \
        --until "$until" --id-base $((k * 30000)) --out "$out" --name "bulk-$k" --on-hang "$hang_hook" \
        >"$out/bulk-$k.log" 2>&1 &
    gens+=("$!")
done
ip netns exec "$cli" python3 "$traffic" short --connect 198.18.0.1:8001 --until "$until" --workers 2 \
    --out "$out" --name short --on-hang "$hang_hook" >"$out/short.log" 2>&1 &
gens+=("$!")
ip netns exec "$cli" python3 "$traffic" idle --connect 198.18.0.1:8002 --until "$until" --count 50 \
    --hold "$idle_hold" --out "$out" --name idle >"$out/idle.log" 2>&1 &
gens+=("$!")
for pid in "${gens[@]}"; do
    # Each generator stops by its deadline; a transfer in flight then has its socket timeouts.
    timeout_at=$((until + 300))
    while kill -0 "$pid" 2>/dev/null && (($(date +%s) < timeout_at)); do
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "a generator (pid $pid) overran its deadline by 300 s; stopping it"
        kill "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
done
traffic_end=$(awk -v a="$(now)" -v b="$start" 'BEGIN { printf "%.1f", a - b }')
echo "$traffic_end,traffic_end" >>"$out/events.csv"
say "traffic stopped at ${traffic_end}s; waiting for the relays to drain"
wait_quiet 60
# The gateway's path manager table must empty as well (entries of connections reset by MP_FASTCLOSE get no
# CLOSED event and are swept: finding 12).
pm_table=NaN
for ((i = 0; i < 35; i++)); do
    pm_table=$(ip netns exec "$gw" curl -sf --max-time 2 http://127.0.0.1:9090/metrics 2>/dev/null |
        awk '/^mptcp_relay_path_manager_connections / { print $NF + 0 }')
    [[ ${pm_table:-NaN} == 0 ]] && break
    sleep 1
done
pm_table=${pm_table:-NaN}
sleep 3
read -r end_rss end_fds < <(proc_usage "$gateway_pid")
read -r cend_rss cend_fds < <(proc_usage "$(cat "$out/converter.pid")")
fd_kinds "$gateway_pid" >"$out/gateway-fds-end.txt"
end_pipes=$(pipe_fds "$gateway_pid")
for ns in "$gw" "$srv"; do
    ip netns exec "$ns" nstat -asz 2>/dev/null | grep -i -e '^Mptcp' -e 'Blackhole' >"$out/nstat-${ns#"$P"}.txt" || true
done
sleep 2
touch "$out/stop"
for pid in "${helpers[@]}"; do
    wait "$pid" 2>/dev/null || true
done
helpers=()

# --- accounting, chart, summary -------------------------------------------------------------------------------
read -r ok reset damaged lost lost_bytes unmatched lost_by damaged_by < <(
    python3 "$traffic" report --out "$out" --bytes "$bulk_bytes" 2>"$out/problems.log" |
        sed 's/[a-z_]*=//g'
)
restarts=$(grep -c ',restart$' "$out/events.csv" || true)
flaps=$(grep -c ',flap_down$' "$out/events.csv" || true)

# Percent change "a -> b (+x%)" of two KiB figures, as MiB.
change_mib() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "NaN" || b == "NaN" || a == 0) { print "n/a"; exit }
        printf "%.1f -> %.1f MiB (%+.0f%%)", a / 1024, b / 1024, (b - a) * 100 / a }'
}

verdict=ok
reasons=()
if ((damaged > 0)); then
    verdict=FAIL
    reasons+=("$damaged damaged")
fi
if ((lost > 0 || lost_bytes > 0)); then
    verdict=FAIL
    reasons+=("$lost lost ($lost_bytes bytes)")
fi
# fds other than pipes must come back; pooled pipes may stay, up to the pool (2 fds x 256 x 2 workers).
if [[ $end_fds == NaN ]] || ((end_fds - end_pipes > base_fds - base_pipes + fd_tolerance)); then
    verdict=FAIL
    reasons+=("gateway fds other than pipes $((base_fds - base_pipes)) -> $((end_fds - end_pipes)) (tolerance +$fd_tolerance)")
fi
if [[ $pm_table != 0 ]]; then
    verdict=FAIL
    reasons+=("the gateway's path manager still tracks $pm_table connections")
fi
if ((end_pipes > base_pipes + 1024)); then
    verdict=FAIL
    reasons+=("gateway pipe fds $base_pipes -> $end_pipes: more than the pool keeps")
fi
if [[ $end_rss == NaN ]] || ((end_rss * 100 > base_rss * (100 + rss_tolerance_pct))); then
    verdict=FAIL
    reasons+=("gateway RSS grew beyond +$rss_tolerance_pct%")
fi
fallbacks=$(awk -F, 'NR > 1 && $16 != "NaN" { f = $16 } END { print f + 0 }' "$out/soak.csv")
first_fallback=$(awk -F, 'NR > 1 && $16 > 0 && $16 != "NaN" { print $1; exit }' "$out/soak.csv")
summary="soak: $minutes min, transfers ok $ok, reset $reset, damaged $damaged"
[[ $damaged_by == - ]] || summary+=" ($damaged_by)"
summary+=", lost $lost_bytes bytes ($lost transfers"
[[ $lost_by == - ]] || summary+=": $lost_by"
summary+=");"
summary+=" $flaps flaps, $restarts converter restarts, gateway MPTCP fallbacks $fallbacks"
[[ -z $first_fallback ]] || summary+=" (from ${first_fallback}s)"
summary+=";"
summary+=" gateway RSS $(change_mib "$base_rss" "$end_rss"), fds $base_fds -> $end_fds (pipes $base_pipes -> $end_pipes),"
summary+=" path manager table $pm_table;"
# Lost writability wakeups the stall probe made good (finding 13's hypothesis), from both relays' notices.
stalled_writes_gw=$(grep -c 'a write found room' "$out/gateway.log" || true)
stalled_writes_srv=$(grep -c 'a write found room' "$out/converter.log" || true)
summary+=" stalled writes recovered ${stalled_writes_gw:-0} / ${stalled_writes_srv:-0} (gateway / converter);"
unblocked_gw=$(grep -c 'receive stalled behind a hole' "$out/gateway.log" || true)
unblocked_srv=$(grep -c 'receive stalled behind a hole' "$out/converter.log" || true)
summary+=" receive stalls unblocked ${unblocked_gw:-0} / ${unblocked_srv:-0};"
summary+=" converter RSS $(change_mib "$cbase_rss" "$cend_rss"), fds $cbase_fds -> $cend_fds (first instance -> last)"
summary+="; $verdict"
((${#reasons[@]} == 0)) || summary+=" (${reasons[*]})"
((unmatched == 0)) || summary+="; $unmatched bulk transfers without a server report"

# The chart: four panels over time; flaps shaded, converter restarts as dashed lines.
{
    echo "set terminal png size 1400,1200 font ',10'"
    echo "set output '$out/soak.png'"
    echo "set datafile separator ','"
    echo "set datafile missing 'NaN'"
    echo "set key top left horizontal"
    echo "set grid"
    echo "set xrange [0:*]"
    n=1
    down=
    while IFS=, read -r t event; do
        case $event in
        flap_down) down=$t ;;
        flap_up)
            [[ -n $down ]] && echo "set object $n rect from $down, graph 0 to $t, graph 1 fc rgb '#f4c7c3' fs solid 0.6 noborder behind"
            n=$((n + 1))
            down=
            ;;
        restart) echo "set arrow from $t, graph 0 to $t, graph 1 nohead lc rgb '#cc0000' dt 2 lw 2" ;;
        traffic_end) echo "set arrow from $t, graph 0 to $t, graph 1 nohead lc rgb '#555555' dt 3 lw 1" ;;
        esac
    done < <(tail -n +2 "$out/events.csv")
    # gnuplot reads the \n in a double-quoted title as a line break.
    title=${summary//\"/}
    printf 'set multiplot layout 4,1 title "%s\\n%s\\n%s" font ",10"\n' "${title%% gateway RSS*}" \
        "gateway RSS${title#* gateway RSS}" \
        "shaded: uplink A down; red dashes: converter killed and restarted; grey: traffic stops"
    echo "set ylabel 'RSS (MiB)'"
    echo "plot '$out/soak.csv' using 1:2 skip 1 with lines lw 2 title 'gateway', '' using 1:4 skip 1 with lines lw 2 title 'converter'"
    echo "set ylabel 'open fds'"
    echo "plot '$out/soak.csv' using 1:3 skip 1 with lines lw 2 title 'gateway', '' using 1:5 skip 1 with lines lw 2 title 'converter'"
    echo "set ylabel 'live connections'"
    echo "plot '$out/soak.csv' using 1:6 skip 1 with lines lw 2 title 'gateway', '' using 1:7 skip 1 with lines lw 2 title 'converter'"
    echo "set ylabel 'count (cumulative)'"
    echo "set xlabel 'seconds'"
    echo "set logscale y"
    echo "set key bottom right vertical"
    echo "set yrange [0.5:*]"
    echo "plot '$out/soak.csv' using 1:(\$11 > 0 ? \$11 : NaN) skip 1 with lines lw 2 title 'transfers reset'," \
        "'' using 1:(\$12 > 0 ? \$12 : NaN) skip 1 with lines lw 2 lc rgb 'red' title 'damaged'," \
        "'' using 1:(\$13 > 0 ? \$13 : NaN) skip 1 with lines lw 2 lc rgb 'black' title 'lost'," \
        "'' using 1:(\$8 > 0 ? \$8 : NaN) skip 1 with lines dt 3 lw 2 lc rgb '#009e73' title 'gateway closes not completed'," \
        "'' using 1:(\$9 > 0 ? \$9 : NaN) skip 1 with lines title 'converter closes not completed (per start)'," \
        "'' using 1:(\$10 > 0 ? \$10 : NaN) skip 1 with lines lc rgb '#888888' title 'transfers ok'," \
        "'' using 1:(\$16 > 0 ? \$16 : NaN) skip 1 with lines dt 2 lc rgb '#e69f00' title 'gateway MPTCP fallbacks'"
    echo "unset multiplot"
} >"$out/soak.gp"
gnuplot "$out/soak.gp" 2>"$out/gnuplot.log" || say "gnuplot failed: $(head -3 "$out/gnuplot.log")"

echo "$summary" | tee "$out/summary.txt"
say "chart $out/soak.png; samples $out/soak.csv; problems (if any) $out/problems.log"
[[ $verdict == ok ]]
