#!/usr/bin/env bash
# The unit and loopback suites under AddressSanitizer and LeakSanitizer (issue 11, "memory safety"):
# a separate debug build in .build-asan, then `swift test` without the network suites. Any ASan report,
# and any leak whose stack is not in scripts/asan/lsan.supp (XCTest's own, TOMLKit's), fails the run.
# Usage: scripts/asan.sh [extra swift test arguments, e.g. --filter RelayCoreTests]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scratch=.build-asan
log=$(mktemp)
trap 'rm -f "$log"' EXIT

swift build --build-tests --sanitize=address --scratch-path "$scratch"
# Full stacks on every allocation, so that a suppression matches the code that allocated, never a
# truncated stack; LeakSanitizer runs at the exit of each test process.
export ASAN_OPTIONS="detect_leaks=1:fast_unwind_on_malloc=0:halt_on_error=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$PWD/scripts/asan/lsan.supp:print_suppressions=0"
status=0
swift test --sanitize=address --scratch-path "$scratch" --skip NetworkTestSuites "$@" 2>&1 | tee "$log" || status=$?
if grep -Eq "ERROR: (AddressSanitizer|LeakSanitizer)" "$log"; then
    echo "asan: a sanitizer report (above); with a leak, check whose stack it is before suppressing it" >&2
    exit 1
fi
if [[ $status -ne 0 ]]; then
    echo "asan: swift test failed under AddressSanitizer (exit $status)" >&2
    exit "$status"
fi
echo "asan: no report"
