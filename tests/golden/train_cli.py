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
    code, out, err = run(["eval", "--model", ref, "--data", data, "--json", "--generate", "--plot", svg,
                          "--plot-calibration", cal])
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
    # Text-only data cannot train a classifier.
    texts = os.path.join(tmp, "texts.jsonl")
    with open(texts, "w") as f:
        for r in rows:
            f.write(json.dumps({"text": r["text"]}) + "\n")
    code, _, err = run(["train", "--data", texts, "--preset", "t5-tiny", "--out", os.path.join(tmp, "nolab"),
                        "--max-steps", "2"])
    check(code == 1 and f"{texts}:1:" in err and "label" in err, f"classify needs labels: {code} {err[-300:]}")

    # Runs of a fresh t5-tiny on the small data set.
    td_args = lambda out, extra=(): (["train", "--preset", "t5-tiny", "--data", data, "--out", out, "--max-steps", "12",
                                      "--batch-size", "8", "--lr", "1e-3", "--save-every", "4", "--threads", "1",
                                      "--seed", "3"] + list(extra))
    td0 = os.path.join(tmp, "td0")
    check(run(td_args(td0))[0] == 0, "the run without a teacher")

    # --average-from-epoch: the weights of epochs 2 and 3 are averaged (the metrics log has the
    # average's evaluation, and the linear schedule's rates, worked out by hand: 96 rows of 16 are 6
    # steps an epoch, 18 in all, warm-up 2); exact across stop + resume, the average included.
    avg_args = lambda out, extra=(): (["train", "--preset", "t5-tiny", "--data", data, "--eval-data", data, "--out", out,
                                       "--epochs", "3", "--batch-size", "16", "--lr", "1e-3", "--warmup-steps", "2",
                                       "--average-from-epoch", "2", "--eval-every", "3", "--save-every", "4",
                                       "--threads", "1", "--seed", "3"] + list(extra))
    av, av2 = (os.path.join(tmp, n) for n in ("avg", "avg2"))
    code, _, err = run(avg_args(av))
    code2, _, err2 = run(avg_args(av2, ["--stop-after", "7"]))
    code3, _, err3 = run(["train", "--resume", av2, "--threads", "1"])
    logged = [json.loads(l) for l in open(os.path.join(av, "metrics.jsonl"))] if code == 0 else []
    lrs = [round(d["lr"], 12) for d in logged if "lr" in d]
    check(code == 0 and lrs == [9.375e-4, 7.5e-4, 5.625e-4, 3.75e-4, 1.875e-4, 0.0]
          and logged[-1].get("average_of_epochs") == 2 and "weight average of 2 epochs" in err,
          f"--average-from-epoch: the schedule and the average's evaluation: {code} {err[-300:]} {logged[-1:]}")
    check(code2 == 0 and code3 == 0 and weights(av2) == weights(av),
          f"--average-from-epoch: stop + resume is exact: {err2[-200:]} {err3[-300:]}")
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

    # A checkpoint that an option this version no longer has shaped is refused on --resume, with
    # the option named and nothing trained.
    old = os.path.join(tmp, "old")
    code, _, err = run(train_args(data, old, ["--stop-after", "37"]))
    check(code == 0, f"a stopped run to resume: {code} {err[-300:]}")
    state_path = os.path.join(old, "checkpoints", "step-37", "trainer_state.json")
    state = json.load(open(state_path))
    state["options"]["sam_rho"] = 0.05
    with open(state_path, "w") as f:
        json.dump(state, f)
    code, _, err = run(["train", "--resume", old, "--threads", "1"])
    check(code == 1 and "--sam-rho 0.05" in err and "no longer has" in err
          and sorted(os.listdir(os.path.join(old, "checkpoints"))) == ["latest", "step-35", "step-37"],
          f"resume of a run a removed option shaped: {code} {err[-300:]}")
    # The same checkpoint with the inert value every older run saved resumes.
    state["options"]["sam_rho"] = 0.0
    state["options"]["objective"] = "classify"
    with open(state_path, "w") as f:
        json.dump(state, f)
    code, _, err = run(["train", "--resume", old, "--threads", "1"])
    check(code == 0 and weights(old) == weights(ref), f"resume with the removed options' inert values: {code} {err[-300:]}")

finish()
