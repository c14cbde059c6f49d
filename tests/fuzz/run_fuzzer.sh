#!/usr/bin/env bash
# Runs a libFuzzer binary for a bounded time:
# run_fuzzer.sh FUZZER CORPUS_DIR SEEDS_DIR SECONDS [MAX_LEN (default 4096 bytes)]
set -euo pipefail
fuzzer=$1 corpus=$2 seeds=$3 seconds=$4 max_len=${5:-4096}
mkdir -p "$corpus"
cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
exec "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
  "$corpus"
