// A Hugging Face Qwen2-VL folder in use: model, tokenizer.json, image processor, the chat
// template's standard message format with the media pads expanded, and greedy answering.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/mm/bpe_tokenizer.h"
#include "clearsight/mm/hf_checkpoint.h"
#include "clearsight/mm/qwen2_processor.h"

namespace clearsight::mm {

/// Everything a Qwen2-VL folder holds.
struct Qwen2VlBundle {
  std::shared_ptr<MultimodalModel> model;
  BpeTokenizer tokenizer;
  Qwen2ImageProcessorConfig processor;
};

/// Loads config.json + weights, tokenizer.json and preprocessor_config.json of dir (errors name
/// the missing or bad file); checks that the tokenizer's ids fit the model's vocabulary.
Qwen2VlBundle load_qwen2_vl(const std::filesystem::path& dir, const HfLoadOptions& options = {});

/// One user turn's media, processed.
struct Qwen2VlMedia {
  Qwen2VisionInputs images;  // undefined tensors when none
  Qwen2VisionInputs videos;
};

/// Prompt ids of Qwen2-VL's chat template for one user message with the media first ("<|im_start|>
/// system\\nYou are a helpful assistant.<|im_end|>\\n<|im_start|>user\\n<|vision_start|>
/// <|image_pad|> x N<|vision_end|>...text<|im_end|>\\n<|im_start|>assistant\\n"), each pad
/// expanded to its grid's merged token count.
std::vector<std::int64_t> qwen2_vl_prompt(const Qwen2VlBundle& bundle, const std::string& text,
                                          const Qwen2VlMedia& media);

/// The model inputs of one prompt with its media.
MmInputs qwen2_vl_inputs(const std::vector<std::int64_t>& prompt, const Qwen2VlMedia& media);

/// A generated answer.
struct Qwen2VlAnswer {
  std::string text;
  std::vector<std::int64_t> ids;
  std::int64_t prompt_tokens = 0;
  /// Generated ids outside the tokenizer (possible with untrained weights), left out of text.
  std::int64_t unknown_ids = 0;
};

/// Greedy answer to text about images [H, W, 3] and videos [T, H, W, 3] (uint8 RGB), stopping
/// at <|im_end|>.
Qwen2VlAnswer qwen2_vl_ask(Qwen2VlBundle& bundle, const std::string& text,
                           const std::vector<torch::Tensor>& images,
                           const std::vector<torch::Tensor>& videos, int max_new_tokens);

}  // namespace clearsight::mm
