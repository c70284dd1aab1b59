#!/usr/bin/env python3
"""The Python package's interface, run by the venv's python (venv_setup.py makes it), against
`emot5 classify`'s output for the whole test split: every call of docs/python.md, the inputs it
takes, its errors, and the GIL released while it classifies.

usage: api_test.py EMOT5_BINARY SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402
from reference import cli_rows  # noqa: E402

import emot5  # noqa: E402

EMOT5, SRC = sys.argv[1], sys.argv[2]
texts, env, cli = cli_rows(EMOT5, SRC, threads=2)

clf = emot5.Classifier(threads=2)
labels = clf.labels
check(labels == ["sadness", "joy", "love", "anger", "fear", "surprise"] == emot5.LABELS, f"labels {labels}")
want = np.array([[c["scores"][l] for l in labels] for c in cli], dtype=np.float32)
want_labels = [c["label"] for c in cli]

# predict_proba: float32 (n, labels), equal to the CLI's (batches differ, so within float rounding).
probs = clf.predict_proba(texts)
check(probs.dtype == np.float32 and probs.shape == (len(texts), 6), f"predict_proba {probs.dtype} {probs.shape}")
check(np.abs(probs - want).max() < 1e-5, f"predict_proba against classify: {np.abs(probs - want).max()}")
check(clf.predict(texts) == want_labels, "predict against classify's labels")
check(clf.predict(texts[0]) == want_labels[0], "predict of one str is one label")

# transformers' shapes.
one = clf(texts[0])
check(isinstance(one, list) and len(one) == 1 and set(one[0]) == {"label", "score"} and one[0]["label"] == want_labels[0]
      and abs(one[0]["score"] - want[0].max()) < 1e-5, f"clf(str): {one}")
many = clf(texts[:50])
check(len(many) == 50 and all(isinstance(d, dict) and d["label"] == w for d, w in zip(many, want_labels)),
      "clf(list): one dict per text")
full = clf(texts[:50], top_k=None)
check(all(len(r) == 6 and [d["score"] for d in r] == sorted((d["score"] for d in r), reverse=True) and
          abs(sum(d["score"] for d in r) - 1) < 1e-4 and r[0]["label"] == w for r, w in zip(full, want_labels)),
      "clf(list, top_k=None): every label, sorted")
check(all({d["label"]: d["score"] for d in r} == {l: float(want_p) for l, want_p in zip(labels, probs[i])}
          for i, r in enumerate(full)), "top_k=None's scores are predict_proba's")
two = clf(texts[:3], top_k=2)
check([len(r) for r in two] == [2, 2, 2], f"top_k=2: {two}")
single_all = clf(texts[0], top_k=None)
check(len(single_all) == 6 and isinstance(single_all[0], dict), "clf(str, top_k=None): a flat list of every label")
for bad in [0, -1, 1.5, True, "2"]:
    try:
        clf(texts[0], top_k=bad)
        check(False, f"top_k={bad!r} is refused")
    except emot5.InputError:
        pass

# Texts as any iterable of str.
series = pd.Series(texts[:20], index=range(100, 120))
check(clf.predict(series) == want_labels[:20], "a pandas Series")
check(clf.predict(np.array(texts[:20], dtype=object)) == want_labels[:20], "a numpy array of objects")
check(clf.predict(t for t in texts[:20]) == want_labels[:20], "a generator")
check(clf.predict([]) == [] and clf.predict_proba([]).shape == (0, 6), "no texts")

# generate: greedy generation's text, equal to `emot5 classify --generate`'s "generated".
sample = texts[:64]
p = subprocess.run([EMOT5, "classify", "--format", "jsonl", "--generate", "--threads", "2"] + sample,
                   capture_output=True, text=True, env=env, timeout=600)
check(p.returncode == 0, f"classify --generate: {p.stderr[-300:]}")
want_generated = [json.loads(line)["generated"] for line in p.stdout.splitlines()]
check(clf.generate(sample) == want_generated, f"generate against classify --generate: {clf.generate(sample)[:5]}")
check(clf.generate(sample[0]) == want_generated[0] and clf.generate([]) == [], "generate: one str, no texts")
for bad in (-1, 1.5, True):
    try:
        clf.generate("a", max_new_tokens=bad)
        check(False, f"max_new_tokens={bad!r} is refused")
    except emot5.InputError:
        pass

# classify_frame: same index, the label and a column per label.
df = pd.DataFrame({"text": texts, "id": range(len(texts))}, index=[f"r{i}" for i in range(len(texts))])
out = emot5.classify_frame(df, column="text", classifier=clf)
check(list(out.columns) == ["label"] + labels and list(out.index) == list(df.index), f"classify_frame columns {list(out.columns)}")
check(out["label"].tolist() == want_labels and np.abs(out[labels].to_numpy() - want).max() < 1e-5,
      "classify_frame against classify")
check(len(emot5.classify_frame(df.head(3))) == 3, "classify_frame with the default classifier")

# trends: as `emot5 trends` computes it, from the same rows with timestamps.
with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), f"emot5-trends-{os.getpid()}.jsonl"), "w") as f:
    stamps = [f"2024-0{1 + i % 3}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z" for i in range(len(texts))]
    for t, s in zip(texts, stamps):
        f.write(json.dumps({"text": t, "date": s}) + "\n")
    trends_file = f.name
p = subprocess.run([EMOT5, "trends", "--input", trends_file, "--period", "week", "--format", "jsonl", "--threads", "2"],
                   capture_output=True, text=True, env=env, timeout=600)
os.unlink(trends_file)
check(p.returncode == 0, f"emot5 trends: {p.stderr[-300:]}")
cli_trends = [json.loads(line) for line in p.stdout.splitlines()]
tf = emot5.trends(pd.DataFrame({"text": texts, "date": stamps}), time_column="date", period="week", classifier=clf)
check(list(tf.index) == [r["period"] for r in cli_trends], f"trends periods {list(tf.index)[:5]}")
check(tf["texts"].tolist() == [r["texts"] for r in cli_trends], "trends counts")
check(all(all((r["shares"][l] is None and np.isnan(tf.loc[r["period"], l])) or
              abs(tf.loc[r["period"], l] - r["shares"][l]) < 1e-9 for l in labels) for r in cli_trends), "trends shares")
dt = emot5.trends(pd.DataFrame({"text": texts[:10], "date": pd.to_datetime(stamps[:10])}), period="month",
                  classifier=clf)
check(dt["texts"].sum() == 10, "trends over pandas datetimes")

# Errors: emot5.Error, a ValueError for bad input, a RuntimeError for models and files, with the message.
for bad, what in [([1, 2], "text 0 is int"), (["ok", None], "text 1 is NoneType"), (b"bytes", "bytes"),
                  (["\ud800"], "text 0 is not valid Unicode"), (42, "not int")]:
    try:
        clf.predict(bad)
        check(False, f"{bad!r} is refused")
    except emot5.InputError as e:
        check(isinstance(e, ValueError) and isinstance(e, emot5.Error) and what.split()[-1] in str(e), f"{bad!r}: {e}")
for kwargs, kind, words in [({"model": "/nonexistent"}, emot5.ModelError, "/nonexistent"),
                            ({"precision": "fp4"}, emot5.InputError, "fp4"),
                            ({"threads": 100000}, emot5.InputError, "threads 100000"),
                            ({"batch_size": 0}, emot5.InputError, "batch_size")]:
    try:
        emot5.Classifier(**kwargs)
        check(False, f"Classifier({kwargs}) is refused")
    except emot5.Error as e:
        check(isinstance(e, kind) and words in str(e) and
              isinstance(e, RuntimeError if kind is emot5.ModelError else ValueError), f"Classifier({kwargs}): {e!r}")
try:
    emot5.trends(pd.DataFrame({"text": ["a"], "date": ["yesterday"]}), classifier=clf)
    check(False, "a bad timestamp is refused")
except emot5.InputError as e:
    check("timestamp 0" in str(e) and "yesterday" in str(e), f"bad timestamp: {e}")
try:
    emot5.classify_frame(df, column="body")
    check(False, "a missing column is refused")
except emot5.InputError as e:
    check("'body'" in str(e) and "'text'" in str(e), f"missing column: {e}")

# The GIL is released while a batch is classified: a Python thread keeps counting meanwhile.
big = texts * 2
count, stop = [0], threading.Event()


def counter():
    while not stop.is_set():
        count[0] += 1


one_thread = emot5.Classifier(threads=1)
t0 = time.perf_counter()
one_thread.predict_proba(big)
alone = time.perf_counter() - t0
th = threading.Thread(target=counter)
th.start()
time.sleep(0.05)
before = count[0]
t0 = time.perf_counter()
one_thread.predict_proba(big)
during = time.perf_counter() - t0
counted = count[0] - before
stop.set()
th.join()
# Counting alone for a tenth of the time, as a yardstick of what a free interpreter does.
c2, t_end = 0, time.perf_counter() + 0.1
while time.perf_counter() < t_end:
    c2 += 1
check(counted > 0.2 * c2 * during / 0.1, f"a Python thread ran while classifying: {counted} counts in {during:.2f} s "
      f"(free: {c2} in 0.1 s; classifying alone took {alone:.2f} s)")

# One Classifier serves many Python threads at once, with the same answers as alone.
results = [None] * 4


def work(i):
    results[i] = one_thread.predict_proba(texts[i * 100:(i + 1) * 100 + 300])


threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(all(r is not None and np.abs(r - probs[i * 100:(i + 1) * 100 + 300]).max() < 1e-5 for i, r in enumerate(results)),
      "four threads on one Classifier agree with predict_proba")

# The extension links no libtorch (the trainer stays out of the package).
p = subprocess.run(["ldd", emot5._emot5.__file__], capture_output=True, text=True)
check(p.returncode == 0 and "torch" not in p.stdout and "sentencepiece" not in p.stdout,
      f"the module's libraries: {p.stdout}")
finish()
