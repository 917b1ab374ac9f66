#!/usr/bin/env bash
# fuzz.sh runs every fuzz target of the project for FUZZTIME (default 1m).
# The corpora found are kept under each package's testdata/fuzz and run as
# ordinary tests by `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-1m}
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "== $pkg $f ($t)"
		go test -run='^$' -fuzz="^$f\$" -fuzztime="$t" "$pkg"
	done
done
