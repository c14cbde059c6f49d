// Reading the residual stream as next-token predictions: the logit lens (the model's final norm
// and unembedding applied to hook_embed and every blocks.{l}.hook_resid_post) and the tuned lens
// (Belrose et al. 2023: one affine translator per layer, trained so that its readout matches the
// model's final distribution).
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/mm/model.h"

namespace clearsight::interp {

/// The lens points of a model in depth order: "hook_embed", then "blocks.{l}.hook_resid_post"
/// for every layer (layers + 1 names; point p > 0 is the output of block p - 1).
std::vector<std::string> lens_points(const mm::MultimodalModel& model);

/// The residual stream of the examples at every lens point and the model's logits.
struct ResidualStreams {
  /// [points, B, L, hidden] activations (no grad).
  torch::Tensor streams;
  /// [B, L, vocab] the model's logits.
  torch::Tensor logits;
};

/// Records the residual stream at every lens point in one forward pass (no grad).
ResidualStreams residual_streams(mm::MultimodalModel& model, const Examples& examples);

/// The model's readout of hidden states h [..., hidden]: the unembedding (tied embed_tokens
/// weight, else lm_head) of ln_final(h), giving logits [..., vocab]. At the last lens point this
/// is exactly the model's logits. Differentiable with respect to h.
torch::Tensor lens_logits(mm::MultimodalModel& model, const torch::Tensor& h);

/// Per-layer affine translators h -> A_p h + b_p, one per lens point (the last point is kept at
/// the identity: the model's own readout).
class TunedLens {
 public:
  /// An empty lens (no points).
  TunedLens() = default;
  /// Identity translators (A = I, b = 0) for `points` lens points of width hidden.
  TunedLens(std::int64_t points, std::int64_t hidden, std::string model_name);
  /// Identity translators for every lens point of model.
  static TunedLens identity(const mm::MultimodalModel& model, std::string model_name);

  /// Number of lens points.
  std::int64_t points() const { return static_cast<std::int64_t>(weights_.size()); }
  /// Width of the residual stream.
  std::int64_t hidden() const { return hidden_; }
  /// The model the lens was made for (metadata).
  const std::string& model_name() const { return model_name_; }
  /// A_p h + b_p for hidden states h [..., hidden] (differentiable in h and the translator).
  torch::Tensor translate(std::int64_t point, const torch::Tensor& h) const;
  /// Weight A_p [hidden, hidden] (float32; a tensor that requires grad when trained).
  torch::Tensor& weight(std::int64_t point);
  /// Bias b_p [hidden].
  torch::Tensor& bias(std::int64_t point);
  /// Throws ConfigError unless the lens has one translator per lens point of model and its width.
  void check_fits(const mm::MultimodalModel& model) const;

  /// Saves the translators (weight.<p>, bias.<p>) as safetensors with metadata kind=tuned_lens,
  /// model, layers, hidden, points, atomically.
  void save(const std::filesystem::path& path) const;
  /// Loads a file written by save(); throws IoError, FormatError (not a tuned lens, bad shapes).
  static TunedLens load(const std::filesystem::path& path);

 private:
  std::vector<torch::Tensor> weights_;
  std::vector<torch::Tensor> biases_;
  std::int64_t hidden_ = 0;
  std::string model_name_;
};

/// Options of a logit (or tuned) lens readout.
struct LensOptions {
  /// Groups (examples.h group_names()) whose positions are read, e.g. "last", "image", "audio".
  std::vector<std::string> positions = {"last"};
  /// Decoded tokens reported per position and layer.
  std::int64_t top_k = 5;
  /// The target whose first token is "the answer token" (probability and rank per layer).
  Target target{.kind = "first", .token = {}};
};

/// One read position.
struct LensPosition {
  /// Sample (row of the examples' batch).
  std::int64_t sample = 0;
  /// Position in the sample.
  std::int64_t position = 0;
  /// The group it was chosen by.
  std::string group;
  /// The token at the position.
  std::string token;
  /// The answer token's id.
  std::int64_t answer_id = 0;
};

/// A lens readout at chosen positions, for every lens point.
struct LensReadout {
  /// lens_points(model).
  std::vector<std::string> points;
  /// The positions read (n).
  std::vector<LensPosition> positions;
  /// [points, n] float64: KL(final distribution || lens distribution) in nats.
  torch::Tensor kl;
  /// [points, n] float64: probability of the answer token.
  torch::Tensor answer_probability;
  /// [points, n] int64: rank of the answer token (1 = most probable).
  torch::Tensor answer_rank;
  /// [points, n, top_k] int64: ids of the most probable tokens, most probable first.
  torch::Tensor top_ids;
  /// [points, n, top_k] float64: their probabilities.
  torch::Tensor top_probability;
};

/// Reads the lens at options.positions of every sample. tuned = nullptr gives the logit lens;
/// otherwise each point's hidden state goes through its translator first. Throws
/// UnknownNameError for an unknown group, ConfigError for top_k < 1 or a lens that does not fit.
LensReadout read_lens(mm::MultimodalModel& model, const Examples& examples,
                      const LensOptions& options, const TunedLens* tuned = nullptr);

/// KL(final || lens) [points, n] (float64) at every prompt position of every sample (n in total,
/// sample by sample), for the logit lens (tuned = nullptr) or a tuned lens.
torch::Tensor prompt_kl(mm::MultimodalModel& model, const Examples& examples,
                        const TunedLens* tuned = nullptr);

/// How a tuned lens is trained.
struct TunedLensTraining {
  /// Adam steps (each over every training position, or a minibatch of them).
  std::int64_t steps = 300;
  /// Adam learning rate.
  double learning_rate = 1e-3;
  /// Positions per step (0 = all training positions every step).
  std::int64_t minibatch = 0;
  /// Seed of the minibatch sampling.
  std::uint64_t seed = 0;
  /// Show a progress bar.
  bool progress = true;
};

/// A trained tuned lens with its loss curve.
struct TrainedLens {
  /// The translators.
  TunedLens lens;
  /// [steps, points] float64: per step, the mean KL of every trained point (0 for the last).
  torch::Tensor loss;
  /// Training positions used.
  std::int64_t positions = 0;
};

/// Trains translators for every lens point but the last with Adam, minimising over the prompt
/// positions of the batches the mean KL(final || softmax(lens_logits(A_p h + b_p))). The model's
/// parameters are not changed and get no gradients.
TrainedLens train_tuned_lens(mm::MultimodalModel& model, const std::vector<Examples>& batches,
                             const TunedLensTraining& options, const std::string& model_name);

/// The logit lens study: per-layer top-k tokens, answer probability and rank, and KL at the
/// chosen positions. Writes out_dir/result.json, lens.safetensors and the report; returns the
/// result JSON: {"method": "logit_lens", "model", "task", "split", "samples": [index], "points",
/// "groups", "top_k", "mean_kl": [points], "mean_answer_probability": [points], "by_group":
/// {group: {"mean_kl", "mean_answer_probability", "mean_answer_rank"}}, "positions": [{"sample",
/// "position", "group", "token", "answer", "layers": [{"point", "kl", "answer_probability",
/// "answer_rank", "top_k": [{"token", "probability"}]}]}], "files": {...}}.
nlohmann::json run_logit_lens(const ModelRef& ref, const SampleSelection& selection,
                              const LensOptions& options, const std::filesystem::path& out_dir);

/// Options of the tuned lens study.
struct TunedLensOptions {
  /// Training samples: this split of the study's task, samples train_first ..
  /// train_first + train_count - 1 (must not overlap the evaluated samples).
  std::string train_split = "train";
  /// First training sample.
  std::int64_t train_first = 0;
  /// Number of training samples.
  std::int64_t train_count = 32;
  /// Optimisation settings.
  TunedLensTraining training;
  /// Translators to load instead of training (empty: train).
  std::filesystem::path load;
  /// The readout at chosen positions reported for both lenses.
  LensOptions lens;
};

/// The tuned lens study: trains (or loads) translators, saves them as
/// out_dir/tuned_lens.safetensors, and compares per-layer KL of the logit and tuned lens over every
/// prompt position of the selected (held-out) samples. Writes result.json, lens_kl.safetensors and
/// the report; returns
/// {"method": "tuned_lens", "model", "task", "split", "samples", "points", "train": {"split",
/// "first", "count", "positions", "steps", "learning_rate", "final_loss", "loaded"}, "kl":
/// {"logit_lens": [points], "tuned_lens": [points]}, "positions": n, "loss": [steps],
/// "readout": {"logit_lens": {...}, "tuned_lens": {...}} (per-point means at options.lens
/// positions), "files": {...}}.
nlohmann::json run_tuned_lens(const ModelRef& ref, const SampleSelection& selection,
                              const TunedLensOptions& options,
                              const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
