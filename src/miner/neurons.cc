#include "clearsight/miner/neurons.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/miner/selection_io.h"
#include "clearsight/nn/hook_point.h"

namespace clearsight::miner {

namespace fs = std::filesystem;
using nlohmann::json;

torch::Tensor fused_scores(const torch::Tensor& scores,
                           const std::array<double, kNumMetrics>& weights) {
  CS_CHECK_AS(
      ShapeError,
      scores.dim() == 4 && scores.size(0) == kNumMetrics && scores.size(1) == kNumModalities,
      "scores must be [", kNumMetrics, ", ", kNumModalities, ", layers, neurons], got ",
      scores.sizes());
  const auto w = torch::tensor(std::vector<double>(weights.begin(), weights.end()), torch::kFloat64)
                     .view({kNumMetrics, 1, 1, 1});
  return (scores.to(torch::kFloat64) * w).sum(0);
}

json list_neurons(const Selection& selection, const torch::Tensor& fused) {
  const auto layers = selection.masks.size(1);
  const auto width = selection.masks.size(2);
  if (fused.defined()) {
    CS_CHECK_AS(ShapeError,
                fused.dim() == 3 && fused.size(0) == kNumModalities && fused.size(1) == layers &&
                    fused.size(2) == width,
                "the scores are [", fused.sizes(), "] but the selection is [", layers, ", ", width,
                "] neurons per modality: they come from different models");
  }
  const auto masks = selection.masks.to(torch::kBool).contiguous();
  const auto* m = masks.data_ptr<bool>();
  const auto count = static_cast<std::int64_t>(selection.modalities.size());
  json neurons = json::array();
  std::int64_t shared = 0;
  std::vector<std::int64_t> per_layer(static_cast<std::size_t>(layers), 0);
  for (std::int64_t l = 0; l < layers; ++l) {
    for (std::int64_t i = 0; i < width; ++i) {
      json chosen_by = json::array();
      for (std::int64_t k = 0; k < count; ++k) {
        if (m[(k * layers + l) * width + i]) chosen_by.push_back(selection.modalities[k]);
      }
      if (chosen_by.empty()) continue;
      if (chosen_by.size() > 1) ++shared;
      ++per_layer[static_cast<std::size_t>(l)];
      json row = {
          {"name", nn::NeuronRef{"blocks." + std::to_string(l) + ".mlp.hook_post", i}.to_string()},
          {"layer", l},
          {"index", i},
          {"modalities", chosen_by}};
      if (fused.defined()) {
        json scores = json::object();
        for (const auto& modality : selection.modalities) {
          if (modality == "random") continue;
          scores[modality] = fused[modality_index(modality)][l][i].item<double>();
        }
        row["scores"] = scores;
      }
      neurons.push_back(row);
    }
  }
  json per_modality = json::object();
  for (std::int64_t k = 0; k < count; ++k) {
    per_modality[selection.modalities[k]] = masks[k].sum().item<std::int64_t>();
  }
  return {{"strategy", selection.options.strategy},
          {"ratio", selection.options.ratio},
          {"layers", layers},
          {"neurons_per_layer", width},
          {"slots", static_cast<std::int64_t>(
                        std::floor(selection.options.ratio * static_cast<double>(layers * width)))},
          {"distinct", static_cast<std::int64_t>(neurons.size())},
          {"shared", shared},
          {"per_modality", per_modality},
          {"per_layer", per_layer},
          {"neurons", neurons}};
}

namespace {

std::vector<fs::path> score_files(const fs::path& run_dir) {
  std::vector<fs::path> files;
  const auto dir = run_dir / "scores";
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

torch::Tensor run_fused_scores(const fs::path& run_dir, const Selection& selection) {
  std::vector<ScoreAccumulator> datasets;
  for (const auto& f : score_files(run_dir)) datasets.push_back(ScoreAccumulator::load(f));
  if (datasets.empty()) return {};
  return fused_scores(combine_datasets(datasets).first, selection.options.weights);
}

json run_neurons(const fs::path& run_or_file) {
  const bool is_run = fs::is_directory(run_or_file);
  const fs::path file = is_run ? run_or_file / "selection.safetensors" : run_or_file;
  CS_CHECK_AS(IoError, fs::is_regular_file(file), "'", run_or_file.string(),
              is_run ? "' is not a miner run folder (no selection.safetensors)"
                     : "' does not exist (a miner run folder or a selection file is expected)");
  const auto selection = load_selection(file);
  const auto fused = is_run ? run_fused_scores(run_or_file, selection) : torch::Tensor();
  auto out = list_neurons(selection, fused);
  const auto meta = safetensors::File::open(file).metadata();
  out["selection"] = file.string();
  out["model"] = meta.count("model") ? meta.at("model") : "";
  json from = json::array();
  if (fused.defined()) {
    for (const auto& f : score_files(run_or_file)) from.push_back(f.stem().string());
  }
  out["scores_from"] = from;
  return out;
}

}  // namespace clearsight::miner
