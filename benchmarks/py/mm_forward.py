"""Python baseline for bench_mm: the language-model forward of a ClearSight multimodal model,
written with Debian's python3-torch, loading the same safetensors (Hugging Face names).

Prints the best-of-N forward time and the largest difference to the logits ClearSight computed.
"""
import os

# Same thread budget as the C++ side (1 torch and 1 BLAS thread); must precede importing torch.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import math
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from safetensors_load import load_safetensors  # noqa: E402


def rms_norm(x, w, eps):
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


class Lm:
    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.c = json.load(f)
        self.w = load_safetensors(os.path.join(directory, "model.safetensors"))
        c = self.c
        self.heads = c["num_attention_heads"]
        self.kv_heads = c["num_key_value_heads"]
        self.head_dim = c["hidden_size"] // self.heads
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.head_dim, 2, dtype=torch.float64)
                                        / self.head_dim))
        freqs = torch.outer(torch.arange(c["max_position_embeddings"], dtype=torch.float64), inv)
        emb = torch.cat([freqs, freqs], -1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()

    def forward(self, ids):
        c, w = self.c, self.w
        b, l = ids.shape
        x = w["model.embed_tokens.weight"][ids]
        cos, sin = self.cos[:l], self.sin[:l]
        mask = torch.ones(l, l, dtype=torch.bool).triu(1)
        for i in range(c["num_hidden_layers"]):
            p = f"model.layers.{i}."
            h = rms_norm(x, w[p + "input_layernorm.weight"], c["rms_norm_eps"])
            q = torch.nn.functional.linear(h, w[p + "self_attn.q_proj.weight"],
                                           w[p + "self_attn.q_proj.bias"])
            k = torch.nn.functional.linear(h, w[p + "self_attn.k_proj.weight"],
                                           w[p + "self_attn.k_proj.bias"])
            v = torch.nn.functional.linear(h, w[p + "self_attn.v_proj.weight"],
                                           w[p + "self_attn.v_proj.bias"])
            q = q.view(b, l, self.heads, self.head_dim).transpose(1, 2)
            k = k.view(b, l, self.kv_heads, self.head_dim).transpose(1, 2)
            v = v.view(b, l, self.kv_heads, self.head_dim).transpose(1, 2)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
            rep = self.heads // self.kv_heads
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)
            scores = scores.masked_fill(mask, float("-inf"))
            z = torch.softmax(scores.float(), -1) @ v
            z = z.transpose(1, 2).reshape(b, l, -1)
            x = x + torch.nn.functional.linear(z, w[p + "self_attn.o_proj.weight"])
            h = rms_norm(x, w[p + "post_attention_layernorm.weight"], c["rms_norm_eps"])
            gate = torch.nn.functional.linear(h, w[p + "mlp.gate_proj.weight"])
            up = torch.nn.functional.linear(h, w[p + "mlp.up_proj.weight"])
            x = x + torch.nn.functional.linear(torch.nn.functional.silu(gate) * up,
                                               w[p + "mlp.down_proj.weight"])
        x = rms_norm(x, w["model.norm.weight"], c["rms_norm_eps"])
        head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
        return x @ head.t()


def main():
    torch.set_num_threads(1)
    directory = sys.argv[1]
    lm = Lm(directory)
    inputs = load_safetensors(os.path.join(directory, "inputs.safetensors"))
    ids = inputs["input_ids"]
    with torch.no_grad():
        logits = lm.forward(ids)
        diff = (logits - inputs["logits"]).abs().max().item()
        times = []
        for _ in range(10):
            start = time.perf_counter()
            lm.forward(ids)
            times.append(time.perf_counter() - start)
    print(f"python_forward_seconds {min(times):.6f}")
    print(f"max_abs_logit_diff {diff:.3e}")


if __name__ == "__main__":
    main()
