#!/usr/bin/env bash
# Style gate: swift format (config in .swift-format) over the Swift sources (the fuzz package in Fuzz/
# too), shellcheck over every shell script, and a syntax check of the Python helpers. Exits non-zero on any finding.
#   scripts/validate.sh        check only
#   scripts/validate.sh --fix  format the Swift sources in place first, then check (shows the diff)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

fix=0
case ${1:-} in
--fix) fix=1 ;;
"") ;;
*)
    echo "usage: $0 [--fix]" >&2
    exit 2
    ;;
esac

status=0
swift_paths=(Package.swift Sources Tests Fuzz/Package.swift Fuzz/Sources)

if ((fix)); then
    echo "validate: swift format --in-place"
    swift format format --in-place --parallel --recursive "${swift_paths[@]}"
    git --no-pager diff --stat -- "${swift_paths[@]}" || true
fi

echo "validate: swift format lint"
if ! swift format lint --strict --parallel --recursive "${swift_paths[@]}"; then
    echo "validate: swift format found issues; run scripts/validate.sh --fix" >&2
    status=1
fi

echo "validate: shellcheck"
mapfile -t shell_scripts < <(
    {
        find scripts packaging Benchmarks -type f \( -name '*.sh' -o -name '*.bash' \) 2>/dev/null
        echo .ci/run
        # The .deb's maintainer scripts (POSIX sh, no .sh suffix).
        echo packaging/deb/postinst
        echo packaging/deb/postrm
    } | sort -u
)
if ! shellcheck -x "${shell_scripts[@]}"; then
    status=1
fi

echo "validate: python syntax"
mapfile -t python_scripts < <(find scripts Benchmarks packaging -type f -name '*.py' 2>/dev/null | sort)
if ((${#python_scripts[@]} > 0)); then
    for script in "${python_scripts[@]}"; do
        python3 -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$script" || status=1
    done
fi

if ((status == 0)); then
    echo "validate: ok"
fi
exit "$status"
