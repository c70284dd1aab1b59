"""emot5 over a Dask cluster (dask.dataframe and dask.distributed, as Debian 12 packages them).

    import dask.dataframe as dd, emot5.dask
    ddf = dd.read_csv("posts-*.csv")
    out = emot5.dask.classify(ddf, column="text")        # lazy: label + one column per label
    out.to_parquet("labels/")                            # or .compute(), .groupby(...), ...
    emot5.dask.trends(ddf, time_column="date", period="week").compute()

Each worker process loads a model once, on its first partition, and keeps it for every later
partition and call with the same options (a per-process cache, as a worker plugin would hold
it); a worker that dies and is replaced loads it again. threads= is per worker task: with
threads_per_worker workers running tasks at once, keep threads × threads_per_worker within the
worker's cores.
"""
import os
import threading

import numpy as np
import pandas as pd

import emot5
from emot5 import _emot5

__all__ = ["classify", "trends", "loads_in_this_process"]

_lock = threading.Lock()
_classifiers = {}
_loads = 0


def _worker_classifier(model, precision, threads, batch_size):
    """This process's classifier for these options, loaded on first use."""
    global _loads
    key = (None if model is None else os.fspath(model), precision, threads, batch_size)
    with _lock:
        clf = _classifiers.get(key)
        if clf is None:
            clf = emot5.Classifier(key[0], precision=precision, threads=threads, batch_size=batch_size)
            _classifiers[key] = clf
            _loads += 1
        return clf


def loads_in_this_process():
    """How many models this process has loaded through emot5.dask (for tests and monitoring:
    client.run(emot5.dask.loads_in_this_process) asks every worker)."""
    return _loads


def _labels(model):
    """The model's labels, read on the client: the meta of the lazy result needs them."""
    return _worker_classifier(model, "f32", 1, 32).labels


def _classify_partition(part, column, model, precision, threads, batch_size):
    clf = _worker_classifier(model, precision, threads, batch_size)
    return emot5.classify_frame(part, column=column, classifier=clf)


def _meta(labels):
    cols = {"label": pd.Series(dtype=object)}
    cols.update({label: pd.Series(dtype=np.float32) for label in labels})
    return pd.DataFrame(cols)


def classify(ddf, column="text", model=None, precision="f32", threads=1, batch_size=32):
    """A lazy Dask DataFrame with ddf's index and partitions: the label and one float32
    probability column per label, as emot5.classify_frame gives them."""
    if column not in ddf.columns:
        raise emot5.InputError(f"no column {column!r}; the frame has {list(map(str, ddf.columns))}")
    labels = _labels(model)
    return ddf.map_partitions(_classify_partition, column, model, precision, threads, batch_size,
                              meta=_meta(labels), enforce_metadata=False)


def _partition_counts(part, column, time_column, period, model, precision, threads, batch_size):
    clf = _worker_classifier(model, precision, threads, batch_size)
    if len(part) == 0:
        return pd.DataFrame({"period": pd.Series(dtype=object), "label": pd.Series(dtype=np.int64),
                             "n": pd.Series(dtype=np.int64)})
    keys = _emot5.period_keys(emot5._timestamps(part[time_column]), period)
    idx = clf.predict_proba(part[column]).argmax(axis=1)
    counted = pd.DataFrame({"period": keys, "label": idx.astype(np.int64)}).value_counts().reset_index()
    counted.columns = ["period", "label", "n"]
    return counted


def _trend_table(counted, labels, period, skip_empty_periods):
    if len(counted) == 0:
        raise emot5.InputError("no rows to count")
    periods, counts = _emot5.trend_counts(counted["period"].tolist(), counted["label"].astype(int).tolist(),
                                          counted["n"].astype(np.int64).tolist(), labels, period, skip_empty_periods)
    return emot5._trend_frame(periods, counts, labels)


def trends(ddf, time_column="date", period="week", column="text", model=None, precision="f32", threads=1,
           batch_size=32, skip_empty_periods=False):
    """Each label's share per period, as `emot5 trends` and emot5.trends compute it: a lazy
    dask.delayed whose .compute() gives emot5.trends's pandas frame. The partitions are classified
    and counted on the workers; only the (period, label) counts travel."""
    import dask
    for c in (column, time_column):
        if c not in ddf.columns:
            raise emot5.InputError(f"no column {c!r}; the frame has {list(map(str, ddf.columns))}")
    _emot5.period_keys([], period)  # an unknown period fails here, not on a worker
    labels = _labels(model)
    counted = ddf.map_partitions(_partition_counts, column, time_column, period, model, precision, threads,
                                 batch_size, meta={"period": object, "label": np.int64, "n": np.int64})
    summed = counted.groupby(["period", "label"])["n"].sum()
    return dask.delayed(_summed_table)(summed, labels, period, skip_empty_periods)


def _summed_table(summed, labels, period, skip_empty_periods):
    return _trend_table(summed.reset_index(), labels, period, skip_empty_periods)
