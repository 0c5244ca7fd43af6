#!/usr/bin/env bash
# Trains the shipped default supernet and refreshes checkpoints/shipped/default/ (weights, sub-val shards
# and a 2,000-image test shard), exactly as recorded in checkpoints/README.md.
#
# usage: scripts/train-default.sh [WORKDIR]    (needs: apt-get install dataset-fashion-mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-/tmp/resnas-default}
src=/usr/share/datasets/fashion-mnist
epochs=${EPOCHS:-48}
seed=${SEED:-1}
[ -d "$src" ] || { echo "no $src: apt-get install dataset-fashion-mnist" >&2; exit 1; }
mkdir -p "$work"
go build -o "$work/resnas" .
rm -rf "$work/train" "$work/test" "$work/test-small"
"$work/resnas" shards build --from "$src" --out "$work/train" --split train --holdout-per-class 1000
"$work/resnas" shards build --from "$src" --out "$work/test" --split test
"$work/resnas" shards build --from "$src" --out "$work/test-small" --split test --limit 2000
start=$(date +%s)
# Every recipe flag is explicit, so a change of defaults does not change what this builds.
"$work/resnas" train --space fmnist-wide --data "$work/train" --out "$work/supernet.safetensors" \
  --epochs "$epochs" --seed "$seed" --batch 128 --examples-per-arch 32 --channel-warmup 10 --sandwich --largest-groups 2 \
  --lr 0.001 --lr-warmup 1 --wd 0.05 --smoothing 0.1 --drop-path 0.05 --erase 0 --val-images 2000 \
  --json | tee "$work/train.json"
echo "training wall time: $(( $(date +%s) - start )) s" | tee "$work/train-time.txt"
rm -rf checkpoints/shipped/default/sub-val checkpoints/shipped/default/test
cp "$work/supernet.safetensors" checkpoints/shipped/default/supernet.safetensors
cp -r "$work/train/sub-val" checkpoints/shipped/default/sub-val
cp -r "$work/test-small" checkpoints/shipped/default/test
for a in max min; do
  "$work/resnas" eval --arch "$a" --data "$work/test" --json
done
