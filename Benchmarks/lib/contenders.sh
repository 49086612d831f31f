# shellcheck shell=bash
# shellcheck disable=SC2154 # work, relay, lib and P are run.sh's globals
#
# The contenders of Benchmarks/run.sh and the services in dst they lead to.
# Sourced by run.sh after common.sh; uses its globals: P (namespace prefix), work (temp dir),
# relay (binary), lib (this directory).
#
# Ports (nothing collides, each contender has its own):
#
#   service in dst 198.19.0.2   iperf3 5201   nginx 80   idle-connection echo 9000
#   direct        cli -> 198.19.0.2:{5201,80,9000}  (kernel routing over uplink A)
#   mptcp-relay   gw 198.18.0.1:{7001,7002,7003} forward -> srv 198.18.1.2:8443 convert -> dst
#   mptcp-relay-pm gw 198.18.0.1:{7301,7302,7303} the same, the relay as gw's MPTCP path manager
#   HAProxy       gw 198.18.0.1:{7101,7102,7103}        -> srv 198.18.1.2:{8101,8102,8103} -> dst
#   socat         gw 198.18.0.1:{7201,7202,7203}        -> srv 198.18.1.2:{8201,8202,8203} -> dst

readonly DST_ADDR=198.19.0.2
readonly GW_LAN_ADDR=198.18.0.1
readonly SRV_UPLINK_A=198.18.1.2
readonly DST_PORTS=(5201 80 9000)  # iperf3, http, idle echo: index 0, 1, 2

# The open-file limit the contenders get: 200000 where this process may raise its hard limit,
# otherwise the hard limit it has (containers without CAP_SYS_RESOURCE). A relay process holds
# two descriptors per relayed connection, which bounds the idle-connection test.
if prlimit --nofile=200000:200000 -- true 2>/dev/null; then
    NOFILE=200000
else
    NOFILE=$(ulimit -Hn)
fi
readonly NOFILE

# contender_endpoint NAME INDEX: prints "ADDR:PORT" that cli connects to for service INDEX.
contender_endpoint() {
    local name=$1 index=$2
    case $name in
    direct) echo "$DST_ADDR:${DST_PORTS[index]}" ;;
    mptcp-relay) echo "$GW_LAN_ADDR:$((7001 + index))" ;;
    mptcp-relay-pm) echo "$GW_LAN_ADDR:$((7301 + index))" ;;
    haproxy) echo "$GW_LAN_ADDR:$((7101 + index))" ;;
    socat) echo "$GW_LAN_ADDR:$((7201 + index))" ;;
    *) die "unknown contender $name" ;;
    esac
}

# contender_comm NAME: the command name (/proc/PID/comm) of the contender's processes.
contender_comm() {
    case $1 in
    direct) echo none ;;
    mptcp-relay | mptcp-relay-pm) echo mptcp-relay ;;
    haproxy) echo haproxy ;;
    socat) echo socat ;;
    esac
}

# --- dst services ------------------------------------------------------------------------------

# dst_nginx_start TAG: nginx in ${P}dst serving $work/www (/1k), its files named after TAG (the main
# chain and each fresh chain of the sustained section have their own); checks that /1k is served.
dst_nginx_start() {
    local tag=$1
    if [[ ! -f $work/www/1k ]]; then
        mkdir -p "$work/www"
        head -c 1024 /dev/zero | tr '\0' 'x' >"$work/www/1k"
    fi
    cat >"$work/nginx-$tag.conf" <<EOF
user root;
worker_processes 2;
worker_rlimit_nofile $NOFILE;
pid $work/nginx-$tag.pid;
error_log $work/nginx-$tag-error.log warn;
events { worker_connections 65536; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {
        listen $DST_ADDR:80 backlog=8192;
        root $work/www;
        location / { }
    }
}
EOF
    topo_start_in "${P}dst" "$work/nginx-$tag.log" nginx -c "$work/nginx-$tag.conf" -p "$work" \
        -e "$work/nginx-$tag-error.log" -g 'daemon off;'
    wait_listen "${P}dst" 80 "$work/nginx-$tag-error.log"
    # The 1 KiB file is really served.
    local got
    got=$(ip netns exec "${P}cli" timeout 10 python3 -c '
import sys, urllib.request
print(len(urllib.request.urlopen(sys.argv[1], timeout=5).read()))' "http://$DST_ADDR/1k") ||
        die "nginx in dst does not serve /1k"
    [[ $got == 1024 ]] || die "nginx in dst served $got bytes for /1k, expected 1024"
}

# dst_services_start: nginx, iperf3 -s and the idle-connection echo server in ${P}dst.
dst_services_start() {
    dst_nginx_start main
    topo_start_in "${P}dst" "$work/iperf3-server.log" iperf3 -s -B "$DST_ADDR" -p 5201
    topo_start_in "${P}dst" "$work/holdserve.log" python3 "$lib/holdconns.py" serve --listen "$DST_ADDR:9000" --lifetime 3600
    wait_listen "${P}dst" 5201 "$work/iperf3-server.log"
    wait_listen "${P}dst" 9000 "$work/holdserve.log"
}

# --- mptcp-relay ---------------------------------------------------------------------------------

# MPTCP_RELAY_BENCH_DATA_PATH=splice|copy picks the relay's data path (default: the relay's default).
relay_runtime() {
    printf '[runtime]\nworkers = 2\n'
    if [[ -n ${MPTCP_RELAY_BENCH_DATA_PATH:-} ]]; then
        printf 'data_path = "%s"\n' "$MPTCP_RELAY_BENCH_DATA_PATH"
    fi
}

relay_configs() {
    {
        relay_runtime
        local i
        for i in 0 1 2; do
            printf '\n[[listener]]\nname = "lan%d"\nrole = "forward"\nlisten = "%s:%d"\n' \
                "$i" "$GW_LAN_ADDR" $((7001 + i))
            printf 'upstream = "%s:8443"\ndestination = "%s:%d"\n' \
                "$SRV_UPLINK_A" "$DST_ADDR" "${DST_PORTS[i]}"
        done
    } >"$work/relay-gw.toml"
    {
        relay_runtime
        cat <<'EOF'

[[listener]]
name = "converter"
role = "convert"
authentication = "none"
listen = "0.0.0.0:8443"
allow = ["198.19.0.0/24"]
EOF
    } >"$work/relay-srv.toml"
    "$relay" check-config "$work/relay-gw.toml" >/dev/null || die "relay-gw.toml is not valid"
    "$relay" check-config "$work/relay-srv.toml" >/dev/null || die "relay-srv.toml is not valid"
}

# relay_pm_config: the gateway of mptcp-relay-pm, the relay as gw's MPTCP path manager with paths
# over uplinks A and B for every connection (as Tests/NetworkTests' gateways use it); listeners
# 7301-7303, the same converter in srv (relay-srv.toml).
relay_pm_config() {
    {
        relay_runtime
        printf 'path_manager = "relay"\n'
        local i
        for i in 0 1 2; do
            printf '\n[[listener]]\nname = "lan%d"\nrole = "forward"\nlisten = "%s:%d"\n' \
                "$i" "$GW_LAN_ADDR" $((7301 + i))
            printf 'upstream = "%s:8443"\ndestination = "%s:%d"\n' \
                "$SRV_UPLINK_A" "$DST_ADDR" "${DST_PORTS[i]}"
        done
        cat <<'EOF'

[[path]]
name = "a"
interface = "upa0"

[[path]]
name = "b"
interface = "upb0"

[[policy]]
name = "both"
match = { destinations = ["0.0.0.0/0"] }
paths = ["a", "b"]
EOF
    } >"$work/relay-pm-gw.toml"
    "$relay" check-config "$work/relay-pm-gw.toml" >/dev/null || die "relay-pm-gw.toml is not valid"
}

# gw_path_manager: gw's net.mptcp.path_manager (kernel, or userspace while the relay is its PM).
gw_path_manager() {
    ip netns exec "${P}gw" sysctl -n net.mptcp.path_manager 2>/dev/null || echo kernel
}

# relay_start [pm]: the converter in srv and the gateway in gw; with "pm", the gateway of
# mptcp-relay-pm, which must have switched gw to the userspace path manager.
relay_start() {
    local variant=${1:-}
    [[ -f $work/relay-gw.toml ]] || relay_configs
    local gw_config=$work/relay-gw.toml first=7001
    if [[ $variant == pm ]]; then
        [[ -f $work/relay-pm-gw.toml ]] || relay_pm_config
        gw_config=$work/relay-pm-gw.toml
        first=7301
    fi
    # --log-level warning: no line per connection (HAProxy and socat log nothing either).
    topo_start_in "${P}srv" "$work/relay-srv.log" prlimit --nofile="$NOFILE:$NOFILE" -- \
        "$relay" run --config "$work/relay-srv.toml" --log-level warning
    wait_listen "${P}srv" 8443 "$work/relay-srv.log"
    topo_start_in "${P}gw" "$work/relay-gw.log" prlimit --nofile="$NOFILE:$NOFILE" -- \
        "$relay" run --config "$gw_config" --log-level warning
    wait_listen "${P}gw" "$first" "$work/relay-gw.log"
    wait_listen "${P}gw" $((first + 1)) "$work/relay-gw.log"
    wait_listen "${P}gw" $((first + 2)) "$work/relay-gw.log"
    if [[ $variant == pm && $(gw_path_manager) != userspace ]]; then
        tail -n 20 "$work/relay-gw.log" >&2
        die "mptcp-relay-pm: gw's net.mptcp.path_manager is '$(gw_path_manager)', not userspace"
    fi
}

# --- HAProxy -------------------------------------------------------------------------------------

# haproxy_config FILE BIND_ADDR FIRST_BIND_PORT TARGET_ADDR... : three frontends, one per service.
haproxy_config() {
    local file=$1 bind_addr=$2 first=$3
    shift 3
    # HAProxy needs maxsock = 2 x maxconn + 2 x maxpipes + listeners and pollers within NOFILE;
    # 512 splice pipes are plenty for the few bulk streams of this benchmark.
    local maxpipes=512
    local maxconn=$(((NOFILE - 2 * maxpipes - 300) / 2))
    cat >"$file" <<EOF
global
    nbthread 2
    maxconn $maxconn
    maxpipes $maxpipes
    ulimit-n $NOFILE

defaults
    mode tcp
    option splice-auto
    maxconn $maxconn
    timeout connect 10s
    timeout client 10m
    timeout server 10m
EOF
    local i=0 target
    for target in "$@"; do
        cat >>"$file" <<EOF

frontend f$i
    bind $bind_addr:$((first + i)) backlog 8192
    default_backend b$i

backend b$i
    server s$i $target
EOF
        i=$((i + 1))
    done
}

haproxy_start() {
    haproxy_config "$work/haproxy-srv.cfg" 0.0.0.0 8101 \
        "$DST_ADDR:${DST_PORTS[0]}" "$DST_ADDR:${DST_PORTS[1]}" "$DST_ADDR:${DST_PORTS[2]}"
    haproxy_config "$work/haproxy-gw.cfg" "$GW_LAN_ADDR" 7101 \
        "$SRV_UPLINK_A:8101" "$SRV_UPLINK_A:8102" "$SRV_UPLINK_A:8103"
    haproxy -c -q -f "$work/haproxy-gw.cfg" || die "haproxy-gw.cfg is not valid"
    haproxy -c -q -f "$work/haproxy-srv.cfg" || die "haproxy-srv.cfg is not valid"
    topo_start_in "${P}srv" "$work/haproxy-srv.log" mptcpize run haproxy -db -f "$work/haproxy-srv.cfg"
    wait_listen "${P}srv" 8101 "$work/haproxy-srv.log"
    wait_listen "${P}srv" 8102 "$work/haproxy-srv.log"
    wait_listen "${P}srv" 8103 "$work/haproxy-srv.log"
    topo_start_in "${P}gw" "$work/haproxy-gw.log" mptcpize run haproxy -db -f "$work/haproxy-gw.cfg"
    wait_listen "${P}gw" 7101 "$work/haproxy-gw.log"
    wait_listen "${P}gw" 7102 "$work/haproxy-gw.log"
    wait_listen "${P}gw" 7103 "$work/haproxy-gw.log"
}

# --- socat ---------------------------------------------------------------------------------------

socat_start() {
    local i
    # backlog=8192: socat's default listen backlog is 5, which would only measure SYN drops.
    for i in 0 1 2; do
        topo_start_in "${P}srv" "$work/socat-srv-$i.log" prlimit --nofile="$NOFILE:$NOFILE" -- \
            mptcpize run socat "TCP-LISTEN:$((8201 + i)),fork,reuseaddr,backlog=8192" \
            "TCP:$DST_ADDR:${DST_PORTS[i]}"
    done
    for i in 0 1 2; do
        wait_listen "${P}srv" $((8201 + i)) "$work/socat-srv-$i.log"
        topo_start_in "${P}gw" "$work/socat-gw-$i.log" prlimit --nofile="$NOFILE:$NOFILE" -- \
            mptcpize run socat "TCP-LISTEN:$((7201 + i)),bind=$GW_LAN_ADDR,fork,reuseaddr,backlog=8192" \
            "TCP:$SRV_UPLINK_A:$((8201 + i))"
    done
    for i in 0 1 2; do
        wait_listen "${P}gw" $((7201 + i)) "$work/socat-gw-$i.log"
    done
}

# --- turn ----------------------------------------------------------------------------------------

contender_start() {
    case $1 in
    direct) ;;
    mptcp-relay) relay_start ;;
    mptcp-relay-pm) relay_start pm ;;
    haproxy) haproxy_start ;;
    socat) socat_start ;;
    esac
}

# Stops everything the contender runs: every process in gw and srv (only contenders run there;
# socat's forked children included). A relay that was gw's path manager must have given the
# namespace its kernel path manager back; if not, says so and resets it.
contender_stop() {
    ns_kill_all "${P}gw"
    ns_kill_all "${P}srv"
    local pm
    pm=$(gw_path_manager)
    if [[ $pm != kernel ]]; then
        echo "run.sh: gw's net.mptcp.path_manager is still '$pm' after the relay stopped; resetting it" >&2
        ns_sysctl "${P}gw" net.mptcp.path_manager=kernel
    fi
}
