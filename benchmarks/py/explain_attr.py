"""Python baseline for bench_explain: integrated gradients and occlusion of the answer's
teacher-forced log-probability on a multimodal ClearSight model (cs-tiny-vl), written with
Debian's python3-torch and torch.autograd on a port of the whole forward pass (vision tower,
merger, language model) that reads the same safetensors (Hugging Face names).

Usage: explain_attr.py DIR, where DIR holds the model (config.json, model.safetensors),
settings.json and inputs.safetensors written by bench_explain: per sample i the token ids, the
clean / baseline / fill normalised pixels, the baseline token embeddings of integrated gradients,
the text attribution mask, the answer's (position, token) pairs, the question positions, and
ClearSight's attributions and occlusion maps. Occluded words get the pad token's embedding.

Prints the best-of-N seconds per sample of each method, the largest difference of its results to
ClearSight's relative to the largest ClearSight value, and the single-thread GEMM rate.
"""
import os

# Same thread budget as the C++ side (1 torch and 1 BLAS thread); must precede importing torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from mm_forward import Lm, rms_norm, rotate  # noqa: E402
from safetensors_load import load_safetensors  # noqa: E402

F = torch.nn.functional


class VisionLanguageModel:
    """The ClearSight multimodal model with a vision tower: ViT on 2-frame patches, 2 x 2 merger,
    and the Qwen2 decoder of mm_forward.Lm fed with spliced embeddings."""

    def __init__(self, directory, image_pad_id):
        self.lm = Lm(directory)
        self.w = self.lm.w
        self.vc = self.lm.c["vision_config"]
        self.image_pad_id = image_pad_id
        hidden = self.vc["hidden_size"]
        self.patch_weight = self.w["visual.patch_embed.proj.weight"].reshape(hidden, -1)

    def embed_tokens(self, ids):
        return self.w["model.embed_tokens.weight"][ids]

    def vision(self, frames):
        """Normalised frames [N, T, C, H, W] -> merged image tokens [N, tokens, lm hidden]."""
        vc, w = self.vc, self.w
        n, frames_in = frames.shape[:2]
        tp, p, m = vc["temporal_patch_size"], vc["patch_size"], vc["spatial_merge_size"]
        c, hidden, heads = vc["in_channels"], vc["hidden_size"], vc["num_heads"]
        t, g = frames_in // tp, vc["image_size"] // p
        # Merge windows contiguous, each patch flattened as (channel, frame, row, column).
        x = frames.reshape(n, t, tp, c, g // m, m, p, g // m, m, p)
        x = x.permute(0, 1, 4, 7, 5, 8, 3, 2, 6, 9).reshape(n, t * g * g, c * tp * p * p)
        x = F.linear(x, self.patch_weight) + w["visual.pos_embed"][:t * g * g]
        d = hidden // heads
        for i in range(vc["depth"]):
            pre = f"visual.blocks.{i}."
            h = F.layer_norm(x, (hidden,), w[pre + "norm1.weight"], w[pre + "norm1.bias"], 1e-6)
            b, l, _ = h.shape
            qkv = F.linear(h, w[pre + "attn.qkv.weight"], w[pre + "attn.qkv.bias"])
            q, k, v = qkv.view(b, l, 3, heads, d).permute(2, 0, 3, 1, 4)
            pattern = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), -1)
            z = (pattern @ v).transpose(1, 2).reshape(b, l, hidden)
            x = x + F.linear(z, w[pre + "attn.proj.weight"], w[pre + "attn.proj.bias"])
            h = F.layer_norm(x, (hidden,), w[pre + "norm2.weight"], w[pre + "norm2.bias"], 1e-6)
            h = F.gelu(F.linear(h, w[pre + "mlp.fc1.weight"], w[pre + "mlp.fc1.bias"]))
            x = x + F.linear(h, w[pre + "mlp.fc2.weight"], w[pre + "mlp.fc2.bias"])
        x = F.layer_norm(x, (hidden,), w["visual.merger.ln_q.weight"],
                         w["visual.merger.ln_q.bias"], 1e-6)
        x = x.reshape(n, x.shape[1] // (m * m), -1)
        x = F.gelu(F.linear(x, w["visual.merger.mlp.0.weight"], w["visual.merger.mlp.0.bias"]))
        return F.linear(x, w["visual.merger.mlp.2.weight"], w["visual.merger.mlp.2.bias"])

    def decode(self, x, attention_mask, resid_pre=None):
        """Embeddings [B, L, hidden] -> logits [B, L, vocab], right padding masked out;
        resid_pre(i, x), when given, returns the residual stream entering layer i."""
        lm, c, w = self.lm, self.lm.c, self.w
        b, l, _ = x.shape
        positions = (attention_mask.long().cumsum(1) - 1).clamp_min(0)
        cos, sin = lm.cos[positions].unsqueeze(1), lm.sin[positions].unsqueeze(1)
        blocked = torch.ones(l, l, dtype=torch.bool).triu(1).view(1, 1, l, l)
        blocked = blocked | attention_mask.logical_not().view(b, 1, 1, l)
        rep = lm.heads // lm.kv_heads
        for i in range(c["num_hidden_layers"]):
            if resid_pre is not None:
                x = resid_pre(i, x)
            p = f"model.layers.{i}."
            h = rms_norm(x, w[p + "input_layernorm.weight"], c["rms_norm_eps"])
            q = F.linear(h, w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"])
            k = F.linear(h, w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"])
            v = F.linear(h, w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"])
            q = rotate(q.view(b, l, lm.heads, lm.head_dim).transpose(1, 2), cos, sin)
            k = rotate(k.view(b, l, lm.kv_heads, lm.head_dim).transpose(1, 2), cos, sin)
            v = v.view(b, l, lm.kv_heads, lm.head_dim).transpose(1, 2)
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            scores = (q @ k.transpose(-2, -1) / math.sqrt(lm.head_dim))
            scores = scores.masked_fill(blocked, float("-inf"))
            pattern = torch.nan_to_num(torch.softmax(scores.float(), -1), 0.0)
            z = (pattern @ v).transpose(1, 2).reshape(b, l, -1)
            x = x + F.linear(z, w[p + "self_attn.o_proj.weight"])
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
            act = F.silu(F.linear(h, w[p + "mlp.gate_proj.weight"]))
            x = x + F.linear(act * F.linear(h, w[p + "mlp.up_proj.weight"]),
                             w[p + "mlp.down_proj.weight"])
        x = rms_norm(x, w["model.norm.weight"], c["rms_norm_eps"])
        return x @ w["model.embed_tokens.weight"].t()

    def forward(self, ids, attention_mask, pixels, text, text_mask, resid_pre=None):
        """Logits with the given normalised pixels [B, T, C, H, W] as the image and the given
        token embeddings [B, L, hidden] at the text_mask positions (resid_pre: see decode)."""
        x = self.embed_tokens(ids)
        features = self.vision(pixels)
        slots = (ids == self.image_pad_id).unsqueeze(-1)
        x = x.masked_scatter(slots, features.reshape(-1, x.shape[-1]))
        x = torch.where(text_mask.unsqueeze(-1), text, x)
        return self.decode(x, attention_mask, resid_pre)


def target_score(logits, targets):
    """Per-row sum of the log-probabilities of the (position, token) pairs targets [K, 2]."""
    logp = torch.log_softmax(logits.double(), -1)
    return logp[:, targets[:, 0], targets[:, 1]].sum(-1)


def integration_rule(rule, n):
    """Nodes and weights on [0, 1], in ClearSight's order (Gauss-Legendre: largest node first)."""
    if rule == "gauss-legendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return list((x[::-1] + 1) / 2), list(w[::-1] / 2)
    shifts = {"riemann-left": 0.0, "riemann-right": 1.0, "riemann-middle": 0.5}
    if rule in shifts:
        return [(i + shifts[rule]) / n for i in range(n)], [1.0 / n] * n
    if rule == "riemann-trapezoid":
        return ([i / (n - 1) for i in range(n)],
                [(0.5 if i in (0, n - 1) else 1.0) / (n - 1) for i in range(n)])
    raise ValueError(f"unknown integration rule {rule}")


class Sample:
    """One sample's inputs as bench_explain wrote them."""

    def __init__(self, inputs, i, model, settings):
        def get(name):
            return inputs[f"{name}_{i}"]
        self.ids = get("input_ids")
        self.attention_mask = get("attention_mask").bool()
        self.text_mask = get("text_mask").bool()
        self.pixels = get("pixels")
        self.baseline_pixels = get("baseline_pixels")
        self.fill_pixels = get("fill_pixels")
        self.targets = get("targets")
        self.question = get("question").tolist()
        self.cpp = {k: get("cpp_" + k) for k in
                    ("ig_score", "ig_baseline_score", "ig_positions", "ig_image_pixels",
                     "occlusion_score", "occlusion_image", "occlusion_text")}
        self.prompt_length = self.cpp["ig_positions"].numel()
        self.text = model.embed_tokens(self.ids)
        # Integrated gradients' baseline (the pad embedding at the settings' text positions).
        self.baseline_text = get("baseline_text")
        # What occlusion puts in place of a word.
        self.fill_text = model.embed_tokens(torch.tensor([settings["pad_id"]]))[0]

    def rows(self, n):
        return (self.ids.expand(n, -1), self.attention_mask.expand(n, -1),
                self.text_mask.expand(n, -1))


def integrated_gradients(model, s, nodes, weights, per_pass):
    """Attributions (text [1, L, hidden], pixels [1, T, C, H, W]) of one sample."""
    x_text, b_text, x_px, b_px = s.text, s.baseline_text, s.pixels, s.baseline_pixels
    sum_text, sum_px = torch.zeros_like(x_text), torch.zeros_like(x_px)
    steps = len(nodes)
    for k0 in range(0, steps, per_pass):
        k1 = min(steps, k0 + per_pass)
        alpha = torch.tensor(nodes[k0:k1], dtype=torch.float32)
        text = (b_text + alpha.view(-1, 1, 1) * (x_text - b_text)).requires_grad_(True)
        px = (b_px + alpha.view(-1, 1, 1, 1, 1) * (x_px - b_px)).requires_grad_(True)
        ids, mask, text_mask = s.rows(k1 - k0)
        scores = target_score(model.forward(ids, mask, px, text, text_mask), s.targets)
        weight = torch.tensor(weights[k0:k1], dtype=torch.float64)
        g_text, g_px = torch.autograd.grad((scores * weight).sum(), [text, px])
        sum_text += g_text.sum(0, keepdim=True)
        sum_px += g_px.sum(0, keepdim=True)
    return (x_text - b_text) * sum_text, (x_px - b_px) * sum_px


def explain_ig(model, s, nodes, weights, per_pass):
    """What ClearSight's attribute() returns for one sample: f(x), f(baseline), and the
    attributions per prompt position (text summed over the embedding, image tokens over their
    merge window's pixels) and per pixel (summed over frames and channels)."""
    ids, mask, text_mask = s.rows(1)
    with torch.no_grad():
        score = target_score(model.forward(ids, mask, s.pixels, s.text, text_mask), s.targets)
        baseline_score = target_score(
            model.forward(ids, mask, s.baseline_pixels, s.baseline_text, text_mask), s.targets)
    attr_text, attr_px = integrated_gradients(model, s, nodes, weights, per_pass)
    vc = model.vc
    g, p, m = vc["image_size"] // vc["patch_size"], vc["patch_size"], vc["spatial_merge_size"]
    pixels = attr_px[0].sum((0, 1)).double()
    tokens = pixels.view(g, p, g, p).sum((1, 3)).view(g // m, m, g // m, m).sum((1, 3)).flatten()
    positions = torch.zeros(s.prompt_length, dtype=torch.float64)
    per_position = attr_text[0].sum(-1).double()
    text_positions = s.text_mask[0].nonzero().flatten()
    positions[text_positions] += per_position[text_positions]
    image_positions = (s.ids[0, :s.prompt_length] == model.image_pad_id).nonzero().flatten()
    positions[image_positions] += tokens
    return {"score": score.item(), "baseline_score": baseline_score.item(),
            "positions": positions, "pixels": pixels}


def window_starts(n, window, stride):
    if window >= n:
        return [0]
    out = list(range(0, n - window + 1, stride))
    if out[-1] + window < n:
        out.append(n - window)
    return out


def occlusion(model, s, settings):
    """Mean score drop per image patch [g, g] and per prompt position, and the clean score."""
    g, size = settings["grid"], model.vc["image_size"]
    p = size // g
    perts, cover = [None], [None]
    starts = window_starts(g, settings["image_window"], settings["image_stride"])
    w = min(settings["image_window"], g)
    for r in starts:
        for c in starts:
            mask = torch.zeros(1, 1, size, size, dtype=torch.bool)
            mask[..., r * p:(r + w) * p, c * p:(c + w) * p] = True
            perts.append(("image", mask))
            cover.append(("image", [a * g + b for a in range(r, r + w) for b in range(c, c + w)]))
    q = s.question
    if q:
        tw = min(settings["text_window"], len(q))
        for b in window_starts(len(q), settings["text_window"], 1):
            perts.append(("text", q[b:b + tw]))
            cover.append(("text", q[b:b + tw]))
    scores = []
    batch = settings["internal_batch"]
    with torch.no_grad():
        for first in range(0, len(perts), batch):
            chunk = perts[first:first + batch]
            pixels, texts = [], []
            for pert in chunk:
                px, text = s.pixels[0], s.text[0]
                if pert is not None and pert[0] == "image":
                    px = torch.where(pert[1], s.fill_pixels[0], px)
                elif pert is not None:
                    text = text.clone()
                    text[pert[1]] = s.fill_text
                pixels.append(px)
                texts.append(text)
            ids, mask, text_mask = s.rows(len(chunk))
            logits = model.forward(ids, mask, torch.stack(pixels), torch.stack(texts), text_mask)
            scores.extend(target_score(logits, s.targets).tolist())
    image_sum, image_n = torch.zeros(g * g, dtype=torch.float64), torch.zeros(g * g)
    text_sum = torch.zeros(s.prompt_length, dtype=torch.float64)
    text_n = torch.zeros(s.prompt_length)
    for k in range(1, len(perts)):
        kind, idx = cover[k]
        drop = scores[0] - scores[k]
        total, count = (image_sum, image_n) if kind == "image" else (text_sum, text_n)
        total[idx] += drop
        count[idx] += 1
    return ((image_sum / image_n.clamp_min(1)).view(g, g), text_sum / text_n.clamp_min(1),
            scores[0])


def relative_diff(mine, theirs):
    scale = theirs.abs().max().item()
    return (mine - theirs).abs().max().item() / max(scale, 1e-30)


def gemm_gflops(n=512, repeats=20):
    a, b = torch.randn(n, n), torch.randn(n, n)
    c = a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n ** 3 / best / 1e9


def best_of(repeats, fn):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    torch.set_num_threads(1)
    directory = sys.argv[1]
    with open(os.path.join(directory, "settings.json")) as f:
        settings = json.load(f)
    if settings["text_fill"] != "pad":
        raise ValueError("only the pad fill of occluded words is ported")
    model = VisionLanguageModel(directory, settings["image_pad_id"])
    inputs = load_safetensors(os.path.join(directory, "inputs.safetensors"))
    samples = [Sample(inputs, i, model, settings) for i in range(settings["samples"])]
    nodes, weights = integration_rule(settings["rule"], settings["steps"])
    per_pass = max(1, settings["internal_batch"])  # One sample per call.

    # Parity (also the warm-up): every sample once, compared with ClearSight's results.
    ig_diff, occ_diff, score_diff = 0.0, 0.0, 0.0
    for s in samples:
        ig = explain_ig(model, s, nodes, weights, per_pass)
        ig_diff = max(ig_diff, relative_diff(ig["positions"], s.cpp["ig_positions"]),
                      relative_diff(ig["pixels"], s.cpp["ig_image_pixels"]))
        score_diff = max(score_diff, abs(ig["score"] - s.cpp["ig_score"].item()),
                         abs(ig["baseline_score"] - s.cpp["ig_baseline_score"].item()))
        image, text, score = occlusion(model, s, settings)
        occ_diff = max(occ_diff, relative_diff(image, s.cpp["occlusion_image"]),
                       relative_diff(text, s.cpp["occlusion_text"]))
        score_diff = max(score_diff, abs(score - s.cpp["occlusion_score"].item()))

    repeats = settings["repeats"]
    ig_seconds = best_of(repeats,
                         lambda: [explain_ig(model, s, nodes, weights, per_pass) for s in samples])
    occ_seconds = best_of(repeats, lambda: [occlusion(model, s, settings) for s in samples])
    print(f"python_ig_seconds_per_sample {ig_seconds / len(samples):.6f}")
    print(f"python_occlusion_seconds_per_sample {occ_seconds / len(samples):.6f}")
    print(f"ig_max_rel_diff {ig_diff:.3e}")
    print(f"occlusion_max_rel_diff {occ_diff:.3e}")
    print(f"score_max_abs_diff {score_diff:.3e}")
    print(f"python_gemm_gflops {gemm_gflops():.2f}")


if __name__ == "__main__":
    main()
