#!/usr/bin/env bash
# The interventions figures of docs/RESULTS.md ("Interventions (issue #16)"): activation and
# attribution patching for one task per modality on each built-in model, a ReLU and a TopK SAE on
# layer 1's residual stream of each model, and the red-vs-blue steering vector on scene_vqa.
# Every run directory lands under docs/results/interventions/<name>/ with its report and a
# <name>.json (the --json output) and <name>.time (wall seconds) next to it. A finished run is
# skipped on a rerun; delete its folder to redo it.
# Usage: experiments/interventions/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cli=build/bin/clearsight
out=docs/results/interventions
mkdir -p "$out"
run() {
  local name=$1
  shift
  [ -f "$out/$name.json" ] && return 0
  local start
  start=$(date +%s%N)
  "$cli" --quiet "$@" --out "$out/$name" --json > "$out/$name.json.tmp"
  mv "$out/$name.json.tmp" "$out/$name.json"
  python3 -c "import sys; print((int(sys.argv[1]) - int(sys.argv[2])) / 1e9)" "$(date +%s%N)" \
    "$start" > "$out/$name.time"
  echo "$name: $(cat "$out/$name.time") s"
}
run patch-vl explain patch --model cs-tiny-vl --task scene_vqa --samples 8 --corrupt blank
run patch-vl-video explain patch --model cs-tiny-vl --task motion_qa --samples 8 --corrupt blank
run patch-audio explain patch --model cs-tiny-audio --task sound_event --samples 8 --corrupt blank
run patch-audio-speech explain patch --model cs-tiny-audio --task speech --samples 8 \
  --corrupt shuffle
run sae-vl sae train --model cs-tiny-vl --hook blocks.1.hook_resid_post --features 512 --steps 500
run sae-vl-topk sae train --model cs-tiny-vl --hook blocks.1.hook_resid_post --features 512 \
  --steps 500 --architecture topk --k 16
run sae-audio sae train --model cs-tiny-audio --task sound_event --hook blocks.1.hook_resid_post \
  --features 512 --steps 500
run steer-vl explain steer --model cs-tiny-vl --task scene_vqa --scales -4 -2 2 4 8
run steer-vl-pca explain steer --model cs-tiny-vl --task scene_vqa --vector pca --scales -4 -2 2 4 8
