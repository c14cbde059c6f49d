#include "clearsight/miner/hf_scoring.h"

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"

namespace clearsight::miner {

ScoreAccumulator score_qwen2(mm::Qwen2Bundle& bundle, const std::vector<mm::DataRecord>& records,
                             const std::string& dataset, const ScoreRun& run) {
  const auto n = samples_to_score(run, static_cast<std::int64_t>(records.size()));
  torch::NoGradGuard no_grad;
  auto& model = *bundle.model;
  model.eval();
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  ScoreAccumulator acc(dataset, layers, model.neurons_per_layer());
  ProgressOptions progress;
  progress.disable = !run.progress;
  progress.unit = "samples";
  ProgressBar bar("score " + dataset, (n - run.shard + run.shards - 1) / run.shards, progress);
  for (std::int64_t i = run.shard; i < n; i += run.shards) {
    const auto& r = records[static_cast<std::size_t>(i)];
    mm::Qwen2Media media;
    try {
      media = mm::process_media(bundle, mm::read_record_media(bundle, r));
    } catch (const ConfigError& e) {
      CS_THROW(ConfigError, "line ", r.line, ": ", e.what());
    }
    const auto inputs = mm::qwen2_inputs(bundle, mm::qwen2_prompt(bundle, r.prompt, media), media);
    auto [logits, cache] = model.run_with_cache([&] { return model.forward(inputs); },
                                                score_hooks(run.options.faithful));
    const auto masks = modality_masks(
        inputs.input_ids[0], [&](std::int64_t id) { return mm::qwen2_modality(bundle, id); });
    acc.add_batch(cache, masks.unsqueeze(0), layers, run.options);
    bar.advance(1);
  }
  bar.finish();
  return acc;
}

}  // namespace clearsight::miner
