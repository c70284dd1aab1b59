#!/usr/bin/env python3
"""End-to-end tests of the emot5 CLI. Expected values come from the Hugging Face fixtures in
tests/data (reference ids, logits, generations, tokenizer cases), never from emot5's own output.

usage: golden_cli.py EMOT5_BINARY TEST_DATA_DIR
"""
import csv
import io
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

from checks import check, finish

EMOT5, DATA = sys.argv[1], sys.argv[2]
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
LABEL_IDS = [24784, 3922, 333, 11213, 2971, 4158]
FIXTURES = ["tiny-v10-f32", "tiny-v11-tied-bf16", "tiny-v11-untied-f32"]


def run(args, stdin=None, env=None):
    e = dict(os.environ)
    e.pop("EMOT5_MODEL", None)
    if env:
        e.update(env)
    p = subprocess.run([EMOT5] + args, input=stdin, capture_output=True, env=e, timeout=300)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8", "replace")


def read_safetensors(path, names):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name in names:
        h = header[name]
        b, e = h["data_offsets"]
        chunk = raw[8 + n + b:8 + n + e]
        fmt = {"F32": "f", "I64": "q"}[h["dtype"]]
        out[name] = (list(struct.unpack("<%d%s" % (len(chunk) // struct.calcsize(fmt), fmt), chunk)), h["shape"])
    return out


def fixture_rows(fx):
    """Texts whose tokenization equals the reference ids (all but the cut text 15)."""
    d = os.path.join(DATA, fx)
    meta = json.load(open(os.path.join(d, "reference.json")))
    ref = read_safetensors(os.path.join(d, "reference.safetensors"),
                           ["input_ids", "attention_mask", "generated", "logits"])
    (ids, (B, L)), (mask, _) = ref["input_ids"], ref["attention_mask"]
    rows = []
    for b in range(B):
        row_ids = [ids[b * L + i] for i in range(L) if mask[b * L + i]]
        rows.append({"text": meta["texts"][b], "ids": row_ids, "b": b})
    return d, rows, ref


def softmax(xs):
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [x / s for x in e]


for fx in FIXTURES:
    d, rows, ref = fixture_rows(fx)
    texts = [r["text"] for r in rows]

    # tokenize: ids equal the reference input ids (except the text cut to 64 ids).
    code, out, err = run(["tokenize", "--model", d] + texts)
    check(code == 0, f"{fx}: tokenize exit {code}: {err}")
    toks = [json.loads(l) for l in out.splitlines()]
    usable = [r for r, t in zip(rows, toks) if t["ids"] == r["ids"]]
    check(len(usable) >= len(rows) - 1, f"{fx}: tokenize matches {len(usable)}/{len(rows)} reference rows")

    # generate: HF's greedy ids, decoder start first, trimmed after eos.
    gen, (_, W) = ref["generated"]
    code, out, err = run(["generate", "--model", d, "--max-new-tokens", str(W - 1)] + [r["text"] for r in usable])
    check(code == 0, f"{fx}: generate exit {code}: {err}")
    for r, line in zip(usable, out.splitlines()):
        want = gen[r["b"] * W:(r["b"] + 1) * W]
        if 1 in want:
            want = want[:want.index(1) + 1]
        got = json.loads(line)
        check(got["ids"] == want, f"{fx}: generate row {r['b']}: {got['ids']} != {want}")
        check(got["text"] == r["text"], f"{fx}: generate echoes the text")

    # classify (jsonl, texts on stdin): probabilities = softmax of HF's label logits at step 0.
    V = 32128
    logits, _ = ref["logits"]
    stdin = "".join(r["text"] + "\n" for r in usable).encode()
    code, out, err = run(["classify", "--model", d, "--format", "jsonl", "--generate"], stdin=stdin)
    check(code == 0, f"{fx}: classify exit {code}: {err}")
    lines = out.splitlines()
    check(len(lines) == len(usable), f"{fx}: classify printed {len(lines)} lines for {len(usable)} texts")
    jsonl_labels = []
    for r, line in zip(usable, lines):
        got = json.loads(line)
        base = r["b"] * 2 * V
        want = softmax([logits[base + i] for i in LABEL_IDS])
        check(list(got.keys()) == ["text", "label", "scores", "generated"], f"{fx}: jsonl keys {list(got)}")
        check(got["text"] == r["text"], f"{fx}: classify keeps input order")
        check(got["label"] == LABELS[want.index(max(want))], f"{fx}: row {r['b']} label {got['label']}")
        check(all(abs(got["scores"][l] - p) < 1e-4 for l, p in zip(LABELS, want)),
              f"{fx}: row {r['b']} scores {got['scores']} vs {want}")
        jsonl_labels.append(got["label"])

    # The same texts through a .csv file (quoted fields) and a .jsonl file give the same labels.
    with tempfile.TemporaryDirectory() as tmp:
        cpath = os.path.join(tmp, "in.csv")
        with open(cpath, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "body"])
            for i, r in enumerate(usable):
                w.writerow([i, r["text"]])
        code, out, err = run(["classify", "--model", d, "--input", cpath, "--text-column", "body", "--format", "csv"])
        check(code == 0, f"{fx}: csv classify exit {code}: {err}")
        got = list(csv.DictReader(io.StringIO(out)))
        check([g["label"] for g in got] == jsonl_labels, f"{fx}: csv labels equal jsonl labels")
        check([g["text"] for g in got] == [r["text"] for r in usable], f"{fx}: csv texts round-trip")
        jpath = os.path.join(tmp, "in.jsonl")
        with open(jpath, "w") as f:
            for r in usable:
                f.write(json.dumps({"body": r["text"], "label": "x"}) + "\n")
        code, out, err = run(["classify", "--model", d, "--input", jpath, "--text-field", "body", "--format", "text"])
        check(code == 0, f"{fx}: jsonl-input classify exit {code}: {err}")
        check([l.split("\t")[0] for l in out.splitlines()] == jsonl_labels, f"{fx}: text-format labels")

        # --keep carries input fields through: JSON values as they were (null where missing), CSV cells.
        with open(jpath, "w") as f:
            for i, r in enumerate(usable):
                f.write(json.dumps({"body": r["text"], "id": i, "meta": {"u": "é"} if i % 2 else "x"}) + "\n")
        code, out, err = run(["classify", "--model", d, "--input", jpath, "--text-field", "body", "--keep", "id,meta,absent"])
        rows = [json.loads(l) for l in out.splitlines()]
        check(code == 0 and [list(r)[:4] for r in rows] == [["id", "meta", "absent", "text"]] * len(usable) and
              [r["id"] for r in rows] == list(range(len(usable))) and rows[1]["meta"] == {"u": "é"} and
              rows[0]["absent"] is None and [r["label"] for r in rows] == jsonl_labels, f"{fx}: --keep jsonl {code} {err}")
        code, out, err = run(["classify", "--model", d, "--input", cpath, "--text-column", "body", "--format", "csv",
                              "--keep", "id"])
        got = list(csv.DictReader(io.StringIO(out)))
        check(code == 0 and out.startswith("id,text,label,") and [g["id"] for g in got] == [str(i) for i in range(len(usable))],
              f"{fx}: --keep csv {code} {err}")
        # JSON lines from stdin with --input-format (e.g. from zcat), the same labels and fields.
        code, out, err = run(["classify", "--model", d, "--input", "-", "--input-format", "jsonl", "--text-field", "body",
                              "--keep", "id"], stdin=open(jpath, "rb").read())
        rows = [json.loads(l) for l in out.splitlines()]
        check(code == 0 and [r["label"] for r in rows] == jsonl_labels and [r["id"] for r in rows] == list(range(len(usable))),
              f"{fx}: jsonl from stdin: {code} {err}")
        for args, words in [(["--input", cpath, "--text-column", "body", "--keep", "nope"], "no column named 'nope'"),
                            (["--input", jpath, "--text-field", "body", "--keep", "label"], "clashes"),
                            (["--input", jpath, "--text-field", "body", "--keep", "id", "--format", "text"], "--format"),
                            (["--keep", "id", "some text"], "--keep needs .jsonl or .csv input")]:
            code, out, err = run(["classify", "--model", d] + args)
            check(code != 0 and words in err, f"{fx}: --keep error {args}: {code} {err}")

    # A text longer than --max-input-tokens is marked in jsonl and counted on stderr.
    code, out, err = run(["classify", "--model", d, "--format", "jsonl", "--max-input-tokens", "4"],
                         stdin=b"i am so scared of the dark\nno\n")
    rows = [json.loads(l) for l in out.splitlines()]
    check(code == 0 and [r.get("truncated", False) for r in rows] == [True, False], f"{fx}: truncated marks {out}")
    check("1 of 2 texts had more than 4 tokens" in err, f"{fx}: truncation note: {err}")

    # calibrate (f32 fixtures, tied and untied heads): the fitted scale b turns HF's label logits
    # into softmax(b * logits), minimizes that NLL on the file, and is carried by the decoder's
    # final norm alone.
    if fx.endswith("-f32"):
        with tempfile.TemporaryDirectory() as tmp:
            lab = os.path.join(tmp, "lab.jsonl")
            cal_rows = [r for r in usable if r["text"]]  # a labeled file has no empty texts
            hf = [[logits[r["b"] * 2 * V + i] for i in LABEL_IDS] for r in cal_rows]
            # Gold: HF's top label, but its second on every fourth row, so that the best scale lies
            # inside the search's range (about 2.2 for tiny-v10-f32, 0.2 for tiny-v11-untied-f32).
            gold = [sorted(range(len(LABELS)), key=lambda k: -z[k])[1 if i % 4 == 0 else 0] for i, z in enumerate(hf)]
            with open(lab, "w") as f:
                for r, g in zip(cal_rows, gold):
                    f.write(json.dumps({"text": r["text"], "label": LABELS[g]}) + "\n")
            nll = lambda b: -sum(math.log(softmax([b * x for x in z])[g]) for z, g in zip(hf, gold)) / len(gold)
            out_dir = os.path.join(tmp, "cal")
            code, out, err = run(["calibrate", "--model", d, "--data", lab, "--out", out_dir + "/", "--json"])
            j = json.loads(out) if code == 0 else {}
            b = j.get("scale", 0)
            check(code == 0 and abs(j["temperature"] * b - 1) < 1e-9 and j["labels_changed"] == 0,
                  f"{fx}: calibrate: {code} {err[-300:]}")
            if code == 0:
                check(abs(j["before"]["nll"] - nll(1)) < 1e-4 and abs(j["after"]["nll"] - nll(b)) < 1e-4,
                      f"{fx}: calibrate's NLL before/after {j['before']['nll']} {j['after']['nll']} vs HF {nll(1)} {nll(b)}")
                check(nll(b) <= min(nll(b * 1.02), nll(b / 1.02)) and nll(b) < nll(1),
                      f"{fx}: calibrate's scale {b} minimizes the NLL of HF's logits")
                code, out, err = run(["eval", "--model", out_dir, "--data", lab, "--json"])
                check(code == 0 and abs(json.loads(out)["nll"] - nll(b)) < 1e-4,
                      f"{fx}: eval's NLL of the calibrated model is HF's at the scale: {code} {err} {out[:200]}")
                code, out, err = run(["classify", "--model", out_dir, "--format", "jsonl", "--no-generate"],
                                     stdin="".join(r["text"] + "\n" for r in cal_rows).encode())
                check(code == 0 and len(out.splitlines()) == len(hf), f"{fx}: classify the calibrated model: {code} {err}")
                for z, line in zip(hf, out.splitlines()):
                    want, got = softmax([b * x for x in z]), json.loads(line)["scores"]
                    check(all(abs(got[l] - p) < 1e-4 for l, p in zip(LABELS, want)),
                          f"{fx}: calibrated scores {got} vs softmax(b * HF logits) {want}")
                src, cal = (open(os.path.join(p, "model.safetensors"), "rb").read() for p in (d, out_dir))
                hs, hc = (json.loads(x[8:8 + struct.unpack("<Q", x[:8])[0]]) for x in (src, cal))
                body = lambda raw, h, k: raw[8 + struct.unpack("<Q", raw[:8])[0]:][slice(*h[k]["data_offsets"])]
                names = sorted(k for k in hs if k != "__metadata__")
                norm = "decoder.final_layer_norm.weight"
                same = [k for k in names if k != norm and body(src, hs, k) == body(cal, hc, k)]
                w0, w1 = (struct.unpack("<%df" % (len(body(r, h, norm)) // 4), body(r, h, norm)) for r, h in
                          ((src, hs), (cal, hc)))
                check(sorted(k for k in hc if k != "__metadata__") == names and len(same) == len(names) - 1 and
                      all(abs(y - x * b) <= 1e-6 * abs(x * b) for x, y in zip(w0, w1)),
                      f"{fx}: calibrate changes {norm} alone, by the scale {b}")
            # Every row right (gold: HF's top label): sharper is always better, the fit runs to
            # the search's bound, and nothing is written.
            right = os.path.join(tmp, "right.jsonl")
            with open(right, "w") as f:
                for r, z in zip(cal_rows, hf):
                    f.write(json.dumps({"text": r["text"], "label": LABELS[z.index(max(z))]}) + "\n")
            code, out, err = run(["calibrate", "--model", d, "--data", right, "--out", os.path.join(tmp, "sharp")])
            check(code == 1 and "bound" in err and "nothing written" in err and not os.path.exists(os.path.join(tmp, "sharp"))
                  and not os.path.exists(os.path.join(tmp, "sharp.partial")), f"{fx}: calibrate at the bound: {code} {err}")
            before = sorted(os.listdir(out_dir))
            code, out, err = run(["calibrate", "--model", d, "--data", lab, "--out", out_dir])
            check(code == 2 and "not an empty directory" in err and sorted(os.listdir(out_dir)) == before,
                  f"{fx}: calibrate refuses a used --out: {code} {err}")


# tokenize: every HF fast-tokenizer case, read from a .jsonl file (texts may hold newlines).
cases = json.load(open(os.path.join(DATA, "tokenizer_cases.json")))["hf"]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "cases.jsonl")
    with open(path, "w") as f:
        for c in cases:
            f.write(json.dumps({"text": c["text"]}) + "\n")
    code, out, err = run(["tokenize", "--model", os.path.join(DATA, FIXTURES[2]), "--input", path,
                          "--max-input-tokens", "100000"])
    check(code == 0, f"tokenize cases exit {code}: {err}")
    got = [json.loads(l)["ids"] for l in out.splitlines()]
    check(len(got) == len(cases), "tokenize printed one line per case")
    for c, g in zip(cases, got):
        check(g == c["ids"], f"tokenize {c['text'][:40]!r}: {g[:12]} != {c['ids'][:12]}")

# Exit codes and error messages.
model = os.path.join(DATA, FIXTURES[2])
for cmd in ["classify", "generate", "tokenize", "make-formula-model"]:
    code, out, _ = run([cmd, "--help"])
    check(code == 0 and "Usage" in out, f"{cmd} --help")
code, _, err = run(["classify", "--model", model, "--no-such-flag", "x"])
check(code == 2, f"unknown flag exits 2, got {code}")
code, _, err = run(["classify", "--model", model, "--format", "xml", "x"])
check(code == 2 and "--format" in err, f"bad --format exits 2: {code} {err}")
code, out, err = run(["classify", "i feel wonderful today"])
check(code == 0 and json.loads(out)["label"] in LABELS, f"without --model the built-in model classifies: {code} {err}")
code, _, err = run(["classify", "--model", "/nonexistent/model", "x"])
check(code == 1 and "/nonexistent/model" in err, f"missing model dir: {code} {err}")
code, out, err = run(["classify", "x"], env={"EMOT5_MODEL": model})
check(code == 0 and json.loads(out)["text"] == "x", f"EMOT5_MODEL selects the model: {code} {err}")
code, out, err = run(["classify", "--model", model], stdin=b"fine\nbad \xff here\n")
check(code == 1 and "<stdin>:2:" in err and "UTF-8" in err, f"invalid UTF-8 names line 2: {code} {err}")
with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write('{"text": "ok"}\n{"text": "unterminated\n')
    code, out, err = run(["classify", "--model", model, "--input", bad])
    check(code == 1 and bad + ":2:" in err and "malformed JSON" in err, f"malformed jsonl: {code} {err}")
    with open(bad, "w") as f:
        f.write('{"text": "ok"}\n{"body": "no text"}\n')
    code, out, err = run(["classify", "--model", model, "--input", bad])
    check(code == 1 and bad + ":2:" in err and "'text'" in err, f"missing field: {code} {err}")
    badcsv = os.path.join(tmp, "bad.csv")
    with open(badcsv, "w") as f:
        f.write("id,text\n1,\"never closed\n")
    code, out, err = run(["classify", "--model", model, "--input", badcsv])
    check(code == 1 and badcsv + ":2:" in err and "unterminated" in err, f"bad csv: {code} {err}")
    code, out, err = run(["classify", "--model", model, "--input", badcsv, "--text-column", "nope"])
    check(code == 1 and "nope" in err, f"missing csv column: {code} {err}")
    # Empty and 1 MB texts classify fine.
    big = os.path.join(tmp, "big.txt")
    with open(big, "w") as f:
        f.write("\n" + "i feel calm and content " * 45000 + "\n")
    code, out, err = run(["classify", "--model", model, "--input", big, "--no-generate"])
    rows = [json.loads(l) for l in out.splitlines()]
    check(code == 0 and len(rows) == 2 and all(abs(sum(r["scores"].values()) - 1) < 1e-4 for r in rows),
          f"empty and 1 MB texts classify: {code} {err}")
    check("generated" not in rows[0] if rows else False, "--no-generate drops the generated field")
    # Scores only is the default; --generate adds what the model writes, and excludes --no-generate.
    code, out, err = run(["classify", "--model", model, "i feel happy"])
    check(code == 0 and list(json.loads(out)) == ["text", "label", "scores"], f"default fields: {code} {out} {err}")
    code, out, err = run(["classify", "--model", model, "--generate", "i feel happy"])
    check(code == 0 and list(json.loads(out)) == ["text", "label", "scores", "generated"],
          f"--generate fields: {code} {out} {err}")
    code, out, err = run(["classify", "--model", model, "--generate", "--no-generate", "i feel happy"])
    check(code == 2 and "exclude" in err.lower(), f"--generate with --no-generate: {code} {err}")

# trends: each period's counts are those of classify's labels for the period's texts.
with tempfile.TemporaryDirectory() as tmp:
    texts = ["i feel happy", "i am so scared", "what a surprise", "i feel so angry", "love it", "so sad today"]
    stamps = ["2024-03-04T10:00:00Z", 1709596800, "2024-03-10 23:30", "2024-03-11", "2024-03-11T01:00:00+02:00",
              "2024-04-02"]
    weeks = ["2024-03-04", "2024-03-04", "2024-03-04", "2024-03-11", "2024-03-04", "2024-04-01"]
    posts = os.path.join(tmp, "posts.jsonl")
    with open(posts, "w") as f:
        for t, s in zip(texts, stamps):
            f.write(json.dumps({"body": t, "at": s}) + "\n")
    code, out, err = run(["classify", "--model", model, "--format", "jsonl", "--no-generate"] + texts)
    labels = [json.loads(l)["label"] for l in out.splitlines()]
    want = {w: {k: 0 for k in LABELS} for w in ["2024-03-18", "2024-03-25"]}  # weeks without texts, filled
    for w, l in zip(weeks, labels):
        want.setdefault(w, {k: 0 for k in LABELS})[l] += 1
    plot = os.path.join(tmp, "trends.svg")
    code, out, err = run(["trends", "--model", model, "--input", posts, "--text-field", "body", "--time-field", "at",
                          "--period", "week", "--format", "jsonl", "--plot", plot])
    got = {r["period"]: r["counts"] for r in map(json.loads, out.splitlines())} if code == 0 else {}
    check(code == 0 and got == want and list(got) == sorted(got), f"trends per week: {code} {err} {got} vs {want}")
    check(os.path.exists(plot) and "5 periods" in open(plot).read(), "trends plot: every week from the first to the last")
    code, out, err = run(["trends", "--model", model, "--input", posts, "--text-field", "body", "--time-field", "at",
                          "--period", "week", "--format", "jsonl", "--skip-empty-periods", "--plot", plot])
    got = [r["period"] for r in map(json.loads, out.splitlines())] if code == 0 else []
    check(got == ["2024-03-04", "2024-03-11", "2024-04-01"], f"trends --skip-empty-periods (was --keep-gaps, which said the opposite): {code} {err} {got}")
    check(open(plot).read().count("<polyline") == len(LABELS), "trends --skip-empty-periods plot: a line per label")
    # Plots are SVG: another file name is refused before any work, and nothing is written.
    png = os.path.join(tmp, "trends.png")
    code, out, err = run(["trends", "--model", model, "--input", posts, "--text-field", "body", "--time-field", "at",
                          "--plot", png])
    check(code == 2 and "--plot" in err and "'" + png + "'" in err and ".svg" in err and out == ""
          and not os.path.exists(png), f"trends --plot x.png is refused: {code} {err}")
    labelled = os.path.join(tmp, "labelled.jsonl")
    with open(labelled, "w") as f:
        for t, l in zip(texts, ["joy", "fear", "surprise", "anger", "love", "sadness"]):
            f.write(json.dumps({"text": t, "label": l}) + "\n")
    # eval counts the generations that are no label only when it generates.
    code, out, err = run(["eval", "--model", model, "--data", labelled, "--json"])
    check(code == 0 and "non_label_generations" not in json.loads(out), f"eval's default has no generations: {code} {err}")
    code, out, err = run(["eval", "--model", model, "--data", labelled, "--json", "--generate"])
    check(code == 0 and json.loads(out).get("non_label_generations", -1) >= 0, f"eval --generate: {code} {err}")
    upper = os.path.join(tmp, "CM.SVG")
    code, out, err = run(["eval", "--model", model, "--data", labelled, "--plot", upper])
    check(code == 0 and open(upper).read().startswith("<svg"), f"eval --plot FILE.SVG (any case) is written: {code} {err}")
    for opt, path, words in [("--plot", os.path.join(tmp, "cm.png"), ".svg"),
                             ("--plot-calibration", os.path.join(tmp, "no", "cal.svg"), "no folder")]:
        code, out, err = run(["eval", "--model", model, "--data", labelled, opt, path])
        check(code == 2 and opt in err and words in err and out == "" and not os.path.exists(path),
              f"eval {opt} {path} is refused: {code} {err}")
    cpath = os.path.join(tmp, "posts.csv")
    with open(cpath, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["when", "text"])
        for t, s in zip(texts, stamps):
            w.writerow([s, t])
    code, out, err = run(["trends", "--model", model, "--input", cpath, "--time-field", "when", "--period", "month",
                          "--format", "csv"])
    got = list(csv.DictReader(io.StringIO(out)))
    check(code == 0 and [(g["period"], g["texts"]) for g in got] == [("2024-03", "5"), ("2024-04", "1")],
          f"trends per month from csv: {code} {err} {got}")
    with open(posts, "a") as f:
        f.write(json.dumps({"body": "x", "at": "2024-02-30"}) + "\n")
    code, out, err = run(["trends", "--model", model, "--input", posts, "--text-field", "body", "--time-field", "at"])
    check(code == 1 and posts + ":7:" in err and "2024-02-30" in err, f"trends bad timestamp: {code} {err}")
    code, out, err = run(["trends", "--model", model, "--input", posts, "--text-field", "body", "--time-field", "at",
                          "--skip-bad-rows", "--format", "csv"])
    # Per day (UTC): 03-04, 03-05, 03-10 (twice: 01:00+02:00 on the 11th is the 10th), 03-11, 04-02,
    # and the days between them without texts: 30 days from 03-04 to 04-02.
    rows = list(csv.DictReader(io.StringIO(out)))
    with_texts = [(r["period"], r["texts"]) for r in rows if r["texts"] != "0"]
    check(code == 0 and "skipped 1 row" in err and len(rows) == 30 and
          with_texts == [("2024-03-04", "1"), ("2024-03-05", "1"), ("2024-03-10", "2"), ("2024-03-11", "1"),
                         ("2024-04-02", "1")] and rows[1]["period"] == "2024-03-05" and rows[2]["joy"] == "",
          f"trends --skip-bad-rows: {code} {err} {out}")

# plot-metrics draws a run's curves from its metrics.jsonl; a missing file is named, a name not .svg refused.
with tempfile.TemporaryDirectory() as tmp:
    out_svg = os.path.join(tmp, "m.svg")
    metrics = os.path.join(os.path.dirname(DATA), "..", "models", "emot5-small", "metrics.jsonl")
    code, _, err = run(["plot-metrics", metrics, "--out", out_svg])
    svg = open(out_svg).read() if code == 0 else ""
    check(svg.count("<polyline") == 3 and "weight average of 8 epochs" in svg, f"plot-metrics: {code} {err}")
    code, _, err = run(["plot-metrics", os.path.join(tmp, "none.jsonl"), "--out", out_svg])
    check(code == 1 and "none.jsonl" in err, f"plot-metrics of a missing file: {code} {err}")
    code, _, err = run(["plot-metrics", metrics, "--out", os.path.join(tmp, "m.png")])
    check(code == 2 and "--out" in err and ".svg" in err and not os.path.exists(os.path.join(tmp, "m.png")),
          f"plot-metrics --out x.png is refused: {code} {err}")

# bench reports, within one run, each precision's share of its measured peak, generation's cost,
# the end-to-end classify rate beside its own and, with --contended, the rate beside a busy
# process. Only the report's content is checked here: speed targets live in benchmarks.
with tempfile.TemporaryDirectory() as tmp:
    texts = os.path.join(tmp, "texts.jsonl")
    with open(texts, "w") as f:
        for i in range(40):
            f.write(json.dumps({"text": f"i feel number {i} today and it is " + "very " * (i % 7) + "strange"}) + "\n")
    report = os.path.join(tmp, "bench.json")
    code, out, err = run(["bench", "--model", model, "--data", texts, "--threads", "1", "--batch-sizes", "1,8",
                          "--precisions", "f32,int8", "--latency-texts", "4", "--contended", "--json", report])
    check(code == 0, f"bench: {code} {err[-500:]}")
    if code == 0:
        j = json.load(open(report))
        for r in j["results"]:
            check(r["measured_peak_gflop_per_s"] > 0 and all(0 < t["fraction_of_peak"] and t["texts_per_s"] > 0
                                                           for t in r["throughput"]), f"bench {r['precision']} rates")
        g = j["generation"]
        check(g["texts_per_s_with_generation"] > 0 and g["texts_per_s_scores_only"] > 0 and
              abs(g["generation_keeps"] - g["texts_per_s_with_generation"] / g["texts_per_s_scores_only"]) < 1e-9,
              f"bench generation: {g}")
        e = j["end_to_end"]
        check(e["texts_per_s"] > 0 and " classify " in e["command"] and "share_of_bench" not in e,
              f"bench end to end (batch sizes 1,8 hold not the default 32): {e}")
        c = j["contended"]
        check(c["busy_processes"] == 1 and c["texts_per_s_contended"] > 0 and
              "GOMP_SPINCOUNT=1000" in c["omp_wait"], f"bench contended: {c}")
        for words in ["generation (f32, batch 8)", "end to end:", "contended (f32, batch 8, one busy process)", "of peak"]:
            check(words in out, f"bench prints {words!r}")
    # No busy process outlives the bench.
    left = subprocess.run(["pgrep", "-f", "emot5 bench --model " + model], capture_output=True, text=True).stdout.split()
    check(left == [], f"bench left processes: {left}")

# make-formula-model writes the full-size flan-t5-small-formula checkpoint; loading it back through
# the CLI must reproduce HF's greedy generations for the reference texts.
with tempfile.TemporaryDirectory() as tmp:
    fdir = os.path.join(tmp, "formula")
    code, _, err = run(["make-formula-model", fdir, "--spiece", os.path.join(DATA, "spiece.model")])
    check(code == 0 and os.path.getsize(os.path.join(fdir, "model.safetensors")) > 300_000_000,
          f"make-formula-model: {code} {err}")
    fref = os.path.join(DATA, "flan-t5-small-formula")
    meta = json.load(open(os.path.join(fref, "reference.json")))
    ref = read_safetensors(os.path.join(fref, "reference.safetensors"), ["generated"])
    gen, (B, W) = ref["generated"]
    code, out, err = run(["generate", "--model", fdir, "--max-new-tokens", str(W - 1)] + meta["texts"])
    check(code == 0, f"formula generate: {code} {err}")
    for b, line in enumerate(out.splitlines()):
        want = gen[b * W:(b + 1) * W]
        if 1 in want:
            want = want[:want.index(1) + 1]
        check(json.loads(line)["ids"] == want, f"formula generate row {b}")

finish()
