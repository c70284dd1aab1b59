#!/usr/bin/env python3
"""Load benchmark of `emot5 serve` with wrk (Debian's wrk): requests/s and p50/p99 latency at 1, 16
and 64 connections over TEI's /predict and the HF route /hf, one text a request, beside
`emot5 bench`'s texts/s for the same model and threads, all in one run.

  python3 bench/serve_wrk.py [--emot5 build/emot5] [--model DIR] [--threads 0] [--connections 1,16,64]
      [--seconds 10] [--data data/emotion/test.jsonl]

Prints the machine, the commands and a Markdown table. wrk runs on the same machine (2 threads),
so it takes some of its CPU too.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile

LUA = r"""
local texts = {}
for line in io.lines(os.getenv("EMOT5_TEXTS")) do texts[#texts + 1] = line end
local path = os.getenv("EMOT5_PATH")
local i = 0
request = function()
  i = i % #texts + 1
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, texts[i])
end
"""


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def run_wrk(port, path, connections, seconds, texts_file, script):
    env = dict(os.environ, EMOT5_TEXTS=texts_file, EMOT5_PATH=path)
    cmd = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script,
           f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))
    lat = {p: ms(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([0-9.]+)(us|ms|s)$", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat.get("50"), lat.get("99"), int(non2xx.group(1)) if non2xx else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emot5", default="build/emot5")
    ap.add_argument("--model", default=None, help="default: the built-in model")
    ap.add_argument("--threads", type=int, default=0, help="serve's --threads (0: its default plan)")
    ap.add_argument("--connections", default="1,16,64")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--data", default="data/emotion/test.jsonl")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    with open(args.data, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]
    model = ["--model", args.model] if args.model else []
    serve = [args.emot5, "serve", "--port", "0", "--threads", str(args.threads), "--no-generate",
             "--max-concurrent-requests", "4096"] + model
    print("emot5 serve load benchmark (wrk)")
    print(f"  command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"  cpu: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"  server: {' '.join(serve)}")
    print(f"  texts: {args.data} ({len(texts)}), one per request, {args.seconds} s per measurement")
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "post.lua")
        with open(script, "w") as f:
            f.write(LUA)
        bodies = os.path.join(tmp, "bodies.txt")
        with open(bodies, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps({"inputs": t}) + "\n")
        srv = subprocess.Popen(serve, stderr=subprocess.PIPE)
        line = srv.stderr.readline().decode()
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+) \(.*; (up to .*)\)", line)
        if not m:
            srv.kill()
            sys.exit(f"serve did not start: {line}")
        port = int(m.group(1))
        print(f"  compute: {m.group(2)}\n")
        rows = []
        try:
            run_wrk(port, "/predict", 4, 2, bodies, script)  # warm-up: kernels are made on first use
            for path in ["/predict", "/hf"]:
                for c in [int(x) for x in args.connections.split(",")]:
                    rps, p50, p99, bad = run_wrk(port, path, c, args.seconds, bodies, script)
                    rows.append((path, c, rps, p50, p99, bad))
                    print(f"  {path:<9} {c:>3} connections: {rps:8.1f} requests/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms"
                          f"{f', {bad} non-2xx' if bad else ''}", flush=True)
        finally:
            srv.send_signal(signal.SIGTERM)
            srv.wait(timeout=60)
    threads = args.threads if args.threads > 0 else os.cpu_count()
    bench = [args.emot5, "bench", "--threads", str(threads), "--batch-sizes", "1,32", "--limit", "1000",
             "--latency-texts", "0", "--json", os.devnull] + model
    out = subprocess.run(bench, capture_output=True, text=True, timeout=1800).stdout
    tps = re.findall(r"^(1|32)\s+([0-9.]+)", out, re.M)
    print(f"\n  {' '.join(bench)}: " + ", ".join(f"batch {b}: {t} texts/s" for b, t in tps))
    print("\n| route | connections | requests/s | p50 | p99 |\n|---|---|---|---|---|")
    for path, c, rps, p50, p99, bad in rows:
        print(f"| {path} | {c} | {rps:.1f} | {p50:.2f} ms | {p99:.2f} ms |" + (f" ({bad} non-2xx)" if bad else ""))


if __name__ == "__main__":
    main()
