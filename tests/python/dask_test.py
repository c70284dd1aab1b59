#!/usr/bin/env python3
"""emot5.dask on a real dask.distributed LocalCluster (2 worker processes of 1 thread), run by the
venv's python: the whole test split in 8 partitions gives `emot5 classify`'s labels and
probabilities with the frame's index, each worker loads the model once, trends equal
`emot5 trends`'s, and a worker killed mid-job is replaced with the result still whole and equal.

usage: dask_test.py EMOT5_BINARY SOURCE_DIR
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402
from reference import cli_rows  # noqa: E402

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402

import emot5  # noqa: E402
import emot5.dask  # noqa: E402

LABELS = emot5.LABELS


def main():
    # The workers are processes that multiprocessing spawns: they import this file as a module, so
    # everything runs under main().
    EMOT5, SRC = sys.argv[1], sys.argv[2]
    texts, env, cli = cli_rows(EMOT5, SRC, threads=1)
    want = np.array([[c["scores"][l] for l in LABELS] for c in cli], dtype=np.float32)
    want_labels = [c["label"] for c in cli]
    stamps = [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(texts))]
    df = pd.DataFrame({"text": texts, "date": stamps}, index=pd.RangeIndex(1000, 1000 + len(texts), name="row"))


    def compare(out, what):
        check(list(out.columns) == ["label"] + LABELS, f"{what}: columns {list(out.columns)}")
        check(list(out.index) == list(df.index), f"{what}: the frame's index, in order")
        check(out["label"].tolist() == want_labels, f"{what}: labels equal classify's")
        check(len(out) == len(want) and np.abs(out[LABELS].to_numpy(dtype=np.float32) - want).max() < 1e-5,
              f"{what}: probabilities equal classify's")


    with tempfile.TemporaryDirectory() as scratch, dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               local_directory=scratch, silence_logs=40)
        client = Client(cluster)
        try:
            ddf = dd.from_pandas(df, npartitions=8)
            lazy = emot5.dask.classify(ddf, column="text", threads=1, batch_size=32)
            check(lazy.npartitions == 8 and list(lazy.columns) == ["label"] + LABELS, "classify is lazy, 8 partitions")
            compare(lazy.compute(), "dask classify")
            loads = client.run(emot5.dask.loads_in_this_process)
            check(len(loads) == 2 and all(n == 1 for n in loads.values()), f"each worker loaded the model once: {loads}")
            compare(lazy.compute(), "dask classify again")
            loads = client.run(emot5.dask.loads_in_this_process)
            check(all(n == 1 for n in loads.values()), f"and kept it for the next job: {loads}")

            # trends, against the CLI's over the same rows.
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
                for t, s in zip(texts, stamps):
                    f.write(json.dumps({"text": t, "date": s}) + "\n")
            p = subprocess.run([EMOT5, "trends", "--input", f.name, "--period", "month", "--format", "jsonl"],
                               capture_output=True, text=True, env=env, timeout=600)
            os.unlink(f.name)
            cli_trends = [json.loads(line) for line in p.stdout.splitlines()]
            tf = emot5.dask.trends(ddf, time_column="date", period="month").compute()
            check(p.returncode == 0 and list(tf.index) == [r["period"] for r in cli_trends] and
                  tf["texts"].tolist() == [r["texts"] for r in cli_trends] and
                  all(abs(tf.loc[r["period"], l] - r["shares"][l]) < 1e-9 for r in cli_trends for l in LABELS),
                  f"dask trends equal `emot5 trends`: {p.stderr[-300:]}")
            local = emot5.trends(df, time_column="date", period="month")
            check(tf.equals(local), "dask trends equal emot5.trends")

            # A worker killed mid-job: the nanny starts another, the scheduler reruns its tasks, and the
            # result is whole and equal. Small partitions, so that the job is still running when it dies.
            ddf64 = dd.from_pandas(df, npartitions=64)
            pids = client.run(os.getpid)
            future = client.compute(emot5.dask.classify(ddf64, column="text", threads=1))
            deadline = time.time() + 120
            while time.time() < deadline and sum(1 for k, s in client.processing().items() for _ in s) == 0:
                time.sleep(0.05)
            time.sleep(0.5)
            victim = sorted(pids.values())[0]
            done_before = future.done()
            os.kill(victim, signal.SIGKILL)
            out = future.result(timeout=600)
            check(not done_before, "the job was still running when the worker was killed")
            compare(out, "dask classify across a killed worker")
            client.wait_for_workers(2, timeout=120)
            after = client.run(os.getpid)
            check(victim not in after.values() and len(after) == 2, f"the killed worker was replaced: {pids} -> {after}")
        finally:
            client.close()
            cluster.close()


if __name__ == "__main__":
    main()
    finish()
