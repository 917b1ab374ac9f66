#!/usr/bin/env bash
# docker-down.sh stops what hack/docker-up.sh started (by pidfile); an engine
# or registry that was already running before docker-up.sh is left alone.
#
# With ANSFLOW_STARTED set to the file a docker-up.sh run filled in, only the
# services that run started are stopped: a test run never stops the dockerd or
# registries that `make demo` or another checkout started and still uses.
set -uo pipefail

RUN_DIR=${ANSFLOW_DOCKER_RUN:-/tmp/ansflow-docker}

log() { printf 'docker-down: %s\n' "$*" >&2; }

# mine NAME: true when this caller may stop NAME.
mine() {
	[[ -z "${ANSFLOW_STARTED:-}" ]] && return 0
	[[ -f $ANSFLOW_STARTED ]] && grep -qx "$1" "$ANSFLOW_STARTED"
}

stop_pidfile() { # stop_pidfile FILE NAME
	local file=$1 name=$2 pid
	[[ -f $file ]] || return 0
	pid=$(cat "$file")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		log "stopping $name (pid $pid)"
		kill "$pid"
		for ((i = 0; i < 150; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
	fi
	rm -f "$file"
}

mine registry-auth && stop_pidfile "$RUN_DIR/registry-auth/registry.pid" "auth registry"
mine registry && stop_pidfile "$RUN_DIR/registry/registry.pid" registry
if [[ -f $RUN_DIR/dockerd.started-by-us ]] && mine dockerd; then
	stop_pidfile "$RUN_DIR/dockerd.pid" dockerd
	rm -f "$RUN_DIR/dockerd.started-by-us"
fi
exit 0
