#include "clearsight/mm/qwen2_chat.h"

#include "clearsight/core/error.h"

namespace clearsight::mm {

Qwen2VlBundle load_qwen2_vl(const std::filesystem::path& dir, const HfLoadOptions& options) {
  auto model = load_hf_model(dir, options);
  auto tokenizer = BpeTokenizer::load(dir / "tokenizer.json");
  const auto processor = load_qwen2_image_processor(dir / "preprocessor_config.json");
  const auto& c = model->config();
  CS_CHECK_AS(FormatError, tokenizer.size() <= c.vocab_size, (dir / "tokenizer.json").string(),
              " has ", tokenizer.size(), " ids but config.json says vocab_size ", c.vocab_size);
  for (const auto& [name, id] : std::vector<std::pair<std::string, std::int64_t>>{
           {"<|image_pad|>", c.image_token_id},
           {"<|video_pad|>", c.video_token_id},
           {"<|vision_start|>", c.vision_start_token_id}}) {
    CS_CHECK_AS(FormatError, tokenizer.find(name) == id, (dir / "tokenizer.json").string(), ": ",
                name, " is not id ", id, " as config.json says");
  }
  CS_CHECK_AS(ConfigError,
              processor.patch_size == c.qwen2_vision.patch_size &&
                  processor.merge_size == c.qwen2_vision.spatial_merge_size &&
                  processor.temporal_patch_size == c.qwen2_vision.temporal_patch_size,
              (dir / "preprocessor_config.json").string(),
              ": patch_size, merge_size and temporal_patch_size must match config.json's "
              "vision_config");
  return {std::move(model), std::move(tokenizer), processor};
}

std::vector<std::int64_t> qwen2_vl_prompt(const Qwen2VlBundle& bundle, const std::string& text,
                                          const Qwen2VlMedia& media) {
  const auto& tok = bundle.tokenizer;
  const auto& c = bundle.model->config();
  const auto merge = c.qwen2_vision.spatial_merge_size;
  std::string user;
  const auto count = [](const Qwen2VisionInputs& v) {
    return v.grid_thw.defined() ? v.grid_thw.size(0) : 0;
  };
  for (std::int64_t i = 0; i < count(media.images); ++i) {
    user += "<|vision_start|><|image_pad|><|vision_end|>";
  }
  for (std::int64_t i = 0; i < count(media.videos); ++i) {
    user += "<|vision_start|><|video_pad|><|vision_end|>";
  }
  const std::string chat =
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
      "<|im_start|>user\n" +
      user + text + "<|im_end|>\n<|im_start|>assistant\n";
  // The user's text may not smuggle in pads: encode it without added tokens.
  const auto head = tok.encode(chat.substr(
      0, chat.size() - text.size() - std::string("<|im_end|>\n<|im_start|>assistant\n").size()));
  const auto body = tok.encode(text, {.split_added_tokens = false});
  const auto tail = tok.encode("<|im_end|>\n<|im_start|>assistant\n");
  std::vector<std::int64_t> ids;
  std::int64_t image = 0, video = 0;
  for (const auto id : head) {
    if (id == c.image_token_id) {
      const auto n = qwen2_vision_tokens(media.images.grid_thw[image++], merge);
      ids.insert(ids.end(), static_cast<std::size_t>(n), id);
    } else if (id == c.video_token_id) {
      const auto n = qwen2_vision_tokens(media.videos.grid_thw[video++], merge);
      ids.insert(ids.end(), static_cast<std::size_t>(n), id);
    } else {
      ids.push_back(id);
    }
  }
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), tail.begin(), tail.end());
  return ids;
}

MmInputs qwen2_vl_inputs(const std::vector<std::int64_t>& prompt, const Qwen2VlMedia& media) {
  MmInputs in;
  in.input_ids = torch::tensor(prompt, torch::kInt64).unsqueeze(0);
  in.pixel_values = media.images.pixel_values;
  in.image_grid_thw = media.images.grid_thw;
  in.pixel_values_videos = media.videos.pixel_values;
  in.video_grid_thw = media.videos.grid_thw;
  return in;
}

Qwen2VlAnswer qwen2_vl_ask(Qwen2VlBundle& bundle, const std::string& text,
                           const std::vector<torch::Tensor>& images,
                           const std::vector<torch::Tensor>& videos, int max_new_tokens) {
  Qwen2VlMedia media;
  if (!images.empty()) media.images = process_qwen2_images(images, bundle.processor);
  if (!videos.empty()) media.videos = process_qwen2_videos(videos, bundle.processor);
  const auto prompt = qwen2_vl_prompt(bundle, text, media);
  auto inputs = qwen2_vl_inputs(prompt, media);
  const auto dtype = bundle.model->embed_tokens->weight.scalar_type();
  if (inputs.pixel_values.defined()) inputs.pixel_values = inputs.pixel_values.to(dtype);
  if (inputs.pixel_values_videos.defined()) {
    inputs.pixel_values_videos = inputs.pixel_values_videos.to(dtype);
  }
  GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  const auto eos = bundle.tokenizer.id("<|im_end|>");
  Qwen2VlAnswer answer;
  answer.prompt_tokens = static_cast<std::int64_t>(prompt.size());
  answer.ids = bundle.model->generate({prompt}, inputs, options, eos)[0];
  std::vector<std::int64_t> known;
  for (const auto id : answer.ids) {
    if (bundle.tokenizer.has_id(id)) {
      known.push_back(id);
    } else {
      ++answer.unknown_ids;
    }
  }
  answer.text = bundle.tokenizer.decode(known, /*skip_special=*/true);
  return answer;
}

}  // namespace clearsight::mm
