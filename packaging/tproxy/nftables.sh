#!/usr/bin/env bash
# TPROXY capture rules for mptcp-relay's `transparent` listeners, with nftables.
# Run `nftables.sh --help` for the options; packaging/tproxy/README.md explains the setup.
set -euo pipefail

readonly PROGRAM=${0##*/}
# The part shared with the other script (options, policy routing, RT_PROTO) is common.sh, next to
# this one wherever they are installed (a symlink to this script is followed to find it).
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/common.sh"

readonly TABLE=mptcp_relay

usage() {
    cat <<EOF
Usage: $PROGRAM [OPTIONS] up|down|status

Installs (up), removes (down) or shows (status) the rules that send the TCP connections arriving
on the LAN interface(s) to mptcp-relay's transparent listener with TPROXY:

  * nftables table \`inet $TABLE\`: a prerouting chain (priority mangle) that jumps, for packets
    from each LAN interface, to a \`capture\` chain: non-TCP packets, packets carrying the relay's
    mark, packets to the gateway's own addresses (fib daddr type local) and the configured
    bypasses return untouched; packets of an existing transparent socket get the fwmark; every
    other TCP packet is sent to the listener (tproxy) with the fwmark. Both rules have counters
    (\`status\` shows them).
  * \`ip rule add fwmark MARK/MASK lookup TABLE\` and \`ip route add local 0.0.0.0/0 dev lo table
    TABLE\` (and the same with \`ip -6\` and ::/0), tagged with \`proto $RT_PROTO\`.

\`up\` replaces what an earlier \`up\` installed (running it twice adds nothing twice); \`down\`
removes only what \`up\` added (the table \`inet $TABLE\`, and the rules and routes tagged
\`proto $RT_PROTO\`); \`status\` prints them and exits 0 when installed, 3 when not (or partly).
Only TCP is captured: UDP (QUIC, DNS, ...) is routed as before.

EOF
    print_options_help \
        '  --lan IFACE            LAN interface whose TCP is captured; repeatable; nft wildcards like
                         "lan*" work. Required for up.          [MPTCP_RELAY_TPROXY_LAN]' \
        '  --print                with up: print the nftables ruleset and the ip commands, change nothing'
}

parse_options "$@"
if ((fwmask == 0xffffffff)); then
    mark_set="meta mark set $fwmark"
else
    mark_set="meta mark set meta mark & $(printf '0x%x' $((~fwmask & 0xffffffff))) | $fwmark"
fi

# --- the pieces ------------------------------------------------------------------------------
joined() {
    local IFS=,
    echo "$*"
}

# The nftables script for `up`: atomically replaces the table (creating it first, so that the
# delete never fails).
ruleset() {
    local lan
    echo "table inet $TABLE"
    echo "delete table inet $TABLE"
    echo "table inet $TABLE {"
    ((${#bypass4[@]} == 0)) || echo "	set bypass4 { type ipv4_addr; flags interval; auto-merge; elements = { $(joined "${bypass4[@]}") }; }"
    ((${#bypass6[@]} == 0)) || echo "	set bypass6 { type ipv6_addr; flags interval; auto-merge; elements = { $(joined "${bypass6[@]}") }; }"
    ((${#src4[@]} == 0)) || echo "	set bypass_src4 { type ipv4_addr; flags interval; auto-merge; elements = { $(joined "${src4[@]}") }; }"
    ((${#src6[@]} == 0)) || echo "	set bypass_src6 { type ipv6_addr; flags interval; auto-merge; elements = { $(joined "${src6[@]}") }; }"
    echo "	chain prerouting {"
    echo "		type filter hook prerouting priority mangle; policy accept;"
    for lan in "${lans[@]}"; do
        echo "		iifname \"$lan\" jump capture"
    done
    echo "	}"
    echo "	chain capture {"
    echo "		meta l4proto != tcp return comment \"TCP only: UDP is not captured\""
    ((ipv4)) || echo "		meta nfproto ipv4 return"
    ((ipv6)) || echo "		meta nfproto ipv6 return"
    if [[ -n $relay_mark ]]; then
        if ((relay_mask == 0xffffffff)); then
            echo "		meta mark $relay_mark return comment \"marked by the relay (its upstream sockets)\""
        else
            echo "		meta mark & $relay_mask == $relay_mark return comment \"marked by the relay (its upstream sockets)\""
        fi
    fi
    echo "		fib daddr type local return comment \"addresses of this gateway\""
    ((${#bypass4[@]} == 0)) || echo "		ip daddr @bypass4 return"
    ((${#bypass6[@]} == 0)) || echo "		ip6 daddr @bypass6 return"
    ((${#src4[@]} == 0)) || echo "		ip saddr @bypass_src4 return"
    ((${#src6[@]} == 0)) || echo "		ip6 saddr @bypass_src6 return"
    ((${#bypass_ports[@]} == 0)) || echo "		tcp dport { $(joined "${bypass_ports[@]}") } return"
    echo "		socket transparent 1 counter $mark_set accept comment \"packets of relayed connections\""
    if ((ipv4)); then
        if [[ $addr == 0.0.0.0 ]]; then
            echo "		meta l4proto tcp counter tproxy ip to :$port $mark_set accept"
        else
            echo "		meta l4proto tcp counter tproxy ip to $addr:$port $mark_set accept"
        fi
    fi
    if ((ipv6)); then
        if [[ $addr6 == :: ]]; then
            echo "		meta l4proto tcp counter tproxy ip6 to :$port6 $mark_set accept"
        else
            echo "		meta l4proto tcp counter tproxy ip6 to [$addr6]:$port6 $mark_set accept"
        fi
    fi
    echo "	}"
    echo "}"
}

require_tools() {
    command -v nft >/dev/null || die "nft not found (apt-get install nftables)"
    require_ip
}

cmd_up() {
    check_up_options
    if ((print_only)); then
        ruleset
        print_ip_commands
        return 0
    fi
    require_tools
    # Routing first: it only concerns marked packets, and nothing is marked before the table exists.
    if ((ipv4)); then
        install_route -4 0.0.0.0/0
        install_rule -4
    else
        remove_rules_and_routes -4
    fi
    if ((ipv6)); then
        install_route -6 ::/0
        install_rule -6
    else
        remove_rules_and_routes -6
    fi
    ruleset | nft -f -
    print_up_summary
}

cmd_down() {
    require_tools
    if nft list table inet "$TABLE" >/dev/null 2>&1; then
        nft delete table inet "$TABLE"
    fi
    remove_rules_and_routes -4
    if [[ -e /proc/sys/net/ipv6 ]]; then
        remove_rules_and_routes -6
    fi
    echo "$PROGRAM: down: table inet $TABLE, and ip rules and routes with proto $RT_PROTO removed"
}

cmd_status() {
    require_tools
    local installed=1 have_v6=0
    [[ -e /proc/sys/net/ipv6 ]] && have_v6=1
    echo "== nftables: table inet $TABLE"
    if ! nft list table inet "$TABLE" 2>/dev/null; then
        echo "(absent)"
        installed=0
    fi
    echo "== ip -4 rules and routes (proto $RT_PROTO)"
    local rules4 routes4 rules6="" routes6=""
    rules4=$(our_rules -4)
    routes4=$(our_routes -4)
    echo "${rules4:-(none)}"
    echo "${routes4:-(none)}"
    if ((have_v6)); then
        echo "== ip -6 rules and routes (proto $RT_PROTO)"
        rules6=$(our_rules -6)
        routes6=$(our_routes -6)
        echo "${rules6:-(none)}"
        echo "${routes6:-(none)}"
    fi
    if [[ -z $rules4$rules6 || -z $routes4$routes6 ]]; then installed=0; fi
    if ((installed)); then
        echo "== installed"
        return 0
    fi
    echo "== not installed (or only partly)"
    return 3
}

run_command
