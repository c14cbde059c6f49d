// Sparse autoencoders on any hook's activations: ReLU (L1 penalty weighted by decoder norms) and
// TopK dictionaries, trained on activations streamed from a task's samples through a shuffling
// buffer, evaluated by reconstruction (MSE, explained variance), sparsity (L0, dead features) and
// the model's loss with the SAE spliced in; read and written as SAELens folders (cfg.json +
// sae_weights.safetensors) so community SAEs load and ours load in SAELens.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/nn/hooked_module.h"

namespace clearsight::interp {

/// The dictionary's shape and where it reads (SAELens's cfg.json fields).
struct SaeConfig {
  /// Input width (the hook's last dim; heads' hook_z flattened to heads x head_dim).
  std::int64_t d_in = 0;
  /// Number of features.
  std::int64_t d_sae = 0;
  /// "standard" (ReLU) or "topk".
  std::string architecture = "standard";
  /// Active features per token (topk).
  std::int64_t k = 32;
  /// The hook read ("blocks.1.hook_resid_post").
  std::string hook_name;
  /// Its layer (-1 when it has none).
  std::int64_t hook_layer = -1;
  /// The model's name.
  std::string model_name;
  /// Subtract b_dec from the input before encoding (SAELens's default).
  bool apply_b_dec_to_input = true;
};

/// A sparse autoencoder: f = act(W_enc^T (x - b_dec) + b_enc), x_hat = W_dec^T f + b_dec.
struct Sae {
  SaeConfig config;
  /// [d_in, d_sae].
  torch::Tensor W_enc;
  /// [d_sae].
  torch::Tensor b_enc;
  /// [d_sae, d_in].
  torch::Tensor W_dec;
  /// [d_in].
  torch::Tensor b_dec;

  /// A new dictionary: decoder rows random unit vectors, encoder their transpose, biases zero.
  static Sae create(const SaeConfig& config, std::uint64_t seed);
  /// Feature activations [..., d_sae] of x [..., d_in].
  torch::Tensor encode(const torch::Tensor& x) const;
  /// Reconstruction [..., d_in] of features [..., d_sae].
  torch::Tensor decode(const torch::Tensor& features) const;
  /// decode(encode(x)).
  torch::Tensor reconstruct(const torch::Tensor& x) const;
  /// Checks the tensors' shapes and values against config (ShapeError, FormatError for NaNs).
  void validate() const;
};

/// Writes dir/cfg.json and dir/sae_weights.safetensors (W_enc, W_dec, b_enc, b_dec) atomically.
void save_saelens(const Sae& sae, const std::filesystem::path& dir);

/// Reads a SAELens folder (architecture "standard"/"topk" or the older activation_fn_str
/// "relu"/"topk"); throws IoError, FormatError (missing or mis-shaped tensors, unsupported
/// architecture or normalisation) naming the file.
Sae load_saelens(const std::filesystem::path& dir);

/// The activation [B, L, d_in] of a hook's output (hook_z [B, H, L, D] becomes [B, L, H * D]).
torch::Tensor sae_input(const torch::Tensor& activation);

/// Attaches a hook that replaces the hook's activation by the SAE's reconstruction (plus the
/// error term x - x_hat when keep_error, which makes it the identity but exposes the features to
/// feature ablations through edit). edit, when set, changes the features [B, L, d_sae] first.
nn::HookHandle splice_sae(nn::HookedModule& model, const Sae& sae, bool keep_error = false,
                          std::function<torch::Tensor(const torch::Tensor&)> edit = nullptr);

/// Options of SAE training.
struct SaeTrainOptions {
  /// Task whose samples are streamed (train split) and evaluated (validation split).
  std::string task = "scene_vqa";
  /// Hook read.
  std::string hook = "blocks.1.hook_resid_post";
  /// Dictionary size.
  std::int64_t features = 512;
  /// "standard" (ReLU + L1) or "topk".
  std::string architecture = "standard";
  /// Active features (topk).
  std::int64_t k = 32;
  /// Optimiser steps.
  std::int64_t steps = 500;
  /// Tokens per step.
  std::int64_t batch_tokens = 512;
  /// Tokens held in the shuffling buffer (half is replaced by fresh tokens when served).
  std::int64_t buffer_tokens = 8192;
  /// Adam learning rate.
  double lr = 4e-4;
  /// L1 coefficient (standard), on inputs scaled to mean norm sqrt(d_in); warmed up linearly
  /// over the first 5% of steps.
  double l1_coefficient = 5.0;
  /// Samples per model forward pass while streaming.
  std::int64_t batch_size = 16;
  /// Validation samples of the evaluation (metrics, spliced loss, dashboards).
  std::int64_t eval_samples = 32;
  /// Features shown with a dashboard in the report.
  std::int64_t dashboards = 4;
  /// Seed of the initialisation and the shuffling.
  std::uint64_t seed = 0;
  /// Show a progress bar.
  bool progress = true;
};

/// Metrics of an SAE on evaluation tokens.
struct SaeMetrics {
  /// Mean over tokens of the squared error summed over d_in.
  double mse = 0;
  /// 1 - sum |x - x_hat|^2 / sum |x - mean x|^2.
  double explained_variance = 0;
  /// Mean number of active features per token.
  double l0 = 0;
  /// Fraction of features that never fire on the evaluation tokens.
  double dead_fraction = 0;
  /// Tokens evaluated.
  std::int64_t tokens = 0;
};

/// Reconstruction and sparsity metrics of sae on activations x [T, d_in].
SaeMetrics sae_metrics(const Sae& sae, const torch::Tensor& x);

/// The activations [T, d_in] of hook at every real position (prompt and answer) of the examples,
/// and, per token, (sample row, position).
std::pair<torch::Tensor, std::vector<std::pair<std::int64_t, std::int64_t>>> collect_activations(
    mm::MultimodalModel& model, const Examples& examples, const std::string& hook);

/// An SAE evaluated on a task's validation samples.
struct SaeEvaluation {
  SaeMetrics metrics;
  /// Mean answer-token loss (nats) of the model as it is, with the SAE spliced in, and with the
  /// hook zero-ablated; recovered = (zero - spliced) / (zero - clean) (NaN when zero == clean).
  double clean_loss = 0, spliced_loss = 0, zero_loss = 0, recovered = 0;
  /// The evaluated examples, their activations [T, d_in] and each token's (row, position).
  Examples examples;
  torch::Tensor activations;
  std::vector<std::pair<std::int64_t, std::int64_t>> where;
};

/// Refuses (ConfigError) an SAE whose cfg.json names another model than `model` (ours are named
/// after the model they were trained on); an empty model_name passes.
void check_sae_model(const Sae& sae, const std::string& model);

/// Evaluates sae (on its hook) over the first `samples` validation samples of task.
SaeEvaluation evaluate_sae(const ModelRef& ref, const Sae& sae, const std::string& task,
                           std::int64_t samples);

/// The evaluation as JSON: {"mse", "explained_variance", "l0", "dead_fraction", "eval_tokens",
/// "loss": {"clean", "spliced", "zero_ablation", "ce_loss_score"}}.
nlohmann::json evaluation_json(const SaeEvaluation& evaluation);

/// Trains an SAE on options.hook of ref's model and writes out_dir/cfg.json,
/// sae_weights.safetensors, result.json (the metrics, the spliced losses and the training curve)
/// and the report with feature dashboards; returns the result JSON: {"method": "sae", "hook",
/// "features", "architecture", "steps", "tokens_seen", "mse", "explained_variance", "l0",
/// "dead_fraction", "loss": {"clean", "spliced", "zero_ablation", "ce_loss_score"}, "curve",
/// "dashboards", "files"}.
nlohmann::json train_sae(const ModelRef& ref, const SaeTrainOptions& options,
                         const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
