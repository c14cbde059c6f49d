// The modality towers feeding the language model: a Qwen2-VL-shaped vision tower (images and
// videos) and a Whisper / Qwen2-Audio-shaped audio tower with a log-mel front end.
#pragma once

#include <torch/torch.h>

#include "clearsight/mm/config.h"
#include "clearsight/nn/transformer.h"

namespace clearsight::mm {

/// Log-mel spectrogram in the Whisper convention: power STFT (Hann window, centred), slaney mel
/// filterbank, log10 clamped to 8 below the maximum, then (x + 4) / 4.
class LogMel {
 public:
  /// Precomputes the window and filterbank.
  explicit LogMel(const AudioConfig& config);
  /// waveforms [B, max_samples] float32 -> [B, num_mel_bins, frames].
  torch::Tensor operator()(const torch::Tensor& waveforms) const;
  /// The [num_mel_bins, n_fft / 2 + 1] filterbank.
  const torch::Tensor& filters() const { return filters_; }

 private:
  AudioConfig config_;
  torch::Tensor window_;
  torch::Tensor filters_;
};

/// Slaney-style mel filterbank (as librosa's default) of shape [n_mels, n_fft / 2 + 1].
torch::Tensor mel_filterbank(std::int64_t sample_rate, std::int64_t n_fft, std::int64_t n_mels);
/// The same filterbank in float64 (Whisper's feature extractor computes in double).
torch::Tensor mel_filterbank_f64(std::int64_t sample_rate, std::int64_t n_fft, std::int64_t n_mels);

/// ViT over image/video patches; returns per-patch features before merging.
/// Patches are ordered so that each spatial_merge_size^2 window is contiguous (as Qwen2-VL).
class VisionTowerImpl : public torch::nn::Module {
 public:
  /// Creates the tower.
  explicit VisionTowerImpl(const VisionConfig& config);
  /// frames [N, T, C, H, W] float (normalised), T a multiple of temporal_patch_size
  /// -> [N, patches, hidden].
  torch::Tensor forward(const torch::Tensor& frames);
  /// Converts uint8 images [N, C, H, W] to normalised float frames [N, temporal, C, H, W].
  torch::Tensor prepare_images(const torch::Tensor& images) const;
  /// Converts uint8 videos [N, T, C, H, W] to normalised float frames.
  torch::Tensor prepare_videos(const torch::Tensor& videos) const;

  /// Normalised input frames [N, T, C, H, W] (where pixel attributions land).
  nn::HookPoint hook_pixels{nullptr};
  torch::nn::Linear patch_embed{nullptr};
  torch::Tensor pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  nn::HookPoint hook_patches{nullptr};

 private:
  VisionConfig config_;
};
TORCH_MODULE(VisionTower);

/// Whisper-style audio encoder: conv (k3) + GELU, strided conv (k3, s2) + GELU, learned positions,
/// encoder blocks, final LayerNorm, average pooling by 2.
class AudioTowerImpl : public torch::nn::Module {
 public:
  /// Creates the tower.
  explicit AudioTowerImpl(const AudioConfig& config);
  /// waveforms [N, max_samples] float32 -> [N, tokens_per_clip, d_model].
  torch::Tensor forward(const torch::Tensor& waveforms);
  /// The log-mel front end (hook_mel sees its output).
  const LogMel& log_mel() const { return log_mel_; }

  torch::nn::Conv1d conv1{nullptr}, conv2{nullptr};
  torch::Tensor embed_positions;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  nn::HookPoint hook_mel{nullptr};

 private:
  AudioConfig config_;
  LogMel log_mel_;
};
TORCH_MODULE(AudioTower);

/// Maps tower features to LM embeddings: for vision, LayerNorm + spatial merge + 2-layer MLP
/// (Qwen2-VL's merger); for audio, one linear layer (Qwen2-Audio's projector). hook_out holds the
/// LM-space tokens.
class ProjectorImpl : public torch::nn::Module {
 public:
  /// A vision merger (merge > 1) or a linear audio projector (merge == 1).
  ProjectorImpl(std::int64_t in_features, std::int64_t out_features, std::int64_t merge);
  /// [N, patches, in] -> [N, patches / merge^2, out].
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::LayerNorm ln_q{nullptr};
  torch::nn::Linear mlp0{nullptr}, mlp2{nullptr}, linear{nullptr};
  nn::HookPoint hook_out{nullptr};

 private:
  std::int64_t merge_;
};
TORCH_MODULE(Projector);

}  // namespace clearsight::mm
