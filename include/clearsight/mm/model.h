// The hookable multimodal language model: a Qwen2 decoder whose prompt embeddings at
// <|image_pad|>, <|video_pad|> and <|AUDIO|> positions are replaced by projected tower outputs.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/mm/config.h"
#include "clearsight/mm/qwen2_audio.h"
#include "clearsight/mm/qwen2_vision.h"
#include "clearsight/mm/tokenizer.h"
#include "clearsight/mm/towers.h"
#include "clearsight/nn/hooked_module.h"
#include "clearsight/nn/transformer.h"

namespace clearsight::mm {

/// A batch of prompts (right-padded) with their media in order of appearance.
struct MmInputs {
  /// [B, L] int64 token ids.
  torch::Tensor input_ids;
  /// [B, L] bool, true for real tokens (undefined = all real).
  torch::Tensor attention_mask;
  /// [Ni, 3, H, W] uint8, one per <|vision_start|><|image_pad|>... group (undefined if none).
  torch::Tensor images;
  /// [Nv, T, 3, H, W] uint8.
  torch::Tensor videos;
  /// [Na, max_samples] float32 (shorter clips zero-padded).
  torch::Tensor audios;
  /// Processed Qwen2-VL inputs (Hugging Face checkpoints): patches [N, patch_dim] of all images
  /// and their grids [Ni, 3] (t, h, w); the same for videos.
  torch::Tensor pixel_values, image_grid_thw;
  torch::Tensor pixel_values_videos, video_grid_thw;
  /// Processed Qwen2-Audio inputs: Whisper features [Na, bins, frames] and frame masks [Na,
  /// frames].
  torch::Tensor input_features, feature_attention_mask;
};

/// Greedy decoding settings.
struct GenerateOptions {
  int max_new_tokens = 16;
};

/// The multimodal model. Hook names: hook_embed; blocks.{i}.{hook_resid_pre, attn.hook_pattern,
/// mlp.hook_post, ...}; hook_final; vision.blocks.{i}...; audio.blocks.{i}...; projector.hook_out.
class MultimodalModel : public nn::HookedModule {
 public:
  /// Creates a randomly initialised model (seeded by torch's generator); initialise = false
  /// skips the model's own N(0, 0.02) pass when every weight is about to be loaded.
  explicit MultimodalModel(ModelConfig config, bool initialise = true);

  /// Logits [B, L, vocab] for a batch; cache enables incremental decoding.
  torch::Tensor forward(const MmInputs& inputs, nn::KVCache* cache = nullptr);
  /// Embeddings [B, L, hidden] of the prompt with media spliced in (hook_embed applied).
  torch::Tensor embed(const MmInputs& inputs);
  /// Greedy generation for a batch of prompts (left-padded internally); returns generated ids
  /// per prompt, stopping at <|im_end|> (not included).
  std::vector<std::vector<std::int64_t>> generate(
      const std::vector<std::vector<std::int64_t>>& prompts, const MmInputs& media,
      const GenerateOptions& options, std::int64_t eos_id);

  /// The configuration.
  const ModelConfig& config() const { return config_; }
  /// Media token counts implied by the config.
  MediaTokens media_tokens() const;
  /// Number of LM MLP neurons per layer (intermediate_size).
  std::int64_t neurons_per_layer() const { return config_.intermediate_size; }

  /// Position ids of a batch: [B, L], or [3, B, L] for M-RoPE (with its rope deltas [B, 1]).
  std::pair<torch::Tensor, torch::Tensor> positions(const MmInputs& inputs) const;

  torch::nn::Embedding embed_tokens{nullptr};
  nn::HookPoint hook_embed{nullptr};
  VisionTower vision{nullptr};
  /// Qwen2-VL's vision tower (Hugging Face checkpoints), registered as "vision".
  Qwen2VisionTower qwen2_vision{nullptr};
  /// Qwen2-Audio's audio tower (Hugging Face checkpoints), registered as "audio".
  Qwen2AudioEncoder qwen2_audio{nullptr};
  AudioTower audio{nullptr};
  Projector projector{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  nn::RMSNorm ln_final{nullptr};
  nn::HookPoint hook_final{nullptr};
  torch::nn::Linear lm_head{nullptr};

 private:
  torch::Tensor decode(torch::Tensor x, const torch::Tensor& positions,
                       const torch::Tensor& key_mask, nn::KVCache* cache);
  ModelConfig config_;
  std::unique_ptr<nn::Rotary> rotary_;
  std::int64_t image_pad_id_ = 6;
  std::int64_t video_pad_id_ = 7;
  std::int64_t audio_id_ = 9;
};

/// Saves weights (Hugging Face parameter names, safetensors) and config.json into dir.
void save_model(const MultimodalModel& model, const std::filesystem::path& dir,
                const std::map<std::string, std::string>& metadata = {});

/// Loads config.json and model.safetensors from dir; throws on missing/extra/mis-shaped weights.
std::shared_ptr<MultimodalModel> load_model(const std::filesystem::path& dir);

/// Hugging Face name of one of this model's parameters ("blocks.0.attn.q_proj.weight" ->
/// "model.layers.0.self_attn.q_proj.weight").
std::string to_hf_name(const std::string& name, const ModelConfig& config);

}  // namespace clearsight::mm
