// A Hugging Face Qwen2-VL or Qwen2-Audio folder in use: model, tokenizer.json, the image processor
// or the Whisper feature extractor, the chat templates' standard message formats with the media
// pads expanded, and greedy answering.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clearsight/mm/bpe_tokenizer.h"
#include "clearsight/mm/hf_checkpoint.h"
#include "clearsight/mm/jsonl_data.h"
#include "clearsight/mm/qwen2_processor.h"
#include "clearsight/mm/whisper_features.h"

namespace clearsight::mm {

/// Everything a Qwen2-VL or Qwen2-Audio folder holds.
struct Qwen2Bundle {
  std::shared_ptr<MultimodalModel> model;
  BpeTokenizer tokenizer;
  /// Qwen2-VL's image processor (preprocessor_config.json), absent for Qwen2-Audio.
  std::optional<Qwen2ImageProcessorConfig> image_processor;
  /// Qwen2-Audio's Whisper feature extractor (preprocessor_config.json), absent for Qwen2-VL.
  std::optional<WhisperFeatureConfig> feature_extractor;
  /// The folder.
  std::filesystem::path dir;

  /// "qwen2_vl" or "qwen2_audio".
  const std::string& model_type() const { return model->config().model_type; }
};

/// Loads config.json + weights, tokenizer.json and preprocessor_config.json of dir (errors name
/// the missing or bad file); checks that the tokenizer's ids fit the model's vocabulary and that
/// its media tokens have the ids config.json names.
Qwen2Bundle load_qwen2(const std::filesystem::path& dir, const HfLoadOptions& options = {});

/// One user turn's media, processed.
struct Qwen2Media {
  Qwen2VisionInputs images;  // undefined tensors when none
  Qwen2VisionInputs videos;
  WhisperFeatures audio;  // undefined tensors when none
};

/// Raw media of one user turn.
struct RawMedia {
  /// Images [H, W, 3] uint8 RGB.
  std::vector<torch::Tensor> images;
  /// Videos [T, H, W, 3] uint8 RGB.
  std::vector<torch::Tensor> videos;
  /// Mono float32 waveforms at the feature extractor's sampling rate.
  std::vector<torch::Tensor> audio;
};

/// Processes raw media for the bundle's model; throws ConfigError for a modality the model has
/// no tower for (audio on Qwen2-VL, images or video on Qwen2-Audio).
Qwen2Media process_media(const Qwen2Bundle& bundle, const RawMedia& raw);

/// Reads a record's media from disk (PNG images and frames; WAV / FLAC / OGG audio, mixed to mono
/// and resampled to the extractor's rate).
RawMedia read_record_media(const Qwen2Bundle& bundle, const DataRecord& record);

/// Prompt ids of the chat template for one user message with the media first, each pad expanded
/// to its item's token count. Qwen2-VL: "<|im_start|>system\\nYou are a helpful assistant.
/// <|im_end|>\\n<|im_start|>user\\n<|vision_start|><|image_pad|>...<|vision_end|>TEXT<|im_end|>
/// \\n<|im_start|>assistant\\n"; Qwen2-Audio: the same with "Audio 1: <|audio_bos|><|AUDIO|>...
/// <|audio_eos|>\\n" per clip. The user's text is encoded without added tokens.
std::vector<std::int64_t> qwen2_prompt(const Qwen2Bundle& bundle, const std::string& text,
                                       const Qwen2Media& media);

/// The model inputs of one prompt with its media (media in the model's compute dtype).
MmInputs qwen2_inputs(const Qwen2Bundle& bundle, const std::vector<std::int64_t>& prompt,
                      const Qwen2Media& media);

/// Modality of a prompt id: image / video / audio pads, special added tokens, else text.
Modality qwen2_modality(const Qwen2Bundle& bundle, std::int64_t id);

/// A generated answer.
struct Qwen2Answer {
  std::string text;
  std::vector<std::int64_t> ids;
  std::int64_t prompt_tokens = 0;
  /// Generated ids outside the tokenizer (possible with untrained weights), left out of text.
  std::int64_t unknown_ids = 0;
};

/// Greedy answer to text about the media, stopping at <|im_end|>.
Qwen2Answer qwen2_ask(Qwen2Bundle& bundle, const std::string& text, const RawMedia& media,
                      int max_new_tokens);

}  // namespace clearsight::mm
