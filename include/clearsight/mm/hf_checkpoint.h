// Hugging Face checkpoint folders (config.json, model.safetensors or a sharded index) of the
// architectures ClearSight implements exactly: Qwen2-VL (model_type qwen2_vl) and Qwen2-Audio
// (qwen2_audio). The hub's weight names and the newer model.language_model.* / model.visual.*
// names both load.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <string>

#include "clearsight/mm/config.h"
#include "clearsight/mm/model.h"

namespace clearsight::mm {

/// Whether dir/config.json names a Hugging Face architecture (model_type qwen2_vl or
/// qwen2_audio) rather than ClearSight's own model.
bool is_hf_checkpoint(const std::filesystem::path& dir);

/// Reads a Hugging Face config.json (flat or nested text_config layout); throws ConfigError
/// naming the field for missing, mistyped or out-of-range values, and for an unknown model_type.
ModelConfig load_hf_config(const std::filesystem::path& path);

/// How a checkpoint is loaded.
struct HfLoadOptions {
  /// Compute dtype of the weights (float32, bfloat16, float16).
  torch::Dtype dtype = torch::kFloat32;
};

/// Loads config.json and the weights of dir. Throws IoError (missing files), FormatError
/// (unknown, missing or non-finite tensors, naming file and tensor), ShapeError (shape mismatch).
std::shared_ptr<MultimodalModel> load_hf_model(const std::filesystem::path& dir,
                                               const HfLoadOptions& options = {});

/// Qwen2-VL configurations of known shapes: "tiny" (2 layers, hidden 64, the real vocabulary and
/// special ids; for tests), "2b" (Qwen2-VL-2B-Instruct's shape: hidden 1536, 28 layers, vision
/// tower 32 x 1280). Throws UnknownNameError.
ModelConfig qwen2_vl_shape(const std::string& name);

/// Qwen2-Audio configurations of known shapes: "tiny" (2 layers, hidden 64, audio encoder 2 x 32,
/// the real vocabulary size and audio token id; for tests), "7b" (Qwen2-Audio-7B's shape).
/// Throws UnknownNameError.
ModelConfig qwen2_audio_shape(const std::string& name);

/// qwen2_vl_shape or qwen2_audio_shape by model_type; throws UnknownNameError.
ModelConfig qwen2_shape(const std::string& model_type, const std::string& name);

/// Writes a Hugging Face folder: config.json in the model's layout (qwen2_vl flat, qwen2_audio
/// with text_config and audio_config) and model.safetensors with the hub's weight names, in dtype
/// (float32, bfloat16 or float16).
void save_hf_checkpoint(const MultimodalModel& model, const std::filesystem::path& dir,
                        torch::Dtype dtype = torch::kBFloat16);

/// Writes Qwen2-Audio's tokenizer.json from Qwen's: the same byte-level BPE and first three added
/// tokens, then <|AUDIO|>, <|audio_bos|>, <|audio_eos|> at ids 151646-151648.
void write_qwen2_audio_tokenizer(const std::filesystem::path& qwen_tokenizer_json,
                                 const std::filesystem::path& out);

/// Writes a complete folder (model_type qwen2_vl or qwen2_audio) with random weights (seeded) of
/// a known shape: config.json, model.safetensors, tokenizer.json (Qwen's, or Qwen2-Audio's built
/// from it), tokenizer_config.json and preprocessor_config.json (the image processor or the
/// Whisper feature extractor with the shipped values). The folder appears only when complete.
/// For tests and scale measurements without downloads.
void write_random_qwen2(const std::string& model_type, const std::string& shape,
                        const std::filesystem::path& tokenizer_json,
                        const std::filesystem::path& out, torch::Dtype dtype, std::uint64_t seed);

}  // namespace clearsight::mm
