#!/usr/bin/env bash
# libFuzzer over the parsers that read outside bytes: the Convert codec (ConvertProtocolFuzzer), the
# config loader (RelayConfigFuzzer) and the netlink decoder (NetlinkFuzzer). The targets live in their own
# package, Fuzz/, so the main build never compiles them; their seeds are Fuzz/Corpus/<target>/.
#
#   scripts/fuzz.sh [--runs N] [--parallel] [SECONDS] [TARGET...]
#
# SECONDS (default 60) bounds each target's run; --runs N also stops it after N inputs (whichever comes
# first). Without TARGET all three run, one after the other; with --parallel all are built first and then
# run at the same time (what CI does: 60 s of each in 60 s, each on a share of the cores). Each run starts from a temporary copy of the
# seeds and writes reproducers to a temporary directory, never into the repository. A crash, a hang (an
# input slower than FUZZ_INPUT_TIMEOUT seconds, default 10), an AddressSanitizer report or a failed build
# makes the script exit non-zero; it prints the reproducer's path and a hex dump and keeps that directory.
# Replay one: .build-fuzz/debug/<target> <reproducer>. Build products go to .build-fuzz/ (git-ignored).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
all_targets=(ConvertProtocolFuzzer RelayConfigFuzzer NetlinkFuzzer)
scratch="$repo/.build-fuzz"
input_timeout=${FUZZ_INPUT_TIMEOUT:-10}

usage() {
    echo "usage: $0 [--runs N] [--parallel] [SECONDS] [TARGET...]   targets: ${all_targets[*]}" >&2
    exit 2
}

runs=""
parallel=0
seconds=60
targets=()
while (($# > 0)); do
    case $1 in
    --runs)
        [[ ${2:-} =~ ^[0-9]+$ ]] || usage
        runs=$2
        shift 2
        ;;
    --parallel)
        parallel=1
        shift
        ;;
    -h | --help) usage ;;
    *)
        if [[ $1 =~ ^[0-9]+$ ]] && ((${#targets[@]} == 0)); then
            seconds=$1
        elif [[ " ${all_targets[*]} " == *" $1 "* ]]; then
            targets+=("$1")
        else
            usage
        fi
        shift
        ;;
    esac
done
((seconds > 0)) || usage
((${#targets[@]} > 0)) || targets=("${all_targets[@]}")

work=$(mktemp -d "${TMPDIR:-/tmp}/mptcp-relay-fuzz.XXXXXX")
keep_work=0
cleanup() {
    if ((keep_work)); then
        echo "fuzz: kept $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Builds run one after the other (without --parallel, each run too): a build takes both cores.
build() {
    local target=$1 log="$work/build-$1.log" start=$SECONDS
    echo "fuzz: building $target (--sanitize=fuzzer, -sanitize=fuzzer,address)"
    # -sanitize= is last-wins for swiftc: one comma list. The linker's "Cannot export local symbol
    # '__asan_…'" warnings are harmless; they stay in the log. toml++ (TOMLKit's C++) asserts its parser's
    # preconditions, and some fail on malformed TOML and abort (docs/RELIABILITY.md, finding 6: known,
    # upstream's to fix); they are compiled out here so that the fuzzer can look past them.
    if ! swift build --package-path "$repo/Fuzz" --scratch-path "$scratch" \
        --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xcxx '-DTOML_ASSERT(expr)=((void)0)' \
        --product "$target" >"$log" 2>&1; then
        grep -v 'Cannot export local symbol' "$log" | tail -40 >&2
        echo "fuzz: build of $target failed (log: $log)" >&2
        keep_work=1
        return 1
    fi
    echo "fuzz: built $target in $((SECONDS - start)) s"
}

# Prints what libFuzzer left in the artifact directory: path and hex dump of each reproducer.
report_artifacts() {
    local artifacts=$1 file
    for file in "$artifacts"/*; do
        [[ -f $file ]] || continue
        echo "fuzz: reproducer $file ($(stat -c %s "$file") bytes):" >&2
        xxd "$file" | head -64 >&2
    done
}

fuzz() {
    local target=$1 binary corpus artifacts log status start=$SECONDS
    binary="$scratch/debug/$target"
    corpus="$work/corpus-$target"
    artifacts="$work/artifacts-$target"
    log="$work/fuzz-$target.log"
    mkdir -p "$corpus" "$artifacts"
    cp "$repo/Fuzz/Corpus/$target/"* "$corpus/"

    local options=(
        "-max_total_time=$seconds"
        "-timeout=$input_timeout"
        # TOMLKit's suppressed leaks grow RelayConfigFuzzer by about 1.5 MB per 1000 inputs (2 GB, libFuzzer's
        # default limit, at about a million).
        "-rss_limit_mb=4096"
        "-artifact_prefix=$artifacts/"
        "-print_final_stats=1"
    )
    [[ -z $runs ]] || options+=("-runs=$runs")

    # Leaks count as findings, except the known ones in third-party code listed in the suppressions file.
    # The Swift runtime's crash backtracer reads memory ASan considers poisoned and buries the real report.
    export SWIFT_BACKTRACE=enable=no
    export LSAN_OPTIONS="suppressions=$repo/Fuzz/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

    echo "fuzz: $target for ${seconds} s${runs:+ or $runs runs}, $(find "$corpus" -type f | wc -l) seeds"
    status=0
    # libFuzzer stops itself at max_total_time; the outer timeout is the backstop for a wedged process.
    timeout --kill-after=10 $((seconds + input_timeout + 60)) "$binary" "${options[@]}" "$corpus" >"$log" 2>&1 ||
        status=$?
    local executed
    executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if ((status != 0)) || compgen -G "$artifacts/*" >/dev/null; then
        grep -v '^#[0-9]' "$log" | tail -60 >&2
        if ((status == 124 || status == 137)); then
            echo "fuzz: $target did not stop in time (exit $status)" >&2
        fi
        report_artifacts "$artifacts"
        echo "fuzz: $target FAILED after ${executed:-?} runs (exit $status; log $log)" >&2
        keep_work=1
        return 1
    fi
    echo "fuzz: $target ok: ${executed:-?} runs in $((SECONDS - start)) s, $(find "$corpus" -type f | wc -l)" \
        "corpus inputs ($(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1) MB peak RSS)"
}

failed=()
if ((parallel)); then
    built=()
    for target in "${targets[@]}"; do
        if build "$target"; then built+=("$target"); else failed+=("$target"); fi
    done
    # Each run in the background writes its own log; its verdict comes back through its exit status.
    declare -A running=()
    for target in "${built[@]}"; do
        fuzz "$target" >"$work/verdict-$target" 2>&1 &
        running[$target]=$!
    done
    for target in "${built[@]}"; do
        wait "${running[$target]}" || failed+=("$target")
        cat "$work/verdict-$target"
    done
    # A failed run set keep_work in its subshell only.
    ((${#failed[@]} == 0)) || keep_work=1
else
    for target in "${targets[@]}"; do
        build "$target" || {
            failed+=("$target")
            continue
        }
        fuzz "$target" || failed+=("$target")
    done
fi

if ((${#failed[@]} > 0)); then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ok: ${targets[*]}"
