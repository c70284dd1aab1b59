#!/usr/bin/env python3
"""Compares the model.safetensors of two model directories (F32, BF16 or F16 tensors): whether they
are bit-identical, and the largest absolute difference. Standard library only.
usage: compare_weights.py DIR_A DIR_B [LABEL]"""
import array
import json
import os
import struct
import sys


def load(model_dir):
    path = os.path.join(model_dir, "model.safetensors")
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        raw = blob[8 + n + t["data_offsets"][0]:8 + n + t["data_offsets"][1]]
        if t["dtype"] == "F32":
            values = array.array("f", raw)
        elif t["dtype"] == "BF16":
            values = array.array("f", b"".join(b"\0\0" + raw[i:i + 2] for i in range(0, len(raw), 2)))
        elif t["dtype"] == "F16":
            values = array.array("f", struct.unpack(f"<{len(raw) // 2}e", raw))
        else:
            sys.exit(f"{path}: tensor '{name}' has dtype {t['dtype']}, not F32, BF16 or F16")
        out[name] = (raw, values)
    return out


a, b = load(sys.argv[1]), load(sys.argv[2])
if a.keys() != b.keys():
    sys.exit(f"{sys.argv[1]} and {sys.argv[2]} hold different tensor names")
exact = all(a[k][0] == b[k][0] for k in a)
worst = max((max((abs(x - y) for x, y in zip(a[k][1], b[k][1])), default=0.0), k) for k in a)
scale = max((abs(x) for x in a[worst[1]][1]), default=0.0)
label = sys.argv[3] if len(sys.argv) > 3 else f"{sys.argv[1]} vs {sys.argv[2]}"
print(f"{label}: {len(a)} tensors, bit-identical {exact}, max |diff| {worst[0]:.3g} "
      f"(in {worst[1]}, whose max |w| is {scale:.3g})")
