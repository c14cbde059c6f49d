// Attention read off the language model's post-softmax patterns (blocks.{l}.attn.hook_pattern):
// per-layer, per-head maps over the prompt, the attention mass between position groups
// (modality-to-modality), and attention rollout (Abnar & Zuidema 2020) of the last prompt token.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/mm/model.h"

namespace clearsight::interp {

/// Options of the attention study.
struct AttentionMapOptions {
  /// Position groups (examples.h group_names()) for modality mass and rollout; empty = the
  /// modalities present in the samples (input_modalities) plus "question" and "last".
  std::vector<std::string> groups;
  /// Samples (from the first) whose per-head maps are written to attention.safetensors and drawn
  /// in the report (head-averaged per layer).
  std::int64_t map_samples = 1;
  /// Also draw every head of every layer of the first sample (layers x heads heatmaps).
  bool report_heads = false;
  /// Compute attention rollout.
  bool rollout = true;
};

/// Per-layer, per-head attention maps of every sample over its prompt positions: one tensor
/// [layers, heads, P_i, P_i] (float64) per sample, P_i its prompt length. Rows (queries) sum to
/// 1; padding and answer positions are left out, so batch composition does not matter.
std::vector<torch::Tensor> attention_maps(mm::MultimodalModel& model, const Examples& examples);

/// The groups used when none are asked for: input_modalities(examples), then "question", "last".
std::vector<std::string> default_attention_groups(const Examples& examples);

/// Attention mass between groups for one sample: [layers, G, G] (float64) whose entry (l, a, b)
/// is, over the queries of group a, the mean of the summed (head-averaged) attention to keys of
/// group b. Rows of query groups without positions are zero. maps: [layers, heads, P, P];
/// positions outside the prompt are ignored.
torch::Tensor modality_mass(const torch::Tensor& maps,
                            const std::map<std::string, std::vector<std::int64_t>>& groups,
                            const std::vector<std::string>& names);

/// Modality mass of a set of samples.
struct ModalityMass {
  /// Group names (rows = query groups, columns = key groups).
  std::vector<std::string> groups;
  /// [N, layers, G, G] per sample (rows of absent query groups zero).
  torch::Tensor per_sample;
  /// [N, G] bool: the group had positions in the sample's prompt.
  torch::Tensor present;
  /// [layers, G, G]: per row, the mean over samples where the query group is present.
  torch::Tensor mean;
};

/// Modality mass of every sample of examples from its maps (attention_maps(examples)).
ModalityMass modality_mass(const std::vector<torch::Tensor>& maps, const Examples& examples,
                           const std::vector<std::string>& groups);

/// Attention rollout of one sample: A_hat_l = 0.5 (A_l + I) with A_l the head-averaged map of
/// layer l, rows renormalised, R = A_hat_{L-1} ... A_hat_0. Returns R [P, P] (float64); row q
/// says how much of position q's final state flows from each input position (rows sum to 1).
torch::Tensor attention_rollout(const torch::Tensor& maps);

/// Sums of a rollout row [P] over the positions of each group (positions beyond P ignored).
std::map<std::string, double> rollout_by_group(
    const torch::Tensor& row, const std::map<std::string, std::vector<std::int64_t>>& groups,
    const std::vector<std::string>& names);

/// The attention study: maps, modality mass and rollout of the selected samples. Writes
/// out_dir/result.json, out_dir/attention.safetensors and the report (report.html, report.md);
/// returns the result JSON: {"method": "attention", "model", "task", "split", "samples": [index],
/// "layers", "heads", "groups", "modality_mass": {"mean": [layers][G][G], "present_count": [G],
/// "per_sample": [[layers][G][G]]}, "rollout": {"mean_by_group": {group: mass}, "per_sample":
/// [{"index", "tokens", "last_row", "by_group"}]}, "files": {...}}.
nlohmann::json run_attention(const ModelRef& ref, const SampleSelection& selection,
                             const AttentionMapOptions& options,
                             const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
