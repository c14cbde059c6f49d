// The MINER pipeline on a model of the project: scoring task datasets (shardable), selecting
// neurons, and evaluating the tasks with MINER-selected and random neurons deactivated.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/miner/miner.h"
#include "clearsight/mm/jsonl_data.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::miner {

/// Which samples of a dataset to score.
struct ScoreRun {
  mm::Split split = mm::Split::kValidation;
  std::int64_t samples = 200;
  /// Shard i of n (samples i, i + n, i + 2n, ...).
  int shard = 0;
  int shards = 1;
  ScoreOptions options;
  /// Prompts per forward pass (right-padded; scores are identical to one prompt at a time).
  /// 1 by default: on 2 CPU cores batching is slower today (see docs/RESULTS.md).
  std::int64_t batch_size = 1;
  bool progress = false;
};

/// The number of samples (of `available`) a run scores, shards included; throws ConfigError when
/// the shard is invalid, samples < 1, or this run's shard would get no sample (an empty score
/// file is never written).
std::int64_t samples_to_score(const ScoreRun& run, std::int64_t available);

/// Parses "i/n" (0 <= i < n); throws ConfigError.
std::pair<int, int> parse_shard(const std::string& text);

/// Stage 2 + 3 over one task's samples: one prefill pass per sample with the scoring hooks.
ScoreAccumulator score_task(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                            const mm::Task& task, const ScoreRun& run);

/// Stage 2 + 3 over a JSONL dataset of one's own on a built-in model (the records read as
/// mm::record_sample does; run.split is ignored); the accumulator is named `dataset`.
ScoreAccumulator score_dataset(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                               const std::vector<mm::DataRecord>& records,
                               const std::string& dataset, const ScoreRun& run);

/// Scores of one evaluation condition per task.
struct ConditionScores {
  std::string condition;
  /// Task -> score.
  std::map<std::string, double> scores;
};

/// Evaluates every task with the given neurons deactivated (or none when selection has no
/// masks).
ConditionScores evaluate_condition(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                                   const std::vector<std::string>& tasks,
                                   const mm::EvalOptions& eval, const std::string& condition,
                                   const Selection* selection, const DeactivateOptions& options);

}  // namespace clearsight::miner
