#!/usr/bin/env bash
# docker-up.sh starts what the Docker integration tests need, when it is not
# already there:
#   - a Docker Engine on /var/run/docker.sock (dockerd without bridge/iptables:
#     containers get no network except with network = "host");
#   - a registry on 127.0.0.1:5000 (no auth);
#   - a registry on 127.0.0.1:5001 with htpasswd auth (user "ci", password
#     "ci-secret"), when an htpasswd tool is available.
# It is idempotent: running it twice starts nothing twice. hack/docker-down.sh
# stops what this script started (it records pidfiles under $ANSFLOW_DOCKER_RUN).
#
# The pidfiles are shared by every checkout on the machine, so they do not say
# whose a service is. A caller that means to stop what it started afterwards
# sets ANSFLOW_STARTED to a file of its own: each service this run starts
# (dockerd, registry, registry-auth) is appended to it as one line, and
# hack/docker-down.sh given the same ANSFLOW_STARTED stops only those, never a
# service another run (make demo, another checkout) started.
set -euo pipefail

RUN_DIR=${ANSFLOW_DOCKER_RUN:-/tmp/ansflow-docker}
SOCK=/var/run/docker.sock
mkdir -p "$RUN_DIR"

log() { printf 'docker-up: %s\n' "$*" >&2; }

# owned NAME: record that this run started NAME (see ANSFLOW_STARTED above).
owned() { [[ -z "${ANSFLOW_STARTED:-}" ]] || echo "$1" >>"$ANSFLOW_STARTED"; }

engine_answers() { docker -H "unix://$SOCK" version >/dev/null 2>&1; }

# registry_answers ADDR: true when something speaks the registry API there
# (200 or 401 on /v2/).
registry_answers() {
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "http://$1/v2/" 2>/dev/null || true)
	[[ $code == 200 || $code == 401 ]]
}

wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
	local secs=$1 what=$2
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	log "$what did not answer within ${secs}s"
	return 1
}

start_engine() {
	if engine_answers; then
		log "engine already answers on $SOCK"
		return
	fi
	if [[ $(id -u) != 0 ]]; then
		log "no engine on $SOCK and not root: cannot start dockerd"
		exit 1
	fi
	log "starting dockerd (logs: $RUN_DIR/dockerd.log)"
	setsid dockerd --bridge=none --iptables=false --host="unix://$SOCK" \
		--pidfile="$RUN_DIR/dockerd.pid" >"$RUN_DIR/dockerd.log" 2>&1 </dev/null &
	if ! wait_for 30 dockerd engine_answers; then
		tail -20 "$RUN_DIR/dockerd.log" >&2
		exit 1
	fi
	touch "$RUN_DIR/dockerd.started-by-us"
	owned dockerd
}

# start_registry NAME PORT [HTPASSWD_FILE]
start_registry() {
	local name=$1 port=$2 htpasswd=${3:-}
	local addr=127.0.0.1:$port dir=$RUN_DIR/$name
	if registry_answers "$addr"; then
		log "registry already answers on $addr"
		return
	fi
	mkdir -p "$dir/storage"
	{
		echo "version: 0.1"
		echo "log: {level: warn}"
		echo "storage:"
		echo "  filesystem: {rootdirectory: $dir/storage}"
		echo "  delete: {enabled: true}"
		echo "http: {addr: $addr}"
		if [[ -n $htpasswd ]]; then
			echo "auth:"
			echo "  htpasswd: {realm: ansflow-test, path: $htpasswd}"
		fi
	} >"$dir/config.yml"
	log "starting registry $name on $addr (logs: $dir/registry.log)"
	setsid docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 </dev/null &
	echo $! >"$dir/registry.pid"
	if ! wait_for 15 "registry $name" registry_answers "$addr"; then
		tail -20 "$dir/registry.log" >&2
		exit 1
	fi
	owned "$name"
}

ensure_htpasswd_tool() {
	command -v htpasswd >/dev/null 2>&1 && return 0
	[[ $(id -u) == 0 ]] || return 1
	log "installing apache2-utils for htpasswd"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils >/dev/null 2>&1; }
}

command -v docker >/dev/null || { log "docker CLI not found (apt-get install docker.io)"; exit 1; }
command -v docker-registry >/dev/null || { log "docker-registry not found (apt-get install docker-registry)"; exit 1; }

start_engine
start_registry registry 5000
if ensure_htpasswd_tool; then
	mkdir -p "$RUN_DIR/registry-auth"
	htpasswd -Bbn ci ci-secret >"$RUN_DIR/registry-auth/htpasswd"
	start_registry registry-auth 5001 "$RUN_DIR/registry-auth/htpasswd"
else
	log "no htpasswd tool: skipping the auth registry on 127.0.0.1:5001"
fi
log "ready"
