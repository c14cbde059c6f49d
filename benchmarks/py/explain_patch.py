"""Python baseline for bench_patch: activation patching of the residual stream entering every
layer (hook_resid_pre), one cell per layer x prompt position, blank-image corruption, metric the
logit difference target - foil at the scored position; written with Debian's python3-torch on the
model port of explain_attr.py, reading the inputs bench_patch wrote.

Prints the best-of-N time per sample (batched rows and one cell at a time) and the largest
difference to ClearSight's patched metrics.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
from explain_attr import VisionLanguageModel, best_of  # noqa: E402
from safetensors_load import load_safetensors  # noqa: E402


class Pair:
    """One sample's clean and corrupted inputs and ClearSight's results."""

    def __init__(self, inputs, i, model):
        def get(name):
            return inputs[f"{name}_{i}"]
        self.ids = get("input_ids")
        self.attention_mask = get("attention_mask").bool()
        self.clean = get("clean_pixels")
        self.corrupted = get("corrupted_pixels")
        self.position, self.token, self.foil = get("target").tolist()
        self.prompt_length = int(get("prompt_length").item())
        self.cpp = get("cpp_metrics")
        self.text = model.embed_tokens(self.ids)
        self.text_mask = torch.zeros_like(self.attention_mask)


def metric(logits, s):
    at = logits[:, s.position].double()
    return at[:, s.token] - at[:, s.foil]


@torch.no_grad()
def patch_sample(model, s, rows):
    layers = model.lm.c["num_hidden_layers"]
    cache = {}

    def record(i, x):
        cache[i] = x[0].clone()
        return x

    model.forward(s.ids, s.attention_mask, s.clean, s.text, s.text_mask, record)
    cells = [(i, p) for i in range(layers) for p in range(s.prompt_length)]
    out = torch.empty(len(cells), dtype=torch.float64)
    for start in range(0, len(cells), rows):
        chunk = cells[start:start + rows]
        r = len(chunk)

        def patch(i, x):
            x = x.clone()
            for row, (layer, position) in enumerate(chunk):
                if layer == i:
                    x[row, position] = cache[i][position]
            return x

        logits = model.forward(s.ids.expand(r, -1), s.attention_mask.expand(r, -1),
                               s.corrupted.expand(r, *s.corrupted.shape[1:]),
                               s.text.expand(r, -1, -1), s.text_mask.expand(r, -1), patch)
        out[start:start + r] = metric(logits, s)
    return out


def main():
    torch.set_num_threads(1)
    directory = sys.argv[1]
    with open(os.path.join(directory, "settings.json")) as f:
        settings = json.load(f)
    model = VisionLanguageModel(directory, settings["image_pad_id"])
    inputs = load_safetensors(os.path.join(directory, "inputs.safetensors"))
    pairs = [Pair(inputs, i, model) for i in range(settings["samples"])]
    diff = 0.0
    for s in pairs:  # parity, also the warm-up
        diff = max(diff, (patch_sample(model, s, settings["rows"]) - s.cpp).abs().max().item())
    repeats = settings["repeats"]
    batched = best_of(repeats, lambda: [patch_sample(model, s, settings["rows"]) for s in pairs])
    single = best_of(1, lambda: [patch_sample(model, s, 1) for s in pairs])
    print(f"python_batched_seconds_per_sample {batched / len(pairs):.6f}")
    print(f"python_single_seconds_per_sample {single / len(pairs):.6f}")
    print(f"metric_max_abs_diff {diff:.3e}")


if __name__ == "__main__":
    main()
