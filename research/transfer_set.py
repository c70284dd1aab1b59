#!/usr/bin/env python3
"""A transfer set for distillation: perturbed copies of the training texts, labelled by a teacher.

Distilling a teacher into a student on the training texts alone shows the student little of how
the teacher generalizes: on those texts its answers are mostly the labels. Tang et al. (2019,
"Distilling task-specific knowledge from BERT into simple neural networks") add new texts made
from the training texts, which the teacher labels. This writes such texts:

  perturb TRAIN OUT [--copies 2] [--seed 42]
      For each row of TRAIN, COPIES copies of its text, each word
        - dropped with probability --drop (0.1), or else
        - with probability --replace (0.15) replaced by a word seen after the same previous word
          somewhere in TRAIN (a cheap stand-in for Tang et al.'s same-part-of-speech swap: after
          "feel" comes another word that follows "feel"), and then,
        - with probability --window (0.25), only a random run of at least 3 of its words kept.
      A copy equal to its source text or to an empty text is drawn again (up to 10 times, then
      left out). Each line is {"text", "label" (its source row's), "source" (that row's index)}.

  relabel DATA SCORES OUT
      DATA: lines with a text, a label and an optional "source"; SCORES: one line per line of DATA
      with its text and "scores" (as `emot5 bilstm-scores --score DATA` or `emot5 classify
      --no-generate -i DATA` write them). OUT: DATA with each copy's (a line with "source") label
      replaced by the teacher's most probable label. The rows without "source" keep their labels.

The whole recipe (models/emot5-small/README.md gives the run):

  python3 research/transfer_set.py perturb data/emotion/train.jsonl runs/tr/copies.jsonl
  cat data/emotion/train.jsonl runs/tr/copies.jsonl > runs/tr/all.jsonl
  build/emot5 bilstm-scores --data data/emotion/train.jsonl --score runs/tr/all.jsonl \\
      --out runs/tr/scores.jsonl
  python3 research/transfer_set.py relabel runs/tr/all.jsonl runs/tr/scores.jsonl runs/tr/train.jsonl
  build/emot5 train --data runs/tr/train.jsonl --teacher-scores runs/tr/scores.jsonl ...

Plain Python, not part of emot5: it exists to record how an experiment of the default model's
card was made.
"""
import argparse
import collections
import json
import random
import sys


def read_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: invalid JSON: {e}")
    return rows


def perturb(args):
    rows = read_jsonl(args.train)
    texts = [r["text"].split() for r in rows]
    followers = collections.defaultdict(list)  # previous word (None at the start) -> next words
    for words in texts:
        for prev, w in zip([None] + words[:-1], words):
            followers[prev].append(w)
    rng = random.Random(args.seed)

    def one_copy(words):
        out = []
        for i, w in enumerate(words):
            u = rng.random()
            if u < args.drop:
                continue
            if u < args.drop + args.replace:
                prev = out[-1] if out else (None if i == 0 else words[i - 1])
                w = rng.choice(followers.get(prev) or followers[None])
            out.append(w)
        if len(out) > 3 and rng.random() < args.window:
            n = rng.randint(3, len(out))
            s = rng.randint(0, len(out) - n)
            out = out[s:s + n]
        return out

    written = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for idx, (row, words) in enumerate(zip(rows, texts)):
            for _ in range(args.copies):
                for _attempt in range(10):
                    c = one_copy(words)
                    if c and c != words:
                        f.write(json.dumps({"text": " ".join(c), "label": row["label"], "source": idx}) + "\n")
                        written += 1
                        break
    print(f"{written} copies of {len(rows)} rows written to {args.out}", file=sys.stderr)


def relabel(args):
    data, scores = read_jsonl(args.data), read_jsonl(args.scores)
    if len(data) != len(scores):
        sys.exit(f"{args.scores}: {len(scores)} lines for the {len(data)} of {args.data}")
    changed = copies = 0
    with open(args.out, "w", encoding="utf-8") as f:
        for n, (row, sc) in enumerate(zip(data, scores), 1):
            if sc.get("text", row["text"]) != row["text"]:
                sys.exit(f"{args.scores}:{n}: its text is not line {n}'s of {args.data}")
            if "source" in row:
                top = max(sc["scores"].items(), key=lambda kv: kv[1])[0]
                copies += 1
                changed += top != row["label"]
                row = dict(row, label=top)
            f.write(json.dumps(row) + "\n")
    print(f"{copies} copies relabelled, {changed} of them away from their source row's label; "
          f"written to {args.out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("perturb")
    p.add_argument("train")
    p.add_argument("out")
    p.add_argument("--copies", type=int, default=2)
    p.add_argument("--drop", type=float, default=0.1)
    p.add_argument("--replace", type=float, default=0.15)
    p.add_argument("--window", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=42)
    p.set_defaults(fn=perturb)
    r = sub.add_parser("relabel")
    r.add_argument("data")
    r.add_argument("scores")
    r.add_argument("out")
    r.set_defaults(fn=relabel)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
