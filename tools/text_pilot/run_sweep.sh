#!/bin/bash
# Runs SWEEP.json on N worker processes sharing one GPU; results land in $OUT.
set -u
sweep=$1; n=$2
cd "$(dirname "$0")"
nvidia-smi --query-gpu=name,memory.used --format=csv,noheader || true
pids=()
for w in $(seq 0 $((n-1))); do
  PYTHONUNBUFFERED=1 python3 textlab.py "$sweep" "$w" "$n" "$OUT/results.jsonl" --device cuda \
    > "/tmp/w$w.log" 2>&1 &
  pids+=($!)
done
( while sleep 45; do date +%T; tail -n 16 "$OUT/results.jsonl.progress" 2>/dev/null | cut -c1-140; done ) &
mon=$!
trap 'tail -n 3 /tmp/w*.log > "$OUT/workers.log"' EXIT
wait "${pids[@]}"
kill $mon
