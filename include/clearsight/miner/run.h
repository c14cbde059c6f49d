// `miner run` as a library call: the four stages on a model's preset tasks (score files reused
// when their provenance matches), the selection, the deactivation study against random controls,
// the specificity matrix, where modalities converge and the last token's attention before and
// after; optionally the strategy x metric-weight ablation.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "clearsight/core/run_dir.h"
#include "clearsight/miner/miner.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/tokenizer.h"

namespace clearsight::miner {

/// What a MINER study runs.
struct StudyOptions {
  /// The model's name or folder as given (recorded with the scores, for provenance).
  std::string model = "cs-tiny-vl";
  /// Validation samples scored per task.
  std::int64_t score_samples = 100;
  /// Test samples evaluated per task.
  std::int64_t eval_samples = 100;
  /// Random-control repetitions (>= 1).
  int random_seeds = 3;
  /// Fraction of the LM's MLP neurons selected.
  double ratio = 0.02;
  /// The official code's attention-score computation.
  bool faithful = false;
  /// Also run the strategy x metric-weight ablation (24 more evaluations of every task).
  bool ablation = false;
  /// Test samples per task in the ablation.
  std::int64_t ablation_samples = 30;
  /// Modalities competing in selection: default, special_text or prompt.
  std::string split = "default";
  /// Deactivate every neuron except the selected ones.
  bool complementary = false;
  /// Seed of the random controls (control s uses seed + 1000 + s).
  std::uint64_t seed = 0;
  /// Progress bars while scoring.
  bool progress = true;
};

/// Throws ConfigError on an invalid option (before any work).
void check_study_options(const StudyOptions& options);

/// The preset ("cs-tiny-vl" or "cs-tiny-audio") whose tasks a model is studied on.
std::string study_preset(const mm::MultimodalModel& model);

/// Runs the study into run: config.json (with extra_config merged in), scores/<task>.safetensors,
/// selection.safetensors and summary.json, which it returns. Score files made with another
/// model, faithful setting or sample count are refused (ConfigError) before anything is written.
nlohmann::json run_study(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                         const StudyOptions& options, const RunDir& run,
                         const nlohmann::json& extra_config = nlohmann::json::object());

/// Per-layer neuron counts of each modality of a selection, and "shared" (two or more).
nlohmann::json layer_counts(const Selection& selection);

}  // namespace clearsight::miner
