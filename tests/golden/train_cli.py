#!/usr/bin/env python3
"""End-to-end tests of `emot5 train` and `emot5 eval` on a tiny fixture model:
- a run killed with SIGKILL and resumed ends with the same weights as an uninterrupted run,
  and so does a run stopped with --stop-after and resumed;
- bad rows stop the run with file and line, or are skipped and counted with --skip-bad-rows;
- the output directory is a complete model that `emot5 classify` and `emot5 eval` load, and so
  is each checkpoint.

usage: train_cli.py EMOT5_BINARY SOURCE_DIR
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

from checks import check, finish

EMOT5, SRC = sys.argv[1], sys.argv[2]
INIT = os.path.join(SRC, "tests/data/tiny-v11-untied-f32")


def run(args, timeout=600):
    p = subprocess.run([EMOT5] + args, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def train_args(data, out, extra=()):
    return ["train", "--init", INIT, "--data", data, "--out", out, "--max-steps", "120", "--batch-size", "4",
            "--lr", "1e-3", "--dropout", "0.1", "--save-every", "5", "--threads", "1", "--seed", "7"] + list(extra)


def tensors(path):
    """name -> raw bytes of each tensor of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    base = 8 + n
    return {k: blob[base + v["data_offsets"][0]:base + v["data_offsets"][1]]
            for k, v in header.items() if k != "__metadata__"}


def weights(out):
    with open(os.path.join(out, "model.safetensors"), "rb") as f:
        return f.read()


with tempfile.TemporaryDirectory() as tmp:
    rows = [json.loads(l) for l in open(os.path.join(SRC, "data/emotion/train.jsonl"))][:96]
    data = os.path.join(tmp, "small.jsonl")
    with open(data, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

    # Uninterrupted reference run.
    ref = os.path.join(tmp, "ref")
    code, _, err = run(train_args(data, ref))
    check(code == 0, f"reference run: {code} {err[-500:]}")
    for name in ["config.json", "model.safetensors", "generation_config.json", "spiece.model", "tokenizer.json",
                 "tokenizer_config.json", "emot5.json", "metrics.jsonl", "training_args.json"]:
        check(os.path.exists(os.path.join(ref, name)), f"output has {name}")

    # --stop-after then --resume.
    stop = os.path.join(tmp, "stop")
    code, _, err = run(train_args(data, stop, ["--stop-after", "37"]))
    check(code == 0 and "stopped at step 37" in err, f"--stop-after: {code} {err[-300:]}")
    check(not os.path.exists(os.path.join(stop, "model.safetensors")), "a stopped run writes no final model")
    # ... but its checkpoint is a model directory that eval loads, to measure it before resuming.
    code, out, err = run(["eval", "--model", os.path.join(stop, "checkpoints", "step-37"), "--data", data, "--json"])
    check(code == 0 and json.loads(out)["n"] == 96, f"eval a stopped run's checkpoint: {code} {err[-300:]}")
    # A --stop-after the run has passed is refused before any step: it counts from the run's start.
    before = sorted(os.listdir(os.path.join(stop, "checkpoints")))
    code, _, err = run(["train", "--resume", stop, "--threads", "1", "--stop-after", "37"])
    check(code != 0 and "--stop-after 37" in err and "at step 37 already" in err and
          sorted(os.listdir(os.path.join(stop, "checkpoints"))) == before and "step-37" in before,
          f"resume with a --stop-after already passed: {code} {err[-300:]} {before}")
    code, _, err = run(["train", "--resume", stop, "--threads", "1"])
    check(code == 0 and "resuming" in err, f"resume after --stop-after: {code} {err[-300:]}")
    check(weights(stop) == weights(ref), "stop + resume gives the uninterrupted weights")

    # SIGKILL once a checkpoint past step 20 exists, then resume.
    kill = os.path.join(tmp, "kill")
    p = subprocess.Popen([EMOT5] + train_args(data, kill), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = os.path.join(kill, "checkpoints", "latest")
    killed_at = None
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if os.path.exists(latest):
            step = int(open(latest).read().strip().split("-")[1] or 0)
            if step >= 20:
                p.send_signal(signal.SIGKILL)
                killed_at = step
                break
        time.sleep(0.005)
    p.wait()
    check(killed_at is not None and p.returncode == -signal.SIGKILL, f"killed mid-run (at {killed_at}, rc {p.returncode})")
    check(not os.path.exists(os.path.join(kill, "model.safetensors")), "the killed run wrote no final model")
    code, _, err = run(["train", "--resume", kill, "--threads", "1"])
    check(code == 0, f"resume after SIGKILL: {code} {err[-300:]}")
    check(os.path.exists(os.path.join(kill, "model.safetensors")) and weights(kill) == weights(ref),
          "SIGKILL + resume gives the uninterrupted weights")

    # The output is a model: classify and eval load it.
    code, out, err = run(["classify", "--model", ref, "i feel happy"])
    check(code == 0 and json.loads(out)["label"] in ["sadness", "joy", "love", "anger", "fear", "surprise"],
          f"classify the trained model: {code} {err}")
    # The last checkpoint holds the same f32 weights (no --keep-best or averaging here): same answer.
    code2, out2, err2 = run(["classify", "--model", os.path.join(ref, "checkpoints", "step-120"), "i feel happy"])
    check(code2 == 0 and out2 == out, f"classify the last checkpoint: {code2} {out2} against {out} {err2[-300:]}")
    svg = os.path.join(tmp, "cm.svg")
    cal = os.path.join(tmp, "cal.svg")
    code, out, err = run(["eval", "--model", ref, "--data", data, "--json", "--plot", svg, "--plot-calibration", cal])
    check(code == 0, f"eval: {code} {err}")
    if code == 0:
        rep = json.loads(out)
        for k in ["accuracy", "macro_f1", "weighted_f1", "ece", "nll", "per_class", "confusion", "non_label_generations"]:
            check(k in rep, f"eval --json has {k}")
        check(rep["n"] == 96 and sum(map(sum, rep["confusion"])) == 96, "eval counts every row")
        check(open(svg).read().startswith("<svg"), "eval --plot writes an SVG")
        check(sum(b["count"] for b in rep["calibration"]) == 96 and open(cal).read().startswith("<svg"),
              "eval's calibration bins hold every row; --plot-calibration writes an SVG")
    code, out, err = run(["eval", "--model", ref, "--data", data])
    check(code == 0 and "macro-F1" in out and "confusion" in out, "eval prints a table")

    # Self-supervised pre-training on text alone (no label field), exact on resume, then
    # fine-tuning from its output.
    texts = os.path.join(tmp, "texts.jsonl")
    with open(texts, "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"]}) + "\n")
    dn_args = lambda out, extra=(), objective="denoise": (["train", "--objective", objective, "--preset", "t5-tiny", "--data", texts,
                                      "--eval-data", texts, "--eval-every", "10", "--out", out, "--max-steps", "24",
                                      "--batch-size", "8", "--lr", "1e-3", "--save-every", "6", "--threads", "1"]
                                     + list(extra))
    dn = os.path.join(tmp, "dn")
    code, _, err = run(dn_args(dn))
    check(code == 0 and "denoising loss" in err, f"--objective denoise on text-only data: {code} {err[-300:]}")
    logged = [json.loads(l) for l in open(os.path.join(dn, "metrics.jsonl"))] if code == 0 else []
    check(len(logged) >= 2 and all("eval_loss" in m for m in logged) and logged[-1]["eval_loss"] < logged[0]["eval_loss"],
          f"denoising loss is logged and falls: {logged}")
    svg = open(os.path.join(dn, "metrics.svg")).read() if code == 0 else ""
    check(svg.count("<polyline") == 2 and "validation loss" in svg, "denoise: metrics.svg plots both losses")
    # Prefix LM, the other self-supervised objective: its own loss, logged and falling, another run.
    pl = os.path.join(tmp, "plm")
    code, _, err = run(dn_args(pl, objective="prefix-lm"))
    logged = [json.loads(l) for l in open(os.path.join(pl, "metrics.jsonl"))] if code == 0 else []
    check(code == 0 and "prefix-LM loss" in err and len(logged) >= 2 and logged[-1]["eval_loss"] < logged[0]["eval_loss"],
          f"--objective prefix-lm: its loss is logged and falls: {code} {err[-300:]} {logged}")
    check(code == 0 and weights(pl) != weights(dn), "prefix-lm trains another model than denoise")
    pl2 = os.path.join(tmp, "plm2")
    code, _, err = run(dn_args(pl2, ["--stop-after", "9"], objective="prefix-lm"))
    code2, _, err2 = run(["train", "--resume", pl2, "--threads", "1"])
    check(code == 0 and code2 == 0 and weights(pl2) == weights(pl), f"prefix-lm stop + resume is exact: {err2[-300:]}")
    # Span corruption's settings are refused where nothing would read them.
    for objective, flag in (("prefix-lm", "--noise-density"), ("classify", "--mean-noise-span")):
        code, _, err = run(dn_args(os.path.join(tmp, "nd-" + objective), [flag, "0.3" if flag == "--noise-density" else "5"],
                                   objective=objective))
        check(code == 2 and f"{flag} needs --objective denoise" in err, f"{flag} with {objective}: {code} {err[-200:]}")
    # A run whose last step closes a loss window (50 steps) still logs its training loss at the
    # end, and plots it with the validation scores.
    cl = os.path.join(tmp, "curves")
    code, _, err = run(["train", "--init", INIT, "--data", data, "--eval-data", data, "--eval-every", "25",
                        "--max-steps", "50", "--batch-size", "8", "--out", cl, "--threads", "1"])
    logged = [json.loads(l) for l in open(os.path.join(cl, "metrics.jsonl"))] if code == 0 else []
    check([m["step"] for m in logged] == [25, 50] and all(m.get("train_loss", 0) > 0 for m in logged),
          f"training loss logged at every evaluation: {code} {err[-300:]} {logged}")
    svg = open(os.path.join(cl, "metrics.svg")).read() if code == 0 else ""
    check(svg.count("<polyline") == 3 and "macro-F1" in svg, "metrics.svg plots loss, accuracy and macro-F1")
    dn2 = os.path.join(tmp, "dn2")
    code, _, err = run(dn_args(dn2, ["--stop-after", "9"]))
    code2, _, err2 = run(["train", "--resume", dn2, "--threads", "1"])
    check(code == 0 and code2 == 0 and weights(dn2) == weights(dn), f"denoise stop + resume is exact: {err2[-300:]}")
    code, _, err = run(["train", "--init", dn, "--data", data, "--out", os.path.join(tmp, "ft"), "--max-steps", "4",
                        "--threads", "1"])
    check(code == 0, f"fine-tune from the pre-trained model: {code} {err[-300:]}")
    # --reinit-decoder with lr 0: the encoder and embedding stay the pre-trained ones, the decoder is new.
    pre = tensors(os.path.join(dn, "model.safetensors")) if os.path.exists(os.path.join(dn, "model.safetensors")) else {}
    code, _, err = run(["train", "--init", dn, "--reinit-decoder", "--data", data, "--out", os.path.join(tmp, "rd"),
                        "--max-steps", "2", "--lr", "0", "--threads", "1"])
    check(code == 0 and "decoder drawn afresh" in err, f"--reinit-decoder: {code} {err[-300:]}")
    if code == 0:
        after = tensors(os.path.join(tmp, "rd", "model.safetensors"))
        enc = [k for k in pre if not k.startswith("decoder.") and k != "lm_head.weight"]
        dec = [k for k in pre if k.startswith("decoder.") and "layer_norm" not in k]
        check(enc and all(pre[k] == after[k] for k in enc), "--reinit-decoder keeps the encoder and embedding")
        check(dec and all(pre[k] != after[k] for k in dec), "--reinit-decoder draws the decoder afresh")
    # --reinit-encoder too: only the shared embedding is kept.
    code, _, err = run(["train", "--init", dn, "--reinit-decoder", "--reinit-encoder", "--data", data, "--out",
                        os.path.join(tmp, "re"), "--max-steps", "2", "--lr", "0", "--threads", "1"])
    check(code == 0 and "encoder and decoder drawn afresh" in err, f"--reinit-encoder: {code} {err[-300:]}")
    if code == 0:
        after = tensors(os.path.join(tmp, "re", "model.safetensors"))
        layers = [k for k in pre if k.startswith("encoder.block.") and "layer_norm" not in k]
        check(pre.get("shared.weight") == after["shared.weight"], "--reinit-encoder keeps the shared embedding")
        check(layers and all(pre[k] != after[k] for k in layers), "--reinit-encoder draws the encoder afresh")
    code, _, err = run(["train", "--preset", "t5-tiny", "--reinit-decoder", "--data", data, "--out",
                        os.path.join(tmp, "rd2"), "--max-steps", "1"])
    check(code == 2 and "--reinit-decoder needs --init" in err, f"--reinit-decoder without --init: {code} {err[-200:]}")
    code, _, err = run(["train", "--data", texts, "--preset", "t5-tiny", "--out", os.path.join(tmp, "nolab"),
                        "--max-steps", "2"])
    check(code == 1 and f"{texts}:1:" in err and "label" in err, f"classify needs labels: {code} {err[-300:]}")

    # Input noise (--token-dropout; --unk-below / --unk-dropout; --subword-nbest): each option
    # changes the run (saying so in the log where `log` is given), stays exact across stop +
    # resume, and is refused with the denoising objective.
    td_args = lambda out, extra=(): (["train", "--preset", "t5-tiny", "--data", data, "--out", out, "--max-steps", "12",
                                      "--batch-size", "8", "--lr", "1e-3", "--save-every", "4", "--threads", "1",
                                      "--seed", "3"] + list(extra))
    td0 = os.path.join(tmp, "td0")
    check(run(td_args(td0))[0] == 0, "the run without input noise")

    def input_noise(name, extra, log, denoise_flag, base=td0):
        out, out2 = os.path.join(tmp, name), os.path.join(tmp, name + "2")
        code, _, err = run(td_args(out, extra))
        check(code == 0 and log in err and weights(out) != weights(base), f"{extra[0]} changes the run: {code} {err[-300:]}")
        code, _, err = run(td_args(out2, extra + ["--stop-after", "5"]))
        code2, _, err2 = run(["train", "--resume", out2, "--threads", "1"])
        check(code == 0 and code2 == 0 and weights(out2) == weights(out), f"{extra[0]} stop + resume is exact: {err2[-300:]}")
        code, _, err = run(["train", "--objective", "denoise", denoise_flag[0], denoise_flag[1], "--preset", "t5-tiny",
                            "--data", texts, "--out", os.path.join(tmp, name + "dn"), "--max-steps", "1"])
        check(code != 0 and f"{denoise_flag[0]} needs --objective classify" in err,
              f"{denoise_flag[0]} with denoise: {code} {err[-200:]}")
        return out

    # --token-dropout: the inputs lose tokens at random each step.
    input_noise("td", ["--token-dropout", "0.2"], "", ("--token-dropout", "0.1"))
    # --subword-nbest / --subword-alpha: the words are re-cut at random each step.
    input_noise("sw", ["--subword-nbest", "8", "--subword-alpha", "0.1"], "of the training words re-cut",
                ("--subword-nbest", "4"))
    # --unk-below / --unk-dropout: rare tokens read as <unk>, others replaced by <unk> at random;
    # the saved model gives the rare rows <unk>'s embedding, so the engine's evaluation of it is
    # the trainer's last one.
    u = input_noise("unk", ["--unk-below", "2", "--unk-dropout", "0.2", "--eval-data", data], "token ids read as <unk>",
                    ("--unk-below", "2"))
    if os.path.exists(os.path.join(u, "model.safetensors")):
        emb = tensors(os.path.join(u, "model.safetensors"))["shared.weight"]
        width = len(emb) // 32128  # f32 rows of the 32128-token vocabulary
        row = lambda i: emb[i * width:(i + 1) * width]
        # <extra_id_5> (32094) never occurs in texts; eos (1) ends every one.
        check(row(32094) == row(2) and row(1) != row(2), "--unk-below: rare rows saved as <unk>'s, others kept")
        logged = [json.loads(l) for l in open(os.path.join(u, "metrics.jsonl"))]
        code, out, err = run(["eval", "--model", u, "--data", data, "--json"])
        rep = json.loads(out) if code == 0 else {}
        check(code == 0 and abs(rep["accuracy"] - logged[-1]["eval_accuracy"]) < 1e-9
              and abs(rep["macro_f1"] - logged[-1]["eval_macro_f1"]) < 1e-9,
              f"--unk-below: the engine scores the saved model as the trainer did: {rep.get('accuracy')} {logged[-1:]}")

    # --smooth-over labels (not input noise, but checked the same way): label smoothing over the
    # label words is another run than HF's smoothing over the vocabulary, is saved for --resume,
    # and is refused with the denoising objective.
    lsv = os.path.join(tmp, "lsv")
    check(run(td_args(lsv, ["--label-smoothing", "0.1"]))[0] == 0, "the run with HF's label smoothing")
    input_noise("lsl", ["--label-smoothing", "0.1", "--smooth-over", "labels"], "", ("--smooth-over", "labels"), lsv)

    # --word-vectors / --freeze-embedding: whole-word pieces start from the given vectors (the
    # other rows as without them); a frozen embedding ends as it started, exactly across stop +
    # resume (a frozen tensor has no AdamW moments to save or load); a malformed file stops the
    # run before training with its file and line.
    vec = os.path.join(tmp, "vectors.txt")
    with open(vec, "w") as f:
        f.write("i 0.1 0.2 0.3 0.4\nfeel 1 0 0 0\nhappy 0 1 0 -1\nsad 0 -1 0 1\n")
    wv, wvf, wvf1, wvf2 = (os.path.join(tmp, n) for n in ("wv", "wvf", "wvf1", "wvf2"))
    code, _, err = run(td_args(wv, ["--word-vectors", vec]))
    check(code == 0 and "--word-vectors: 7 of 32128 pieces start from 4-dimensional vectors" in err,
          f"--word-vectors: {code} {err[-300:]}")
    code, _, err = run(td_args(wvf, ["--word-vectors", vec, "--freeze-embedding"]))
    code2, _, err2 = run(td_args(wvf2, ["--word-vectors", vec, "--freeze-embedding", "--stop-after", "5"]))
    code3, _, err3 = run(["train", "--resume", wvf2, "--threads", "1"])
    code4, _, err4 = run(td_args(wvf1, ["--word-vectors", vec, "--freeze-embedding", "--stop-after", "1"]))
    check(code == 0 and code2 == 0 and code3 == 0 and weights(wvf2) == weights(wvf),
          f"--freeze-embedding stop + resume is exact: {err[-200:]} {err3[-300:]}")
    check(code4 == 0, f"--freeze-embedding --stop-after 1: {err4[-300:]}")
    start = tensors(os.path.join(wvf1, "checkpoints", "step-1", "model.safetensors")) if code4 == 0 else {}
    if code == 0 and code4 == 0 and os.path.exists(os.path.join(wv, "model.safetensors")):
        plain, vecs, frozen = (tensors(os.path.join(d, "model.safetensors")) for d in (td0, wv, wvf))
        width = len(plain["shared.weight"]) // 32128
        row = lambda t, i: t["shared.weight"][i * width:(i + 1) * width]
        check(frozen["shared.weight"] == start["shared.weight"] and vecs["shared.weight"] != frozen["shared.weight"],
              "--freeze-embedding: the embedding is not trained (and is without it)")
        # <extra_id_5> (32094) is in no text: untrained in both runs, drawn alike; "▁happy" (1095)
        # starts from its vector.
        check(row(vecs, 32094) == row(plain, 32094) and row(vecs, 1095) != row(plain, 1095),
              "--word-vectors: matched rows start from the vectors, the others as drawn")
    # --embedding-lr-scale: the shared embedding's own AdamW group at lr × scale; at 0 it stays
    # as it started (here from the vectors) while the rest trains; exact across stop + resume.
    es0, es, es2 = (os.path.join(tmp, n) for n in ("es0", "es", "es2"))
    code, _, err = run(td_args(es0, ["--word-vectors", vec, "--embedding-lr-scale", "0"]))
    if code == 0 and code4 == 0:
        zero = tensors(os.path.join(es0, "model.safetensors"))
        check(zero["shared.weight"] == start["shared.weight"] and zero != start,
              "--embedding-lr-scale 0: the embedding stays, the rest trains")
    else:
        check(False, f"--embedding-lr-scale 0: {code} {err[-300:]}")
    code, _, err = run(td_args(es, ["--embedding-lr-scale", "4"]))
    code2, _, err2 = run(td_args(es2, ["--embedding-lr-scale", "4", "--stop-after", "5"]))
    code3, _, err3 = run(["train", "--resume", es2, "--threads", "1"])
    check(code == 0 and code2 == 0 and code3 == 0 and weights(es2) == weights(es) and weights(es) != weights(td0),
          f"--embedding-lr-scale changes the run and stop + resume is exact: {err[-200:]} {err3[-300:]}")
    # --sam-rho: each step takes the gradient at the weights moved along the batch's gradient;
    # the option is kept in the checkpoint, so stop + resume is exact.
    sm, sm2 = (os.path.join(tmp, n) for n in ("sam", "sam2"))
    code, _, err = run(td_args(sm, ["--sam-rho", "0.05"]))
    code2, _, err2 = run(td_args(sm2, ["--sam-rho", "0.05", "--stop-after", "5"]))
    code3, _, err3 = run(["train", "--resume", sm2, "--threads", "1"])
    check(code == 0 and code2 == 0 and code3 == 0 and weights(sm2) == weights(sm) and weights(sm) != weights(td0),
          f"--sam-rho changes the run and stop + resume is exact: {err[-200:]} {err3[-300:]}")
    # --swa-lr: the rate decays to the held value by the averaging epoch and stays there (the
    # metrics log's lr, against the values worked out by hand: 96 rows of 16 are 6 steps an epoch,
    # 18 in all, warm-up 2, held from step 6); exact across stop + resume; refused without
    # --average-from-epoch.
    swa_args = lambda out, extra=(): (["train", "--preset", "t5-tiny", "--data", data, "--eval-data", data, "--out", out,
                                       "--epochs", "3", "--batch-size", "16", "--lr", "1e-3", "--warmup-steps", "2",
                                       "--average-from-epoch", "2", "--eval-every", "3", "--save-every", "4",
                                       "--threads", "1", "--seed", "3"] + list(extra))
    sw0, sw, sw2 = (os.path.join(tmp, n) for n in ("swa0", "swa", "swa2"))
    code0, _, err0 = run(swa_args(sw0))
    code, _, err = run(swa_args(sw, ["--swa-lr", "4e-4"]))
    code2, _, err2 = run(swa_args(sw2, ["--swa-lr", "4e-4", "--stop-after", "7"]))
    code3, _, err3 = run(["train", "--resume", sw2, "--threads", "1"])
    lrs = lambda out: [round(d["lr"], 12) for d in map(json.loads, open(os.path.join(out, "metrics.jsonl"))) if "lr" in d]
    check(code0 == 0 and code == 0 and lrs(sw0) == [9.375e-4, 7.5e-4, 5.625e-4, 3.75e-4, 1.875e-4, 0.0]
          and lrs(sw) == [8.5e-4, 4e-4, 4e-4, 4e-4, 4e-4, 4e-4],
          f"--swa-lr holds the rate from the averaging epoch: {err0[-200:]} {err[-200:]}")
    check(code2 == 0 and code3 == 0 and weights(sw2) == weights(sw) and weights(sw) != weights(sw0),
          f"--swa-lr changes the run and stop + resume is exact: {err2[-200:]} {err3[-300:]}")
    code, _, err = run(td_args(os.path.join(tmp, "swano"), ["--swa-lr", "4e-4"]))
    check(code == 2 and "--swa-lr needs --average-from-epoch" in err, f"--swa-lr alone: {code} {err[-200:]}")
    code, _, err = run(["train", "--preset", "t5-tiny", "--data", data, "--out", os.path.join(tmp, "swalr0"),
                        "--epochs", "2", "--lr", "0", "--average-from-epoch", "2", "--swa-lr", "4e-4", "--threads", "1"])
    check(code == 2 and "--swa-lr needs a positive --lr" in err and not os.path.exists(os.path.join(tmp, "swalr0")),
          f"--swa-lr with --lr 0: {code} {err[-200:]}")
    # --teacher (knowledge distillation; td0's trained model as the teacher): it changes the run,
    # stays exact across stop + resume, and at --distill-weight 0 the run is td0's exactly.
    def run_and_resume(name, extra):
        """td_args' run with `extra` into tmp/NAME, and the same stopped at step 5 and resumed:
        (NAME's path, whether all three exited 0 and the two ended with the same weights, the
        whole run's stderr, the resumed run's stderr)."""
        out, out2 = os.path.join(tmp, name), os.path.join(tmp, name + "-stopped")
        code, _, err = run(td_args(out, extra))
        code2, _, _ = run(td_args(out2, extra + ["--stop-after", "5"]))
        code3, _, err3 = run(["train", "--resume", out2, "--threads", "1"])
        return out, code == code2 == code3 == 0 and weights(out) == weights(out2), err, err3

    kd, exact, err, err3 = run_and_resume("kd", ["--teacher", td0, "--distill-temperature", "1.5"])
    check(exact and f"--teacher {td0}: label distributions of 96 training texts" in err and weights(kd) != weights(td0),
          f"--teacher changes the run and stop + resume is exact: {err[-300:]} {err3[-300:]}")
    kd0 = os.path.join(tmp, "kd0")
    code, _, err = run(td_args(kd0, ["--teacher", td0, "--teacher", kd, "--distill-weight", "0"]))
    check(code == 0 and weights(kd0) == weights(td0), f"--distill-weight 0 is the run without a teacher: {err[-300:]}")
    code, _, err = run(td_args(os.path.join(tmp, "kdw"), ["--distill-weight", "0.7"]))
    check(code == 2 and "--distill-weight needs --teacher" in err, f"--distill-weight alone: {code} {err[-200:]}")
    code, _, err = run(["train", "--objective", "denoise", "--teacher", td0, "--preset", "t5-tiny", "--data", data,
                        "--out", os.path.join(tmp, "kddn"), "--max-steps", "2", "--threads", "1"])
    check(code == 2 and "--teacher needs --objective classify" in err, f"--teacher with denoise: {code} {err[-200:]}")
    code, _, err = run(td_args(os.path.join(tmp, "kdlab"), ["--teacher", td0, "--labels", "very happy,very sad"]))
    check(code == 2 and "--teacher needs labels whose first tokens differ" in err,
          f"--teacher with labels that share a first token: {code} {err[-200:]}")
    other = os.path.join(tmp, "other-teacher")
    shutil.copytree(td0, other, ignore=shutil.ignore_patterns("checkpoints"))
    with open(os.path.join(other, "spiece.model"), "ab") as f:
        f.write(b"\0")
    code, _, err = run(td_args(os.path.join(tmp, "kdsp"), ["--teacher", other]))
    check(code == 1 and f"--teacher {other}: its spiece.model differs from the student's tokenizer" in err
          and not os.path.exists(os.path.join(tmp, "kdsp", "checkpoints")),
          f"--teacher with another tokenizer stops the run: {code} {err[-300:]}")
    # --teacher-scores: td0's label distributions as `emot5 classify` writes them. The run changes,
    # stays exact across stop + resume, and ends where --teacher td0 ends (the labels are single
    # pieces, so the file's distributions are the checkpoint teacher's, up to the engine's rounding).
    scores = os.path.join(tmp, "td0-scores.jsonl")
    code, out, err = run(["classify", "--model", td0, "--no-generate", "-i", data, "--threads", "1"])
    check(code == 0 and out.count("\n") == 96, f"classify writes the teacher's scores: {code} {err[-200:]}")
    with open(scores, "w") as f:
        f.write(out)
    ks, exact, err, err3 = run_and_resume("ks", ["--teacher-scores", scores, "--distill-temperature", "1.5"])
    check(exact and f"--teacher-scores {scores}: its top label is" in err and weights(ks) != weights(td0),
          f"--teacher-scores changes the run and stop + resume is exact: {err[-300:]} {err3[-300:]}")
    a, b = tensors(os.path.join(ks, "model.safetensors")), tensors(os.path.join(kd, "model.safetensors"))
    diff = max(max(abs(x - y) for x, y in zip(struct.unpack(f"<{len(a[k]) // 4}f", a[k]),
                                              struct.unpack(f"<{len(b[k]) // 4}f", b[k]))) for k in a)
    check(a.keys() == b.keys() and diff < 1e-4, f"--teacher-scores from td0 ends where --teacher td0 ends: {diff}")
    bad = os.path.join(tmp, "bad-scores.jsonl")
    with open(bad, "w") as f:
        f.write("".join(out.splitlines(keepends=True)[:95]))
    code, _, err = run(td_args(os.path.join(tmp, "ksbad"), ["--teacher-scores", bad]))
    check(code == 1 and f"{bad}: 95 lines for the 96 rows of {data}" in err,
          f"--teacher-scores with a line short: {code} {err[-300:]}")
    with open(bad, "w") as f:
        f.write("".join(out.splitlines(keepends=True)[1:] + out.splitlines(keepends=True)[:1]))
    code, _, err = run(td_args(os.path.join(tmp, "ksbad"), ["--teacher-scores", bad]))
    check(code == 1 and f"{bad}:1: its \"text\" is not the text of row 1 ({data}:1)" in err,
          f"--teacher-scores out of order: {code} {err[-300:]}")
    code, _, err = run(["train", "--objective", "denoise", "--teacher-scores", scores, "--preset", "t5-tiny", "--data",
                        data, "--out", os.path.join(tmp, "ksdn"), "--max-steps", "2", "--threads", "1"])
    check(code == 2 and "--teacher-scores needs --objective classify" in err,
          f"--teacher-scores with denoise: {code} {err[-200:]}")
    # bilstm-scores: cross-fitted scores of a word-level BiLSTM, one line per row with its text and
    # a distribution over the six labels; the same bytes on a second run; --teacher-scores reads them.
    bs, bs2 = os.path.join(tmp, "bilstm.jsonl"), os.path.join(tmp, "bilstm2.jsonl")
    bargs = ["bilstm-scores", "--data", data, "--folds", "3", "--epochs", "2", "--threads", "1"]
    code, _, err = run(bargs + ["--out", bs, "--eval-data", data])
    code2, _, err2 = run(bargs + ["--out", bs2])
    lines = [json.loads(l) for l in open(bs)] if code == 0 else []
    check(code == 0 and code2 == 0 and len(lines) == 96 and [l["text"] for l in lines] == [r["text"] for r in rows]
          and all(list(l["scores"]) == ["sadness", "joy", "love", "anger", "fear", "surprise"]
                  and abs(sum(l["scores"].values()) - 1) < 1e-5 for l in lines)
          and open(bs, "rb").read() == open(bs2, "rb").read()
          and "fold 3/3: its 32 held-out rows" in err and "cross-fitted scores of 96 rows" in err,
          f"bilstm-scores writes one distribution per row, the same on a second run: {code} {code2} {err[-300:]}")
    code, _, err = run(td_args(os.path.join(tmp, "ksb"), ["--teacher-scores", bs]))
    check(code == 0 and f"--teacher-scores {bs}: its top label is" in err, f"train reads bilstm-scores' file: {err[-300:]}")
    code, _, err = run(["bilstm-scores", "--data", data, "--out", bs, "--folds", "1"])
    check(code == 2 and "--folds" in err, f"bilstm-scores --folds 1: {code} {err[-200:]}")
    # bilstm-scores --score: one model on all rows scores new texts (labels not needed); a
    # malformed line of that file is refused with its file and line, and nothing is written.
    texts = os.path.join(tmp, "texts.jsonl")
    with open(texts, "w") as f:
        f.write("".join(json.dumps({"text": t}) + "\n" for t in ["i feel happy", "i feel so alone", rows[5]["text"]]))
    ts, ts2 = os.path.join(tmp, "texts-scores.jsonl"), os.path.join(tmp, "texts-scores2.jsonl")
    sargs = ["bilstm-scores", "--data", data, "--score", texts, "--epochs", "2", "--threads", "1"]
    code, _, err = run(sargs + ["--out", ts])
    code2, _, _ = run(sargs + ["--out", ts2])
    lines = [json.loads(l) for l in open(ts)] if code == 0 else []
    check(code == 0 and code2 == 0 and [l["text"] for l in lines] == ["i feel happy", "i feel so alone", rows[5]["text"]]
          and all(abs(sum(l["scores"].values()) - 1) < 1e-5 for l in lines)
          and open(ts, "rb").read() == open(ts2, "rb").read()
          and "all rows epoch 2/2" in err and "fold" not in err
          and f"scores of the 3 texts of {texts} from one model trained on the 96 rows of {data}" in err,
          f"bilstm-scores --score: {code} {code2} {err[-300:]}")
    with open(texts, "a") as f:
        f.write("{not json\n")
    code, _, err = run(sargs + ["--out", os.path.join(tmp, "texts-bad.jsonl")])
    check(code == 1 and f"{texts}: 1 bad row(s):\n  {texts}:4: " in err and "--skip-bad-rows" not in err
          and not os.path.exists(os.path.join(tmp, "texts-bad.jsonl")),
          f"bilstm-scores --score with a malformed line: {code} {err[-300:]}")
    two = os.path.join(tmp, "two.jsonl")
    with open(two, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows[:2]))
    code, _, err = run(["bilstm-scores", "--data", two, "--out", os.path.join(tmp, "two-scores.jsonl"), "--folds", "3"])
    check(code == 1 and f"{two}: 2 rows for 3 folds" in err and not os.path.exists(os.path.join(tmp, "two-scores.jsonl")),
          f"bilstm-scores with fewer rows than folds: {code} {err[-200:]}")
    with open(vec, "a") as f:
        f.write("joy 1 2 3\n")
    code, _, err = run(td_args(os.path.join(tmp, "wvbad"), ["--word-vectors", vec]))
    check(code == 1 and f"{vec}:5: expected 4 numbers after the word, found 3" in err
          and not os.path.exists(os.path.join(tmp, "wvbad", "checkpoints")),
          f"--word-vectors: a malformed line stops the run: {code} {err[-300:]}")
    code, _, err = run(train_args(data, os.path.join(tmp, "wvinit"), ["--word-vectors", vec]))
    check(code != 0 and "--word-vectors starts a fresh model's embedding" in err
          and not os.path.exists(os.path.join(tmp, "wvinit")), f"--word-vectors with --init: {code} {err[-300:]}")

    # --local-heads / --local-bias: a fresh model's encoder heads start with the bias at their
    # offset's bucket (t5-tiny: 32 buckets, 4 heads; offset -1 is bucket 1, 0 is 0, +1 is 17) and
    # every other value as drawn (one step at lr 0 leaves the starting weights); the training
    # differs and is exact across stop + resume (a resumed run does not set the bias again);
    # refused with --init, and --local-bias alone.
    table = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
    lr0 = lambda out, extra=(): ["train", "--preset", "t5-tiny", "--data", data, "--out", out, "--max-steps", "1",
                                 "--batch-size", "8", "--lr", "0", "--threads", "1", "--seed", "3"] + list(extra)
    l0, l1 = os.path.join(tmp, "lh0"), os.path.join(tmp, "lh1")
    code, _, err = run(lr0(l0))
    code2, _, err2 = run(lr0(l1, ["--local-heads=-1,0,1", "--local-bias", "5.5"]))
    check(code == 0 and code2 == 0 and "--local-heads: encoder heads 0-2 start at bias 5.5 on their offsets" in err2,
          f"--local-heads: {code} {code2} {err2[-300:]}")
    if code == 0 and code2 == 0:
        plain = struct.unpack("<128f", tensors(os.path.join(l0, "model.safetensors"))[table])
        local = struct.unpack("<128f", tensors(os.path.join(l1, "model.safetensors"))[table])
        want = list(plain)
        for bucket, head in ((1, 0), (0, 1), (17, 2)):
            want[bucket * 4 + head] = 5.5
        check(list(local) == want, "--local-heads: each head's offset bucket starts at the bias, the rest as drawn")
        rest = lambda d: {k: v for k, v in tensors(os.path.join(d, "model.safetensors")).items() if k != table}
        check(rest(l0) == rest(l1), "--local-heads: no other weight changes")
    lh, lh2 = os.path.join(tmp, "lh"), os.path.join(tmp, "lh2")
    code, _, err = run(td_args(lh, ["--local-heads=-1,0,1"]))
    check(code == 0 and "--local-heads: encoder heads 0-2 start at bias 6 on their offsets" in err
          and weights(lh) != weights(td0), f"--local-heads changes the run: {code} {err[-300:]}")
    code, _, err = run(td_args(lh2, ["--local-heads=-1,0,1", "--stop-after", "5"]))
    code2, _, err2 = run(["train", "--resume", lh2, "--threads", "1"])
    check(code == 0 and code2 == 0 and "--local-heads" not in err2 and weights(lh2) == weights(lh),
          f"--local-heads stop + resume is exact: {err2[-300:]}")
    code, _, err = run(train_args(data, os.path.join(tmp, "lhinit"), ["--local-heads=0"]))
    check(code != 0 and "--local-heads starts a fresh model's heads" in err
          and not os.path.exists(os.path.join(tmp, "lhinit")), f"--local-heads with --init: {code} {err[-300:]}")
    code, _, err = run(td_args(os.path.join(tmp, "lhbias"), ["--local-bias", "3"]))
    check(code != 0 and "--local-bias needs --local-heads" in err, f"--local-bias alone: {code} {err[-300:]}")
    code, _, err = run(td_args(os.path.join(tmp, "lhfar"), ["--local-heads=0,8"]))
    check(code != 0 and "--local-heads: offset 8 shares its bucket with other offsets" in err
          and not os.path.exists(os.path.join(tmp, "lhfar", "checkpoints")), f"--local-heads=0,8: {code} {err[-300:]}")

    # Bad rows.
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w") as f:
        f.write('{"text": "i feel fine", "label": "joy"}\n')
        f.write('{"text": "no label here"}\n')
        f.write('{"text": "i feel odd", "label": "boredom"}\n')
        f.write('not json\n')
        f.write('{"text": "   ", "label": "joy"}\n')
        f.write('{"text": "i feel calm", "label": 1}\n')
    code, _, err = run(["train", "--init", INIT, "--data", bad, "--out", os.path.join(tmp, "b1"), "--max-steps", "2"])
    check(code == 1 and all(f"{bad}:{n}:" in err for n in [2, 3, 4, 5]) and "4 bad row" in err,
          f"bad rows stop the run with file:line: {code} {err}")
    check(not os.path.exists(os.path.join(tmp, "b1", "checkpoints")), "no training happened")
    code, _, err = run(["train", "--init", INIT, "--data", bad, "--out", os.path.join(tmp, "b2"), "--max-steps", "2",
                        "--skip-bad-rows"])
    check(code == 0 and "skipped 4 bad row" in err, f"--skip-bad-rows: {code} {err[-300:]}")
    # Scores are matched to rows by position, so skipped rows would shift them: refused.
    code, _, err = run(["train", "--init", INIT, "--data", bad, "--out", os.path.join(tmp, "b3"), "--max-steps", "2",
                        "--skip-bad-rows", "--teacher-scores", scores])
    check(code == 1 and f"--teacher-scores needs {bad} without bad rows" in err
          and not os.path.exists(os.path.join(tmp, "b3", "checkpoints")),
          f"--teacher-scores with skipped rows: {code} {err[-300:]}")

finish()
