#!/usr/bin/env bash
# The .deb end to end, as root on a Debian 12 machine without a running systemd (CI): build it
# (reusing the release build in .build-release), check that it holds every promised path, install it
# with apt-get, run the installed binary on the installed examples, verify the units offline, render
# the man page, then purge it and check that the files, the configs and the user are gone.
#   packaging/deb/test.sh            build, then test
#   packaging/deb/test.sh FILE.deb   test FILE.deb
# Refuses to run when mptcp-relay is installed already (it would remove it). Every step has a time
# limit. What it needs (dpkg-dev tools, systemd for systemd-analyze, man-db) comes from
# scripts/install-deps.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

say() { echo "deb-test: $*"; }
fail() {
    echo "deb-test: FAIL: $*" >&2
    exit 1
}

[[ $(id -u) -eq 0 ]] || fail "run as root (it installs and purges the package)"
if dpkg-query -W -f='${db:Status-Status}' mptcp-relay 2>/dev/null | grep -qx installed; then
    fail "mptcp-relay is installed on this machine already; this test would purge it (apt-get purge mptcp-relay first)"
fi

# apt-get waits for the dpkg lock instead of failing when another install runs.
apt_get() {
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get -o DPkg::Lock::Timeout=300 -y -q "$@"
}

installed=0
cleanup() {
    if ((installed)); then
        say "cleanup: apt-get purge mptcp-relay"
        apt_get purge mptcp-relay >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

started=$SECONDS
if [[ $# -ge 1 ]]; then
    deb=$(readlink -f "$1")
else
    say "packaging/deb/build.sh"
    deb=$(timeout 2400 packaging/deb/build.sh | tail -n 1)
fi
[[ -f $deb ]] || fail "no package at $deb"
say "built in $((SECONDS - started))s: $deb"

# 1. Every promised path is in the package.
promised=(
    /usr/bin/mptcp-relay
    /etc/mptcp-relay/gateway.toml
    /etc/mptcp-relay/server.toml
    "/lib/systemd/system/mptcp-relay@.service"
    /lib/systemd/system/mptcp-relay-limits.service
    /usr/lib/sysctl.d/90-mptcp-relay.conf
    /usr/share/mptcp-relay/tproxy/nftables.sh
    /usr/share/mptcp-relay/tproxy/iptables.sh
    /usr/share/mptcp-relay/tproxy/common.sh
    /usr/share/mptcp-relay/tproxy/README.md
    /usr/share/mptcp-relay/loadbalancer/nftables.sh
    /usr/share/mptcp-relay/grafana/mptcp-relay.json
    /usr/share/man/man1/mptcp-relay.1.gz
    /usr/share/bash-completion/completions/mptcp-relay
    /usr/share/zsh/vendor-completions/_mptcp-relay
    /usr/share/fish/vendor_completions.d/mptcp-relay.fish
    /usr/share/doc/mptcp-relay/examples/gateway.toml
    /usr/share/doc/mptcp-relay/examples/server.toml
    /usr/share/doc/mptcp-relay/examples/gateway-transparent.toml
    /usr/share/doc/mptcp-relay/examples/gateway-paths.toml
)
contents=$(timeout 60 dpkg-deb --contents "$deb" | awk '{ print $6 }' | sed 's|^\./|/|')
for path in "${promised[@]}"; do
    grep -qxF "$path" <<<"$contents" || fail "dpkg-deb --contents $deb: $path is missing"
done
conffiles=$(timeout 60 dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)
for path in /etc/mptcp-relay/gateway.toml /etc/mptcp-relay/server.toml; do
    grep -qxF "$path" <<<"$conffiles" || fail "$path is not a conffile"
done
depends=$(timeout 60 dpkg-deb --field "$deb" Depends)
for package in liburing2 iproute2 nftables; do
    grep -qw "$package" <<<"$depends" || fail "Depends ($depends) lacks $package"
done
say "contents: all ${#promised[@]} promised paths, both conffiles, Depends: $depends"

# 2. apt-get installs it (and what it depends on).
say "apt-get install $deb"
installed=1
apt_get install --no-install-recommends "$deb"
[[ -x /usr/bin/mptcp-relay ]] || fail "no /usr/bin/mptcp-relay after the install"
if ldd /usr/bin/mptcp-relay | grep -E 'not found|libswift'; then
    fail "/usr/bin/mptcp-relay misses a library or links the Swift runtime dynamically"
fi
version=$(timeout 10 /usr/bin/mptcp-relay --version)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+\ \(commit\ [0-9a-f]+(-dirty)?\)$ ]] ||
    fail "mptcp-relay --version printed \"$version\"; expected VERSION (commit HEX)"
say "installed: mptcp-relay $version"
getent passwd mptcp-relay >/dev/null || fail "postinst created no user mptcp-relay"
[[ $(stat -c '%U:%G %a' /etc/mptcp-relay) == "root:mptcp-relay 750" ]] ||
    fail "/etc/mptcp-relay is $(stat -c '%U:%G %a' /etc/mptcp-relay); expected root:mptcp-relay 750"

# 3. The installed binary accepts the installed examples.
for config in /etc/mptcp-relay/*.toml /usr/share/doc/mptcp-relay/examples/*.toml; do
    timeout 30 /usr/bin/mptcp-relay check-config "$config" || fail "check-config $config"
done
# ... and the completions are the shells' syntax.
timeout 30 bash -n /usr/share/bash-completion/completions/mptcp-relay || fail "bash completion syntax"

# 4. systemd-analyze verify accepts the units (offline: it loads the unit files, checks their
# settings and that the executables exist). A template is verified through an instance.
instance_dir=$(mktemp -d)
trap 'rm -rf "$instance_dir"; cleanup' EXIT
cp "/lib/systemd/system/mptcp-relay@.service" "$instance_dir/"
ln -s "mptcp-relay@.service" "$instance_dir/mptcp-relay@gateway.service"
verify_log=$instance_dir/verify.log
if ! SYSTEMD_LOG_LEVEL=notice timeout 120 systemd-analyze verify --man=no \
    /lib/systemd/system/mptcp-relay-limits.service "$instance_dir/mptcp-relay@gateway.service" \
    >"$verify_log" 2>&1; then
    cat "$verify_log" >&2
    fail "systemd-analyze verify refused the units"
fi
# verify exits 0 on some findings (unknown settings are only logged): none may mention our units.
if grep -E 'mptcp-relay' "$verify_log"; then
    fail "systemd-analyze verify complained about the units"
fi
say "systemd-analyze verify: both units accepted"

# 5. The man page renders, found by name.
man_text=$(MANWIDTH=80 timeout 60 man -P cat mptcp-relay 2>/dev/null) || fail "man mptcp-relay failed"
grep -q 'check-config' <<<"$man_text" || fail "man mptcp-relay shows no check-config"
say "man mptcp-relay: $(wc -l <<<"$man_text") lines"

# 6. A purge removes the files, the configs and the user.
say "apt-get purge mptcp-relay"
apt_get purge mptcp-relay
installed=0
for path in "${promised[@]}" /etc/mptcp-relay; do
    [[ ! -e $path ]] || fail "$path is still there after the purge"
done
! getent passwd mptcp-relay >/dev/null || fail "user mptcp-relay is still there after the purge"
! getent group mptcp-relay >/dev/null || fail "group mptcp-relay is still there after the purge"
! dpkg-statoverride --list /etc/mptcp-relay >/dev/null || fail "the statoverride of /etc/mptcp-relay is still there"
say "ok in $((SECONDS - started))s"
