#!/usr/bin/env python3
"""A short real training (ctest label `slow`, about 12 minutes on 2 AMD EPYC vCPUs): the shipped
model's recipe, as its model card gives it, on data/emotion/train.jsonl, stopped after its first two
epochs (1000 steps of 32) with `--stop-after`, so the schedule stays the one the card's run planned.

Checked against the card's own training log (models/emot5-small/metrics.jsonl, written by the run
that produced the shipped weights), not against this build's output:
- the validation accuracy and macro-F1 at step 1000 are within 0.03 of the logged ones
  (0.8710 / 0.8434; on the card's machine with 2 threads the run is deterministic and the
  difference is 0; other CPUs round differently, which moves a few of the 2000 answers). Step 1000,
  not 500: at step 500 the recipe is in the middle of its steepest climb (0.5600 / 0.3488 there),
  where such differences move the scores most. Step 500's scores are printed too;
- the learning rate logged at step 1000 is the planned schedule's, and the stopped run left a
  checkpoint to resume from.
That comparison is a reproduction check against this project's own earlier run. Independently of
it, from the data files and the recipe alone:
- the learning rate at step 1000 is the linear decay's from the peak 5e-4 at step 500 to 0 at step
  8000 (16 epochs of 500 batches);
- the model has learned: its validation accuracy and macro-F1 beat those of answering the
  validation file's most frequent label for every row.

usage: recipe_first_epochs.py EMOT5_BINARY SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from checks import check, finish  # noqa: E402

EMOT5, SRC = sys.argv[1], sys.argv[2]
CARD_LOG = os.path.join(SRC, "models/emot5-small/metrics.jsonl")
TOLERANCE = 0.03

with open(CARD_LOG) as f:
    card_log = [json.loads(l) for l in f if l.strip()]
logged = {row["step"]: row for row in card_log if "eval_accuracy" in row}
STEP = 1000

with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "run")
    # The card's command, with --stop-after and the paths made absolute.
    cmd = [EMOT5, "train", "--preset", "emot5-small", "--local-heads=-2,-1,0,1,2", "--data", os.path.join(SRC, "data/emotion/train.jsonl"),
           "--eval-data", os.path.join(SRC, "data/emotion/validation.jsonl"), "--out", out, "--batch-size", "32",
           "--lr", "5e-4", "--warmup-steps", "500", "--weight-decay", "0.01", "--label-smoothing", "0.1",
           "--epochs", "16", "--eval-every", "500", "--save-every", "500", "--keep-best", "--average-from-epoch",
           "9", "--group-by-length", "--save-dtype", "bf16", "--seed", "42", "--threads", "2",
           "--stop-after", str(STEP)]
    p = subprocess.run(cmd, capture_output=True, timeout=1800)
    check(p.returncode == 0, f"train exited {p.returncode}: {p.stderr.decode()[-800:]}")
    if p.returncode == 0:
        with open(os.path.join(out, "metrics.jsonl")) as f:
            ours = [json.loads(l) for l in f]
        check([row["step"] for row in ours] == [500, STEP], f"evaluations at steps 500 and {STEP}: {ours}")
        first = ours[0]
        print(f"step 500: {first['eval_accuracy']:.4f} / {first['eval_macro_f1']:.4f} here, "
              f"{logged[500]['eval_accuracy']:.4f} / {logged[500]['eval_macro_f1']:.4f} in the card's log (not checked)")
        ours, logged = ours[-1], logged[STEP]
        for key in ("eval_accuracy", "eval_macro_f1"):
            diff = ours[key] - logged[key]
            print(f"step {STEP} {key}: {ours[key]:.4f} here, {logged[key]:.4f} in the card's log (difference {diff:+.4f})")
            check(abs(diff) <= TOLERANCE, f"{key} {ours[key]:.4f} is more than {TOLERANCE} from the card's "
                  f"{logged[key]:.4f}")
        check(abs(ours["lr"] - logged["lr"]) < 1e-12, f"lr at step {STEP}: {ours['lr']} against {logged['lr']}")
        # warm-up to the peak 5e-4 at step 500, then linear decay to 0 at step 8000 (16 epochs of 500 batches)
        planned = 5e-4 * (8000 - STEP) / (8000 - 500)
        check(abs(ours["lr"] - planned) < 1e-12, f"lr at step {STEP}: {ours['lr']}, the schedule gives {planned}")
        with open(os.path.join(SRC, "data/emotion/validation.jsonl")) as f:
            gold = [json.loads(line)["label"] for line in f if line.strip()]
        majority_accuracy = max(gold.count(l) for l in set(gold)) / len(gold)
        majority_macro_f1 = (2 * majority_accuracy / (1 + majority_accuracy)) / len(set(gold))
        check(ours["eval_accuracy"] > majority_accuracy and ours["eval_macro_f1"] > majority_macro_f1,
              f"validation {ours['eval_accuracy']:.4f} / {ours['eval_macro_f1']:.4f} against always answering the "
              f"most frequent label: {majority_accuracy:.4f} / {majority_macro_f1:.4f}")
        state = os.path.join(out, "checkpoints", f"step-{STEP}", "trainer_state.json")
        check(os.path.exists(state), f"no checkpoint to resume from ({state})")

finish()
