// Qwen2-Audio's audio tower exactly as Hugging Face defines it (a Whisper-large-style encoder):
// conv (k3) + GELU, strided conv (k3, s2) + GELU, learned positions, pre-LayerNorm layers whose
// attention ignores the padded frames, AvgPool1d(2), final LayerNorm. The projector is
// mm::Projector (one linear layer).
#pragma once

#include <torch/torch.h>

#include "clearsight/nn/hook_point.h"

namespace clearsight::mm {

/// audio_config of a Qwen2-Audio checkpoint.
struct Qwen2AudioEncoderConfig {
  bool enabled = false;
  std::int64_t num_mel_bins = 128;
  std::int64_t encoder_layers = 32;
  std::int64_t encoder_attention_heads = 20;
  std::int64_t encoder_ffn_dim = 5120;
  std::int64_t d_model = 1280;
  std::int64_t max_source_positions = 1500;
  /// Throws ConfigError naming the first field out of range.
  void validate() const;
};

/// (frames after the strided convolution, audio tokens) of L real mel frames:
/// ((L - 1) / 2 + 1, ((L - 1) / 2 + 1 - 2) / 2 + 1), elementwise on int64 tensors.
std::pair<torch::Tensor, torch::Tensor> qwen2_audio_lengths(const torch::Tensor& mel_frames);

/// The encoder.
class Qwen2AudioEncoderImpl : public torch::nn::Module {
 public:
  /// Creates the encoder.
  explicit Qwen2AudioEncoderImpl(const Qwen2AudioEncoderConfig& config);
  /// input_features [B, mel bins, 2 max_source_positions], feature_attention_mask [B, frames]
  /// -> [B, max_source_positions / 2, d_model] (all pooled frames; the first
  /// qwen2_audio_lengths(mask.sum(1)).second of each row are real).
  torch::Tensor forward(const torch::Tensor& input_features,
                        const torch::Tensor& feature_attention_mask);

  /// The log-mel features [B, bins, frames] (where audio attributions land).
  nn::HookPoint hook_mel{nullptr};
  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
  torch::Tensor embed_positions;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  nn::HookPoint hook_frames{nullptr};

 private:
  Qwen2AudioEncoderConfig config_;
};
TORCH_MODULE(Qwen2AudioEncoder);

}  // namespace clearsight::mm
