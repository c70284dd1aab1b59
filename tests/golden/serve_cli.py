#!/usr/bin/env python3
"""End-to-end test of `emot5 serve`'s own /classify: answers equal `emot5 classify`'s, also under
concurrent requests (joined into shared passes, and with --no-batching, each alone); /health
counts what was served; bad requests get 400/404/413 with a JSON error; SIGTERM stops it cleanly.
(serve_api.py tests the TEI and HF routes, limits, keys and faults.)

usage: serve_cli.py EMOT5_BINARY TEST_DATA_DIR
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

from checks import check, finish

EMOT5, DATA = sys.argv[1], sys.argv[2]
MODEL = os.path.join(DATA, "tiny-v11-untied-f32")
TEXTS = ["i feel happy", "i am so scared of the dark", "", "what a surprise that was honestly", "love"]
env = dict(os.environ)
env.pop("EMOT5_MODEL", None)


def post(port, body, raw=False):
    data = body if raw else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/classify", data=data, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


p = subprocess.run([EMOT5, "classify", "--model", MODEL, "--format", "jsonl"] + TEXTS, capture_output=True, env=env)
want = [json.loads(l) for l in p.stdout.decode().splitlines()]
for w in want:
    w.pop("text")
# With --generate, each line also holds the greedy generation's text.
p = subprocess.run([EMOT5, "classify", "--model", MODEL, "--format", "jsonl", "--generate"] + TEXTS,
                   capture_output=True, env=env)
want_generated = [json.loads(l) for l in p.stdout.decode().splitlines()]
for w in want_generated:
    w.pop("text")
check(all("generated" in w for w in want_generated) and not any("generated" in w for w in want),
      f"classify --generate: {want_generated}")

srv = subprocess.Popen([EMOT5, "serve", "--model", MODEL, "--port", "0", "--threads", "1", "--max-texts", "8",
                        "--payload-limit", "100000", "--log"], stderr=subprocess.PIPE, env=env)
try:
    line = srv.stderr.readline().decode()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    check(m is not None, f"start line: {line!r}")
    port = int(m.group(1)) if m else 0

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as r:
        health = json.loads(r.read())
        check(r.headers.get("Access-Control-Allow-Origin") is None, "no CORS header without --cors")
    check(health["status"] == "ok" and health["labels"][0] == "sadness", f"health: {health}")
    # --passes left at 0: one pass per 4 cores, at least 2; --threads 1 is kept for each.
    passes = max(2, len(os.sched_getaffinity(0)) // 4)
    check(health.get("compute") == {"passes_at_once": passes, "threads_per_pass": 1} and
          f"up to {passes} passes at once, 1 thread each" in line, f"compute: {health.get('compute')} {line!r}")

    def same(got, w):
        return (got["label"] == w["label"] and got.get("generated") == w.get("generated") and
                all(abs(got["scores"][k] - v) < 1e-6 for k, v in w["scores"].items()))

    status, got = post(port, {"text": TEXTS[1]})
    check(status == 200 and same(got, want[1]), f"one text: {status} {got} vs {want[1]}")
    status, got = post(port, {"texts": TEXTS})
    check(status == 200 and len(got["predictions"]) == len(TEXTS) and
          all(same(g, w) for g, w in zip(got["predictions"], want)), f"batch: {status} {got}")
    # "generate": true: this request's answers carry "generated", equal to classify --generate's.
    status, got = post(port, {"texts": TEXTS, "generate": True})
    check(status == 200 and all(same(g, w) for g, w in zip(got["predictions"], want_generated)),
          f"generate: true: {status} {got} vs {want_generated}")
    status, got = post(port, {"text": TEXTS[0], "generate": "yes"})
    check(status == 400 and "generate" in got.get("error", ""), f"generate: 'yes': {status} {got}")

    # Concurrent clients get the same answers.
    results, lock = [], threading.Lock()

    def client(i):
        for _ in range(4):
            s, g = post(port, {"text": TEXTS[i % len(TEXTS)]})
            with lock:
                results.append(s == 200 and same(g, want[i % len(TEXTS)]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(len(results) == 32 and all(results), f"concurrent requests: {results.count(True)}/32 right")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as r:
        served = json.loads(r.read()).get("served", {})
    # 1 + 1 + 1 + 32 requests holding 1 + 5 + 5 + 32 texts (the bad one never reaches the model);
    # concurrent ones may share passes.
    check(served.get("requests") == 35 and served.get("texts") == 43 and 1 <= served.get("passes", 0) <= 35 and
          served.get("waiting") == 0, f"/health served: {served}")

    for body, raw, status_want, words in [
            (b'{"text": ', True, 400, "malformed JSON"),
            (b'{"text": "\xff"}', True, 400, "UTF-8"),
            ({"text": 5}, False, 400, "not a string"),
            ({"texts": "abc"}, False, 400, "not an array"),
            ({"texts": ["a"] * 9}, False, 400, "--max-texts"),
            ({"text": "a", "texts": ["b"]}, False, 400, "either"),
            ([1, 2], False, 400, "not a JSON object"),
            (b'{"text": "' + b"a" * 200000 + b'"}', True, 413, "--payload-limit 100000")]:
        status, got = post(port, body, raw)
        check(status == status_want and words in got.get("error", ""), f"bad request {body!r:.40}: {status} {got}")
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=60)
        check(False, "unknown path answered")
    except urllib.error.HTTPError as e:
        check(e.code == 404 and "no such endpoint" in json.loads(e.read())["error"], f"404: {e.code}")
finally:
    srv.send_signal(signal.SIGTERM)
    try:
        code = srv.wait(timeout=30)
    except subprocess.TimeoutExpired:
        srv.kill()
        code = None
    rest = srv.stderr.read().decode()
check(code == 0 and "stopped" in rest, f"SIGTERM stops it: {code} {rest[-300:]}")

# --no-batching: each request alone in its own pass, the same answers; --cors answers a browser's
# preflight.
srv = subprocess.Popen([EMOT5, "serve", "--model", MODEL, "--port", "0", "--threads", "1", "--no-batching",
                        "--cors", "http://localhost:3000"], stderr=subprocess.PIPE, env=env)
try:
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", srv.stderr.readline().decode())
    check(m is not None, "--no-batching start line")
    port = int(m.group(1)) if m else 0
    status, got = post(port, {"texts": TEXTS})
    check(status == 200 and all(same(g, w) for g, w in zip(got["predictions"], want)), f"--no-batching: {status} {got}")
    results = []

    def alone(i):
        results.append(post(port, {"text": TEXTS[i % len(TEXTS)]})[0])

    threads = [threading.Thread(target=alone, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=60) as r:
        served = json.loads(r.read()).get("served", {})
        check(results == [200] * 6 and served.get("requests") == 7 and served.get("passes") == 7,
              f"--no-batching: one pass per request: {results} {served}")
        check(r.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000", "--cors: the origin on answers")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/classify", method="OPTIONS",
                                 headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "content-type"})
    with urllib.request.urlopen(req, timeout=60) as r:
        check(r.status == 204 and "POST" in r.headers.get("Access-Control-Allow-Methods", "") and
              r.headers.get("Access-Control-Allow-Origin") == "http://localhost:3000" and
              "Content-Type" in r.headers.get("Access-Control-Allow-Headers", ""), f"--cors preflight: {r.status} {dict(r.headers)}")
finally:
    srv.send_signal(signal.SIGTERM)
    check(srv.wait(timeout=30) == 0, "--no-batching: SIGTERM stops it")
# --log: the time (UTC), the client's address, method, path, status and milliseconds.
log_line = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z 127\.0\.0\.1:\d+ "
check(re.search(log_line + r"POST /classify 200 [0-9.]+ ms$", rest, re.M) and re.search(log_line + r"GET /nope 404 ", rest, re.M),
      f"--log lines: {rest[:300]}")

finish()
