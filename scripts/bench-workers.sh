#!/usr/bin/env bash
# Candidates per minute of a search in-process, on 1 worker and on 2 workers (1 thread each),
# side by side in one run, alternating setups, on the shipped default (--limit 1000, 50% of
# the largest network's MACs). Also checks that every setup wrote the same CSV.
#
# usage: scripts/bench-workers.sh [ROUNDS]   (run on an otherwise idle machine)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/resnas" .
for round in $(seq 1 "$rounds"); do
  for setup in "in-process:--threads 1" "1-worker:--workers 1 --threads 1" "2-workers:--workers 2 --threads 2"; do
    name=${setup%%:*}; flags=${setup#*:}
    # shellcheck disable=SC2086 # flags are words
    "$work/resnas" search --limit 1000 --max-macs 50% --seed 3 --journal "$work/j-$name-$round.jsonl" \
      --export "$work/c-$name-$round.csv" $flags --json 2>/dev/null > "$work/r.json"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('%-10s round %s: %d evaluations in %.1f s = %.1f candidates/min' % (sys.argv[2], sys.argv[3], d['evaluations'], d['seconds'], 60*d['evaluations']/d['seconds']))" "$work/r.json" "$name" "$round"
  done
done
echo "distinct CSVs: $(md5sum "$work"/c-*.csv | awk '{print $1}' | sort -u | wc -l) (want 1)"
