#!/usr/bin/env bash
# test.sh runs the whole test suite against real services: it installs what
# is missing (hack/deps.sh), starts dockerd and the loopback registries
# (hack/docker-up.sh) and the Kubernetes test control plane (hack/testenv),
# runs `go test ./...`, and stops what it started.
#
# Under CI=true the integration tests fail (not skip) when a service is
# missing. Extra arguments go to go test (e.g. hack/test.sh -run TestScripts ./cmd/).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/deps.sh
hack/docker-up.sh
started_k8s=0
if [[ -z "${KUBECONFIG:-}" ]]; then
	eval "$(hack/testenv/up.sh)"
	started_k8s=1
fi
cleanup() {
	if ((started_k8s)); then hack/testenv/down.sh || true; fi
	hack/docker-down.sh || true
}
trap cleanup EXIT
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
