#!/usr/bin/env bash
# MINER's dose-response on a built-in model: stage 2-3 scores of every preset task (validation,
# SCORE samples each), then for each ratio a LA_MU selection with the paper's default weights and
# `miner eval` of it on TEST samples per task against SEEDS random selections of the same size.
# Resumable: every finished step leaves a file that a rerun reuses; results are one JSON per ratio
# under experiments/miner-dose/<model>/ (committed), summarised by summarise.py.
# Usage: experiments/miner-dose/run.sh [model=cs-tiny-vl] [test=500] [seeds=5] [score=200]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-cs-tiny-vl}
test_samples=${2:-500}
seeds=${3:-5}
score_samples=${4:-200}
cli=build/bin/clearsight
out=experiments/miner-dose/$model
mkdir -p "$out/scores" "$out/selections"
if [ "$model" = cs-tiny-vl ]; then
  tasks=(scene_vqa scene_caption text_choice motion_qa)
else
  tasks=(text_choice speech sound_event)
fi
scores=()
for t in "${tasks[@]}"; do
  f=$out/scores/$t.safetensors
  [ -f "$f" ] || "$cli" --quiet miner score --model "$model" --task "$t" --split validation \
    --samples "$score_samples" --out "$f"
  scores+=("$f")
done
for r in 0.005 0.01 0.02 0.05 0.1 0.2; do
  sel=$out/selections/ratio-$r.safetensors
  [ -f "$sel" ] || "$cli" --quiet miner select --scores "${scores[@]}" --ratio "$r" --out "$sel" \
    >/dev/null
  res=$out/ratio-$r.json
  if [ ! -f "$res" ]; then
    "$cli" --quiet miner eval --model "$model" --selection "$sel" --samples "$test_samples" \
      --random-seeds "$seeds" --json > "$res.tmp"
    mv "$res.tmp" "$res"
  fi
  echo "ratio $r done: $res"
done
# Phase 2 (at the paper's 2%): each metric alone, and the official code's attention scores
# (--faithful), each evaluated like the doses.
declare -A weights=([prob]=1,0,0,0,0 [mean]=0,1,0,0,0 [max]=0,0,1,0,0 [attn_k]=0,0,0,1,0
                    [attn_q]=0,0,0,0,1)
for m in prob mean max attn_k attn_q; do
  sel=$out/selections/metric-$m.safetensors
  [ -f "$sel" ] || "$cli" --quiet miner select --scores "${scores[@]}" --ratio 0.02 \
    --weights "${weights[$m]}" --out "$sel" >/dev/null
  res=$out/metric-$m.json
  if [ ! -f "$res" ]; then
    "$cli" --quiet miner eval --model "$model" --selection "$sel" --samples "$test_samples" \
      --random-seeds 0 --json > "$res.tmp"
    mv "$res.tmp" "$res"
  fi
  echo "metric $m done: $res"
done
mkdir -p "$out/scores-faithful"
faithful=()
for t in "${tasks[@]}"; do
  f=$out/scores-faithful/$t.safetensors
  [ -f "$f" ] || "$cli" --quiet miner score --model "$model" --task "$t" --split validation \
    --samples "$score_samples" --faithful --out "$f"
  faithful+=("$f")
done
sel=$out/selections/faithful-0.02.safetensors
[ -f "$sel" ] || "$cli" --quiet miner select --scores "${faithful[@]}" --ratio 0.02 --out "$sel" \
  >/dev/null
res=$out/faithful-0.02.json
if [ ! -f "$res" ]; then
  "$cli" --quiet miner eval --model "$model" --selection "$sel" --samples "$test_samples" \
    --random-seeds 0 --json > "$res.tmp"
  mv "$res.tmp" "$res"
fi
echo "faithful done: $res"
