// Analyses around MINER that answer its reviewers: where modalities converge (layer shares of
// selected neurons, similarity of modality-mean hidden states) and how much attention the last
// prompt token pays to each modality, with and without deactivation.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "clearsight/miner/miner.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::miner {

/// Linear CKA between two paired sets of representations X [n, d1] and Y [n, d2] (centred);
/// 1 for identical geometry, 0 for independent. Needs n >= 2.
double linear_cka(const torch::Tensor& x, const torch::Tensor& y);

/// Per layer, each modality's share of its selected neurons and the number of shared neurons.
struct LayerShares {
  std::vector<std::string> modalities;
  /// [modalities, layers]: fraction of the modality's neurons in each layer.
  torch::Tensor share;
  /// [layers]: neurons selected by two or more modalities.
  torch::Tensor shared;
};

/// Layer shares of a selection.
LayerShares layer_shares(const Selection& selection);

/// Measurements over prompts of a set of tasks.
struct FlowAndSimilarity {
  /// Modalities found in the prompts (kModalities names, excluding the unions).
  std::vector<std::string> modalities;
  /// [modalities, layers]: mean attention mass from the last prompt token to the modality.
  torch::Tensor last_token_flow;
  /// Pairs "text~image" ... with [layers] linear CKA of per-prompt modality-mean hidden states
  /// (hook_resid_post) across prompts containing both.
  std::map<std::string, torch::Tensor> cka;
  /// Same pairs with [layers] cosine similarity of the modality means averaged over prompts.
  std::map<std::string, torch::Tensor> cosine;
  /// Prompts measured.
  std::int64_t prompts = 0;
};

/// Runs one prefill pass per sample (first `samples` of each task's split) and measures the last
/// token's attention flow and the modality similarity per layer. Hooks already attached to the
/// model (e.g. deactivation) stay in effect.
FlowAndSimilarity measure_flow(mm::MultimodalModel& model, const mm::Tokenizer& tokenizer,
                               const std::vector<std::string>& tasks, mm::Split split,
                               std::int64_t samples);

}  // namespace clearsight::miner
