#!/usr/bin/env bash
# bench/buildkit.sh: docker_build on BuildKit next to the legacy builder.
# Run from the repository root with a Docker Engine on DOCKER_HOST (or the
# standard socket). See bench/README.md ("docker_build: BuildKit and legacy").
#
# 1. On a generated context of BENCH_FILES files totalling BENCH_MB MB, the
#    time of `ansflow apply` after changing one source file, with
#    builder = "buildkit" and builder = "legacy", and the bytes each sent to
#    the engine (from the build's log line "context: ... sent").
# 2. The no-op rerun of examples/docker (`ansflow apply`, nothing to do)
#    next to a warm-cache `docker build` of the same context.
#
# Settings (environment): BENCH_FILES (default 5000), BENCH_MB (200),
# BENCH_RUNS (3; the median is kept), BENCH_SKIP_REBUILD=1 (part 2 only),
# BENCH_WORK (scratch directory,
# default a new mktemp -d, removed after).
set -euo pipefail

files=${BENCH_FILES:-5000}
mb=${BENCH_MB:-200}
runs=${BENCH_RUNS:-3}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# make_context DIR: BENCH_FILES files of equal size under DIR/src, a
# Dockerfile that copies them, and a pipeline for each builder.
make_context() {
	local dir=$1 per=$((mb * 1024 * 1024 / files)) i
	mkdir -p "$dir/ctx/src"
	for ((i = 0; i < files; i++)); do
		mkdir -p "$dir/ctx/src/d$((i / 100))"
		head -c "$per" /dev/urandom >"$dir/ctx/src/d$((i / 100))/f$i.bin"
	done
	printf 'FROM scratch\nCOPY src /src\n' >"$dir/ctx/Dockerfile"
	local b
	for b in buildkit legacy; do
		mkdir -p "$dir/$b"
		cat >"$dir/$b/main.hcl" <<EOF
docker_build "ctx" {
  image   = "bk-bench-$b-$$"
  context = "../ctx"
  builder = "$b"
}
EOF
	done
}

# rebuild_one BUILDER: change one file, apply, print "seconds bytes".
rebuild_one() {
	local b=$1 run=$2 t0 secs sent
	echo "edit $run $b $(now)" >"$work/ctx/src/d0/f0.bin"
	t0=$(now)
	"$work/ansflow" -chdir="$work/$b" apply -auto-approve >/dev/null
	secs=$(elapsed "$t0")
	sent=$("$work/ansflow" -chdir="$work/$b" logs docker_build.ctx | sed -n 's/^context: \(.*\) sent to the engine.*/\1/p' | tail -1)
	echo "$secs $sent"
}

bench_rebuild() {
	make_context "$work"
	local b r
	for b in buildkit legacy; do
		"$work/ansflow" -chdir="$work/$b" apply -auto-approve >/dev/null # warm
		: >"$work/$b.times"
		for ((r = 0; r < runs; r++)); do
			rebuild_one "$b" "$r" | tee -a "$work/$b.runs" | awk '{ print $1 }' >>"$work/$b.times"
		done
		printf '| %s | %s s | %s |\n' "$b" "$(median <"$work/$b.times")" "$(tail -1 "$work/$b.runs" | cut -d' ' -f2-)"
		"$work/ansflow" -chdir="$work/$b" destroy -auto-approve >/dev/null
	done
}

# warm_build: one warm-cache BuildKit build of examples/docker's context.
# With docker buildx: `docker buildx build`; without it (Debian's docker.io
# has no buildx), the same build through ansflow's BuildKit path, forced
# with -replace on a pipeline that has only the docker_build.
warm_build() {
	if docker buildx version >/dev/null 2>&1; then
		docker buildx build -q --load --secret id=build_token,src="$work/token" -t "bk-bench-example-$$" --target app examples/docker >/dev/null
	else
		"$work/ansflow" -chdir="$work/example-build" apply -auto-approve -replace=docker_build.app >/dev/null
	fi
}

bench_example() {
	local ex=examples/docker ws="bench-buildkit-$$" r t0 how
	ANSFLOW_WORKSPACE=$ws "$work/ansflow" -chdir=$ex apply -auto-approve >/dev/null
	: >"$work/noop.times"
	for ((r = 0; r < runs; r++)); do
		t0=$(now)
		ANSFLOW_WORKSPACE=$ws "$work/ansflow" -chdir=$ex apply -auto-approve >/dev/null
		elapsed "$t0" >>"$work/noop.times"
		echo >>"$work/noop.times"
	done
	echo example-token >"$work/token"
	mkdir -p "$work/example-build"
	printf 'docker_build "app" {\n  image   = "bk-bench-example-%s"\n  context = "%s"\n  target  = "app"\n  secrets = { build_token = "example-token" }\n}\n' "$$" "$PWD/$ex" >"$work/example-build/main.hcl"
	warm_build # fills the cache
	: >"$work/warm.times"
	for ((r = 0; r < runs; r++)); do
		t0=$(now)
		warm_build
		elapsed "$t0" >>"$work/warm.times"
		echo >>"$work/warm.times"
	done
	how='`ansflow apply -replace=docker_build.app` on a pipeline with only the build; no buildx here'
	if docker buildx version >/dev/null 2>&1; then
		how='`docker buildx build`'
	else
		"$work/ansflow" -chdir="$work/example-build" destroy -auto-approve >/dev/null
	fi
	docker rmi "bk-bench-example-$$" >/dev/null 2>&1 || true
	ANSFLOW_WORKSPACE=$ws "$work/ansflow" -chdir=$ex destroy -auto-approve >/dev/null
	rm -rf "$ex/.ansflow/state/$ws".* "$ex/.ansflow/logs/$ws"
	printf '| `ansflow apply` of examples/docker, nothing to do | %s s |\n' "$(grep . "$work/noop.times" | median)"
	printf '| warm-cache BuildKit build of the same context (%s) | %s s |\n' "$how" "$(grep . "$work/warm.times" | median)"
}

main() {
	work=${BENCH_WORK:-$(mktemp -d)}
	[[ -n ${BENCH_WORK:-} ]] || trap 'rm -rf "$work"' EXIT
	go build -o "$work/ansflow" ./cmd/ansflow
	if [[ ${BENCH_SKIP_REBUILD:-0} != 1 ]]; then
		echo "Rebuild after changing one file of $files files / $mb MB (median of $runs):"
		echo
		echo '| builder | apply | context sent to the engine |'
		echo '|---|---|---|'
		bench_rebuild
		echo
	fi
	echo "No-op rerun (median of $runs):"
	echo
	echo '| what | wall |'
	echo '|---|---|'
	bench_example
}

main "$@"
exit
