#!/usr/bin/env python3
"""Synonym augmentation of a JSON-lines text classification file with WordNet.

Each row whose text holds an adjective that WordNet knows gets copies in which such
adjectives are replaced by synonyms: the other words of the word's first senses and of
the senses those are "similar to". The original rows are written first, unchanged.

  python3 research/augment_synonyms.py data/emotion/train.jsonl OUT.jsonl \
      [--wordnet /usr/share/wordnet] [--copies 1] [--senses 2] [--p 0.5] [--seed 42] [--skip-top 150]

WordNet comes from Debian's wordnet-base package. Plain Python, not part of emot5:
it exists to record how an experiment of the default model's card was made.
"""
import argparse
import json
import os
import random
import re
import sys

# Words WordNet lists as adjectives that work as function words or intensifiers in
# these texts; replacing them adds noise, not vocabulary.
SKIP = set("""
like more much little few many other same such own just very so well all only even still
that this what first last next able sure real pretty quite whole enough less least most
better best new old long high low big small right left due fine okay ok due back due
free full open close past present certain different due general good bad great kind
""".split())


def records(path):
    """The fields of each entry line of a WordNet database file (the licence lines start with two
    spaces); a data file's gloss, after " | ", is left out."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "):
                yield line.split(" | ")[0].split()


def read_index(path):
    senses = {}
    for parts in records(path):
        p_cnt = int(parts[3])
        senses[parts[0]] = parts[4 + p_cnt + 2:]  # lemma -> synset offsets, most frequent sense first
    return senses


def read_data(path):
    synsets = {}
    for parts in records(path):
        w_cnt = int(parts[3], 16)
        words = [re.sub(r"\(.*\)$", "", parts[4 + 2 * i]).lower() for i in range(w_cnt)]
        k = 4 + 2 * w_cnt
        similar = []
        for i in range(int(parts[k])):
            symbol, target, pos = parts[k + 1 + 4 * i: k + 4 + 4 * i]
            if symbol == "&" and pos in ("a", "s"):
                similar.append(target)
        synsets[parts[0]] = (words, similar)
    return synsets


def synonyms(word, index, synsets, n_senses):
    found = []
    for offset in index.get(word, [])[:n_senses]:
        words, similar = synsets[offset]
        found += words
        for other in similar:
            found += synsets[other][0]
    return sorted({w for w in found if w != word and re.fullmatch(r"[a-z]+", w)})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--wordnet", default="/usr/share/wordnet")
    ap.add_argument("--copies", type=int, default=1)
    ap.add_argument("--senses", type=int, default=2)
    ap.add_argument("--p", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-top", type=int, default=150, help="never replace the N most frequent words")
    args = ap.parse_args()

    index = read_index(os.path.join(args.wordnet, "index.adj"))
    synsets = read_data(os.path.join(args.wordnet, "data.adj"))
    rng = random.Random(args.seed)
    rows = []
    with open(args.input, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"{args.input}:{n}: {e}")
    counts = {}
    for row in rows:
        for w in row["text"].split(" "):
            counts[w] = counts.get(w, 0) + 1
    # The most frequent words are function words (and "i", WordNet's adjective "one").
    frequent = set(sorted(counts, key=counts.get, reverse=True)[:args.skip_top])
    extra = []
    cache = {}
    for row in rows:
        words = row["text"].split(" ")
        slots = []
        for i, w in enumerate(words):
            if w in SKIP or w in frequent or len(w) < 4:
                continue
            if w not in cache:
                cache[w] = synonyms(w, index, synsets, args.senses)
            if cache[w]:
                slots.append(i)
        if not slots:
            continue
        for _ in range(args.copies):
            chosen = [i for i in slots if rng.random() < args.p] or [rng.choice(slots)]
            new = list(words)
            for i in chosen:
                new[i] = rng.choice(cache[words[i]])
            extra.append(dict(row, text=" ".join(new)))
    with open(args.output, "w", encoding="utf-8") as f:
        for row in rows + extra:
            f.write(json.dumps(row) + "\n")
    print(f"{len(rows)} rows, {len(extra)} augmented copies -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
