"""Hugging Face transformers' own outputs for the tiny Qwen2-VL / Qwen2-Audio fixtures.

Needs torch 2.x and transformers (written for 5.x, also handles 4.4x-4.5x); downloads nothing:

    python tests/reference/make_hf_fixtures.py [--src tests/fixtures/qwen2] \
        [--out tests/fixtures/qwen2-hf] [--device cuda|cpu]

It builds Qwen2VLForConditionalGeneration / Qwen2AudioForConditionalGeneration from the config.json
written by make_qwen2_fixtures.py, loads that folder's model.safetensors (the same weights the spec
reference used; every parameter is checked to be covered), runs HF's processors on the same raw
inputs (Qwen2-VL images: PIL backend; videos: whatever HF uses for videos in this version; audio:
WhisperFeatureExtractor), runs the model in float32 with eager attention, TF32 off, records the
same tensor names with forward hooks (hook_post = SiLU(gate_proj(x)), MINER's neuron) and writes
<out>/<model>/expected.safetensors. It then prints the max error of every tensor against the spec
reference's expected.safetensors, twice: (a) HF end to end (HF processor outputs -> HF model), and
(b) HF model fed the reference's processor outputs (pure model parity). The report is also
written to <out>/<model>/compare.txt.

Error measure: max|hf - ref| / max|ref| over the tensor ("rel"), and max|hf - ref| ("abs"). For
[B, L, ...] language-model tensors only positions with attention_mask == 1 are compared (padded
positions' values depend on a version-dependent padding position id). Integer tensors must be equal.
"""
import argparse
import inspect
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import qwen2_reference as ref  # noqa: E402  (only its safetensors reader/writer is used)

PROCESSOR_KEYS = {"pixel_values", "image_grid_thw", "pixel_values_videos", "video_grid_thw",
                  "input_features", "feature_attention_mask", "smart_resize_cases"}
MODEL_INPUT_KEYS = {"input_ids", "attention_mask"}


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------

def log(lines, s=""):
    print(s)
    lines.append(s)


def find_module(model, attrs, exclude=()):
    hits = [(n, m) for n, m in model.named_modules()
            if all(hasattr(m, a) for a in attrs) and not any(x in n for x in exclude)]
    if len(hits) != 1:
        raise RuntimeError(f"expected one module with {attrs}, found {[n for n, _ in hits]}")
    return hits[0][1]


def make_model(cls, config):
    config.use_cache = False
    for kw in ({"attn_implementation": "eager", "dtype": torch.float32},
               {"attn_implementation": "eager", "torch_dtype": torch.float32},
               {"attn_implementation": "eager"}):
        try:
            model = cls._from_config(config, **kw)
            break
        except TypeError:
            continue
    else:
        raise RuntimeError("cannot build the model")
    return model.float().eval()


def source_names(name):
    c = [name]
    rules = [("model.language_model.", "model."), ("model.visual.", "visual."),
             ("model.language_model.", "language_model.model."),
             ("model.audio_tower.", "audio_tower."),
             ("model.multi_modal_projector.", "multi_modal_projector."),
             ("language_model.", "language_model.model.")]
    for a, b in rules:
        if name.startswith(a):
            c.append(b + name[len(a):])
    if name.endswith("lm_head.weight"):
        c += ["lm_head.weight", "language_model.lm_head.weight"]
    return c


def load_weights(model, W, embed_name, lines):
    """Copies fixture weights (hub names) into the HF model; every HF parameter must be covered."""
    sd = model.state_dict()
    new, used, problems = {}, set(), []
    for name, t in sd.items():
        src = next((s for s in source_names(name) if s in W), None)
        if src is None and name.endswith("lm_head.weight"):
            src = embed_name  # tied embeddings: the hub file has no lm_head
        if src is None:
            if "inv_freq" in name or name.endswith("num_batches_tracked"):
                continue
            problems.append(f"no fixture weight for HF parameter {name}")
            continue
        w = W[src]
        if tuple(w.shape) != tuple(t.shape):
            if w.numel() != t.numel():
                problems.append(f"{name}: HF shape {tuple(t.shape)} vs fixture {tuple(w.shape)}")
                continue
            log(lines, f"note: {src} reshaped {tuple(w.shape)} -> {tuple(t.shape)}")
            w = w.reshape(t.shape)
        new[name] = w.to(t.dtype)
        used.add(src)
    unused = sorted(set(W) - used)
    if unused:
        problems.append(f"fixture weights not used by HF: {unused}")
    if problems:
        raise RuntimeError("weight mapping failed:\n  " + "\n  ".join(problems))
    model.load_state_dict(new, strict=False)
    for name, t in model.state_dict().items():
        if name in new and not torch.equal(t.cpu(), new[name].cpu()):
            raise RuntimeError(f"{name} did not load")
    log(lines, f"loaded {len(new)} HF tensors from {len(used)} fixture tensors")


class Recorder:
    """Forward hooks recording the ClearSight tensor names."""

    def __init__(self):
        self.t = {}
        self.lists = {}
        self.handles = []

    def pre(self, module, name):
        def fn(_m, args, kwargs=None):
            x = args[0] if args else next(v for v in kwargs.values() if torch.is_tensor(v))
            self.t[name] = x.detach().float().cpu()
        try:  # torch >= 2.0 also sees keyword arguments
            self.handles.append(module.register_forward_pre_hook(fn, with_kwargs=True))
        except TypeError:
            self.handles.append(module.register_forward_pre_hook(fn))

    def post(self, module, name, append=False):
        def fn(_m, _args, out):
            if hasattr(out, "last_hidden_state"):
                out = out.last_hidden_state
            elif isinstance(out, (tuple, list)):
                out = out[0]
            out = out.detach().float().cpu()
            if append:
                self.lists.setdefault(name, []).append(out)
            else:
                self.t[name] = out
        self.handles.append(module.register_forward_hook(fn))

    def lm(self, lm):
        self.pre(lm.layers[0].input_layernorm, "hook_embed")
        for i, layer in enumerate(lm.layers):
            self.pre(layer.post_attention_layernorm, f"blocks.{i}.hook_resid_mid")
            # ClearSight's mlp.hook_post is MINER's neuron SiLU(gate_proj(x)), computed from the
            # gate projection's output (hook_pre).
            self.post(layer.mlp.gate_proj, f"blocks.{i}.mlp.hook_pre")
            self.post(layer, f"blocks.{i}.hook_resid_post")
        self.post(lm.norm, "ln_final.hook_normalized")

    def close(self):
        for h in self.handles:
            h.remove()


def accepts(fn, name):
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def compare(lines, title, hf, rf, attention_mask, model_tol=1e-4, proc_tol=1e-5):
    log(lines, f"--- {title}")
    worst = 0.0
    failed = []
    for k in sorted(rf):
        if k not in hf:
            log(lines, f"  {k:32s} missing in HF output")
            continue
        a, b = hf[k].cpu(), rf[k].cpu()
        if tuple(a.shape) != tuple(b.shape):
            log(lines, f"  {k:32s} SHAPE hf {list(a.shape)} ref {list(b.shape)}")
            failed.append(k)
            continue
        lm_tensor = (a.dim() >= 2 and tuple(a.shape[:2]) == tuple(attention_mask.shape)
                     and k not in ("input_ids", "attention_mask"))
        if k == "position_ids" and a.dim() == 3:
            sel = attention_mask.bool()
            same_valid = torch.equal(a[:, sel], b[:, sel])
            log(lines, f"  {k:32s} valid positions {'equal' if same_valid else 'DIFFER'}; "
                       f"padding positions {'equal' if torch.equal(a, b) else 'differ (version-dependent)'}")
            if not same_valid:
                failed.append(k)
            continue
        if k == "smart_resize_cases":
            raised = (a[:, 4] == -1)
            bad = [(r.tolist(), q.tolist()) for r, q, x in zip(a, b, raised) if not x and not torch.equal(r, q)]
            log(lines, f"  {k:32s} {'equal' if not bad else 'DIFFER ' + str(bad)}"
                       + (f"; HF raised ValueError for {int(raised.sum())} sizes below the factor"
                          if raised.any() else ""))
            if bad:
                failed.append(k)
            continue
        if not a.dtype.is_floating_point:
            if lm_tensor:
                a, b = a[attention_mask.bool()], b[attention_mask.bool()]
            eq = torch.equal(a.to(torch.int64), b.to(torch.int64))
            log(lines, f"  {k:32s} {'equal' if eq else 'DIFFER'}"
                       + ("" if eq else f" hf {a.flatten()[:12].tolist()} ref {b.flatten()[:12].tolist()}"))
            if not eq:
                failed.append(k)
            continue
        if lm_tensor:
            a, b = a[attention_mask.bool()], b[attention_mask.bool()]
        a64, b64 = a.double(), b.double()
        diff = float((a64 - b64).abs().max())
        scale = float(b64.abs().max())
        rel = diff / scale if scale > 0 else diff
        tol = proc_tol if k in PROCESSOR_KEYS else model_tol
        ok = rel <= tol
        worst = max(worst, rel) if k not in PROCESSOR_KEYS else worst
        if not ok:
            failed.append(k)
        log(lines, f"  {k:32s} rel {rel:.2e} abs {diff:.2e} (max|ref| {scale:.3g}) "
                   f"{'ok' if ok else 'OVER ' + format(tol, '.0e')}")
    log(lines, f"  worst model-tensor rel error {worst:.2e}; over tolerance: {failed or 'none'}")
    return failed


def tensors_to(d, device):
    return {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in d.items()}


# --------------------------------------------------------------------------------------------------
# Qwen2-VL
# --------------------------------------------------------------------------------------------------

def hf_image_processor(pp, lines):
    import transformers
    kwargs = dict(min_pixels=pp["min_pixels"], max_pixels=pp["max_pixels"],
                  patch_size=pp["patch_size"], temporal_patch_size=pp["temporal_patch_size"],
                  merge_size=pp["merge_size"], image_mean=pp["image_mean"], image_std=pp["image_std"],
                  rescale_factor=pp["rescale_factor"])  # resize (bicubic), rescale, normalize: defaults on
    cls = getattr(transformers, "Qwen2VLImageProcessorPil", None)
    if cls is None:
        try:
            from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil as cls
        except ImportError:
            cls = None
    if cls is None:  # transformers 4.x: the slow processor is the PIL one
        from transformers import Qwen2VLImageProcessor as cls
    log(lines, f"image processor: {cls.__module__}.{cls.__name__}")
    return cls(**kwargs)


def hf_video_inputs(pp, ip, frames, lines):
    """Videos as HF preprocesses them in this version: Qwen2VLVideoProcessor when it exists
    (transformers >= 4.52, torchvision resize), else the image processor's `videos=` (PIL)."""
    from PIL import Image
    try:
        from transformers import Qwen2VLVideoProcessor
    except ImportError:
        Qwen2VLVideoProcessor = None
    if Qwen2VLVideoProcessor is not None:
        vp = Qwen2VLVideoProcessor(min_pixels=pp["min_pixels"], max_pixels=pp["max_pixels"],
                                   patch_size=pp["patch_size"], merge_size=pp["merge_size"],
                                   temporal_patch_size=pp["temporal_patch_size"],
                                   image_mean=pp["image_mean"], image_std=pp["image_std"],
                                   do_sample_frames=False)
        out = vp(videos=[frames], return_tensors="pt")
        log(lines, "video processor: Qwen2VLVideoProcessor (torchvision)")
        return out["pixel_values_videos"], out["video_grid_thw"]
    out = ip(images=None, videos=[[Image.fromarray(f) for f in frames]], return_tensors="pt")
    log(lines, "video processor: image processor videos= (PIL)")
    return out["pixel_values_videos"], out["video_grid_thw"]


def hf_smart_resize_cases(cases):
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize
    rows = []
    for h, w, mn, mx, _, _ in cases.tolist():
        try:
            ho, wo = smart_resize(h, w, factor=28, min_pixels=mn, max_pixels=mx)
        except ValueError:
            ho, wo = -1, -1
        rows.append([h, w, mn, mx, ho, wo])
    return torch.tensor(rows, dtype=torch.int64)


def run_vl(src, out, device, lines):
    from PIL import Image
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    config = Qwen2VLConfig.from_pretrained(src)
    model = make_model(Qwen2VLForConditionalGeneration, config)
    W = ref.load_safetensors(os.path.join(src, "model.safetensors"))
    load_weights(model, W, "model.embed_tokens.weight", lines)
    model.to(device)
    lm = find_module(model, ("embed_tokens", "layers", "norm"))
    visual = find_module(model, ("patch_embed", "blocks", "merger"))
    tc = config.get_text_config() if hasattr(config, "get_text_config") else config
    rp = getattr(tc, "rope_parameters", None) or getattr(tc, "rope_scaling", None) or {}
    log(lines, f"text rope parameters as HF read them: {rp}")
    if list(rp.get("mrope_section", [])) != [2, 3, 3]:
        log(lines, "WARNING: mrope_section not [2, 3, 3] in the HF config")
    inv = getattr(getattr(lm, "rotary_emb", None), "inv_freq", None)
    if inv is not None:
        d = float((inv.cpu() - ref.rope_inv_freq(16, 1e6)).abs().max())
        log(lines, f"LM inv_freq vs theta 1e6 head_dim 16: max diff {d:.1e}")

    pp = json.load(open(os.path.join(src, "preprocessor_config.json")))
    inp = ref.load_safetensors(os.path.join(src, "inputs.safetensors"))
    rf = ref.load_safetensors(os.path.join(src, "expected.safetensors"))
    ip = hf_image_processor(pp, lines)
    images = [Image.fromarray(inp["image.0"].numpy()), Image.fromarray(inp["image.1"].numpy())]
    io = ip(images=images, return_tensors="pt")
    pv, igrid = io["pixel_values"].float(), io["image_grid_thw"].long()
    vpv, vgrid = hf_video_inputs(pp, ip, inp["video.0"].numpy(), lines)
    vpv, vgrid = vpv.float(), vgrid.long()
    input_ids, attention_mask = inp["input_ids"], inp["attention_mask"]

    inner = model.model if hasattr(model, "model") and hasattr(model.model, "get_rope_index") else model
    mm = ((input_ids == config.image_token_id).int() + 2 * (input_ids == config.video_token_id).int())
    want_mm = any(accepts(f, "mm_token_type_ids") for f in
                  (getattr(inner, "get_rope_index", None), getattr(inner, "compute_3d_position_ids", None),
                   getattr(inner, "forward", None), model.forward) if f is not None)
    log(lines, f"passing mm_token_type_ids: {want_mm}")

    def forward(pixel_values, image_grid_thw, pixel_values_videos, video_grid_thw):
        rec = Recorder()
        rec.lm(lm)
        rec.post(visual.patch_embed, "patch_embed", append=True)
        for i, blk in enumerate(visual.blocks):
            rec.post(blk, f"blocks.{i}", append=True)
        rec.post(visual.merger, "merged", append=True)
        kw = dict(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values,
                  image_grid_thw=image_grid_thw, pixel_values_videos=pixel_values_videos,
                  video_grid_thw=video_grid_thw, use_cache=False, return_dict=True)
        if want_mm:
            kw["mm_token_type_ids"] = mm
        with torch.no_grad():
            o = model(**tensors_to(kw, device))
            rk = dict(image_grid_thw=image_grid_thw, video_grid_thw=video_grid_thw,
                      attention_mask=attention_mask)
            if accepts(inner.get_rope_index, "mm_token_type_ids"):
                rk["mm_token_type_ids"] = mm
            r = inner.get_rope_index(input_ids.to(device), **tensors_to(rk, device))
            pos, deltas = r if isinstance(r, (tuple, list)) else (r, None)
        rec.close()
        res = dict(rec.t)
        for key in [k for k in res if k.endswith(".mlp.hook_pre")]:
            res[key.replace("hook_pre", "hook_post")] = torch.nn.functional.silu(res[key])
        res["logits"] = o.logits.detach().float().cpu()
        res["position_ids"] = pos.cpu().long()
        rd = getattr(o, "rope_deltas", None)
        rd = rd if rd is not None else deltas
        if rd is not None:
            res["rope_deltas"] = rd.cpu().long().reshape(-1, 1)
        for tag, idx in (("image", 0), ("video", 1)):
            for k, lst in rec.lists.items():
                if len(lst) != 2:
                    raise RuntimeError(f"vision hook {k} fired {len(lst)} times (expected 2)")
                if k == "merged":
                    res[f"visual.{tag}_embeds"] = lst[idx]
                else:
                    res[f"visual.{tag}.{k}"] = lst[idx]
        return res

    hf = forward(pv, igrid, vpv, vgrid)
    hf.update({"pixel_values": pv, "image_grid_thw": igrid, "pixel_values_videos": vpv,
               "video_grid_thw": vgrid, "input_ids": input_ids, "attention_mask": attention_mask,
               "smart_resize_cases": hf_smart_resize_cases(rf["smart_resize_cases"])})
    failed = compare(lines, "qwen2_vl (a) HF processors + HF model vs spec reference", hf, rf, attention_mask)
    pure = forward(rf["pixel_values"], rf["image_grid_thw"], rf["pixel_values_videos"], rf["video_grid_thw"])
    failed += compare(lines, "qwen2_vl (b) HF model on the reference's processor outputs", pure,
                      {k: v for k, v in rf.items() if k not in PROCESSOR_KEYS | MODEL_INPUT_KEYS},
                      attention_mask)
    return hf, failed


# --------------------------------------------------------------------------------------------------
# Qwen2-Audio
# --------------------------------------------------------------------------------------------------

def run_audio(src, out, device, lines):
    from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration, WhisperFeatureExtractor

    config = Qwen2AudioConfig.from_pretrained(src)
    model = make_model(Qwen2AudioForConditionalGeneration, config)
    W = ref.load_safetensors(os.path.join(src, "model.safetensors"))
    load_weights(model, W, "language_model.model.embed_tokens.weight", lines)
    model.to(device)
    lm = find_module(model, ("embed_tokens", "layers", "norm"))
    tower = find_module(model, ("conv1", "conv2", "embed_positions", "layers"))
    projector = getattr(model, "multi_modal_projector", None)
    if projector is None:
        projector = model.model.multi_modal_projector
    head = model.get_output_embeddings().weight
    tied = head.data_ptr() == lm.embed_tokens.weight.data_ptr() or torch.equal(head, lm.embed_tokens.weight)
    log(lines, f"lm_head tied to embed_tokens: {tied}")
    if not tied:
        raise RuntimeError("tie_word_embeddings not honoured: lm_head differs from embed_tokens")

    fe_cfg = json.load(open(os.path.join(src, "preprocessor_config.json")))
    inp = ref.load_safetensors(os.path.join(src, "inputs.safetensors"))
    rf = ref.load_safetensors(os.path.join(src, "expected.safetensors"))
    fe = WhisperFeatureExtractor(feature_size=fe_cfg["feature_size"], sampling_rate=fe_cfg["sampling_rate"],
                                 hop_length=fe_cfg["hop_length"], chunk_length=fe_cfg["chunk_length"],
                                 n_fft=fe_cfg["n_fft"], padding_value=fe_cfg["padding_value"],
                                 return_attention_mask=True)
    wav = inp["waveform.0"].numpy()
    fo = fe(wav, sampling_rate=fe_cfg["sampling_rate"], return_attention_mask=True,
            padding="max_length", return_tensors="pt")
    feats, fmask = fo["input_features"].float(), fo["attention_mask"]
    log(lines, f"WhisperFeatureExtractor: features {list(feats.shape)} mask {fmask.dtype} sum {int(fmask.sum())}")
    try:  # HF's numpy float64 path too, for the record
        padded = np.zeros(fe_cfg["n_samples"], np.float32)
        padded[:wav.size] = wav
        npf = fe._np_extract_fbank_features(padded[None], "cpu")
        npf = torch.as_tensor(np.asarray(npf), dtype=torch.float32)
        log(lines, f"HF numpy-path features vs reference: max abs {float((npf - rf['input_features']).abs().max()):.2e}")
    except Exception as e:  # noqa: BLE001
        log(lines, f"(HF numpy path not available: {e!r})")
    input_ids, attention_mask = inp["input_ids"], inp["attention_mask"]

    def forward(input_features, feature_attention_mask):
        rec = Recorder()
        rec.lm(lm)
        rec.post(tower, "audio_tower.output")
        rec.post(projector, "multi_modal_projector.full")
        kw = dict(input_ids=input_ids, attention_mask=attention_mask, input_features=input_features,
                  feature_attention_mask=feature_attention_mask, use_cache=False, return_dict=True)
        with torch.no_grad():
            o = model(**tensors_to(kw, device))
        rec.close()
        res = dict(rec.t)
        for key in [k for k in res if k.endswith(".mlp.hook_pre")]:
            res[key.replace("hook_pre", "hook_post")] = torch.nn.functional.silu(res[key])
        res["logits"] = o.logits.detach().float().cpu()
        L = feature_attention_mask.sum(-1).long()
        feat_len = (L - 1) // 2 + 1
        out_len = (feat_len - 2) // 2 + 1
        full = res.pop("multi_modal_projector.full")
        res["multi_modal_projector.output"] = torch.cat([full[i, :int(n)] for i, n in enumerate(out_len)])
        res["audio_feat_lengths"], res["audio_output_lengths"] = feat_len, out_len
        B, T = input_ids.shape
        res["position_ids"] = torch.arange(T)[None].expand(B, T).clone()  # HF passes none: 0..L-1
        return res

    hf = forward(feats, fmask)
    hf.update({"input_features": feats, "feature_attention_mask": fmask.to(torch.int32),
               "input_ids": input_ids, "attention_mask": attention_mask})
    failed = compare(lines, "qwen2_audio (a) HF feature extractor + HF model vs spec reference", hf, rf,
                     attention_mask)
    pure = forward(rf["input_features"], rf["feature_attention_mask"])
    failed += compare(lines, "qwen2_audio (b) HF model on the reference's features", pure,
                      {k: v for k, v in rf.items() if k not in PROCESSOR_KEYS | MODEL_INPUT_KEYS},
                      attention_mask)
    return hf, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(HERE, "..", "fixtures", "qwen2"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "fixtures", "qwen2-hf"))
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--only", choices=["qwen2_vl", "qwen2_audio"], default=None)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    import transformers
    all_failed = {}
    for name, fn in (("qwen2_vl", run_vl), ("qwen2_audio", run_audio)):
        if args.only and name != args.only:
            continue
        lines = []
        log(lines, f"=== {name}: transformers {transformers.__version__}, torch {torch.__version__}, "
                   f"device {args.device}")
        src = os.path.abspath(os.path.join(args.src, name))
        dst = os.path.abspath(os.path.join(args.out, name))
        os.makedirs(dst, exist_ok=True)
        try:
            hf, failed = fn(src, dst, args.device, lines)
        except Exception:  # noqa: BLE001  keep going with the other model
            import traceback
            log(lines, traceback.format_exc())
            with open(os.path.join(dst, "compare.txt"), "w") as f:
                f.write("\n".join(lines) + "\n")
            all_failed[name] = "ERROR (see compare.txt)"
            continue
        meta = {"generator": "tests/reference/make_hf_fixtures.py (Hugging Face transformers)",
                "transformers": transformers.__version__, "torch": torch.__version__,
                "device": args.device, "attn_implementation": "eager", "tf32": "off",
                "weights": f"{name}/model.safetensors of the spec fixtures",
                "model_inputs": "this file's processor outputs (HF processors)"}
        ref.save_safetensors(os.path.join(dst, "expected.safetensors"),
                             {k: v.contiguous() for k, v in hf.items()}, meta)
        with open(os.path.join(dst, "compare.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        all_failed[name] = failed
        print(f"wrote {dst}/expected.safetensors")
    print("summary (tensors over tolerance):", all_failed)


if __name__ == "__main__":
    main()
