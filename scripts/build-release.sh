#!/usr/bin/env bash
# The one release build: what the .deb ships (packaging/deb/build.sh) and what the benchmarks measure
# (Benchmarks/run.sh), so that a CI run compiles it once.
#   swift build -c release --static-swift-stdlib --scratch-path .build-release
# The Swift runtime is linked statically (the target needs no Swift); the binary still links libc,
# libm, libstdc++, libgcc_s and liburing dynamically. MPTCP_RELAY_COMMIT (the commit
# `mptcp-relay --version` prints) is `git rev-parse --short=12 HEAD`, with "-dirty" for uncommitted
# changes; without git it stays unset and the binary says "commit unknown".
# Prints the binary's path as its last line of standard output; build output goes to standard error.
#   MPTCP_RELAY_RELEASE_SCRATCH  scratch path (default: .build-release in the repository)
#   MPTCP_RELAY_BUILD_TIMEOUT    seconds for one build (default: 1800)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scratch=${MPTCP_RELAY_RELEASE_SCRATCH:-$repo/.build-release}
build_timeout=${MPTCP_RELAY_BUILD_TIMEOUT:-1800}

if commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null); then
    if [[ -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
        commit+=-dirty
    fi
    export MPTCP_RELAY_COMMIT=$commit
else
    unset MPTCP_RELAY_COMMIT
fi

binary=$scratch/release/mptcp-relay

build() {
    timeout "$build_timeout" swift build -c release --static-swift-stdlib \
        --scratch-path "$scratch" --package-path "$repo" >&2
}

# Links the Swift runtime dynamically: a build with other flags in the same scratch path (the
# generate-manual plugin, a plain `swift build -c release`) leaves a build plan that SwiftPM reuses.
links_swift_runtime() {
    ldd "$binary" | grep -q 'libswiftCore'
}

echo "build-release: swift build -c release --static-swift-stdlib --scratch-path $scratch (commit ${MPTCP_RELAY_COMMIT:-unknown})" >&2
started=$SECONDS
if ! build; then
    # Once more: a developer may have saved a source file during the build.
    echo "build-release: the build failed; trying once more" >&2
    build
fi
if links_swift_runtime; then
    echo "build-release: $binary links the Swift runtime dynamically; rebuilding with a fresh build plan" >&2
    rm -f "$scratch/release.yaml" "$binary"
    build
    if links_swift_runtime; then
        echo "build-release: $binary still links the Swift runtime dynamically" >&2
        exit 1
    fi
fi
echo "build-release: built in $((SECONDS - started))s: $binary" >&2
echo "$binary"
