#!/usr/bin/env bash
# Spreads the MPTCP connections arriving at one public address over several mptcp-relay converters,
# with nftables DNAT (docs/SCALE-OUT.md). Run `nftables.sh --help` for the options.
set -euo pipefail

readonly PROGRAM=${0##*/}
readonly TABLE=mptcp_relay_lb

usage() {
    cat <<EOF
Usage: $PROGRAM --public ADDR:PORT --backend ADDR [--backend ADDR]... [--print] up
       $PROGRAM --public ADDR:PORT down|status

Installs (up), removes (down) or shows (status) the nftables table \`ip $TABLE\` (\`ip6 $TABLE\` for
an IPv6 public address): one prerouting DNAT rule that sends each new TCP connection to PUBLIC to one
of the backends, chosen by a hash of the client's address and port (\`jhash\`), keeping the port.
Conntrack keeps every packet of a subflow on the backend its first packet went to.

This spreads *initial* subflows only. The joins of each connection must reach the instance that owns
it directly: every converter announces an address of its own (\`[runtime] announce = ["ADDR"]\`) and
forbids joins to PUBLIC (\`sysctl net.mptcp.allow_join_initial_addr_port=0\`). docs/SCALE-OUT.md has
the whole setup.

  --public ADDR:PORT   the balanced address and port ([ADDR]:PORT for IPv6)   [MPTCP_RELAY_LB_PUBLIC]
  --backend ADDR       a converter's own address (the same PORT); repeatable  [MPTCP_RELAY_LB_BACKENDS,
                       space-separated]
  --print              with up: print the nftables ruleset, change nothing
  -h, --help           this text

\`up\` replaces what an earlier \`up\` installed (running it twice adds nothing twice); \`down\` removes
the table; \`status\` prints it with its counter and exits 0 when installed, 3 when not.
EOF
}

public=${MPTCP_RELAY_LB_PUBLIC:-}
read -r -a backends <<<"${MPTCP_RELAY_LB_BACKENDS:-}"
print_only=false
action=
while (($# > 0)); do
    case $1 in
    --public)
        public=${2:?--public needs ADDR:PORT}
        shift 2
        ;;
    --backend)
        backends+=("${2:?--backend needs an address}")
        shift 2
        ;;
    --print)
        print_only=true
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    up | down | status)
        action=$1
        shift
        ;;
    *)
        echo "$PROGRAM: unknown argument: $1 (see --help)" >&2
        exit 2
        ;;
    esac
done

if [[ -z $action ]]; then
    echo "$PROGRAM: say up, down or status (see --help)" >&2
    exit 2
fi
if [[ -z $public ]]; then
    echo "$PROGRAM: --public ADDR:PORT is required" >&2
    exit 2
fi

# ADDR:PORT or [V6ADDR]:PORT.
if [[ $public =~ ^\[([0-9a-fA-F:.]+)\]:([0-9]+)$ ]]; then
    address=${BASH_REMATCH[1]}
    port=${BASH_REMATCH[2]}
    family=ip6
elif [[ $public =~ ^([0-9.]+):([0-9]+)$ ]]; then
    address=${BASH_REMATCH[1]}
    port=${BASH_REMATCH[2]}
    family=ip
else
    echo "$PROGRAM: --public $public is not ADDR:PORT or [V6ADDR]:PORT" >&2
    exit 2
fi
port=$((10#$port))
if ((port < 1 || port > 65535)); then
    echo "$PROGRAM: port $port is out of range" >&2
    exit 2
fi

# The ruleset for `up`: atomically replaces the table (creating it first, so that the delete never fails).
ruleset() {
    local index=0 entries=() backend
    for backend in "${backends[@]}"; do
        entries+=("$index : $backend")
        index=$((index + 1))
    done
    local IFS=,
    echo "table $family $TABLE"
    echo "delete table $family $TABLE"
    echo "table $family $TABLE {"
    echo "    chain prerouting {"
    echo "        type nat hook prerouting priority dstnat; policy accept;"
    echo "        $family daddr $address tcp dport $port counter dnat to jhash $family saddr . tcp sport mod ${#backends[@]} map { ${entries[*]} }"
    echo "    }"
    echo "}"
}

case $action in
up)
    if ((${#backends[@]} == 0)); then
        echo "$PROGRAM: up needs at least one --backend" >&2
        exit 2
    fi
    for backend in "${backends[@]}"; do
        if [[ $family == ip && ! $backend =~ ^[0-9]+(\.[0-9]+){3}$ ]] || [[ $family == ip6 && ! $backend =~ ^[0-9a-fA-F:]+$ ]]; then
            echo "$PROGRAM: backend $backend is not an address of the public address's family" >&2
            exit 2
        fi
    done
    if $print_only; then
        ruleset
        exit 0
    fi
    ruleset | nft -f -
    echo "$PROGRAM: $public spread over ${#backends[@]} backend(s): ${backends[*]}"
    ;;
down)
    if nft list table "$family" "$TABLE" >/dev/null 2>&1; then
        nft delete table "$family" "$TABLE"
    fi
    echo "$PROGRAM: removed"
    ;;
status)
    if nft list table "$family" "$TABLE" 2>/dev/null; then
        exit 0
    fi
    echo "$PROGRAM: not installed"
    exit 3
    ;;
esac
