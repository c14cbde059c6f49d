#include "clearsight/mm/model.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/mm/mrope.h"

namespace clearsight::mm {

MultimodalModel::MultimodalModel(ModelConfig config, bool initialise) : config_(std::move(config)) {
  config_.validate();
  CS_CHECK_AS(ConfigError, !(config_.vision_config.enabled && config_.audio_config.enabled),
              "a model has a vision tower or an audio tower, not both (one projector)");
  const auto& c = config_;
  CS_CHECK_AS(ConfigError, !(c.qwen2_vision.enabled && c.vision_config.enabled),
              "a model has one vision tower (Qwen2-VL's or the built-in one)");
  if (c.qwen2_vision.enabled) {
    qwen2_vision = register_module("vision", Qwen2VisionTower(c.qwen2_vision));
    projector = register_module("projector", Projector(c.qwen2_vision.embed_dim, c.hidden_size,
                                                       c.qwen2_vision.spatial_merge_size));
  }
  if (c.qwen2_audio.enabled) {
    CS_CHECK_AS(ConfigError, !c.audio_config.enabled && !c.qwen2_vision.enabled,
                "a Qwen2-Audio model has one tower");
    qwen2_audio = register_module("audio", Qwen2AudioEncoder(c.qwen2_audio));
    projector = register_module("projector", Projector(c.qwen2_audio.d_model, c.hidden_size, 1));
  }
  if (c.vision_config.enabled) {
    vision = register_module("vision", VisionTower(c.vision_config));
    projector = register_module("projector", Projector(c.vision_config.hidden_size, c.hidden_size,
                                                       c.vision_config.spatial_merge_size));
  }
  if (c.audio_config.enabled) {
    audio = register_module("audio", AudioTower(c.audio_config));
    projector = register_module("projector", Projector(c.audio_config.d_model, c.hidden_size, 1));
  }
  // Registered in execution order: towers, projector, embeddings, blocks, final norm.
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  hook_embed = register_module("hook_embed", nn::HookPoint());
  blocks = register_module("blocks", torch::nn::ModuleList());
  nn::AttentionOptions a;
  a.hidden = c.hidden_size;
  a.heads = c.num_attention_heads;
  a.kv_heads = c.num_key_value_heads;
  a.qkv_bias = true;
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    blocks->push_back(nn::DecoderBlock(a, c.intermediate_size, c.rms_norm_eps));
  }
  ln_final = register_module("ln_final", nn::RMSNorm(c.hidden_size, c.rms_norm_eps));
  hook_final = register_module("hook_final", nn::HookPoint());
  if (!c.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head",
        torch::nn::Linear(torch::nn::LinearOptions(c.hidden_size, c.vocab_size).bias(false)));
  }
  nn::RotaryOptions rotary;
  rotary.float32_tables = c.hf_rotary;
  rotary.mrope_section = c.mrope_section;
  rotary_ = std::make_unique<nn::Rotary>(c.hidden_size / c.num_attention_heads,
                                         c.max_position_embeddings, c.rope_theta, rotary);
  if (c.image_token_id >= 0) image_pad_id_ = c.image_token_id;
  if (c.video_token_id >= 0) video_pad_id_ = c.video_token_id;
  if (c.audio_token_id >= 0) audio_id_ = c.audio_token_id;
  // Small initial weights keep the residual stream tame in the tiny models.
  if (initialise) {
    torch::NoGradGuard no_grad;
    for (auto& p : named_parameters()) {
      if (p.key().find("weight") != std::string::npos && p.value().dim() == 2) {
        p.value().normal_(0.0, 0.02);
      }
    }
  }
  setup_hooks();
}

MediaTokens MultimodalModel::media_tokens() const {
  MediaTokens t;
  t.image = config_.vision_config.tokens_per_image();
  t.video = config_.vision_config.tokens_per_video();
  t.audio = config_.audio_config.tokens_per_clip();
  return t;
}

torch::Tensor MultimodalModel::embed(const MmInputs& inputs) {
  const auto& ids = inputs.input_ids;
  CS_CHECK_AS(ShapeError, ids.defined() && ids.dim() == 2 && ids.scalar_type() == torch::kInt64,
              "input_ids must be an int64 tensor [B, L]");
  CS_CHECK_AS(ShapeError,
              ids.numel() == 0 || (ids.min().item<std::int64_t>() >= 0 &&
                                   ids.max().item<std::int64_t>() < config_.vocab_size),
              "input_ids contain ids outside the vocabulary of ", config_.vocab_size);
  auto x = embed_tokens(ids);
  auto splice = [&](std::int64_t pad_id, const torch::Tensor& features, const char* what) {
    const auto mask = ids == pad_id;
    const auto slots = mask.sum().item<std::int64_t>();
    const auto given = features.defined() ? features.size(0) * features.size(1) : 0;
    CS_CHECK_AS(ShapeError, slots == given, "the prompts have ", slots, " ", what,
                " positions but the media give ", given, " tokens");
    if (slots == 0) return;
    x = x.masked_scatter(mask.unsqueeze(-1),
                         features.reshape({-1, config_.hidden_size}).to(x.scalar_type()));
  };
  const bool any_image = inputs.images.defined() && inputs.images.size(0) > 0;
  const bool any_video = inputs.videos.defined() && inputs.videos.size(0) > 0;
  const bool any_audio = inputs.audios.defined() && inputs.audios.size(0) > 0;
  if (qwen2_audio) {
    // Qwen2-Audio: Whisper features in; the real pooled frames of each clip, clip by clip.
    CS_CHECK_AS(ConfigError, !any_audio && !any_image && !any_video,
                "this Qwen2-Audio model takes processed input_features / feature_attention_mask");
    torch::Tensor features;
    if (inputs.input_features.defined() && inputs.input_features.size(0) > 0) {
      const auto frames =
          projector(qwen2_audio(inputs.input_features, inputs.feature_attention_mask));
      const auto tokens =
          qwen2_audio_lengths(inputs.feature_attention_mask.to(torch::kInt64).sum(1)).second;
      std::vector<torch::Tensor> rows;
      for (std::int64_t i = 0; i < frames.size(0); ++i) {
        rows.push_back(frames[i].narrow(0, 0, tokens[i].item<std::int64_t>()));
      }
      features = torch::cat(rows).unsqueeze(0);
    }
    splice(audio_id_, features, "<|AUDIO|>");
    return hook_embed(x);
  }
  if (qwen2_vision) {
    // Qwen2-VL: the processor's patches and grids (mm::process_images) feed the tower.
    CS_CHECK_AS(
        ConfigError, !any_image && !any_video,
        "this Qwen2-VL model takes processed pixel_values / image_grid_thw, not raw images");
    const auto tower = [&](const torch::Tensor& pixels, const torch::Tensor& grids) {
      if (!pixels.defined() || pixels.size(0) == 0) return torch::Tensor();
      return projector(qwen2_vision(pixels, grids));
    };
    splice(image_pad_id_, tower(inputs.pixel_values, inputs.image_grid_thw), "<|image_pad|>");
    splice(video_pad_id_, tower(inputs.pixel_values_videos, inputs.video_grid_thw),
           "<|video_pad|>");
    return hook_embed(x);
  }
  if (any_image || any_video) {
    CS_CHECK_AS(ConfigError, static_cast<bool>(vision), "this model has no vision tower");
  }
  if (any_audio)
    CS_CHECK_AS(ConfigError, static_cast<bool>(audio), "this model has no audio tower");
  splice(image_pad_id_,
         any_image ? projector(vision(vision->prepare_images(inputs.images))) : torch::Tensor(),
         "<|image_pad|>");
  splice(video_pad_id_,
         any_video ? projector(vision(vision->prepare_videos(inputs.videos))) : torch::Tensor(),
         "<|video_pad|>");
  if (any_audio) {
    CS_CHECK_AS(NumericError, torch::isfinite(inputs.audios).all().item<bool>(),
                "audio waveforms contain NaN or infinite samples");
  }
  splice(audio_id_, any_audio ? projector(audio(inputs.audios)) : torch::Tensor(), "<|AUDIO|>");
  return hook_embed(x);
}

torch::Tensor MultimodalModel::decode(torch::Tensor x, const torch::Tensor& positions,
                                      const torch::Tensor& key_mask, nn::KVCache* cache) {
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    x = blocks[i]->as<nn::DecoderBlock>()->forward(x, positions, key_mask, *rotary_, cache,
                                                   static_cast<int>(i));
  }
  x = hook_final(ln_final(x));
  return config_.tie_word_embeddings ? torch::matmul(x, embed_tokens->weight.t()) : lm_head(x);
}

std::pair<torch::Tensor, torch::Tensor> MultimodalModel::positions(const MmInputs& inputs) const {
  const auto& ids = inputs.input_ids;
  const auto b = ids.size(0), l = ids.size(1);
  torch::Tensor mask = inputs.attention_mask;
  if (mask.defined()) {
    CS_CHECK_AS(ShapeError, mask.sizes() == ids.sizes(), "attention_mask must match input_ids");
    mask = mask.to(torch::kBool);
  }
  if (rotary_->multimodal()) {
    MropeTokens t;
    t.image_token_id = image_pad_id_;
    t.video_token_id = video_pad_id_;
    t.vision_start_token_id = config_.vision_start_token_id;
    t.spatial_merge_size = config_.qwen2_vision.spatial_merge_size;
    return mrope_positions(ids, mask, inputs.image_grid_thw, inputs.video_grid_thw, t);
  }
  torch::Tensor positions;
  if (mask.defined()) {
    positions = (mask.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
  } else {
    positions = torch::arange(l, torch::kInt64).unsqueeze(0).expand({b, l});
  }
  return {positions, torch::Tensor()};
}

torch::Tensor MultimodalModel::forward(const MmInputs& inputs, nn::KVCache* cache) {
  const auto x = embed(inputs);
  const auto b = x.size(0);
  const auto l = x.size(1);
  torch::Tensor mask = inputs.attention_mask;
  if (mask.defined()) mask = mask.to(torch::kBool);
  const std::int64_t past = cache ? cache->length : 0;
  torch::Tensor positions;
  if (past > 0 && rotary_->multimodal()) {
    // Decoding after an M-RoPE prompt: every axis at cache position + rope delta.
    CS_CHECK_AS(ShapeError, cache->rope_deltas.defined(), "M-RoPE decoding needs rope deltas");
    const auto step = torch::arange(past, past + l, torch::kInt64).unsqueeze(0) +
                      cache->rope_deltas.to(torch::kCPU);
    positions = step.unsqueeze(0).expand({3, b, l}).contiguous();
  } else {
    auto [p, deltas] = this->positions(inputs);
    positions = p + past;
    if (cache && deltas.defined()) cache->rope_deltas = deltas;
  }
  auto logits = decode(x, positions.to(x.device()), mask, cache);
  if (cache) cache->length += l;
  return logits;
}

std::vector<std::vector<std::int64_t>> MultimodalModel::generate(
    const std::vector<std::vector<std::int64_t>>& prompts, const MmInputs& media,
    const GenerateOptions& options, std::int64_t eos_id) {
  torch::NoGradGuard no_grad;
  CS_CHECK_AS(ConfigError, !prompts.empty(), "generate: no prompts");
  CS_CHECK_AS(ConfigError, options.max_new_tokens >= 1, "generate: max_new_tokens must be >= 1");
  const auto b = static_cast<std::int64_t>(prompts.size());
  std::int64_t longest = 0;
  for (const auto& p : prompts) longest = std::max<std::int64_t>(longest, p.size());
  CS_CHECK_AS(ConfigError, longest + options.max_new_tokens <= config_.max_position_embeddings,
              "prompt of ", longest, " tokens + ", options.max_new_tokens,
              " new tokens exceeds max_position_embeddings ", config_.max_position_embeddings);
  // Left padding keeps every prompt's last token in the last column.
  auto ids = torch::full({b, longest}, 0, torch::kInt64);
  auto mask = torch::zeros({b, longest}, torch::kBool);
  for (std::int64_t i = 0; i < b; ++i) {
    const auto n = static_cast<std::int64_t>(prompts[i].size());
    CS_CHECK_AS(ConfigError, n > 0, "generate: prompt ", i, " is empty");
    ids[i].narrow(0, longest - n, n).copy_(torch::tensor(prompts[i], torch::kInt64));
    mask[i].narrow(0, longest - n, n).fill_(true);
  }
  MmInputs inputs = media;
  inputs.input_ids = ids;
  inputs.attention_mask = mask;
  const auto x = embed(inputs);
  const auto [positions, deltas] = this->positions(inputs);
  nn::KVCache cache;
  auto logits = decode(x, positions, mask, &cache);
  cache.length = longest;
  std::vector<std::vector<std::int64_t>> out(b);
  std::vector<bool> done(b, false);
  // Next position per row: one past the prompt's largest (over the M-RoPE axes too).
  auto next_pos = (rotary_->multimodal() ? std::get<0>(positions.amax(0).max(1))
                                         : positions.select(1, longest - 1)) +
                  1;  // [B]
  for (int step = 0; step < options.max_new_tokens; ++step) {
    const auto next = logits.select(1, logits.size(1) - 1).argmax(-1);  // [B]
    bool all_done = true;
    for (std::int64_t i = 0; i < b; ++i) {
      if (done[i]) continue;
      const auto token = next[i].item<std::int64_t>();
      if (token == eos_id) {
        done[i] = true;
      } else {
        out[i].push_back(token);
      }
      all_done = all_done && done[i];
    }
    if (all_done || step + 1 == options.max_new_tokens) break;
    mask = torch::cat({mask, torch::ones({b, 1}, torch::kBool)}, 1);
    const auto step_ids = next.unsqueeze(1);
    auto step_x = hook_embed(embed_tokens(step_ids));
    auto step_pos = next_pos.unsqueeze(1);
    if (rotary_->multimodal()) step_pos = step_pos.unsqueeze(0).expand({3, b, 1}).contiguous();
    logits = decode(step_x, step_pos, mask, &cache);
    cache.length += 1;
    next_pos = next_pos + 1;
  }
  return out;
}

}  // namespace clearsight::mm
