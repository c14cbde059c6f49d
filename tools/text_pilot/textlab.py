#!/usr/bin/env python3
"""Fast PyTorch mirror of the text_choice training problem, for sweeping recipes on a GPU.

It reproduces the C++ side closely enough to rank recipes: the same question generator
(src/mm/text_choice.cc), the same chat template, a word-level vocabulary, a Qwen2-shaped decoder
(RMSNorm, rotary, grouped-query attention, SwiGLU, tied embeddings, N(0, 0.02) init), AdamW with
betas (0.9, 0.98), linear warm-up then cosine decay, gradient clipping and answer-only loss.
Winning recipes must still be confirmed with `clearsight mm train` (docs/RESULTS.md).

Usage: textlab.py SWEEP.json WORKER NUM_WORKERS OUT.jsonl [--device cuda]
"""
import json
import math
import random
import sys
import time

import torch
import torch.nn.functional as F

LETTERS = ["a", "b", "c", "d"]
NUMBERS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
           "fourteen fifteen sixteen seventeen eighteen nineteen twenty").split()
COLOR_FACTS = [("grass", "green"), ("the sky", "blue"), ("snow", "white"), ("coal", "black"),
               ("a banana", "yellow"), ("a tomato", "red"), ("a lemon", "yellow"),
               ("milk", "white"), ("blood", "red"), ("a leaf", "green"), ("the sea", "blue"),
               ("the night", "black"), ("a cherry", "red"), ("the sun", "yellow"),
               ("a carrot", "orange"), ("a pumpkin", "orange"), ("a frog", "green"),
               ("chocolate", "brown"), ("wood", "brown"), ("a cloud", "white")]
FACT_COLORS = ["red", "green", "blue", "yellow", "white", "black", "orange", "brown"]
OPPOSITES = [("hot", "cold"), ("big", "small"), ("up", "down"), ("left", "right"),
             ("fast", "slow"), ("day", "night"), ("open", "closed"), ("happy", "sad"),
             ("light", "dark"), ("wet", "dry"), ("tall", "short"), ("early", "late"),
             ("full", "empty"), ("old", "young"), ("hard", "soft"), ("loud", "quiet"),
             ("high", "low"), ("good", "bad"), ("in", "out"), ("first", "last")]
CATEGORIES = [("an animal", ["dog", "cat", "cow", "horse", "bird", "fish"]),
              ("a fruit", ["apple", "banana", "cherry", "lemon", "grape", "pear"]),
              ("a vehicle", ["car", "bus", "train", "boat", "bike", "truck"]),
              ("a tool", ["hammer", "saw", "drill", "wrench", "shovel", "axe"])]


def fnv1a(text):
    h = 0xcbf29ce484222325
    for c in text.encode():
        h ^= c
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def split_of(prompt):
    b = splitmix64(fnv1a(prompt)) % 20
    return "train" if b < 16 else ("val" if b < 18 else "test")


def number_distractors(rng, value):
    chosen = set()
    while len(chosen) < 3:
        d = value + (1 if rng.random() < 0.5 else -1) * rng.randint(1, 4)
        if d < 0 or d > 20:
            d = rng.randint(0, 20)
        if d != value:
            chosen.add(d)
    out = [NUMBERS[d] for d in sorted(chosen)]
    rng.shuffle(out)
    return out


def distractors(rng, pool, answer):
    cand = []
    for p in pool:
        if p != answer and p not in cand:
            cand.append(p)
    rng.shuffle(cand)
    return cand[:3]


def draw(rng, mode, fmt):
    t = rng.randrange(6)
    letter = rng.randrange(4)
    if t == 0:
        if rng.random() < 0.5:
            x, y = rng.randint(0, 10), rng.randint(0, 10)
            v, q = x + y, f"what is {NUMBERS[x]} plus {NUMBERS[y]}"
        else:
            x = rng.randint(0, 20)
            y = rng.randint(0, x)
            v, q = x - y, f"what is {NUMBERS[x]} minus {NUMBERS[y]}"
        ans, wrong = NUMBERS[v], number_distractors(rng, v)
    elif t == 1:
        pool = list(range(21))
        rng.shuffle(pool)
        pool = pool[:4]
        largest = rng.random() < 0.5
        v = max(pool) if largest else min(pool)
        q = "which number is the " + ("largest" if largest else "smallest")
        ans, wrong = NUMBERS[v], [NUMBERS[p] for p in pool if p != v]
    elif t == 2:
        thing, color = rng.choice(COLOR_FACTS)
        q, ans, wrong = f"what color is {thing}", color, distractors(rng, FACT_COLORS, color)
    elif t == 3:
        a, b = rng.choice(OPPOSITES)
        fwd = rng.random() < 0.5
        q = "what is the opposite of " + (a if fwd else b)
        ans = b if fwd else a
        pool = [w for x, y in OPPOSITES if x != a for w in (x, y)]
        wrong = distractors(rng, pool, ans)
    elif t == 4:
        after = rng.random() < 0.5
        x = rng.randint(0, 19) if after else rng.randint(1, 20)
        v = x + 1 if after else x - 1
        q = "what number comes " + ("after " if after else "before ") + NUMBERS[x]
        ans, wrong = NUMBERS[v], number_distractors(rng, v)
    else:
        c = rng.randrange(4)
        label, members = CATEGORIES[c]
        q, ans = "which of these is " + label, rng.choice(members)
        pool = [m for k, (_, ms) in enumerate(CATEGORIES) if k != c for m in ms]
        wrong = distractors(rng, pool, ans)
    options = list(wrong)
    options.insert(letter, ans)
    marks = fmt.get("marks", LETTERS)
    if fmt.get("after"):
        listed = " ".join(f"{o} {m}" for m, o in zip(marks, options))
    else:
        listed = " ".join(f"{m} {o}" for m, o in zip(marks, options))
    if mode == "choice":
        return q + " " + listed, LETTERS[letter]
    if mode == "answer":
        return q + " " + listed + " say the word", ans
    asked = rng.randrange(4)
    return listed + " which is " + options[asked], LETTERS[asked]


SPECIAL = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
CHAT = "system you are a helpful assistant user".split()


def vocabulary(fmt):
    words = list(SPECIAL) + CHAT
    phrases = ["what is plus minus which number is the largest smallest what color is",
               "what is the opposite of what number comes after before which of these is",
               "say the word which is", " ".join(LETTERS), " ".join(fmt.get("marks", [])),
               " ".join(NUMBERS), " ".join(FACT_COLORS)]
    phrases += [t for t, _ in COLOR_FACTS] + [f"{a} {b}" for a, b in OPPOSITES]
    for label, ms in CATEGORIES:
        phrases += [label] + ms
    for p in phrases:
        for w in p.split():
            if w not in words:
                words.append(w)
    return {w: i for i, w in enumerate(words)}


def encode(vocab, prompt, answer):
    ids = [vocab["<|im_start|>"]] + [vocab[w] for w in "system you are a helpful assistant".split()]
    ids += [vocab["<|im_end|>"], vocab["<|im_start|>"], vocab["user"]]
    ids += [vocab[w] for w in prompt.split()]
    ids += [vocab["<|im_end|>"], vocab["<|im_start|>"], vocab["assistant"]]
    return ids, [vocab[w] for w in answer.split()] + [vocab["<|im_end|>"]]


class Pool:
    """Samples of one task, drawn lazily with the C++ split rule (hash buckets)."""

    def __init__(self, mode, fmt, seed):
        self.mode, self.fmt, self.rng = mode, fmt, random.Random(seed)

    def get(self, split):
        while True:
            p, a = draw(self.rng, self.mode, self.fmt)
            if split_of(p) == split:
                return p, a


class RMSNorm(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


def rope(x, cos, sin):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


class Block(torch.nn.Module):
    def __init__(self, d, heads, kv, ff):
        super().__init__()
        self.h, self.kv, self.hd = heads, kv, d // heads
        self.ln1, self.ln2 = RMSNorm(d), RMSNorm(d)
        self.q = torch.nn.Linear(d, d)
        self.k = torch.nn.Linear(d, kv * self.hd)
        self.v = torch.nn.Linear(d, kv * self.hd)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.gate = torch.nn.Linear(d, ff, bias=False)
        self.up = torch.nn.Linear(d, ff, bias=False)
        self.down = torch.nn.Linear(ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        h = self.ln1(x)
        q = self.q(h).view(b, t, self.h, self.hd).transpose(1, 2)
        k = self.k(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v(h).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        rep = self.h // self.kv
        k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.o(y)
        h = self.ln2(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class LM(torch.nn.Module):
    def __init__(self, vocab, d=128, layers=4, heads=4, kv=2, ff=512):
        super().__init__()
        self.emb = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads, kv, ff) for _ in range(layers))
        self.ln = RMSNorm(d)
        hd = d // heads
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        ang = torch.outer(torch.arange(256).float(), inv)
        ang = torch.cat([ang, ang], -1)
        self.register_buffer("cos", ang.cos(), persistent=False)
        self.register_buffer("sin", ang.sin(), persistent=False)
        for name, p in self.named_parameters():
            if "weight" in name and p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, 0.02)
            elif "bias" in name:
                torch.nn.init.zeros_(p)

    def forward(self, ids, pad_mask):
        t = ids.shape[1]
        causal = torch.full((t, t), float("-inf"), device=ids.device).triu(1)
        mask = causal[None, None] + torch.where(pad_mask, 0.0, float("-inf"))[:, None, None, :]
        x = self.emb(ids)
        cos, sin = self.cos[:t], self.sin[:t]
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        return self.ln(x) @ self.emb.weight.t()


def collate(vocab, samples, device):
    seqs, labels, starts = [], [], []
    for p, a in samples:
        ids, ans = encode(vocab, p, a)
        starts.append(len(ids))
        seqs.append(ids + ans)
    t = max(len(s) for s in seqs)
    x = torch.zeros(len(seqs), t, dtype=torch.long)
    m = torch.zeros(len(seqs), t, dtype=torch.bool)
    y = torch.full((len(seqs), t), -100, dtype=torch.long)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = torch.tensor(s)
        m[i, : len(s)] = True
        y[i, starts[i] - 1: len(s) - 1] = torch.tensor(s[starts[i]:])
    return x.to(device), m.to(device), y.to(device)


@torch.no_grad()
def evaluate(model, vocab, pool, n, device):
    inv = {i: w for w, i in vocab.items()}
    samples = [pool.get("val") for _ in range(n)]
    prompts = [encode(vocab, p, a)[0] for p, a in samples]
    # Left-pad free: evaluate one length bucket at a time by right-padding and reading the logit
    # at each prompt's own last position.
    t = max(len(p) for p in prompts)
    x = torch.zeros(n, t, dtype=torch.long)
    m = torch.zeros(n, t, dtype=torch.bool)
    for i, p in enumerate(prompts):
        x[i, : len(p)] = torch.tensor(p)
        m[i, : len(p)] = True
    logits = model(x.to(device), m.to(device))
    last = torch.tensor([len(p) - 1 for p in prompts], device=device)
    pred = logits[torch.arange(n, device=device), last].argmax(-1).tolist()
    return sum(inv[k] == a.split()[0] for k, (_, a) in zip(pred, samples)) / n


def lr_at(c, step):
    if step < c["warmup"]:
        return c["lr"] * (step + 1) / c["warmup"]
    prog = min(1.0, (step - c["warmup"]) / max(1, c["steps"] - c["warmup"]))
    return c["min_lr"] + 0.5 * (c["lr"] - c["min_lr"]) * (1 + math.cos(math.pi * prog))


def run(c, device, progress=None):
    c = {"lr": 2e-3, "min_lr": 1e-4, "warmup": 100, "steps": 4000, "batch": 24, "wd": 0.01,
         "d": 128, "layers": 4, "heads": 4, "kv": 2, "ff": 512, "seed": 0, "fmt": {},
         "eval_every": 500, "eval_n": 256, **c}
    torch.manual_seed(c["seed"])
    vocab = vocabulary(c["fmt"])
    model = LM(len(vocab), c["d"], c["layers"], c["heads"], c["kv"], c["ff"]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=c["lr"], betas=(0.9, 0.98), weight_decay=c["wd"])
    pools = {m: Pool(m, c["fmt"], c["seed"] * 100 + k)
             for k, m in enumerate(["choice", "answer", "locate"])}
    evals = {m: Pool(m, c["fmt"], 999 + k) for k, m in enumerate(["choice", "answer", "locate"])}
    # schedule: list of [until_step, [tasks...]] (round robin over the list like the C++ trainer)
    sched = c["schedule"]
    curve, t0 = [], time.time()
    for step in range(c["steps"]):
        tasks = next(ts for until, ts in sched if step < until)
        samples = [pools[tasks[(step * c["batch"] + b) % len(tasks)]].get("train")
                   for b in range(c["batch"])]
        x, m, y = collate(vocab, samples, device)
        for g in opt.param_groups:
            g["lr"] = lr_at(c, step)
        logits = model(x, m)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                               ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % c["eval_every"] == 0 or step + 1 == c["steps"]:
            model.eval()
            acc = {k: round(evaluate(model, vocab, evals[k], c["eval_n"], device), 3)
                   for k in ["choice", "locate", "answer"]}
            model.train()
            curve.append({"step": step + 1, "loss": round(loss.item(), 4), **acc})
            if progress:
                with open(progress, "a") as f:
                    f.write(json.dumps({"name": c.get("name"), **curve[-1],
                                        "s": round(time.time() - t0)}) + "\n")
    return {"config": c, "curve": curve, "seconds": round(time.time() - t0, 1)}


def main():
    sweep = json.load(open(sys.argv[1]))
    worker, workers, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    device = sys.argv[6] if len(sys.argv) > 6 else "cpu"
    torch.set_num_threads(1)
    for i, c in enumerate(sweep):
        if i % workers != worker:
            continue
        r = run(c, device, out + ".progress")
        r["index"] = i
        with open(out, "a") as f:
            f.write(json.dumps(r) + "\n")
        print(i, c.get("name"), r["curve"][-1], r["seconds"], flush=True)


if __name__ == "__main__":
    main()
