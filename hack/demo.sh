#!/usr/bin/env bash
# demo.sh is the main job on an example: it starts the services (as
# hack/test.sh does) and applies examples/seed, the seed's 7-step Docker +
# Kubernetes pipeline, then applies it again to show that nothing reruns.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build
hack/deps.sh
hack/docker-up.sh
if [[ -z "${KUBECONFIG:-}" ]]; then
	kube_env="$(hack/testenv/up.sh)" || { echo "demo: the Kubernetes test control plane did not start (see above)" >&2; exit 1; }
	eval "$kube_env"
	echo "demo: the test control plane keeps running; stop it with hack/testenv/down.sh" >&2
fi
export KUBECONFIG
bin/ansflow -chdir=examples/seed apply -auto-approve -var-file=testenv.vars.hcl
echo
echo "== second apply: nothing changed, so nothing runs =="
bin/ansflow -chdir=examples/seed apply -auto-approve -var-file=testenv.vars.hcl
