#!/usr/bin/env bash
# up.sh - start a Kubernetes control plane for ansflow's tests on 127.0.0.1, without containers:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and kwok simulating one node
# (kwok-node-0) and the status of the pods bound to it.
#
#   eval "$(hack/testenv/up.sh)"     # stdout is only `export KUBECONFIG=...`; progress on stderr
#   hack/testenv/down.sh             # stops what up.sh started
#
# A healthy control plane already running from the state dir is reused (up.sh prints its export
# line and starts nothing); one that is only partly running or does not answer is stopped and
# started again. A failure exits non-zero with the reason on stderr and prints nothing on
# stdout, so callers should check the status rather than eval the output blindly:
#   out="$(hack/testenv/up.sh)" || exit 1; eval "$out"
#
# Environment (all optional):
#   ANSFLOW_TESTENV_DIR           state dir (default ${TMPDIR:-/tmp}/ansflow-testenv-$UID)
#   ANSFLOW_TESTENV_CACHE         binary cache (default ${XDG_CACHE_HOME:-~/.cache}/ansflow-testenv)
#   ANSFLOW_TESTENV_POD_LOG       file served as every container's log, CRI format
#                                 (default: $ANSFLOW_TESTENV_DIR/pod.log with two sample lines)
#   ANSFLOW_TESTENV_EXTRA_STAGES  colon-separated kwok Stage YAML files added to the built-in ones
#                                 (hack/testenv/stages/*.yaml are always loaded)
#   KCM_USE_SA_CREDENTIALS=true   controllers use per-controller service accounts (slower start)
#   ANSFLOW_STARTED               a file: when up.sh starts the control plane (rather than reusing
#                                 one), it appends the line "testenv", so the caller knows it is
#                                 its own to stop (hack/test.sh stops only what it started)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
t0=$(date +%s%N)
since_start() { echo "$(( ($(date +%s%N) - t0) / 1000000 ))ms"; }

"$here/build.sh"
BIN="$TESTENV_BIN"
D="$TESTENV_DIR"
PKI="$D/pki"
KCFG="$D/kubeconfig"

# reuse_or_clear -> when every component recorded in $D runs and the API server answers,
# print the export line and exit: the control plane is reused. When only some run, or the API
# server does not answer, stop them (by their recorded pids) so a fresh start can follow.
reuse_or_clear() {
  local c running=() missing=()
  [[ -d "$D/pids" ]] || return 0
  for c in "${TESTENV_COMPONENTS[@]}"; do
    if running_pid "$D" "$c" >/dev/null; then running+=("$c"); else missing+=("$c"); fi
  done
  (( ${#running[@]} > 0 )) || return 0
  if (( ${#missing[@]} == 0 )) && [[ -s "$KCFG" ]] &&
    kubectl_admin get --raw=/readyz --request-timeout=5s >/dev/null 2>&1; then
    say "reusing the control plane already running from $D (stop it with $here/down.sh)"
    echo "export KUBECONFIG=$KCFG"
    exit 0
  fi
  if (( ${#missing[@]} > 0 )); then
    say "the control plane in $D is only partly running (${missing[*]} not); restarting it"
  else
    say "the control plane in $D runs but its API server does not answer; restarting it"
  fi
  "$here/down.sh" || fail "could not stop the components running from $D; stop them with $here/down.sh"
}

# free_ports N -> N distinct TCP ports in 20000-31999 that nothing listens on.
free_ports() {
  local -A taken=()
  local port _ local_addr state
  while read -r _ local_addr _ state _; do
    [[ "$state" == 0A ]] && taken[$((16#${local_addr##*:}))]=1
  done < <(tail -q -n +2 /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  local n=0 tries=0
  while (( n < $1 )); do
    (( tries++ < 1000 )) || fail "found no free TCP ports"
    port=$(( (RANDOM * 32768 + RANDOM) % 12000 + 20000 ))
    [[ -n "${taken[$port]:-}" ]] && continue
    taken[$port]=1; echo "$port"; n=$((n + 1))
  done
}

openssl_quiet() { openssl "$@" 2>>"$D/logs/openssl.log"; }

# issue NAME SUBJECT EXTENSIONS -> key and certificate NAME signed by the run's CA.
issue() {
  openssl_quiet ecparam -name prime256v1 -genkey -noout -out "$PKI/$1.key"
  openssl_quiet req -new -key "$PKI/$1.key" -subj "$2" -out "$PKI/$1.csr"
  printf '%b\n' "$3" >"$PKI/$1.ext"
  openssl_quiet x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -days 30 \
    -set_serial "0x$(openssl rand -hex 12)" -extfile "$PKI/$1.ext" -out "$PKI/$1.crt"
}

make_pki() {
  local usage='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment'
  openssl_quiet ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key"
  openssl_quiet req -x509 -new -key "$PKI/ca.key" -subj "/CN=ansflow-testenv-ca" -days 30 -out "$PKI/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
  issue apiserver "/CN=kube-apiserver" "$usage\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  issue admin "/O=system:masters/CN=ansflow-testenv-admin" "$usage\nextendedKeyUsage=clientAuth"
  issue kwok "/CN=kwok-node-0" "$usage\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost"
  openssl_quiet ecparam -name prime256v1 -genkey -noout -out "$PKI/sa.key"
  openssl_quiet ec -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
}

write_kubeconfig() {
  cat >"$KCFG" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: ansflow-testenv
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: ansflow-testenv-admin
  user:
    client-certificate-data: $(base64 -w0 <"$PKI/admin.crt")
    client-key-data: $(base64 -w0 <"$PKI/admin.key")
contexts:
- name: ansflow-testenv
  context: {cluster: ansflow-testenv, user: ansflow-testenv-admin, namespace: default}
current-context: ansflow-testenv
YAML
  chmod 600 "$KCFG"
}

# launch NAME BINARY ARGS... -> start a component in its own session, record pid and binary.
launch() {
  local name=$1 bin=$2
  shift 2
  setsid "$bin" "$@" >"$D/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$D/pids/$name.pid"
  readlink -f "$bin" >"$D/pids/$name.exe"
}

# await COMPONENT SECONDS CHECK... -> retry CHECK until it passes; give up early if the
# component died, showing the end of its log.
await() {
  local name=$1 limit=$(( $(date +%s) + $2 ))
  shift 2
  until "$@" >/dev/null 2>&1; do
    # Just launched: alive is enough (for a moment after the fork the process is still bash or
    # setsid, not the binary running_pid compares with).
    if [[ -f "$D/pids/$name.pid" ]] && ! kill -0 "$(cat "$D/pids/$name.pid")" 2>/dev/null; then
      tail -n 30 "$D/logs/$name.log" >&2 || true
      fail "$name stopped while starting (log: $D/logs/$name.log)"
    fi
    if (( $(date +%s) >= limit )); then
      tail -n 30 "$D/logs/$name.log" >&2 || true
      fail "$name was not ready after $2s (log: $D/logs/$name.log)"
    fi
    sleep 0.2
  done
  say "$name ready (+$(since_start))"
}

admin_get() { curl -sf --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$1"; }
kubectl_admin() { "$BIN/kubectl" --kubeconfig "$KCFG" "$@"; }

# kwok_config -> kwok's configuration: the lifecycle Stages (built-in "fast" set, ours from
# stages/, and ANSFLOW_TESTENV_EXTRA_STAGES), where container logs come from, and local exec.
kwok_config() {
  local f extra
  cat "$BIN/kwok-stages.yaml"
  for f in "$here"/stages/*.yaml; do printf -- '---\n'; cat "$f"; done
  IFS=: read -r -a extra <<<"${ANSFLOW_TESTENV_EXTRA_STAGES:-}"
  for f in "${extra[@]}"; do
    [[ -n "$f" ]] || continue
    [[ -r "$f" ]] || fail "ANSFLOW_TESTENV_EXTRA_STAGES names $f, which cannot be read"
    printf -- '---\n'; cat "$f"
  done
  cat <<YAML
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: all-pods}
spec:
  logs:
  - logsFile: $POD_LOG
    follow: false
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata: {name: all-pods}
spec:
  execs:
  - local:
      workDir: $D
      envs:
      - {name: KWOK_FAKE_EXEC, value: "1"}
YAML
}

on_exit() {
  local rc=$?
  (( rc == 0 )) && return
  say "start-up failed (exit $rc); logs stay in $D/logs; stopping the components started so far"
  KEEP_STATE=1 "$here/down.sh" >/dev/null 2>&1 || true
}

reuse_or_clear
rm -rf "$D"
mkdir -p "$D/pids" "$D/logs" "$PKI"
chmod 700 "$D"
trap on_exit EXIT
trap 'exit 130' INT TERM

read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT KWOK_PORT < <(free_ports 6 | xargs)
make_pki
write_kubeconfig

launch etcd "$BIN/etcd" --name=testenv --data-dir="$D/etcd" --log-level=warn \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="testenv=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state=new \
  --unsafe-no-fsync=true
await etcd 30 curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"

launch kube-apiserver "$BIN/kube-apiserver" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.0.0.0/24 --authorization-mode=RBAC --allow-privileged=true \
  --endpoint-reconciler-type=none --kubelet-preferred-address-types=InternalIP --profiling=false
await kube-apiserver 90 admin_get "https://127.0.0.1:$API_PORT/readyz"

launch kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$KCFG" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$D/kcm-certs" --leader-elect=false \
  --controllers='*' --use-service-account-credentials="${KCM_USE_SA_CREDENTIALS:-false}" \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --cluster-name=ansflow-testenv --profiling=false

cat >"$D/scheduler.yaml" <<YAML
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: $KCFG}
leaderElection: {leaderElect: false}
enableProfiling: false
YAML
launch kube-scheduler "$BIN/kube-scheduler" --config="$D/scheduler.yaml" \
  --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --cert-dir="$D/scheduler-certs"

POD_LOG="${ANSFLOW_TESTENV_POD_LOG:-$D/pod.log}"
if [[ ! -e "$POD_LOG" ]]; then
  # kwok reads it like a kubelet would: CRI lines "<RFC3339Nano> stdout|stderr F|P <text>".
  ts="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)"
  printf '%s stdout F kwok fake container log line 1\n%s stdout F kwok fake container log line 2\n' "$ts" "$ts" >"$POD_LOG"
fi
kwok_config >"$D/kwok.yaml"
launch kwok "$BIN/kwok" --config="$D/kwok.yaml" --kubeconfig="$KCFG" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-ip=127.0.0.1 --node-port="$KWOK_PORT" --server-address="127.0.0.1:$KWOK_PORT" \
  --tls-cert-file="$PKI/kwok.crt" --tls-private-key-file="$PKI/kwok.key" \
  --node-lease-duration-seconds=40 --cidr=10.244.0.0/16

kubectl_admin apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {kubernetes.io/arch: amd64, kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux, type: kwok}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "250"}
  capacity: {cpu: "32", memory: 256Gi, pods: "250"}
YAML

await kube-controller-manager 60 curl -skf --max-time 2 "https://127.0.0.1:$KCM_PORT/healthz"
await kube-scheduler 60 curl -skf --max-time 2 "https://127.0.0.1:$SCHED_PORT/healthz"
await kwok 60 kubectl_admin wait --for=condition=Ready node/kwok-node-0 --timeout=2s
# Pods are only admitted once the service-account controller has made "default".
await kube-controller-manager 60 kubectl_admin -n default get serviceaccount default

cat >"$D/env" <<ENV
export KUBECONFIG=$KCFG
export ANSFLOW_TESTENV_DIR=$D
export ANSFLOW_TESTENV_BIN=$BIN
export ANSFLOW_TESTENV_POD_LOG=$POD_LOG
ENV
printf '%s=%s\n' etcd "$ETCD_PORT" etcd-peer "$ETCD_PEER_PORT" kube-apiserver "$API_PORT" \
  kube-controller-manager "$KCM_PORT" kube-scheduler "$SCHED_PORT" kwok "$KWOK_PORT" >"$D/ports"
trap - EXIT
[[ -z "${ANSFLOW_STARTED:-}" ]] || echo testenv >>"$ANSFLOW_STARTED"
say "up in $(since_start): https://127.0.0.1:$API_PORT; state $D; kubectl is $BIN/kubectl"
echo "export KUBECONFIG=$KCFG"
