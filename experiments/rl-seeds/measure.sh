#!/usr/bin/env bash
# Throughput of N SAC seeds trained in one process (`rl train --seeds N`) against the same N seeds
# as N separate processes started together on the same machine. Prints one JSON line per case.
# Usage: experiments/rl-seeds/measure.sh [steps=6000] [N...=1 4 8]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-6000}
shift || true
counts=("$@")
[ "${#counts[@]}" -gt 0 ] || counts=(1 4 8)
cli=build/bin/clearsight
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
common=(rl train --env Hopper-v4 --algo sac --steps "$steps" --set sac.learning_starts=1000
        --set eval_every=1000000 --set eval_episodes=1 --set checkpoint_every=1000000)
for n in "${counts[@]}"; do
  start=$(date +%s.%N)
  "$cli" --quiet --seed 0 "${common[@]}" --seeds "$n" --out "$work/one-$n" >/dev/null
  one=$(echo "$(date +%s.%N) - $start" | bc)
  start=$(date +%s.%N)
  pids=()
  for ((k = 0; k < n; k++)); do
    "$cli" --quiet --seed "$k" "${common[@]}" --out "$work/sep-$n-$k" >/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  sep=$(echo "$(date +%s.%N) - $start" | bc)
  echo "{\"seeds\": $n, \"steps_per_seed\": $steps, \"one_process_s\": $one, \"separate_processes_s\": $sep, \"one_process_steps_per_s\": $(echo "$n * $steps / $one" | bc -l), \"separate_steps_per_s\": $(echo "$n * $steps / $sep" | bc -l)}"
done
