#!/usr/bin/env bash
# Builds the Debian package: packaging/deb/out/mptcp-relay_VERSION_ARCH.deb (its path is the last line
# of standard output).
#   packaging/deb/build.sh
# The binary comes from scripts/build-release.sh (release, Swift runtime linked statically, shared
# with Benchmarks/run.sh); the man page and the shell completions are generated from the binary's
# own command line (swift-argument-parser's generate-manual tool and --generate-completion-script).
# Needs swift, dpkg-deb, strip (binutils) and gzip; not root (dpkg-deb --root-owner-group).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
deb_dir=$repo/packaging/deb
scratch=${MPTCP_RELAY_RELEASE_SCRATCH:-$repo/.build-release}
stage=$repo/.build-deb/root
out=$deb_dir/out

say() { echo "deb: $*" >&2; }

binary=$(MPTCP_RELAY_RELEASE_SCRATCH=$scratch scripts/build-release.sh | tail -n 1)
# The tool the generate-manual plugin runs, built directly: the plugin (`swift package plugin
# generate-manual`) works with swift-argument-parser 1.8.2 but rebuilds the package without
# --static-swift-stdlib, which takes minutes and leaves a dynamically linked binary behind.
say "building swift-argument-parser's generate-manual tool"
timeout 600 swift build -c release --static-swift-stdlib --scratch-path "$scratch" \
    --product generate-manual >&2
generate_manual=$scratch/release/generate-manual

version=$("$binary" --version | awk '{ print $1; exit }')
if [[ ! $version =~ ^[0-9][0-9A-Za-z.+~-]*$ ]]; then
    say "unexpected version from $binary --version: $version"
    exit 1
fi
arch=$(dpkg --print-architecture)
say "staging $("$binary" --version) for $arch in $stage"

rm -rf "$stage"
install -d "$stage/DEBIAN" "$stage/etc/mptcp-relay" "$stage/usr/share/doc/mptcp-relay/examples"

# The binary, without its debug information (120 MB -> 90 MB; symbols stay for backtraces; most of it
# is the static Foundation with its ICU data, which our sources and swift-crypto import).
install -D -m 0755 "$binary" "$stage/usr/bin/mptcp-relay"
strip --strip-debug "$stage/usr/bin/mptcp-relay"

# Example configs: the gateway's and the server's as conffiles in /etc/mptcp-relay, with a header
# that says how to run them as a service; every example of config/ in the docs.
for name in gateway server; do
    {
        cat <<HEADER
# Installed by the mptcp-relay package as an example: put in your addresses and your own key
# (mptcp-relay keygen --name home), check it with mptcp-relay check-config /etc/mptcp-relay/$name.toml,
# then run it with: systemctl enable --now mptcp-relay@$name
# The service runs as the system user mptcp-relay with CAP_NET_ADMIN and CAP_NET_BIND_SERVICE: leave
# [runtime] user out; a key_file must belong to mptcp-relay, mode 0600.
#
HEADER
        sed 's|mptcp-relay check-config config/|mptcp-relay check-config /etc/mptcp-relay/|' "config/$name.toml"
    } >"$stage/etc/mptcp-relay/$name.toml"
    chmod 0644 "$stage/etc/mptcp-relay/$name.toml"
    echo "/etc/mptcp-relay/$name.toml" >>"$stage/DEBIAN/conffiles"
done
install -m 0644 config/*.toml "$stage/usr/share/doc/mptcp-relay/examples/"
install -m 0644 README.md "$stage/usr/share/doc/mptcp-relay/README.md"

# systemd: the relay per config file, the MPTCP limits; the sysctl that enables MPTCP.
install -D -m 0644 "packaging/systemd/mptcp-relay@.service" "$stage/lib/systemd/system/mptcp-relay@.service"
install -D -m 0644 packaging/systemd/mptcp-relay-limits.service "$stage/lib/systemd/system/mptcp-relay-limits.service"
install -D -m 0644 packaging/systemd/90-mptcp-relay.conf "$stage/usr/lib/sysctl.d/90-mptcp-relay.conf"

# The TPROXY rules (packaging/tproxy/README.md names /usr/share/mptcp-relay/tproxy) and the dashboard.
install -d "$stage/usr/share/mptcp-relay/tproxy"
install -m 0755 packaging/tproxy/nftables.sh packaging/tproxy/iptables.sh "$stage/usr/share/mptcp-relay/tproxy/"
install -m 0644 packaging/tproxy/common.sh packaging/tproxy/README.md "$stage/usr/share/mptcp-relay/tproxy/"
# The scale-out balancer (docs/SCALE-OUT.md).
install -d "$stage/usr/share/mptcp-relay/loadbalancer"
install -m 0755 packaging/loadbalancer/nftables.sh "$stage/usr/share/mptcp-relay/loadbalancer/"
install -D -m 0644 packaging/grafana/mptcp-relay.json "$stage/usr/share/mptcp-relay/grafana/mptcp-relay.json"

# The man page and the completions, from the command line itself. The manual's date is the
# commit's, so that the same commit gives the same page.
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
man_dir=$repo/.build-deb/man
rm -rf "$man_dir" && install -d "$man_dir"
timeout 60 "$generate_manual" "$stage/usr/bin/mptcp-relay" --date "$date" --output-directory "$man_dir" >&2
install -D -m 0644 "$man_dir/mptcp-relay.1" "$stage/usr/share/man/man1/mptcp-relay.1"
gzip -9n "$stage/usr/share/man/man1/mptcp-relay.1"
completions() { timeout 60 "$stage/usr/bin/mptcp-relay" --generate-completion-script "$1"; }
install -d "$stage/usr/share/bash-completion/completions" "$stage/usr/share/zsh/vendor-completions" \
    "$stage/usr/share/fish/vendor_completions.d"
completions bash >"$stage/usr/share/bash-completion/completions/mptcp-relay"
completions zsh >"$stage/usr/share/zsh/vendor-completions/_mptcp-relay"
completions fish >"$stage/usr/share/fish/vendor_completions.d/mptcp-relay.fish"

# Control files. Depends: what the binary links (libc6, libstdc++6, libgcc-s1, liburing2) and what
# the units and the TPROXY scripts run (iproute2, nftables); adduser for postinst.
depends="libc6 (>= 2.36), libstdc++6 (>= 12), libgcc-s1, liburing2 (>= 2.3), iproute2, nftables, adduser"
size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@DEPENDS@/$depends/" \
    "$deb_dir/control.in" >"$stage/DEBIAN/control"
install -m 0755 "$deb_dir/postinst" "$deb_dir/postrm" "$stage/DEBIAN/"

install -d "$out"
deb=$out/mptcp-relay_${version}_${arch}.deb
rm -f "$out"/mptcp-relay_*.deb
timeout 300 dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
say "built $deb ($(du -h "$deb" | cut -f1))"
echo "$deb"
