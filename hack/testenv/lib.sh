# shellcheck shell=bash
# lib.sh - settings and helpers shared by build.sh, up.sh and down.sh. Source it; do not run it.

# Version pins. The published k8s.io/* staging modules are v0.<minor>.<patch> of K8S_VERSION.
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

# Binary cache, shared by every checkout on the machine (one folder per version set, so a pin
# change never picks up stale binaries), and the state dir of one running environment.
TESTENV_CACHE="${ANSFLOW_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ansflow-testenv}"
TESTENV_BIN="$TESTENV_CACHE/bin-k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
TESTENV_DIR="${ANSFLOW_TESTENV_DIR:-${TMPDIR:-/tmp}/ansflow-testenv-$(id -u)}"

# What build.sh produces; the cache counts as complete only when every file is there.
TESTENV_ARTIFACTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwok-stages.yaml)

# Started in this order, stopped in the reverse one.
TESTENV_COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

say() { printf 'testenv: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

# cache_complete -> success when every artifact is in $TESTENV_BIN.
cache_complete() {
  local f
  for f in "${TESTENV_ARTIFACTS[@]}"; do [[ -s "$TESTENV_BIN/$f" ]] || return 1; done
}

# running_pid STATE_DIR COMPONENT -> prints the pid recorded for COMPONENT when that process
# still executes the binary recorded with it (stale pid files and reused pids do not count).
running_pid() {
  local pid want got
  pid="$(cat "$1/pids/$2.pid" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  want="$(cat "$1/pids/$2.exe" 2>/dev/null)" || return 1
  got="$(readlink "/proc/$pid/exe" 2>/dev/null)" || return 1
  [[ "$got" == "$want" || "$got" == "$want (deleted)" ]] || return 1
  echo "$pid"
}
