#include "clearsight/interp/examples.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::interp {
namespace {

const std::vector<std::string> kInputModalities = {"text", "image", "video", "audio"};

}  // namespace

const std::vector<std::string>& group_names() {
  static const std::vector<std::string> names = {"text",   "special",  "image",  "video",
                                                 "audio",  "question", "system", "last",
                                                 "prompt", "answer"};
  return names;
}

void check_group(const std::string& name) {
  const auto& names = group_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), name) != names.end(),
              "unknown position group '", name, "' (groups: ", join(names, ", "), ")",
              did_you_mean(name, names));
}

const std::vector<std::int64_t>& Examples::positions(std::int64_t i,
                                                     const std::string& name) const {
  check_group(name);
  CS_CHECK_AS(ConfigError, i >= 0 && i < size(), "sample ", i, " out of range (", size(),
              " samples)");
  return groups[i].at(name);
}

Examples Examples::subset(const std::vector<std::int64_t>& indices) const {
  std::vector<mm::Sample> chosen;
  for (auto i : indices) {
    CS_CHECK_AS(ConfigError, i >= 0 && i < size(), "sample ", i, " out of range");
    chosen.push_back(samples[i]);
  }
  Examples out;
  out.samples = std::move(chosen);
  out.target = target;
  // Re-collation needs the tokenizer; rebuild from the stored rows instead.
  const auto b = static_cast<std::int64_t>(indices.size());
  std::int64_t longest = 0;
  for (auto i : indices) longest = std::max<std::int64_t>(longest, tokens[i].size());
  const auto& src = batch;
  out.batch.inputs.input_ids = torch::zeros({b, longest}, torch::kInt64);
  out.batch.inputs.attention_mask = torch::zeros({b, longest}, torch::kBool);
  out.batch.labels = torch::full({b, longest}, mm::kIgnoreLabel, torch::kInt64);
  std::vector<torch::Tensor> images, videos, audios;
  // Media rows of each sample: samples are collated with at most one item of each medium.
  std::vector<std::int64_t> image_row(size(), -1), video_row(size(), -1), audio_row(size(), -1);
  std::int64_t ni = 0, nv = 0, na = 0;
  for (std::int64_t i = 0; i < size(); ++i) {
    if (samples[i].image.defined()) image_row[i] = ni++;
    if (samples[i].video.defined()) video_row[i] = nv++;
    if (samples[i].audio.defined()) audio_row[i] = na++;
  }
  for (std::int64_t r = 0; r < b; ++r) {
    const auto i = indices[r];
    const auto n = static_cast<std::int64_t>(tokens[i].size());
    out.batch.inputs.input_ids[r].narrow(0, 0, n).copy_(src.inputs.input_ids[i].narrow(0, 0, n));
    out.batch.inputs.attention_mask[r].narrow(0, 0, n).fill_(true);
    out.batch.labels[r].narrow(0, 0, n).copy_(src.labels[i].narrow(0, 0, n));
    out.batch.prompts.push_back(src.prompts[i]);
    out.prompt_lengths.push_back(prompt_lengths[i]);
    out.tokens.push_back(tokens[i]);
    out.modality.push_back(modality[i]);
    out.groups.push_back(groups[i]);
    out.target_tokens.push_back(target_tokens[i]);
    if (image_row[i] >= 0) images.push_back(src.inputs.images[image_row[i]]);
    if (video_row[i] >= 0) videos.push_back(src.inputs.videos[video_row[i]]);
    if (audio_row[i] >= 0) audios.push_back(src.inputs.audios[audio_row[i]]);
  }
  if (!images.empty()) out.batch.inputs.images = torch::stack(images);
  if (!videos.empty()) out.batch.inputs.videos = torch::stack(videos);
  if (!audios.empty()) out.batch.inputs.audios = torch::stack(audios);
  return out;
}

Examples prepare_examples(const std::vector<mm::Sample>& samples, const mm::Tokenizer& tokenizer,
                          const mm::MultimodalModel& model, const Target& target) {
  CS_CHECK_AS(ConfigError, !samples.empty(), "no samples to explain");
  const std::vector<std::string> kinds = {"answer", "first", "token"};
  CS_CHECK_AS(UnknownNameError, std::find(kinds.begin(), kinds.end(), target.kind) != kinds.end(),
              "unknown target '", target.kind, "' (targets: answer, first, token)");
  std::int64_t token_id = -1;
  if (target.kind == "token") {
    CS_CHECK_AS(UnknownNameError, !target.token.empty() && tokenizer.contains(target.token),
                "target token '", target.token, "' is not in the model's vocabulary of ",
                tokenizer.size(), " words");
    token_id = tokenizer.id(target.token);
  }
  Examples ex;
  ex.samples = samples;
  ex.target = target;
  const auto max_audio = model.config().audio_config.enabled
                             ? model.config().audio_config.max_samples
                             : std::int64_t{mm::kMaxAudioSamples};
  ex.batch = mm::collate(samples, tokenizer, model.media_tokens(), max_audio,
                         /*with_answers=*/true);
  const auto ids = ex.batch.inputs.input_ids;
  const auto mask = ex.batch.inputs.attention_mask;
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const auto prompt_len = static_cast<std::int64_t>(ex.batch.prompts[i].size());
    const auto len = mask[i].sum().item<std::int64_t>();
    ex.prompt_lengths.push_back(prompt_len);
    std::vector<std::string> tok, mod;
    std::map<std::string, std::vector<std::int64_t>> g;
    for (const auto& name : group_names()) g[name] = {};
    // The user's turn starts at the second <|im_start|>; its words end at the next <|im_end|>.
    std::int64_t starts = 0, user_begin = -1, user_end = -1;
    for (std::int64_t t = 0; t < prompt_len; ++t) {
      const auto id = ids[i][t].item<std::int64_t>();
      if (id == tokenizer.im_start_id() && ++starts == 2) user_begin = t + 2;
      if (id == tokenizer.im_end_id() && user_begin >= 0 && user_end < 0) user_end = t;
    }
    for (std::int64_t t = 0; t < len; ++t) {
      const auto id = ids[i][t].item<std::int64_t>();
      tok.push_back(tokenizer.token(id));
      const std::string m = mm::modality_name(tokenizer.modality(id));
      mod.push_back(m);
      if (t >= prompt_len) {
        g["answer"].push_back(t);
        continue;
      }
      g["prompt"].push_back(t);
      g[m].push_back(t);
      if (m == "text") {
        const bool in_question = t >= user_begin && t < user_end && user_begin >= 0;
        g[in_question ? "question" : "system"].push_back(t);
      }
    }
    g["last"].push_back(prompt_len - 1);
    ex.tokens.push_back(std::move(tok));
    ex.modality.push_back(std::move(mod));
    ex.groups.push_back(std::move(g));
    std::vector<std::pair<std::int64_t, std::int64_t>> targets;
    if (target.kind == "token") {
      targets.emplace_back(prompt_len - 1, token_id);
    } else {
      // The logit at t predicts token t + 1: the answer's tokens sit at prompt_len .. len - 2
      // (the closing <|im_end|> at len - 1 is not part of the answer).
      const auto answer_tokens = len - 1 - prompt_len;
      CS_CHECK_AS(ConfigError, answer_tokens >= 1, "sample ", samples[i].index, " of ",
                  samples[i].task, " has an empty answer");
      const auto n = target.kind == "first" ? 1 : answer_tokens;
      for (std::int64_t k = 0; k < n; ++k) {
        targets.emplace_back(prompt_len - 1 + k, ids[i][prompt_len + k].item<std::int64_t>());
      }
    }
    ex.target_tokens.push_back(std::move(targets));
  }
  return ex;
}

mm::Split parse_split(const std::string& name) {
  if (name == "train") return mm::Split::kTrain;
  if (name == "validation") return mm::Split::kValidation;
  if (name == "test") return mm::Split::kTest;
  CS_THROW(UnknownNameError, "unknown split '", name, "' (splits: train, validation, test)");
}

std::vector<mm::Sample> load_samples(const mm::Task& task, mm::Split split, std::int64_t first,
                                     std::int64_t count) {
  CS_CHECK_AS(ConfigError, first >= 0 && count >= 1, "sample range needs first >= 0 and count >= 1",
              " (got first ", first, ", count ", count, ")");
  const auto n = task.split_size(split);
  CS_CHECK_AS(ConfigError, first + count <= n, "task ", task.name(), " has ", n, " ",
              mm::split_name(split), " samples; asked for ", first, "..", first + count - 1);
  task.prepare(split, first + count);
  std::vector<mm::Sample> out;
  for (std::int64_t i = first; i < first + count; ++i) out.push_back(task.sample(split, i));
  return out;
}

void check_task_fits(const mm::Task& task, const mm::MultimodalModel& model) {
  for (const auto& m : task.modalities()) {
    const bool ok =
        (m == "audio") ? model.config().audio_config.enabled : model.config().vision_config.enabled;
    CS_CHECK_AS(ConfigError, ok, "task ", task.name(), " needs ", m, " input but the model has no ",
                (m == "audio" ? "audio" : "vision"), " tower");
  }
}

std::vector<mm::Sample> select_samples(const ModelRef& ref, const SampleSelection& selection) {
  const auto task = mm::make_task(selection.task);
  check_task_fits(*task, ref.model);
  return load_samples(*task, parse_split(selection.split), selection.first, selection.count);
}

torch::Tensor target_score(const torch::Tensor& logits, const Examples& examples) {
  CS_CHECK_AS(ShapeError, logits.dim() == 3 && logits.size(0) % examples.size() == 0,
              "logits of shape ", logits.sizes(), " do not match ", examples.size(), " samples");
  const auto logp = torch::log_softmax(logits.to(torch::kFloat64), -1);
  std::vector<torch::Tensor> scores;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    std::vector<std::int64_t> pos, tok;
    for (const auto& [p, t] : examples.target_tokens[i]) {
      pos.push_back(p);
      tok.push_back(t);
    }
    const auto rows = logp[i].index_select(0, torch::tensor(pos, torch::kInt64));
    scores.push_back(rows.gather(1, torch::tensor(tok, torch::kInt64).unsqueeze(1)).sum());
  }
  return torch::stack(scores);
}

torch::Tensor& InputTensors::get(const std::string& modality) {
  if (modality == "text") return text;
  if (modality == "image") return image;
  if (modality == "video") return video;
  if (modality == "audio") return audio;
  CS_THROW(UnknownNameError, "unknown input modality '", modality,
           "' (modalities: text, image, video, audio)", did_you_mean(modality, kInputModalities));
}

const torch::Tensor& InputTensors::get(const std::string& modality) const {
  return const_cast<InputTensors*>(this)->get(modality);
}

std::vector<std::string> input_modalities(const Examples& examples) {
  std::vector<std::string> out = {"text"};
  const auto& in = examples.batch.inputs;
  if (in.images.defined() && in.images.size(0) > 0) out.push_back("image");
  if (in.videos.defined() && in.videos.size(0) > 0) out.push_back("video");
  if (in.audios.defined() && in.audios.size(0) > 0) out.push_back("audio");
  return out;
}

InputTensors clean_inputs(mm::MultimodalModel& model, const Examples& examples) {
  torch::NoGradGuard no_grad;
  InputTensors x;
  const auto& in = examples.batch.inputs;
  x.text = model.embed_tokens(in.input_ids);
  if (in.images.defined() && in.images.size(0) > 0)
    x.image = model.vision->prepare_images(in.images);
  if (in.videos.defined() && in.videos.size(0) > 0)
    x.video = model.vision->prepare_videos(in.videos);
  if (in.audios.defined() && in.audios.size(0) > 0) x.audio = model.audio->log_mel()(in.audios);
  return x;
}

torch::Tensor text_attribution_mask(const Examples& examples) {
  const auto& ids = examples.batch.inputs.input_ids;
  auto mask = torch::zeros(ids.sizes(), torch::kBool);
  auto a = mask.accessor<bool, 2>();
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    for (auto t : examples.groups[i].at("text")) a[i][t] = true;
    for (auto t : examples.groups[i].at("special")) a[i][t] = true;
  }
  return mask;
}

namespace {

torch::Tensor box_blur(const torch::Tensor& frames) {
  // frames [N, T, C, H, W]: a 7 x 7 mean over the pixels inside the image.
  const auto s = frames.sizes();
  auto flat = frames.reshape({-1, 1, s[3], s[4]});
  auto out = torch::nn::functional::avg_pool2d(
      flat,
      torch::nn::functional::AvgPool2dFuncOptions(7).stride(1).padding(3).count_include_pad(false));
  return out.reshape(s);
}

torch::Tensor frame_baseline(mm::MultimodalModel& model, const torch::Tensor& clean,
                             const torch::Tensor& raw, const std::string& kind, bool video) {
  if (kind == "zero") return torch::zeros_like(clean);
  if (kind == "blur") return box_blur(clean);
  std::uint8_t level = 0;
  if (kind == "black") {
    level = 0;
  } else if (kind == "grey") {
    level = 128;
  } else {
    CS_THROW(UnknownNameError, "unknown image baseline '", kind,
             "' (baselines: black, grey, blur, zero)");
  }
  const auto flat = torch::full_like(raw, level);
  return video ? model.vision->prepare_videos(flat) : model.vision->prepare_images(flat);
}

}  // namespace

InputTensors baseline_inputs(mm::MultimodalModel& model, const Examples& examples,
                             const InputTensors& clean, const BaselineOptions& options) {
  torch::NoGradGuard no_grad;
  InputTensors b;
  const auto& in = examples.batch.inputs;
  auto mask = text_attribution_mask(examples);
  if (options.text_positions == "question") {
    mask = torch::zeros_like(mask);
    for (std::int64_t i = 0; i < examples.size(); ++i) {
      for (auto t : examples.groups[i].at("question")) mask[i][t] = true;
    }
  } else {
    CS_CHECK_AS(UnknownNameError, options.text_positions == "prompt",
                "unknown text baseline positions '", options.text_positions,
                "' (question, prompt)");
  }
  mask = mask.unsqueeze(-1);
  if (options.text == "pad") {
    const auto pad = model.embed_tokens->weight[0].view({1, 1, -1}).expand_as(clean.text);
    b.text = torch::where(mask, pad, clean.text);
  } else if (options.text == "zero") {
    b.text = torch::where(mask, torch::zeros_like(clean.text), clean.text);
  } else {
    CS_THROW(UnknownNameError, "unknown text baseline '", options.text, "' (baselines: pad, zero)");
  }
  if (clean.image.defined())
    b.image = frame_baseline(model, clean.image, in.images, options.image, false);
  if (clean.video.defined())
    b.video = frame_baseline(model, clean.video, in.videos, options.image, true);
  if (clean.audio.defined()) {
    if (options.audio == "silence") {
      b.audio = model.audio->log_mel()(torch::zeros_like(in.audios));
    } else if (options.audio == "zero") {
      b.audio = torch::zeros_like(clean.audio);
    } else {
      CS_THROW(UnknownNameError, "unknown audio baseline '", options.audio,
               "' (baselines: silence, zero)");
    }
  }
  return b;
}

torch::Tensor forward_with_inputs(mm::MultimodalModel& model, const Examples& examples,
                                  const InputTensors& inputs) {
  std::vector<nn::HookHandle> handles;
  if (inputs.text.defined()) {
    const auto mask = text_attribution_mask(examples).unsqueeze(-1);
    handles.push_back(model.add_hook(
        "hook_embed",
        [mask, text = inputs.text](const torch::Tensor& x,
                                   const std::string&) -> std::optional<torch::Tensor> {
          return torch::where(mask, text.to(x.scalar_type()), x);
        }));
  }
  const auto& in = examples.batch.inputs;
  const bool any_image = in.images.defined() && in.images.size(0) > 0;
  if (model.vision && (inputs.image.defined() || inputs.video.defined())) {
    // The tower sees the images first, then the videos (MultimodalModel::embed's order).
    auto calls = std::make_shared<int>(0);
    handles.push_back(model.add_hook(
        "vision.hook_pixels",
        [calls, any_image, image = inputs.image, video = inputs.video](
            const torch::Tensor& x, const std::string&) -> std::optional<torch::Tensor> {
          const bool is_image = any_image && (*calls)++ == 0;
          const auto& replacement = is_image ? image : video;
          if (!replacement.defined()) return std::nullopt;
          return replacement;
        }));
  }
  if (model.audio && inputs.audio.defined()) {
    handles.push_back(
        model.add_hook("audio.hook_mel",
                       [audio = inputs.audio](const torch::Tensor&, const std::string&)
                           -> std::optional<torch::Tensor> { return audio; }));
  }
  return model.forward(examples.batch.inputs);
}

Examples repeat_examples(const Examples& examples, std::int64_t times) {
  CS_CHECK_AS(ConfigError, times >= 1, "repeat count must be >= 1");
  std::vector<std::int64_t> indices;
  for (std::int64_t i = 0; i < examples.size(); ++i) {
    for (std::int64_t k = 0; k < times; ++k) indices.push_back(i);
  }
  return examples.subset(indices);
}

torch::Tensor forward_logits(mm::MultimodalModel& model, const Examples& examples) {
  torch::NoGradGuard no_grad;
  return model.forward(examples.batch.inputs);
}

}  // namespace clearsight::interp
