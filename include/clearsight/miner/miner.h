// MINER: mining modality-specific neurons of multimodal LLMs in four stages (modality
// separation, importance scores, aggregation, selection), and deactivating them.
// See ../shared/docs/reference-notes.md section 1 and docs/adr/0004-miner.md.
#pragma once

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/mm/model.h"
#include "clearsight/mm/tokenizer.h"
#include "clearsight/nn/hooked_module.h"

namespace clearsight::miner {

// ---- Stage 1: modality separation ---------------------------------------------------------------

/// The modality groups MINER scores, in tensor order.
inline constexpr std::array<const char*, 7> kModalities = {
    "text", "special", "image", "video", "audio", "special_text", "prompt"};
/// Number of modality groups.
inline constexpr int kNumModalities = static_cast<int>(kModalities.size());

/// Index of a modality group name; throws UnknownNameError.
int modality_index(const std::string& name);

/// Position masks [kNumModalities, L] (bool) of one prompt's token ids [L] (prefill positions
/// only): text, special, image, video, audio by token id, plus special_text (special or text) and
/// prompt (every position).
torch::Tensor modality_masks(const torch::Tensor& ids, const mm::Tokenizer& tokenizer);
/// The same with the modality of each token id given by a function (other tokenizers).
torch::Tensor modality_masks(const torch::Tensor& ids,
                             const std::function<mm::Modality(std::int64_t)>& modality);

// ---- Stage 2: importance scores -----------------------------------------------------------------

/// The importance metrics, in tensor order.
inline constexpr std::array<const char*, 5> kMetrics = {"prob", "mean", "max", "attn_k", "attn_q"};
/// Number of metrics.
inline constexpr int kNumMetrics = static_cast<int>(kMetrics.size());

/// Index of a metric name; throws UnknownNameError.
int metric_index(const std::string& name);

/// How attention-weighted scores get their attention matrix.
struct ScoreOptions {
  /// false: the layer's real causal attention (head-averaged hook_pattern), used as weights.
  /// true: the official code's computation: non-causal softmax(q k^T / sqrt(d)) recomputed from
  /// hook_q/hook_k, head-averaged, cut to the modality block, then a second softmax (over queries
  /// for attn_k, over keys for attn_q) and score = 1^T S^T X (attn_k) or 1^T S X (attn_q).
  bool faithful = false;
};

/// Scores of one prompt: [kNumMetrics, kNumModalities, layers, neurons] float64, min-max
/// normalised per (metric, modality, layer) over neurons, plus which modalities were present.
struct SampleScores {
  torch::Tensor scores;
  /// [kNumModalities] bool: the modality had at least one position in this prompt.
  torch::Tensor present;
};

/// Names of the hook points a scoring pass records (MLP activations, attention patterns, and
/// q/k in faithful mode).
nn::NameFilter score_hooks(bool faithful);

/// Stage 2 for a batch of right-padded prompts from one recorded forward pass: masks
/// [B, kNumModalities, L] (padding positions in no mask). Gives the same scores as scoring each
/// prompt alone, since causal attention keeps padding out of the real positions.
std::vector<SampleScores> score_batch(const nn::ActivationCache& cache, const torch::Tensor& masks,
                                      int layers, const ScoreOptions& options = {});

/// Stage 2 for one prompt from a recorded cache (batch size 1): masks [kNumModalities, L].
SampleScores score_sample(const nn::ActivationCache& cache, const torch::Tensor& masks, int layers,
                          const ScoreOptions& options = {});

/// Min-max normalisation over the last dimension (constant rows become 0).
torch::Tensor min_max(const torch::Tensor& x);

// ---- Stage 3: aggregation -----------------------------------------------------------------------

/// Sample counts at which the running means are snapshotted.
inline constexpr std::array<std::int64_t, 7> kCheckpoints = {10, 100, 500, 1000, 2500, 5000, 10000};

/// Streaming (sum, count) of sample scores for one dataset; mergeable across shards.
class ScoreAccumulator {
 public:
  /// An empty accumulator for a dataset and a model of layers x neurons.
  ScoreAccumulator(std::string dataset, int layers, std::int64_t neurons);
  /// Adds one sample's scores.
  void add(const SampleScores& sample);
  /// Scores a batch from its cache (masks [B, kNumModalities, L]) straight into the sums: equal
  /// to add() of each score_batch() result, without the per-prompt score tensors. Throws
  /// NumericError, adding nothing, when any prompt has non-finite activations.
  void add_batch(const nn::ActivationCache& cache, const torch::Tensor& masks, int layers,
                 const ScoreOptions& options = {});
  /// Adds another accumulator of the same dataset and shape (shards); sums and counts add up.
  void merge(const ScoreAccumulator& other);
  /// Mean over samples [kNumMetrics, kNumModalities, layers, neurons] (0 where count is 0).
  torch::Tensor mean() const;
  /// Samples containing each modality [kNumModalities] int64.
  const torch::Tensor& counts() const { return counts_; }
  /// Samples added.
  std::int64_t samples() const { return samples_; }
  /// The dataset name.
  const std::string& dataset() const { return dataset_; }
  /// Snapshots of mean() taken when samples() reached each of kCheckpoints.
  const std::map<std::int64_t, torch::Tensor>& snapshots() const { return snapshots_; }
  /// Saves sums, counts and snapshots with metadata (atomic safetensors).
  void save(const std::filesystem::path& path,
            std::map<std::string, std::string> metadata = {}) const;
  /// Loads a saved accumulator; throws FormatError/ShapeError on a wrong file.
  static ScoreAccumulator load(const std::filesystem::path& path);

 private:
  std::string dataset_;
  torch::Tensor sums_;    // float64 [metrics, modalities, layers, neurons]
  torch::Tensor counts_;  // int64 [modalities]
  std::int64_t samples_ = 0;
  std::map<std::int64_t, torch::Tensor> snapshots_;
  void count_sample();  // ++samples_, with a snapshot at each checkpoint.
};

/// Per-modality mean across datasets that contain the modality:
/// [kNumMetrics, kNumModalities, layers, neurons], and which modalities occur anywhere.
std::pair<torch::Tensor, torch::Tensor> combine_datasets(
    const std::vector<ScoreAccumulator>& datasets);

// ---- Stage 4: selection -------------------------------------------------------------------------

/// Selection settings.
struct SelectOptions {
  /// Weights of prob, mean, max, attn_k, attn_q.
  std::array<double, kNumMetrics> weights = {0.0, 0.25, 0.25, 0.5, 0.0};
  /// Fraction of all LM MLP neurons selected.
  double ratio = 0.02;
  /// LA_MU, adaptive, LU_MA, uniform or random.
  std::string strategy = "LA_MU";
  /// Which modalities compete: "default" {text, special, image, video, audio},
  /// "special_text" {special_text, image, video, audio}, or "prompt" {prompt}.
  std::string split = "default";
  /// Seed of the random strategy.
  std::uint64_t seed = 0;
};

/// The strategies, in documentation order.
std::vector<std::string> strategy_names();

/// Selected neurons per modality.
struct Selection {
  /// Competing modalities that occurred in the data (or "random").
  std::vector<std::string> modalities;
  /// [modalities.size(), layers, neurons] bool.
  torch::Tensor masks;
  /// The settings used.
  SelectOptions options;

  /// Union of all modalities' neurons [layers, neurons].
  torch::Tensor union_mask() const;
  /// Neurons selected by two or more modalities [layers, neurons].
  torch::Tensor shared_mask() const;
  /// The mask of one modality; throws UnknownNameError.
  torch::Tensor mask(const std::string& modality) const;
  /// Selected neuron references ("blocks.3.mlp.hook_post[12]") of one modality.
  std::vector<std::string> neuron_names(const std::string& modality) const;
};

/// Stage 4: fuses the metrics of scores [kNumMetrics, kNumModalities, L, N] with the weights and
/// selects neurons; present [kNumModalities] marks modalities that occurred in the data.
Selection select_neurons(const torch::Tensor& scores, const torch::Tensor& present,
                         const SelectOptions& options);

// ---- Deactivation -------------------------------------------------------------------------------

/// How selected neurons are overwritten.
struct DeactivateOptions {
  /// "zero", "min" (minimum of the whole activation tensor) or "mean" (the neuron's mean).
  std::string value = "zero";
  /// Deactivate every neuron except the selected ones.
  bool complementary = false;
  /// Only these modalities' neurons (empty: all of the selection).
  std::vector<std::string> modalities;
  /// Per-neuron means [layers, neurons] for value "mean".
  torch::Tensor means;
  /// When set, only these positions [B, L] (bool) of a prompt's prefill are deactivated (see
  /// nn::AblationOptions::positions); generated tokens are left alone.
  std::shared_ptr<torch::Tensor> positions;
};

/// Attaches hooks that overwrite the selected neurons at every position of every forward pass
/// (generation included) while the returned handles live.
std::vector<nn::HookHandle> deactivate(nn::HookedModule& model, const Selection& selection,
                                       const DeactivateOptions& options);

/// MINER's control: as many uniformly random neurons as the selection's union holds; seeded.
Selection random_like(const Selection& selection, std::uint64_t seed);

}  // namespace clearsight::miner
