#!/usr/bin/env bash
# Reduced-scale SENSOR reproduction on walker-walk (issue #15): SENSOR, SENSOR-decoupled, the
# fixed-camera imitator and the expert-camera upper bound, from a small (azimuth 60) and a hard
# (azimuth 0, elevation -15) starting camera, expert camera (3, 90, -45), 3 seeds, preset
# `small` (32 x 32), STEPS environment steps per run (default 10000 = 20000 frames; the config's
# 30000 is the full reduced budget). Runs seed by seed so that early sessions finish whole seeds.
# Resumable: rerunning continues every unfinished run from its last checkpoint.
# Usage: experiments/sensor-walker/run.sh [STEPS] [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
steps=${1:-10000}
out=${2:-runs/bench-sensor-walker}
for seeds in '[0]' '[1]' '[2]'; do
  CLEARSIGHT_THREADS=1 OPENBLAS_NUM_THREADS=1 build/bin/clearsight bench-sensor \
    --config configs/bench-sensor/walker-walk.json --set "steps=$steps" --set "seeds=$seeds" \
    --out "$out"
done
build/bin/clearsight bench-sensor --config configs/bench-sensor/walker-walk.json \
  --set "steps=$steps" --out "$out" --report-only
