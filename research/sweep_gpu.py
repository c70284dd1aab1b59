#!/usr/bin/env python3
"""Hyper-parameter exploration for the default model, on a GPU with PyTorch + transformers.

This is a research aid, not part of emot5: it trains the same architecture as `emot5 train
--preset ...` (HF's T5ForConditionalGeneration from scratch, T5 vocabulary, target = label word +
eos) for several recipes at once and reports validation accuracy / macro-F1 per epoch, so that
the recipe of the shipped model can be chosen by validation. The shipped model itself is trained
by `emot5 train` on the CPU. The test split is never read here.

usage: sweep_gpu.py DATA_DIR SPIECE OUT_JSONL NAME=JSON [NAME=JSON ...]
"""
import json, math, os, random, sys, time
import torch, sentencepiece as spm
from transformers import T5Config, T5ForConditionalGeneration

LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]
LABEL_IDS = [24784, 3922, 333, 11213, 2971, 4158]


def load(path, sp):
    rows = [json.loads(l) for l in open(path)]
    return [(sp.encode(r["text"]) + [1], LABELS.index(r["label"])) for r in rows]


def batches(data, bs, shuffle, rng):
    idx = list(range(len(data)))
    if shuffle:
        rng.shuffle(idx)
    for s in range(0, len(idx), bs):
        yield [data[i] for i in idx[s:s + bs]]


def to_tensors(b, dev):
    L = max(len(x) for x, _ in b)
    ids = torch.zeros(len(b), L, dtype=torch.long)
    mask = torch.zeros(len(b), L, dtype=torch.long)
    for i, (x, _) in enumerate(b):
        ids[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    y = torch.tensor([[LABEL_IDS[l], 1] for _, l in b])
    return ids.to(dev), mask.to(dev), y.to(dev)


def evaluate(model, data, dev):
    model.eval()
    gold, pred = [], []
    with torch.no_grad():
        for b in batches(data, 256, False, None):
            ids, mask, y = to_tensors(b, dev)
            dec = torch.zeros(len(b), 1, dtype=torch.long, device=dev)
            logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits[:, 0, LABEL_IDS]
            pred += logits.argmax(-1).tolist()
            gold += [l for _, l in b]
    model.train()
    acc = sum(g == p for g, p in zip(gold, pred)) / len(gold)
    f1s = []
    for k in range(6):
        tp = sum(g == k and p == k for g, p in zip(gold, pred))
        pp = sum(p == k for p in pred)
        gp = sum(g == k for g in gold)
        pr, rc = (tp / pp if pp else 0), (tp / gp if gp else 0)
        f1s.append(2 * pr * rc / (pr + rc) if pr + rc else 0)
    return acc, sum(f1s) / 6


def run(name, cfg, data_dir, sp, out):
    dev = "cuda"
    torch.manual_seed(cfg.get("seed", 42))
    rng = random.Random(cfg.get("seed", 42))
    train = load(os.path.join(data_dir, "train.jsonl"), sp)
    val = load(os.path.join(data_dir, "validation.jsonl"), sp)
    c = T5Config(vocab_size=32128, d_model=cfg["d"], d_kv=cfg["d"] // cfg["h"], num_heads=cfg["h"], d_ff=cfg["ff"],
                 num_layers=cfg["enc"], num_decoder_layers=cfg["dec"], feed_forward_proj="gated-gelu",
                 tie_word_embeddings=cfg.get("tied", True), dropout_rate=cfg["dropout"],
                 decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    model = T5ForConditionalGeneration(c).to(dev)
    if "emb_std" in cfg:  # embedding init std (HF's is 1.0)
        with torch.no_grad():
            model.shared.weight.normal_(0.0, cfg["emb_std"])
            if not cfg.get("tied", True):
                model.lm_head.weight.normal_(0.0, cfg["emb_std"])
    decay = [p for n, p in model.named_parameters() if "layer_norm" not in n]
    no_decay = [p for n, p in model.named_parameters() if "layer_norm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg["wd"]}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=cfg["lr"], betas=(0.9, 0.999), eps=1e-8)
    bs, epochs, warm = cfg["bs"], cfg["epochs"], cfg["warmup"]
    total = epochs * math.ceil(len(train) / bs)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    weight = None
    if cfg.get("balanced"):
        counts = [sum(1 for _, l in train if l == k) for k in range(6)]
        weight = torch.ones(32128, device=dev)
        for k in range(6):
            weight[LABEL_IDS[k]] = len(train) / (6 * counts[k])
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100, label_smoothing=cfg["ls"], weight=weight)
    t0 = time.time()
    best = (0, 0, 0)
    for ep in range(epochs):
        for b in batches(train, bs, True, rng):
            ids, mask, y = to_tensors(b, dev)
            dec = torch.cat([torch.zeros(len(b), 1, dtype=torch.long, device=dev), y[:, :-1]], 1)
            logits = model(input_ids=ids, attention_mask=mask, decoder_input_ids=dec).logits
            loss = loss_fn(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        acc, f1 = evaluate(model, val, dev)
        best = max(best, (f1, acc, ep + 1))
        rec = {"name": name, "epoch": ep + 1, "val_acc": acc, "val_f1": f1, "secs": time.time() - t0, "cfg": cfg}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)
    print(name, "best (f1, acc, epoch)", best, flush=True)


if __name__ == "__main__":
    data_dir, spiece, out = sys.argv[1:4]
    sp = spm.SentencePieceProcessor(model_file=spiece)
    name, cfg = sys.argv[4].split("=", 1)
    run(name, json.loads(cfg), data_dir, sp, out)
