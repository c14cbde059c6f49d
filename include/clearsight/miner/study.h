// The headline figures of MINER's deactivation study, from the scores of its conditions: the
// relative drop of each benchmark with the MINER neurons off and with random neurons off (mean
// and spread over the random seeds), their means, and the specificity matrix (one modality's
// neurons off at a time).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "clearsight/miner/pipeline.h"

namespace clearsight::miner {

/// (original - after) / original; 0 when the original score is not positive (nothing to lose).
double relative_drop(double original, double after);

/// One benchmark's row of the deactivation table.
struct BenchmarkDrop {
  std::string task;
  double original = 0.0;
  double miner = 0.0;
  /// Mean and sample standard deviation (n - 1; 0 for one seed) over the random controls.
  double random_mean = 0.0;
  double random_sd = 0.0;
  double relative_drop_miner = 0.0;
  /// The drop of the random mean.
  double relative_drop_random = 0.0;
};

/// The paper-style table: a row per task and the mean relative drops over the tasks.
struct DeactivationTable {
  std::vector<BenchmarkDrop> rows;
  double mean_relative_drop_miner = 0.0;
  double mean_relative_drop_random = 0.0;
};

/// Builds the table from the conditions' scores; throws ConfigError when a condition lacks a
/// task or no tasks are given.
DeactivationTable deactivation_table(const ConditionScores& original, const ConditionScores& mined,
                                     const std::vector<ConditionScores>& randoms,
                                     const std::vector<std::string>& tasks);

/// Specificity matrix: modality -> task -> relative drop when only that modality's neurons are
/// off (only_modality[m] holds the scores of that condition).
std::map<std::string, std::map<std::string, double>> specificity_matrix(
    const ConditionScores& original, const std::map<std::string, ConditionScores>& only_modality,
    const std::vector<std::string>& tasks);

}  // namespace clearsight::miner
