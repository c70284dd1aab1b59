#!/bin/bash
# Alternating wall-clock A/B of `emot5 classify` builds on one machine: each binary classifies
# the same input REPS times, turn about, and the fastest and every time are printed per binary.
# Hosts of this kind vary 10-20% between minutes, so compare the minima of one run only.
#   research/classify_ab.sh REPS PRECISION BINARY...   (MODEL, INPUT and EXTRA from the environment)
# e.g. MODEL=/tmp/formula INPUT=/tmp/t4000.jsonl research/classify_ab.sh 4 int8 /tmp/emot5_a build/emot5
set -euo pipefail
reps=$1; prec=$2; shift 2
for i in $(seq "$reps"); do
  for b in "$@"; do
    /usr/bin/time -o /tmp/classify_ab_time -f "%e" "$b" classify --model "${MODEL:-models/emot5-small}" \
      --input "${INPUT:-data/emotion/test.jsonl}" --output /tmp/classify_ab_out.jsonl --precision "$prec" \
      --threads 2 ${EXTRA:-} >/dev/null 2>&1
    echo "$b $(tail -1 /tmp/classify_ab_time)"
  done
done | awk '{v[$1]=v[$1]" "$2; if (!($1 in m) || $2<m[$1]) m[$1]=$2} END {for (b in m) print b, "fastest", m[b], "s; all:", v[b]}'
