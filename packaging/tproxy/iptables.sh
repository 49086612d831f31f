#!/usr/bin/env bash
# TPROXY capture rules for mptcp-relay's `transparent` listeners, with iptables and ip6tables.
# Run `iptables.sh --help` for the options; packaging/tproxy/README.md explains the setup.
set -euo pipefail

readonly PROGRAM=${0##*/}
# The part shared with the other script (options, policy routing, RT_PROTO) is common.sh, next to
# this one wherever they are installed (a symlink to this script is followed to find it).
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/common.sh"

readonly CHAIN=MPTCP_RELAY
readonly DIVERT=MPTCP_RELAY_DIVERT

usage() {
    cat <<EOF
Usage: $PROGRAM [OPTIONS] up|down|status

Installs (up), removes (down) or shows (status) the rules that send the TCP connections arriving
on the LAN interface(s) to mptcp-relay's transparent listener with TPROXY:

  * iptables and ip6tables, table mangle: a chain $CHAIN, jumped to from PREROUTING for packets
    from each LAN interface (-i IFACE; iptables wildcards like "lan+" work): non-TCP packets,
    packets carrying the relay's mark, packets to the gateway's own addresses (-m addrtype
    --dst-type LOCAL) and the configured bypasses return untouched; packets of an existing
    transparent socket (-m socket --transparent) go to $DIVERT (fwmark, ACCEPT); every other TCP
    packet goes to the listener (-j TPROXY) with the fwmark.
  * \`ip rule add fwmark MARK/MASK lookup TABLE\` and \`ip route add local 0.0.0.0/0 dev lo table
    TABLE\` (and the same with \`ip -6\` and ::/0), tagged with \`proto $RT_PROTO\`.

\`up\` replaces what an earlier \`up\` installed (running it twice adds nothing twice); \`down\`
removes only what \`up\` added (the two chains and the PREROUTING jumps, and the rules and routes
tagged \`proto $RT_PROTO\`; with iptables' nf_tables backend also the mangle table when nothing
else is left in it, as iptables created it on first use); \`status\` prints them and exits 0 when
installed, 3 when not (or partly).
Only TCP is captured: UDP (QUIC, DNS, ...) is routed as before.

EOF
    print_options_help \
        '  --lan IFACE            LAN interface whose TCP is captured; repeatable; iptables wildcards
                         like "lan+" work. Required for up.          [MPTCP_RELAY_TPROXY_LAN]' \
        '  --print                with up: print the iptables-restore input and the ip commands, change
                         nothing'
}

parse_options "$@"

# --- the pieces ------------------------------------------------------------------------------
# The iptables command of a family: iptables for -4, ip6tables for -6.
ipt() {
    if [[ $1 == -4 ]]; then echo iptables; else echo ip6tables; fi
}

# The iptables-restore --noflush input that (re)defines our two chains for family $1: declaring
# a chain flushes it, and the whole table is committed at once.
chains_input() {
    local family=$1 cidr p listen_addr listen_port
    local -a dsts srcs
    if [[ $family == -4 ]]; then
        dsts=("${bypass4[@]}")
        srcs=("${src4[@]}")
        listen_addr=$addr
        listen_port=$port
    else
        dsts=("${bypass6[@]}")
        srcs=("${src6[@]}")
        listen_addr=$addr6
        listen_port=$port6
    fi
    echo "*mangle"
    echo ":$CHAIN - [0:0]"
    echo ":$DIVERT - [0:0]"
    echo "-A $DIVERT -j MARK --set-mark $fwmark/$fwmask"
    echo "-A $DIVERT -j ACCEPT"
    echo "-A $CHAIN ! -p tcp -m comment --comment \"TCP only: UDP is not captured\" -j RETURN"
    if [[ -n $relay_mark ]]; then
        echo "-A $CHAIN -m mark --mark $relay_mark/$relay_mask -m comment --comment \"marked by the relay (its upstream sockets)\" -j RETURN"
    fi
    echo "-A $CHAIN -m addrtype --dst-type LOCAL -m comment --comment \"addresses of this gateway\" -j RETURN"
    for cidr in "${dsts[@]}"; do
        echo "-A $CHAIN -d $cidr -j RETURN"
    done
    for cidr in "${srcs[@]}"; do
        echo "-A $CHAIN -s $cidr -j RETURN"
    done
    for p in "${bypass_ports[@]}"; do
        echo "-A $CHAIN -p tcp --dport ${p/-/:} -j RETURN"
    done
    echo "-A $CHAIN -p tcp -m socket --transparent -m comment --comment \"packets of relayed connections\" -j $DIVERT"
    if [[ $listen_addr == 0.0.0.0 || $listen_addr == :: ]]; then
        echo "-A $CHAIN -p tcp -j TPROXY --on-port $listen_port --tproxy-mark $fwmark/$fwmask"
    else
        echo "-A $CHAIN -p tcp -j TPROXY --on-port $listen_port --on-ip $listen_addr --tproxy-mark $fwmark/$fwmask"
    fi
    echo "COMMIT"
}

# Our jumps in mangle/PREROUTING of family $1, as `-S` prints them ("-A PREROUTING ... -j MPTCP_RELAY").
our_jumps() {
    "$(ipt "$1")" -w -t mangle -S PREROUTING 2>/dev/null | grep -E -- "-j $CHAIN( |$)" || true
}

# Installs the chains of family $1 and one jump per LAN interface; removes jumps for interfaces
# that are no longer named. Never adds a jump twice.
install_chains() {
    local family=$1 cmd line lan
    cmd=$(ipt "$family")
    chains_input "$family" | "$cmd-restore" -w --noflush
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        local keep=0
        for lan in "${lans[@]}"; do
            [[ $line == "-A PREROUTING -i $lan -j $CHAIN" ]] && keep=1
        done
        if ((keep == 0)); then
            # shellcheck disable=SC2086 # the rule's words, as -S printed them
            "$cmd" -w -t mangle -D ${line#-A }
        fi
    done < <(our_jumps "$family")
    for lan in "${lans[@]}"; do
        if ! "$cmd" -w -t mangle -C PREROUTING -i "$lan" -j "$CHAIN" 2>/dev/null; then
            "$cmd" -w -t mangle -A PREROUTING -i "$lan" -j "$CHAIN"
        fi
    done
}

# With the nf_tables backend, iptables creates table `ip mangle` (or `ip6 mangle`) and its base
# chains on first use; true when nothing else is in it (only base chains, policy accept, no rule).
mangle_table_is_empty() {
    local nft_family=$1 text rest
    command -v nft >/dev/null || return 1
    text=$(nft list table "$nft_family" mangle 2>/dev/null) || return 1
    # Whatever is not the table, a base chain with policy accept, or a brace, is in use.
    rest=$(grep -vE '^[[:space:]]*(table (ip|ip6) mangle \{|chain (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) \{|type (filter|route) hook [a-z]+ priority [-a-z0-9]+; policy accept;|\}|)[[:space:]]*$' \
        <<<"$text" || true)
    [[ -z $rest ]]
}

remove_chains() {
    local family=$1 cmd line nft_family
    cmd=$(ipt "$family")
    command -v "$cmd" >/dev/null || return 0
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        # shellcheck disable=SC2086 # the rule's words, as -S printed them
        "$cmd" -w -t mangle -D ${line#-A }
    done < <(our_jumps "$family")
    for line in "$CHAIN" "$DIVERT"; do
        if "$cmd" -w -t mangle -S "$line" >/dev/null 2>&1; then
            "$cmd" -w -t mangle -F "$line"
        fi
    done
    for line in "$CHAIN" "$DIVERT"; do
        if "$cmd" -w -t mangle -S "$line" >/dev/null 2>&1; then
            "$cmd" -w -t mangle -X "$line"
        fi
    done
    if [[ $("$cmd" --version 2>/dev/null || true) == *nf_tables* ]]; then
        if [[ $family == -4 ]]; then nft_family=ip; else nft_family=ip6; fi
        if mangle_table_is_empty "$nft_family"; then
            nft delete table "$nft_family" mangle
        fi
    fi
}

require_tools() {
    require_ip
    if ((ipv4)); then
        command -v iptables-restore >/dev/null || die "iptables-restore not found (apt-get install iptables)"
    fi
    if ((ipv6)); then
        command -v ip6tables-restore >/dev/null || die "ip6tables-restore not found (apt-get install iptables)"
    fi
}

cmd_up() {
    check_up_options
    if ((print_only)); then
        local family lan
        for family in -4 -6; do
            if [[ $family == -4 ]] && ((!ipv4)); then continue; fi
            if [[ $family == -6 ]] && ((!ipv6)); then continue; fi
            echo "# $(ipt "$family")-restore --noflush"
            chains_input "$family"
            for lan in "${lans[@]}"; do
                echo "# $(ipt "$family") -t mangle -A PREROUTING -i $lan -j $CHAIN"
            done
        done
        print_ip_commands
        return 0
    fi
    require_tools
    # Routing first: it only concerns marked packets, and nothing is marked before the chains exist.
    if ((ipv4)); then
        install_route -4 0.0.0.0/0
        install_rule -4
        install_chains -4
    else
        remove_chains -4
        remove_rules_and_routes -4
    fi
    if ((ipv6)); then
        install_route -6 ::/0
        install_rule -6
        install_chains -6
    elif [[ -e /proc/sys/net/ipv6 ]]; then
        remove_chains -6
        remove_rules_and_routes -6
    fi
    print_up_summary
}

cmd_down() {
    require_ip
    remove_chains -4
    remove_rules_and_routes -4
    if [[ -e /proc/sys/net/ipv6 ]]; then
        remove_chains -6
        remove_rules_and_routes -6
    fi
    echo "$PROGRAM: down: chains $CHAIN and $DIVERT with their PREROUTING jumps, and ip rules and routes with proto $RT_PROTO removed"
}

cmd_status() {
    require_ip
    local family cmd text rules routes chains=0 all_rules="" all_routes="" have_v6=0
    [[ -e /proc/sys/net/ipv6 ]] && have_v6=1
    for family in -4 -6; do
        if [[ $family == -6 ]] && ((!have_v6)); then continue; fi
        cmd=$(ipt "$family")
        echo "== $cmd -t mangle: PREROUTING jumps, $CHAIN, $DIVERT"
        if command -v "$cmd" >/dev/null && text=$("$cmd" -w -t mangle -S "$CHAIN" 2>/dev/null); then
            our_jumps "$family"
            echo "$text"
            "$cmd" -w -t mangle -S "$DIVERT" 2>/dev/null || true
            echo "-- packet and byte counters"
            "$cmd" -w -t mangle -L "$CHAIN" -v -n -x 2>/dev/null || true
            chains=1
        else
            echo "(absent)"
        fi
        echo "== ip $family rules and routes (proto $RT_PROTO)"
        rules=$(our_rules "$family")
        routes=$(our_routes "$family")
        echo "${rules:-(none)}"
        echo "${routes:-(none)}"
        all_rules+=$rules
        all_routes+=$routes
    done
    if ((chains)) && [[ -n $all_rules && -n $all_routes ]]; then
        echo "== installed"
        return 0
    fi
    echo "== not installed (or only partly)"
    return 3
}

run_command
