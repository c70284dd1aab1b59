#!/usr/bin/env python3
"""End-to-end tests of `emot5 serve`'s standard APIs and its behaviour under faults, over loopback:
- TEI's /predict and / (shapes, raw_scores, truncate, error codes), the HF Inference API's /hf and
  /models/NAME (top_k, function_to_apply, the list of lists huggingface_hub parses), /info;
- /metrics' families (metrics_promtool.py runs promtool on them);
- API keys; 429 beyond --max-concurrent-requests; slow and stalled clients; pipelining; a taken
  port; 405, 411, malformed HTTP, form-encoded bodies, the listen backlog; 64 concurrent clients
  mixing valid and invalid requests; SIGTERM under load.
Every answer's scores are compared with `emot5 classify`'s.

usage: serve_api.py EMOT5_BINARY TEST_DATA_DIR
"""
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

from checks import check, finish

EMOT5, DATA = sys.argv[1], sys.argv[2]
MODEL = os.path.join(DATA, "tiny-v11-untied-f32")
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
TEXTS = ["i feel happy", "i am so scared of the dark", "what a surprise that was honestly", "love", "so angry now"]
env = dict(os.environ)
env.pop("EMOT5_MODEL", None)
env.pop("EMOT5_API_KEY", None)

p = subprocess.run([EMOT5, "classify", "--model", MODEL, "--format", "jsonl", "--no-generate"] + TEXTS,
                   capture_output=True, env=env, timeout=120)
WANT = {json.loads(l)["text"]: json.loads(l)["scores"] for l in p.stdout.decode().splitlines()}
check(len(WANT) == len(TEXTS), f"classify gave the reference scores: {p.stderr.decode()[-300:]}")


def start(*extra, model=MODEL):
    srv = subprocess.Popen([EMOT5, "serve", "--model", model, "--port", "0", "--threads", "1", "--no-generate"] +
                           list(extra), stderr=subprocess.PIPE, env=env)
    line = srv.stderr.readline().decode()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        srv.kill()
        raise SystemExit(f"serve did not start: {line}{srv.stderr.read().decode()[-500:]}")
    return srv, int(m.group(1))


def stop(srv):
    srv.send_signal(signal.SIGTERM)
    try:
        code = srv.wait(timeout=30)
    except subprocess.TimeoutExpired:
        srv.kill()
        code = None
    return code, srv.stderr.read().decode()


def call(port, method, path, body=None, headers=None, raw=False, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    data = body if raw or body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    conn.request(method, path, body=data, headers=hdrs)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    try:
        parsed = json.loads(payload)
    except ValueError:
        parsed = payload.decode(errors="replace")
    return r.status, parsed, dict(r.getheaders())


def ranked_like(got, text, raw=False, top_k=None):
    """`got` is [{"label", "score"}] sorted highest first, with the reference scores."""
    want = sorted(WANT[text].items(), key=lambda kv: -kv[1])
    if top_k:
        want = want[:top_k]
    if not isinstance(got, list) or len(got) != len(want):
        return False
    scores = [g["score"] for g in got]
    if scores != sorted(scores, reverse=True):
        return False
    for g in got:
        ref = WANT[text][g["label"]]
        value = math.exp(g["score"]) / sum(math.exp(x["score"]) for x in got) if raw else g["score"]
        if abs(value - ref) > 1e-5:
            return False
    return {g["label"] for g in got} == {k for k, _ in want}


srv, port = start("--max-client-batch-size", "4", "--payload-limit", "20000", "--log")
try:
    # TEI: one text, a batch (flat, and of one-text lists), raw scores, POST / as /predict.
    s, got, h = call(port, "POST", "/predict", {"inputs": TEXTS[0]})
    check(s == 200 and ranked_like(got, TEXTS[0]) and "x-total-time" in h and "x-inference-time" in h,
          f"TEI one input: {s} {got} {h}")
    s, got, _ = call(port, "POST", "/predict", {"inputs": TEXTS[:3]})
    check(s == 200 and len(got) == 3 and all(ranked_like(g, t) for g, t in zip(got, TEXTS[:3])), f"TEI batch: {s} {got}")
    s, got, _ = call(port, "POST", "/predict", {"inputs": [[TEXTS[1]], [TEXTS[2]]]})
    check(s == 200 and len(got) == 2 and ranked_like(got[0], TEXTS[1]) and ranked_like(got[1], TEXTS[2]),
          f"TEI batch of one-text lists: {s} {got}")
    s, got, _ = call(port, "POST", "/", {"inputs": TEXTS[3]})
    check(s == 200 and ranked_like(got, TEXTS[3]), f"POST / is /predict: {s} {got}")
    s, got, _ = call(port, "POST", "/predict", {"inputs": TEXTS[1], "raw_scores": True})
    check(s == 200 and ranked_like(got, TEXTS[1], raw=True) and all(g["score"] < 0 for g in got),
          f"raw_scores: summed log-probabilities whose softmax is the probabilities: {s} {got}")
    # truncate: false refuses a text over --max-input-tokens (512); null or absent truncates.
    long_text = "i feel so very happy " * 200
    s, got, _ = call(port, "POST", "/predict", {"inputs": long_text, "truncate": False})
    check(s == 413 and got.get("error_type") == "validation" and "--max-input-tokens" in got.get("error", ""),
          f"truncate false over the limit: {s} {got}")
    for body in ({"inputs": long_text}, {"inputs": long_text, "truncate": None}, {"inputs": long_text, "truncate": True}):
        s, got, _ = call(port, "POST", "/predict", body)
        check(s == 200 and len(got) == 6, f"truncated by default: {body} {s} {got}")
    # TEI's errors.
    for body, raw, status, etype, words in [
            ({"inputs": ["a"] * 5}, False, 413, "validation", "maximum allowed batch size 4"),
            ({"inputs": []}, False, 400, "empty", "empty"),
            (b'{"inputs": "\xff\xfe"}', True, 422, "tokenizer", "UTF-8"),
            (b'{"inputs": "\\udc00"}', True, 422, "tokenizer", "cannot be read"),
            ({"inputs": 5}, False, 422, "validation", "inputs"),
            ({"inputs": [["a", "b"]]}, False, 422, "validation", "one text at a time"),
            ({"inputs": "a", "raw_scores": "yes"}, False, 422, "validation", "raw_scores"),
            ({"text": "a"}, False, 422, "validation", "inputs"),
            (b'{"inputs": ', True, 400, "validation", "malformed JSON"),
            (b'{"inputs": "' + b"a" * 30000 + b'"}', True, 413, "validation", "--payload-limit 20000")]:
        s, got, _ = call(port, "POST", "/predict", body, raw=raw)
        check(s == status and isinstance(got, dict) and got.get("error_type") == etype and words in got.get("error", ""),
              f"TEI error {str(body)[:40]}: {s} {got}")

    # The HF Inference API: a list per input, sorted, top_k of them; function_to_apply none.
    s, got, _ = call(port, "POST", "/hf", {"inputs": TEXTS[0]})
    check(s == 200 and len(got) == 1 and ranked_like(got[0], TEXTS[0]), f"HF one input: {s} {got}")
    s, got, _ = call(port, "POST", "/models/anything/at-all", {"inputs": TEXTS[:2], "parameters": {"top_k": 2}})
    check(s == 200 and len(got) == 2 and all(ranked_like(g, t, top_k=2) for g, t in zip(got, TEXTS[:2])),
          f"HF /models/NAME, top_k 2: {s} {got}")
    s, got, _ = call(port, "POST", "/hf", {"inputs": TEXTS[4], "parameters": {"function_to_apply": "none", "top_k": None}})
    check(s == 200 and ranked_like(got[0], TEXTS[4], raw=True), f"HF function_to_apply none: {s} {got}")
    for params, words in [({"top_k": 0}, "top_k"), ({"function_to_apply": "sigmoid"}, "softmax")]:
        s, got, _ = call(port, "POST", "/hf", {"inputs": "a", "parameters": params})
        check(s == 422 and words in got.get("error", ""), f"HF bad parameters {params}: {s} {got}")
    # /info.
    s, info, _ = call(port, "GET", "/info")
    check(s == 200 and info["model_type"]["classifier"]["id2label"]["0"] == "sadness" and
          info["model_type"]["classifier"]["label2id"]["surprise"] == 5 and info["model_dir"] == MODEL and
          info["model_id"] == "tiny-v11-untied-f32" and info["precision"] == "f32" and
          info["max_concurrent_requests"] == 512 and info["max_input_length"] == 512 and
          info["max_client_batch_size"] == 4 and info["auto_truncate"] is True and info["threads"] == 1 and
          info["passes"] >= 2 and info["version"], f"/info: {info}")

    # HTTP itself: 405 with Allow, 411, malformed HTTP, a form-encoded body read as JSON, pipelining.
    s, got, h = call(port, "GET", "/predict")
    check(s == 405 and h.get("Allow") == "POST" and "not allowed" in got.get("error", ""), f"405: {s} {got} {h}")
    s, got, h = call(port, "DELETE", "/health")
    check(s == 405 and h.get("Allow") == "GET", f"405 on /health: {s} {h}")

    def raw_exchange(payload, wait=2.0):
        """What the server sends back to `payload` within `wait` seconds, and when its first byte came."""
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        t0 = time.time()
        sock.sendall(payload)
        sock.settimeout(wait)
        data, first = b"", None
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                first = first if first is not None else time.time() - t0
                data += chunk
        except socket.timeout:
            pass
        sock.close()
        return data.decode(errors="replace"), first

    out, first = raw_exchange(b"POST /predict HTTP/1.1\r\nHost: x\r\n\r\n", wait=3.0)
    check(out.startswith("HTTP/1.1 411") and "Content-Length header" in out and first is not None and first < 1.0,
          f"POST without Content-Length gets 411 at once: {first} {out[:300]!r}")
    out, _ = raw_exchange(b"GARBAGE\r\n\r\n")
    check(out.startswith("HTTP/1.1 400") and "malformed HTTP request" in out and "error_type" in out,
          f"malformed HTTP: {out[:300]!r}")
    form = json.dumps({"inputs": TEXTS[0] + " " + "x" * 9000}).encode()
    s, got, _ = call(port, "POST", "/predict", form, headers={"Content-Type": "application/x-www-form-urlencoded"}, raw=True)
    check(s == 200 and len(got) == 6, f"a form-encoded body of {len(form)} bytes is read as JSON: {s} {str(got)[:200]}")
    one = json.dumps({"inputs": TEXTS[0]}).encode()
    req = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(one), one)
    out, _ = raw_exchange(req + req, wait=2.0)
    check(out.count("HTTP/1.1 200") == 2, f"two pipelined requests get two answers: {out.count('HTTP/1.1 200')}")

    # The listen backlog: 900 connections open at once without waiting for the accept loop.
    t0 = time.time()
    socks = []
    for _ in range(900):
        socks.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    took = time.time() - t0
    for sk in socks:
        sk.close()
    check(took < 3.0, f"900 connections opened in {took:.2f} s")

    # A taken port fails with "address in use" and exit code 1.
    p = subprocess.run([EMOT5, "serve", "--model", MODEL, "--port", str(port)], capture_output=True, env=env, timeout=60)
    err = p.stderr.decode()
    check(p.returncode == 1 and "in use" in err.lower() and str(port) in err, f"a taken port: {p.returncode} {err[-300:]}")

    # 64 concurrent clients mixing valid and invalid requests: every 200 right, no 5xx.
    bad_bodies = [b'{"inputs": ', b'{"inputs": []}', b'{"inputs": 7}']
    outcomes, lock = [], threading.Lock()

    def mixed(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for k in range(6):
            if (i + k) % 3 == 0:
                body, text = bad_bodies[(i + k) % len(bad_bodies)], None
            else:
                text = TEXTS[(i + k) % len(TEXTS)]
                body = json.dumps({"inputs": text}).encode()
            conn.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            got = json.loads(r.read())
            with lock:
                outcomes.append((r.status, text is None or (r.status == 200 and ranked_like(got, text))))
        conn.close()

    threads = [threading.Thread(target=mixed, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(len(outcomes) == 384 and all(ok for _, ok in outcomes) and not any(s >= 500 for s, _ in outcomes) and
          sum(s == 200 for s, _ in outcomes) == 256, f"64 mixed clients: {sorted(set(s for s, _ in outcomes))}")

    # /metrics: the families, and promtool's check.
    s, text, h = call(port, "GET", "/metrics")
    check(s == 200 and h.get("Content-Type", "").startswith("text/plain; version=0.0.4"), f"/metrics: {s} {h}")
    for family in ["emot5_requests_total", "emot5_request_duration_seconds_bucket", "emot5_queue_duration_seconds_bucket",
                   "emot5_inference_duration_seconds_bucket", "emot5_batch_texts_bucket", "emot5_texts_total",
                   "emot5_requests_in_flight", "emot5_requests_waiting", "emot5_info{"]:
        check(family in text, f"/metrics has {family}")
    m = re.search(r'emot5_requests_total\{route="/predict",code="200"\} (\d+)', text)
    check(m is not None and int(m.group(1)) >= 256, f"requests by route and code: {m and m.group(0)}")
    check(re.search(r'emot5_info\{model="[^"]*tiny-v11-untied-f32",precision="f32",version="[^"]+"\} 1', text) is not None,
          "emot5_info names the model, precision and version")
finally:
    code, log = stop(srv)
check(code == 0, f"SIGTERM: {code} {log[-300:]}")
check(re.search(r"^\d{4}-\d\d-\d\dT\S+Z 127\.0\.0\.1:\d+ POST /predict 413 ", log, re.M) is not None, "--log lines")

# Keys: every model route needs the bearer key; /health, /metrics and the page need none.
srv, port = start("--api-key", "s3cret")
try:
    for path, body in [("/predict", {"inputs": "a"}), ("/hf", {"inputs": "a"}), ("/classify", {"text": "a"}),
                       ("/info", None)]:
        method = "GET" if body is None else "POST"
        s, got, h = call(port, method, path, body)
        check(s == 401 and got.get("error_type") == "auth" and h.get("WWW-Authenticate") == "Bearer",
              f"no key on {path}: {s} {got}")
        s, got, _ = call(port, method, path, body, headers={"Authorization": "Bearer s3cre"})
        check(s == 401, f"a wrong key on {path}: {s}")
        s, got, _ = call(port, method, path, body, headers={"Authorization": "Bearer s3cret"})
        check(s == 200, f"the key on {path}: {s} {got}")
    for path in ["/health", "/metrics", "/"]:
        s, _, _ = call(port, "GET", path)
        check(s == 200, f"{path} needs no key: {s}")
finally:
    stop(srv)
os.environ_key = None
env_key = dict(env, EMOT5_API_KEY="fromenv")
srv2 = subprocess.Popen([EMOT5, "serve", "--model", MODEL, "--port", "0", "--threads", "1"], stderr=subprocess.PIPE,
                        env=env_key)
m = re.search(r":(\d+) ", srv2.stderr.readline().decode())
if m:
    s, _, _ = call(int(m.group(1)), "POST", "/predict", {"inputs": "a"})
    s2, _, _ = call(int(m.group(1)), "POST", "/predict", {"inputs": "a"}, headers={"Authorization": "Bearer fromenv"})
    check(s == 401 and s2 == 200, f"EMOT5_API_KEY: {s} {s2}")
stop(srv2)

# Beyond --connections, a connection gets a JSON 503 and is closed.
srv, port = start("--connections", "2")
try:
    held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    time.sleep(0.3)
    s, got, _ = call(port, "GET", "/health")
    check(s == 503 and isinstance(got, dict) and got.get("error_type") == "overloaded" and "--connections" in got["error"],
          f"beyond --connections: {s} {got}")
    for sk in held:
        sk.close()
finally:
    stop(srv)

# Overload: beyond --max-concurrent-requests, 429 at once with Retry-After, never a hang.
srv, port = start("--max-concurrent-requests", "2", "--passes", "1")
try:
    big = {"inputs": ["i feel " + "very " * 60 + "happy"] * 4}
    statuses, lock = [], threading.Lock()

    def flood():
        s, got, h = call(port, "POST", "/predict", big, timeout=60)
        with lock:
            statuses.append((s, h.get("Retry-After"), got.get("error_type") if isinstance(got, dict) else None))

    threads = [threading.Thread(target=flood) for _ in range(40)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    codes = [s for s, _, _ in statuses]
    check(len(codes) == 40 and set(codes) <= {200, 429} and codes.count(429) > 0 and codes.count(200) >= 2 and
          all(r == "1" and e == "overloaded" for s, r, e in statuses if s == 429) and took < 60,
          f"overload: {codes.count(200)} x 200, {codes.count(429)} x 429 in {took:.1f} s")
finally:
    stop(srv)

# Slow and stalled clients: 200 connections trickling one header byte a second, and 20 that send
# nothing, hold no thread: a normal request is answered within one second; the stalled ones are
# closed after --request-timeout.
srv, port = start("--request-timeout", "3")
try:
    stop_flag = threading.Event()
    slow = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(200)]
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]

    def trickle():
        payload = b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 100
        for i in range(len(payload)):
            if stop_flag.is_set():
                return
            for sk in slow:
                try:
                    sk.send(payload[i:i + 1])
                except OSError:
                    pass
            time.sleep(1.0)

    tr = threading.Thread(target=trickle)
    tr.start()
    time.sleep(1.5)
    worst = 0.0
    for text in TEXTS:
        t0 = time.time()
        s, got, _ = call(port, "POST", "/predict", {"inputs": text})
        worst = max(worst, time.time() - t0)
        check(s == 200 and ranked_like(got, text), f"a normal request beside slow clients: {s}")
    check(worst < 1.0, f"answered within a second beside 200 trickling and 20 stalled connections: {worst:.3f} s")
    time.sleep(3.0)
    closed = 0
    for sk in stalled:
        sk.settimeout(2)
        try:
            closed += sk.recv(1) == b""
        except (socket.timeout, OSError):
            pass
    check(closed == 20, f"stalled connections closed after --request-timeout: {closed}/20")
    stop_flag.set()
    tr.join()
    for sk in slow + stalled:
        sk.close()
finally:
    stop(srv)

# SIGTERM under load: /health says 503 while it drains, the requests in flight are answered, exit 0.
srv, port = start("--passes", "1")
answers, lock = [], threading.Lock()
go = threading.Event()


def loader(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while not go.is_set():
        try:
            conn.request("POST", "/predict", body=json.dumps({"inputs": [TEXTS[i % 5]] * 4}).encode(),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            got = json.loads(r.read())
            with lock:
                answers.append(r.status if r.status != 200 else (200 if ranked_like(got[0], TEXTS[i % 5]) else -1))
        except (OSError, http.client.HTTPException, ValueError):
            return


threads = [threading.Thread(target=loader, args=(i,)) for i in range(16)]
for t in threads:
    t.start()
time.sleep(1.0)
srv.send_signal(signal.SIGTERM)
try:
    code = srv.wait(timeout=30)
except subprocess.TimeoutExpired:
    srv.kill()
    code = None
go.set()
for t in threads:
    t.join()
check(code == 0 and len(answers) > 16 and all(a in (200, 503) for a in answers) and answers.count(200) > 16,
      f"SIGTERM under load: exit {code}, answers {sorted(set(answers))} ({len(answers)})")
rest = srv.stderr.read().decode()
check("stopped" in rest, f"stopped: {rest[-200:]}")

# While it drains, /health answers 503 on a connection opened before the signal, and a request in
# flight (a slow pass: the built-in model, 32 texts of 512 tokens, one thread) is still answered.
# Under a sanitizer, 2 such texts: attention's products are emot5's own loops, which the sanitizer
# instruments (32 texts take about 42 s under ASan, past the 30 s drain, and 4 take 16 s under
# TSan; 1.9 s without one).
SLOW_TEXTS = 2 if "EMOT5_SANITIZER" in os.environ else 32
srv = subprocess.Popen([EMOT5, "serve", "--port", "0", "--threads", "1", "--passes", "1", "--no-generate",
                        "--max-client-batch-size", "32"], stderr=subprocess.PIPE, env=env)
m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", srv.stderr.readline().decode())
port = int(m.group(1)) if m else 0
health_conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
health_conn.request("GET", "/health")
r0 = health_conn.getresponse()
first = r0.status
r0.read()
slow_answer = []


def slow_request():
    s, got, _ = call(port, "POST", "/predict", {"inputs": ["i feel happy " * 170] * SLOW_TEXTS}, timeout=120)
    slow_answer.append((s, len(got) if isinstance(got, list) else got))


t = threading.Thread(target=slow_request)
t.start()
time.sleep(0.3)
srv.send_signal(signal.SIGTERM)
time.sleep(0.1)
health_conn.request("GET", "/health")
r = health_conn.getresponse()
draining = (r.status, json.loads(r.read()).get("error", ""))
t.join()
code = srv.wait(timeout=60)
check(first == 200 and draining[0] == 503 and "draining" in draining[1], f"/health while draining: {first} {draining}")
check(slow_answer == [(200, SLOW_TEXTS)] and code == 0, f"the request in flight is answered, then exit 0: {slow_answer} {code}")

finish()
