#!/usr/bin/env bash
# GPU acceptance check for a resnas binary, on a machine with python3 + torch + CUDA and no Go.
#
# Usage (build here, run there):
#   CGO_ENABLED=0 go build -o bin/resnas .
#   scripts/gpu-check.sh [--bin bin/resnas] [--batches "64 256"] [--rounds 2] [--repeats 10]
#                        [--device cuda] [--no-throughput]
#   (device tool: run(command="scripts/gpu-check.sh", carry=["bin/resnas"], timeout_s=420))
#
# 1. parity: `resnas predict --device cuda` against `--device cpu` on every case of
#    testdata/reference-dev/golden.json (supernet and sub-networks sliced from supernet.pth.tar):
#    PASS when max |logit diff| ≤ 1e-3; the distance of each to the reference goldens is shown too.
# 2. parity on ViT-ResNAS-Tiny at 224 px (random weights, written once to a resnas safetensors
#    file): resnas --device cuda against PyTorch CUDA on two images, same 1e-3 bound.
# 3. throughput of Tiny at each batch: `resnas bench --device cuda` (which must report
#    gpu_resident: weights and activations on the GPU, PTX kernels) against PyTorch CUDA on the
#    same weights (eager, reference-style attention; and with fused SDPA where torch has it),
#    plain float32 on both sides (TF32 off), alternated A/B/C per round; median images/s and ratios.
# The summary goes to stdout and, when $OUT is set, to $OUT/gpu-check.txt and $OUT/gpu-check.json.
# --device cpu runs the same flow without a GPU (a dry run of the plumbing).
# Exit status: 0 when every check passed, 1 when one failed, 2 for bad arguments.
set -euo pipefail

bin=bin/resnas device=cuda batches="64 256" rounds=2 repeats=10 throughput=1
while [ $# -gt 0 ]; do
	case "$1" in
	--bin) bin=$2; shift 2 ;;
	--device) device=$2; shift 2 ;;
	--batches) batches=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--repeats) repeats=$2; shift 2 ;;
	--no-throughput) throughput=0; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
fixtures=testdata/reference-dev
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
summary="$work/summary.txt"
results="$work/results.tsv" # kind, name, value, verdict
: >"$summary"
: >"$results"
failed=0

say() { printf '%s\n' "$*" | tee -a "$summary"; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }
fail() { failed=1; say "FAIL $*"; }

py=""
for p in ${PYTHON:-} python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "gpu-check: no python with torch found (set PYTHON)" >&2; exit 1; }
rt() { "$py" scripts/resnas_torch.py "$@"; }
[ -x "$bin" ] || { echo "gpu-check: no resnas binary at $bin (CGO_ENABLED=0 go build -o bin/resnas . here first)" >&2; exit 1; }
for f in golden.json input.f32 supernet.pth.tar; do
	[ -s "$fixtures/$f" ] || { echo "gpu-check: $fixtures/$f is missing" >&2; exit 1; }
done

# resnas finds cuBLAS through LD_LIBRARY_PATH too: add the directories of the cuBLAS that ships
# with PyTorch's pip wheels (nvidia/*/lib), so a machine whose only CUDA is PyTorch's works.
extra=$("$py" - <<-'EOF'
	import os
	dirs = []
	try:
	    import nvidia
	    for root in nvidia.__path__:
	        for d, _, files in os.walk(root):
	            if any(f.startswith(("libcublas.so", "libcublasLt.so")) for f in files) and d not in dirs:
	                dirs.append(d)
	except ImportError:
	    pass
	print(":".join(dirs))
EOF
)
if [ -n "$extra" ]; then export LD_LIBRARY_PATH="$extra${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi

say "== environment"
say "host: $(uname -srm), $(nproc) CPUs"
if command -v nvidia-smi >/dev/null 2>&1; then
	say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
else
	say "gpu: no nvidia-smi"
fi
say "torch: $("$py" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1)"
say "resnas: $("$bin" version 2>&1 | tr '\n' ' ')"
[ -n "$extra" ] && say "LD_LIBRARY_PATH += $extra"

# --- 1. parity on the reference fixtures -----------------------------------------------------
say ""
say "== 1. resnas predict --device $device vs --device cpu on $fixtures (bound 1e-3)"
"$py" - "$fixtures/golden.json" "$work" <<-'EOF'
	import json, sys
	g = json.load(open(sys.argv[1]))
	with open(sys.argv[2] + "/cases.tsv", "w") as f:
	    for c in g["cases"]:
	        f.write("%s\t%s\t%d,3,%d,%d\n" % (c["name"], c["network_def"], g["batch"], g["img"], g["img"]))
	        json.dump(c["logits"], open("%s/golden-%s.json" % (sys.argv[2], c["name"]), "w"))
EOF
# compare A B [golden]: prints max |A-B| (and max |A-golden|, |B-golden|); exit 1 above 1e-3.
compare() {
	"$py" - "$@" <<-'EOF'
		import json, sys
		def rows(p):
		    t = open(p).read().strip()
		    return json.loads(t) if t.startswith("[[") else [json.loads(l) for l in t.splitlines()]
		def diff(a, b):
		    if len(a) != len(b) or any(len(x) != len(y) for x, y in zip(a, b)):
		        return float("inf")
		    return max(abs(u - v) for x, y in zip(a, b) for u, v in zip(x, y))
		a, b = rows(sys.argv[1]), rows(sys.argv[2])
		d = diff(a, b)
		extra = ""
		if len(sys.argv) > 3:
		    g = rows(sys.argv[3])
		    extra = "  (vs reference goldens: %.3g and %.3g)" % (diff(a, g), diff(b, g))
		print("%.3g%s" % (d, extra))
		sys.exit(0 if d <= 1e-3 else 1)
	EOF
}
while IFS=$'\t' read -r name def shape; do
	ok=1
	for dev in "$device" cpu; do
		if ! "$bin" predict --checkpoint "$fixtures/supernet.pth.tar" --arch "$def" --device "$dev" \
			--input "$fixtures/input.f32" --shape "$shape" >"$work/$name-$dev.txt" 2>"$work/$name-$dev.err"; then
			fail "$name: resnas predict --device $dev: $(tail -1 "$work/$name-$dev.err")"
			record parity "$name" "error" FAIL
			ok=0
			break
		fi
	done
	[ "$ok" = 1 ] || continue
	if line=$(compare "$work/$name-$device.txt" "$work/$name-cpu.txt" "$work/golden-$name.json"); then
		say "PASS $name: max |$device - cpu| $line"
		record parity "$name" "${line%% *}" PASS
	else
		fail "$name: max |$device - cpu| $line"
		record parity "$name" "${line%% *}" FAIL
	fi
	grep -h '^resnas:' "$work/$name-$device.err" 2>/dev/null | sort -u | sed 's/^/     /' | tee -a "$summary" || true
done <"$work/cases.tsv"

# --- 2 and 3. ViT-ResNAS-Tiny: parity and throughput against PyTorch -------------------------
if [ "$throughput" = 1 ]; then
	tiny="$work/vit-resnas-tiny-224.safetensors"
	rt make-checkpoint --arch vit-resnas-tiny --img 224 --channels 3 --patch 14 --seed 1 --out "$tiny" >/dev/null
	say ""
	say "== 2. ViT-ResNAS-Tiny 224 px, random weights: resnas --device $device vs PyTorch $device (bound 1e-3)"
	"$py" -c 'import sys, numpy as np; np.random.default_rng(7).standard_normal((2, 3, 224, 224)).astype("<f4").tofile(sys.argv[1])' "$work/x.f32"
	if "$bin" predict --checkpoint "$tiny" --arch vit-resnas-tiny --device "$device" --input "$work/x.f32" --shape 2,3,224,224 >"$work/tiny-ours.txt" 2>"$work/tiny-ours.err" &&
		rt predict --checkpoint "$tiny" --arch vit-resnas-tiny --device "$device" --input "$work/x.f32" --shape 2,3,224,224 >"$work/tiny-torch.txt"; then
		if line=$(compare "$work/tiny-ours.txt" "$work/tiny-torch.txt"); then
			say "PASS tiny: max |resnas - pytorch| $line"
			record parity tiny "$line" PASS
		else
			fail "tiny: max |resnas - pytorch| $line"
			record parity tiny "$line" FAIL
		fi
	else
		fail "tiny predict: $(tail -1 "$work/tiny-ours.err")"
		record parity tiny error FAIL
	fi

	say ""
	say "== 3. ViT-ResNAS-Tiny throughput on $device, float32, images/s (median of $repeats batches per run, $rounds rounds A/B/C)"
	jget() { "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
	for b in $batches; do
		for r in $(seq 1 "$rounds"); do
			if "$bin" bench --checkpoint "$tiny" --arch vit-resnas-tiny --device "$device" --batch "$b" --repeats "$repeats" --json >"$work/a.json" 2>"$work/a.err"; then
				record "bench:$b" resnas "$(jget "$work/a.json" images_per_sec)" ok
				if [ "$device" = cuda ] && [ "$(jget "$work/a.json" gpu_resident)" != True ]; then
					fail "resnas bench --batch $b did not run GPU-resident (gpu_resident false)"
				fi
				if [ "$b$r" = "${batches%% *}1" ] && [ "$device" = cuda ]; then
					say "resnas GPU kernels: $(jget "$work/a.json" gpu_kernels)"
				fi
			else
				fail "resnas bench --batch $b: $(tail -1 "$work/a.err")"
				record "bench:$b" resnas nan FAIL
			fi
			for mode in eager sdpa; do
				flag=""
				[ "$mode" = sdpa ] && flag=--sdpa
				if rt bench --checkpoint "$tiny" --arch vit-resnas-tiny --device "$device" --batch "$b" --repeats "$repeats" --warmup 3 $flag >"$work/b.json" 2>"$work/b.err"; then
					record "bench:$b" "pytorch-$mode" "$(jget "$work/b.json" images_per_sec)" ok
					impl=$(jget "$work/b.json" impl)
					if [ "$mode" = sdpa ] && [ "$b$r" = "${batches%% *}1" ] && [ "${impl##* }" != sdpa ]; then
						say "note: $impl has no scaled_dot_product_attention, so the sdpa column is eager too"
					fi
				else
					fail "pytorch $mode bench --batch $b: $(tail -1 "$work/b.err")"
					record "bench:$b" "pytorch-$mode" nan FAIL
				fi
			done
		done
	done
fi

# --- summary ---------------------------------------------------------------------------------
"$py" - "$results" "$work/summary.json" <<-'EOF' | tee -a "$summary"
	import json, math, statistics, sys
	rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
	out = {"parity": {}, "throughput": {}}
	for kind, name, value, verdict in rows:
	    if kind == "parity":
	        try:
	            value = float(value)
	        except ValueError:
	            pass  # "error": resnas did not run
	        out["parity"][name] = {"max_abs_diff": value, "verdict": verdict}
	bench = {}
	for kind, name, value, verdict in rows:
	    if kind.startswith("bench:"):
	        bench.setdefault(int(kind.split(":")[1]), {}).setdefault(name, []).append(float(value))
	if bench:
	    print("")
	    print("%-6s %-24s %-24s %-24s %8s %8s" % ("batch", "resnas img/s", "pytorch eager img/s", "pytorch sdpa img/s", "r/eager", "r/sdpa"))
	for b in sorted(bench):
	    med = {k: statistics.median(v) for k, v in bench[b].items() if not any(math.isnan(x) for x in v)}
	    cell = lambda k: ("%.1f (%s)" % (med[k], " ".join("%.0f" % x for x in bench[b][k]))) if k in med else "n/a"
	    ratio = lambda k: ("%.2fx" % (med["resnas"] / med[k])) if "resnas" in med and k in med else "n/a"
	    print("%-6d %-24s %-24s %-24s %8s %8s" % (b, cell("resnas"), cell("pytorch-eager"), cell("pytorch-sdpa"), ratio("pytorch-eager"), ratio("pytorch-sdpa")))
	    out["throughput"][str(b)] = {k: {"median": med.get(k), "runs": v} for k, v in bench[b].items()}
	verdicts = [r[3] for r in rows]
	out["passed"] = "FAIL" not in verdicts
	json.dump(out, open(sys.argv[2], "w"), indent=1)
EOF
say ""
if [ "$failed" = 0 ]; then say "gpu-check: PASS"; else say "gpu-check: FAIL"; fi
if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT"
	cp "$summary" "$OUT/gpu-check.txt"
	cp "$work/summary.json" "$OUT/gpu-check.json"
fi
exit "$failed"
