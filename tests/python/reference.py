"""The reference the Python tests compare with: `emot5 classify`'s rows for the test split."""
import json
import os
import subprocess

from checks import check


def cli_rows(emot5_binary, source_dir, threads):
    """(texts, env without EMOT5_MODEL, emot5 classify's jsonl rows for data/emotion/test.jsonl)."""
    test = os.path.join(source_dir, "data", "emotion", "test.jsonl")
    texts = [json.loads(line)["text"] for line in open(test)]
    env = dict(os.environ)
    env.pop("EMOT5_MODEL", None)
    p = subprocess.run([emot5_binary, "classify", "--input", test, "--format", "jsonl", "--threads", str(threads)],
                       capture_output=True, text=True, env=env, timeout=600)
    check(p.returncode == 0, f"emot5 classify: {p.stderr[-500:]}")
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    check(len(rows) == len(texts), f"classify answered {len(rows)} of {len(texts)} rows")
    return texts, env, rows
