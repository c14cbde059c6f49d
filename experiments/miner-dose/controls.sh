#!/usr/bin/env bash
# MINER's controls beyond random neurons (run after run.sh): as many neurons as MINER's selection
# holds at 2% and 5%, chosen by activation magnitude alone and by attribution (|activation x
# gradient| of the answer's log-probability), scored on the same validation samples and evaluated
# like the doses. Resumable like run.sh; one JSON per control under experiments/miner-dose/<model>/.
# Usage: experiments/miner-dose/controls.sh [model=cs-tiny-vl] [test=500] [score=200]
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-cs-tiny-vl}
test_samples=${2:-500}
score_samples=${3:-200}
cli=build/bin/clearsight
out=experiments/miner-dose/$model
if [ "$model" = cs-tiny-vl ]; then
  tasks=scene_vqa,scene_caption,text_choice,motion_qa
else
  tasks=text_choice,speech,sound_event
fi
for r in 0.02 0.05; do
  [ -f "$out/ratio-$r.json" ] || { echo "run experiments/miner-dose/run.sh $model first" >&2; exit 1; }
  n=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['neurons'])" \
    "$out/ratio-$r.json")
  for by in magnitude attribution; do
    sel=$out/selections/$by-$r.safetensors
    [ -f "$sel" ] || "$cli" --quiet miner baseline --model "$model" --by "$by" --tasks "$tasks" \
      --split validation --samples "$score_samples" --neurons "$n" --out "$sel" > /dev/null
    res=$out/$by-$r.json
    if [ ! -f "$res" ]; then
      "$cli" --quiet miner eval --model "$model" --selection "$sel" --samples "$test_samples" \
        --random-seeds 0 --json > "$res.tmp"
      mv "$res.tmp" "$res"
    fi
    echo "$by at MINER's $r size ($n neurons) done: $res"
  done
done
