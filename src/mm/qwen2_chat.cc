#include "clearsight/mm/qwen2_chat.h"

#include "clearsight/core/audio.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/mm/qwen2_audio.h"

namespace clearsight::mm {
namespace {

namespace fs = std::filesystem;

void check_token(const BpeTokenizer& tokenizer, const fs::path& file, const std::string& name,
                 std::int64_t id) {
  CS_CHECK_AS(FormatError, tokenizer.find(name) == id, file.string(), ": ", name, " is not id ", id,
              " as config.json says");
}

torch::Tensor rgb(const fs::path& path) {
  auto image = read_png(path);
  return torch::from_blob(image.pixels.data(), {image.height, image.width, 3}, torch::kUInt8)
      .clone();
}

// Audio tokens of each clip: Qwen2-Audio's two length reductions of its real mel frames.
std::vector<std::int64_t> audio_token_counts(const WhisperFeatures& audio) {
  if (!audio.feature_attention_mask.defined()) return {};
  const auto tokens =
      qwen2_audio_lengths(audio.feature_attention_mask.to(torch::kInt64).sum(1)).second;
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < tokens.size(0); ++i) out.push_back(tokens[i].item<std::int64_t>());
  return out;
}

}  // namespace

Qwen2Bundle load_qwen2(const fs::path& dir, const HfLoadOptions& options) {
  auto model = load_hf_model(dir, options);
  const auto tokenizer_file = dir / "tokenizer.json";
  auto tokenizer = BpeTokenizer::load(tokenizer_file);
  const auto& c = model->config();
  CS_CHECK_AS(FormatError, tokenizer.size() <= c.vocab_size, tokenizer_file.string(), " has ",
              tokenizer.size(), " ids but config.json says vocab_size ", c.vocab_size);
  Qwen2Bundle bundle{std::move(model), std::move(tokenizer), std::nullopt, std::nullopt, dir};
  const auto preprocessor = dir / "preprocessor_config.json";
  if (c.model_type == "qwen2_audio") {
    for (const auto& name : {"<|audio_bos|>", "<|audio_eos|>", "<|im_start|>", "<|im_end|>"}) {
      CS_CHECK_AS(FormatError, bundle.tokenizer.find(name) >= 0, tokenizer_file.string(),
                  ": no added token ", name, " (expected Qwen2-Audio's tokenizer)");
    }
    check_token(bundle.tokenizer, tokenizer_file, "<|AUDIO|>", c.audio_token_id);
    bundle.feature_extractor = load_whisper_feature_extractor(preprocessor);
    CS_CHECK_AS(ConfigError,
                bundle.feature_extractor->feature_size == c.qwen2_audio.num_mel_bins &&
                    bundle.feature_extractor->frames() == 2 * c.qwen2_audio.max_source_positions,
                preprocessor.string(), ": feature_size ", bundle.feature_extractor->feature_size,
                " and ", bundle.feature_extractor->frames(),
                " frames must match config.json's audio_config (num_mel_bins ",
                c.qwen2_audio.num_mel_bins,
                ", 2 x max_source_positions = ", 2 * c.qwen2_audio.max_source_positions, ")");
    return bundle;
  }
  check_token(bundle.tokenizer, tokenizer_file, "<|image_pad|>", c.image_token_id);
  check_token(bundle.tokenizer, tokenizer_file, "<|video_pad|>", c.video_token_id);
  check_token(bundle.tokenizer, tokenizer_file, "<|vision_start|>", c.vision_start_token_id);
  bundle.image_processor = load_qwen2_image_processor(preprocessor);
  const auto& p = *bundle.image_processor;
  CS_CHECK_AS(ConfigError,
              p.patch_size == c.qwen2_vision.patch_size &&
                  p.merge_size == c.qwen2_vision.spatial_merge_size &&
                  p.temporal_patch_size == c.qwen2_vision.temporal_patch_size,
              preprocessor.string(),
              ": patch_size, merge_size and temporal_patch_size must match config.json's "
              "vision_config");
  return bundle;
}

Qwen2Media process_media(const Qwen2Bundle& bundle, const RawMedia& raw) {
  const std::string where = bundle.dir.string();
  Qwen2Media media;
  if (!raw.images.empty() || !raw.videos.empty()) {
    CS_CHECK_AS(ConfigError, bundle.image_processor.has_value(), "'", where, "' is a ",
                bundle.model_type(), " model; it cannot take images or video");
    if (!raw.images.empty())
      media.images = process_qwen2_images(raw.images, *bundle.image_processor);
    if (!raw.videos.empty())
      media.videos = process_qwen2_videos(raw.videos, *bundle.image_processor);
  }
  if (!raw.audio.empty()) {
    CS_CHECK_AS(ConfigError, bundle.feature_extractor.has_value(), "'", where, "' is a ",
                bundle.model_type(), " model; it cannot take audio");
    media.audio = whisper_features(raw.audio, *bundle.feature_extractor);
  }
  return media;
}

RawMedia read_record_media(const Qwen2Bundle& bundle, const DataRecord& record) {
  RawMedia raw;
  if (!record.image.empty()) raw.images.push_back(rgb(record.image));
  if (!record.video.empty()) {
    std::vector<torch::Tensor> frames;
    for (const auto& f : record.video) frames.push_back(rgb(f));
    for (const auto& f : frames) {
      CS_CHECK_AS(ShapeError, f.sizes() == frames[0].sizes(), "line ", record.line,
                  ": video frames must all have the size of the first");
    }
    raw.videos.push_back(torch::stack(frames));
  }
  if (!record.audio.empty()) {
    const int rate = bundle.feature_extractor
                         ? static_cast<int>(bundle.feature_extractor->sampling_rate)
                         : 16000;
    const auto samples = read_audio_at(record.audio, rate);
    raw.audio.push_back(torch::tensor(samples, torch::kFloat32));
  }
  return raw;
}

std::vector<std::int64_t> qwen2_prompt(const Qwen2Bundle& bundle, const std::string& text,
                                       const Qwen2Media& media) {
  const auto& tok = bundle.tokenizer;
  const auto& c = bundle.model->config();
  const auto count = [](const Qwen2VisionInputs& v) {
    return v.grid_thw.defined() ? v.grid_thw.size(0) : 0;
  };
  const auto audio_tokens = audio_token_counts(media.audio);
  std::string user;
  for (std::int64_t i = 0; i < count(media.images); ++i) {
    user += "<|vision_start|><|image_pad|><|vision_end|>";
  }
  for (std::int64_t i = 0; i < count(media.videos); ++i) {
    user += "<|vision_start|><|video_pad|><|vision_end|>";
  }
  for (std::size_t i = 0; i < audio_tokens.size(); ++i) {
    user += "Audio " + std::to_string(i + 1) + ": <|audio_bos|><|AUDIO|><|audio_eos|>\n";
  }
  const std::string head_text =
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n" + user;
  const auto head = tok.encode(head_text);
  // The user's text may not smuggle in pads: encode it without added tokens.
  const auto body = tok.encode(text, {.split_added_tokens = false});
  const auto tail = tok.encode("<|im_end|>\n<|im_start|>assistant\n");
  std::vector<std::int64_t> ids;
  std::int64_t image = 0, video = 0;
  std::size_t audio = 0;
  const auto merge = c.qwen2_vision.spatial_merge_size;
  for (const auto id : head) {
    std::int64_t n = 1;
    if (c.qwen2_vision.enabled && id == c.image_token_id) {
      n = qwen2_vision_tokens(media.images.grid_thw[image++], merge);
    } else if (c.qwen2_vision.enabled && id == c.video_token_id) {
      n = qwen2_vision_tokens(media.videos.grid_thw[video++], merge);
    } else if (c.qwen2_audio.enabled && id == c.audio_token_id) {
      n = audio_tokens[audio++];
    }
    ids.insert(ids.end(), static_cast<std::size_t>(n), id);
  }
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), tail.begin(), tail.end());
  return ids;
}

MmInputs qwen2_inputs(const Qwen2Bundle& bundle, const std::vector<std::int64_t>& prompt,
                      const Qwen2Media& media) {
  const auto dtype = bundle.model->embed_tokens->weight.scalar_type();
  const auto cast = [&](const torch::Tensor& t) { return t.defined() ? t.to(dtype) : t; };
  MmInputs in;
  in.input_ids = torch::tensor(prompt, torch::kInt64).unsqueeze(0);
  in.pixel_values = cast(media.images.pixel_values);
  in.image_grid_thw = media.images.grid_thw;
  in.pixel_values_videos = cast(media.videos.pixel_values);
  in.video_grid_thw = media.videos.grid_thw;
  in.input_features = cast(media.audio.input_features);
  in.feature_attention_mask = media.audio.feature_attention_mask;
  return in;
}

Modality qwen2_modality(const Qwen2Bundle& bundle, std::int64_t id) {
  const auto& c = bundle.model->config();
  if (c.qwen2_vision.enabled && id == c.image_token_id) return Modality::kImage;
  if (c.qwen2_vision.enabled && id == c.video_token_id) return Modality::kVideo;
  if (c.qwen2_audio.enabled && id == c.audio_token_id) return Modality::kAudio;
  if (bundle.tokenizer.is_special(id)) return Modality::kSpecial;
  return Modality::kText;
}

Qwen2Answer qwen2_ask(Qwen2Bundle& bundle, const std::string& text, const RawMedia& raw,
                      int max_new_tokens) {
  const auto media = process_media(bundle, raw);
  const auto prompt = qwen2_prompt(bundle, text, media);
  const auto inputs = qwen2_inputs(bundle, prompt, media);
  GenerateOptions options;
  options.max_new_tokens = max_new_tokens;
  const auto eos = bundle.tokenizer.id("<|im_end|>");
  Qwen2Answer answer;
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
