#!/usr/bin/env python3
"""`emot5 serve`'s /metrics passes `promtool check metrics` (Debian's prometheus package) after
requests of every kind: answered, refused and unknown. Exits 77 (skipped) without promtool.

usage: metrics_promtool.py EMOT5_BINARY TEST_DATA_DIR
"""
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys

from checks import check, finish

EMOT5, DATA = sys.argv[1], sys.argv[2]
promtool = shutil.which("promtool")
if not promtool:
    print("SKIPPED: promtool is not installed (Debian's prometheus package)")
    sys.exit(77)
env = {k: v for k, v in os.environ.items() if k not in ("EMOT5_MODEL", "EMOT5_API_KEY")}
srv = subprocess.Popen([EMOT5, "serve", "--model", os.path.join(DATA, "tiny-v11-untied-f32"), "--port", "0",
                        "--threads", "1"], stderr=subprocess.PIPE, env=env)
try:
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", srv.stderr.readline().decode())
    check(m is not None, "serve started")
    port = int(m.group(1)) if m else 0
    for method, path, body in [("POST", "/predict", b'{"inputs": ["a", "b"]}'), ("POST", "/hf", b'{"inputs": "a"}'),
                               ("POST", "/predict", b'{"inputs": []}'), ("GET", "/nope", None), ("GET", "/health", None)]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request(method, path, body=body)
        conn.getresponse().read()
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read()
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    check(p.returncode == 0 and b"emot5_requests_total" in text,
          f"promtool check metrics: {p.returncode} {p.stdout.decode()} {p.stderr.decode()}")
finally:
    srv.send_signal(signal.SIGTERM)
    srv.wait(timeout=30)
finish()
