#!/usr/bin/env python3
"""Loads an emot5 model directory with Hugging Face transformers, as it is, and compares it with
the engine on the first N texts of a data file: the six label words' probabilities at the first
decoder step, the chosen label and the greedy generation. With transformers 4.x it also runs the
text2text-generation pipeline (transformers 5 removed that pipeline). Needs torch and transformers;
not part of CI. Exits 1 when a label or generation differs or a probability differs by more than
1e-4.

usage: check_transformers.py MODEL_DIR EMOT5_BINARY DATA_JSONL [N]
"""
import json
import subprocess
import sys
import tempfile

import torch
import transformers
from transformers import AutoTokenizer, T5ForConditionalGeneration

model_dir, emot5, data = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 300
meta = json.load(open(f"{model_dir}/emot5.json"))
labels, prefix = meta["labels"], meta.get("prefix", "")

# transformers 5.x names the argument dtype=; 4.x (4.43 among them) refuses it and takes torch_dtype=.
major = int(transformers.__version__.split(".")[0])
dtype_arg = {"dtype": torch.float32} if major >= 5 else {"torch_dtype": torch.float32}
model = T5ForConditionalGeneration.from_pretrained(model_dir, **dtype_arg).eval()
tok = AutoTokenizer.from_pretrained(model_dir)
print(f"transformers {transformers.__version__}: {model_dir} loaded as {type(model).__name__} "
      f"({sum(p.numel() for p in model.parameters())} parameters) and {type(tok).__name__}")

texts = [json.loads(line)["text"] for line in open(data)][:n]
with tempfile.NamedTemporaryFile("w", suffix=".jsonl") as f:
    f.write("".join(json.dumps({"text": t}) + "\n" for t in texts))
    f.flush()
    run = subprocess.run([emot5, "classify", "--model", model_dir, "-i", f.name], capture_output=True, text=True)
if run.returncode != 0:
    sys.exit(f"emot5 classify failed: {run.stderr}")
ours = [json.loads(line) for line in run.stdout.splitlines()]

label_ids = [tok(w, add_special_tokens=False).input_ids[0] for w in labels]
enc = tok([prefix + t for t in texts], return_tensors="pt", padding=True)
with torch.no_grad():
    logits = model(**enc, decoder_input_ids=torch.zeros(len(texts), 1, dtype=torch.long)).logits[:, 0, :]
    probs = torch.softmax(logits[:, label_ids], -1)
    generated = tok.batch_decode(model.generate(**enc, max_new_tokens=8, do_sample=False, num_beams=1),
                                 skip_special_tokens=True)
worst = max(abs(probs[i, k].item() - ours[i]["scores"][w]) for i in range(len(texts)) for k, w in enumerate(labels))
same_label = sum(labels[probs[i].argmax().item()] == ours[i]["label"] for i in range(len(texts)))
same_generation = sum(generated[i].strip() == ours[i]["generated"] for i in range(len(texts)))
print(f"{len(texts)} texts of {data}: largest |p_transformers - p_emot5| over the labels {worst:.2e}; "
      f"same label {same_label}; same greedy generation {same_generation}")
ok = worst <= 1e-4 and same_label == len(texts) and same_generation == len(texts)

if int(transformers.__version__.split(".")[0]) < 5:
    pipe = transformers.pipeline("text2text-generation", model=model_dir)
    answers = [r["generated_text"].strip() for r in pipe([prefix + t for t in texts[:20]])]
    same = sum(a == o["generated"] for a, o in zip(answers, ours))
    print(f"text2text-generation pipeline: same answer on {same} of {len(answers)} texts")
    ok = ok and same == len(answers)
else:
    print("transformers 5 has no text2text-generation pipeline; the model API above is its way")
sys.exit(0 if ok else 1)
