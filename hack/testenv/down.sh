#!/usr/bin/env bash
# down.sh - stop the components hack/testenv/up.sh started, newest first, by the pids it
# recorded (never by process name), then remove the state dir (KEEP_STATE=1 keeps it).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$here/lib.sh"
D="$TESTENV_DIR"
[[ -d "$D/pids" ]] || { say "nothing to stop: $D/pids does not exist"; exit 0; }

# stop COMPONENT -> SIGTERM, wait up to 10 s, then SIGKILL. Each component is gone before the
# next one is stopped, so etcd (stopped last) shuts down cleanly.
stop() {
  local pid i
  pid="$(running_pid "$D" "$1")" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 100; i++)); do
    running_pid "$D" "$1" >/dev/null || { say "stopped $1"; return 0; }
    sleep 0.1
  done
  say "$1 (pid $pid) still runs 10s after SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

for ((i = ${#TESTENV_COMPONENTS[@]} - 1; i >= 0; i--)); do stop "${TESTENV_COMPONENTS[$i]}"; done
if [[ "${KEEP_STATE:-0}" == 1 ]]; then rm -f "$D"/pids/*.pid; else rm -rf "$D"; fi
