#!/usr/bin/env python3
"""Counterfactual "feel word" copies of dair-ai/emotion's training file.

dair-ai/emotion's label follows the word after "feel" ("i feel X"); a from-scratch model reads
a text as a bag of emotion words instead and, on validation, misses rows whose feel word is a
clear one (research/feel_word_analysis.py: seen 5+ times in training, 70%+ of them one label) when
the rest of the text holds another emotion's words. This writes copies of training rows whose
feel word is clear and carries the row's label, with that word (every whole-word occurrence of
it) replaced by a clear feel word of another label, and the copy labelled with that word's
label: the same context, another feel word, another label. The other label is drawn in
proportion to the labels' training counts, the word in proportion to its count as a feel word.
The original rows are written first, unchanged.

  python3 research/augment_feel_swap.py data/emotion/train.jsonl OUT.jsonl [--fraction 0.5] [--seed 42]

Plain Python, not part of emot5: it exists to record how an experiment of the default model's
card was made.
"""
import argparse
import collections
import json
import random

from feel_word_analysis import clear_label, feel_word, rows as read_rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--fraction", type=float, default=0.5, help="share of the eligible rows that get a copy")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = [(r["text"], r["label"]) for r in read_rows(a.input)]
    counts = collections.defaultdict(collections.Counter)
    for text, label in rows:
        k = feel_word(text)
        if k:
            counts[k][label] += 1
    words = collections.defaultdict(list)  # label -> [(word, count)] of the clear feel words
    for k, c in sorted(counts.items()):
        l = clear_label(c)
        if l:
            words[l].append((k, sum(c.values())))
    label_n = collections.Counter(label for _, label in rows)
    copies = []
    for text, label in rows:
        k = feel_word(text)
        if not k or clear_label(counts[k]) != label or rng.random() >= a.fraction:
            continue
        others = sorted(l for l in words if l != label)
        other = rng.choices(others, weights=[label_n[l] for l in others])[0]
        new = rng.choices([w for w, _ in words[other]], weights=[n for _, n in words[other]])[0]
        copies.append((" ".join(new if w == k else w for w in text.split()), other))
    with open(a.output, "w", encoding="utf-8") as f:
        for text, label in rows + copies:
            f.write(json.dumps({"text": text, "label": label}) + "\n")
    clear = {l: len(w) for l, w in sorted(words.items())}
    print(f"{len(rows)} rows and {len(copies)} copies written to {a.output}; clear feel words per label: {clear}; "
          f"copies per label: {dict(sorted(collections.Counter(l for _, l in copies).items()))}")


if __name__ == "__main__":
    main()
