#include "clearsight/miner/pipeline.h"

#include <functional>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/strings.h"
#include "clearsight/mm/data.h"
#include "clearsight/mm/jsonl_eval.h"

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

std::int64_t samples_to_score(const ScoreRun& run, std::int64_t available) {
  CS_CHECK_AS(ConfigError, run.shards >= 1 && run.shard >= 0 && run.shard < run.shards,
              "bad shard ", run.shard, "/", run.shards);
  CS_CHECK_AS(ConfigError, run.samples >= 1, "nothing to score: samples is ", run.samples,
              " (expected >= 1)");
  const auto n = std::min(run.samples, available);
  CS_CHECK_AS(ConfigError, n > run.shard, "shard ", run.shard, "/", run.shards,
              " gets none of the ", n, " samples to score");
  return n;
}

namespace {

// Scores samples 0..n-1 (this run's shard of them) made by sample_at.
ScoreAccumulator score_samples(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                               const std::string& name, std::int64_t n,
                               const std::function<mm::Sample(std::int64_t)>& sample_at,
                               const ScoreRun& run) {
  torch::NoGradGuard no_grad;
  model.eval();
  const int layers = static_cast<int>(model.config().num_hidden_layers);
  ScoreAccumulator acc(name, layers, model.neurons_per_layer());
  ProgressOptions progress;
  progress.disable = !run.progress;
  progress.unit = "samples";
  ProgressBar bar("score " + name, (n - run.shard + run.shards - 1) / run.shards, progress);
  std::vector<std::int64_t> indices;
  for (std::int64_t i = run.shard; i < n; i += run.shards) indices.push_back(i);
  const auto batch_size = static_cast<std::size_t>(std::max<std::int64_t>(1, run.batch_size));
  for (std::size_t start = 0; start < indices.size();) {
    std::vector<mm::Sample> samples{sample_at(indices[start])};
    std::size_t end = start + 1;
    while (end < indices.size() && end - start < batch_size) {
      auto next = sample_at(indices[end]);
      if (mm::media_kind(next) != mm::media_kind(samples.front())) break;
      samples.push_back(std::move(next));
      ++end;
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
    start = end;
  }
  bar.finish();
  return acc;
}

}  // namespace

ScoreAccumulator score_task(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                            const mm::Task& task, const ScoreRun& run) {
  return score_samples(
      model, tokenizer, task.name(), samples_to_score(run, task.split_size(run.split)),
      [&](std::int64_t i) { return task.sample(run.split, i); }, run);
}

ScoreAccumulator score_dataset(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                               const std::vector<mm::DataRecord>& records,
                               const std::string& dataset, const ScoreRun& run) {
  const auto n = samples_to_score(run, static_cast<std::int64_t>(records.size()));
  return score_samples(
      model, tokenizer, dataset, n,
      [&](std::int64_t i) { return mm::record_sample(records[static_cast<std::size_t>(i)]); }, run);
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
