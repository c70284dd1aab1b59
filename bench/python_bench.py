#!/usr/bin/env python3
"""The Python package's cost against the CLI, within one run (docs/benchmarks.md):
1. the binding's overhead: Classifier.predict_proba over the test split against `emot5 bench` for
   the same model, threads and batch size (each measured 3 times, alternating; best of each);
2. Dask: emot5.dask.classify on a LocalCluster of 2 worker processes of 1 thread against
   `emot5 classify --threads 2`, over 100,000 texts (the test split 50 times), model load included
   for the CLI and a warmed cluster for Dask (its workers hold the model from a first small job).
Prints the machine, ISA, threads and commands.

usage: .venv/bin/python bench/python_bench.py build/emot5 [--threads 2] [--batch-size 32] [--dask-texts 100000]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import emot5

def overhead():
    ap = argparse.ArgumentParser()
    ap.add_argument("emot5")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--dask-texts", type=int, default=100_000)
    ap.add_argument("--skip-dask", action="store_true")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    test = os.path.join(root, "data", "emotion", "test.jsonl")
    texts = [json.loads(line)["text"] for line in open(test)]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
    isa = "+".join(f for f in ["avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "avx2"] if f in flags)
    print(f"python_bench\n  command: {' '.join(sys.argv)}\n  cpu: {cpu} ({os.cpu_count()} logical)\n  isa: {isa}\n"
          f"  threads: {a.threads}\n  python: {sys.executable} {platform.python_version()}, emot5 {emot5.__version__}\n")

    # 1. The binding's overhead.
    clf = emot5.Classifier(threads=a.threads, batch_size=a.batch_size)
    clf.predict_proba(texts[:64])
    bench_cmd = [a.emot5, "bench", "--threads", str(a.threads), "--batch-sizes", str(a.batch_size), "--precisions", "f32",
                 "--latency-texts", "0"]
    py_rates, cli_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(3):
            t0 = time.perf_counter()
            clf.predict_proba(texts)
            py_rates.append(len(texts) / (time.perf_counter() - t0))
            out = os.path.join(tmp, "bench.json")
            subprocess.run(bench_cmd + ["--json", out], check=True, capture_output=True)
            cli_rates.append(json.load(open(out))["results"][0]["throughput"][0]["texts_per_s"])
    py, cli = max(py_rates), max(cli_rates)
    print(f"binding: predict_proba {py:.1f} texts/s (runs {', '.join(f'{r:.1f}' for r in py_rates)}), "
          f"emot5 bench {cli:.1f} (runs {', '.join(f'{r:.1f}' for r in cli_rates)}): "
          f"overhead {100 * (cli / py - 1):+.1f}%\n  {' '.join(bench_cmd)}")

    return a, texts


# 2. Dask against the CLI over many texts.
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from dask.distributed import Client, LocalCluster  # noqa: E402

import emot5.dask  # noqa: E402


def dask_against_cli(a, texts):
    n = a.dask_texts
    many = (texts * (n // len(texts) + 1))[:n]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "texts.txt")
        with open(path, "w") as f:
            f.write("".join(t.replace("\n", " ") + "\n" for t in many))
        cmd = [a.emot5, "classify", "--threads", "2", "--input", path, "--output", os.path.join(tmp, "out.jsonl")]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        cli_s = time.perf_counter() - t0
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          local_directory=tmp, silence_logs=40) as cluster, Client(cluster):
            df = pd.DataFrame({"text": many})
            emot5.dask.classify(dd.from_pandas(df.head(64), npartitions=2), threads=1).compute()  # load the models
            ddf = dd.from_pandas(df, npartitions=32)
            t0 = time.perf_counter()
            out = emot5.dask.classify(ddf, column="text", threads=1, batch_size=a.batch_size).compute()
            dask_s = time.perf_counter() - t0
        assert len(out) == n
    print(f"dask: {n} texts, 2 workers x 1 thread, 32 partitions: {dask_s:.1f} s, {n / dask_s:.1f} texts/s; "
          f"emot5 classify --threads 2: {cli_s:.1f} s, {n / cli_s:.1f} texts/s; Dask / CLI {cli_s / dask_s:.2f}\n"
          f"  {' '.join(cmd)}")


if __name__ == "__main__":  # Dask's worker processes import this file: run nothing then
    args, all_texts = overhead()
    if not args.skip_dask:
        dask_against_cli(args, all_texts)
