#!/usr/bin/env bash
# modules.sh compares the cost of modules with the same steps written out:
# N steps (default 500) as N/5 calls of a 5-step module, as one module block
# with for_each over N/5 keys, and as N flat steps (bench/pipegen shapes
# modules, modules-for-each, modules-flat). For each it times validate, plan
# with no state, and the no-op plan after an apply (wall time, median of
# BENCH_RUNS, default 5) and prints a table. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${BENCH_N:-500}
runs=${BENCH_RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/ansflow" ./cmd/ansflow
go build -o "$work/gen" ./bench/gen

# ms CMD...: wall milliseconds of one run of CMD (output discarded).
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; return 1; }
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# median CMD...: the median of $runs runs of ms CMD.
median() {
	local i xs=()
	for ((i = 0; i < runs; i++)); do xs+=("$(ms "$@")"); done
	printf '%s\n' "${xs[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

printf '| %-18s | %6s | %9s | %11s | %9s | %12s |\n' shape steps "validate" "plan (new)" "apply" "plan (no-op)"
printf '|%s|%s|%s|%s|%s|%s|\n' ------------------- ------- ---------- ------------ ---------- -------------
for shape in ${BENCH_SHAPES:-modules modules-for-each modules-flat}; do
	dir="$work/$shape"
	"$work/gen" -shape="$shape" -n="$n" -out="$dir"
	a=(-chdir="$dir")
	v=$(median "$work/ansflow" "${a[@]}" validate)
	p=$(median "$work/ansflow" "${a[@]}" plan)
	ap=$(ms "$work/ansflow" "${a[@]}" apply -auto-approve -parallelism=10)
	np=$(median "$work/ansflow" "${a[@]}" plan -detailed-exitcode)
	printf '| %-18s | %6s | %6s ms | %8s ms | %6s ms | %9s ms |\n' "$shape" "$n" "$v" "$p" "$ap" "$np"
done
