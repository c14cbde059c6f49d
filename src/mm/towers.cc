#include "clearsight/mm/towers.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::mm {
namespace {

// Slaney mel scale: linear below 1 kHz, logarithmic above.
double hz_to_mel(double hz) {
  constexpr double kMinLogHz = 1000.0, kStep = 200.0 / 3.0;
  const double min_log_mel = kMinLogHz / kStep;
  const double log_step = std::log(6.4) / 27.0;
  return hz < kMinLogHz ? hz / kStep : min_log_mel + std::log(hz / kMinLogHz) / log_step;
}

double mel_to_hz(double mel) {
  constexpr double kMinLogHz = 1000.0, kStep = 200.0 / 3.0;
  const double min_log_mel = kMinLogHz / kStep;
  const double log_step = std::log(6.4) / 27.0;
  return mel < min_log_mel ? mel * kStep : kMinLogHz * std::exp(log_step * (mel - min_log_mel));
}

// CLIP image statistics, as Qwen2-VL's processor uses.
constexpr double kMean[3] = {0.48145466, 0.4578275, 0.40821073};
constexpr double kStd[3] = {0.26862954, 0.26130258, 0.27577711};

}  // namespace

torch::Tensor mel_filterbank(std::int64_t sample_rate, std::int64_t n_fft, std::int64_t n_mels) {
  return mel_filterbank_f64(sample_rate, n_fft, n_mels).to(torch::kFloat32);
}

torch::Tensor mel_filterbank_f64(std::int64_t sample_rate, std::int64_t n_fft,
                                 std::int64_t n_mels) {
  const std::int64_t bins = n_fft / 2 + 1;
  auto filters = torch::zeros({n_mels, bins}, torch::kFloat64);
  auto f = filters.accessor<double, 2>();
  const double mel_max = hz_to_mel(sample_rate / 2.0);
  std::vector<double> hz(n_mels + 2);
  for (std::int64_t i = 0; i < n_mels + 2; ++i) hz[i] = mel_to_hz(mel_max * i / (n_mels + 1));
  for (std::int64_t m = 0; m < n_mels; ++m) {
    const double lo = hz[m], center = hz[m + 1], hi = hz[m + 2];
    const double norm = 2.0 / (hi - lo);  // Slaney area normalisation.
    for (std::int64_t k = 0; k < bins; ++k) {
      const double freq = static_cast<double>(k) * sample_rate / n_fft;
      const double up = (freq - lo) / (center - lo);
      const double down = (hi - freq) / (hi - center);
      f[m][k] = std::max(0.0, std::min(up, down)) * norm;
    }
  }
  return filters;
}

LogMel::LogMel(const AudioConfig& config)
    : config_(config),
      window_(torch::hann_window(config.n_fft, torch::TensorOptions().dtype(torch::kFloat32))),
      filters_(mel_filterbank(config.sample_rate, config.n_fft, config.num_mel_bins)) {}

torch::Tensor LogMel::operator()(const torch::Tensor& waveforms) const {
  CS_CHECK_AS(ShapeError, waveforms.dim() == 2 && waveforms.size(1) == config_.max_samples,
              "audio batch has shape ", waveforms.sizes(), ", expected [N, ", config_.max_samples,
              "]");
  const auto spec = torch::stft(waveforms.to(torch::kFloat32), config_.n_fft, config_.hop_length,
                                config_.n_fft, window_.to(waveforms.device()), /*center=*/true,
                                /*pad_mode=*/"reflect", /*normalized=*/false, /*onesided=*/true,
                                /*return_complex=*/true);
  // Drop the last frame, as Whisper does: frames = max_samples / hop_length.
  const auto power = spec.abs().pow(2).narrow(-1, 0, config_.frames());
  const auto mel = torch::matmul(filters_.to(power.device()), power);
  auto log_spec = torch::clamp_min(mel, 1e-10).log10();
  const auto max = std::get<0>(log_spec.flatten(1).max(1)).view({-1, 1, 1});
  log_spec = torch::maximum(log_spec, max - 8.0);
  return (log_spec + 4.0) / 4.0;
}

VisionTowerImpl::VisionTowerImpl(const VisionConfig& config) : config_(config) {
  const auto patch_dim =
      config.in_channels * config.temporal_patch_size * config.patch_size * config.patch_size;
  const auto grid = config.image_size / config.patch_size;
  const auto temporal = config.max_frames / config.temporal_patch_size;
  hook_pixels = register_module("hook_pixels", nn::HookPoint());
  patch_embed = register_module(
      "patch_embed",
      torch::nn::Linear(torch::nn::LinearOptions(patch_dim, config.hidden_size).bias(false)));
  pos_embed = register_parameter("pos_embed",
                                 torch::randn({temporal * grid * grid, config.hidden_size}) * 0.02);
  hook_patches = register_module("hook_patches", nn::HookPoint());
  blocks = register_module("blocks", torch::nn::ModuleList());
  nn::EncoderOptions o;
  o.hidden = config.hidden_size;
  o.heads = config.num_heads;
  o.intermediate = config.intermediate_size;
  o.fused_qkv = true;
  o.eps = 1e-6;
  for (std::int64_t i = 0; i < config.depth; ++i) blocks->push_back(nn::EncoderBlock(o));
}

torch::Tensor VisionTowerImpl::prepare_images(const torch::Tensor& images) const {
  CS_CHECK_AS(ShapeError,
              images.dim() == 4 && images.size(1) == config_.in_channels &&
                  images.size(2) == config_.image_size && images.size(3) == config_.image_size,
              "images have shape ", images.sizes(), ", expected [N, ", config_.in_channels, ", ",
              config_.image_size, ", ", config_.image_size, "]");
  // An image is a clip of temporal_patch_size identical frames (as Qwen2-VL).
  return prepare_videos(images.unsqueeze(1).expand({-1, config_.temporal_patch_size, -1, -1, -1}));
}

torch::Tensor VisionTowerImpl::prepare_videos(const torch::Tensor& videos) const {
  CS_CHECK_AS(ShapeError,
              videos.dim() == 5 && videos.size(2) == config_.in_channels &&
                  videos.size(3) == config_.image_size && videos.size(4) == config_.image_size &&
                  videos.size(1) % config_.temporal_patch_size == 0 &&
                  videos.size(1) <= config_.max_frames,
              "videos have shape ", videos.sizes(), ", expected [N, T <= ", config_.max_frames,
              " (multiple of ", config_.temporal_patch_size, "), ", config_.in_channels, ", ",
              config_.image_size, ", ", config_.image_size, "]");
  auto x = videos.to(torch::kFloat32) / 255.0;
  const auto mean =
      torch::tensor({kMean[0], kMean[1], kMean[2]}, torch::kFloat32).view({1, 1, 3, 1, 1});
  const auto std =
      torch::tensor({kStd[0], kStd[1], kStd[2]}, torch::kFloat32).view({1, 1, 3, 1, 1});
  return (x - mean.to(x.device())) / std.to(x.device());
}

torch::Tensor VisionTowerImpl::forward(const torch::Tensor& input_frames) {
  const auto frames = hook_pixels(input_frames);
  const auto n = frames.size(0);
  const auto tp = config_.temporal_patch_size;
  const auto p = config_.patch_size;
  const auto m = config_.spatial_merge_size;
  const auto c = config_.in_channels;
  const auto t = frames.size(1) / tp;
  const auto g = config_.image_size / p;
  // [N, t, tp, C, g/m, m, p, g/m, m, p] -> [N, t, g/m, g/m, m, m, C, tp, p, p]: each merge window
  // is contiguous and each patch is flattened channel-major (the Conv3d weight layout).
  auto x = frames.reshape({n, t, tp, c, g / m, m, p, g / m, m, p})
               .permute({0, 1, 4, 7, 5, 8, 3, 2, 6, 9})
               .reshape({n, t * g * g, c * tp * p * p});
  x = hook_patches(patch_embed(x) + pos_embed.narrow(0, 0, t * g * g));
  for (const auto& block : *blocks) x = block->as<nn::EncoderBlock>()->forward(x);
  return x;
}

AudioTowerImpl::AudioTowerImpl(const AudioConfig& config) : config_(config), log_mel_(config) {
  conv1 = register_module(
      "conv1", torch::nn::Conv1d(
                   torch::nn::Conv1dOptions(config.num_mel_bins, config.d_model, 3).padding(1)));
  conv2 = register_module(
      "conv2",
      torch::nn::Conv1d(
          torch::nn::Conv1dOptions(config.d_model, config.d_model, 3).stride(2).padding(1)));
  embed_positions = register_parameter("embed_positions",
                                       torch::randn({config.frames() / 2, config.d_model}) * 0.02);
  hook_mel = register_module("hook_mel", nn::HookPoint());
  blocks = register_module("blocks", torch::nn::ModuleList());
  nn::EncoderOptions o;
  o.hidden = config.d_model;
  o.heads = config.encoder_attention_heads;
  o.intermediate = config.encoder_ffn_dim;
  o.fused_qkv = false;
  for (std::int64_t i = 0; i < config.encoder_layers; ++i) blocks->push_back(nn::EncoderBlock(o));
  layer_norm = register_module("layer_norm",
                               torch::nn::LayerNorm(torch::nn::LayerNormOptions({config.d_model})));
}

torch::Tensor AudioTowerImpl::forward(const torch::Tensor& waveforms) {
  const auto mel = hook_mel(log_mel_(waveforms));  // [N, mels, frames]
  auto x = torch::gelu(conv1(mel));
  // GELU after the transpose: LibTorch 1.13's GELU backward returns wrong input gradients when
  // the incoming gradient is non-contiguous (a transposed view); the forward is identical.
  x = torch::gelu(conv2(x).transpose(1, 2));  // [N, frames / 2, d]
  x = x + embed_positions;
  for (const auto& block : *blocks) x = block->as<nn::EncoderBlock>()->forward(x);
  x = layer_norm(x);
  return torch::avg_pool1d(x.transpose(1, 2), 2, 2).transpose(1, 2);  // [N, frames / 4, d]
}

ProjectorImpl::ProjectorImpl(std::int64_t in_features, std::int64_t out_features,
                             std::int64_t merge)
    : merge_(merge) {
  if (merge > 1) {
    const auto merged = in_features * merge * merge;
    ln_q = register_module(
        "ln_q", torch::nn::LayerNorm(torch::nn::LayerNormOptions({in_features}).eps(1e-6)));
    mlp0 = register_module("mlp0", torch::nn::Linear(merged, merged));
    mlp2 = register_module("mlp2", torch::nn::Linear(merged, out_features));
  } else {
    linear = register_module("linear", torch::nn::Linear(in_features, out_features));
  }
  hook_out = register_module("hook_out", nn::HookPoint());
}

torch::Tensor ProjectorImpl::forward(const torch::Tensor& x) {
  if (merge_ == 1) return hook_out(linear(x));
  const auto n = x.size(0);
  const auto groups = x.size(1) / (merge_ * merge_);
  auto merged = ln_q(x).reshape({n, groups, -1});
  return hook_out(mlp2(torch::gelu(mlp0(merged))));
}

}  // namespace clearsight::mm
