"""emot5: classify short texts into emotions with a T5 model, from Python.

    import emot5
    clf = emot5.Classifier()                  # the built-in model
    clf("i feel wonderful today")             # [{"label": "joy", "score": 0.98}]
    clf.predict(["i am scared", "so angry"])  # ["fear", "anger"]
    clf.predict_proba(texts)                  # numpy float32 (len(texts), len(clf.labels))
    emot5.classify_frame(df, column="text")   # the label and a probability column per label
    emot5.trends(df, time_column="date", period="week")

The computation is emot5's C++ engine (the extension module emot5._emot5): it releases the GIL
while it classifies, so one Classifier serves many Python threads at once. emot5.dask runs the
same over a Dask cluster.
"""
import os

# OpenMP threads that wait spin 1,000 times before they sleep, not libgomp's 300,000: a fair share
# of a machine that other jobs also use (docs/benchmarks.md). libgomp reads this once, when it is
# first loaded; a setting of the user's own wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from collections.abc import Iterable  # noqa: E402

import numpy as np  # noqa: E402

from . import _emot5  # noqa: E402
from ._emot5 import Error, InputError, ModelError  # noqa: E402

__all__ = ["Classifier", "Error", "InputError", "ModelError", "classify_frame", "trends", "default_model_dir",
           "LABELS"]
__version__ = "0.1.0"

# The built-in model's labels, in its order.
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def default_model_dir():
    """The built-in model's directory (inside the package), or $EMOT5_MODEL when set."""
    return _emot5.default_model_dir()


def _as_texts(texts):
    """(list of str, whether one str was given). Accepts a str or any iterable of str: a list, a
    tuple, a pandas Series, a numpy array of objects."""
    if isinstance(texts, str):
        items, single = [texts], True
    elif isinstance(texts, (bytes, bytearray)):
        raise InputError("texts must be str, not bytes: decode them first")
    elif isinstance(texts, Iterable):
        items, single = list(texts), False
    else:
        raise InputError(f"texts must be a str or an iterable of str, not {type(texts).__name__}")
    for i, t in enumerate(items):
        if not isinstance(t, str):
            raise InputError(f"text {i} is {type(t).__name__}, not str" +
                             (" (a missing value?)" if t is None or (isinstance(t, float) and t != t) else ""))
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InputError(f"text {i} is not valid Unicode: {e.reason} at character {e.start}") from None
    return items, single


_TOP_ONE = object()  # __call__'s default: the top label alone, as transformers' pipeline gives it


class Classifier:
    """A T5 emotion classifier, shaped like transformers' text-classification pipeline and
    scikit-learn's classifiers.

    Classifier(model=None, precision="f32", threads=0, batch_size=32, max_input_tokens=512)
      model: a model directory in Hugging Face's layout; None: the built-in model.
      precision: "f32", "bf16" or "int8".
      threads: threads for each call (0: every core). Give each a share of the cores when
        several Python threads call at once.
      batch_size: texts per forward pass.
      max_input_tokens: longer texts are truncated, as HF's truncation=True does.

    Raises emot5.ModelError (a RuntimeError) for a model that cannot be loaded and
    emot5.InputError (a ValueError) for bad options.
    """

    def __init__(self, model=None, precision="f32", threads=0, batch_size=32, max_input_tokens=512):
        if model is not None:
            model = os.fspath(model)
        self._c = _emot5.Classifier(model, precision=precision, threads=threads, batch_size=batch_size,
                                    max_input_tokens=max_input_tokens)

    @property
    def labels(self):
        """The labels, in the order of predict_proba's columns."""
        return list(self._c.labels)

    @property
    def model_dir(self):
        return self._c.model_dir

    def __repr__(self):
        return (f"emot5.Classifier({self._c.model_dir!r}, precision={self._c.precision!r}, "
                f"threads={self._c.threads}, batch_size={self._c.batch_size})")

    def predict_proba(self, texts):
        """numpy float32 (len(texts), len(labels)): each text's probabilities, in labels' order."""
        items, _ = _as_texts(texts)
        return self._c.probabilities(items)

    def predict(self, texts):
        """Each text's most probable label: a list of str (one str for one str)."""
        items, single = _as_texts(texts)
        probs = self._c.probabilities(items)
        labels = self._c.labels
        out = [labels[i] for i in probs.argmax(axis=1)] if len(items) else []
        return out[0] if single else out

    def generate(self, texts, max_new_tokens=8):
        """Greedy generation's text: a list of str (one str for one str).

        The labels' scores (predict_proba and the rest) need no generation; this runs the decoder
        a step per token over the whole vocabulary, as `emot5 classify --generate` does for its
        "generated" field.
        """
        if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 0:
            raise InputError(f"max_new_tokens must be a non-negative int, not {max_new_tokens!r}")
        items, single = _as_texts(texts)
        out = self._c.generate(items, max_new_tokens)
        return out[0] if single else out

    def __call__(self, texts, top_k=_TOP_ONE):
        """transformers' text-classification shapes.

        clf("t")                 -> [{"label", "score"}]              (the top label)
        clf(["t1", "t2"])        -> [{"label", "score"}, {"label", "score"}]
        clf("t", top_k=None)     -> every label, highest score first: [{"label", "score"}, ...]
        clf(["t1"], top_k=None)  -> one such list per text; top_k=k keeps the first k
        """
        explicit = top_k is not _TOP_ONE
        if explicit and top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
            raise InputError(f"top_k must be a positive int or None, not {top_k!r}")
        items, single = _as_texts(texts)
        probs = self._c.probabilities(items)
        labels = self._c.labels
        order = np.argsort(-probs, axis=1, kind="stable")
        keep = 1 if not explicit else len(labels) if top_k is None else min(top_k, len(labels))
        ranked = [[{"label": labels[j], "score": float(probs[i, j])} for j in order[i, :keep]]
                  for i in range(len(items))]
        if single:
            return ranked[0]
        return ranked if explicit else [r[0] for r in ranked]


_default = None


def _classifier(classifier):
    global _default
    if classifier is not None:
        return classifier
    if _default is None:
        _default = Classifier()
    return _default


def classify_frame(df, column="text", classifier=None):
    """A pandas DataFrame with df's index: the label, then one probability column per label.

    classifier: an emot5.Classifier (default: the built-in model's, loaded once).
    """
    import pandas as pd
    clf = _classifier(classifier)
    if column not in df.columns:
        raise InputError(f"no column {column!r}; the frame has {list(map(str, df.columns))}")
    probs = clf.predict_proba(df[column])
    labels = clf.labels
    out = pd.DataFrame(probs, index=df.index, columns=labels)
    out.insert(0, "label", pd.Series([labels[i] for i in probs.argmax(axis=1)] if len(df) else [],
                                     index=df.index, dtype=object))
    return out


def _timestamps(values):
    """Timestamps as the strings `emot5 trends` parses: ISO 8601 text, or Unix seconds."""
    import pandas as pd
    s = pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        if s.isna().any():
            raise InputError(f"timestamp {int(s.isna().to_numpy().argmax())} is missing")
        return [str(v) for v in s.astype("int64") // 10**9]
    out = []
    for i, v in enumerate(s.tolist()):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out.append(str(int(v)))
        elif isinstance(v, (float, np.floating)) and v == v:
            out.append(repr(float(v)))
        elif hasattr(v, "isoformat"):
            out.append(v.isoformat())
        else:
            raise InputError(f"timestamp {i} is {v!r}: expected ISO 8601 text, Unix seconds or a datetime")
    return out


def _trend_frame(periods, counts, labels):
    import pandas as pd
    texts = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / texts[:, None]
    out = pd.DataFrame(shares, index=pd.Index(periods, name="period"), columns=labels)
    out.insert(0, "texts", texts)
    return out


def trends(df, time_column="date", period="week", column="text", classifier=None, skip_empty_periods=False):
    """Each label's share of the texts in each period, as `emot5 trends` computes it.

    Periods are UTC days, ISO weeks (named by their Monday), months or years. Timestamps are ISO
    8601 text, Unix seconds, or pandas datetimes (naive ones are UTC). The result is indexed by
    period in time order: a "texts" column, then one share column per label (NaN for a period
    without texts; those lie between the first and the last unless skip_empty_periods).
    """
    clf = _classifier(classifier)
    for c in (column, time_column):
        if c not in df.columns:
            raise InputError(f"no column {c!r}; the frame has {list(map(str, df.columns))}")
    keys = _emot5.period_keys(_timestamps(df[time_column]), period)
    probs = clf.predict_proba(df[column])
    idx = probs.argmax(axis=1).tolist() if len(df) else []
    if not idx:
        raise InputError("no rows to count")
    periods, counts = _emot5.trend_counts(keys, idx, [1] * len(idx), clf.labels, period, skip_empty_periods)
    return _trend_frame(periods, counts, clf.labels)
