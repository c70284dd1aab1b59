#!/usr/bin/env python3
"""Load benchmark of `emot5 serve`: concurrent clients each POSTing one text at a time, with
requests joined into shared passes (the default) and with --no-batching, compared in one run.

  python3 bench/serve_load.py [--emot5 build/emot5] [--model DIR] [--threads 2]
      [--clients 1,4,16] [--requests 400] [--data data/emotion/test.jsonl]

Prints the machine, the server's threads, the CPU's vector extensions and the command, then per
mode and client count: requests/s and latency percentiles. The clients run on the same machine
(Python threads with keep-alive connections), so they take some of its CPU too.
"""
import argparse
import http.client
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time


def cpu_facts():
    model, flags = platform.processor() or "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model in ("unknown", "", platform.processor()):
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [x for x in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile") if x in flags]
    return model, " ".join(isa) or "none of avx2/avx512"


def start(cmd):
    srv = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    line = srv.stderr.readline().decode()
    m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
    if not m:
        srv.kill()
        sys.exit(f"serve did not start: {line.strip()} {srv.stderr.read().decode()[-500:]}")
    return srv, int(m.group(1))


def stop(srv):
    srv.send_signal(signal.SIGTERM)
    try:
        srv.wait(timeout=60)
    except subprocess.TimeoutExpired:
        srv.kill()


def load(port, texts, clients, total):
    """total requests spread over `clients` threads; returns (seconds, sorted latencies in ms)."""
    lat, lock, errors = [], threading.Lock(), []
    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]
    go = threading.Barrier(clients + 1)

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        go.wait()
        for k in range(per[i]):
            body = json.dumps({"text": texts[(i * 7919 + k) % len(texts)]})
            t0 = time.perf_counter()
            conn.request("POST", "/classify", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if r.status != 200:
                errors.append(r.status)
        conn.close()
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    go.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    secs = time.perf_counter() - t0
    if errors:
        sys.exit(f"{len(errors)} requests failed, e.g. HTTP {errors[0]}")
    return secs, sorted(lat)


def pct(xs, p):
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main():
    ap = argparse.ArgumentParser(description="Load benchmark of emot5 serve")
    ap.add_argument("--emot5", default="build/emot5")
    ap.add_argument("--model", default=None, help="default: the built-in model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--requests", type=int, default=400, help="requests per measurement")
    ap.add_argument("--data", default="data/emotion/test.jsonl")
    ap.add_argument("--mode", action="append", default=None, metavar="NAME=ARGS",
                    help="a server configuration to compare, e.g. 'passes2=--passes 2' (repeatable; "
                         "default: joined= and --no-batching=--no-batching)")
    args = ap.parse_args()
    with open(args.data, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    clients = [int(c) for c in args.clients.split(",")]
    model, isa = cpu_facts()
    print("emot5 serve load benchmark")
    print(f"  command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"  cpu: {model}, {os.cpu_count()} logical CPUs; vector extensions: {isa}")
    print(f"  server threads: {args.threads}; texts: {args.data} ({len(texts)}), one per request")
    print()
    print(f"{'mode':<16}{'clients':>8}{'req/s':>10}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'passes':>9}")
    modes = [m.split("=", 1) for m in (args.mode or ["joined=", "--no-batching=--no-batching"])]
    for mode, extra in ((name, rest.split()) for name, rest in modes):
        cmd = [args.emot5, "serve", "--port", "0", "--threads", str(args.threads), "--no-generate"] + extra
        if args.model:
            cmd += ["--model", args.model]
        srv, port = start(cmd)
        try:
            load(port, texts, 1, 16)  # warm-up: kernels are made on first use
            for c in clients:
                before = health(port).get("served", {}).get("passes")
                secs, lat = load(port, texts, c, args.requests)
                after = health(port).get("served", {}).get("passes")
                passes = str(after - before) if before is not None else "-"
                print(f"{mode:<16}{c:>8}{args.requests / secs:>10.1f}{pct(lat, 50):>10.2f}{pct(lat, 90):>10.2f}"
                      f"{pct(lat, 99):>10.2f}{passes:>9}", flush=True)
        finally:
            stop(srv)
    print("\n(server command: " + " ".join(cmd[:1] + ["serve", "--port", "0", "--threads", str(args.threads),
                                                        "--no-generate", "[mode's arguments]"]) + ")")


def health(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/health")
    j = json.loads(conn.getresponse().read())
    conn.close()
    return j


if __name__ == "__main__":
    main()
