#!/usr/bin/env python3
"""Distractor augmentation of dair-ai/emotion's training file.

dair-ai/emotion's label follows the word after "feel" ("i feel X"): of the training texts whose
"feel" words point to different labels, 84 of 95 carry the first one's
(research/feel_word_analysis.py). A from-scratch model reads such texts as a bag of emotion words
and answers with another one (validation: "im with my boyfriend and friends i feel fine and
genuinely happy but the minute im alone i feel depressed" is joy, the default model said
sadness). This writes copies of training rows with another
row's text of another label added, keeping the row's label:
- after the row's text (its "feel" word stays the first), or
- before it, with that text's own feel verbs (feel, feels, feeling, felt) removed, so that its
  emotion words come first but are not what the post "feels".
Only rows whose text has a feel verb get copies. The original rows are written first, unchanged.

  python3 research/augment_distractors.py data/emotion/train.jsonl OUT.jsonl \
      [--fraction 0.5] [--before 0.5] [--seed 42]

Plain Python, not part of emot5: it exists to record how an experiment of the default model's
card was made.
"""
import argparse
import json
import random

FEEL = {"feel", "feels", "feeling", "felt"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--fraction", type=float, default=0.5, help="share of the rows with a feel verb that get a copy")
    ap.add_argument("--before", type=float, default=0.5, help="share of the copies with the other text in front")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = []
    with open(a.input, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
                rows.append((r["text"], r["label"]))
            except (ValueError, KeyError) as e:
                raise SystemExit(f"{a.input}:{n}: {e}")
    by_label = {}
    for text, label in rows:
        by_label.setdefault(label, []).append(text)
    copies = []
    for text, label in rows:
        if not FEEL & set(text.split()) or rng.random() >= a.fraction:
            continue
        other = rng.choice([l for l in by_label if l != label])
        extra = rng.choice(by_label[other])
        if rng.random() < a.before:
            stripped = " ".join(w for w in extra.split() if w not in FEEL)
            copies.append((stripped + " " + text, label))
        else:
            copies.append((text + " " + extra, label))
    with open(a.output, "w", encoding="utf-8") as f:
        for text, label in rows + copies:
            f.write(json.dumps({"text": text, "label": label}) + "\n")
    print(f"{len(rows)} rows and {len(copies)} copies written to {a.output}")


if __name__ == "__main__":
    main()
