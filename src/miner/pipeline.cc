#include "clearsight/miner/pipeline.h"

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/mm/data.h"

namespace clearsight::miner {

std::pair<int, int> parse_shard(const std::string& text) {
  const auto parts = split(text, '/');
  int i = -1, n = 0;
  try {
    if (parts.size() == 2) {
      i = std::stoi(parts[0]);
      n = std::stoi(parts[1]);
    }
  } catch (const std::exception&) {
    i = -1;
  }
  CS_CHECK_AS(ConfigError, parts.size() == 2 && n >= 1 && i >= 0 && i < n, "shard '", text,
              "' must look like i/n with 0 <= i < n");
  return {i, n};
}

ScoreAccumulator score_task(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                            const mm::Task& task, const ScoreRun& run) {
  CS_CHECK_AS(ConfigError, run.shards >= 1 && run.shard >= 0 && run.shard < run.shards,
              "bad shard ", run.shard, "/", run.shards);
  torch::NoGradGuard no_grad;
  model.eval();
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  ScoreAccumulator acc(task.name(), layers, model.neurons_per_layer());
  const auto n = std::min(run.samples, task.split_size(run.split));
  ProgressOptions progress;
  progress.disable = !run.progress;
  progress.unit = "samples";
  ProgressBar bar("score " + task.name(), (n - run.shard + run.shards - 1) / run.shards, progress);
  std::vector<std::int64_t> indices;
  for (std::int64_t i = run.shard; i < n; i += run.shards) indices.push_back(i);
  for (std::size_t start = 0; start < indices.size();
       start += static_cast<std::size_t>(std::max<std::int64_t>(1, run.batch_size))) {
    std::vector<mm::Sample> samples;
    for (std::size_t j = start; j < std::min(indices.size(), start + run.batch_size); ++j) {
      samples.push_back(task.sample(run.split, indices[j]));
    }
    const auto batch = mm::collate(samples, tokenizer, model.media_tokens(),
                                   model.config().audio_config.max_samples,
                                   /*with_answers=*/false);
    auto [logits, cache] = model.run_with_cache([&] { return model.forward(batch.inputs); },
                                                score_hooks(run.options.faithful));
    std::vector<torch::Tensor> masks;
    for (std::size_t b = 0; b < samples.size(); ++b) {
      const auto row = static_cast<std::int64_t>(b);
      masks.push_back(modality_masks(batch.inputs.input_ids[row], tokenizer)
                          .logical_and(batch.inputs.attention_mask[row].unsqueeze(0)));
    }
    acc.add_batch(cache, torch::stack(masks), layers, run.options);
    bar.advance(static_cast<std::int64_t>(samples.size()));
  }
  bar.finish();
  return acc;
}

ConditionScores evaluate_condition(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                                   const std::vector<std::string>& tasks,
                                   const mm::EvalOptions& eval, const std::string& condition,
                                   const Selection* selection, const DeactivateOptions& options) {
  std::vector<nn::HookHandle> handles;
  if (selection != nullptr) handles = deactivate(model, *selection, options);
  ConditionScores out;
  out.condition = condition;
  for (const auto& name : tasks) {
    const auto task = mm::make_task(name);
    out.scores[name] = mm::evaluate(model, tokenizer, *task, eval).score;
  }
  return out;
}

}  // namespace clearsight::miner
