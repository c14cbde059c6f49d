#include "clearsight/mm/qwen2_audio.h"

#include "clearsight/core/error.h"
#include "clearsight/nn/transformer.h"

namespace clearsight::mm {

void Qwen2AudioEncoderConfig::validate() const {
  const auto positive = [](const char* name, std::int64_t v) {
    CS_CHECK_AS(ConfigError, v >= 1, "audio_config.", name, " must be >= 1 (got ", v, ")");
  };
  positive("num_mel_bins", num_mel_bins);
  positive("encoder_layers", encoder_layers);
  positive("encoder_attention_heads", encoder_attention_heads);
  positive("encoder_ffn_dim", encoder_ffn_dim);
  positive("d_model", d_model);
  positive("max_source_positions", max_source_positions);
  CS_CHECK_AS(ConfigError, d_model % encoder_attention_heads == 0, "audio_config.d_model (",
              d_model, ") must divide by encoder_attention_heads (", encoder_attention_heads, ")");
  CS_CHECK_AS(ConfigError, max_source_positions % 2 == 0,
              "audio_config.max_source_positions must be even (average pooling by 2)");
}

std::pair<torch::Tensor, torch::Tensor> qwen2_audio_lengths(const torch::Tensor& mel_frames) {
  const auto conv = torch::div(mel_frames - 1, 2, "floor") + 1;
  return {conv, torch::div(conv - 2, 2, "floor") + 1};
}

Qwen2AudioEncoderImpl::Qwen2AudioEncoderImpl(const Qwen2AudioEncoderConfig& config)
    : config_(config) {
  config_.validate();
  const auto d = config_.d_model;
  hook_mel = register_module("hook_mel", nn::HookPoint());
  conv1 = register_module(
      "conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(config_.num_mel_bins, d, 3).padding(1)));
  conv2 = register_module(
      "conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(d, d, 3).stride(2).padding(1)));
  embed_positions =
      register_parameter("embed_positions", torch::zeros({config_.max_source_positions, d}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  nn::EncoderOptions o;
  o.hidden = d;
  o.heads = config_.encoder_attention_heads;
  o.intermediate = config_.encoder_ffn_dim;
  o.fused_qkv = false;
  o.eps = 1e-5;
  for (std::int64_t i = 0; i < config_.encoder_layers; ++i) blocks->push_back(nn::EncoderBlock(o));
  layer_norm = register_module("layer_norm",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({d}).eps(1e-5)));
  hook_frames = register_module("hook_frames", nn::HookPoint());
}

torch::Tensor Qwen2AudioEncoderImpl::forward(const torch::Tensor& input_features,
                                             const torch::Tensor& feature_attention_mask) {
  const auto frames = 2 * config_.max_source_positions;
  CS_CHECK_AS(ShapeError,
              input_features.dim() == 3 && input_features.size(1) == config_.num_mel_bins &&
                  input_features.size(2) == frames,
              "input_features must be [B, ", config_.num_mel_bins, ", ", frames, "], got ",
              input_features.sizes());
  CS_CHECK_AS(ShapeError,
              feature_attention_mask.dim() == 2 &&
                  feature_attention_mask.size(0) == input_features.size(0) &&
                  feature_attention_mask.size(1) == frames,
              "feature_attention_mask must be [B, ", frames, "]");
  const auto dtype = conv1->weight.scalar_type();
  auto x = hook_mel(input_features.to(dtype));
  x = torch::gelu(conv1(x));
  x = torch::gelu(conv2(x)).permute({0, 2, 1});  // [B, T, d]
  const auto t = x.size(1);
  x = x + embed_positions.narrow(0, 0, t);
  // Padded frames are masked as keys for every query.
  const auto real = qwen2_audio_lengths(feature_attention_mask.to(torch::kInt64).sum(1)).first;
  nn::EncoderContext context;
  context.mask = (torch::arange(t, torch::kInt64).to(x.device()).unsqueeze(0) <
                  real.to(x.device()).unsqueeze(1))
                     .unsqueeze(1)
                     .unsqueeze(1);  // [B, 1, 1, T]
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    x = blocks[i]->as<nn::EncoderBlock>()->forward(x, context);
  }
  x = torch::avg_pool1d(x.permute({0, 2, 1}), 2, 2).permute({0, 2, 1});
  return hook_frames(layer_norm(x));
}

}  // namespace clearsight::mm
