#!/usr/bin/env python3
"""The product house's bounds: the README at most 200 lines and starting with its two commands,
the model card at most 150 lines with Hugging Face's front matter and its test results, no source
file over 600 lines, `emot5 train --help` at most 40 options, and no document pointing outside
the repository.

usage: house.py EMOT5_BINARY SOURCE_DIR
"""
import glob
import os
import re
import subprocess
import sys

from checks import check, finish

EMOT5, SRC = sys.argv[1], sys.argv[2]


def lines(path):
    with open(os.path.join(SRC, path), encoding="utf-8") as f:
        return f.read().splitlines()


readme = lines("README.md")
check(len(readme) <= 200, f"README.md has {len(readme)} lines (at most 200)")
commands = [l for l in readme[:20] if l.startswith("scripts/setup.sh")]
check(commands == ['scripts/setup.sh && build/emot5 classify "i feel wonderful today"',
                   "scripts/setup.sh && ctest --test-dir build -LE slow --output-on-failure -j 2"],
      f"the README opens with its two commands: {commands}")
with open(os.path.join(SRC, ".ci/run"), encoding="utf-8") as f:
    check("ctest --test-dir build -LE slow --output-on-failure -j 2" in f.read(), "CI runs the README's test command")

card = lines("models/emot5-small/README.md")
check(len(card) <= 150, f"the model card has {len(card)} lines (at most 150)")
front = card[1:card.index("---", 1)] if card and card[0] == "---" and "---" in card[1:] else []
text = "\n".join(front)
check(all(k in text for k in ("language:", "license:", "datasets:", "metrics:", "model-index:")),
      "the card opens with Hugging Face's front matter")
check("value: 0.9125" in text and "value: 0.8774" in text and "split: test" in text,
      "the card's model-index holds the test results")

long = []
for path in glob.glob(os.path.join(SRC, "src", "**", "*.*"), recursive=True):
    with open(path, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    if n > 600:
        long.append(f"{os.path.relpath(path, SRC)} ({n})")
check(not long, f"no source file over 600 lines: {long}")

trainer = os.path.join(os.path.dirname(EMOT5), "emot5-train")
if os.path.exists(trainer):
    out = subprocess.run([EMOT5, "train", "--help"], capture_output=True, text=True, timeout=60).stdout
    options = [l for l in out.splitlines() if re.match(r"^  -", l) and "--help" not in l]
    check(0 < len(options) <= 40, f"emot5 train --help lists {len(options)} options (at most 40)")
else:
    print("SKIPPED: emot5 train --help (this build has no trainer)")

outside = []
for path in ["README.md", "models/emot5-small/README.md", "research/EXPERIMENTS.md"] + \
        [os.path.relpath(p, SRC) for p in glob.glob(os.path.join(SRC, "docs", "*.md"))]:
    for n, line in enumerate(lines(path), 1):
        if "../shared" in line or "/work/" in line:
            outside.append(f"{path}:{n}")
check(not outside, f"no document points outside the repository: {outside}")

finish()
