#!/usr/bin/env bash
# TPROXY capture rules for mptcp-relay's `transparent` listeners, with iptables and ip6tables.
# Run `iptables.sh --help` for the options; packaging/tproxy/README.md explains the setup.
set -euo pipefail

readonly PROGRAM=${0##*/}
readonly CHAIN=MPTCP_RELAY
readonly DIVERT=MPTCP_RELAY_DIVERT
# Routing protocol number that tags the `ip rule`s and routes this script adds, so that `down`
# removes exactly those (shown as `proto 165` by `ip rule` / `ip route`). Shared with nftables.sh.
readonly RT_PROTO=165

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

Options (a flag wins over its environment variable; lists take commas or spaces):
  --lan IFACE            LAN interface whose TCP is captured; repeatable; iptables wildcards
                         like "lan+" work. Required for up.          [MPTCP_RELAY_TPROXY_LAN]
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
  --print                with up: print the iptables-restore input and the ip commands, change
                         nothing
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
    rule_mark=$fwmark
else
    rule_mark="$fwmark/$fwmask"
fi

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
    command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
    if ((ipv4)); then
        command -v iptables-restore >/dev/null || die "iptables-restore not found (apt-get install iptables)"
    fi
    if ((ipv6)); then
        command -v ip6tables-restore >/dev/null || die "ip6tables-restore not found (apt-get install iptables)"
    fi
}

cmd_up() {
    ((${#lans[@]} > 0)) || die "up needs at least one --lan interface (or MPTCP_RELAY_TPROXY_LAN)"
    ((ipv4 || ipv6)) || die "both IPv4 and IPv6 are off: nothing to capture"
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
    echo "$PROGRAM: up: TCP from ${lans[*]} -> ${addr}:${port} (IPv4 $([[ $ipv4 == 1 ]] && echo on || echo off)), [${addr6}]:${port6} (IPv6 $([[ $ipv6 == 1 ]] && echo on || echo off)); fwmark $rule_mark, table $table"
}

cmd_down() {
    command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
    remove_chains -4
    remove_rules_and_routes -4
    if [[ -e /proc/sys/net/ipv6 ]]; then
        remove_chains -6
        remove_rules_and_routes -6
    fi
    echo "$PROGRAM: down: chains $CHAIN and $DIVERT with their PREROUTING jumps, and ip rules and routes with proto $RT_PROTO removed"
}

cmd_status() {
    command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
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

case $command in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
esac
