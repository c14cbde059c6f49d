// Neuron rankings that are not MINER's: every LM MLP neuron (blocks.{l}.mlp.hook_post) ranked by
// its activation magnitude or by its attribution to the answer (activation x gradient), and the
// top neurons as a selection file that `miner eval` deactivates. They are the controls of the
// question whether MINER's effect is only that of large or important neurons.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/miner/miner.h"

namespace clearsight::interp {

/// The criteria, in documentation order: "magnitude", "attribution".
const std::vector<std::string>& neuron_criterion_names();

/// What neuron_importance reads.
struct NeuronImportanceOptions {
  /// "magnitude": per sample the mean |a| over the sample's positions (prompt and teacher-forced
  /// answer); "attribution": per sample |sum over positions of a * d score / d a|, the
  /// first-order estimate of what zeroing the neuron everywhere does to the answer's
  /// log-probability (score = Target "answer").
  std::string criterion = "magnitude";
  /// Tasks read; the importance is the mean of the tasks' means.
  std::vector<std::string> tasks;
  /// "train", "validation" or "test".
  std::string split = "validation";
  /// Samples per task (the first ones of the split).
  std::int64_t samples = 200;
  /// Samples per forward pass (results do not depend on it).
  std::int64_t batch_size = 8;
  /// Draw a progress bar.
  bool progress = false;
};

/// Throws ConfigError for an unknown criterion, no task, samples < 1 or batch_size < 1 (what
/// neuron_importance checks before loading anything).
void check_neuron_importance_options(const NeuronImportanceOptions& options);

/// Importance [layers, neurons] (float64, >= 0) of every LM MLP neuron; throws what
/// check_neuron_importance_options does, ConfigError for a task the model cannot read, and
/// NumericError when an importance is not finite.
torch::Tensor neuron_importance(const ModelRef& ref, const NeuronImportanceOptions& options);

/// The `count` most important neurons over all layers (ties to the lower layer, then the lower
/// index) as a selection with one group named `name` (also its strategy); throws ConfigError
/// unless 0 < count <= importance.numel().
miner::Selection top_neurons(const torch::Tensor& importance, std::int64_t count,
                             const std::string& name);

}  // namespace clearsight::interp
