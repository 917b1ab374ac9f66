#!/usr/bin/env bash
# build.sh - compile the test control plane once into the binary cache (see lib.sh):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from the
# k8s.io/kubernetes module, and kwok. Only the Go module proxy is used. A complete cache
# makes this a no-op; FORCE_BUILD=1 rebuilds. Concurrent callers wait on one lock.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"

[[ "${FORCE_BUILD:-0}" != 1 ]] && cache_complete && exit 0
command -v go >/dev/null || fail "go is not on PATH; it is needed once to build the control plane"
mkdir -p "$TESTENV_CACHE"
exec 9>"$TESTENV_CACHE/.build.lock"
flock 9
[[ "${FORCE_BUILD:-0}" != 1 ]] && cache_complete && exit 0   # someone else built it meanwhile

began=$(date +%s)
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
minor="$(cut -d. -f2 <<<"${K8S_VERSION#v}")"
staging="v0.${K8S_VERSION#v1.}"
work="$TESTENV_CACHE/src-k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}"
out="$TESTENV_BIN.tmp.$$"
rm -rf "$out"
mkdir -p "$work" "$out"
trap 'rm -rf "$out"' EXIT

# module_field MODULE@VERSION FIELD -> a field (GoMod, Dir) of `go mod download -json`.
module_field() {
  (cd "$out" && GOFLAGS= go mod download -json "$1") |
    sed -n "s/^[[:space:]]*\"$2\": \"\\(.*\\)\",\$/\\1/p"
}

say "building Kubernetes $K8S_VERSION and etcd $ETCD_VERSION (cold: ~12 min on 2 cores, ~4.5 GB of Go build cache)"
kube_mod="$(module_field "k8s.io/kubernetes@$K8S_VERSION" GoMod)"
[[ -f "$kube_mod" ]] || fail "cannot download k8s.io/kubernetes@$K8S_VERSION"

# k8s.io/kubernetes points its staging modules at ./staging/...; a consumer module has to
# replace each of them with the published v0.x.y release of the same code.
{
  printf 'module ansflow-testenv/k8sbuild\n\ngo %s\n\n' "$(awk '$1=="go"{print $2; exit}' "$kube_mod")"
  printf 'require (\n\tk8s.io/kubernetes %s\n\tgo.etcd.io/etcd/server/v3 %s\n)\n\nreplace (\n' "$K8S_VERSION" "$ETCD_VERSION"
  awk -v v="$staging" '$2=="=>" && $3 ~ /^\.\/staging\// {printf "\t%s => %s %s\n", $1, $1, v}' "$kube_mod"
  printf ')\n'
} >"$work/go.mod.want"
if ! cmp -s "$work/go.mod.want" "$work/go.mod.seed" 2>/dev/null; then
  cp "$work/go.mod.want" "$work/go.mod"
  cp "$work/go.mod.want" "$work/go.mod.seed"
  rm -f "$work/go.sum"
fi
cat >"$work/tools.go" <<'GO'
//go:build tools

package k8sbuild

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
(cd "$work" && go mod tidy)

# Stamp the version the binaries report (kubectl version, /version) the way a release build does.
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  stamp+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit=module-$K8S_VERSION -X $pkg.buildDate=$(date -u +%FT%TZ)"
done
(cd "$work" && go build -ldflags "-s -w$stamp" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
(cd "$work" && go build -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=module-$ETCD_VERSION" \
  -o "$out/etcd" go.etcd.io/etcd/server/v3)

say "building kwok $KWOK_VERSION"
(cd "$out" && GOBIN="$out" GOFLAGS="${GOFLAGS/-mod=mod/}" go install \
  -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION")

# kwok simulates nothing without Stages: take the "fast" node and pod lifecycles it ships.
kwok_src="$(module_field "sigs.k8s.io/kwok@$KWOK_VERSION" Dir)"
sep=""
for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
             pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
  printf '%s' "$sep"; sep=$'---\n'
  cat "$kwok_src/kustomize/stage/$stage.yaml"
done >"$out/kwok-stages.yaml"

rm -rf "$TESTENV_BIN"
mv "$out" "$TESTENV_BIN"
trap - EXIT
say "built $TESTENV_BIN in $(($(date +%s) - began))s"
