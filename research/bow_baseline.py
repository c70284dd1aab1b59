#!/usr/bin/env python3
"""A word-count baseline for the model card, in plain Python (no numpy): logistic regression on the
word unigrams and bigrams of the training split (SGD, 8 epochs, seed 0), scored on the validation
split alone and averaged with a model's probabilities from `emot5 classify --format jsonl`.

usage: bow_baseline.py TRAIN_JSONL VALIDATION_JSONL CLASSIFY_JSONL
  CLASSIFY_JSONL: build/emot5 classify --model DIR -i VALIDATION_JSONL --no-generate --format jsonl
Prints the baseline's accuracy and macro-F1 per epoch, then the model's, then their averages.
"""
import json
import math
import random
import sys

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def load(path):
    rows = [json.loads(l) for l in open(path)]
    return [r["text"] for r in rows], [r["label"] if isinstance(r["label"], int) else LABELS.index(r["label"])
                                       for r in rows]


def features(text):
    w = text.split()
    return list(set(w) | {a + " " + b for a, b in zip(w, w[1:])})


def softmax(s):
    m = max(s)
    e = [math.exp(v - m) for v in s]
    z = sum(e)
    return [v / z for v in e]


def metrics(probs, gold):
    pred = [max(range(6), key=lambda k: p[k]) for p in probs]
    f1s = []
    for c in range(6):
        tp = sum(a == c and b == c for a, b in zip(pred, gold))
        fp = sum(a == c and b != c for a, b in zip(pred, gold))
        fn = sum(a != c and b == c for a, b in zip(pred, gold))
        pr = tp / (tp + fp) if tp + fp else 0
        rc = tp / (tp + fn) if tp + fn else 0
        f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0)
    return sum(a == b for a, b in zip(pred, gold)) / len(gold), sum(f1s) / 6


train_texts, train_y = load(sys.argv[1])
val_texts, val_y = load(sys.argv[2])
X, V = [features(t) for t in train_texts], [features(t) for t in val_texts]
W = {}


def scores(x):
    s = [0.0] * 6
    for f in x:
        w = W.get(f)
        if w:
            for k in range(6):
                s[k] += w[k]
    return s


random.seed(0)
order = list(range(len(X)))
for epoch in range(8):
    random.shuffle(order)
    lr = 0.5 / (1 + epoch)
    for i in order:
        p = softmax(scores(X[i]))
        g = [p[k] - (k == train_y[i]) for k in range(6)]
        step = lr / math.sqrt(len(X[i]))
        for f in X[i]:
            w = W.setdefault(f, [0.0] * 6)
            for k in range(6):
                w[k] -= step * (g[k] + 1e-5 * w[k])
    bow = [softmax(scores(x)) for x in V]
    print("word model, epoch %d: accuracy %.4f macro-F1 %.4f" % ((epoch + 1,) + metrics(bow, val_y)))

model = [[json.loads(l)["scores"][k] for k in LABELS] for l in open(sys.argv[3])]
print("model: accuracy %.4f macro-F1 %.4f" % metrics(model, val_y))
for w in [0.2, 0.3, 0.4, 0.5, 0.6]:
    arith = [[(1 - w) * a[k] + w * b[k] for k in range(6)] for a, b in zip(model, bow)]
    geo = [[(1 - w) * math.log(a[k] + 1e-9) + w * math.log(b[k] + 1e-9) for k in range(6)] for a, b in zip(model, bow)]
    print("average, word model weight %.1f: arithmetic %.4f / %.4f, geometric %.4f / %.4f"
          % ((w,) + metrics(arith, val_y) + metrics(geo, val_y)))
wrong = lambda p, y: max(range(6), key=lambda k: p[k]) != y
print("validation rows wrong for the model: %d, for both: %d"
      % (sum(wrong(a, y) for a, y in zip(model, val_y)), sum(wrong(a, y) and wrong(b, y) for a, b, y in zip(model, bow, val_y))))
