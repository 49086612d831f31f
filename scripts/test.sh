#!/usr/bin/env bash
# The README's second command, and what CI runs: dependencies, a build with warnings as errors,
# then the whole test suite. The network suites run when we are root (CI runs as root, with
# CI=true, so that they fail instead of skipping when root is missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh

# Formatting, shellcheck and script syntax first: cheap, and a finding fails the run.
scripts/validate.sh

# Warnings are errors for our own targets; SwiftPM compiles remote dependencies with warnings
# suppressed, so their warnings cannot break this build. The same flags go to `swift test`, so
# that it reuses this build instead of starting another one.
build_flags=(-Xswiftc -warnings-as-errors)

echo "test: python3 scripts/lib/test_hashpeer.py (the integrity peer's own checks)"
python3 scripts/lib/test_hashpeer.py

echo "test: swift build --build-tests ${build_flags[*]}"
swift build --build-tests "${build_flags[@]}"

# The parsers under libFuzzer + AddressSanitizer, 60 s each in CI, the three at once (their own package
# under Fuzz/; run scripts/fuzz.sh with more seconds or --runs by hand for a longer pass).
echo "test: scripts/fuzz.sh --parallel 60 (libFuzzer + ASan, 60 s per parser, side by side)"
scripts/fuzz.sh --parallel 60

binary="$PWD/.build/debug/mptcp-relay"
if [[ ! -x $binary ]]; then
    echo "test: the build produced no $binary" >&2
    exit 1
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "test: not root: the network suites will skip (set CI=true to make them fail instead)"
fi

# Two phases: the network suites (real namespaces, rate-limited uplinks, throughput checks) run alone,
# one suite at a time, after everything else; on a 2-core machine the loopback suites' 64 MiB
# transfers would otherwise take the CPU the relays need to fill the uplinks.
echo "test: swift test, all but the network suites"
MPTCP_RELAY_BINARY="$binary" swift test "${build_flags[@]}" --skip NetworkTestSuites
# The same suites under AddressSanitizer and LeakSanitizer, in their own build (.build-asan).
echo "test: scripts/asan.sh (unit and loopback suites under ASan + LSan)"
scripts/asan.sh

echo "test: swift test, the network suites (MPTCP_RELAY_BINARY=$binary)"
MPTCP_RELAY_BINARY="$binary" swift test "${build_flags[@]}" --filter NetworkTestSuites

# The same relay on its other event source: the loopback and network suites again with every engine on
# epoll (what `auto` falls back to where io_uring is refused; docs/DATA-PATH.md, "Event sources").
echo "test: swift test on epoll (MPTCP_RELAY_IO_BACKEND=epoll): the loopback suites"
MPTCP_RELAY_IO_BACKEND=epoll MPTCP_RELAY_BINARY="$binary" swift test "${build_flags[@]}" --filter RelayCoreTests
# The suites whose subject is the control plane (path health and probes, quotas, steering, scale-out, reload,
# authentication, announcements, privileges) run once, on io_uring: the event source changes nothing they
# check, and skipping them keeps CI well inside its budget (about 140 s).
control_plane='HealthNetworkTests|ProbeNetworkTests|QuotaNetworkTests|SteeringNetworkTests|ScaleOutNetworkTests|ReloadNetworkTests|PolicyReloadNetworkTests|LeastPrivilegeNetworkTests|AuthenticationNetworkTests|AnnounceNetworkTests'
echo "test: swift test on epoll (MPTCP_RELAY_IO_BACKEND=epoll): the network suites but the control plane's"
MPTCP_RELAY_IO_BACKEND=epoll MPTCP_RELAY_BINARY="$binary" swift test "${build_flags[@]}" --filter NetworkTestSuites \
    --skip "$control_plane"

# The benchmark harness, quick mode, proves that it still runs end to end (every contender passes
# data, every proxy's uplink hop is MPTCP). It asserts nothing about timings; its results go to the
# git-ignored Benchmarks/results/tmp/quick/.
if [[ $(id -u) -eq 0 ]]; then
    echo "test: packaging/deb/test.sh (.deb build, contents, install, purge)"
    packaging/deb/test.sh
    # The Kubernetes manifests against the Kubernetes schemas, and their relay configurations through
    # this build's check-config (a few seconds; the first run installs kubernetes-validate from PyPI).
    echo "test: packaging/kubernetes/validate.sh --binary $binary"
    packaging/kubernetes/validate.sh --binary "$binary"
    echo "test: Benchmarks/run.sh --quick"
    Benchmarks/run.sh --quick
elif [[ ${CI:-} == true ]]; then
    echo "test: CI=true but not root: the benchmark harness needs root" >&2
    exit 1
else
    echo "test: not root: skipping Benchmarks/run.sh --quick"
fi
