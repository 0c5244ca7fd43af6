#!/usr/bin/env bash
# Training throughput of resnas against PyTorch: one optimizer step of the largest fmnist
# sub-network (32×32×1, 10 classes) at batch 128, same threads, side by side.
#
# Usage: scripts/train-vs-pytorch.sh [--rounds N] [--threads T] [--steps S] [--batch B]
#
#   resnas   go test -run '^$' -bench BenchmarkTrainStepMax -cpu T ./supernet/ (forward, backward
#            and AdamW of the space's largest network; images/s from its "images/s" metric, or
#            batch / (ns/op))
#   PyTorch  scripts/resnas_torch.py train-bench: the same network_def, train mode, drop-path 0.1,
#            cross-entropy with label smoothing 0.1, AdamW (no decay on 1-D tensors and tokens),
#            torch.set_num_threads(T); warm-up, then the median of S steps
#
# Runs alternate A/B/A/B… --rounds times (default 2); the table gives every run, the medians and
# the ratio resnas/PyTorch. The architecture is the fmnist max from `resnas spaces --json` when
# the resnas command builds, else the copy below (keep it in sync with supernet/spaces.go).
#
# Environment: PYTHON (a python with torch; default: the first of python3, /usr/bin/python3 that
# imports torch), RESNAS_TRAIN_BENCH (a different Go -bench pattern), BENCHTIME (default 5x).
set -euo pipefail

rounds=2 threads=2 steps=5 batch=128
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--batch) batch=$2; shift 2 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "train-vs-pytorch: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" # also keeps python from importing stray modules of the caller's directory
here="$repo/scripts"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pattern=${RESNAS_TRAIN_BENCH:-BenchmarkTrainStepMax}
benchtime=${BENCHTIME:-${steps}x}

py=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "train-vs-pytorch: no python with torch found (set PYTHON)" >&2; exit 1; }

export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads
# PyTorch's OpenMP threads spin while they wait for each other by default; on a shared machine a
# descheduled peer turns every parallel region into a wait (measured here: fmnist batch 1 at
# 2.4 images/s with libgomp's default, 215 with passive waiting). Passive is the fair setting on
# a busy machine; export OMP_WAIT_POLICY= (empty) to measure libgomp's default on an idle one.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY-PASSIVE}

# The fmnist space's largest network_def (supernet/spaces.go): stem 5 (40 wide, 12 mid), 4
# blocks per stage at 40/80/160 wide, heads 3×16 / 5×16 / 4×32, MLP 120/240/480, 10 classes.
arch="((5, 40, 12), (1, (40, 3, 16), (40, 120), 1), (1, (40, 3, 16), (40, 120), 1), (1, (40, 3, 16), (40, 120), 1), (1, (40, 3, 16), (40, 120), 1), (3, 40, 80), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (1, (80, 5, 16), (80, 240), 1), (3, 80, 160), (1, (160, 4, 32), (160, 480), 1), (1, (160, 4, 32), (160, 480), 1), (1, (160, 4, 32), (160, 480), 1), (1, (160, 4, 32), (160, 480), 1), (2, 160, 10))"
if (cd "$repo" && go build -o "$work/resnas" .) 2>/dev/null; then
	arch=$("$work/resnas" spaces --json | "$py" "$here/resnas_torch.py" space-max --space fmnist)
	echo "architecture: fmnist max from resnas spaces --json" >&2
else
	echo "architecture: fmnist max as copied in this script (resnas does not build right now)" >&2
fi

# Build the benchmark binary once, so each round times only the benchmark.
(cd "$repo" && go test -c -o "$work/supernet.test" ./supernet/)
if ! "$work/supernet.test" -test.list "^${pattern}\$" | grep -q .; then
	echo "train-vs-pytorch: ./supernet has no $pattern yet (set RESNAS_TRAIN_BENCH to another benchmark)" >&2
	exit 1
fi

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $threads threads each; OMP_WAIT_POLICY=$OMP_WAIT_POLICY; batch $batch" >&2
results="$work/results.tsv"
: >"$results"
for r in $(seq 1 "$rounds"); do
	(cd "$repo/supernet" && "$work/supernet.test" -test.run '^$' -test.bench "^${pattern}\$" \
		-test.benchtime "$benchtime" -test.cpu "$threads") >"$work/go.txt"
	ours=$(awk -v b="$batch" '$1 ~ /^Benchmark/ {
		for (i = 2; i < NF; i++) { if ($(i+1) == "images/s") ips = $i; if ($(i+1) == "ns/op") ns = $i }
	} END { if (ips != "") print ips; else if (ns != "") print b / (ns * 1e-9) }' "$work/go.txt")
	[ -n "$ours" ] || { echo "train-vs-pytorch: no result from $pattern:" >&2; cat "$work/go.txt" >&2; exit 1; }
	"$py" "$here/resnas_torch.py" train-bench --arch "$arch" --img 32 --channels 1 --patch 4 --batch "$batch" \
		--threads "$threads" --repeats "$steps" --drop-path 0.1 --smoothing 0.1 >"$work/torch.json"
	theirs=$("$py" -c 'import json,sys; print("%.1f" % json.load(open(sys.argv[1]))["images_per_sec"])' "$work/torch.json")
	printf '%s\t%s\n' "$ours" "$theirs" >>"$results"
	echo "  round $r: resnas $ours img/s, pytorch $theirs img/s" >&2
done

"$py" - "$results" "$batch" "$threads" <<-'EOF'
	import statistics, sys
	rows = [[float(v) for v in l.split()] for l in open(sys.argv[1]) if l.strip()]
	ours, theirs = [r[0] for r in rows], [r[1] for r in rows]
	fmt = lambda xs: "%.1f (%s)" % (statistics.median(xs), " ".join("%.1f" % x for x in xs))
	print("training step, fmnist max, batch %s, %s threads" % (sys.argv[2], sys.argv[3]))
	print("%-28s %-28s %7s" % ("resnas img/s (runs)", "pytorch img/s (runs)", "ratio"))
	print("%-28s %-28s %6.2fx" % (fmt(ours), fmt(theirs), statistics.median(ours) / statistics.median(theirs)))
EOF
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at end (other work on this machine skews both sides)" >&2
