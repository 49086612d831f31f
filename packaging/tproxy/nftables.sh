#!/usr/bin/env bash
# TPROXY capture rules for mptcp-relay's `transparent` listeners, with nftables.
# Run `nftables.sh --help` for the options; packaging/tproxy/README.md explains the setup.
set -euo pipefail

readonly PROGRAM=${0##*/}
readonly TABLE=mptcp_relay
# Routing protocol number that tags the `ip rule`s and routes this script adds, so that `down`
# removes exactly those (shown as `proto 165` by `ip rule` / `ip route`). Shared with iptables.sh.
readonly RT_PROTO=165

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

Options (a flag wins over its environment variable; lists take commas or spaces):
  --lan IFACE            LAN interface whose TCP is captured; repeatable; nft wildcards like
                         "lan*" work. Required for up.          [MPTCP_RELAY_TPROXY_LAN]
  --port PORT            the IPv4 transparent listener's port (default 7000)
                                                                [MPTCP_RELAY_TPROXY_PORT]
  --port6 PORT           the IPv6 listener's port (default: --port)
                                                                [MPTCP_RELAY_TPROXY_PORT6]
  --addr ADDR            the IPv4 listener's address (default 127.0.0.1; 0.0.0.0 = a listener
                         on 0.0.0.0, reached at the packet's own destination)
                                                                [MPTCP_RELAY_TPROXY_ADDR]
  --addr6 ADDR           the IPv6 listener's address (default ::1; :: = a listener on [::])
                                                                [MPTCP_RELAY_TPROXY_ADDR6]
  --fwmark MARK[/MASK]   mark of captured packets, and the ip rule's selector (default
                         0x100/0x100; without /MASK the mask is 0xffffffff)
                                                                [MPTCP_RELAY_TPROXY_FWMARK]
  --table N              routing table that holds the local default routes (default 100)
                                                                [MPTCP_RELAY_TPROXY_TABLE]
  --priority N           priority of the ip rules (default: chosen by the kernel, ahead of
                         the rules present)                     [MPTCP_RELAY_TPROXY_PRIORITY]
  --bypass CIDR          destination address or prefix never captured (IPv4 or IPv6), e.g.
                         the converter's address, a management network; repeatable
                                                                [MPTCP_RELAY_TPROXY_BYPASS]
  --bypass-src CIDR      LAN source address or prefix never captured; repeatable
                                                                [MPTCP_RELAY_TPROXY_BYPASS_SRC]
  --bypass-port PORT     destination TCP port or range (A-B) never captured; repeatable
                                                                [MPTCP_RELAY_TPROXY_BYPASS_PORT]
  --relay-mark MARK[/MASK]
                         the relay's own mark (the listener's \`mark = N\`, SO_MARK on its
                         upstream sockets): such packets are never captured. It must not match
                         the fwmark under its mask, or \`ip rule\` would route the relay's
                         upstream connections into the local table. [MPTCP_RELAY_TPROXY_RELAY_MARK]
  --ipv4 | --no-ipv4     capture IPv4 (default on)               [MPTCP_RELAY_TPROXY_IPV4=1|0]
  --ipv6 | --no-ipv6     capture IPv6 (default on when the kernel has IPv6)
                                                                [MPTCP_RELAY_TPROXY_IPV6=1|0]
  --print                with up: print the nftables ruleset and the ip commands, change nothing
  -h, --help             this text

Example:
  $PROGRAM --lan br-lan --port 7000 --relay-mark 1 --bypass 203.0.113.7 up
EOF
}

die() {
    echo "$PROGRAM: $*" >&2
    exit 2
}

# Appends the words of a comma- or space-separated list to the array named $1.
append_list() {
    local -n into=$1
    local item
    local -a items
    IFS=$', \t\n' read -r -a items <<<"$2"
    for item in "${items[@]}"; do
        [[ -n $item ]] && into+=("$item")
    done
    return 0
}

# Normalizes MARK[/MASK] into "MARK MASK" (hex); dies on anything that is not a 32-bit number.
parse_mark() {
    local text=$1 what=$2 mark mask
    mark=${text%%/*}
    if [[ $text == */* ]]; then mask=${text#*/}; else mask=0xffffffff; fi
    is_u32 "$mark" || die "$what: '$mark' is not a number (decimal or 0x hex)"
    is_u32 "$mask" || die "$what: mask '$mask' is not a number (decimal or 0x hex)"
    ((mask != 0)) || die "$what: the mask must not be 0"
    (((mark & ~mask) == 0)) || die "$what: mark $mark has bits outside its mask $mask"
    printf '0x%x 0x%x\n' "$((mark))" "$((mask))"
}

is_u32() {
    [[ $1 =~ ^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$ ]] && (($1 <= 0xffffffff))
}

is_port() {
    [[ $1 =~ ^[0-9]{1,5}$ ]] && (($1 >= 1 && $1 <= 65535))
}

is_on() {
    case $1 in
    1 | yes | on | true) return 0 ;;
    0 | no | off | false) return 1 ;;
    *) die "expected 1 or 0, got '$1'" ;;
    esac
}

# --- options ---------------------------------------------------------------------------------
lans=()
bypass=()
bypass_src=()
bypass_ports=()
append_list lans "${MPTCP_RELAY_TPROXY_LAN:-}"
append_list bypass "${MPTCP_RELAY_TPROXY_BYPASS:-}"
append_list bypass_src "${MPTCP_RELAY_TPROXY_BYPASS_SRC:-}"
append_list bypass_ports "${MPTCP_RELAY_TPROXY_BYPASS_PORT:-}"
port=${MPTCP_RELAY_TPROXY_PORT:-7000}
port6=${MPTCP_RELAY_TPROXY_PORT6:-}
addr=${MPTCP_RELAY_TPROXY_ADDR:-127.0.0.1}
addr6=${MPTCP_RELAY_TPROXY_ADDR6:-::1}
fwmark_text=${MPTCP_RELAY_TPROXY_FWMARK:-0x100/0x100}
table=${MPTCP_RELAY_TPROXY_TABLE:-100}
priority=${MPTCP_RELAY_TPROXY_PRIORITY:-}
relay_mark_text=${MPTCP_RELAY_TPROXY_RELAY_MARK:-}
ipv4=${MPTCP_RELAY_TPROXY_IPV4:-1}
if [[ -e /proc/sys/net/ipv6 ]]; then ipv6_default=1; else ipv6_default=0; fi
ipv6=${MPTCP_RELAY_TPROXY_IPV6:-$ipv6_default}
print_only=0
command=""

need_value() {
    (($2 >= 2)) || die "$1 needs a value (see --help)"
}

while (($# > 0)); do
    case $1 in
    -h | --help)
        usage
        exit 0
        ;;
    --lan | --port | --port6 | --addr | --addr6 | --fwmark | --table | --priority | --bypass | \
        --bypass-src | --bypass-port | --relay-mark)
        need_value "$1" "$#"
        case $1 in
        --lan) append_list lans "$2" ;;
        --port) port=$2 ;;
        --port6) port6=$2 ;;
        --addr) addr=$2 ;;
        --addr6) addr6=$2 ;;
        --fwmark) fwmark_text=$2 ;;
        --table) table=$2 ;;
        --priority) priority=$2 ;;
        --bypass) append_list bypass "$2" ;;
        --bypass-src) append_list bypass_src "$2" ;;
        --bypass-port) append_list bypass_ports "$2" ;;
        --relay-mark) relay_mark_text=$2 ;;
        esac
        shift 2
        ;;
    --ipv4) ipv4=1 && shift ;;
    --no-ipv4) ipv4=0 && shift ;;
    --ipv6) ipv6=1 && shift ;;
    --no-ipv6) ipv6=0 && shift ;;
    --print) print_only=1 && shift ;;
    up | down | status)
        [[ -z $command ]] || die "one command only (got '$command' and '$1')"
        command=$1
        shift
        ;;
    *)
        echo "$PROGRAM: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
    esac
done
[[ -n $command ]] || {
    usage >&2
    exit 2
}

port6=${port6:-$port}
is_port "$port" || die "--port: '$port' is not a port (1-65535)"
is_port "$port6" || die "--port6: '$port6' is not a port (1-65535)"
if ! [[ $table =~ ^[0-9]{1,10}$ ]] || ((table < 1 || table > 0xffffffff)); then
    die "--table: '$table' is not a table number"
fi
case $table in 253 | 254 | 255) die "--table: $table is the kernel's default, main or local table; pick another" ;; esac
[[ -z $priority || $priority =~ ^[0-9]{1,5}$ ]] || die "--priority: '$priority' is not a number"
read -r fwmark fwmask < <(parse_mark "$fwmark_text" --fwmark)
((fwmark != 0)) || die "--fwmark: the mark must not be 0"
relay_mark=""
relay_mask=""
if [[ -n $relay_mark_text ]]; then
    read -r relay_mark relay_mask < <(parse_mark "$relay_mark_text" --relay-mark)
    if (((relay_mark & fwmask) == fwmark)); then
        die "--relay-mark $relay_mark matches --fwmark $fwmark/$fwmask: the relay's upstream connections would be routed to table $table (a loop); use another mark"
    fi
fi
if is_on "$ipv4"; then ipv4=1; else ipv4=0; fi
if is_on "$ipv6"; then ipv6=1; else ipv6=0; fi
for p in "${bypass_ports[@]}"; do
    [[ $p =~ ^[0-9]{1,5}(-[0-9]{1,5})?$ ]] || die "--bypass-port: '$p' is not a port or a range A-B"
done
for lan in "${lans[@]}"; do
    [[ $lan =~ ^[A-Za-z0-9_.:@+*-]{1,15}$ ]] || die "--lan: '$lan' is not an interface name"
done

# Bypass lists by family.
bypass4=()
bypass6=()
src4=()
src6=()
for cidr in "${bypass[@]}"; do
    if [[ $cidr == *:* ]]; then bypass6+=("$cidr"); else bypass4+=("$cidr"); fi
done
for cidr in "${bypass_src[@]}"; do
    if [[ $cidr == *:* ]]; then src6+=("$cidr"); else src4+=("$cidr"); fi
done

if ((fwmask == 0xffffffff)); then
    mark_set="meta mark set $fwmark"
    rule_mark=$fwmark
else
    mark_set="meta mark set meta mark & $(printf '0x%x' $((~fwmask & 0xffffffff))) | $fwmark"
    rule_mark="$fwmark/$fwmask"
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

# Our ip rules of one family ("-4" or "-6"), one per line, as `ip -N rule show` prints them.
our_rules() {
    ip -N "$1" rule show | grep -E " proto $RT_PROTO( |$)" || true
}

# Our routes of one family, as `ip route show table all` prints them.
our_routes() {
    ip "$1" route show table all proto "$RT_PROTO" 2>/dev/null || true
}

# Makes our rule of family $1 exactly `fwmark MARK lookup TABLE [pref P]`: keeps it when present,
# removes our other rules (from an earlier `up` with other options), adds it when missing.
install_rule() {
    local family=$1 line pref keep=0
    local want="fwmark $rule_mark lookup $table proto $RT_PROTO"
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        pref=${line%%:*}
        if ((keep == 0)) && [[ $line == *"from all $want"* ]] && [[ -z $priority || $pref == "$priority" ]]; then
            keep=1
            continue
        fi
        ip "$family" rule del pref "$pref" protocol "$RT_PROTO"
    done < <(our_rules "$family")
    if ((keep == 0)); then
        if [[ -n $priority ]]; then
            ip "$family" rule add pref "$priority" fwmark "$rule_mark" lookup "$table" protocol "$RT_PROTO"
        else
            ip "$family" rule add fwmark "$rule_mark" lookup "$table" protocol "$RT_PROTO"
        fi
    fi
}

# Makes our local default route of family $1 the only one we have: in table $table.
install_route() {
    local family=$1 prefix=$2 line rt
    ip "$family" route replace local "$prefix" dev lo table "$table" proto "$RT_PROTO"
    while IFS= read -r line; do
        [[ $line =~ [[:space:]]table[[:space:]]+([0-9]+) ]] || continue
        rt=${BASH_REMATCH[1]}
        [[ $rt == "$table" ]] && continue
        ip "$family" route del local "$prefix" dev lo table "$rt" proto "$RT_PROTO" 2>/dev/null || true
    done < <(our_routes "$family")
}

remove_rules_and_routes() {
    local family=$1 line pref
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        pref=${line%%:*}
        ip "$family" rule del pref "$pref" protocol "$RT_PROTO"
    done < <(our_rules "$family")
    # Bounded: one pass over what is there now.
    ip "$family" route flush table all proto "$RT_PROTO" 2>/dev/null || true
}

print_ip_commands() {
    local pref_args=""
    [[ -z $priority ]] || pref_args="pref $priority "
    if ((ipv4)); then
        echo "ip -4 rule add ${pref_args}fwmark $rule_mark lookup $table protocol $RT_PROTO"
        echo "ip -4 route replace local 0.0.0.0/0 dev lo table $table proto $RT_PROTO"
    fi
    if ((ipv6)); then
        echo "ip -6 rule add ${pref_args}fwmark $rule_mark lookup $table protocol $RT_PROTO"
        echo "ip -6 route replace local ::/0 dev lo table $table proto $RT_PROTO"
    fi
}

require_tools() {
    command -v nft >/dev/null || die "nft not found (apt-get install nftables)"
    command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
}

cmd_up() {
    ((${#lans[@]} > 0)) || die "up needs at least one --lan interface (or MPTCP_RELAY_TPROXY_LAN)"
    ((ipv4 || ipv6)) || die "both IPv4 and IPv6 are off: nothing to capture"
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
    echo "$PROGRAM: up: TCP from ${lans[*]} -> ${addr}:${port} (IPv4 $([[ $ipv4 == 1 ]] && echo on || echo off)), [${addr6}]:${port6} (IPv6 $([[ $ipv6 == 1 ]] && echo on || echo off)); fwmark $rule_mark, table $table"
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

case $command in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
esac
