#!/usr/bin/env bash
# Builds emot5 against the CUDA libtorch inside the local PyTorch wheel (build-cuda/) and checks
# `emot5 train --device cuda` on a tiny fixture model: 20 steps on the GPU against the same 20 on
# the CPU (dropout 0), and against an uninterrupted GPU run: one stopped at step 7 and resumed, and
# one killed with SIGKILL once a checkpoint exists and resumed.
# Needs the Debian packages of scripts/setup.sh (or their files through EXTRA_PREFIX), python3
# with torch and safetensors, and a GPU. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
TP=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
mkdir -p build-cuda
echo "building build-cuda/ (log: build-cuda/build.log)"
cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMOT5_BUILD_TESTS=OFF \
  "-DCMAKE_PREFIX_PATH=$TP${EXTRA_PREFIX:+;$EXTRA_PREFIX}" > build-cuda/build.log
cmake --build build-cuda --target emot5_cli -j "$(nproc)" >> build-cuda/build.log
E=build-cuda/emot5-train
R=$(mktemp -d)
head -400 data/emotion/train.jsonl > "$R/train.jsonl"
base=(train --init tests/data/tiny-v10-f32 --data "$R/train.jsonl" --max-steps 20 --batch-size 4 --lr 1e-3
      --save-every 5 --threads 2 --seed 7)
for d in cpu cuda; do "$E" "${base[@]}" --dropout 0 --device "$d" --out "$R/$d" 2>&1 | tail -1; done
python3 tools/compare_weights.py "$R/cpu" "$R/cuda" "CPU vs CUDA, 20 steps, dropout 0"
"$E" "${base[@]}" --device cuda --out "$R/full" 2>&1 | tail -1
"$E" "${base[@]}" --device cuda --out "$R/stop" --stop-after 7 2>&1 | tail -1
"$E" train --resume "$R/stop" --device cuda --threads 2 2>&1 | tail -1
python3 tools/compare_weights.py "$R/full" "$R/stop" "CUDA, uninterrupted vs stopped at 7 and resumed"
"$E" "${base[@]}" --device cuda --out "$R/kill" > "$R/kill.log" 2>&1 &
pid=$!
killed=""
while kill -0 "$pid" 2> /dev/null; do
  if [ -f "$R/kill/checkpoints/latest" ]; then kill -9 "$pid"; killed=$(cat "$R/kill/checkpoints/latest"); break; fi
  sleep 0.005
done
rc=0; wait "$pid" || rc=$?
if [ -n "$killed" ] && [ "$rc" = 137 ] && [ ! -f "$R/kill/model.safetensors" ]; then
  echo "killed with SIGKILL after checkpoint $killed"
  "$E" train --resume "$R/kill" --device cuda --threads 2 2>&1 | tail -1
  python3 tools/compare_weights.py "$R/full" "$R/kill" "CUDA, uninterrupted vs killed after $killed and resumed"
else
  echo "the SIGKILL check did not happen: the run ended first (exit $rc), nothing compared"
fi
rm -rf "$R"
