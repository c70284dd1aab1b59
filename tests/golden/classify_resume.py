#!/usr/bin/env python3
"""Resumable batch jobs: `emot5 classify --output FILE` killed with SIGKILL at random points and
resumed each time with --resume ends byte-identical to an uninterrupted run (100,000 rows, jsonl,
and csv with a quoted newline); SIGINT finishes the chunk, says how to resume and exits 130; a write
error (/dev/full) stops the run at once with the file's name.

usage: classify_resume.py EMOT5_BINARY TEST_DATA_DIR
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from checks import check, finish

EMOT5, DATA = sys.argv[1], sys.argv[2]
TINY = os.path.join(DATA, "tiny-v11-untied-f32")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
env = {k: v for k, v in os.environ.items() if k not in ("EMOT5_MODEL", "EMOT5_API_KEY")}
random.seed(7)
# 100,000 rows; a fifth of that under a sanitizer (scripts/sanitize.sh), which runs it several times slower.
ROWS = 20_000 if "EMOT5_SANITIZER" in os.environ else 100_000

with tempfile.TemporaryDirectory() as tmp:
    texts = [json.loads(l)["text"] for l in open(os.path.join(SRC, "data/emotion/train.jsonl"))]
    rows = os.path.join(tmp, "rows.jsonl")
    with open(rows, "w") as f:
        for i in range(ROWS):
            f.write(json.dumps({"id": i, "text": texts[i % len(texts)] + ("\ta\nb" if i % 997 == 0 else "")}) + "\n")

    def job(out, fmt, extra=()):
        return [EMOT5, "classify", "--model", TINY, "--input", rows, "--keep", "id", "--no-generate", "--threads", "2",
                "--format", fmt, "--output", out] + list(extra)

    for fmt in ("jsonl", "csv"):
        ref, out = os.path.join(tmp, f"ref.{fmt}"), os.path.join(tmp, f"out.{fmt}")
        p = subprocess.run(job(ref, fmt), capture_output=True, env=env, timeout=600)
        check(p.returncode == 0, f"{fmt}: the uninterrupted run: {p.stderr.decode()[-300:]}")
        kills, cmd = [], job(out, fmt)
        for attempt in range(3):
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            time.sleep(random.uniform(0.5, 3.0) * (2 if ROWS < 100_000 else 1))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills.append(os.path.getsize(out) if os.path.exists(out) else 0)
            proc.wait()
            cmd = job(out, fmt, ["--resume"])
        p = subprocess.run(cmd, capture_output=True, env=env, timeout=600)
        same = open(out, "rb").read() == open(ref, "rb").read()
        check(p.returncode == 0 and len(kills) >= 2 and same,
              f"{fmt}: killed at {kills} bytes and resumed: the same bytes as the uninterrupted run ({same}) "
              f"{p.stderr.decode()[-300:]}")

    # SIGINT: the chunk in hand is finished and written, then exit 130 with how to resume.
    out = os.path.join(tmp, "int.jsonl")
    proc = subprocess.Popen(job(out, "jsonl"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1].decode()
    written = open(out).read() if os.path.exists(out) else ""
    check(proc.returncode == 130 and "--resume" in err and f"{written.count(chr(10))} rows written" in err and
          written.endswith("\n"), f"SIGINT: {proc.returncode} {err[-300:]}")
    p = subprocess.run(job(out, "jsonl", ["--resume"]), capture_output=True, env=env, timeout=600)
    check(p.returncode == 0 and open(out, "rb").read() == open(os.path.join(tmp, "ref.jsonl"), "rb").read(),
          f"... resumed after SIGINT: {p.stderr.decode()[-200:]}")

    # A full disk stops the run at the first chunk, naming the file.
    if os.path.exists("/dev/full"):
        t0 = time.time()
        p = subprocess.run(job("/dev/full", "jsonl"), capture_output=True, env=env, timeout=600)
        err = p.stderr.decode()
        check(p.returncode == 1 and "/dev/full: cannot write" in err and "No space left" in err and time.time() - t0 < 10,
              f"/dev/full: {p.returncode} {err[-200:]} in {time.time() - t0:.1f} s")
    else:
        print("SKIPPED: the full-disk case (no /dev/full)")
    # --resume needs an output to continue.
    p = subprocess.run([EMOT5, "classify", "--model", TINY, "--resume", "hi"], capture_output=True, env=env, timeout=60)
    check(p.returncode == 2 and b"--resume needs --output" in p.stderr, f"--resume without --output: {p.stderr[-200:]}")

finish()
