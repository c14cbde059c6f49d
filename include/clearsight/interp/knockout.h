// Information flow by attention knockout ("Cross-modal Information Flow in Multimodal Large
// Language Models", arXiv 2411.18620): block the attention from the queries of one position group
// to the keys of another over a window of consecutive layers and measure how the probability of
// the answer changes.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/mm/model.h"
#include "clearsight/nn/hooked_module.h"

namespace clearsight::interp {

/// One blocked edge: queries of group `target` cannot attend to keys of group `source`.
struct KnockoutEdge {
  /// Key group (examples.h group_names(), or "all" for every position of the sample).
  std::string source;
  /// Query group (same names).
  std::string target;
};

/// Parses an edge set: edges "SRC-TGT" (or "SRC->TGT") separated by commas, e.g.
/// "image-last,question-last"; "" and "none" are the empty set. Throws ConfigError for a
/// malformed edge and UnknownNameError for an unknown group.
std::vector<KnockoutEdge> parse_edge_set(const std::string& spec);

/// The canonical text of an edge set ("image-last,question-last"; "none" when empty).
std::string edge_set_name(const std::vector<KnockoutEdge>& edges);

/// Where to knock out: the edges, applied at the listed decoder layers.
struct KnockoutSpec {
  /// The blocked edges (empty: no change at all).
  std::vector<KnockoutEdge> edges;
  /// Decoder layers (0-based) whose attention is edited.
  std::vector<std::int64_t> layers;
};

/// Mask [B, L, L] (bool) of blocked (query, key) pairs of the examples' batch: query in a target
/// group and key in the matching source group. Padding positions are never blocked.
torch::Tensor knockout_mask(const Examples& examples, const std::vector<KnockoutEdge>& edges);

/// Applies a blocked-pair mask [B, Lq, Lk] (bool) to a post-softmax pattern [B, H, Lq, Lk]:
/// blocked entries become zero and their rows are renormalised, which equals adding -inf to the
/// blocked logits before the softmax. Rows without blocked entries are returned bit-identical,
/// and a row whose every visible entry is blocked keeps its original values.
torch::Tensor knock_out_pattern(const torch::Tensor& pattern, const torch::Tensor& blocked);

/// Attaches the knockout of spec as replace hooks on blocks.{l}.attn.hook_pattern for the
/// examples' batch (hooks live as long as the handles; other hooks stay in effect). An empty edge
/// set or layer list attaches nothing. Throws ConfigError for a layer out of range.
[[nodiscard]] std::vector<nn::HookHandle> add_knockout_hooks(mm::MultimodalModel& model,
                                                             const Examples& examples,
                                                             const KnockoutSpec& spec);

/// Logits [B, L, V] of the examples with spec knocked out (no grad).
torch::Tensor knockout_logits(mm::MultimodalModel& model, const Examples& examples,
                              const KnockoutSpec& spec);

/// Per-sample target scores [B] (float64 log-probabilities, target_score) with spec knocked out.
torch::Tensor knockout_scores(mm::MultimodalModel& model, const Examples& examples,
                              const KnockoutSpec& spec);

/// The windows [l, l + k - 1] for l = 0 .. layers - k; throws ConfigError unless 1 <= k <= layers.
std::vector<std::vector<std::int64_t>> knockout_windows(std::int64_t layers, std::int64_t window);

/// Options of the knockout study.
struct KnockoutOptions {
  /// Edge sets (parse_edge_set syntax), one curve each; empty = for every media modality M of
  /// the task "M-last" and "M-question", then "question-last".
  std::vector<std::string> edge_sets;
  /// Layers per window (k), 1 <= k <= layers; the window slides over depth.
  std::int64_t window = 1;
  /// What is scored: p = exp(target score); default the first answer token at the last position.
  Target target{.kind = "first", .token = {}};
  /// Show a progress bar (drawn only on a terminal).
  bool progress = true;
};

/// Default edge sets for a task's media modalities (see KnockoutOptions::edge_sets).
std::vector<std::string> default_edge_sets(const std::vector<std::string>& media_modalities);

/// The knockout study: for every edge set and window, the probability of the answer per sample,
/// clean and knocked out. Writes out_dir/result.json, knockout.safetensors (clean_probability
/// [N], probability.<edge set> [windows, N]) and the report; returns the result JSON:
/// {"method": "knockout", "model", "task", "split", "samples": [index], "target", "window",
/// "layers", "edge_sets": [name], "clean_probability": [p], "windows": [{"edge_set", "layers":
/// [l0 ..], "delta", "relative_change_percent", "per_sample": [{"index", "probability",
/// "delta", "relative_change_percent"}]}], "files": {...}} where delta = mean(p_knock - p_clean)
/// and relative_change_percent = mean(100 (p_knock - p_clean) / p_clean).
nlohmann::json run_knockout(const ModelRef& ref, const SampleSelection& selection,
                            const KnockoutOptions& options, const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
