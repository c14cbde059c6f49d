// Configuration of the multimodal model, stored as config.json with Hugging Face style keys.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/core/config.h"
#include "clearsight/mm/qwen2_audio.h"
#include "clearsight/mm/qwen2_vision.h"

namespace clearsight::mm {

/// Vision tower (Qwen2-VL shape: ViT over patches, 2x2 patch merger, projector).
struct VisionConfig {
  bool enabled = false;
  std::int64_t image_size = 32;
  std::int64_t patch_size = 4;
  std::int64_t temporal_patch_size = 2;
  std::int64_t spatial_merge_size = 2;
  std::int64_t in_channels = 3;
  std::int64_t hidden_size = 96;
  std::int64_t depth = 2;
  std::int64_t num_heads = 4;
  std::int64_t intermediate_size = 256;
  /// Most frames of a video (temporal patches = max_frames / temporal_patch_size).
  std::int64_t max_frames = 4;

  /// Visits the fields.
  template <typename V>
  void visit(V& v) {
    v("enabled", enabled, "whether the model has a vision tower");
    v("image_size", image_size, "square input size in pixels");
    v("patch_size", patch_size, "spatial patch size");
    v("temporal_patch_size", temporal_patch_size, "frames per temporal patch");
    v("spatial_merge_size", spatial_merge_size, "patches merged per side into one LM token");
    v("in_channels", in_channels, "image channels");
    v("hidden_size", hidden_size, "tower width");
    v("depth", depth, "tower blocks");
    v("num_heads", num_heads, "tower attention heads");
    v("intermediate_size", intermediate_size, "tower MLP width");
    v("max_frames", max_frames, "most video frames");
  }
  /// LM tokens per image.
  std::int64_t tokens_per_image() const;
  /// LM tokens per video of max_frames frames.
  std::int64_t tokens_per_video() const;
};

/// Audio tower (Whisper / Qwen2-Audio shape: log-mel, two convolutions, encoder, pooling).
struct AudioConfig {
  bool enabled = false;
  std::int64_t sample_rate = 16000;
  std::int64_t n_fft = 400;
  std::int64_t hop_length = 160;
  std::int64_t num_mel_bins = 40;
  /// Clip length in samples: shorter clips are zero-padded, longer ones rejected.
  std::int64_t max_samples = 32000;
  std::int64_t d_model = 96;
  std::int64_t encoder_layers = 2;
  std::int64_t encoder_attention_heads = 4;
  std::int64_t encoder_ffn_dim = 256;

  /// Visits the fields.
  template <typename V>
  void visit(V& v) {
    v("enabled", enabled, "whether the model has an audio tower");
    v("sample_rate", sample_rate, "Hz");
    v("n_fft", n_fft, "STFT size");
    v("hop_length", hop_length, "STFT hop");
    v("num_mel_bins", num_mel_bins, "mel bands");
    v("max_samples", max_samples, "clip length in samples");
    v("d_model", d_model, "tower width");
    v("encoder_layers", encoder_layers, "tower blocks");
    v("encoder_attention_heads", encoder_attention_heads, "tower attention heads");
    v("encoder_ffn_dim", encoder_ffn_dim, "tower MLP width");
  }
  /// Mel frames of a clip (max_samples / hop_length).
  std::int64_t frames() const { return max_samples / hop_length; }
  /// LM tokens per clip (frames / 2 after the strided convolution, / 2 after pooling).
  std::int64_t tokens_per_clip() const { return frames() / 4; }
};

/// The whole model.
struct ModelConfig {
  std::string model_type = "clearsight_mm";
  std::int64_t vocab_size = 512;
  std::int64_t hidden_size = 128;
  std::int64_t intermediate_size = 512;
  std::int64_t num_hidden_layers = 4;
  std::int64_t num_attention_heads = 4;
  std::int64_t num_key_value_heads = 2;
  std::int64_t max_position_embeddings = 512;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = true;
  VisionConfig vision_config;
  AudioConfig audio_config;

  /// Visits the fields.
  template <typename V>
  void visit(V& v) {
    v("model_type", model_type,
      "clearsight_vl, clearsight_audio, clearsight_mm, qwen2_vl or qwen2_audio");
    v("vocab_size", vocab_size, "tokenizer size");
    v("hidden_size", hidden_size, "LM width");
    v("intermediate_size", intermediate_size, "LM MLP width (neurons per layer)");
    v("num_hidden_layers", num_hidden_layers, "LM blocks");
    v("num_attention_heads", num_attention_heads, "LM query heads");
    v("num_key_value_heads", num_key_value_heads, "LM key/value heads (GQA)");
    v("max_position_embeddings", max_position_embeddings, "longest sequence");
    v("rms_norm_eps", rms_norm_eps, "RMSNorm epsilon");
    v("rope_theta", rope_theta, "rotary base");
    v("tie_word_embeddings", tie_word_embeddings, "share input and output embeddings");
    v("vision_config", vision_config, "vision tower");
    v("audio_config", audio_config, "audio tower");
  }
  /// Throws ConfigError on inconsistent sizes.
  void validate() const;

  // Set when the model comes from a Hugging Face checkpoint (mm::load_hf_config); not part of
  // ClearSight's own config.json.
  /// Qwen2-VL's vision tower (replaces vision_config).
  Qwen2VisionConfig qwen2_vision;
  /// Qwen2-Audio's audio tower (replaces audio_config).
  Qwen2AudioEncoderConfig qwen2_audio;
  /// M-RoPE sections (Qwen2-VL); empty = 1-D rotary positions.
  std::vector<std::int64_t> mrope_section;
  /// Rotary tables in float32 as Hugging Face computes them.
  bool hf_rotary = false;
  /// Token ids of the media pads and vision start (-1: the built-in tokenizer's).
  std::int64_t image_token_id = -1, video_token_id = -1, vision_start_token_id = -1,
               audio_token_id = -1;
  /// Where the checkpoint came from ("" for ClearSight's own models).
  std::string hf_source;
};

/// Reads and validates a config.json.
ModelConfig load_model_config(const std::filesystem::path& path);

/// Writes config.json atomically.
void save_model_config(const ModelConfig& config, const std::filesystem::path& path);

}  // namespace clearsight::mm
