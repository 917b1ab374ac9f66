#!/bin/sh
# hack/reliability.sh (make reliability): the hostile probe of issue 13.
# Runs the safety tests (internal/safetytest) and the kill -9 tests
# (internal/crashtest), then prints, per promise, the cases tried and the
# breaks found, and per limit the largest input tested. ANSFLOW_LONG=1 runs
# the long variants (bigger inputs, mutated pipelines); ANSFLOW_CRASH_KILLS
# sets the number of kills. Exits non-zero when any case broke.
set -u
GO=${GO:-go}
dir=$(mktemp -d "${TMPDIR:-/tmp}/ansflow-reliability.XXXXXX")
trap 'rm -rf "$dir"' EXIT
report=$dir/report.tsv
: >"$report"
status=0
for pkg in ./internal/safetytest/ ./internal/crashtest/; do
	if ! ANSFLOW_RELIABILITY_REPORT=$report $GO test -count=1 -timeout 60m "$pkg" >"$dir/log" 2>&1; then
		status=1
		cat "$dir/log"
	fi
done
awk -F '\t' '
$1 == "promise" { cases[$2] += $3; breaks[$2] += $4; if (!($2 in seen)) { order[n++] = $2; seen[$2] = 1 } }
$1 == "limit" { if ($3 > largest[$2]) largest[$2] = $3; if (!($2 in lseen)) { lorder[m++] = $2; lseen[$2] = 1 } }
END {
	printf "%-42s %8s %8s\n", "PROMISE", "CASES", "BREAKS"
	for (i = 0; i < n; i++) printf "%-42s %8d %8d\n", order[i], cases[order[i]], breaks[order[i]]
	printf "\n%-60s %14s\n", "LIMIT", "LARGEST INPUT"
	for (i = 0; i < m; i++) printf "%-60s %14d\n", lorder[i], largest[lorder[i]]
}' "$report"
exit $status
