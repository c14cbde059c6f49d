// Transformer building blocks with hook points: the Qwen2 decoder block (RMSNorm, rotary
// positions, grouped-query attention, SwiGLU MLP) and a pre-norm encoder block for the vision
// and audio towers. Module names follow TransformerLens (blocks.i.attn, blocks.i.mlp) so hook
// names are stable; src/mm/weights.cc maps them to Hugging Face parameter names.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "clearsight/nn/hook_point.h"

namespace clearsight::nn {

/// Root-mean-square layer norm with a learned scale (Qwen2's RMSNorm).
class RMSNormImpl : public torch::nn::Module {
 public:
  /// Norm over the last dimension of size dim.
  RMSNormImpl(std::int64_t dim, double eps);
  /// Normalises x.
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

/// How rotary tables are computed and indexed.
struct RotaryOptions {
  /// Tables in float32 arithmetic exactly as Hugging Face computes them (inverse frequencies,
  /// position x frequency and cos/sin in float32) instead of float64 rounded once.
  bool float32_tables = false;
  /// Qwen2-VL's M-RoPE: the head dimension's halves are split into chunks of these sizes, chunk i
  /// rotated by position axis i mod 3 (temporal, height, width); empty = 1-D positions.
  std::vector<std::int64_t> mrope_section;
};

/// Rotary position embedding tables (non-interleaved halves, as Qwen2/Llama).
class Rotary {
 public:
  /// Tables for head_dim up to max_positions with base theta.
  Rotary(std::int64_t head_dim, std::int64_t max_positions, double theta,
         RotaryOptions options = {});
  /// Rotates x [B, H, L, D] whose positions are positions [B, L] (int64), or [3, B, L] with
  /// M-RoPE.
  torch::Tensor apply(const torch::Tensor& x, const torch::Tensor& positions) const;
  /// Largest supported position + 1.
  std::int64_t max_positions() const { return cos_.size(0); }
  /// Whether positions are 3-D (M-RoPE).
  bool multimodal() const { return !options_.mrope_section.empty(); }

 private:
  torch::Tensor cos_;
  torch::Tensor sin_;
  RotaryOptions options_;
};

/// Rotates x [..., L, D] by cos, sin broadcastable to it (rotate-half layout).
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

/// Per-layer key/value cache for incremental decoding.
struct KVCache {
  std::vector<torch::Tensor> keys;
  std::vector<torch::Tensor> values;
  /// Cached positions (sequence length so far).
  std::int64_t length = 0;
  /// M-RoPE: position offset of decoded tokens per row [B, 1] (max prompt position + 1 - length).
  torch::Tensor rope_deltas;
  /// Drops everything.
  void clear() {
    keys.clear();
    values.clear();
    length = 0;
    rope_deltas = torch::Tensor();
  }
};

/// Options of the decoder attention.
struct AttentionOptions {
  std::int64_t hidden = 128;
  std::int64_t heads = 4;
  std::int64_t kv_heads = 2;
  bool qkv_bias = true;
};

/// Grouped-query causal self-attention with rotary positions and hook points
/// hook_q, hook_k, hook_v ([B, H, L, D] after rotation), hook_pattern ([B, H, Lq, Lk]) and
/// hook_z ([B, H, Lq, D]).
class AttentionImpl : public torch::nn::Module {
 public:
  /// Creates the projections.
  explicit AttentionImpl(const AttentionOptions& options);
  /// x [B, L, hidden]; positions [B, L]; key_mask [B, Lk] bool (true = attend), may be undefined;
  /// cache/layer for incremental decoding (may be null).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& positions,
                        const torch::Tensor& key_mask, const Rotary& rotary, KVCache* cache,
                        int layer);
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  HookPoint hook_q, hook_k, hook_v, hook_pattern, hook_z;

 private:
  AttentionOptions options_;
};
TORCH_MODULE(Attention);

/// SwiGLU MLP: down(SiLU(gate(x)) * up(x)); hook_pre is gate(x), hook_post is SiLU(gate(x))
/// (the MINER neuron).
class GatedMlpImpl : public torch::nn::Module {
 public:
  /// hidden -> intermediate -> hidden, no biases.
  GatedMlpImpl(std::int64_t hidden, std::int64_t intermediate);
  /// Applies the MLP.
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  HookPoint hook_pre, hook_post;
};
TORCH_MODULE(GatedMlp);

/// A Qwen2 decoder block with residual-stream hooks hook_resid_pre, hook_attn_out,
/// hook_resid_mid, hook_mlp_out, hook_resid_post.
class DecoderBlockImpl : public torch::nn::Module {
 public:
  /// Creates the block.
  DecoderBlockImpl(const AttentionOptions& attention, std::int64_t intermediate, double eps);
  /// Applies the block (see AttentionImpl::forward for the arguments).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& positions,
                        const torch::Tensor& key_mask, const Rotary& rotary, KVCache* cache,
                        int layer);
  RMSNorm ln1{nullptr}, ln2{nullptr};
  Attention attn{nullptr};
  GatedMlp mlp{nullptr};
  HookPoint hook_resid_pre, hook_attn_out, hook_resid_mid, hook_mlp_out, hook_resid_post;
};
TORCH_MODULE(DecoderBlock);

/// Options of an encoder block (vision or audio tower).
struct EncoderOptions {
  std::int64_t hidden = 96;
  std::int64_t heads = 4;
  std::int64_t intermediate = 256;
  /// One fused qkv projection named "qkv" + "proj" (Qwen2-VL vision) instead of
  /// q_proj/k_proj/v_proj/out_proj (Whisper / Qwen2-Audio).
  bool fused_qkv = false;
  double eps = 1e-5;
  /// MLP activation: "gelu" (exact, Whisper) or "quick_gelu" (x sigmoid(1.702 x), Qwen2-VL).
  std::string activation = "gelu";
};

/// Per-call inputs of an encoder block besides x.
struct EncoderContext {
  /// Rotary tables cos, sin [L, head_dim] applied to queries and keys (undefined: none).
  torch::Tensor cos, sin;
  /// Which keys each query sees: bool broadcastable to [B, heads, L, L], true = attend
  /// (undefined: all).
  torch::Tensor mask;
};

/// Bidirectional multi-head self-attention for encoders, with hook_pattern and hook_z.
class EncoderAttentionImpl : public torch::nn::Module {
 public:
  /// Creates the projections.
  explicit EncoderAttentionImpl(const EncoderOptions& options);
  /// x [B, L, hidden] -> [B, L, hidden].
  torch::Tensor forward(const torch::Tensor& x, const EncoderContext& context = {});
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  HookPoint hook_pattern, hook_z;

 private:
  EncoderOptions options_;
};
TORCH_MODULE(EncoderAttention);

/// GELU MLP fc2(GELU(fc1(x))) with hook_pre and hook_post (after the activation).
class MlpImpl : public torch::nn::Module {
 public:
  /// hidden -> intermediate -> hidden with biases; activation "gelu" or "quick_gelu".
  MlpImpl(std::int64_t hidden, std::int64_t intermediate, const std::string& activation = "gelu");
  /// Applies the MLP.
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  HookPoint hook_pre, hook_post;

 private:
  bool quick_gelu_ = false;
};
TORCH_MODULE(Mlp);

/// Pre-LayerNorm encoder block: x + attn(ln1(x)), then + mlp(ln2(x)); residual hooks as the
/// decoder block.
class EncoderBlockImpl : public torch::nn::Module {
 public:
  /// Creates the block.
  explicit EncoderBlockImpl(const EncoderOptions& options);
  /// Applies the block.
  torch::Tensor forward(const torch::Tensor& x, const EncoderContext& context = {});
  torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
  EncoderAttention attn{nullptr};
  Mlp mlp{nullptr};
  HookPoint hook_resid_pre, hook_attn_out, hook_resid_mid, hook_mlp_out, hook_resid_post;
};
TORCH_MODULE(EncoderBlock);

}  // namespace clearsight::nn
