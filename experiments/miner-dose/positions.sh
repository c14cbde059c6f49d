#!/usr/bin/env bash
# Where MINER's neurons act (run after run.sh): the 5% and 20% selections ablated only at the
# modality's own prompt positions (image / video for VL, audio for audio), only at the text and
# special positions, and everywhere (the dose run), with random selections of the same size at the
# same positions. Resumable; one JSON per cell under experiments/miner-dose/<model>/.
# Usage: experiments/miner-dose/positions.sh [model=cs-tiny-vl] [test=500] [random_seeds=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-cs-tiny-vl}
test_samples=${2:-500}
seeds=${3:-3}
cli=build/bin/clearsight
out=experiments/miner-dose/$model
if [ "$model" = cs-tiny-vl ]; then own=image,video; else own=audio; fi
for r in 0.05 0.2; do
  sel=$out/selections/ratio-$r.safetensors
  [ -f "$sel" ] || { echo "run experiments/miner-dose/run.sh $model first" >&2; exit 1; }
  for where in own text; do
    if [ "$where" = own ]; then pos=$own; else pos=text,special; fi
    res=$out/positions-$where-$r.json
    if [ ! -f "$res" ]; then
      "$cli" --quiet miner eval --model "$model" --selection "$sel" --samples "$test_samples" \
        --positions "$pos" --random-seeds "$seeds" --json > "$res.tmp"
      mv "$res.tmp" "$res"
    fi
    echo "ratio $r at $pos positions done: $res"
  done
done
