# shellcheck shell=bash
# The part of the TPROXY rule scripts (nftables.sh, iptables.sh) that does not depend on the
# firewall: option parsing and checking, and the `ip rule`s and routes of the policy routing.
# Sourced by them from their own directory; it needs what the script defines: PROGRAM (its name),
# `usage` (its help text, for parse_options) and cmd_up, cmd_down, cmd_status (for run_command).

# Routing protocol number that tags the `ip rule`s and routes the scripts add, so that `down`
# removes exactly those (shown as `proto 165` by `ip rule` / `ip route`).
readonly RT_PROTO=165

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

# Prints the options part of the help text, from the lines of --lan ($1) and of --print ($2), which
# differ between the scripts.
print_options_help() {
    cat <<EOF
Options (a flag wins over its environment variable; lists take commas or spaces):
$1
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
$2
  -h, --help             this text

Example:
  $PROGRAM --lan br-lan --port 7000 --relay-mark 1 --bypass 203.0.113.7 up
EOF
}

need_value() {
    (($2 >= 2)) || die "$1 needs a value (see --help)"
}

# --- options ---------------------------------------------------------------------------------
# Parses the options and the command ("$@"), falling back to the MPTCP_RELAY_TPROXY_* variables,
# checks them, and sets the globals the scripts use: lans, bypass4, bypass6, src4, src6,
# bypass_ports, port, port6, addr, addr6, fwmark, fwmask, rule_mark, table, priority, relay_mark,
# relay_mask, ipv4, ipv6 (1 or 0), print_only and command. Prints usage and exits 2 when no
# command is given; dies on a bad value.
# shellcheck disable=SC2034 # the globals are used by the sourcing script
parse_options() {
    local p lan cidr ipv6_default
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
}

# --- policy routing --------------------------------------------------------------------------
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
require_ip() {
    command -v ip >/dev/null || die "ip not found (apt-get install iproute2)"
}

# The checks of `up` that do not depend on the firewall.
check_up_options() {
    ((${#lans[@]} > 0)) || die "up needs at least one --lan interface (or MPTCP_RELAY_TPROXY_LAN)"
    ((ipv4 || ipv6)) || die "both IPv4 and IPv6 are off: nothing to capture"
}

# The line `up` prints when it is done.
print_up_summary() {
    echo "$PROGRAM: up: TCP from ${lans[*]} -> ${addr}:${port} (IPv4 $([[ $ipv4 == 1 ]] && echo on || echo off)), [${addr6}]:${port6} (IPv6 $([[ $ipv6 == 1 ]] && echo on || echo off)); fwmark $rule_mark, table $table"
}

# Runs the script's cmd_up, cmd_down or cmd_status for the parsed command.
run_command() {
    case $command in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    esac
}
