#!/usr/bin/python3
"""Give a trained model's rarely seen words the embedding of their thesaurus synonyms.

For every whole-word piece of the vocabulary (a lowercase word of 3+ letters after the
word-start mark) seen fewer than --rare times in the training texts, the synonyms that the
Aiksaurus thesaurus lists for it are looked up; those that are whole-word pieces seen at
least --seen times (label words excepted) give the piece a new embedding row: their rows'
mean, rescaled to their mean norm (--mode mean), or the row of the most frequent one
(--mode top). Everything else of the model directory is copied unchanged.

  /usr/bin/python3 research/thesaurus_rows.py MODEL_DIR TRAIN.jsonl OUT_DIR \
      [--rare 3] [--seen 5] [--mode mean] [--changed FILE]

Needs Debian's aiksaurus (its command line program), python3-numpy and
python3-sentencepiece. The model's shared embedding must be stored in bf16 or f32.
Plain Python, not part of emot5: it exists to record how an experiment of the default
model's card was made.
"""
import argparse
import collections
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import sentencepiece as spm

LABELS = {"sadness", "joy", "love", "anger", "fear", "surprise"}


def synonyms(word):
    """Aiksaurus' synonyms of word, all meanings together ([] when it knows no such word)."""
    out = subprocess.run(["aiksaurus", word], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    if not lines or not lines[0].startswith("==="):
        return []  # "*** No synonyms known. Nearby words: ***"
    return [s.strip() for line in lines if line and not line.startswith("===")
            for s in line.split(",")]


def read_embedding(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    meta = json.loads(raw[8:8 + n])["shared.weight"]
    a, b = (8 + n + o for o in meta["data_offsets"])
    if meta["dtype"] == "BF16":
        u16 = np.frombuffer(raw[a:b], dtype=np.uint16)
        emb = (u16.astype(np.uint32) << 16).view(np.float32)
    elif meta["dtype"] == "F32":
        emb = np.frombuffer(raw[a:b], dtype=np.float32).copy()
    else:
        sys.exit(f"{path}: shared.weight is {meta['dtype']}; only BF16 and F32 are handled")
    return raw, (a, b), meta["dtype"], emb.reshape(meta["shape"])


def encode(emb, dtype):
    if dtype == "F32":
        return emb.astype(np.float32).tobytes()
    u = emb.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16).tobytes()  # round to nearest even


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("train")
    ap.add_argument("out")
    ap.add_argument("--rare", type=int, default=3, help="change pieces seen fewer times than this")
    ap.add_argument("--seen", type=int, default=5, help="use synonyms seen at least this often")
    ap.add_argument("--mode", choices=["mean", "top"], default="mean")
    ap.add_argument("--changed", help="write the changed pieces here, one per line")
    args = ap.parse_args()

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model, "spiece.model"))
    count = collections.Counter()
    with open(args.train, encoding="utf-8") as f:
        for line in f:
            count.update(sp.encode(json.loads(line)["text"]))
    piece_of = {}
    for i in range(sp.get_piece_size()):
        word = sp.id_to_piece(i)[1:]
        if sp.id_to_piece(i).startswith("\u2581") and len(word) >= 3 and word.isalpha() and word.islower():
            piece_of[word] = i

    raw, (a, b), dtype, emb = read_embedding(os.path.join(args.model, "model.safetensors"))
    changed = []
    rare = [w for w, i in piece_of.items() if count[i] < args.rare and w not in LABELS]
    for word in rare:
        ids = sorted({piece_of[s] for s in synonyms(word)
                      if s != word and s in piece_of and s not in LABELS and count[piece_of[s]] >= args.seen})
        if not ids:
            continue
        if args.mode == "top":
            ids = [max(ids, key=lambda i: (count[i], -i))]
        rows = emb[ids]
        v = rows.mean(axis=0)
        emb[piece_of[word]] = v * (np.linalg.norm(rows, axis=1).mean() / np.linalg.norm(v))
        changed.append(word)
    print(f"{len(rare)} rare whole-word pieces, {len(changed)} changed", file=sys.stderr)

    os.makedirs(args.out, exist_ok=True)
    for name in os.listdir(args.model):
        src = os.path.join(args.model, name)
        if name != "model.safetensors" and os.path.isfile(src):
            shutil.copy(src, args.out)
    with open(os.path.join(args.out, "model.safetensors"), "wb") as f:
        f.write(raw[:a] + encode(emb, dtype) + raw[b:])
    if args.changed:
        with open(args.changed, "w", encoding="utf-8") as f:
            f.write("".join(w + "\n" for w in changed))


if __name__ == "__main__":
    main()
