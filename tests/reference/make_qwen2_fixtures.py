"""Writes tiny random Qwen2-VL and Qwen2-Audio parity fixtures from the spec-written reference.

    /usr/bin/python3 tests/reference/make_qwen2_fixtures.py [--out tests/fixtures/qwen2] [--seed 1234]

For each model, <out>/<model>/ gets: config.json (Hugging Face layout), model.safetensors (hub weight
names, float32), preprocessor_config.json (+ video_preprocessor_config.json for Qwen2-VL),
inputs.safetensors (raw image / video / waveform and token ids) and expected.safetensors (processor
outputs, position ids, activations, logits), computed by tests/reference/qwen2_reference.py.
tests/reference/make_hf_fixtures.py builds the same models with transformers from these files.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qwen2_reference as ref  # noqa: E402

# Special token ids: the real Qwen2 ids minus 151400, so that a vocabulary of 272 holds them.
OFFSET = 151400
ENDOFTEXT, IM_START, IM_END = 151643 - OFFSET, 151644 - OFFSET, 151645 - OFFSET  # 243, 244, 245
AUDIO, AUDIO_BOS, AUDIO_EOS = 151646 - OFFSET, 151647 - OFFSET, 151648 - OFFSET  # 246, 247, 248
VISION_START, VISION_END, VISION_PAD = 151652 - OFFSET, 151653 - OFFSET, 151654 - OFFSET  # 252..254
IMAGE_PAD, VIDEO_PAD = 151655 - OFFSET, 151656 - OFFSET  # 255, 256
NEWLINE = 198
VOCAB = 272


def lm_text_config(model_type, rope_theta, rms_eps, tie, extra=None):
    c = {
        "model_type": model_type,
        "vocab_size": VOCAB,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "hidden_act": "silu",
        "max_position_embeddings": 32768,
        "rms_norm_eps": rms_eps,
        "rope_theta": rope_theta,
        "tie_word_embeddings": tie,
        "use_sliding_window": False,
        "sliding_window": 32768,
        "max_window_layers": 2,
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "use_cache": True,
        "bos_token_id": ENDOFTEXT,
        "eos_token_id": IM_END,
        "torch_dtype": "float32",
    }
    c.update(extra or {})
    return c


def vl_config():
    rope_scaling = {"type": "mrope", "mrope_section": [2, 3, 3]}
    text = lm_text_config("qwen2_vl_text", 1000000.0, 1e-6, False, {"rope_scaling": dict(rope_scaling)})
    flat = {k: v for k, v in text.items() if k != "model_type"}
    cfg = {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        **flat,
        "vision_start_token_id": VISION_START,
        "vision_end_token_id": VISION_END,
        "vision_token_id": VISION_PAD,
        "image_token_id": IMAGE_PAD,
        "video_token_id": VIDEO_PAD,
        "vision_config": {
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": 64,
            "hidden_act": "quick_gelu",
            "mlp_ratio": 4,
            "num_heads": 4,
            "in_chans": 3,
            "in_channels": 3,
            "patch_size": 14,
            "spatial_patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "initializer_range": 0.02,
        },
        "text_config": text,
    }
    return cfg


def audio_config():
    text = lm_text_config("qwen2", 10000.0, 1e-5, True, {"pad_token_id": ENDOFTEXT,
                                                          "max_position_embeddings": 8192,
                                                          "architectures": ["Qwen2ForCausalLM"]})
    return {
        "architectures": ["Qwen2AudioForConditionalGeneration"],
        "model_type": "qwen2_audio",
        "audio_token_index": AUDIO,
        "ignore_index": -100,
        "vocab_size": VOCAB,
        "pad_token_id": ENDOFTEXT,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "audio_config": {
            "model_type": "qwen2_audio_encoder",
            "num_mel_bins": 128,
            "encoder_layers": 2,
            "encoder_attention_heads": 4,
            "encoder_ffn_dim": 64,
            "d_model": 32,
            "dropout": 0.0,
            "attention_dropout": 0.0,
            "activation_dropout": 0.0,
            "activation_function": "gelu",
            "encoder_layerdrop": 0.0,
            "scale_embedding": False,
            "init_std": 0.02,
            "max_source_positions": 1500,
        },
        "text_config": text,
    }


VL_PREPROCESSOR = {
    "processor_class": "Qwen2VLProcessor",
    "image_processor_type": "Qwen2VLImageProcessor",
    "do_resize": True,
    "resample": 3,
    "do_rescale": True,
    "rescale_factor": 0.00392156862745098,
    "do_normalize": True,
    "image_mean": ref.CLIP_MEAN,
    "image_std": ref.CLIP_STD,
    "do_convert_rgb": True,
    "min_pixels": 3136,
    "max_pixels": 12845056,
    "size": {"shortest_edge": 3136, "longest_edge": 12845056},
    "patch_size": 14,
    "temporal_patch_size": 2,
    "merge_size": 2,
}
VL_VIDEO_PREPROCESSOR = dict(VL_PREPROCESSOR, video_processor_type="Qwen2VLVideoProcessor",
                             do_sample_frames=False)
VL_VIDEO_PREPROCESSOR.pop("image_processor_type")

AUDIO_PREPROCESSOR = {
    "processor_class": "Qwen2AudioProcessor",
    "feature_extractor_type": "WhisperFeatureExtractor",
    "feature_size": 128,
    "sampling_rate": 16000,
    "hop_length": 160,
    "chunk_length": 30,
    "n_fft": 400,
    "n_samples": 480000,
    "nb_max_frames": 3000,
    "padding_side": "right",
    "padding_value": 0.0,
    "return_attention_mask": True,
    "dither": 0.0,
}


class Init:
    """Deterministic non-trivial init: std chosen per tensor, norms != 1, biases != 0."""

    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)

    def normal(self, shape, std, mean=0.0):
        return torch.randn(*shape, generator=self.g) * std + mean

    def linear(self, W, name, out_f, in_f, bias=True, gain=0.9):
        W[name + ".weight"] = self.normal((out_f, in_f), gain / in_f ** 0.5)
        if bias:
            W[name + ".bias"] = self.normal((out_f,), 0.05)

    def layer_norm(self, W, name, dim):
        W[name + ".weight"] = self.normal((dim,), 0.1, 1.0)
        W[name + ".bias"] = self.normal((dim,), 0.05)

    def rms_norm(self, W, name, dim):
        W[name + ".weight"] = self.normal((dim,), 0.1, 1.0)


def qwen2_lm_weights(init, W, prefix, tcfg, head_name):
    H, I, V = tcfg["hidden_size"], tcfg["intermediate_size"], tcfg["vocab_size"]
    hd = H // tcfg["num_attention_heads"]
    kv = tcfg["num_key_value_heads"] * hd
    W[prefix + "embed_tokens.weight"] = init.normal((V, H), 0.5)
    for i in range(tcfg["num_hidden_layers"]):
        p = f"{prefix}layers.{i}."
        init.rms_norm(W, p + "input_layernorm", H)
        init.linear(W, p + "self_attn.q_proj", H, H, gain=1.6)
        init.linear(W, p + "self_attn.k_proj", kv, H, gain=1.6)
        init.linear(W, p + "self_attn.v_proj", kv, H)
        init.linear(W, p + "self_attn.o_proj", H, H, bias=False)
        init.rms_norm(W, p + "post_attention_layernorm", H)
        init.linear(W, p + "mlp.gate_proj", I, H, bias=False, gain=1.5)
        init.linear(W, p + "mlp.up_proj", I, H, bias=False, gain=1.5)
        init.linear(W, p + "mlp.down_proj", H, I, bias=False)
    init.rms_norm(W, prefix + "norm", H)
    if not tcfg["tie_word_embeddings"]:
        W[head_name] = init.normal((V, H), 0.1)


def vl_weights(cfg, seed):
    init = Init(seed)
    W = {}
    tcfg = cfg["text_config"]
    qwen2_lm_weights(init, W, "model.", tcfg, "lm_head.weight")
    v = cfg["vision_config"]
    E, p, T = v["embed_dim"], v["patch_size"], v["temporal_patch_size"]
    W["visual.patch_embed.proj.weight"] = init.normal((E, v["in_channels"], T, p, p),
                                                      1.5 / (3 * T * p * p) ** 0.5)
    for i in range(v["depth"]):
        b = f"visual.blocks.{i}."
        init.layer_norm(W, b + "norm1", E)
        init.linear(W, b + "attn.qkv", 3 * E, E, gain=1.6)
        init.linear(W, b + "attn.proj", E, E)
        init.layer_norm(W, b + "norm2", E)
        init.linear(W, b + "mlp.fc1", E * v["mlp_ratio"], E, gain=1.5)
        init.linear(W, b + "mlp.fc2", E, E * v["mlp_ratio"])
    m = v["spatial_merge_size"] ** 2 * E
    init.layer_norm(W, "visual.merger.ln_q", E)
    init.linear(W, "visual.merger.mlp.0", m, m, gain=1.5)
    init.linear(W, "visual.merger.mlp.2", v["hidden_size"], m)
    return W


def audio_weights(cfg, seed):
    init = Init(seed)
    W = {}
    a = cfg["audio_config"]
    D, M, Fd = a["d_model"], a["num_mel_bins"], a["encoder_ffn_dim"]
    W["audio_tower.conv1.weight"] = init.normal((D, M, 3), 1.2 / (3 * M) ** 0.5)
    W["audio_tower.conv1.bias"] = init.normal((D,), 0.05)
    W["audio_tower.conv2.weight"] = init.normal((D, D, 3), 1.2 / (3 * D) ** 0.5)
    W["audio_tower.conv2.bias"] = init.normal((D,), 0.05)
    W["audio_tower.embed_positions.weight"] = init.normal((a["max_source_positions"], D), 0.2)
    for i in range(a["encoder_layers"]):
        p = f"audio_tower.layers.{i}."
        init.layer_norm(W, p + "self_attn_layer_norm", D)
        init.linear(W, p + "self_attn.q_proj", D, D, gain=1.6)
        init.linear(W, p + "self_attn.k_proj", D, D, bias=False, gain=1.6)
        init.linear(W, p + "self_attn.v_proj", D, D)
        init.linear(W, p + "self_attn.out_proj", D, D)
        init.layer_norm(W, p + "final_layer_norm", D)
        init.linear(W, p + "fc1", Fd, D, gain=1.5)
        init.linear(W, p + "fc2", D, Fd)
    init.layer_norm(W, "audio_tower.layer_norm", D)
    init.linear(W, "multi_modal_projector.linear", cfg["text_config"]["hidden_size"], D)
    qwen2_lm_weights(init, W, "language_model.model.", cfg["text_config"], "language_model.lm_head.weight")
    return W


def test_image(h, w, seed):
    """Structured RGB uint8 image: gradients, a disc, stripes, a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    gch = 255 * (0.5 + 0.5 * np.sin(y / 3.0 + x / 7.0))
    disc = ((y - h * 0.45) ** 2 + (x - w * 0.6) ** 2) < (min(h, w) * 0.3) ** 2
    b = np.where(disc, 230.0, 40.0) + 30 * ((x // 4 + y // 4) % 2)
    img = np.stack([r, gch, b], -1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def test_video(frames, h, w, seed):
    """A bright square moving over a textured background."""
    rng = np.random.default_rng(seed)
    base = test_image(h, w, seed + 1).astype(np.int32)
    out = []
    for f in range(frames):
        fr = base.copy()
        y0, x0 = 6 + 5 * f, 8 + 12 * f
        fr[y0:y0 + 14, x0:x0 + 16] = [250, 240 - 30 * f, 20 + 40 * f]
        fr = fr + rng.integers(-4, 5, fr.shape)
        out.append(np.clip(fr, 0, 255).astype(np.uint8))
    return np.stack(out, 0)


def test_waveform(n, sr=16000, seed=7):
    """Deterministic 1.3 s signal: a chirp with harmonics, an envelope, a click train and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    f0 = 200 + 1400 * t  # chirp 200 -> ~2020 Hz
    phase = 2 * np.pi * np.cumsum(f0) / sr
    sig = 0.35 * np.sin(phase) + 0.12 * np.sin(2 * phase + 0.3) + 0.06 * np.sin(3.5 * phase)
    sig *= 0.6 + 0.4 * np.sin(2 * np.pi * 2.5 * t) ** 2
    sig[(np.arange(n) % 3200) < 40] += 0.5
    sig += 0.02 * rng.standard_normal(n)
    return sig.astype(np.float32)


def expand_and_pad(prompts, counts_per_prompt, pad_id):
    """Processor expansion: each pad placeholder becomes `n` copies; right-pad to the longest."""
    seqs = []
    for prompt, counts in zip(prompts, counts_per_prompt):
        counts = list(counts)
        s = []
        for tok in prompt:
            if tok in (IMAGE_PAD, VIDEO_PAD, AUDIO):
                s += [tok] * counts.pop(0)
            else:
                s.append(tok)
        assert not counts
        seqs.append(s)
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad_id, dtype=torch.int64)
    mask = torch.zeros((len(seqs), L), dtype=torch.int64)
    for b, s in enumerate(seqs):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = 1
    return ids, mask


def smart_resize_cases(pp):
    sizes = [(45, 61), (30, 64), (42, 70), (28, 28), (14, 30), (70, 42), (1000, 2000), (5000, 4000),
             (3, 500)]
    rows = []
    for mn, mx in [(pp["min_pixels"], pp["max_pixels"]), (3136, 6272), (100352, 602112)]:
        for h, w in sizes:
            ho, wo = ref.smart_resize(h, w, 28, mn, mx)
            rows.append([h, w, mn, mx, ho, wo])
    return torch.tensor(rows, dtype=torch.int64)


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def make_vl(out_dir, seed):
    cfg = vl_config()
    W = vl_weights(cfg, seed)
    pp = VL_PREPROCESSOR
    images = [test_image(45, 61, seed + 10), test_image(30, 64, seed + 11)]
    video = test_video(4, 42, 70, seed + 12)
    pixel_values, image_grid_thw = ref.process_images(images, pp)
    pixel_values_videos, video_grid_thw = ref.process_videos([list(video)], pp)
    n_img = [ref.num_vision_tokens(g) for g in image_grid_thw]
    n_vid = [ref.num_vision_tokens(g) for g in video_grid_thw]
    prompts = [
        [IM_START, 17, NEWLINE, VISION_START, IMAGE_PAD, VISION_END, 30, 31, 32,
         VISION_START, VIDEO_PAD, VISION_END, 40, 41, 42, IM_END],
        [IM_START, 17, NEWLINE, 50, VISION_START, IMAGE_PAD, VISION_END, 51, 52, IM_END],
    ]
    input_ids, attention_mask = expand_and_pad(prompts, [[n_img[0], n_vid[0]], [n_img[1]]], ENDOFTEXT)
    with torch.no_grad():
        o = ref.qwen2vl_forward(W, cfg, input_ids, attention_mask, pixel_values, image_grid_thw,
                                pixel_values_videos, video_grid_thw)
    inputs = {"image.0": torch.from_numpy(images[0]), "image.1": torch.from_numpy(images[1]),
              "video.0": torch.from_numpy(video), "input_ids": input_ids,
              "attention_mask": attention_mask}
    for b, p in enumerate(prompts):
        inputs[f"prompt_ids.{b}"] = torch.tensor(p, dtype=torch.int64)
    expected = {"pixel_values": pixel_values, "image_grid_thw": image_grid_thw,
                "pixel_values_videos": pixel_values_videos, "video_grid_thw": video_grid_thw,
                "input_ids": input_ids, "attention_mask": attention_mask,
                "smart_resize_cases": smart_resize_cases(pp)}
    expected.update(o)
    return cfg, W, pp, inputs, expected


def make_audio(out_dir, seed):
    cfg = audio_config()
    W = audio_weights(cfg, seed)
    fe = AUDIO_PREPROCESSOR
    wav = test_waveform(20837)  # 1.302 s at 16 kHz (not a multiple of hop 160: 131 mask frames)
    input_features, feature_attention_mask = ref.whisper_features([wav], fe, path="numpy")
    _, n_tok = ref.audio_lengths(int(feature_attention_mask.sum()))
    prompts = [
        [IM_START, 17, NEWLINE, AUDIO_BOS, AUDIO, AUDIO_EOS, 60, 61, 62, IM_END, NEWLINE],
        [IM_START, 17, NEWLINE, 70, 71, 72, 73, IM_END],
    ]
    input_ids, attention_mask = expand_and_pad(prompts, [[n_tok], []], ENDOFTEXT)
    with torch.no_grad():
        o = ref.qwen2audio_forward(W, cfg, input_ids, attention_mask, input_features,
                                   feature_attention_mask)
        enc = ref.audio_encoder(W, cfg["audio_config"], input_features, feature_attention_mask)
    inputs = {"waveform.0": torch.from_numpy(wav), "input_ids": input_ids,
              "attention_mask": attention_mask}
    for b, p in enumerate(prompts):
        inputs[f"prompt_ids.{b}"] = torch.tensor(p, dtype=torch.int64)
    expected = {"input_features": input_features, "feature_attention_mask": feature_attention_mask,
                "input_ids": input_ids, "attention_mask": attention_mask,
                "audio_feat_lengths": enc["audio_feat_lengths"],
                "audio_output_lengths": enc["audio_output_lengths"]}
    # float32 torch-STFT features (HF's default path when torch is importable): only the difference
    # is recorded, as metadata, to keep the fixture small.
    ft, _ = ref.whisper_features([wav], fe, path="torch")
    expected.update(o)
    return cfg, W, fe, inputs, expected, float((ft - input_features).abs().max())


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.join(here, "..", "fixtures", "qwen2"))
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = os.path.abspath(args.out)
    meta = {"generator": "tests/reference/make_qwen2_fixtures.py (spec-written reference)",
            "seed": args.seed, "torch": torch.__version__, "numpy": np.__version__}

    d = os.path.join(out, "qwen2_vl")
    os.makedirs(d, exist_ok=True)
    cfg, W, pp, inputs, expected = make_vl(d, args.seed)
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "preprocessor_config.json"), pp)
    write_json(os.path.join(d, "video_preprocessor_config.json"), VL_VIDEO_PREPROCESSOR)
    ref.save_safetensors(os.path.join(d, "model.safetensors"), W, {"format": "pt"})
    ref.save_safetensors(os.path.join(d, "inputs.safetensors"), inputs, meta)
    ref.save_safetensors(os.path.join(d, "expected.safetensors"), expected, meta)

    d = os.path.join(out, "qwen2_audio")
    os.makedirs(d, exist_ok=True)
    cfg, W, fe, inputs, expected, torch_diff = make_audio(d, args.seed + 1)
    write_json(os.path.join(d, "config.json"), cfg)
    write_json(os.path.join(d, "preprocessor_config.json"), fe)
    ref.save_safetensors(os.path.join(d, "model.safetensors"), W, {"format": "pt"})
    ref.save_safetensors(os.path.join(d, "inputs.safetensors"), inputs, dict(meta, seed=args.seed + 1))
    ref.save_safetensors(os.path.join(d, "expected.safetensors"), expected,
                         dict(meta, seed=args.seed + 1,
                              input_features_path="numpy float64 STFT, cast to float32 after log10",
                              torch_float32_stft_max_abs_diff=f"{torch_diff:.3e}"))

    total = 0
    for sub in ("qwen2_vl", "qwen2_audio"):
        for name in sorted(os.listdir(os.path.join(out, sub))):
            size = os.path.getsize(os.path.join(out, sub, name))
            total += size
            print(f"{sub}/{name}: {size} bytes")
        exp = ref.load_safetensors(os.path.join(out, sub, "expected.safetensors"))
        for k in sorted(exp):
            print(f"    {k}: {str(exp[k].dtype).replace('torch.', '')} {list(exp[k].shape)}")
    print(f"total {total} bytes; whisper torch-f32 vs numpy-f64 features max abs diff {torch_diff:.3e}")


if __name__ == "__main__":
    main()
