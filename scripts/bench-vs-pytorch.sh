#!/usr/bin/env bash
# Inference throughput of resnas against PyTorch on the same weights, same machine, same threads.
#
# Usage: scripts/bench-vs-pytorch.sh [--rounds N] [--threads T] [--repeats R]
#                                    [--cases "tiny:64 tiny:1 fmnist:64 fmnist:1"] [--no-build]
#
#   tiny    ViT-ResNAS-Tiny at 224 px (1.78 GMACs), random weights written once to a resnas
#           safetensors file (cached in $CACHE, default /tmp/resnas-bench-cache)
#   fmnist  the largest sub-network of the fmnist space: the shipped default supernet when this
#           build has one, else a random-weight fmnist-max checkpoint
#
# For each case it first checks that both compute the same logits (resnas predict vs PyTorch on
# two images), then alternates runs A/B/A/B… (resnas bench --json, PyTorch eval + no_grad, both
# warm-up then the median of --repeats batches, ten times as many below 8 images), --rounds
# times each (default 2). It prints a table of images/s, the ratio resnas/PyTorch, resnas's
# GFLOP/s, and that as a share of the best sgemm GFLOP/s measured in the same run, before and
# after the runs (OpenBLAS through resnas's own backend via go test -bench, and torch.mm), so
# "Tiny forward reaches ≥ 60% of sgemm FLOP/s" can be read off.
#
# Environment: RESNAS_BIN (use this binary; implies --no-build), PYTHON (a python with torch;
# default: the first of python3, /usr/bin/python3 that imports torch), CACHE.
# Exit status: 0 when every parity check passed, 1 otherwise (the table is printed either way).
set -euo pipefail

rounds=2 threads=2 repeats=5 build=1
cases="tiny:64 tiny:1 fmnist:64 fmnist:1"
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--repeats) repeats=$2; shift 2 ;;
	--cases) cases=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-vs-pytorch: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" # also keeps python from importing stray modules of the caller's directory
here="$repo/scripts"
cache=${CACHE:-/tmp/resnas-bench-cache}
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

find_python() {
	local p
	for p in ${PYTHON:-} python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "bench-vs-pytorch: no python with torch found (set PYTHON)" >&2
	return 1
}
py=$(find_python)
rt() { "$py" "$here/resnas_torch.py" "$@"; }
# jget FILE KEY: one field of a one-line JSON object.
jget() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

if [ -n "${RESNAS_BIN:-}" ]; then
	bin=$RESNAS_BIN
else
	bin=/tmp/resnas-bench
	if [ "$build" = 1 ]; then
		echo "building $bin …" >&2
		(cd "$repo" && go build -o "$bin" .)
	fi
fi
[ -x "$bin" ] || { echo "bench-vs-pytorch: no resnas binary at $bin (build it or set RESNAS_BIN)" >&2; exit 1; }

export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# PyTorch's OpenMP threads spin while they wait for each other by default; on a shared machine a
# descheduled peer turns every parallel region into a wait (measured here: fmnist batch 1 at
# 2.4 images/s with libgomp's default, 215 with passive waiting). Passive is the fair setting on
# a busy machine; export OMP_WAIT_POLICY= (empty) to measure libgomp's default on an idle one.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY-PASSIVE}

# Checkpoints and architectures per model: ckpt_<m> (empty: resnas's shipped default),
# torch_ckpt_<m> (the same weights as a file PyTorch reads) and arch_<m>.
tiny_ckpt="$cache/vit-resnas-tiny-224-random.safetensors"
if [ ! -s "$tiny_ckpt" ]; then
	echo "writing random-weight ViT-ResNAS-Tiny checkpoint $tiny_ckpt …" >&2
	rt make-checkpoint --arch vit-resnas-tiny --img 224 --channels 3 --patch 14 --seed 1 --out "$tiny_ckpt" >/dev/null
fi
ckpt_tiny=$tiny_ckpt torch_ckpt_tiny=$tiny_ckpt arch_tiny=vit-resnas-tiny
torch_arch_tiny=vit-resnas-tiny

if "$bin" profile --arch max --json >"$work/default.json" 2>/dev/null && [ -s "$repo/checkpoints/shipped/default/supernet.safetensors" ]; then
	ckpt_fmnist="" torch_ckpt_fmnist="$repo/checkpoints/shipped/default/supernet.safetensors"
	fmnist_note="shipped default supernet"
	torch_arch_fmnist=$(jget "$work/default.json" network_def)
else
	torch_arch_fmnist=$("$bin" spaces --json | rt space-max --space fmnist)
	ckpt_fmnist="$cache/fmnist-max-random.safetensors" torch_ckpt_fmnist=$ckpt_fmnist
	fmnist_note="random weights (no shipped default in this build)"
	if [ ! -s "$ckpt_fmnist" ]; then
		rt make-checkpoint --arch "$torch_arch_fmnist" --img 32 --channels 1 --patch 4 --seed 1 --out "$ckpt_fmnist" >/dev/null
	fi
fi
arch_fmnist=max

# resnas_args MODEL: the checkpoint flag (none for the shipped default) and the architecture.
resnas_args() {
	local c a
	eval "c=\$ckpt_$1 a=\$arch_$1"
	if [ -n "$c" ]; then printf -- '--checkpoint\n%s\n' "$c"; fi
	printf -- '--arch\n%s\n' "$a"
}

status=0
results="$work/results.tsv"
: >"$results"

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $threads threads each; OMP_WAIT_POLICY=$OMP_WAIT_POLICY; $py, $($py -c 'import torch; print("torch", torch.__version__)')" >&2

# Parity first: a throughput comparison means little if the two compute different networks.
for m in $(printf '%s\n' $cases | cut -d: -f1 | sort -u); do
	eval "tc=\$torch_ckpt_$m ta=\$torch_arch_$m"
	mapfile -t ra < <(resnas_args "$m")
	"$py" - "$work/x-$m.f32" "$m" <<-'EOF'
		import sys, numpy as np
		shape = (2, 3, 224, 224) if sys.argv[2] == "tiny" else (2, 1, 32, 32)
		np.random.default_rng(7).standard_normal(shape).astype("<f4").tofile(sys.argv[1])
	EOF
	if [ "$m" = tiny ]; then shape=2,3,224,224; else shape=2,1,32,32; fi
	"$bin" predict "${ra[@]}" --device cpu --threads "$threads" --input "$work/x-$m.f32" --shape "$shape" >"$work/ours-$m.txt"
	rt predict --checkpoint "$tc" --arch "$ta" --threads "$threads" --input "$work/x-$m.f32" --shape "$shape" >"$work/torch-$m.txt"
	"$py" - "$work/ours-$m.txt" "$work/torch-$m.txt" "$m" <<-'EOF' || status=1
		import json, sys
		a = [json.loads(l) for l in open(sys.argv[1])]
		b = [json.loads(l) for l in open(sys.argv[2])]
		d = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb)) if len(a) == len(b) else float("inf")
		print("parity %-7s resnas predict vs PyTorch: max |logit diff| %.3g %s" % (sys.argv[3], d, "ok" if d <= 1e-3 else "FAIL (> 1e-3)"))
		sys.exit(0 if d <= 1e-3 else 1)
	EOF
done

# sgemm GFLOP/s with the same thread count, measured before and after the runs (the machine's
# load drifts); the best figure is the reference for the "% of sgemm" column.
sgemm="$work/sgemm.tsv"
: >"$sgemm"
gemm_test=""
if command -v go >/dev/null 2>&1 && (go test -c -o "$work/openblas.test" ./internal/gemm/openblas/) 2>/dev/null; then
	gemm_test="$work/openblas.test"
fi
measure_sgemm() {
	if [ -n "$gemm_test" ]; then
		"$gemm_test" -test.run '^$' -test.bench 'BenchmarkSgemm/(1024x1024x1024|12608x576x192_NT|65x352x1408)$' \
			-test.benchtime 20x 2>/dev/null |
			awk -v tag="$1" '/GFLOP\/s/ { for (i = 1; i < NF; i++) if ($(i+1) == "GFLOP/s") {
				name = $1; sub(/^BenchmarkSgemm\//, "", name); sub(/-[0-9]+$/, "", name)
				printf "resnas OpenBLAS (go test -bench)\t%s\t%s\t%s\n", name, $i, tag } }' >>"$sgemm" || true
	fi
	rt sgemm --threads "$threads" --shapes 1024x1024x1024,12608x576x192,65x352x1408 |
		"$py" -c 'import json,sys; d=json.load(sys.stdin); [print("torch.mm\t%s\t%s\t%s" % (k, v, sys.argv[1])) for k, v in d["gflop_per_sec"].items()]' "$1" >>"$sgemm"
}
measure_sgemm start

for c in $cases; do
	m=${c%%:*} b=${c##*:}
	eval "tc=\$torch_ckpt_$m ta=\$torch_arch_$m"
	mapfile -t ra < <(resnas_args "$m")
	# A forward of a few milliseconds is at the scheduler's mercy on a busy machine: time more.
	rep=$repeats
	if [ "$b" -lt 8 ]; then rep=$((repeats * 10)); fi
	for r in $(seq 1 "$rounds"); do
		"$bin" bench "${ra[@]}" --device cpu --batch "$b" --threads "$threads" --repeats "$rep" --json >"$work/a.json"
		printf '%s\t%s\t%s\t%s\t%s\n' "$c" resnas "$r" "$(jget "$work/a.json" images_per_sec)" "$(jget "$work/a.json" gflop_per_sec)" >>"$results"
		rt bench --checkpoint "$tc" --arch "$ta" --batch "$b" --threads "$threads" --repeats "$rep" >"$work/b.json"
		printf '%s\t%s\t%s\t%s\t%s\n' "$c" pytorch "$r" "$(jget "$work/b.json" images_per_sec)" "$(jget "$work/b.json" gflop_per_sec)" >>"$results"
		echo "  $c round $r: resnas $(jget "$work/a.json" images_per_sec | cut -c1-7) img/s, pytorch $(jget "$work/b.json" images_per_sec | cut -c1-7) img/s" >&2
	done
done

measure_sgemm end

"$py" - "$results" "$sgemm" "$threads" "$fmnist_note" <<-'EOF'
	import statistics, sys
	rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
	sg = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
	print("sgemm GFLOP/s, %s threads (before / after the runs):" % sys.argv[3])
	keys = []
	for impl, shape, _, _ in sg:
	    if (impl, shape) not in keys:
	        keys.append((impl, shape))
	for impl, shape in keys:
	    v = {t: float(g) for i, s, g, t in sg if i == impl and s == shape}
	    print("  %-32s %-18s %7.1f / %-7.1f" % (impl, shape, v.get("start", float("nan")), v.get("end", float("nan"))))
	best = max(sg, key=lambda r: float(r[2]))
	peak = float(best[2])
	print("  reference for the %%sgemm column: %.1f GFLOP/s (%s %s, the best above)" % (peak, best[0], best[1]))
	print()
	print("%-10s %-26s %-26s %7s %9s %7s" % ("case", "resnas img/s (runs)", "pytorch img/s (runs)", "ratio", "GFLOP/s", "%sgemm"))
	cases = []
	for r in rows:
	    if r[0] not in cases:
	        cases.append(r[0])
	for c in cases:
	    ours = [float(r[3]) for r in rows if r[0] == c and r[1] == "resnas"]
	    theirs = [float(r[3]) for r in rows if r[0] == c and r[1] == "pytorch"]
	    gf = statistics.median(float(r[4]) for r in rows if r[0] == c and r[1] == "resnas")
	    mo, mt = statistics.median(ours), statistics.median(theirs)
	    fmt = lambda xs: "%.1f (%s)" % (statistics.median(xs), " ".join("%.1f" % x for x in xs))
	    print("%-10s %-26s %-26s %6.2fx %9.1f %6.0f%%" % (c, fmt(ours), fmt(theirs), mo / mt, gf, 100 * gf / peak))
	print()
	print("case = model:batch; tiny = ViT-ResNAS-Tiny 224 px random weights; fmnist = fmnist max, " + sys.argv[4] + ".")
	print("ratio = median resnas / median PyTorch images/s; runs alternated A/B per round.")
EOF
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end (other work on this machine skews both sides)" >&2
exit "$status"
