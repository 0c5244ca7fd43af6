#!/bin/bash
# Issue 15's figures for two resnas binaries, side by side in one run: the shipped default's
# largest and smallest sub-networks at batch 256 (GFLOP/s and share of the sgemm that the
# newer binary times in the same run), the largest at batch 1 (latency), then
# `search --max-macs 50%` (30 candidates, seed 1) with each, twice, and whether their
# histories are identical. Usage: scripts/bench-small-networks.sh BEFORE AFTER [OUTDIR]
# (AFTER must have `bench --sgemm`; keep the machine otherwise idle).
set -euo pipefail
BEFORE=$1 AFTER=$2 out=${3:-bench-small-networks}
mkdir -p "$out" && cd "$out"
row() { python3 -c "import json,sys; d=json.load(sys.stdin); sg=d.get('sgemm') or {}; print(round(d['images_per_sec'],1), round(d['gflop_per_sec'],2), round(1e3*d['batch']/d['images_per_sec'],4), round(sg.get('gflop_per_sec',0),1), round(100*d.get('share_of_sgemm',0),1))"; }
echo "round arch batch who images/s GFLOP/s ms/batch sgemm share%" > bench.txt
for r in 1 2 3 4 5; do
  for a in max min; do
    for who in before after; do
      bin=$BEFORE; [ $who = after ] && bin=$AFTER
      echo "$r $a 256 $who $("$bin" bench --arch $a --batch 256 --threads 2 --repeats 20 --json | row)" >> bench.txt
    done
  done
  for who in before after; do
    bin=$BEFORE; [ $who = after ] && bin=$AFTER
    echo "$r max 1 $who $("$bin" bench --arch max --batch 1 --threads 2 --repeats 500 --json | row)" >> bench.txt
  done
done
echo "who seconds candidates/min" > search.txt
for r in 1 2; do
  for who in before after; do
    bin=$BEFORE; [ $who = after ] && bin=$AFTER
    rm -f "j-$who-$r"
    t0=$(date +%s.%N)
    "$bin" search --max-macs 50% --seed 1 --generations 2 --population 20 --mutations 5 --crossovers 5 --journal "j-$who-$r" --json > "s-$who-$r.json" 2>/dev/null
    t1=$(date +%s.%N)
    echo "$who $(python3 -c "print(round($t1 - $t0, 1), round(30 / ($t1 - $t0) * 60, 1))")" >> search.txt
  done
done
python3 - <<'PY' >> search.txt
import json
def load(p):
    return [(d['network_def'], d['top1'], d.get('correct')) for d in map(json.loads, open(p)) if d.get('kind') == 'eval']
base = load('j-before-1')
for p in ['j-before-2', 'j-after-1', 'j-after-2']:
    print(p, 'history identical to j-before-1:', load(p) == base)
PY
cat bench.txt search.txt
