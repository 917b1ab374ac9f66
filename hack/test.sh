#!/usr/bin/env bash
# test.sh runs the whole test suite against real services: it installs what
# is missing (hack/deps.sh), starts dockerd and the loopback registries
# (hack/docker-up.sh) and the Kubernetes test control plane (hack/testenv),
# runs `go test ./...`, and stops what it started. Services that were already
# running (`make demo` leaves them running, another checkout may use them) are
# used as they are and left running.
#
# Under CI=true the integration tests fail (not skip) when a service is
# missing. Extra arguments go to go test (e.g. hack/test.sh -run TestScripts ./cmd/).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh
# The start scripts list in this file what they started for this run, and
# only that is stopped at the end.
ANSFLOW_STARTED="$(mktemp "${TMPDIR:-/tmp}/ansflow-test-started.XXXXXX")"
export ANSFLOW_STARTED
cleanup() {
	if grep -qx testenv "$ANSFLOW_STARTED"; then hack/testenv/down.sh || true; fi
	hack/docker-down.sh || true
	rm -f "$ANSFLOW_STARTED"
}
trap cleanup EXIT
hack/docker-up.sh
if [[ -z "${KUBECONFIG:-}" ]]; then
	if ! kube_env="$(hack/testenv/up.sh)"; then
		echo "test: the Kubernetes test control plane did not start (see the message above); nothing was tested" >&2
		exit 1
	fi
	eval "$kube_env"
fi
export KUBECONFIG
args=("$@")
if ((${#args[@]} == 0)); then
	args=(./...)
fi
go test -count=1 -timeout=25m "${args[@]}"
# Fault injection stops dockerd and a kube-apiserver, so it runs alone, after
# the suite: always in CI, elsewhere with ANSFLOW_FAULTS=1 (it only stops a
# dockerd that hack/docker-up.sh started).
if (($# == 0)) && [[ "${CI:-}" == true || "${ANSFLOW_FAULTS:-}" == 1 ]]; then
	ANSFLOW_FAULTS=1 go test -count=1 -timeout=10m ./internal/faulttest
fi
