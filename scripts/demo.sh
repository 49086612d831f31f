#!/usr/bin/env bash
# The first command of the README: a LAN client's plain TCP carried over MPTCP on two uplinks.
#
#   cli --TCP--> gw [mptcp-relay forward] ==MPTCP over uplinks A and B (100 Mbit/s each)==>
#                srv [mptcp-relay convert] --TCP--> dst (iperf3 -s)
#
# Run as root on Debian 12: sudo scripts/demo.sh
# Environment (optional):
#   DEMO_SKIP_BUILD=1      skip install-deps.sh and `swift build -c release`
#   MPTCP_RELAY_BINARY=F   use this relay binary instead of the release build
#   DEMO_RATE=100mbit      uplink rate (tbf on both ends of each uplink)
#   DEMO_SECONDS=10        iperf3 duration
#   DEMO_KEEP=1            keep the temp dir with configs and logs
# Everything it creates (namespaces, processes, temp dir) is removed on exit, also on Ctrl-C.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/topology.sh
source "$repo/scripts/lib/topology.sh"

rate=${DEMO_RATE:-100mbit}
seconds=${DEMO_SECONDS:-10}
P="mr$$-"
work=""
pids=()

say() {
    if [[ -t 1 ]]; then
        printf '\n\033[1m== %s\033[0m\n' "$*"
    else
        printf '\n== %s\n' "$*"
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        # Bounded wait: 30 x 0.1 s, then SIGKILL.
        for _ in $(seq 30); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    topo_destroy "$P"
    if [[ -n $work && -d $work ]]; then
        if [[ ${DEMO_KEEP:-0} == 1 ]]; then
            echo "demo: configs and logs kept in $work"
        else
            rm -rf "$work"
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $(id -u) -ne 0 ]]; then
    echo "demo: run as root (it creates network namespaces): sudo $0" >&2
    exit 1
fi
cd "$repo"

# --- 1. dependencies and build -------------------------------------------------------------
if [[ ${DEMO_SKIP_BUILD:-0} != 1 ]]; then
    say "Installing dependencies"
    scripts/install-deps.sh
    say "Building mptcp-relay (release)"
    swift build -c release
fi
relay=${MPTCP_RELAY_BINARY:-$repo/.build/release/mptcp-relay}
if [[ ! -x $relay ]]; then
    echo "demo: no relay binary at $relay (build it: swift build -c release)" >&2
    exit 1
fi

# --- 2. topology -----------------------------------------------------------------------------
say "Creating namespaces ${P}{cli,gw,srv,dst} with two ${rate} uplinks"
topo_create "$P" "$rate"
work=$(mktemp -d /tmp/mptcp-relay-demo.XXXXXX)

# One key for the gateway, as an operator makes it: the converter relays only for its [[client]]s.
key=$("$relay" keygen --key-only)

# The forwarder is also gw's MPTCP path manager: one subflow per path, for every connection.
cat >"$work/gw.toml" <<TOML
[runtime]
workers = 2
path_manager = "relay"

[[listener]]
name = "lan"
role = "forward"
listen = "198.18.0.1:8000"
upstream = "198.18.1.2:8443"
destination = "198.19.0.2:5201"
client = "demo-gateway"
key = "$key"

[[path]]
name = "a"
interface = "upa0"
[[path]]
name = "b"
interface = "upb0"

[[policy]]
name = "bulk"
paths = ["a", "b"]
TOML

cat >"$work/srv.toml" <<TOML
[runtime]
workers = 2

[[listener]]
name = "converter"
role = "convert"
listen = "0.0.0.0:8443"
allow = ["198.19.0.0/24"]

[[client]]
name = "demo-gateway"
key = "$key"
TOML

# wait_for NS PORT LOGFILE: waits until the port listens; on failure shows the log.
wait_for() {
    local ns=$1 port=$2 log=$3
    if ! topo_wait_listen "$ns" "$port" 15; then
        echo "demo: see $log:" >&2
        tail -n 30 "$log" >&2 || true
        exit 1
    fi
}

# --- 3. relays and iperf3 server -------------------------------------------------------------
say "Starting the relays"
topo_start_in "${P}srv" "$work/srv.log" "$relay" run --config "$work/srv.toml" --log-level info
wait_for "${P}srv" 8443 "$work/srv.log"
topo_start_in "${P}gw" "$work/gw.log" "$relay" run --config "$work/gw.toml" --log-level info
wait_for "${P}gw" 8000 "$work/gw.log"
echo "converter in ${P}srv on 0.0.0.0:8443, forwarder in ${P}gw on 198.18.0.1:8000"

topo_start_in "${P}dst" "$work/iperf3-server.log" iperf3 -s -1 -B 198.19.0.2 -p 5201
wait_for "${P}dst" 5201 "$work/iperf3-server.log"

# --- 4. traffic, while sampling the subflows ---------------------------------------------------
tx_a0=$(topo_if_tx_bytes "${P}gw" upa0)
tx_b0=$(topo_if_tx_bytes "${P}gw" upb0)

# Samples the TCP subflows of gw's MPTCP connections to the converter, twice a second, bounded; scrapes
# the forwarder's /metrics as Prometheus would, and keeps one `mptcp-relay status` table from mid-run.
sample_subflows() {
    local i
    for ((i = 0; i < (seconds + 10) * 2; i++)); do
        ip netns exec "${P}gw" ss -tnH state established '( dport = :8443 )' 2>/dev/null || true
        ip netns exec "${P}gw" curl -sf http://127.0.0.1:9090/metrics >/dev/null 2>&1 || true
        if ((i == 4)); then
            ip netns exec "${P}gw" "$relay" status >"$work/status.txt" 2>&1 || true
        fi
        sleep 0.5
    done
}
sample_subflows >"$work/subflows.txt" &
sampler=$!
pids+=("$sampler")

say "iperf3 from cli to 198.18.0.1:8000 for ${seconds}s (through both relays)"
iperf_status=0
ip netns exec "${P}cli" timeout $((seconds + 30)) \
    iperf3 -c 198.18.0.1 -p 8000 -t "$seconds" --forceflush | tee "$work/iperf3-client.log" || iperf_status=$?
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true

tx_a=$(($(topo_if_tx_bytes "${P}gw" upa0) - tx_a0))
tx_b=$(($(topo_if_tx_bytes "${P}gw" upb0) - tx_b0))

# --- 5. what happened ------------------------------------------------------------------------
say "Throughput"
grep -E 'sender|receiver' "$work/iperf3-client.log" | tail -n 2 || echo "  (no iperf3 result)"

say "MPTCP subflows seen from gw to the converter (local -> remote)"
# ss -H columns: Recv-Q Send-Q Local Peer
# (iperf3 opens two connections, control and data: each one has a subflow per uplink.)
awk '{ sub(/%[^:]*/, "", $3); print $3 " -> " $4 }' "$work/subflows.txt" | sort -u | while read -r line; do
    case $line in
    198.18.1.1:*) echo "  uplink A: $line" ;;
    198.18.2.1:*) echo "  uplink B: $line" ;;
    *) echo "  other:    $line" ;;
    esac
done

say "mptcp-relay status in gw, two seconds into the run (each subflow with its path)"
sed 's/^/  /' "$work/status.txt" 2>/dev/null || echo "  (no status captured)"

say "Bytes sent by gw on each uplink during the run"
total=$((tx_a + tx_b))
((total > 0)) || total=1
printf '  uplink A (upa0): %12d bytes  %3d%%\n' "$tx_a" $((100 * tx_a / total))
printf '  uplink B (upb0): %12d bytes  %3d%%\n' "$tx_b" $((100 * tx_b / total))

say "Relay logs (last lines)"
echo "--- forwarder (gw) ---"
tail -n 5 "$work/gw.log" || true
echo "--- converter (srv) ---"
tail -n 5 "$work/srv.log" || true

# --- 6. metrics ------------------------------------------------------------------------------
# Each relay serves /metrics, /healthz and /connections on 127.0.0.1:9090 inside its namespace.
say "Metrics of the forwarder (gw, 127.0.0.1:9090/metrics; non-zero lines)"
ip netns exec "${P}gw" curl -sf http://127.0.0.1:9090/metrics 2>/dev/null |
    grep -E '^mptcp_relay_(connections_accepted|connections_closed|bytes|path_up|path_bytes_sent|path_transitions)' |
    grep -v ' 0$' | sed 's/^/  /' || echo "  (metrics port not reachable)"
say "Metrics of the converter (srv)"
ip netns exec "${P}srv" curl -sf http://127.0.0.1:9090/metrics 2>/dev/null |
    grep -E '^mptcp_relay_(connections_accepted|connections_closed|bytes|mptcp_fallbacks|auth_failures)' |
    grep -v ' 0$' | sed 's/^/  /' || echo "  (metrics port not reachable)"

say "What you just saw"
cat <<EOF
  * iperf3 in cli spoke plain TCP to the forwarder in gw (198.18.0.1:8000).
  * The forwarder carried it over one MPTCP connection to the converter in srv. As gw's MPTCP
    path manager (path_manager = "relay"), it opened the subflows its policy names: one per uplink
    (A from 198.18.1.1, B from 198.18.2.1), each limited to ${rate}, so the throughput can exceed
    one uplink's rate. Its log says when a path goes down or comes back.
  * Both relays count what they did on a metrics side port (127.0.0.1:9090 in their namespace):
    /metrics for Prometheus, /healthz, and /connections, which 'mptcp-relay status' shows as a
    table with each subflow's path while connections are live.
  * Every request carried a cookie: an HMAC under the key that 'mptcp-relay keygen' made for the
    gateway (client "demo-gateway"). The converter checked it (known client, fresh, never seen
    before) before anything else, then connected over plain TCP to iperf3 -s in dst
    (198.19.0.2:5201) and relayed. Without a valid cookie it answers Not Authorized and counts the
    refusal in mptcp_relay_auth_failures_total.
  * Each relay logs one line per closed connection (listener, result, bytes, transport).
    iperf3's server ends its data connection with a reset, so that line says
    result=upstream_reset: the relays passed the reset on to the client, as they should.
EOF

if ((iperf_status != 0)); then
    echo "demo: iperf3 failed (status $iperf_status); see the relay logs above" >&2
    exit 1
fi
