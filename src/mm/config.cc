#include "clearsight/mm/config.h"

#include <algorithm>
#include "clearsight/core/atomic_file.h"

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::mm {

std::int64_t VisionConfig::tokens_per_image() const {
  const auto grid = image_size / patch_size;
  return grid * grid / (spatial_merge_size * spatial_merge_size);
}

std::int64_t VisionConfig::tokens_per_video() const {
  return tokens_per_image() * (max_frames / temporal_patch_size);
}

void ModelConfig::validate() const {
  // ClearSight's own families and the Hugging Face architectures it implements exactly.
  static const std::vector<std::string> kTypes = {"clearsight_mm", "clearsight_vl",
                                                  "clearsight_audio", "qwen2_vl", "qwen2_audio"};
  CS_CHECK_AS(ConfigError, std::find(kTypes.begin(), kTypes.end(), model_type) != kTypes.end(),
              "model config: unknown model_type '", model_type, "' (expected one of ",
              join(kTypes, ", "), ")");
  CS_CHECK_AS(ConfigError,
              vocab_size > 0 && hidden_size > 0 && intermediate_size > 0 && num_hidden_layers > 0,
              "model config: sizes must be positive");
  CS_CHECK_AS(ConfigError, num_attention_heads > 0 && num_key_value_heads > 0,
              "model config: num_attention_heads (", num_attention_heads,
              ") and num_key_value_heads (", num_key_value_heads, ") must be positive");
  CS_CHECK_AS(ConfigError, rms_norm_eps > 0 && rope_theta > 0 && max_position_embeddings > 0,
              "model config: rms_norm_eps, rope_theta and max_position_embeddings must be > 0");
  CS_CHECK_AS(ConfigError,
              hidden_size % num_attention_heads == 0 &&
                  num_attention_heads % num_key_value_heads == 0 &&
                  (hidden_size / num_attention_heads) % 2 == 0,
              "model config: hidden_size ", hidden_size, " must split into ", num_attention_heads,
              " heads of even size, and heads into ", num_key_value_heads, " kv heads");
  const auto positive = [](const char* what, const char* field, std::int64_t value) {
    CS_CHECK_AS(ConfigError, value > 0, "model config: ", what, ".", field, " must be >= 1, got ",
                value);
  };
  if (vision_config.enabled) {
    const auto& v = vision_config;
    for (const auto& [field, value] :
         {std::pair<const char*, std::int64_t>{"image_size", v.image_size},
          {"patch_size", v.patch_size},
          {"temporal_patch_size", v.temporal_patch_size},
          {"spatial_merge_size", v.spatial_merge_size},
          {"in_channels", v.in_channels},
          {"hidden_size", v.hidden_size},
          {"depth", v.depth},
          {"num_heads", v.num_heads},
          {"intermediate_size", v.intermediate_size},
          {"max_frames", v.max_frames}}) {
      positive("vision_config", field, value);
    }
    CS_CHECK_AS(ConfigError,
                v.image_size % (v.patch_size * v.spatial_merge_size) == 0 &&
                    v.max_frames % v.temporal_patch_size == 0 && v.hidden_size % v.num_heads == 0,
                "vision config: image_size must divide by patch_size x spatial_merge_size, "
                "max_frames by temporal_patch_size, hidden_size by num_heads");
  }
  if (audio_config.enabled) {
    const auto& a = audio_config;
    for (const auto& [field, value] :
         {std::pair<const char*, std::int64_t>{"sample_rate", a.sample_rate},
          {"n_fft", a.n_fft},
          {"hop_length", a.hop_length},
          {"num_mel_bins", a.num_mel_bins},
          {"max_samples", a.max_samples},
          {"d_model", a.d_model},
          {"encoder_layers", a.encoder_layers},
          {"encoder_attention_heads", a.encoder_attention_heads},
          {"encoder_ffn_dim", a.encoder_ffn_dim}}) {
      positive("audio_config", field, value);
    }
    CS_CHECK_AS(ConfigError,
                a.max_samples % (4 * a.hop_length) == 0 &&
                    a.d_model % a.encoder_attention_heads == 0 && a.n_fft > a.hop_length,
                "audio config: max_samples must divide by 4 x hop_length and d_model by heads");
  }
}

ModelConfig load_model_config(const std::filesystem::path& path) {
  return config::from_json<ModelConfig>(config::load_file(path), "config");
}

void save_model_config(const ModelConfig& config, const std::filesystem::path& path) {
  atomic_write(path, config::to_json(config).dump(2) + "\n");
}

}  // namespace clearsight::mm
