#!/usr/bin/env bash
# Validates the Kubernetes manifests offline (no cluster needed):
#   1. check_manifests.py: the manifests against each other (kustomization, namespaces, selectors, named
#      ports, probes, scrape annotation, volumes, the ServiceMonitor's Service) and the relay
#      configurations in the ConfigMap against them; it lays out the container's /etc/mptcp-relay;
#   2. kubernetes-validate (PyPI, pinned, in a venv under .build-k8s/) --strict against the schemas of
#      the pinned Kubernetes versions: every resource of kustomization.yaml, and the DaemonSet with the
#      optional node-setup-patch.yaml merged in (the ServiceMonitor is a CRD: no schema, step 1 only);
#   3. with a relay binary: `mptcp-relay check-config` on each NODE.toml of the ConfigMap, beside the
#      Secret's keys with the volume's modes, as the pod will read them;
#   4. where kubectl is installed: `kubectl kustomize`, with and without the patch.
#   packaging/kubernetes/validate.sh [--binary PATH] [DIR]
# DIR defaults to this script's folder; --binary defaults to $MPTCP_RELAY_BINARY (step 3 is skipped
# without one). Exits non-zero on any finding. Needs python3 with venv (Debian: python3-venv, from
# scripts/install-deps.sh) and PyPI the first time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
validator_version=1.37.0
# An older Kubernetes that clusters still run, and the newest whose schemas kubernetes-validate
# $validator_version ships.
kubernetes_versions=(1.33 1.37)
venv=$repo/.build-k8s/venv

say() { echo "k8s-validate: $*"; }
fail() {
    echo "k8s-validate: FAIL: $*" >&2
    exit 1
}
# A failed check is recorded and the others still run, so that one run shows every finding.
failures=()
record() {
    echo "k8s-validate: $*" >&2
    failures+=("$*")
}
usage() {
    echo "usage: $0 [--binary PATH] [DIR]"
}

binary=${MPTCP_RELAY_BINARY:-}
dir=$here
while (($# > 0)); do
    case $1 in
    --binary)
        (($# >= 2)) || { usage >&2 && exit 2; }
        binary=$2
        shift 2
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*)
        usage >&2
        exit 2
        ;;
    *)
        dir=$1
        shift
        ;;
    esac
done
[[ -d $dir ]] || fail "no folder $dir"
dir=$(cd "$dir" && pwd)
if [[ -n $binary && ! -x $binary ]]; then
    fail "the relay binary $binary is not executable"
fi
started=$SECONDS

# The validator, once: a venv of its own, pinned; reinstalled only when its version differs.
if [[ $("$venv/bin/kubernetes-validate" --version 2>/dev/null || true) != "$validator_version" ]]; then
    say "installing kubernetes-validate $validator_version into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    timeout 120 python3 -m venv "$venv" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
    timeout 300 "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$validator_version" || fail "pip install kubernetes-validate==$validator_version"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. The manifests against each other, and the configuration folder.
say "cross-checking the manifests of $dir"
timeout 60 "$venv/bin/python" "$here/check_manifests.py" "$dir" "$work" || record "the manifests do not fit together"
[[ -f $work/schema.list && -f $work/config.list ]] || fail "check_manifests.py stopped early"
mapfile -t manifests <"$work/schema.list"
mapfile -t configs <"$work/config.list"
((${#manifests[@]} > 0)) || fail "nothing to validate"

# 2. The schemas, strict (unknown fields are errors). kubernetes-validate only warns about a kind it has
# no schema for and exits 0: a misspelt kind or apiVersion would pass, so any line but INFO fails.
version_flags=()
for version in "${kubernetes_versions[@]}"; do version_flags+=(-k "$version"); done
say "kubernetes-validate $validator_version --strict against Kubernetes ${kubernetes_versions[*]}"
status=0
output=$(timeout 120 "$venv/bin/kubernetes-validate" --strict "${version_flags[@]}" "${manifests[@]}" 2>&1) ||
    status=$?
echo "$output"
if ((status != 0)) || grep -qv '^INFO ' <<<"$output"; then
    record "kubernetes-validate found invalid manifests or kinds it has no schema for (exit $status)"
else
    say "schemas: $(grep -c '^INFO ' <<<"$output") resource checks passed"
fi

# 3. The relay's own check of each configuration, where the pod will find it.
if [[ -n $binary ]]; then
    ((${#configs[@]} > 0)) || record "the ConfigMap holds no configuration"
    for config in "${configs[@]}"; do
        say "configmap.yaml: $(basename "$config"): $binary check-config"
        timeout 30 "$binary" check-config "$config" ||
            record "check-config refused $(basename "$config") of the ConfigMap"
    done
else
    say "no relay binary (--binary or MPTCP_RELAY_BINARY): check-config of the ${#configs[@]} configuration(s) skipped"
fi

# 4. kustomize's own build, plain and with the optional patch.
if command -v kubectl >/dev/null 2>&1; then
    status=0
    timeout 60 kubectl kustomize "$dir" >"$work/built.yaml" || record "kubectl kustomize $dir failed"
    overlay=$work/overlay
    mkdir "$overlay"
    if [[ -f $dir/node-setup-patch.yaml ]]; then
        cp "$dir/node-setup-patch.yaml" "$overlay/"
        cat >"$overlay/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$overlay" "$dir")
patches:
  - path: node-setup-patch.yaml
EOF
        timeout 60 kubectl kustomize "$overlay" >"$work/patched.yaml" ||
            record "kubectl kustomize with node-setup-patch.yaml failed"
        grep -q 'initContainers:' "$work/patched.yaml" || record "node-setup-patch.yaml added no init container"
    else
        record "no node-setup-patch.yaml in $dir"
        : >"$work/patched.yaml"
    fi
    # What kustomize made (namespace and image applied) against the schemas too, unless they failed
    # above already (the same errors again); --quiet prints failures only.
    if ((${#failures[@]} == 0)); then
        output=$(timeout 120 "$venv/bin/kubernetes-validate" --strict --quiet "${version_flags[@]}" \
            "$work/built.yaml" "$work/patched.yaml" 2>&1) || status=$?
        if ((status != 0)) || [[ -n $output ]]; then
            echo "$output"
            record "kubernetes-validate refused what kubectl kustomize built (exit $status)"
        else
            say "kubectl kustomize: builds, also with node-setup-patch.yaml; both builds pass the schemas"
        fi
    else
        say "kubectl kustomize: done; its builds' schemas are not checked again after the failures above"
    fi
else
    say "no kubectl: the kustomize build is not checked (kustomization.yaml's resources were)"
fi

if ((${#failures[@]} > 0)); then
    echo "k8s-validate: FAIL: ${#failures[@]} check(s) failed in $((SECONDS - started))s:" >&2
    printf 'k8s-validate:   %s\n' "${failures[@]}" >&2
    exit 1
fi
say "ok in $((SECONDS - started))s"
