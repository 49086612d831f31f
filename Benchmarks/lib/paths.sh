# shellcheck shell=bash
# shellcheck disable=SC2154 # work, relay, lib, repo, raw, P and pids are run.sh's globals
#
# The path-manager section of Benchmarks/run.sh: aggregation share and failover stall of the relay
# as MPTCP path manager, on the reference topology plus uplink C (topo_add_uplink_c).
# Sourced by run.sh after common.sh and contenders.sh; uses run.sh's globals: P (namespace
# prefix), work (temp dir), relay (binary), lib (this directory), repo, raw (JSON lines), pids.
#
#   cli 198.18.0.2 ── gw ══ A upa0 198.18.1.1 ⇄ 198.18.1.2 ══ srv ── dst 198.19.0.2
#                         ══ B upb0 198.18.2.1 ⇄ 198.18.2.2 ══          hashpeer.py :5301
#                         ══ C upc0 198.18.3.1 ⇄ 198.18.3.2 ══ (backup)
#
# Each uplink has tbf at PATHS_RATE on both ends. The gateway relay (gw, 198.18.0.1:8000, one
# worker) forwards to the converter (srv, 0.0.0.0:8443) with destination dst:5301, where
# scripts/lib/hashpeer.py serves one connection per measurement. (dst:5201 is iperf3's in the full
# run.) Figures and their meaning: docs/BENCHMARKS.md, "Path manager: aggregation and failover".

readonly PATHS_PORT=5301
readonly PATHS_RATE=100mbit
readonly PATHS_SUM_MBPS=200
readonly PATHS_EVENT_AT=1.5 # seconds after the transfer starts when A goes down
hashpeer=$repo/scripts/lib/hashpeer.py

# paths_setup: tbf on both ends of A and B (idempotent), uplink C with the same rate.
paths_setup() {
    local ns
    for ns in "${P}gw" "${P}srv"; do
        topo_rate_limit "$ns" upa0 "$PATHS_RATE"
        topo_rate_limit "$ns" upb0 "$PATHS_RATE"
    done
    if ! ip -n "${P}gw" link show upc0 >/dev/null 2>&1; then
        topo_add_uplink_c "$P" "$PATHS_RATE" || die "could not add uplink C"
    fi
    # The converter's configuration does not change between measurements.
    cat >"$work/paths-srv.toml" <<'EOF'
[runtime]
workers = 1

[[listener]]
name = "converter"
role = "convert"
authentication = "none"
listen = "0.0.0.0:8443"
allow = ["198.19.0.0/24"]
EOF
    "$relay" check-config "$work/paths-srv.toml" >/dev/null || die "paths-srv.toml is not valid"
}

# paths_gateway_config FILE PM PATHS BACKUP [BACKUP_MODE]: the gateway's configuration.
#   PM relay:  paths a, b and c (c of class backup), one policy with PATHS (e.g. '"a", "b"') and
#              BACKUP (e.g. '"c"' or ''), BACKUP_MODE standby or on-demand.
#   PM kernel: the relay adds an in-kernel endpoint per up path: only the paths named in PATHS and
#              BACKUP are configured (no policy: the kernel path manager knows none).
paths_gateway_config() {
    local file=$1 pm=$2 primaries=$3 backups=$4 mode=${5:-}
    {
        printf '[runtime]\nworkers = 1\npath_manager = "%s"\n\n' "$pm"
        printf '[[listener]]\nname = "lan"\nrole = "forward"\nlisten = "198.18.0.1:8000"\n'
        printf 'upstream = "198.18.1.2:8443"\ndestination = "198.19.0.2:%d"\n' "$PATHS_PORT"
        local name dev class
        for name in a b c; do
            if [[ $pm == kernel && $primaries != *"\"$name\""* && $backups != *"\"$name\""* ]]; then
                continue
            fi
            dev=up${name}0
            class=""
            [[ $name == c ]] && class=$'class = "backup"\n'
            printf '\n[[path]]\nname = "%s"\ninterface = "%s"\n%s' "$name" "$dev" "$class"
        done
        if [[ $pm == relay ]]; then
            printf '\n[[policy]]\nname = "p"\npaths = [%s]\n' "$primaries"
            [[ -n $backups ]] && printf 'backup = [%s]\nbackup_mode = "%s"\n' "$backups" "$mode"
        fi
    } >"$file"
    "$relay" check-config "$file" >/dev/null || die "$file is not valid"
}

# paths_start GW_CONFIG LOG_PREFIX: the converter in srv and the gateway in gw.
paths_start() {
    local config=$1 log=$2
    topo_start_in "${P}srv" "$log-srv.log" "$relay" run --config "$work/paths-srv.toml" --log-level warning
    wait_listen "${P}srv" 8443 "$log-srv.log"
    # info: the gateway logs each path event (a handful of lines per measurement).
    topo_start_in "${P}gw" "$log-gw.log" "$relay" run --config "$config" --log-level info
    wait_listen "${P}gw" 8000 "$log-gw.log"
}

# paths_stop: ends the relays (contender_stop checks that the gateway gave the namespace its path
# manager back).
paths_stop() {
    contender_stop
}

# paths_restore_a: A up again, with the routes that `ip link set upa0 down` deleted (table 101 and
# the direct route to dst); waits (at most 3 s) until gw routes to srv over A.
paths_restore_a() {
    local gw="${P}gw" i
    ip -n "$gw" link set upa0 up
    for ((i = 0; i < 30; i++)); do
        if ip -n "$gw" route replace 198.18.1.0/24 dev upa0 scope link src 198.18.1.1 table 101 2>/dev/null &&
            ip -n "$gw" route replace default via 198.18.1.2 dev upa0 table 101 2>/dev/null &&
            ip -n "$gw" route replace 198.19.0.0/24 via 198.18.1.2 dev upa0 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "uplink A did not come back (routes in gw)"
}

# paths_tx_bytes: gw's transmitted bytes on A, B and C as a JSON object.
paths_tx_bytes() {
    printf '{"a": %s, "b": %s, "c": %s}\n' "$(topo_if_tx_bytes "${P}gw" upa0)" \
        "$(topo_if_tx_bytes "${P}gw" upb0)" "$(topo_if_tx_bytes "${P}gw" upc0)"
}

# paths_subflows: local addresses of gw's established subflows towards the converter.
paths_subflows() {
    ip netns exec "${P}gw" ss -tnH state established '( dport = :8443 )' |
        awk '{ a = $3; sub(/%.*/, "", a); sub(/:[0-9]+$/, "", a); print a }' | sort | tr '\n' ' '
}

# paths_transfer NAME BYTES_UP BYTES_DOWN EVENT: one hashpeer transfer through the chain, both ways
# at once; with EVENT=link-down, gw's upa0 goes down PATHS_EVENT_AT seconds after the start.
# Leaves NAME.client.json, NAME.server.json, NAME.tx0.json and NAME.tx1.json (gw's uplink
# counters), NAME.mib0.json and NAME.mib1.json (srv's MPTcpExt counters) in the work dir, and
# NAME.subflows (gw's subflows just before the event).
paths_transfer() {
    local name=$1 up=$2 down=$3 event=$4
    local base=$work/$name server client status
    ip netns exec "${P}dst" timeout 120 python3 "$hashpeer" serve --listen "198.19.0.2:$PATHS_PORT" \
        --bytes "$down" --timeout 30 >"$base.server.json" 2>"$base.server.err" &
    server=$!
    pids+=("$server")
    wait_listen "${P}dst" "$PATHS_PORT" "$base.server.err"
    paths_tx_bytes >"$base.tx0.json"
    ip netns exec "${P}srv" python3 "$lib/bench.py" counters >"$base.mib0.json"
    ip netns exec "${P}cli" timeout 120 python3 "$hashpeer" send --connect 198.18.0.1:8000 \
        --bytes "$up" --timeout 30 >"$base.client.json" 2>"$base.client.err" &
    client=$!
    pids+=("$client")
    if [[ $event == link-down ]]; then
        sleep "$PATHS_EVENT_AT"
        paths_subflows >"$base.subflows"
        ip -n "${P}gw" link set upa0 down
    else
        : >"$base.subflows"
    fi
    status=0
    wait "$client" || status=$?
    ((status == 0)) || echo "  (client exit status $status: $(tail -n 1 "$base.client.err"))"
    status=0
    wait "$server" || status=$?
    ((status == 0)) || echo "  (server exit status $status: $(tail -n 1 "$base.server.err"))"
    paths_tx_bytes >"$base.tx1.json"
    ip netns exec "${P}srv" python3 "$lib/bench.py" counters >"$base.mib1.json"
}

# paths_record ROUND CONTENDER TEST NAME BYTES_UP BYTES_DOWN: turns a transfer into a raw record.
paths_record() {
    local round=$1 contender=$2 test=$3 name=$4 up=$5 down=$6 base=$work/$4
    python3 "$lib/bench.py" paths-record --raw "$raw" --round "$round" --contender "$contender" \
        --test "$test" --client "$base.client.json" --server "$base.server.json" \
        --bytes-up "$up" --bytes-down "$down" --tx-before "$base.tx0.json" \
        --tx-after "$base.tx1.json" --counters-before "$base.mib0.json" \
        --counters-after "$base.mib1.json" --subflows "$(cat "$base.subflows")" --share-of "$PATHS_SUM_MBPS"
}

# paths_aggregation ROUND BYTES: the one-uplink reference (paths a), then paths a+b with C standby.
paths_aggregation() {
    local round=$1 bytes=$2 cfg
    cfg=$work/paths-gw-one-$round.toml
    paths_gateway_config "$cfg" relay '"a"' ''
    paths_start "$cfg" "$work/paths-one-$round"
    paths_transfer "paths-one-$round" "$((bytes / 2))" 4096 none
    paths_stop
    paths_record "$round" relay one_uplink "paths-one-$round" "$((bytes / 2))" 4096

    cfg=$work/paths-gw-agg-$round.toml
    paths_gateway_config "$cfg" relay '"a", "b"' '"c"' standby
    paths_start "$cfg" "$work/paths-agg-$round"
    paths_transfer "paths-agg-$round" "$bytes" 4096 none
    paths_stop
    paths_record "$round" relay aggregate "paths-agg-$round" "$bytes" 4096
}

# paths_failover ROUND CONTENDER BYTES: A goes down mid-transfer; C takes over.
#   CONTENDER relay-standby, relay-on-demand (the relay as path manager, paths a, backup c) or
#   kernel (path_manager = "kernel": in-kernel endpoints for A and C, C with the backup flag).
paths_failover() {
    local round=$1 contender=$2 bytes=$3 cfg name
    name=paths-fail-$contender-$round
    cfg=$work/$name.toml
    case $contender in
    relay-standby) paths_gateway_config "$cfg" relay '"a"' '"c"' standby ;;
    relay-on-demand) paths_gateway_config "$cfg" relay '"a"' '"c"' on-demand ;;
    kernel)
        paths_gateway_config "$cfg" kernel '"a"' '"c"'
        # topo_create's own `subflow` endpoint on B would give the kernel a path that the
        # relay's contender does not have: the relay's endpoints only, for this turn.
        ip -n "${P}gw" mptcp endpoint flush
        ;;
    *) die "unknown failover contender $contender" ;;
    esac
    paths_start "$cfg" "$work/$name"
    paths_transfer "$name" "$bytes" "$bytes" link-down
    paths_stop
    paths_restore_a
    if [[ $contender == kernel ]]; then
        ip -n "${P}gw" mptcp endpoint flush
        ip -n "${P}gw" mptcp endpoint add 198.18.2.1 dev upb0 subflow
    fi
    paths_record "$round" "$contender" failover "$name" "$bytes" "$bytes"
}

# paths_rounds ROUNDS AGG_BYTES FAIL_BYTES CONTENDERS...: every path figure, ROUNDS times; the
# failover contenders rotate their order from round to round.
paths_rounds() {
    local rounds=$1 agg_bytes=$2 fail_bytes=$3 round i n
    shift 3
    local order=("$@")
    n=${#order[@]}
    paths_setup
    for ((round = 1; round <= rounds; round++)); do
        echo "-- round $round: aggregation (one uplink, then A+B with C standby)"
        paths_aggregation "$round" "$agg_bytes"
        for ((i = 0; i < n; i++)); do
            local c=${order[(i + round - 1) % n]}
            echo "-- round $round: failover, $c"
            paths_failover "$round" "$c" "$fail_bytes"
        done
    done
}
