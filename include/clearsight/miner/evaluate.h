// Evaluating any saved selection: the model's tasks with the selection's neurons (all, some
// modalities', or every other neuron) ablated, against the original model and random selections
// of the same size (what `clearsight miner eval` prints).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "clearsight/miner/miner.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/tokenizer.h"

namespace clearsight::miner {

/// What an evaluation of a selection runs.
struct SelectionEvalOptions {
  /// Tasks evaluated (empty: the model's preset tasks).
  std::vector<std::string> tasks;
  /// "test" or "validation".
  std::string split = "test";
  /// Samples per task.
  std::int64_t samples = 100;
  /// Only these modalities' neurons (empty: the whole selection).
  std::vector<std::string> modalities;
  /// Ablate every neuron except the chosen ones.
  bool complementary = false;
  /// Ablate only at the prompt positions of these token modalities ("text", "special",
  /// "image", "video", "audio"); empty: every position, generated tokens included.
  std::vector<std::string> positions;
  /// "zero", "min" or "mean" (means measured on the train split of the tasks).
  std::string value = "zero";
  /// Random controls of the same size (0: none).
  int random_seeds = 3;
  /// Seed of the random controls.
  std::uint64_t seed = 0;
  /// Samples per generation batch.
  std::int64_t batch_size = 32;
  /// Show progress bars.
  bool progress = false;
};

/// The neurons an evaluation ablates [layers, neurons] (before complementary): the selection's
/// union, or the union of options.modalities' masks.
torch::Tensor chosen_neurons(const Selection& selection,
                             const std::vector<std::string>& modalities);

/// Evaluates the selection on the model; throws ShapeError when it was made for another shape
/// of model and UnknownNameError for an unknown modality or task. Returns {"tasks": {task:
/// {"original", "ablated", "random_mean", "random_sd", "relative_drop", "relative_drop_random"}},
/// "mean_relative_drop", "mean_relative_drop_random", "neurons", "ablated_neurons", "modalities",
/// "complementary", "value", "split", "samples", "random_seeds", "random": [per seed {task:
/// score}]}.
nlohmann::json evaluate_selection(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                                  const Selection& selection, const SelectionEvalOptions& options);

}  // namespace clearsight::miner
