// Whisper's feature extractor as transformers computes it (the numpy path, in float64): 16 kHz
// waveforms padded to n_samples, centred reflect-padded STFT with a periodic Hann window, the last
// frame dropped, power spectrum, Slaney mel filterbank, log10 clamped at 1e-10, floor at the
// maximum - 8, then (x + 4) / 4; plus the frame mask of the real samples.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

namespace clearsight::mm {

/// preprocessor_config.json of a Qwen2-Audio / Whisper checkpoint.
struct WhisperFeatureConfig {
  std::int64_t feature_size = 128;
  std::int64_t sampling_rate = 16000;
  std::int64_t hop_length = 160;
  std::int64_t n_fft = 400;
  std::int64_t n_samples = 480000;
  double padding_value = 0.0;
  /// Frames per clip (n_samples / hop_length).
  std::int64_t frames() const { return n_samples / hop_length; }
};

/// Reads preprocessor_config.json; throws IoError / ConfigError naming the field.
WhisperFeatureConfig load_whisper_feature_extractor(const std::filesystem::path& path);

/// Features of a batch.
struct WhisperFeatures {
  /// [B, feature_size, frames] float32.
  torch::Tensor input_features;
  /// [B, frames] int64: 1 for frames of real samples (every hop_length-th sample's mask).
  torch::Tensor feature_attention_mask;
};

/// Features of 1-D float waveforms at sampling_rate (longer clips are truncated to n_samples).
/// Throws NumericError on non-finite samples.
WhisperFeatures whisper_features(const std::vector<torch::Tensor>& waveforms,
                                 const WhisperFeatureConfig& config);

}  // namespace clearsight::mm
