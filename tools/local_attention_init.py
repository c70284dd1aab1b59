#!/usr/bin/python3
"""Give a fresh T5's encoder heads a local attention pattern to start from.

T5's encoder shares one relative position bias table (layer 0's, shape buckets x heads)
across its layers. This tool sets, for head h, the bias of the bucket that holds relative
offset OFFSETS[h] (key position minus query position) to --bias, and leaves the head's other
buckets as drawn; heads beyond the list keep their whole column. With a bias well above the
content logits (about 1 at HF's initialization), head h starts by copying the token at that
offset, so each layer starts as a width-len(OFFSETS) convolution plus the remaining global
heads, and training can move every value. Everything else of the model directory is copied.

  /usr/bin/python3 tools/local_attention_init.py MODEL_DIR OUT_DIR \
      [--offsets=-2,-1,0,1,2] [--bias 6]

MODEL_DIR's model.safetensors must hold the table in F32 (a fresh model written by a 1-step
run with `--lr 0 --save-dtype f32`). Only offsets in the exact buckets are accepted
(|offset| below a quarter of relative_attention_num_buckets). Plain Python, not part of emot5:
it exists to record how an experiment of the default model's card was made.
"""
import argparse
import json
import os
import shutil
import struct
import sys

TABLE = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"


def bucket(offset, num_buckets):
    """T5's bidirectional bucket of a small relative offset (HF's _relative_position_bucket)."""
    half = num_buckets // 2
    if abs(offset) >= half // 2:
        raise ValueError(f"offset {offset} is outside the exact buckets (|offset| < {half // 2})")
    return abs(offset) + (half if offset > 0 else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--offsets", default="-2,-1,0,1,2", help="one relative offset per head, from head 0")
    ap.add_argument("--bias", type=float, default=6.0, help="the bias given to each head's offset")
    args = ap.parse_args()

    config = json.load(open(os.path.join(args.model, "config.json"), encoding="utf-8"))
    heads, buckets = config["num_heads"], config["relative_attention_num_buckets"]
    offsets = [int(s) for s in args.offsets.split(",")]
    if len(offsets) > heads:
        sys.exit(f"{len(offsets)} offsets for {heads} heads")
    path = os.path.join(args.model, "model.safetensors")
    raw = bytearray(open(path, "rb").read())
    n = struct.unpack("<Q", raw[:8])[0]
    meta = json.loads(raw[8:8 + n])[TABLE]
    if meta["dtype"] != "F32" or meta["shape"] != [buckets, heads]:
        sys.exit(f"{path}: {TABLE} is {meta['dtype']} {meta['shape']}; expected F32 [{buckets}, {heads}]")
    start = 8 + n + meta["data_offsets"][0]
    for h, off in enumerate(offsets):
        try:
            b = bucket(off, buckets)
        except ValueError as e:
            sys.exit(str(e))
        struct.pack_into("<f", raw, start + 4 * (b * heads + h), args.bias)
        print(f"head {h}: offset {off:+d} (bucket {b}) bias {args.bias}", file=sys.stderr)

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.model):
        src = os.path.join(args.model, name)
        if name != "model.safetensors" and os.path.isfile(src):
            shutil.copy(src, args.out)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(raw)


if __name__ == "__main__":
    main()
