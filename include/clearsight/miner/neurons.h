// The neurons of a selection listed one by one: hook reference, the modalities that chose it and
// its fused importance score per modality (what `clearsight miner neurons` prints and the report
// summarises).
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <array>
#include <filesystem>
#include <vector>

#include "clearsight/miner/miner.h"

namespace clearsight::miner {

/// Fused importance [kNumModalities, layers, neurons] float64: the metric scores [kNumMetrics,
/// kNumModalities, layers, neurons] weighted as stage 4 weighs them.
torch::Tensor fused_scores(const torch::Tensor& scores,
                           const std::array<double, kNumMetrics>& weights);

/// The selection's neurons (sorted by layer, then index) with "name"
/// ("blocks.L.mlp.hook_post[i]"), "layer", "index", "modalities" (those that chose it) and, when
/// fused is defined, "scores" {modality: fused score} for each of the selection's modalities;
/// plus the counts: "slots" (floor(ratio x layers x neurons), what the ratio asked for),
/// "distinct" (neurons chosen at least once), "shared" (chosen by two or more modalities),
/// "per_modality" and "per_layer". Throws ShapeError when fused does not fit the selection.
nlohmann::json list_neurons(const Selection& selection, const torch::Tensor& fused);

/// list_neurons for a miner run folder (selection.safetensors, scores from scores/*.safetensors
/// when present) or a selection file (no scores); adds "selection", "model" and "scores_from"
/// (the datasets). Throws IoError when neither exists, FormatError on a wrong file.
nlohmann::json run_neurons(const std::filesystem::path& run_or_file);

/// The fused scores of a miner run folder's score files weighted by the selection's weights
/// (undefined when the folder has no scores/).
torch::Tensor run_fused_scores(const std::filesystem::path& run_dir, const Selection& selection);

}  // namespace clearsight::miner
