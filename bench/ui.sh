#!/usr/bin/env bash
# ui.sh measures the dashboard's run page for a run of 5,000 steps: the
# handler (read the state and the events file, lay out and draw the graph
# and the timeline, the table) as a Go benchmark, cold (first view) and
# warm (the run is cached), then the time Chromium takes from navigation to
# the load event. Needs chromium (hack/deps.sh). Run from the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./web -run '^$' -bench 'BenchmarkRunPage5000' -benchtime="${UI_BENCHTIME:-10x}" -benchmem
go test ./cmd -run '^$' -bench 'BenchmarkRunPageInChromium' -benchtime="${UI_BROWSER_BENCHTIME:-5x}"
