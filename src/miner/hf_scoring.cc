#include "clearsight/miner/hf_scoring.h"

#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/progress.h"

namespace clearsight::miner {
namespace {

torch::Tensor rgb(const std::filesystem::path& path) {
  auto image = read_png(path);
  return torch::from_blob(image.pixels.data(), {image.height, image.width, 3}, torch::kUInt8)
      .clone();
}

}  // namespace

mm::Modality qwen2_vl_modality(const mm::Qwen2VlBundle& bundle, std::int64_t id) {
  const auto& c = bundle.model->config();
  if (id == c.image_token_id) return mm::Modality::kImage;
  if (id == c.video_token_id) return mm::Modality::kVideo;
  if (bundle.tokenizer.is_special(id)) return mm::Modality::kSpecial;
  return mm::Modality::kText;
}

ScoreAccumulator score_qwen2_vl(mm::Qwen2VlBundle& bundle,
                                const std::vector<mm::DataRecord>& records,
                                const std::string& dataset, const ScoreRun& run) {
  CS_CHECK_AS(ConfigError, run.shards >= 1 && run.shard >= 0 && run.shard < run.shards,
              "bad shard ", run.shard, "/", run.shards);
  torch::NoGradGuard no_grad;
  auto& model = *bundle.model;
  model.eval();
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  ScoreAccumulator acc(dataset, layers, model.neurons_per_layer());
  const auto n = std::min<std::int64_t>(run.samples, static_cast<std::int64_t>(records.size()));
  ProgressOptions progress;
  progress.disable = !run.progress;
  progress.unit = "samples";
  ProgressBar bar("score " + dataset, (n - run.shard + run.shards - 1) / run.shards, progress);
  const auto dtype = model.embed_tokens->weight.scalar_type();
  for (std::int64_t i = run.shard; i < n; i += run.shards) {
    const auto& r = records[static_cast<std::size_t>(i)];
    CS_CHECK_AS(ConfigError, r.audio.empty(), "line ", r.line,
                ": a Qwen2-VL model cannot take audio");
    mm::Qwen2VlMedia media;
    if (!r.image.empty()) media.images = mm::process_qwen2_images({rgb(r.image)}, bundle.processor);
    if (!r.video.empty()) {
      std::vector<torch::Tensor> frames;
      for (const auto& f : r.video) frames.push_back(rgb(f));
      media.videos = mm::process_qwen2_videos({torch::stack(frames)}, bundle.processor);
    }
    const auto prompt = mm::qwen2_vl_prompt(bundle, r.prompt, media);
    auto inputs = mm::qwen2_vl_inputs(prompt, media);
    if (inputs.pixel_values.defined()) inputs.pixel_values = inputs.pixel_values.to(dtype);
    if (inputs.pixel_values_videos.defined()) {
      inputs.pixel_values_videos = inputs.pixel_values_videos.to(dtype);
    }
    auto [logits, cache] = model.run_with_cache([&] { return model.forward(inputs); },
                                                score_hooks(run.options.faithful));
    const auto masks = modality_masks(
        inputs.input_ids[0], [&](std::int64_t id) { return qwen2_vl_modality(bundle, id); });
    acc.add_batch(cache, masks.unsqueeze(0), layers, run.options);
    bar.advance(1);
  }
  bar.finish();
  return acc;
}

}  // namespace clearsight::miner
