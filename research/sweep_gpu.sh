#!/usr/bin/env bash
# Runs research/sweep_gpu.py for several recipes at once on one GPU; results in $OUT/sweep.jsonl.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp}
base='"d":256,"h":8,"ff":768,"enc":4,"dec":1,"bs":32,"epochs":20,"warmup":500,"seed":42'
run() { python3 research/sweep_gpu.py data/emotion data/t5-tokenizer/spiece.model "$OUT/sweep.jsonl" "$1={$base,$2}" > "$OUT/$1.log" 2>&1 & }
# Round 1 (20 epochs): A lr 1e-3 ls 0; B dropout 0.2; C lr 5e-4 ls 0.1; D balanced; E lr 2e-3 wd 0.1;
# F dropout 0.3. Round 2 (12 epochs) varies the embedding init, which HF sets to std 1.0.
base2="${base/\"epochs\":20/\"epochs\":${EPOCHS:-12}}"
run2() { python3 research/sweep_gpu.py data/emotion data/t5-tokenizer/spiece.model "$OUT/sweep.jsonl" "$1={$base2,$2}" > "$OUT/$1.log" 2>&1 & }
run2 G '"lr":5e-4,"dropout":0.1,"wd":0.01,"ls":0.1,"emb_std":0.05'
run2 H '"lr":1e-3,"dropout":0.1,"wd":0.01,"ls":0.1,"emb_std":0.05'
run2 I '"lr":5e-4,"dropout":0.2,"wd":0.01,"ls":0.1,"emb_std":0.05'
run2 J '"lr":5e-4,"dropout":0.1,"wd":0.01,"ls":0.1,"emb_std":0.05,"tied":false'
run2 K '"lr":5e-4,"dropout":0.1,"wd":0.01,"ls":0.1,"emb_std":0.2'
run2 L '"lr":3e-4,"dropout":0.1,"wd":0.01,"ls":0.1,"emb_std":0.05'
wait
python3 - "$OUT/sweep.jsonl" <<'PY'
import json, sys, collections
best = collections.defaultdict(lambda: (0, 0, 0))
for l in open(sys.argv[1]):
    r = json.loads(l)
    best[r["name"]] = max(best[r["name"]], (r["val_f1"], r["val_acc"], r["epoch"]))
for k, v in sorted(best.items()):
    print(k, "best val macro-F1 %.4f acc %.4f at epoch %d" % v)
PY
