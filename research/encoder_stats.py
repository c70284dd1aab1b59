#!/usr/bin/env python3
"""Where a T5 encoder's outputs stop depending on the text: layer-by-layer statistics.

Runs the encoder of a checkpoint (f32 or bf16 model.safetensors, HF names) in numpy over token
ids (the output of `emot5 tokenize`) and prints, for each layer, the self-attention's mean
normalized entropy (1 = uniform over the text, 0 = one position), and for the attention's
output, the feed-forward's output and the residual stream: their root mean square and the
"common share", the squared norm of their mean vector over all tokens of all texts divided by
their mean squared norm (0: no shared direction; 1: every token the same vector). The final
line is the encoder's output, after its RMSNorm, which the decoder's cross-attention reads.

  head -100 data/emotion/validation.jsonl | emot5 tokenize -i - --input-format jsonl > ids.jsonl
  /usr/bin/python3 research/encoder_stats.py MODEL ids.jsonl [--texts N]
  /usr/bin/python3 research/encoder_stats.py MODEL ids.jsonl --center OUT

--center OUT writes a copy of MODEL (f32) in which every layer's attention output projection and
feed-forward output projection has the shared direction of its output (measured on the given
texts, layer by layer) projected out, so that the residual stream loses its common vector.

A diagnostic, not part of emot5; it needs python3-numpy.
"""
import argparse
import json
import math
import os
import shutil
import struct

import numpy as np


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        a, b = v["data_offsets"]
        buf = raw[8 + n + a:8 + n + b]
        if v["dtype"] == "F32":
            t = np.frombuffer(buf, np.float32)
        elif v["dtype"] == "BF16":
            t = (np.frombuffer(buf, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name} has dtype {v['dtype']}; only F32 and BF16 are read")
        out[name] = t.reshape(v["shape"]).astype(np.float64)
    return out, header.get("__metadata__")


def save(path, tensors, meta):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        b = np.ascontiguousarray(tensors[name], np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def rms_norm(x, w):
    return w * x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6)


def bucket(rel, buckets=32, max_distance=128):
    """T5's bidirectional relative position bucket."""
    half = buckets // 2
    ret = (rel > 0).astype(int) * half
    n = np.abs(rel)
    exact = half // 2
    large = exact + (np.log(np.maximum(n, 1) / exact) / math.log(max_distance / exact) * (half - exact)).astype(int)
    return ret + np.where(n < exact, n, np.minimum(large, half - 1))


def gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


class Encoder:
    def __init__(self, tensors, config):
        self.t, self.c = tensors, config

    def attention(self, layer, x):
        """Self-attention's output (n, D) and its mean normalized entropy."""
        t, c, n = self.t, self.c, len(x)
        pre = f"encoder.block.{layer}.layer.0."
        h = rms_norm(x, t[pre + "layer_norm.weight"])
        q, k, v = [(h @ t[pre + f"SelfAttention.{s}.weight"].T).reshape(n, c["num_heads"], c["d_kv"]).transpose(1, 0, 2)
                   for s in "qkv"]
        table = t["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        pos = np.arange(n)
        s = q @ k.transpose(0, 2, 1) + table[bucket(pos[None, :] - pos[:, None],
                                                    c.get("relative_attention_num_buckets", 32),
                                                    c.get("relative_attention_max_distance", 128))].transpose(2, 0, 1)
        a = np.exp(s - s.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        entropy = float((-(a * np.log(a + 1e-12)).sum(-1) / math.log(max(n, 2))).mean())
        out = (a @ v).transpose(1, 0, 2).reshape(n, -1) @ t[pre + "SelfAttention.o.weight"].T
        return out, entropy

    def feed_forward(self, layer, x):
        t = self.t
        pre = f"encoder.block.{layer}.layer.1."
        h = rms_norm(x, t[pre + "layer_norm.weight"])
        return (gelu(h @ t[pre + "DenseReluDense.wi_0.weight"].T) * (h @ t[pre + "DenseReluDense.wi_1.weight"].T)) \
            @ t[pre + "DenseReluDense.wo.weight"].T


def stats(xs):
    x = np.concatenate(xs)
    mean = x.mean(0)
    return float(np.sqrt((x ** 2).mean())), float((mean ** 2).sum() / (x ** 2).sum(1).mean())


def unit_mean(xs):
    m = np.concatenate(xs).mean(0)
    return m / np.linalg.norm(m)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("ids", help="JSON lines with an ids field (emot5 tokenize)")
    ap.add_argument("--texts", type=int, default=100, help="how many texts to read (default 100)")
    ap.add_argument("--center", metavar="OUT", help="write a copy with each layer's shared output direction removed")
    a = ap.parse_args()
    tensors, meta = load(os.path.join(a.model, "model.safetensors"))
    config = json.load(open(os.path.join(a.model, "config.json")))
    ids = [json.loads(line)["ids"] for line in open(a.ids)][:a.texts]
    enc = Encoder(tensors, config)
    xs = [tensors["shared.weight"][i] for i in ids]
    print(f"{a.model}: {len(ids)} texts, {sum(map(len, ids))} tokens")
    print("%-28s %8s %8s" % ("", "rms", "common"))
    print("%-28s %8.3f %8.3f" % ("embedding", *stats(xs)))
    for layer in range(config["num_layers"]):
        outs = [enc.attention(layer, x) for x in xs]
        if a.center:
            names = [f"encoder.block.{layer}.layer.0.SelfAttention.o.weight", f"encoder.block.{layer}.layer.1.DenseReluDense.wo.weight"]
            u = unit_mean([o for o, _ in outs])
            tensors[names[0]] -= np.outer(u, u @ tensors[names[0]])
            outs = [enc.attention(layer, x) for x in xs]
        entropy = np.mean([e for _, e in outs])
        att = [o for o, _ in outs]
        xs = [x + o for x, o in zip(xs, att)]
        ffs = [enc.feed_forward(layer, x) for x in xs]
        if a.center:
            u = unit_mean(ffs)
            tensors[names[1]] -= np.outer(u, u @ tensors[names[1]])
            ffs = [enc.feed_forward(layer, x) for x in xs]
        xs = [x + f for x, f in zip(xs, ffs)]
        print(f"layer {layer}: attention entropy {entropy:.3f}")
        print("%-28s %8.3f %8.3f" % ("  attention output", *stats(att)))
        print("%-28s %8.3f %8.3f" % ("  feed-forward output", *stats(ffs)))
        print("%-28s %8.3f %8.3f" % ("  residual stream", *stats(xs)))
    final = [rms_norm(x, tensors["encoder.final_layer_norm.weight"]) for x in xs]
    print("%-28s %8.3f %8.3f" % ("encoder output (normed)", *stats(final)))
    if a.center:
        if os.path.exists(a.center):
            raise SystemExit(f"{a.center} exists; choose a new directory")
        shutil.copytree(a.model, a.center, ignore=shutil.ignore_patterns("checkpoints", "metrics*"))
        save(os.path.join(a.center, "model.safetensors"), tensors, meta)
        print(f"wrote {a.center}")


if __name__ == "__main__":
    main()
