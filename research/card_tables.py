#!/usr/bin/env python3
"""Markdown tables for a model card from `emot5 eval --json` reports and a run's metrics.jsonl.

usage: card_tables.py VAL_JSON TEST_JSON METRICS_JSONL
Prints: the results table (validation, test), the test per-class table, the test confusion
matrix and the validation curve of the run.
"""
import json
import sys

val, test = (json.load(open(p)) for p in sys.argv[1:3])
metrics = [json.loads(l) for l in open(sys.argv[3])]

print("| split | accuracy | macro-F1 | weighted-F1 | ECE | non-label generations |")
print("|---|---|---|---|---|---|")
for name, r in (("validation", val), ("test", test)):
    print(f"| {name} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['weighted_f1']:.4f} | {r['ece']:.4f} | "
          f"{r['non_label_generations']} |")
print("\nTest, per class:\n")
print("| label | precision | recall | F1 | support |")
print("|---|---|---|---|---|")
for label in test["labels"]:
    c = test["per_class"][label]
    print(f"| {label} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} | {c['support']} |")
print("\nTest confusion matrix (also `confusion_test.svg`):\n")
print("| gold \\ predicted | " + " | ".join(test["labels"]) + " |")
print("|---" * (len(test["labels"]) + 1) + "|")
for label, row in zip(test["labels"], test["confusion"]):
    print(f"| {label} | " + " | ".join(str(v) for v in row) + " |")
print("\nValidation during the run:\n")
print("| step | epoch | val accuracy | val macro-F1 |")
print("|---|---|---|---|")
for m in metrics:
    if "average_of_epochs" in m:
        print(f"| {m['step']} | average of the last {m['average_of_epochs']} epochs | {m['eval_accuracy']:.4f} | "
              f"{m['eval_macro_f1']:.4f} |")
    elif "eval_accuracy" in m:
        print(f"| {m['step']} | {m['epoch']:g} | {m['eval_accuracy']:.4f} | {m['eval_macro_f1']:.4f} |")
