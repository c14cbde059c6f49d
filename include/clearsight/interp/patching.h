// Activation patching and attribution patching (the causal half of the survey's toolbox): run a
// clean and a corrupted prompt, copy one activation of the clean run into the corrupted run (one
// layer x position of the residual stream, the attention or MLP output, or one head) and measure
// how much of the clean answer comes back, normalised to 0 (corrupted) .. 1 (clean).
// Attribution patching estimates every cell at once from one backward pass of the corrupted run:
// (a_clean - a_corrupted) . d metric / d a.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"

namespace clearsight::interp {

/// The corruptions a patching study can use.
const std::vector<std::string>& corruption_names();

/// The patchable components: "resid_pre", "resid_post", "attn_out", "mlp_out" (one cell per
/// layer x position) and "heads" (one cell per layer x head, every position of the head).
const std::vector<std::string>& patch_component_names();

/// The metrics: "logit_diff" (logit of the target token minus that of the corrupted run's top
/// other token, at the target position), "prob" (probability of the target) and "logprob".
const std::vector<std::string>& patch_metric_names();

/// The corrupted inputs of one prepared sample (one-sample Examples). kind:
/// "blank": images and videos grey, audio silent; "other": the media of donor (a one-sample
/// Examples of another sample, whose media must have the same shape); "shuffle": the audio's
/// log-mel frames permuted in time (a fixed permutation, seed 0); "swap": the question's words in
/// reverse order. Throws ConfigError when the corruption cannot change this sample (no media for
/// blank/other, no audio for shuffle, fewer than two question tokens for swap) and ShapeError when
/// the donor's media do not match.
InputTensors corrupted_inputs(mm::MultimodalModel& model, const Examples& single,
                              const InputTensors& clean, const std::string& kind,
                              const Examples* donor = nullptr);

/// One patched cell: the activation of hook `hook` at `position` (or of head `head` at every
/// position when head >= 0, or the whole activation when both are -1) is taken from the clean
/// run.
struct PatchCell {
  /// Hook name ("blocks.1.hook_resid_pre", "blocks.1.attn.hook_z").
  std::string hook;
  /// Position patched (position components), or -1.
  std::int64_t position = -1;
  /// Head patched (heads), or -1.
  std::int64_t head = -1;
};

/// The metric values [rows] of logits [rows, L, V] for one sample repeated (see
/// patch_metric_names); foil is the token compared against for logit_diff.
torch::Tensor patch_metric(const torch::Tensor& logits, const Examples& repeated,
                           const std::string& metric, std::int64_t foil);

/// Runs the corrupted inputs once per cell with that cell's clean activation patched in, rows
/// cells per forward pass; returns the metric per cell [cells] (float64). clean_cache holds the
/// clean activation [1, ...] of every hook the cells name.
torch::Tensor patch_cells(mm::MultimodalModel& model, const Examples& single,
                          const InputTensors& corrupted,
                          const std::map<std::string, torch::Tensor>& clean_cache,
                          const std::vector<PatchCell>& cells, const std::string& metric,
                          std::int64_t foil, std::int64_t rows);

/// Attribution patching: the first-order estimate of each cell's patch_cells effect
/// (m_patched - m_corrupted ~ (a_clean - a_corrupted) . d metric / d a at the corrupted run), all
/// cells from one forward and one backward pass; returns [cells] (float64). Exact where the metric
/// is linear in the activation (hook_final with logit_diff).
torch::Tensor attribution_cells(mm::MultimodalModel& model, const Examples& single,
                                const InputTensors& corrupted,
                                const std::map<std::string, torch::Tensor>& clean_cache,
                                const std::vector<PatchCell>& cells, const std::string& metric,
                                std::int64_t foil);

/// Runs one sample with inputs and returns its logits and the activation [1, ...] of every hook
/// in hooks (no grad).
std::pair<torch::Tensor, std::map<std::string, torch::Tensor>> run_with_cache(
    mm::MultimodalModel& model, const Examples& single, const InputTensors& inputs,
    const std::vector<std::string>& hooks);

/// Options of the patching study.
struct PatchOptions {
  /// Corruption (corruption_names()).
  std::string corrupt = "blank";
  /// Components patched (patch_component_names()); the first position component is `grid`.
  std::vector<std::string> components = {"resid_pre", "attn_out", "mlp_out", "heads"};
  /// Metric (patch_metric_names()).
  std::string metric = "logit_diff";
  /// What is scored (the first answer token by default).
  Target target{.kind = "first", .token = {}};
  /// Also estimate every cell by attribution patching and report its correlation to the real one.
  bool attribution = true;
  /// Patched runs per forward pass (1 = one at a time; results do not depend on it).
  std::int64_t rows = 64;
  /// Show a progress bar (drawn only on a terminal).
  bool progress = true;
};

/// The patching study over the selected samples. Writes out_dir/result.json, patching.safetensors
/// (per sample k: "<component>.<k>" [layers, positions or heads] normalised effects, and
/// "attribution.<component>.<k>" their attribution estimates) and the report; returns the result
/// JSON: {"method": "patch", "model", "task", "split", "samples", "corrupt", "metric", "target",
/// "layers", "heads", "clean_metric": [..], "corrupted_metric": [..], "grid": [[..]] (the first
/// position component: layers x positions, positions aligned at the start of the prompt, each
/// cell sum_i (m_patched - m_corrupted) / sum_i (m_clean - m_corrupted) over the samples that
/// have the position; null where the corruption changed nothing), "positions": [{"token",
/// "modality"}] (of the first sample), "components": {name: {"grid", "attribution_grid",
/// "attribution_correlation", "groups": {group: [per layer]}}}, "per_sample": [...], "files"}.
nlohmann::json run_patching(const ModelRef& ref, const SampleSelection& selection,
                            const PatchOptions& options, const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
