#!/usr/bin/env python3
"""How a classifier does on dair-ai/emotion rows, grouped by their "feel" word.

The "feel" word of a text is the first word after feel / feels / feeling / felt, past
intensifiers and function words (so, very, a bit, like, ...). Its training label counts come
from the training texts whose first "feel" word it is. Each evaluated row falls in one group:
- no feel word;
- unseen: its feel word is no training text's;
- clear: seen 5 times or more, 70% or more of them one label;
- clear, rare: the same, seen fewer than 5 times;
- ambiguous (and ambiguous, rare): no label has 70%.
For each group: the rows, the classifier's accuracy, and the accuracy of the rule "the feel
word's most frequent training label".

  emot5 classify --model M --no-generate -i data/emotion/validation.jsonl > pred.jsonl
  python3 research/feel_word_analysis.py data/emotion/train.jsonl data/emotion/validation.jsonl pred.jsonl \
      [--errors N]

--errors N prints N rows of the clear group that the rule gets right and the classifier wrong.
It also counts, in the training file, the texts with two or more feel words of clear but different
labels, and how many carry the first one's label and how many the last one's.
Plain Python, not part of emot5: it records how an analysis of the default model's card was made.
"""
import argparse
import collections
import json

FEEL = {"feel", "feels", "feeling", "felt"}
SKIP = set("""so very really quite pretty super a bit little more most too extremely incredibly kind of sort rather
somewhat just totally completely much less all as even still that the like how this being not no always never
also fairly slightly truly genuinely strangely oddly particularly especially terribly deeply absolutely utterly
almost kinda sorta im i am was is it and to be in about for with when what if but at my me""".split())
GROUPS = ["no feel word", "unseen", "clear", "clear, rare", "ambiguous", "ambiguous, rare"]
CLEAR_SHARE, CLEAR_SEEN = 0.7, 5  # a word is clear with one label on 70%+ of its texts; rare below 5 texts


def feel_words(text):
    w = text.split()
    out = []
    for i, x in enumerate(w):
        if x in FEEL:
            j = i + 1
            while j < len(w) and w[j] in SKIP:
                j += 1
            if j < len(w):
                out.append(w[j])
    return out


def feel_word(text):
    words = feel_words(text)
    return words[0] if words else None


def clear_label(c):
    """The label of CLEAR_SHARE or more of a word's CLEAR_SEEN or more training texts, else None."""
    seen = sum(c.values())
    if seen < CLEAR_SEEN:
        return None
    top, top_n = c.most_common(1)[0]
    return top if top_n / seen >= CLEAR_SHARE else None


def rows(path):
    """The JSON lines of `path`, each with a text and a label; a bad line stops with its file and line."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
                r["text"], r["label"]
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: {e!r}")
            out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("train")
    ap.add_argument("data")
    ap.add_argument("predictions", help="emot5 classify's JSON lines for `data`, in its order")
    ap.add_argument("--errors", type=int, default=0)
    a = ap.parse_args()
    counts = collections.defaultdict(collections.Counter)
    for r in rows(a.train):
        k = feel_word(r["text"])
        if k:
            counts[k][r["label"]] += 1
    first = last = both = 0
    for r in rows(a.train):
        labels = [clear_label(counts[k]) for k in feel_words(r["text"])]
        labels = [l for l in labels if l]
        if len(set(labels)) > 1:
            both += 1
            first += labels[0] == r["label"]
            last += labels[-1] == r["label"]
    print(f"training texts with feel words of different clear labels: {both}; "
          f"the first word's label: {first}, the last word's: {last}")
    data, pred = rows(a.data), rows(a.predictions)
    if len(data) != len(pred):
        raise SystemExit(f"{a.predictions}: {len(pred)} rows for the {len(data)} of {a.data}")
    n, ok, rule_ok = collections.Counter(), collections.Counter(), collections.Counter()
    shown = 0
    for r, p in zip(data, pred):
        if r["text"] != p["text"]:
            raise SystemExit(f"{a.predictions}: rows out of order at '{p['text'][:40]}'")
        k = feel_word(r["text"])
        top = None
        if k is None:
            g = "no feel word"
        elif not counts[k]:
            g = "unseen"
        else:
            c = counts[k]
            seen = sum(c.values())
            top, top_n = c.most_common(1)[0]
            g = ("clear" if top_n / seen >= CLEAR_SHARE else "ambiguous") + (", rare" if seen < CLEAR_SEEN else "")
        n[g] += 1
        ok[g] += p["label"] == r["label"]
        rule_ok[g] += top == r["label"]
        if g == "clear" and top == r["label"] != p["label"] and shown < a.errors:
            shown += 1
            print(f"  {k} {dict(counts[k])}: gold {r['label']}, predicted {p['label']}: {r['text']}")
    print(f"{'group':16s} {'rows':>5s} {'classifier':>10s} {'rule':>6s}")
    for g in GROUPS:
        if n[g]:
            rule = f"{rule_ok[g] / n[g]:.4f}" if g not in ("no feel word", "unseen") else "-"
            print(f"{g:16s} {n[g]:5d} {ok[g] / n[g]:10.4f} {rule:>6s}")
    print(f"{'all':16s} {sum(n.values()):5d} {sum(ok.values()) / sum(n.values()):10.4f}")


if __name__ == "__main__":
    main()
