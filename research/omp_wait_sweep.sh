#!/usr/bin/env bash
# How OpenMP's wait setting trades idle speed and batch-1 latency against the share kept beside a
# busy process: for each setting given (e.g. GOMP_SPINCOUNT=1000 OMP_WAIT_POLICY=passive), runs
# emot5 bench idle and then beside `while :; do :; done`, and prints texts/s at batch 32 and the
# batch-1 latency line. emot5 bench --contended measures the same for the setting in force.
# usage: research/omp_wait_sweep.sh EMOT5 SETTING...
set -euo pipefail
bin=$1; shift
run() { env "$@" "$bin" bench --threads 2 --batch-sizes 32 --limit 1000 --latency-texts 100 2>&1 |
  grep -E "^32 |p50" | awk '{printf "%s ", ($1=="32") ? $2 : $0}'; echo; }
for e in "$@"; do
  echo "idle $e: $(run "$e")"
  bash -c 'while :; do :; done' & busy=$!
  sleep 0.5
  echo "busy $e: $(run "$e")"
  kill "$busy"
done
