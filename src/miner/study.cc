#include "clearsight/miner/study.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::miner {
namespace {

double score_of(const ConditionScores& c, const std::string& task) {
  const auto it = c.scores.find(task);
  CS_CHECK_AS(ConfigError, it != c.scores.end(), "condition '", c.condition, "' has no score for ",
              task);
  return it->second;
}

}  // namespace

double relative_drop(double original, double after) {
  return original > 0 ? (original - after) / original : 0.0;
}

DeactivationTable deactivation_table(const ConditionScores& original, const ConditionScores& mined,
                                     const std::vector<ConditionScores>& randoms,
                                     const std::vector<std::string>& tasks) {
  CS_CHECK_AS(ConfigError, !tasks.empty(), "deactivation_table: no tasks");
  DeactivationTable table;
  for (const auto& task : tasks) {
    BenchmarkDrop row;
    row.task = task;
    row.original = score_of(original, task);
    row.miner = score_of(mined, task);
    for (const auto& r : randoms) row.random_mean += score_of(r, task);
    if (!randoms.empty()) row.random_mean /= static_cast<double>(randoms.size());
    double sq = 0;
    for (const auto& r : randoms) sq += std::pow(score_of(r, task) - row.random_mean, 2);
    row.random_sd =
        randoms.size() > 1 ? std::sqrt(sq / static_cast<double>(randoms.size() - 1)) : 0.0;
    row.relative_drop_miner = relative_drop(row.original, row.miner);
    row.relative_drop_random = relative_drop(row.original, row.random_mean);
    table.mean_relative_drop_miner += row.relative_drop_miner / static_cast<double>(tasks.size());
    table.mean_relative_drop_random += row.relative_drop_random / static_cast<double>(tasks.size());
    table.rows.push_back(row);
  }
  return table;
}

std::map<std::string, std::map<std::string, double>> specificity_matrix(
    const ConditionScores& original, const std::map<std::string, ConditionScores>& only_modality,
    const std::vector<std::string>& tasks) {
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& [modality, scores] : only_modality) {
    for (const auto& task : tasks) {
      out[modality][task] = relative_drop(score_of(original, task), score_of(scores, task));
    }
  }
  return out;
}

}  // namespace clearsight::miner
