#!/usr/bin/env python3
"""`emot5 serve` across 100,000 requests: every answer 200 with the reference scores, and the
server's resident memory after them within 16 MiB of what it was after the first 2,000 (the
warm-up makes the kernels and per-thread buffers). 32 keep-alive clients over loopback, TEI's
/predict and the HF route in turn; the tiny fixture model, so the server's own costs dominate.

usage: serve_soak.py EMOT5_BINARY TEST_DATA_DIR [REQUESTS]
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402

EMOT5, DATA = sys.argv[1], sys.argv[2]
TOTAL = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
WARMUP, CLIENTS, BOUND_MIB = 20_000, 32, 16
MODEL = os.path.join(DATA, "tiny-v11-untied-f32")
TEXTS = ["i feel happy", "i am so scared of the dark", "what a surprise", "love", "so angry now"]
env = {k: v for k, v in os.environ.items() if k not in ("EMOT5_MODEL", "EMOT5_API_KEY")}

p = subprocess.run([EMOT5, "classify", "--model", MODEL, "--no-generate"] + TEXTS, capture_output=True, env=env, timeout=120)
WANT = [json.loads(l)["label"] for l in p.stdout.decode().splitlines()]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return -1


srv = subprocess.Popen([EMOT5, "serve", "--model", MODEL, "--port", "0", "--no-generate"], stderr=subprocess.PIPE, env=env)
m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", srv.stderr.readline().decode())
port = int(m.group(1)) if m else 0
lock = threading.Lock()
counts = {"ok": 0, "bad": 0}


def client(n, offset):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for k in range(n):
        i = (offset + k) % len(TEXTS)
        hf = k % 2 == 1
        conn.request("POST", "/hf" if hf else "/predict", body=json.dumps({"inputs": TEXTS[i]}).encode(),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        body = json.loads(r.read())
        top = (body[0][0] if hf else body[0])["label"] if r.status == 200 else None
        with lock:
            counts["ok" if top == WANT[i] else "bad"] += 1
    conn.close()


def run(n):
    threads = [threading.Thread(target=client, args=(n // CLIENTS, c)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


try:
    check(m is not None and len(WANT) == len(TEXTS), "the server started and the reference labels were made")
    run(WARMUP)
    before, warmed = rss_mib(srv.pid), counts["ok"] + counts["bad"]
    t0 = time.time()
    run(TOTAL)
    secs = time.time() - t0
    after = rss_mib(srv.pid)
    done = counts["ok"] + counts["bad"] - warmed
    print(f"{done} requests in {secs:.1f} s ({done / secs:.0f}/s); RSS {before:.1f} MiB after the warm-up, "
          f"{after:.1f} MiB after them")
    check(counts["bad"] == 0 and done == TOTAL // CLIENTS * CLIENTS, f"every answer right: {counts}")
    check(0 < before and after - before <= BOUND_MIB, f"RSS grew by {after - before:.1f} MiB (bound {BOUND_MIB})")
finally:
    srv.send_signal(signal.SIGTERM)
    check(srv.wait(timeout=60) == 0, "SIGTERM after the soak")
finish()
