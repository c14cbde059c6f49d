#!/usr/bin/env bash
# Reduced-scale pixel world-model agent on walker-walk with the true reward: 3 seeds, preset
# `small` (32x32 frames, CNN depth 16, deter 128, stoch 16, batch 16 x 32), 1 update per 5
# environment steps. Resumable: rerunning continues each seed from its last checkpoint.
# Usage: experiments/wm-walker/run.sh [STEPS] (default 30000 environment steps = 60000 frames).
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-30000}
for seed in 0 1 2; do
  CLEARSIGHT_THREADS=1 build/bin/clearsight --seed "$seed" wm train --env walker-walk \
    --preset small --image-size 32 --steps "$steps" --set eval_every=5000 \
    --set eval_episodes=5 --set checkpoint_every=2500 --out "runs/wm-walker/seed$seed" \
    > "runs/wm-walker/seed$seed.log" 2>&1 &
done
wait
