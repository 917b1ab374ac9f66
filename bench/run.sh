#!/usr/bin/env bash
# bench/run.sh: whole-process benchmark of the ansflow CLI on generated
# pipelines, compared with Terraform's figures on the same machine
# (/work/shared/bench/peer-terraform.md). Run from the repository root, or
# through `make bench`. See bench/README.md for how to read the output.
#
# Settings (environment):
#   BENCH_NS            sizes (default "100 1000 5000 10000"; quick: "100 1000")
#   BENCH_SHAPES        shapes (default "chain fan layers"; also: layers-blocks)
#   BENCH_QUICK=1       small sizes, one run per measurement
#   BENCH_RUNS          runs of the cheap commands, median kept (default 3)
#   BENCH_APPLY_LIMIT   skip an apply predicted to take longer (s, default 200)
#   BENCH_PARALLELISM   apply -parallelism (default 10, as Terraform's "apply p10")
#   BENCH_WORK          scratch directory (default: a new mktemp -d, removed after)
#   BENCH_OUT           also write the report to this file
#   BENCH_REPORT_ONLY=1 print the report of the run kept in BENCH_WORK again
#
# Everything is in functions and the last line runs main and exits, so
# editing this file while it runs does not disturb the run.
set -euo pipefail

quick=${BENCH_QUICK:-0}
if [[ $quick == 1 ]]; then
	ns=${BENCH_NS:-"100 1000"}
	runs=${BENCH_RUNS:-1}
else
	ns=${BENCH_NS:-"100 1000 5000 10000"}
	runs=${BENCH_RUNS:-3}
fi
shapes=${BENCH_SHAPES:-"chain fan layers"}
apply_limit=${BENCH_APPLY_LIMIT:-200}
parallelism=${BENCH_PARALLELISM:-10}

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

# setup prepares $work, builds the binaries and measures `true`.
setup() {
	if [[ ! -x /usr/bin/time ]]; then
		log "bench: /usr/bin/time is missing; installing the 'time' package"
		apt-get install -y -qq time >/dev/null || die "install GNU time: apt-get install -y time"
	fi
	: >"$results"
	log "bench: building into $work"
	go build -o "$work/ansflow" ./cmd/ansflow
	go build -o "$work/gen" ./bench/gen
	go build -o "$work/truecost" ./bench/truecost
	go build -o "$work/cliprof" ./bench/cliprof
	"$work/truecost" -n 300 -parallelism "$parallelism" >"$work/truecost.out"
	read_truecost
	log "bench: one 'true' costs ${true_serial_ms} ms wall run serially, ${true_par_ms} ms each at parallelism $parallelism, ${true_cpu_ms} ms cpu"
}

read_truecost() {
	read -r true_serial_ms true_par_ms true_cpu_ms <"$work/truecost.out"
}

# timed DIR OUT CMD...: runs CMD in DIR under GNU time; OUT gets
# "wall cpu peakKiB exitcode". stdout is discarded, stderr kept in DIR/err.
timed() {
	local dir=$1 out=$2
	shift 2
	local rc=0
	(cd "$dir" && /usr/bin/time -f '%e %U %S %M' -o "$work/time.out" "$@" >/dev/null 2>"$dir/err") || rc=$?
	# GNU time prefixes "Command exited with non-zero status N" on failure.
	tail -n 1 "$work/time.out" | awk -v rc="$rc" '{ printf "%.3f %.3f %d %d\n", $1, $2 + $3, $4, rc }' >"$out"
}

# measure SHAPE N OP DIR REPEAT NOTE_ON_RC2 CMD...: times CMD (REPEAT times
# when the first run is under 2 s, keeping the run with the median wall)
# and appends a result row. With NOTE_ON_RC2 set, exit code 2 (plan has
# changes) is accepted and noted; any other failure aborts the benchmark.
measure() {
	local shape=$1 n=$2 op=$3 dir=$4 repeat=$5 expect_noop=$6
	local wall cpu peak rc
	shift 6
	local samples=$work/samples
	: >"$samples"
	local i=0
	while :; do
		timed "$dir" "$work/one" "$@"
		cat "$work/one" >>"$samples"
		i=$((i + 1))
		wall=$(awk '{ print $1 }' "$work/one")
		if ((i >= repeat)) || awk -v w="$wall" 'BEGIN { exit !(w >= 2) }'; then
			break
		fi
	done
	local row
	row=$(sort -n -k1,1 "$samples" | awk -v k=$(((i + 1) / 2)) 'NR == k')
	read -r wall cpu peak rc <<<"$row"
	local note="runs=$i"
	case $rc in
	0) ;;
	2)
		[[ $expect_noop == 1 ]] || die "$op of $shape $n exited 2; stderr: $(head -c 2000 "$dir/err")"
		note="$note; NOT A NO-OP (exit 2)"
		;;
	*) die "$op of $shape $n failed (exit $rc); stderr: $(head -c 2000 "$dir/err")" ;;
	esac
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$shape" "$n" "$op" "$wall" "$cpu" "$peak" "$note" >>"$results"
}

# append_note TEXT: adds TEXT to the notes of the last result row.
append_note() {
	awk -v extra="$1" -v last="$(wc -l <"$results")" 'BEGIN { FS = OFS = "\t" } NR == last { $7 = $7 "; " extra } { print }' "$results" >"$results.new"
	mv "$results.new" "$results"
}

state_file() { printf '%s/.ansflow/state/default.json' "$1"; }

# overhead_ms SHAPE N WALL CPU: apply wall and cpu per step minus what
# running `true` costs (wall: chain runs one step at a time, the other
# shapes $parallelism; cpu: the same for every shape).
overhead_ms() {
	local cost=$true_par_ms
	[[ $1 == chain ]] && cost=$true_serial_ms
	awk -v w="$3" -v c="$4" -v n="$2" -v tw="$cost" -v tc="$true_cpu_ms" \
		'BEGIN { printf "wall %.2f, cpu %.2f", (w * 1000 - n * tw) / n, (c * 1000 - n * tc) / n }'
}

declare -A apply_ms_per_step # by shape: from the last size applied
bench_one() {
	local shape=$1 n=$2
	local dir=$work/$shape-$n
	rm -rf "$dir"
	"$work/gen" -shape="$shape" -n="$n" -out="$dir"
	log "bench: $shape $n"

	measure "$shape" "$n" validate "$dir" "$runs" 0 "$bin" validate -no-color >/dev/null
	rm -rf "$dir/.ansflow" "$dir/p"
	measure "$shape" "$n" plan-empty "$dir" "$runs" 0 "$bin" plan -out=p -no-color >/dev/null

	# Predict the apply from the last size's ms/step, doubled for safety
	# against superlinear growth. If too long, skip it and make the state
	# for the no-op plans with a fork-free apply instead (bench/fakeexec).
	local prev=${apply_ms_per_step[$shape]:-} synth=""
	if [[ -n $prev ]] && awk -v p="$prev" -v n="$n" -v l="$apply_limit" 'BEGIN { exit !(2 * p * n / 1000 > l) }'; then
		local est
		est=$(awk -v p="$prev" -v n="$n" 'BEGIN { printf "%.0f", 2 * p * n / 1000 }')
		printf '%s\t%s\t%s\t-\t-\t-\t%s\n' "$shape" "$n" apply "skipped: predicted ~${est} s > BENCH_APPLY_LIMIT=${apply_limit} s" >>"$results"
		log "bench: $shape $n: apply skipped (predicted ~${est} s); making the state with a fork-free apply"
		rm -rf "$dir/.ansflow"
		"$work/cliprof" -fake-exec -cpuprofile="$work/synth.prof" -- -chdir="$dir" apply -auto-approve
		synth="synth state (fork-free apply, $(stat -c %s "$(state_file "$dir")") B)"
	else
		rm -rf "$dir/.ansflow"
		measure "$shape" "$n" apply "$dir" 1 0 "$bin" apply -auto-approve -no-color -parallelism="$parallelism" >/dev/null
		local wall cpu
		read -r wall cpu < <(tail -n 1 "$results" | cut -f4,5)
		apply_ms_per_step[$shape]=$(awk -v w="$wall" -v n="$n" 'BEGIN { print w * 1000 / n }')
		local bytes
		bytes=$(stat -c %s "$(state_file "$dir")")
		# Append the state size and the overhead beyond `true` to the apply row.
		append_note "state=${bytes} B ($((bytes / n)) B/step); beyond running true: $(overhead_ms "$shape" "$n" "$wall" "$cpu") ms/step"
	fi

	measure "$shape" "$n" noop-refresh "$dir" "$runs" 1 "$bin" plan -detailed-exitcode -no-color >/dev/null
	[[ -z $synth ]] || append_note "$synth"
	measure "$shape" "$n" noop-norefresh "$dir" "$runs" 1 "$bin" plan -refresh=false -detailed-exitcode -no-color >/dev/null
	[[ -z $synth ]] || append_note "$synth"
	rm -rf "$dir"
}

# Terraform v1.17.0-dev on this machine: shape, N, op, median wall s and
# median cpu s (user+sys), copied from
# /work/shared/bench/peer-terraform.md ("Results" table; "apply p10" rows;
# fan 1000 apply: the first batch, 28.174 s; the rerun gave 16.040 s).
terraform_figures() {
	cat <<'EOF'
chain	100	validate	0.089	0.080
chain	1000	validate	0.716	0.902
chain	5000	validate	12.409	15.875
chain	100	plan-empty	0.273	0.259
chain	1000	plan-empty	8.631	10.564
chain	5000	plan-empty	270.953	314.996
chain	100	apply	0.855	0.622
chain	1000	apply	165.562	192.483
chain	100	noop-refresh	0.273	0.249
chain	1000	noop-refresh	12.413	14.895
chain	100	noop-norefresh	0.241	0.218
chain	1000	noop-norefresh	7.916	9.679
fan	100	validate	0.054	0.074
fan	1000	validate	0.305	0.286
fan	5000	validate	0.890	1.427
fan	10000	validate	2.197	3.796
fan	100	plan-empty	0.093	0.129
fan	1000	plan-empty	1.121	0.949
fan	5000	plan-empty	4.234	6.268
fan	10000	plan-empty	9.532	14.025
fan	100	apply	0.378	0.444
fan	1000	apply	28.174	20.354
fan	5000	apply	433.959	520.384
fan	100	noop-refresh	0.109	0.158
fan	1000	noop-refresh	0.861	1.438
fan	5000	noop-refresh	4.282	7.033
fan	10000	noop-refresh	8.732	14.505
fan	100	noop-norefresh	0.121	0.164
fan	1000	noop-norefresh	0.646	1.064
fan	5000	noop-norefresh	3.735	6.103
fan	10000	noop-norefresh	7.985	13.192
layers	100	validate	0.048	0.053
layers	1000	validate	0.041	0.047
layers	5000	validate	0.078	0.083
layers	100	plan-empty	0.151	0.207
layers	1000	plan-empty	5.397	6.165
layers	5000	plan-empty	570.716	585.735
layers	100	apply	0.361	0.445
layers	1000	apply	18.715	22.304
layers	100	noop-refresh	0.132	0.189
layers	1000	noop-refresh	1.294	2.294
layers	5000	noop-refresh	23.252	43.931
layers	100	noop-norefresh	0.130	0.174
layers	1000	noop-norefresh	1.313	2.310
layers	5000	noop-norefresh	24.308	46.112
EOF
}

# run_info prints the revision measured and the load average after the run.
run_info() {
	printf '%s%s\t%s\n' "$(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
		"$(git diff --quiet HEAD -- 2>/dev/null || echo '+dirty')" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

report() {
	local rev load
	IFS=$'\t' read -r rev load <"$work/info"
	printf '## ansflow benchmark (%s, %s cores, load average at the end %s)\n\n' "$rev" "$(nproc)" "$load"
	printf 'Each op is one whole `ansflow` process timed by GNU time; wall is the median of up to %s runs (one run when the first takes >= 2 s). ' "$runs"
	printf 'cpu = user+sys, children included. One `true` (fork+exec+wait from Go) costs %s ms wall serially, %s ms wall each at parallelism %s, %s ms cpu. Took %d s.\n\n' "$true_serial_ms" "$true_par_ms" "$parallelism" "$true_cpu_ms" "$elapsed"
	if awk -v c="$(nproc)" '{ exit !($1 > c) }' <<<"$load"; then
		printf '**Warning: the machine was busy (load average above %s cores): wall times are inflated; compare cpu.**\n\n' "$(nproc)"
	fi
	printf '| shape | N | op | wall s | cpu s | peak MiB | ms/step | notes |\n|---|---|---|---|---|---|---|---|\n'
	awk -F'\t' '{
		if ($4 == "-") { printf "| %s | %s | %s | - | - | - | - | %s |\n", $1, $2, $3, $7; next }
		printf "| %s | %s | %s | %.3f | %.3f | %.1f | %.3f | %s |\n", $1, $2, $3, $4, $5, $6 / 1024, $4 * 1000 / $2, $7
	}' "$results"

	printf '\n### Speed-up over Terraform (Terraform / ansflow; above 1 means ansflow is faster)\n\n'
	printf 'Terraform ran on an idle machine; when the load average above exceeds the core count, trust the cpu column more than the wall one.\n\n'
	printf '| shape | N | op | Terraform wall s | ansflow wall s | wall speed-up | Terraform cpu s | ansflow cpu s | cpu speed-up |\n|---|---|---|---|---|---|---|---|---|\n'
	awk -F'\t' 'function ratio(a, b) { return a / (b > 0 ? b : 0.001) }
		NR == FNR { tfw[$1 FS $2 FS $3] = $4; tfc[$1 FS $2 FS $3] = $5; next }
		$4 != "-" && (($1 FS $2 FS $3) in tfw) {
			k = $1 FS $2 FS $3
			printf "| %s | %s | %s | %.3f | %.3f | %.1f× | %.3f | %.3f | %.1f× |\n", $1, $2, $3, tfw[k], $4, ratio(tfw[k], $4), tfc[k], $5, ratio(tfc[k], $5)
		}' <(terraform_figures) "$results"

	printf '\n### Growth t(10N)/t(N) (linear is about 10; the target is <= 12)\n\n'
	printf '| shape | op | N → 10N | wall t(N) s | wall t(10N) s | wall ratio | cpu ratio |\n|---|---|---|---|---|---|---|\n'
	awk -F'\t' 'function ratio(a, b) { return a / (b > 0 ? b : 0.001) }
		$4 != "-" { w[$1 FS $3 FS $2] = $4; c[$1 FS $3 FS $2] = $5; key[$1 FS $3] = 1; ns[$2] = 1 }
		END {
			for (k in key) for (n in ns) {
				a = k FS n; b = k FS (n * 10)
				if ((a in w) && (b in w)) {
					split(k, p, FS)
					printf "| %s | %s | %d → %d | %.3f | %.3f | %.1f | %.1f |\n", p[1], p[2], n, n * 10, w[a], w[b], ratio(w[b], w[a]), ratio(c[b], c[a])
				}
			}
		}' "$results" | sort -t'|' -k2,2 -k3,3 -k4,4n
	printf '\n'
}

main() {
	cd "$(dirname "$0")/.."
	if [[ -n ${BENCH_WORK:-} ]]; then
		work=$BENCH_WORK
		mkdir -p "$work"
	else
		[[ ${BENCH_REPORT_ONLY:-0} != 1 ]] || die "BENCH_REPORT_ONLY=1 needs BENCH_WORK, the directory of an earlier run"
		work=$(mktemp -d "${TMPDIR:-/tmp}/ansflow-bench.XXXXXX")
		trap 'rm -rf "$work"' EXIT
	fi
	results=$work/results.tsv # shape N op wall cpu peakKiB note
	bin=$work/ansflow

	if [[ ${BENCH_REPORT_ONLY:-0} == 1 ]]; then
		[[ -s $results ]] || die "no results in $work"
		read_truecost
		elapsed=$(cat "$work/elapsed" 2>/dev/null || echo 0)
		runs=$(cat "$work/runs" 2>/dev/null || echo "$runs")
		[[ -s $work/info ]] || run_info >"$work/info"
	else
		setup
		local started shape n
		started=$(date +%s)
		for shape in $shapes; do
			for n in $ns; do
				bench_one "$shape" "$n"
			done
		done
		elapsed=$(($(date +%s) - started))
		echo "$elapsed" >"$work/elapsed"
		echo "$runs" >"$work/runs"
		run_info >"$work/info"
	fi

	if [[ -n ${BENCH_OUT:-} ]]; then
		report | tee "$BENCH_OUT"
	else
		report
	fi
}

main "$@"; exit
