// MINER's open findings made measurable with the toolbox: (a) where modalities converge (a stated
// criterion on kNN modality purity and the probe's modality accuracy, per layer), (b) semantic
// probing (audio positions read through the logit lens against the spoken words, and their
// similarity to the text centroid), (c) semantic telomeres (whether boundary tokens resemble text
// or the span they enclose, and the attention they receive), and (d) the last token's flow
// measured by knockout before and after MINER deactivation, against random neurons, one modality
// at a time.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/miner/miner.h"

namespace clearsight::interp {

/// Settings of the findings study.
struct FindingsOptions {
  /// Samples per task (validation split) for geometry, probes, semantic probing and telomeres.
  std::int64_t samples = 24;
  /// Convergence: the first layer where kNN modality purity (and, separately, the modality
  /// probe's held-out accuracy) falls below this; negative = halfway between each measure's
  /// chance level and 1 (stated in the report with the value used).
  double threshold = -1.0;
  /// A MINER selection file (miner run's selection.safetensors); empty = select here.
  std::filesystem::path selection;
  /// Samples per task scored when selecting here (validation split).
  std::int64_t miner_samples = 100;
  /// MINER's ratio when selecting here.
  double ratio = 0.02;
  /// Test samples of the knockout flow (the model's first media task).
  std::int64_t knockout_samples = 20;
  /// Random-neuron controls of the flow study.
  int random_seeds = 3;
  /// Seed of the random controls and subsamples.
  std::uint64_t seed = 0;
  /// Show progress bars.
  bool progress = true;
};

/// Semantic probing: per lens point, how strongly audio positions decode to the spoken words.
struct SemanticProbing {
  /// Lens points (hook_embed, blocks.{l}.hook_resid_post).
  std::vector<std::string> points;
  /// Per point: the mean over samples of the largest logit-lens probability of a spoken word at
  /// any audio position, and the same for words of the task that were not spoken (control).
  std::vector<double> spoken_probability, control_probability;
  /// Per point: fraction of samples with a spoken word in the top-k of some audio position, and
  /// the control's fraction.
  std::vector<double> spoken_hit_rate, control_hit_rate;
  /// Per point: centred cosine of the audio positions' mean to the prompt's text mean.
  std::vector<double> audio_text_cosine;
  /// Samples read and the k of the hit rate.
  std::int64_t samples = 0, top_k = 5;
};

/// Reads semantic probing on the speech task (audio models).
SemanticProbing semantic_probing(const ModelRef& ref, std::int64_t samples, std::int64_t top_k);

/// Semantic telomeres: per boundary token and lens point, its similarity to text and to the span.
struct Telomeres {
  /// Lens points.
  std::vector<std::string> points;
  /// Boundary tokens measured ("<|vision_start|>", ...).
  std::vector<std::string> tokens;
  /// [token][point]: centred cosine of the token's state to the prompt's text mean and to the mean
  /// of the span it encloses (media positions; NaN for <|im_start|>/<|im_end|>).
  std::vector<std::vector<double>> text_cosine, span_cosine;
  /// [token][layer]: attention it receives from the last position, divided by the uniform share
  /// (1 / visible keys); > 1 means more than an average key.
  std::vector<std::vector<double>> attention_from_last;
  /// Samples read.
  std::int64_t samples = 0;
};

/// Measures telomeres over the model's media tasks.
Telomeres telomeres(const ModelRef& ref, std::int64_t samples_per_task);

/// The whole study: writes result.json and a report with every section; the JSON has
/// "convergence", "semantic_probing" (audio models), "telomeres", "flow" and a one-paragraph
/// "summary".
nlohmann::json run_findings(const ModelRef& ref, const FindingsOptions& options,
                            const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
