"""Specification-written PyTorch reference of Hugging Face's Qwen2-VL and Qwen2-Audio (float32).

Independent re-implementation from the published architecture facts (docs/reference-notes section 7.3
and Hugging Face transformers' behaviour, read for facts, not copied). It is the numerical oracle for
ClearSight's C++ Qwen2-VL / Qwen2-Audio (issue #19) until fixtures made by transformers itself exist
(tests/reference/make_hf_fixtures.py).

Everything works on plain dicts of tensors keyed by the hub's weight names, and on config dicts in the
Hugging Face config.json layout, so nothing here depends on transformers or safetensors.

Contents
  * safetensors read/write by hand                   load_safetensors, save_safetensors
  * Qwen2-VL image/video processor                   smart_resize, process_images, process_videos
  * Whisper log-mel features (numpy float64 path, and HF's torch float32 path)   whisper_features
  * Qwen2 decoder (RMSNorm, GQA, q/k/v bias, SwiGLU), 1-D RoPE and M-RoPE        qwen2_decoder
  * get_rope_index (3-D positions + rope deltas)     get_rope_index
  * Qwen2-VL vision tower (patch embed, 2-D rotary, block-diagonal attention, merger)   vision_tower
  * Qwen2-Audio encoder + projector                   audio_encoder
  * full forwards with every activation the C++ side checks:  qwen2vl_forward, qwen2audio_forward

Run `python3 tests/reference/qwen2_reference.py` to run the self-checks.
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------------
# safetensors (hand-written; format: u64-LE header length, JSON header, raw little-endian data)
# --------------------------------------------------------------------------------------------------

_ST_TO_NP = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64,
             "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_TORCH_TO_ST = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16",
                torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
                torch.uint8: "U8", torch.bool: "BOOL"}


def load_safetensors(path, with_metadata=False):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dt = np.dtype(_ST_TO_NP[info["dtype"]]).newbyteorder("<")
        arr = np.frombuffer(data, dtype=dt, count=(end - begin) // dt.itemsize, offset=base + begin)
        out[name] = torch.from_numpy(arr.reshape(info["shape"]).astype(dt.newbyteorder("="))
                                     .copy())
    if with_metadata:
        return out, header.get("__metadata__", {})
    return out


def save_safetensors(path, tensors, metadata=None):
    """Writes tensors (dict name -> torch.Tensor) sorted by name, 8-byte aligned header."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        arr = t.numpy()
        raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hdr = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hdr += b" " * ((8 - len(hdr) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for b in blobs:
            f.write(b)


# --------------------------------------------------------------------------------------------------
# Qwen2-VL image / video processor
# --------------------------------------------------------------------------------------------------

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def smart_resize(height, width, factor=28, min_pixels=56 * 56, max_pixels=14 * 14 * 4 * 1280):
    """Target (height, width): multiples of `factor`, area within [min_pixels, max_pixels].

    Python's round() (round half to even) as in HF; then, if the area is too large, floor after
    dividing by beta = sqrt(h*w/max_pixels) (at least one factor); if too small, ceil after
    multiplying by beta = sqrt(min_pixels/(h*w)).
    """
    if max(height, width) / min(height, width) > 200:
        raise ValueError("absolute aspect ratio must be smaller than 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _pil_bicubic(frame_hwc_uint8, height, width):
    from PIL import Image
    img = Image.fromarray(np.ascontiguousarray(frame_hwc_uint8), mode="RGB")
    out = img.resize((width, height), resample=Image.BICUBIC, reducing_gap=None)
    return np.asarray(out, dtype=np.uint8)


def _pp_get(pp, key, default):
    return pp[key] if (pp is not None and key in pp and pp[key] is not None) else default


def process_frames(frames, pp=None):
    """One image (1 frame) or one video (list of frames) -> (patches [N, C*T*p*p] float32, (t,h,w)).

    frames: list of H x W x 3 uint8 arrays, all of the same size.
    Steps (HF Qwen2VLImageProcessor, PIL backend): smart_resize(factor = patch*merge) -> PIL bicubic on
    the uint8 RGB image -> float64(x) * rescale_factor cast to float32 -> (x - mean) / std in float32
    -> channels first -> frames padded to a multiple of temporal_patch_size by repeating the last frame
    (a still image becomes 2 identical frames) -> patchify.

    Patch order: (grid_t, grid_h/m, grid_w/m, m, m) row-major, i.e. each m x m merge window is
    contiguous, windows in raster order, frames (temporal groups) outermost. Values inside a patch:
    (C, T, p, p) row-major, the Conv3d weight's [C, kT, kH, kW] order.
    """
    patch = _pp_get(pp, "patch_size", 14)
    tps = _pp_get(pp, "temporal_patch_size", 2)
    merge = _pp_get(pp, "merge_size", 2)
    min_pixels = _pp_get(pp, "min_pixels", 56 * 56)
    max_pixels = _pp_get(pp, "max_pixels", 28 * 28 * 1280)
    mean = np.array(_pp_get(pp, "image_mean", CLIP_MEAN), dtype=np.float32)
    std = np.array(_pp_get(pp, "image_std", CLIP_STD), dtype=np.float32)
    rescale = _pp_get(pp, "rescale_factor", 1.0 / 255.0)
    do_resize = _pp_get(pp, "do_resize", True)

    h0, w0 = frames[0].shape[:2]
    if do_resize:
        rh, rw = smart_resize(h0, w0, factor=patch * merge, min_pixels=min_pixels,
                              max_pixels=max_pixels)
    else:
        rh, rw = h0, w0
    chw = []
    for fr in frames:
        assert fr.shape == frames[0].shape and fr.dtype == np.uint8 and fr.shape[2] == 3
        x = _pil_bicubic(fr, rh, rw) if do_resize else fr
        x = (x.astype(np.float64) * rescale).astype(np.float32)
        x = (x - mean) / std
        chw.append(x.transpose(2, 0, 1))
    v = np.stack(chw, axis=0)  # [T, C, H, W]
    if v.shape[0] % tps != 0:
        rep = np.repeat(v[-1:], tps - v.shape[0] % tps, axis=0)
        v = np.concatenate([v, rep], axis=0)
    c = v.shape[1]
    gt, gh, gw = v.shape[0] // tps, rh // patch, rw // patch
    v = v.reshape(gt, tps, c, gh // merge, merge, patch, gw // merge, merge, patch)
    # -> [gt, gh/m, gw/m, m(h), m(w), C, T, p(h), p(w)]
    v = v.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = np.ascontiguousarray(v.reshape(gt * gh * gw, c * tps * patch * patch))
    return flat.astype(np.float32), (gt, gh, gw)


def process_images(images, pp=None):
    """images: list of H x W x 3 uint8. Returns pixel_values [sum N_i, 1176] f32, image_grid_thw [n,3] i64."""
    pv, grids = [], []
    for im in images:
        p, g = process_frames([im], pp)
        pv.append(p)
        grids.append(g)
    return torch.from_numpy(np.concatenate(pv, 0)), torch.tensor(grids, dtype=torch.int64)


def process_videos(videos, pp=None):
    """videos: list of lists of frames (H x W x 3 uint8). Returns pixel_values_videos, video_grid_thw."""
    pv, grids = [], []
    for frames in videos:
        p, g = process_frames(list(frames), pp)
        pv.append(p)
        grids.append(g)
    return torch.from_numpy(np.concatenate(pv, 0)), torch.tensor(grids, dtype=torch.int64)


def num_vision_tokens(grid_thw, merge_size=2):
    t, h, w = [int(x) for x in grid_thw]
    return t * h * w // (merge_size * merge_size)


# --------------------------------------------------------------------------------------------------
# Whisper log-mel features
# --------------------------------------------------------------------------------------------------

def hertz_to_mel_slaney(freq):
    freq = np.asarray(freq, dtype=np.float64)
    mels = 3.0 * freq / 200.0
    logstep = 27.0 / np.log(6.4)
    return np.where(freq >= 1000.0, 15.0 + np.log(np.maximum(freq, 1e-300) / 1000.0) * logstep, mels)


def mel_to_hertz_slaney(mels):
    mels = np.asarray(mels, dtype=np.float64)
    freq = 200.0 * mels / 3.0
    return np.where(mels >= 15.0, 1000.0 * np.exp(np.log(6.4) * (mels - 15.0) / 27.0), freq)


def mel_filter_bank(num_frequency_bins=201, num_mel_filters=128, min_frequency=0.0,
                    max_frequency=8000.0, sampling_rate=16000):
    """Slaney mel scale, Slaney area normalisation; returns [num_frequency_bins, num_mel_filters] f64."""
    mel_min = hertz_to_mel_slaney(min_frequency)
    mel_max = hertz_to_mel_slaney(max_frequency)
    mel_freqs = np.linspace(mel_min, mel_max, num_mel_filters + 2)
    filter_freqs = mel_to_hertz_slaney(mel_freqs)
    fft_freqs = np.linspace(0, sampling_rate // 2, num_frequency_bins)
    diff = np.diff(filter_freqs)
    slopes = filter_freqs[None, :] - fft_freqs[:, None]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    fb = np.maximum(0.0, np.minimum(down, up))
    enorm = 2.0 / (filter_freqs[2:num_mel_filters + 2] - filter_freqs[:num_mel_filters])
    return fb * enorm[None, :]


def periodic_hann(n):
    return np.hanning(n + 1)[:-1]


def log_mel_numpy(waveform, n_fft=400, hop_length=160, mel_filters=None):
    """HF's numpy path (`_np_extract_fbank_features` + audio_utils.spectrogram): float64 internally.

    waveform: 1-D float32 (already padded to n_samples). Returns [n_mels, frames] float32 where
    frames = len // hop (the last STFT frame is dropped).
    """
    x = np.pad(np.asarray(waveform, dtype=np.float32), (n_fft // 2, n_fft // 2), mode="reflect")
    x = x.astype(np.float64)
    win = periodic_hann(n_fft).astype(np.float64)
    n_frames = int(1 + np.floor((x.size - n_fft) / hop_length))
    idx = np.arange(n_fft)[None, :] + hop_length * np.arange(n_frames)[:, None]
    spec = np.fft.rfft(x[idx] * win[None, :], axis=-1).astype(np.complex64)  # HF stores complex64
    power = np.abs(spec, dtype=np.float64) ** 2.0  # [frames, bins]
    mel = np.maximum(1e-10, mel_filters.T @ power.T)  # [n_mels, frames] f64
    log_spec = np.log10(mel).astype(np.float32)
    log_spec = log_spec[:, :-1]
    thr = np.float32(log_spec.max()) - np.float32(8.0)
    log_spec = np.maximum(log_spec, thr)
    return ((log_spec + np.float32(4.0)) / np.float32(4.0)).astype(np.float32)


def log_mel_torch(waveform, n_fft=400, hop_length=160, mel_filters=None):
    """HF's default path when torch is importable (`_torch_extract_fbank_features`): float32 STFT."""
    w = torch.as_tensor(np.asarray(waveform, dtype=np.float32))
    window = torch.hann_window(n_fft)
    stft = torch.stft(w, n_fft, hop_length, window=window, return_complex=True)
    mag = stft[..., :-1].abs() ** 2
    filt = torch.from_numpy(mel_filters).to(torch.float32)
    mel = filt.T @ mag
    log_spec = torch.clamp(mel, min=1e-10).log10()
    log_spec = torch.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).numpy()


def whisper_features(waveforms, fe=None, path="numpy"):
    """waveforms: list of 1-D float arrays at 16 kHz. Returns (input_features [B, n_mels, nb_frames] f32,
    feature_attention_mask [B, nb_frames] int32).

    Each waveform is cast to float32, truncated / right-padded with padding_value to n_samples; the
    sample mask (1 for real samples) is subsampled every hop_length samples, so the mask holds
    ceil(len / hop) ones (one fewer if n_samples % hop != 0 is ever configured).
    """
    n_fft = _pp_get(fe, "n_fft", 400)
    hop = _pp_get(fe, "hop_length", 160)
    sr = _pp_get(fe, "sampling_rate", 16000)
    n_mels = _pp_get(fe, "feature_size", 128)
    n_samples = _pp_get(fe, "n_samples", _pp_get(fe, "chunk_length", 30) * sr)
    pad_value = _pp_get(fe, "padding_value", 0.0)
    filt = mel_filter_bank(1 + n_fft // 2, n_mels, 0.0, 8000.0, sr)
    feats, masks = [], []
    for wav in waveforms:
        wav = np.asarray(wav, dtype=np.float32)[:n_samples]
        padded = np.full(n_samples, pad_value, dtype=np.float32)
        padded[:wav.size] = wav
        smask = np.zeros(n_samples, dtype=np.int32)
        smask[:wav.size] = 1
        fn = log_mel_numpy if path == "numpy" else log_mel_torch
        feats.append(fn(padded, n_fft, hop, filt))
        m = smask[::hop]
        if n_samples % hop != 0:
            m = m[:-1]
        masks.append(m)
    return torch.from_numpy(np.stack(feats, 0)), torch.from_numpy(np.stack(masks, 0))


def audio_lengths(mel_frames):
    """(conv2 output length, audio token count) for L valid mel frames: ((L-1)//2+1, ((L-1)//2+1-2)//2+1)."""
    conv = (mel_frames - 1) // 2 + 1
    return conv, (conv - 2) // 2 + 1


# --------------------------------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------------------------------

def linear(x, w, b=None):
    return F.linear(x, w, b)


def rms_norm(x, w, eps):
    xf = x.to(torch.float32)
    var = xf.pow(2).mean(-1, keepdim=True)
    return w * (xf * torch.rsqrt(var + eps)).to(x.dtype)


def layer_norm(x, w, b, eps):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu(x):
    return F.gelu(x)  # exact (erf) GELU, HF "gelu" and nn.GELU()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rope_inv_freq(dim, theta):
    return 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def rope_cos_sin(position_ids, inv_freq):
    """position_ids [..., L] (int) -> cos, sin [..., L, 2*len(inv_freq)] float32 (rotate_half layout)."""
    freqs = position_ids.to(torch.float32)[..., None] * inv_freq  # [..., L, D/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def mrope_select(cos3, sin3, mrope_section):
    """cos3/sin3 [3, B, L, D] -> [B, L, D]: split D into chunks mrope_section*2 ([2,3,3,2,3,3] for
    [2,3,3]); chunk i takes position axis i % 3 (0 = t, 1 = h, 2 = w)."""
    sec = list(mrope_section) * 2
    cos = torch.cat([c[i % 3] for i, c in enumerate(cos3.split(sec, dim=-1))], dim=-1)
    sin = torch.cat([s[i % 3] for i, s in enumerate(sin3.split(sec, dim=-1))], dim=-1)
    return cos, sin


def apply_rope(x, cos, sin):
    """x [B, H, L, D]; cos/sin [B, L, D]."""
    return x * cos[:, None] + rotate_half(x) * sin[:, None]


def causal_padding_mask(attention_mask, L, dtype=torch.float32):
    """Additive [B, 1, L, L] mask: key j visible to query i iff j <= i and attention_mask[b, j] == 1
    (HF eager convention: finfo.min where masked)."""
    B = attention_mask.shape[0]
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    allowed = causal[None] & attention_mask.bool()[:, None, :]
    m = torch.zeros(B, 1, L, L, dtype=dtype)
    return m.masked_fill(~allowed[:, None], torch.finfo(dtype).min)


def attention(q, k, v, add_mask, scaling):
    """q [B,H,L,D], k/v [B,Hkv,L,D] (GQA: kv head j serves query heads j*g .. j*g+g-1)."""
    g = q.shape[1] // k.shape[1]
    if g > 1:
        k = k.repeat_interleave(g, dim=1)
        v = v.repeat_interleave(g, dim=1)
    s = torch.matmul(q, k.transpose(-1, -2)) * scaling
    if add_mask is not None:
        s = s + add_mask
    p = torch.softmax(s, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(p, v)


# --------------------------------------------------------------------------------------------------
# Qwen2 decoder
# --------------------------------------------------------------------------------------------------

def text_cfg_of(cfg):
    """The LM part of a config dict: text_config if present, with flat top-level keys as fallback."""
    tc = dict(cfg.get("text_config") or {})
    for k, v in cfg.items():
        if k not in tc and k not in ("vision_config", "audio_config", "text_config"):
            tc[k] = v
    return tc


def qwen2_decoder(W, prefix, tcfg, inputs_embeds, attention_mask, cos, sin, lm_head_name):
    """Qwen2 decoder over inputs_embeds [B, L, H] with per-token cos/sin [B, L, head_dim].

    W: weights; prefix: e.g. 'model.' (-> 'model.layers.N.*', 'model.norm.weight') or
    'language_model.model.'. Returns dict of activations; names follow ClearSight's hooks.
    """
    H = tcfg["hidden_size"]
    nh = tcfg["num_attention_heads"]
    nkv = tcfg.get("num_key_value_heads", nh)
    hd = H // nh
    eps = tcfg.get("rms_norm_eps", 1e-6)
    B, L, _ = inputs_embeds.shape
    mask = causal_padding_mask(attention_mask, L)
    out = {"hook_embed": inputs_embeds}
    x = inputs_embeds
    for i in range(tcfg["num_hidden_layers"]):
        p = f"{prefix}layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps)
        q = linear(h, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"])
        k = linear(h, W[p + "self_attn.k_proj.weight"], W[p + "self_attn.k_proj.bias"])
        v = linear(h, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"])
        q = q.view(B, L, nh, hd).transpose(1, 2)
        k = k.view(B, L, nkv, hd).transpose(1, 2)
        v = v.view(B, L, nkv, hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        a = attention(q, k, v, mask, hd ** -0.5)
        a = a.transpose(1, 2).reshape(B, L, nh * hd)
        x = x + linear(a, W[p + "self_attn.o_proj.weight"])
        out[f"blocks.{i}.hook_resid_mid"] = x
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps)
        # MINER's neuron is the activation SiLU(gate_proj(x)) before the multiply with up_proj(x)
        # (ClearSight's mlp.hook_post); mlp.hook_pre is gate_proj(x).
        gate = linear(h, W[p + "mlp.gate_proj.weight"])
        out[f"blocks.{i}.mlp.hook_pre"] = gate
        act = F.silu(gate)
        out[f"blocks.{i}.mlp.hook_post"] = act
        x = x + linear(act * linear(h, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
        out[f"blocks.{i}.hook_resid_post"] = x
    x = rms_norm(x, W[prefix + "norm.weight"], eps)
    out["ln_final.hook_normalized"] = x
    out["logits"] = linear(x, W[lm_head_name])
    return out


def lm_head_weight_name(W, tcfg, head_name, embed_name):
    if head_name in W:
        return head_name
    if tcfg.get("tie_word_embeddings", False):
        return embed_name
    raise KeyError(f"{head_name} missing and tie_word_embeddings is false")


# --------------------------------------------------------------------------------------------------
# Qwen2-VL: 3-D rope index
# --------------------------------------------------------------------------------------------------

def get_rope_index(input_ids, image_grid_thw, video_grid_thw, attention_mask, cfg):
    """HF Qwen2-VL get_rope_index. Returns position_ids [3, B, L] int64 and rope_deltas [B, 1] int64.

    Per sequence, over its attention_mask == 1 tokens: text tokens get t = h = w = running index; a
    vision block (the image/video pad tokens, found after each vision_start token, images and
    videos consumed in order of appearance, grids taken in order across the batch) starts at
    s = (previous max + 1) and token (ti, hi, wi) of the merged grid (t, h/m, w/m) gets
    (s + ti, s + hi, s + wi); text after a block resumes at max + 1. Padding positions keep 1.
    rope_delta = max position + 1 - L (L = the padded length). Without any grid: cumsum of the mask.
    """
    merge = cfg["vision_config"].get("spatial_merge_size", 2)
    img_id, vid_id = cfg["image_token_id"], cfg["video_token_id"]
    vs_id = cfg["vision_start_token_id"]
    B, L = input_ids.shape
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    if image_grid_thw is None and video_grid_thw is None:
        pos = attention_mask.long().cumsum(-1) - 1
        pos = pos.masked_fill(attention_mask == 0, 1)
        pos3 = pos[None].expand(3, B, L).clone()
        deltas = pos3.max(0)[0].max(-1, keepdim=True)[0] + 1 - L
        return pos3, deltas
    position_ids = torch.ones(3, B, L, dtype=torch.int64)
    deltas = []
    ii, vi = 0, 0
    for b in range(B):
        ids = input_ids[b][attention_mask[b] == 1].tolist()
        starts = [j for j, t in enumerate(ids) if t == vs_id]
        after = [ids[j + 1] for j in starts if j + 1 < len(ids)]
        n_img, n_vid = after.count(img_id), after.count(vid_id)
        pieces = []
        st = 0
        rem_i, rem_v = n_img, n_vid
        for _ in range(n_img + n_vid):
            ed_i = ids.index(img_id, st) if (rem_i > 0 and img_id in ids[st:]) else len(ids) + 1
            ed_v = ids.index(vid_id, st) if (rem_v > 0 and vid_id in ids[st:]) else len(ids) + 1
            if ed_i < ed_v:
                t, h, w = [int(x) for x in image_grid_thw[ii]]
                ii += 1
                rem_i -= 1
                ed = ed_i
            else:
                t, h, w = [int(x) for x in video_grid_thw[vi]]
                vi += 1
                rem_v -= 1
                ed = ed_v
            gt, gh, gw = t, h // merge, w // merge
            text_len = ed - st
            s0 = int(pieces[-1].max()) + 1 if pieces else 0
            pieces.append(torch.arange(text_len).view(1, -1).expand(3, -1) + s0)
            ti = torch.arange(gt).view(-1, 1).expand(-1, gh * gw).flatten()
            hi = torch.arange(gh).view(1, -1, 1).expand(gt, -1, gw).flatten()
            wi = torch.arange(gw).view(1, 1, -1).expand(gt, gh, -1).flatten()
            pieces.append(torch.stack([ti, hi, wi]) + text_len + s0)
            st = ed + gt * gh * gw
        if st < len(ids):
            s0 = int(pieces[-1].max()) + 1 if pieces else 0
            pieces.append(torch.arange(len(ids) - st).view(1, -1).expand(3, -1) + s0)
        llm = torch.cat(pieces, dim=1).reshape(3, -1).to(torch.int64)
        position_ids[:, b, attention_mask[b] == 1] = llm
        deltas.append(int(llm.max()) + 1 - L)
    return position_ids, torch.tensor(deltas, dtype=torch.int64).unsqueeze(1)


# --------------------------------------------------------------------------------------------------
# Qwen2-VL vision tower
# --------------------------------------------------------------------------------------------------

def vision_pos_ids(grid_thw, merge):
    """(row, col) of every patch in processor order: merge windows contiguous, repeated per frame."""
    out = []
    for t, h, w in [[int(x) for x in g] for g in grid_thw]:
        hp = torch.arange(h).unsqueeze(1).expand(-1, w)
        hp = hp.reshape(h // merge, merge, w // merge, merge).permute(0, 2, 1, 3).flatten()
        wp = torch.arange(w).unsqueeze(0).expand(h, -1)
        wp = wp.reshape(h // merge, merge, w // merge, merge).permute(0, 2, 1, 3).flatten()
        out.append(torch.stack([hp, wp], dim=-1).repeat(t, 1))
    return torch.cat(out, 0)


def vision_rotary_freqs(grid_thw, head_dim, merge, theta=10000.0):
    """[N, head_dim/2]: (row * inv_freq, col * inv_freq) concatenated; inv_freq over dim head_dim/2."""
    dim = head_dim // 2
    inv = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
    pos = vision_pos_ids(grid_thw, merge)
    max_grid = int(torch.as_tensor(grid_thw)[:, 1:].max())
    table = torch.outer(torch.arange(max_grid, dtype=torch.float), inv)
    return table[pos].flatten(1)


def vision_cu_seqlens(grid_thw):
    """Boundaries of the attention blocks: one block per frame group (h*w patches), t per entry."""
    g = torch.as_tensor(grid_thw, dtype=torch.int64)
    lens = torch.repeat_interleave(g[:, 1] * g[:, 2], g[:, 0])
    return F.pad(lens.cumsum(0), (1, 0), value=0)


def vision_attention(x, W, p, num_heads, cos, sin, cu_seqlens, use_mask=False):
    N, D = x.shape
    hd = D // num_heads
    qkv = linear(x, W[p + "attn.qkv.weight"], W[p + "attn.qkv.bias"])
    q, k, v = qkv.reshape(N, 3, num_heads, hd).permute(1, 0, 2, 3).unbind(0)  # [N, heads, hd]
    q = q * cos[:, None] + rotate_half(q) * sin[:, None]
    k = k * cos[:, None] + rotate_half(k) * sin[:, None]
    q, k, v = q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1)  # [heads, N, hd]
    cu = [int(c) for c in cu_seqlens]
    if use_mask:  # one big attention with a block-diagonal additive mask (self-check path)
        m = torch.full((N, N), torch.finfo(torch.float32).min)
        for a, b in zip(cu[:-1], cu[1:]):
            m[a:b, a:b] = 0
        o = attention(q[None], k[None], v[None], m[None, None], hd ** -0.5)[0]
    else:  # per-block attention, HF's non-flash path
        o = torch.cat([attention(q[None, :, a:b], k[None, :, a:b], v[None, :, a:b], None,
                                 hd ** -0.5)[0] for a, b in zip(cu[:-1], cu[1:])], dim=1)
    o = o.transpose(0, 1).reshape(N, D)
    return linear(o, W[p + "attn.proj.weight"], W[p + "attn.proj.bias"])


def vision_tower(W, vcfg, pixel_values, grid_thw, prefix="visual.", use_mask=False):
    """pixel_values [N, C*T*p*p] -> dict(patch_embed [N, E], blocks.i [N, E], merged [N/m^2, hidden])."""
    E = vcfg["embed_dim"]
    heads = vcfg["num_heads"]
    merge = vcfg.get("spatial_merge_size", 2)
    wpe = W[prefix + "patch_embed.proj.weight"]  # [E, C, T, p, p]
    x = pixel_values.to(torch.float32) @ wpe.reshape(E, -1).T
    out = {"patch_embed": x}
    freqs = vision_rotary_freqs(grid_thw, E // heads, merge)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    cu = vision_cu_seqlens(grid_thw)
    act = quick_gelu if vcfg.get("hidden_act", "quick_gelu") == "quick_gelu" else gelu
    for i in range(vcfg["depth"]):
        p = f"{prefix}blocks.{i}."
        h = layer_norm(x, W[p + "norm1.weight"], W[p + "norm1.bias"], 1e-6)
        x = x + vision_attention(h, W, p, heads, cos, sin, cu, use_mask)
        h = layer_norm(x, W[p + "norm2.weight"], W[p + "norm2.bias"], 1e-6)
        h = linear(act(linear(h, W[p + "mlp.fc1.weight"], W[p + "mlp.fc1.bias"])),
                   W[p + "mlp.fc2.weight"], W[p + "mlp.fc2.bias"])
        x = x + h
        out[f"blocks.{i}"] = x
    m = prefix + "merger."
    h = layer_norm(x, W[m + "ln_q.weight"], W[m + "ln_q.bias"], 1e-6).reshape(-1, E * merge * merge)
    h = linear(gelu(linear(h, W[m + "mlp.0.weight"], W[m + "mlp.0.bias"])),
               W[m + "mlp.2.weight"], W[m + "mlp.2.bias"])
    out["merged"] = h
    return out


def _scatter(embeds, ids, token_id, feats, what):
    mask = ids == token_id
    n = int(mask.sum())
    if n != feats.shape[0]:
        raise ValueError(f"{what} features and tokens do not match: tokens {n}, features {feats.shape[0]}")
    embeds = embeds.clone()
    embeds[mask] = feats.to(embeds.dtype)  # row-major over (batch, position), like masked_scatter
    return embeds


def qwen2vl_forward(W, cfg, input_ids, attention_mask=None, pixel_values=None, image_grid_thw=None,
                    pixel_values_videos=None, video_grid_thw=None, position_ids=None):
    """Full Qwen2-VL forward (prefill, no cache). Returns dict of named tensors."""
    tcfg = text_cfg_of(cfg)
    vcfg = cfg["vision_config"]
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    out = {}
    emb = W["model.embed_tokens.weight"][input_ids]
    if pixel_values is not None:
        v = vision_tower(W, vcfg, pixel_values, image_grid_thw)
        out.update({f"visual.image.{k}": t for k, t in v.items() if k != "merged"})
        out["visual.image_embeds"] = v["merged"]
        emb = _scatter(emb, input_ids, cfg["image_token_id"], v["merged"], "Image")
    if pixel_values_videos is not None:
        v = vision_tower(W, vcfg, pixel_values_videos, video_grid_thw)
        out.update({f"visual.video.{k}": t for k, t in v.items() if k != "merged"})
        out["visual.video_embeds"] = v["merged"]
        emb = _scatter(emb, input_ids, cfg["video_token_id"], v["merged"], "Video")
    if position_ids is None:
        position_ids, deltas = get_rope_index(input_ids, image_grid_thw, video_grid_thw,
                                              attention_mask, cfg)
        out["rope_deltas"] = deltas
    out["position_ids"] = position_ids
    hd = tcfg["hidden_size"] // tcfg["num_attention_heads"]
    rs = tcfg.get("rope_scaling") or tcfg.get("rope_parameters") or {}
    section = rs.get("mrope_section")
    theta = tcfg.get("rope_theta", rs.get("rope_theta", 1000000.0))
    cos3, sin3 = rope_cos_sin(position_ids, rope_inv_freq(hd, theta))
    cos, sin = mrope_select(cos3, sin3, section)
    head = lm_head_weight_name(W, tcfg, "lm_head.weight", "model.embed_tokens.weight")
    out.update(qwen2_decoder(W, "model.", tcfg, emb, attention_mask, cos, sin, head))
    return out


# --------------------------------------------------------------------------------------------------
# Qwen2-Audio
# --------------------------------------------------------------------------------------------------

def audio_encoder(W, acfg, input_features, feature_attention_mask, prefix="audio_tower."):
    """Whisper-style encoder as HF Qwen2-Audio runs it.

    input_features [B, n_mels, 2*max_source_positions] (3000); padding: after conv2 the sequence has
    max_len = (3000 - 2)//2 + 1 = 1500 frames; frame j is padding iff j >= (L - 1)//2 + 1 with
    L = feature_attention_mask.sum(-1); padded frames are masked as keys only (every query row,
    padded or not, is computed). Then AvgPool1d(2, 2) over all frames and layer_norm.
    Returns dict(conv [B,1500,D], last_hidden_state [B,750,D], audio_feat_lengths, audio_output_lengths).
    """
    D = acfg["d_model"]
    heads = acfg["encoder_attention_heads"]
    hd = D // heads
    x = input_features.to(torch.float32)
    x = gelu(F.conv1d(x, W[prefix + "conv1.weight"], W[prefix + "conv1.bias"], padding=1))
    x = gelu(F.conv1d(x, W[prefix + "conv2.weight"], W[prefix + "conv2.bias"], stride=2, padding=1))
    x = x.permute(0, 2, 1)
    B, T, _ = x.shape
    x = x + W[prefix + "embed_positions.weight"][:T]  # HF never applies embed_scale here
    feat_len, out_len = audio_lengths(feature_attention_mask.sum(-1).to(torch.int64))
    max_len = (input_features.shape[-1] - 2) // 2 + 1
    assert max_len == T
    pad = torch.arange(T)[None, :] >= feat_len[:, None]  # [B, T] True = padded key
    add = torch.zeros(B, 1, T, T).masked_fill(pad[:, None, None, :], float("-inf"))
    out = {"conv": x}
    if acfg.get("activation_function", "gelu") != "gelu":
        raise NotImplementedError(acfg["activation_function"])
    act = gelu
    for i in range(acfg["encoder_layers"]):
        p = f"{prefix}layers.{i}."
        h = layer_norm(x, W[p + "self_attn_layer_norm.weight"], W[p + "self_attn_layer_norm.bias"], 1e-5)
        q = linear(h, W[p + "self_attn.q_proj.weight"], W[p + "self_attn.q_proj.bias"])
        k = linear(h, W[p + "self_attn.k_proj.weight"])  # k_proj has no bias
        v = linear(h, W[p + "self_attn.v_proj.weight"], W[p + "self_attn.v_proj.bias"])
        q, k, v = [t.view(B, T, heads, hd).transpose(1, 2) for t in (q, k, v)]
        a = attention(q, k, v, add, hd ** -0.5).transpose(1, 2).reshape(B, T, D)
        x = x + linear(a, W[p + "self_attn.out_proj.weight"], W[p + "self_attn.out_proj.bias"])
        h = layer_norm(x, W[p + "final_layer_norm.weight"], W[p + "final_layer_norm.bias"], 1e-5)
        h = linear(act(linear(h, W[p + "fc1.weight"], W[p + "fc1.bias"])), W[p + "fc2.weight"],
                   W[p + "fc2.bias"])
        x = x + h
        out[f"layers.{i}"] = x
    x = F.avg_pool1d(x.permute(0, 2, 1), kernel_size=2, stride=2).permute(0, 2, 1)
    x = layer_norm(x, W[prefix + "layer_norm.weight"], W[prefix + "layer_norm.bias"], 1e-5)
    out["last_hidden_state"] = x
    out["audio_feat_lengths"] = feat_len
    out["audio_output_lengths"] = out_len
    return out


def qwen2audio_forward(W, cfg, input_ids, attention_mask=None, input_features=None,
                       feature_attention_mask=None):
    """Full Qwen2-Audio forward (processor-expanded <|AUDIO|> tokens, prefill). LM positions are
    0..L-1 for every row (HF passes no position_ids; right padding leaves real tokens at 0..n-1)."""
    tcfg = dict(cfg["text_config"])
    acfg = cfg["audio_config"]
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    out = {}
    emb = W["language_model.model.embed_tokens.weight"][input_ids]
    if input_features is not None:
        enc = audio_encoder(W, acfg, input_features, feature_attention_mask)
        out["audio_tower.output"] = enc["last_hidden_state"]
        proj = linear(enc["last_hidden_state"], W["multi_modal_projector.linear.weight"],
                      W["multi_modal_projector.linear.bias"])
        n = enc["audio_output_lengths"]
        valid = torch.arange(proj.shape[1])[None, :] < n[:, None]
        feats = proj[valid]  # [sum n_i, hidden], audio by audio
        out["multi_modal_projector.output"] = feats
        emb = _scatter(emb, input_ids, cfg["audio_token_index"], feats, "Audio")
    B, L = input_ids.shape
    position_ids = torch.arange(L)[None].expand(B, L)
    out["position_ids"] = position_ids
    hd = tcfg["hidden_size"] // tcfg["num_attention_heads"]
    cos, sin = rope_cos_sin(position_ids, rope_inv_freq(hd, tcfg.get("rope_theta", 10000.0)))
    head = lm_head_weight_name(W, tcfg, "language_model.lm_head.weight",
                               "language_model.model.embed_tokens.weight")
    out.update(qwen2_decoder(W, "language_model.model.", tcfg, emb, attention_mask, cos, sin, head))
    return out


# --------------------------------------------------------------------------------------------------
# self-checks
# --------------------------------------------------------------------------------------------------

def _check(name, ok, detail=""):
    print(f"[{'ok' if ok else 'FAIL'}] {name} {detail}")
    if not ok:
        raise AssertionError(name)


def self_check():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)

    # 1. M-RoPE with t = h = w equals plain 1-D RoPE.
    hd, sec = 16, [2, 3, 3]
    pos = torch.randint(0, 500, (2, 7), generator=g)
    inv = rope_inv_freq(hd, 1e6)
    c1, s1 = rope_cos_sin(pos, inv)
    c3, s3 = rope_cos_sin(pos[None].expand(3, 2, 7), inv)
    cm, sm = mrope_select(c3, s3, sec)
    _check("mrope(t=h=w) == 1-D rope", torch.equal(cm, c1) and torch.equal(sm, s1))
    # and each chunk really takes its own axis
    p3 = torch.stack([pos, pos + 1000, pos + 2000])
    c3, _ = rope_cos_sin(p3, inv)
    cm, _ = mrope_select(c3, c3, sec)
    axes = [0, 0, 1, 1, 1, 2, 2, 2] * 2
    ref = torch.stack([c3[a, ..., j] for j, a in enumerate(axes)], dim=-1)
    _check("mrope chunk i uses axis i % 3", torch.equal(cm, ref))

    # 2. vision: per-block attention == block-diagonal masked attention; blocks do not interact.
    vcfg = {"embed_dim": 32, "num_heads": 4, "depth": 2, "spatial_merge_size": 2, "hidden_act": "quick_gelu"}
    W = {}
    W["visual.patch_embed.proj.weight"] = torch.randn(32, 3, 2, 14, 14, generator=g) * 0.03
    for i in range(2):
        p = f"visual.blocks.{i}."
        for n, shp in [("norm1.weight", (32,)), ("norm1.bias", (32,)), ("norm2.weight", (32,)),
                       ("norm2.bias", (32,)), ("attn.qkv.weight", (96, 32)), ("attn.qkv.bias", (96,)),
                       ("attn.proj.weight", (32, 32)), ("attn.proj.bias", (32,)),
                       ("mlp.fc1.weight", (128, 32)), ("mlp.fc1.bias", (128,)),
                       ("mlp.fc2.weight", (32, 128)), ("mlp.fc2.bias", (32,))]:
            W[p + n] = torch.randn(*shp, generator=g) * 0.2 + (1.0 if n.endswith("norm1.weight") else 0)
    for n, shp in [("ln_q.weight", (32,)), ("ln_q.bias", (32,)), ("mlp.0.weight", (128, 128)),
                   ("mlp.0.bias", (128,)), ("mlp.2.weight", (64, 128)), ("mlp.2.bias", (64,))]:
        W["visual.merger." + n] = torch.randn(*shp, generator=g) * 0.1
    grid = torch.tensor([[1, 4, 4], [2, 2, 4]])
    pv = torch.randn(16 + 16, 1176, generator=g)
    a = vision_tower(W, vcfg, pv, grid)
    b = vision_tower(W, vcfg, pv, grid, use_mask=True)
    _check("vision per-block == block-diagonal mask", torch.allclose(a["merged"], b["merged"], atol=1e-5),
           f"max {float((a['merged'] - b['merged']).abs().max()):.2e}")
    _check("vision cu_seqlens per frame", vision_cu_seqlens(grid).tolist() == [0, 16, 24, 32])
    pv2 = pv.clone()
    pv2[24:] += 1.0  # perturb the second frame group of the video only
    c = vision_tower(W, vcfg, pv2, grid)
    _check("vision blocks independent", torch.allclose(c["merged"][:6], a["merged"][:6], atol=1e-6)
           and not torch.allclose(c["merged"][6:], a["merged"][6:]))
    # patch embed as Conv3d == Linear over (C, T, p, p)
    img = torch.randn(1, 3, 2, 28, 28, generator=g)
    conv = F.conv3d(img, W["visual.patch_embed.proj.weight"], stride=(2, 14, 14))  # [1, 32, 1, 2, 2]
    patches = img.reshape(3, 2, 2, 14, 2, 14).permute(2, 4, 0, 1, 3, 5).reshape(4, -1)
    lin = patches @ W["visual.patch_embed.proj.weight"].reshape(32, -1).T
    _check("patch embed Conv3d == Linear", torch.allclose(conv[0, :, 0].permute(1, 2, 0).reshape(4, 32),
                                                          lin, atol=1e-5))

    # 3. processor patch order: patch k holds the expected pixels.
    rng = np.random.default_rng(0)
    im = rng.integers(0, 256, (56, 84, 3), dtype=np.uint8)
    pp = {"min_pixels": 56 * 56, "max_pixels": 10 ** 7}
    flat, (gt, gh, gw) = process_frames([im], pp)
    norm = ((im.astype(np.float64) / 255).astype(np.float32) - np.float32(CLIP_MEAN)) / np.float32(CLIP_STD)
    ok = (gt, gh, gw) == (1, 4, 6)
    for k in range(gh * gw):
        win, inner = divmod(k, 4)
        wr, wc = divmod(win, gw // 2)
        r, cc = wr * 2 + inner // 2, wc * 2 + inner % 2
        crop = norm[r * 14:(r + 1) * 14, cc * 14:(cc + 1) * 14].transpose(2, 0, 1)  # C, p, p
        v = flat[k].reshape(3, 2, 14, 14)
        ok = ok and np.array_equal(v[:, 0], crop) and np.array_equal(v[:, 1], crop)
    _check("patchify order (merge windows contiguous, (C,T,p,p) inside)", ok)
    pos_ids = vision_pos_ids(torch.tensor([[1, 4, 6]]), 2)
    ok = all(tuple(pos_ids[k].tolist()) == ((k // 4) // 3 * 2 + (k % 4) // 2, (k // 4) % 3 * 2 + k % 2)
             for k in range(24))
    _check("vision rotary (row, col) follow the patch order", ok)

    # 4. smart_resize
    cases = [((45, 61), (56, 56)), ((42, 70), (56, 56)), ((30, 64), (56, 84)), ((28, 28), (56, 56)),
             ((1000, 2000), (1008, 1988))]
    got = [smart_resize(h, w, 28, 3136, 12845056) for (h, w), _ in cases]
    _check("smart_resize cases", got == [e for _, e in cases], str(got))
    _check("smart_resize max_pixels branch", smart_resize(60, 130, 28, 3136, 6272) == (28, 112))

    # 5. Whisper mel filterbank == direct per-filter triangle formula
    fb = mel_filter_bank(201, 128, 0.0, 8000.0, 16000)
    edges = mel_to_hertz_slaney(np.linspace(0.0, hertz_to_mel_slaney(8000.0), 130))
    direct = np.zeros((201, 128))
    for m in range(128):
        lo, ce, hi = edges[m], edges[m + 1], edges[m + 2]
        for kbin in range(201):
            f = kbin * 40.0
            w = max(0.0, min((f - lo) / (ce - lo), (hi - f) / (hi - ce)))
            direct[kbin, m] = w * 2.0 / (hi - lo)
    _check("mel filterbank == direct formula", np.allclose(fb, direct, rtol=1e-12, atol=1e-15),
           f"max {np.abs(fb - direct).max():.1e}")
    _check("hz_to_mel_slaney(8000) == 45.245640471924965",
           abs(float(hertz_to_mel_slaney(8000.0)) - 45.245640471924965) < 1e-12)

    # 6. Whisper numpy path vs torch float32 path
    t = np.arange(20837) / 16000.0
    wav = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    fn, mn = whisper_features([wav], {"feature_size": 128}, "numpy")
    ft, mt = whisper_features([wav], {"feature_size": 128}, "torch")
    d = float((fn - ft).abs().max())
    _check("whisper numpy f64 vs torch f32 features", d < 1e-4, f"max abs diff {d:.2e}")
    _check("feature mask = ceil(len/hop)", int(mn.sum()) == 131 and mn.dtype == torch.int32)

    # 7. audio token count formula vs conv / pool arithmetic
    ok = True
    for Lm in [1, 2, 3, 130, 131, 1000, 2999, 3000]:
        conv1 = Lm  # k3 p1 s1
        conv2 = (conv1 + 2 - 3) // 2 + 1  # k3 p1 s2
        pooled = conv2 // 2  # AvgPool1d(2, 2)
        ok = ok and audio_lengths(Lm) == (conv2, pooled)
    _check("audio token count ((L-1)//2+1-2)//2+1", ok and audio_lengths(3000)[1] == 750)

    # 8. get_rope_index on the documented example (video 3 x 4 x 4 before merge = 3 x 2 x 2 merged)
    cfg = {"vision_config": {"spatial_merge_size": 2}, "image_token_id": 5, "video_token_id": 6,
           "vision_start_token_id": 3}
    ids = torch.tensor([[3] + [6] * 12 + [9, 9, 9, 9]])
    pos3, dl = get_rope_index(ids, None, torch.tensor([[3, 4, 4]]), None, cfg)
    exp_t = [0] + [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3] + [4, 5, 6, 7]
    exp_h = [0] + [1, 1, 2, 2] * 3 + [4, 5, 6, 7]
    exp_w = [0] + [1, 2, 1, 2] * 3 + [4, 5, 6, 7]
    _check("get_rope_index documented example", pos3[0, 0].tolist() == exp_t and
           pos3[1, 0].tolist() == exp_h and pos3[2, 0].tolist() == exp_w and dl.tolist() == [[-9]])

    # 9. decoder: right padding does not change the real tokens' outputs
    tc = {"hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2,
          "intermediate_size": 128, "rms_norm_eps": 1e-6}
    Wd = {"lm_head.weight": torch.randn(50, 64, generator=g) * 0.1, "model.norm.weight": torch.rand(64, generator=g) + 0.5}
    for i in range(2):
        p = f"model.layers.{i}."
        for n, shp in [("input_layernorm.weight", (64,)), ("post_attention_layernorm.weight", (64,)),
                       ("self_attn.q_proj.weight", (64, 64)), ("self_attn.q_proj.bias", (64,)),
                       ("self_attn.k_proj.weight", (32, 64)), ("self_attn.k_proj.bias", (32,)),
                       ("self_attn.v_proj.weight", (32, 64)), ("self_attn.v_proj.bias", (32,)),
                       ("self_attn.o_proj.weight", (64, 64)), ("mlp.gate_proj.weight", (128, 64)),
                       ("mlp.up_proj.weight", (128, 64)), ("mlp.down_proj.weight", (64, 128))]:
            Wd[p + n] = torch.randn(*shp, generator=g) * 0.15
    x = torch.randn(2, 9, 64, generator=g)
    am = torch.tensor([[1] * 9, [1] * 6 + [0] * 3])
    pos = torch.arange(9)[None].expand(2, 9)
    cs = rope_cos_sin(pos, rope_inv_freq(16, 1e4))
    full = qwen2_decoder(Wd, "model.", tc, x, am, *cs, "lm_head.weight")
    cs1 = rope_cos_sin(pos[1:, :6], rope_inv_freq(16, 1e4))
    alone = qwen2_decoder(Wd, "model.", tc, x[1:, :6], am[1:, :6], *cs1, "lm_head.weight")
    d = float((full["logits"][1, :6] - alone["logits"][0]).abs().max())
    _check("right padding leaves real tokens unchanged", d < 1e-5, f"max {d:.1e}")
    _check("hook_post = SiLU(hook_pre)",
           torch.allclose(F.silu(full["blocks.1.mlp.hook_pre"]), full["blocks.1.mlp.hook_post"]))
    print("all self-checks passed")


if __name__ == "__main__":
    self_check()
