#!/usr/bin/env python3
"""Stateless replicas behind a real load balancer, on loopback (docs/scaling.md): two `emot5 serve`
replicas and Debian's nginx in front on free ports, 64 concurrent keep-alive clients POSTing to
/predict through nginx. One replica gets SIGTERM mid-load: it drains the requests it holds and
exits 0, nginx sends what it can no longer take to the other (proxy_next_upstream), and every
request still gets a 200 with the right label. Skipped (77) where nginx is not installed.

usage: nginx_test.py EMOT5_BINARY
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402

EMOT5 = sys.argv[1]
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
if not NGINX:
    print("SKIPPED: nginx is not installed (Debian's nginx; .ci/run installs it)")
    sys.exit(77)
CLIENTS, PER_CLIENT = 64, 40
env = dict(os.environ)
env.pop("EMOT5_MODEL", None)
env.pop("EMOT5_API_KEY", None)
TEXTS = ["i feel happy today", "i am so scared of the dark", "i am furious with them", "what a surprise that was",
         "i love my little sister", "i feel so lonely and sad"]
p = subprocess.run([EMOT5, "classify", "--format", "jsonl"] + TEXTS, capture_output=True, text=True, env=env, timeout=120)
WANT = {json.loads(l)["text"]: json.loads(l)["label"] for l in p.stdout.splitlines()}
check(len(WANT) == len(TEXTS), f"reference labels: {p.stderr[-300:]}")


def start_replica():
    proc = subprocess.Popen([EMOT5, "serve", "--port", "0", "--threads", "1", "--passes", "1"],
                            stderr=subprocess.PIPE, env=env)
    line = proc.stderr.readline().decode()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"a replica did not start: {line!r}")
    threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep its pipe drained
    return proc, int(m.group(1))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


replicas = [start_replica(), start_replica()]
tmp = tempfile.mkdtemp(prefix="emot5-nginx-")
os.chmod(tmp, 0o755)
front = free_port()
conf = os.path.join(tmp, "nginx.conf")
with open(conf, "w") as f:
    f.write(f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  upstream emot5 {{
    server 127.0.0.1:{replicas[0][1]};
    server 127.0.0.1:{replicas[1][1]};
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{front};
    location / {{
      proxy_pass http://emot5;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_next_upstream_tries 3;
    }}
  }}
}}
""")
nginx = subprocess.Popen([NGINX, "-p", tmp, "-c", conf], stderr=subprocess.PIPE)
try:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", front), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    statuses, wrong, errors, lock = {}, [], [], threading.Lock()
    done = [0]

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", front, timeout=60)
        for k in range(PER_CLIENT):
            text = TEXTS[(i + k) % len(TEXTS)]
            try:
                conn.request("POST", "/predict", json.dumps({"inputs": text}), {"Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                status = r.status
                label = json.loads(body)[0]["label"] if status == 200 else None
            except Exception as e:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    errors.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", front, timeout=60)
                continue
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                done[0] += 1
                if status == 200 and label != WANT[text]:
                    wrong.append((text, label))
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    t0 = time.time()
    for t in threads:
        t.start()
    total = CLIENTS * PER_CLIENT
    while time.time() - t0 < 120:
        with lock:
            if done[0] >= total // 3:
                break
        time.sleep(0.01)
    with lock:
        at_stop = done[0]
    replicas[0][0].send_signal(signal.SIGTERM)
    for t in threads:
        t.join(timeout=300)
    elapsed = time.time() - t0
    stopped = replicas[0][0].wait(timeout=60)
    answered = sum(statuses.values())
    print(f"{answered} requests through nginx in {elapsed:.1f} s with {CLIENTS} clients; replica 1 got SIGTERM after "
          f"{at_stop}; statuses {statuses}; transport errors {len(errors)}; wrong labels {len(wrong)}")
    check(0 < at_stop < total, f"SIGTERM came mid-load ({at_stop} of {total} done)")
    check(stopped == 0, f"the stopped replica drained and exited 0: {stopped}")
    check(errors == [], f"no request failed in transport: {errors[:3]}")
    check(statuses == {200: total}, f"every request answered 200: {statuses}")
    check(wrong == [], f"every label right: {wrong[:3]}")
    check(replicas[1][0].poll() is None, "the other replica still serves")
finally:
    nginx.send_signal(signal.SIGQUIT)
    try:
        nginx.wait(timeout=30)
    except subprocess.TimeoutExpired:
        nginx.kill()
    for proc, _ in replicas:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
