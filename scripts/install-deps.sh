#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian 12, and nothing that is already there.
# Idempotent: a second run installs nothing and does not touch the network.
# Swift itself is not installed here; it must already be on PATH (swift.org toolchain, 6.1 or later).
set -euo pipefail

# Debian package -> why we need it.
packages=(
    liburing-dev   # the io_uring data path (CLiburing links liburing)
    pkg-config     # SwiftPM finds liburing through it
    iproute2       # ip netns / ip mptcp / tc / ss / nstat
    iptables       # failure and TPROXY rules (iptables flavour)
    nftables       # failure and TPROXY rules (nftables flavour)
    iperf3         # demo and benchmark throughput
    python3        # scripts/lib/hashpeer.py
    python3-venv   # packaging/kubernetes/validate.sh: a venv for kubernetes-validate (from PyPI)
    procps         # sysctl, pgrep for diagnostics
    ethtool        # offload settings in benchmarks
    shellcheck     # scripts/validate.sh
    coreutils      # mktemp, timeout
    git            # scripts/validate.sh --fix shows the diff
    prometheus     # promtool check metrics, and the Prometheus server the observability test scrapes with
    curl           # the demo and the tests read the metrics side port
    binutils       # strip, for the .deb's binary (packaging/deb/build.sh)
    systemd        # systemd-analyze verify on the .deb's units (packaging/deb/test.sh); nothing is started
    man-db         # man renders the .deb's man page (packaging/deb/test.sh)
)

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: run as root (apt-get installs packages)" >&2
    exit 1
fi

is_installed() {
    dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=()
for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Update the lists once, only when something is missing (never on a second run).
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "install-deps: all ${#packages[@]} packages present"
fi

if ! command -v swift >/dev/null 2>&1; then
    cat >&2 <<'MSG'
install-deps: Swift is not on PATH.
  mptcp-relay needs a Swift 6.1+ toolchain for Linux (swift.org, "Debian 12").
  Install it, put its usr/bin on PATH, then run this script again.
MSG
    exit 1
fi
echo "install-deps: $(swift --version 2>&1 | head -n 1)"

if [[ $(sysctl -n net.mptcp.enabled 2>/dev/null || echo missing) == missing ]]; then
    echo "install-deps: warning: this kernel has no MPTCP (net.mptcp.enabled missing); the network tests will fail" >&2
fi
