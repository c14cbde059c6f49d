#include "clearsight/nn/transformer.h"

#include <cmath>
#include <limits>

#include "clearsight/core/error.h"

namespace clearsight::nn {

namespace F = torch::nn::functional;

RMSNormImpl::RMSNormImpl(std::int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  const auto x32 = x.to(torch::kFloat32);
  const auto rms = torch::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return (x32 * rms).to(x.scalar_type()) * weight;
}

Rotary::Rotary(std::int64_t head_dim, std::int64_t max_positions, double theta,
               RotaryOptions options)
    : options_(std::move(options)) {
  CS_CHECK_AS(ConfigError, head_dim % 2 == 0, "rotary embeddings need an even head dimension");
  if (!options_.mrope_section.empty()) {
    std::int64_t total = 0;
    for (const auto s : options_.mrope_section) {
      CS_CHECK_AS(ConfigError, s >= 0, "mrope_section entries must be >= 0");
      total += s;
    }
    CS_CHECK_AS(ConfigError, options_.mrope_section.size() == 3 && total * 2 == head_dim,
                "mrope_section must have 3 entries summing to head_dim / 2 = ", head_dim / 2,
                " (got a sum of ", total, ")");
  }
  if (options_.float32_tables) {
    const auto inv_freq =
        1.0 / torch::pow(theta, torch::arange(0, head_dim, 2, torch::kInt64).to(torch::kFloat32) /
                                    static_cast<double>(head_dim));
    const auto t = torch::arange(max_positions, torch::kInt64).to(torch::kFloat32);
    const auto freqs = torch::outer(t, inv_freq);
    const auto emb = torch::cat({freqs, freqs}, -1);
    cos_ = emb.cos();
    sin_ = emb.sin();
    return;
  }
  const auto inv_freq =
      1.0 / torch::pow(theta, torch::arange(0, head_dim, 2, torch::kFloat64) / head_dim);
  const auto t = torch::arange(max_positions, torch::kFloat64);
  const auto freqs = torch::outer(t, inv_freq);
  const auto emb = torch::cat({freqs, freqs}, -1);
  cos_ = emb.cos().to(torch::kFloat32);
  sin_ = emb.sin().to(torch::kFloat32);
}

torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const auto half = x.size(-1) / 2;
  const auto x1 = x.narrow(-1, 0, half);
  const auto x2 = x.narrow(-1, half, half);
  const auto rotated = torch::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

torch::Tensor Rotary::apply(const torch::Tensor& x, const torch::Tensor& positions) const {
  CS_CHECK_AS(ShapeError, positions.dim() == (multimodal() ? 3 : 2),
              multimodal() ? "M-RoPE positions must be [3, B, L]" : "positions must be [B, L]");
  CS_CHECK_AS(ShapeError, positions.max().item<std::int64_t>() < max_positions(), "position ",
              positions.max().item<std::int64_t>(), " exceeds max_position_embeddings ",
              max_positions());
  auto cos = cos_.to(x.device()).index({positions});  // [B, L, D] or [3, B, L, D]
  auto sin = sin_.to(x.device()).index({positions});
  if (multimodal()) {
    // Chunks of sizes mrope_section twice over the head dimension; chunk i takes axis i mod 3.
    std::vector<torch::Tensor> c, s;
    std::int64_t start = 0;
    for (int i = 0; i < 6; ++i) {
      const auto size = options_.mrope_section[static_cast<std::size_t>(i % 3)];
      c.push_back(cos[i % 3].narrow(-1, start, size));
      s.push_back(sin[i % 3].narrow(-1, start, size));
      start += size;
    }
    cos = torch::cat(c, -1);
    sin = torch::cat(s, -1);
  }
  return rotate(x, cos.unsqueeze(1).to(x.scalar_type()), sin.unsqueeze(1).to(x.scalar_type()));
}

AttentionImpl::AttentionImpl(const AttentionOptions& o) : options_(o) {
  CS_CHECK_AS(ConfigError, o.hidden % o.heads == 0 && o.heads % o.kv_heads == 0,
              "attention: hidden (", o.hidden, ") must divide by heads (", o.heads,
              ") and heads by kv_heads (", o.kv_heads, ")");
  const auto head_dim = o.hidden / o.heads;
  q_proj = register_module(
      "q_proj", torch::nn::Linear(torch::nn::LinearOptions(o.hidden, o.hidden).bias(o.qkv_bias)));
  k_proj = register_module(
      "k_proj", torch::nn::Linear(
                    torch::nn::LinearOptions(o.hidden, o.kv_heads * head_dim).bias(o.qkv_bias)));
  v_proj = register_module(
      "v_proj", torch::nn::Linear(
                    torch::nn::LinearOptions(o.hidden, o.kv_heads * head_dim).bias(o.qkv_bias)));
  o_proj = register_module(
      "o_proj", torch::nn::Linear(torch::nn::LinearOptions(o.hidden, o.hidden).bias(false)));
  hook_q = register_module("hook_q", HookPoint());
  hook_k = register_module("hook_k", HookPoint());
  hook_v = register_module("hook_v", HookPoint());
  hook_pattern = register_module("hook_pattern", HookPoint());
  hook_z = register_module("hook_z", HookPoint());
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& positions,
                                     const torch::Tensor& key_mask, const Rotary& rotary,
                                     KVCache* cache, int layer) {
  const auto b = x.size(0);
  const auto l = x.size(1);
  const auto h = options_.heads;
  const auto hkv = options_.kv_heads;
  const auto d = options_.hidden / h;
  auto q = q_proj(x).view({b, l, h, d}).transpose(1, 2);
  auto k = k_proj(x).view({b, l, hkv, d}).transpose(1, 2);
  auto v = v_proj(x).view({b, l, hkv, d}).transpose(1, 2);
  q = hook_q(rotary.apply(q, positions));
  k = rotary.apply(k, positions);
  std::int64_t past = 0;
  if (cache != nullptr) {
    if (static_cast<int>(cache->keys.size()) <= layer) {
      cache->keys.resize(layer + 1);
      cache->values.resize(layer + 1);
    }
    auto& ck = cache->keys[layer];
    auto& cv = cache->values[layer];
    past = ck.defined() ? ck.size(2) : 0;
    if (ck.defined()) {
      k = torch::cat({ck, k}, 2);
      v = torch::cat({cv, v}, 2);
    }
    ck = k;
    cv = v;
  }
  const auto lk = k.size(2);
  if (hkv != h) {
    k = k.repeat_interleave(h / hkv, 1);
    v = v.repeat_interleave(h / hkv, 1);
  }
  k = hook_k(k);
  v = hook_v(v);
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d));
  // Causal mask: query i (absolute position past + i) sees keys 0..past + i.
  auto mask = torch::ones({l, lk}, torch::TensorOptions().dtype(torch::kBool).device(x.device()))
                  .triu(past + 1);
  auto blocked = mask.view({1, 1, l, lk});
  if (key_mask.defined()) {
    CS_CHECK_AS(ShapeError, key_mask.size(0) == b && key_mask.size(1) == lk,
                "attention key mask has shape ", key_mask.sizes(), ", expected [", b, ", ", lk,
                "]");
    blocked = blocked.logical_or(key_mask.logical_not().view({b, 1, 1, lk}));
  }
  scores = scores.masked_fill(blocked, -std::numeric_limits<float>::infinity());
  auto pattern = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
  // A fully masked row (padding query) gives NaN; make it zero attention instead.
  pattern = torch::nan_to_num(pattern, 0.0);
  pattern = hook_pattern(pattern);
  auto z = hook_z(torch::matmul(pattern, v));  // [B, H, L, D]
  return o_proj(z.transpose(1, 2).reshape({b, l, h * d}));
}

GatedMlpImpl::GatedMlpImpl(std::int64_t hidden, std::int64_t intermediate) {
  gate_proj = register_module(
      "gate_proj", torch::nn::Linear(torch::nn::LinearOptions(hidden, intermediate).bias(false)));
  up_proj = register_module(
      "up_proj", torch::nn::Linear(torch::nn::LinearOptions(hidden, intermediate).bias(false)));
  down_proj = register_module(
      "down_proj", torch::nn::Linear(torch::nn::LinearOptions(intermediate, hidden).bias(false)));
  hook_pre = register_module("hook_pre", HookPoint());
  hook_post = register_module("hook_post", HookPoint());
}

torch::Tensor GatedMlpImpl::forward(const torch::Tensor& x) {
  const auto gate = hook_pre(gate_proj(x));
  const auto act = hook_post(torch::silu(gate));
  return down_proj(act * up_proj(x));
}

DecoderBlockImpl::DecoderBlockImpl(const AttentionOptions& attention, std::int64_t intermediate,
                                   double eps) {
  // Registered in execution order so that hook names list in the order activations occur.
  hook_resid_pre = register_module("hook_resid_pre", HookPoint());
  ln1 = register_module("ln1", RMSNorm(attention.hidden, eps));
  attn = register_module("attn", Attention(attention));
  hook_attn_out = register_module("hook_attn_out", HookPoint());
  hook_resid_mid = register_module("hook_resid_mid", HookPoint());
  ln2 = register_module("ln2", RMSNorm(attention.hidden, eps));
  mlp = register_module("mlp", GatedMlp(attention.hidden, intermediate));
  hook_mlp_out = register_module("hook_mlp_out", HookPoint());
  hook_resid_post = register_module("hook_resid_post", HookPoint());
}

torch::Tensor DecoderBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& positions,
                                        const torch::Tensor& key_mask, const Rotary& rotary,
                                        KVCache* cache, int layer) {
  auto resid = hook_resid_pre(x);
  const auto attn_out = hook_attn_out(attn(ln1(resid), positions, key_mask, rotary, cache, layer));
  resid = hook_resid_mid(resid + attn_out);
  const auto mlp_out = hook_mlp_out(mlp(ln2(resid)));
  return hook_resid_post(resid + mlp_out);
}

EncoderAttentionImpl::EncoderAttentionImpl(const EncoderOptions& o) : options_(o) {
  CS_CHECK_AS(ConfigError, o.hidden % o.heads == 0, "encoder hidden (", o.hidden,
              ") must divide by heads (", o.heads, ")");
  if (o.fused_qkv) {
    qkv = register_module("qkv", torch::nn::Linear(o.hidden, 3 * o.hidden));
    proj = register_module("proj", torch::nn::Linear(o.hidden, o.hidden));
  } else {
    q_proj = register_module("q_proj", torch::nn::Linear(o.hidden, o.hidden));
    k_proj = register_module(
        "k_proj", torch::nn::Linear(torch::nn::LinearOptions(o.hidden, o.hidden).bias(false)));
    v_proj = register_module("v_proj", torch::nn::Linear(o.hidden, o.hidden));
    out_proj = register_module("out_proj", torch::nn::Linear(o.hidden, o.hidden));
  }
  hook_pattern = register_module("hook_pattern", HookPoint());
  hook_z = register_module("hook_z", HookPoint());
}

torch::Tensor EncoderAttentionImpl::forward(const torch::Tensor& x, const EncoderContext& context) {
  const auto b = x.size(0);
  const auto l = x.size(1);
  const auto h = options_.heads;
  const auto d = options_.hidden / h;
  torch::Tensor q, k, v;
  if (options_.fused_qkv) {
    const auto parts = qkv(x).view({b, l, 3, h, d}).permute({2, 0, 3, 1, 4});
    q = parts[0];
    k = parts[1];
    v = parts[2];
  } else {
    q = q_proj(x).view({b, l, h, d}).transpose(1, 2);
    k = k_proj(x).view({b, l, h, d}).transpose(1, 2);
    v = v_proj(x).view({b, l, h, d}).transpose(1, 2);
  }
  if (context.cos.defined()) {
    q = rotate(q, context.cos, context.sin);
    k = rotate(k, context.cos, context.sin);
  }
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d));
  if (context.mask.defined()) {
    scores =
        scores.masked_fill(context.mask.logical_not(), -std::numeric_limits<float>::infinity());
  }
  const auto pattern = hook_pattern(torch::softmax(scores, -1));
  const auto z = hook_z(torch::matmul(pattern, v)).transpose(1, 2).reshape({b, l, h * d});
  return options_.fused_qkv ? proj(z) : out_proj(z);
}

MlpImpl::MlpImpl(std::int64_t hidden, std::int64_t intermediate, const std::string& activation)
    : quick_gelu_(activation == "quick_gelu") {
  CS_CHECK_AS(ConfigError, activation == "gelu" || activation == "quick_gelu", "MLP activation '",
              activation, "' is not supported (expected gelu or quick_gelu)");
  fc1 = register_module("fc1", torch::nn::Linear(hidden, intermediate));
  fc2 = register_module("fc2", torch::nn::Linear(intermediate, hidden));
  hook_pre = register_module("hook_pre", HookPoint());
  hook_post = register_module("hook_post", HookPoint());
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  const auto pre = hook_pre(fc1(x));
  const auto act = quick_gelu_ ? pre * torch::sigmoid(1.702 * pre) : torch::gelu(pre);
  return fc2(hook_post(act));
}

EncoderBlockImpl::EncoderBlockImpl(const EncoderOptions& o) {
  hook_resid_pre = register_module("hook_resid_pre", HookPoint());
  ln1 = register_module("ln1",
                        torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden}).eps(o.eps)));
  attn = register_module("attn", EncoderAttention(o));
  hook_attn_out = register_module("hook_attn_out", HookPoint());
  hook_resid_mid = register_module("hook_resid_mid", HookPoint());
  ln2 = register_module("ln2",
                        torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.hidden}).eps(o.eps)));
  mlp = register_module("mlp", Mlp(o.hidden, o.intermediate, o.activation));
  hook_mlp_out = register_module("hook_mlp_out", HookPoint());
  hook_resid_post = register_module("hook_resid_post", HookPoint());
}

torch::Tensor EncoderBlockImpl::forward(const torch::Tensor& x, const EncoderContext& context) {
  auto resid = hook_resid_pre(x);
  resid = hook_resid_mid(resid + hook_attn_out(attn(ln1(resid), context)));
  return hook_resid_post(resid + hook_mlp_out(mlp(ln2(resid))));
}

}  // namespace clearsight::nn
