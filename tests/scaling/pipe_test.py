#!/usr/bin/env python3
"""The stdin/stdout contract that Spark's RDD.pipe (and any line-oriented pipe) relies on, for
`emot5 classify --input - --format jsonl` (docs/scaling.md): one output line per input line, in
the input's order, empty lines included, and each chunk's lines flushed while the input is still
open, so that a consumer can read results before it has sent everything.

usage: pipe_test.py EMOT5_BINARY
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402

EMOT5 = sys.argv[1]
env = dict(os.environ)
env.pop("EMOT5_MODEL", None)
words = ["i feel happy", "i am scared", "so angry today", "what a surprise", "i love this", "i feel so sad", ""]
lines = [f"{words[i % len(words)]} {i}" if i % 50 else "" for i in range(400)]  # every 50th line empty

proc = subprocess.Popen([EMOT5, "classify", "--input", "-", "--format", "jsonl", "--threads", "1"],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
out, lock = [], threading.Lock()


def read():
    for line in proc.stdout:
        with lock:
            out.append(line.decode())


reader = threading.Thread(target=read)
reader.start()
proc.stdin.write("".join(l + "\n" for l in lines[:300]).encode())
proc.stdin.flush()
deadline = time.time() + 120
while time.time() < deadline:
    with lock:
        if len(out) >= 256:
            break
    time.sleep(0.05)
with lock:
    early = len(out)
check(early >= 256, f"a whole chunk (256 lines) came back while stdin was still open: {early} lines")
proc.stdin.write("".join(l + "\n" for l in lines[300:]).encode())
proc.stdin.close()
reader.join(timeout=300)
code = proc.wait(timeout=60)
err = proc.stderr.read().decode()
check(code == 0, f"exit {code}: {err[-300:]}")
rows = [json.loads(l) for l in out]
check(len(rows) == len(lines), f"one output line per input line: {len(rows)} for {len(lines)}")
check([r["text"] for r in rows] == lines, "in the input's order, empty lines included")
# The same labels as classifying the texts as arguments.
p = subprocess.run([EMOT5, "classify", "--format", "jsonl", "--threads", "1"] + lines[:40], capture_output=True,
                   text=True, env=env, timeout=120)
check(p.returncode == 0 and [json.loads(l)["label"] for l in p.stdout.splitlines()] == [r["label"] for r in rows[:40]],
      "labels equal classify's over the same texts")
finish()
