// Steering with contrastive activation vectors: from paired prompt sets (samples matching a
// positive and a negative filter), per layer the mean difference of the residual stream at the
// last prompt position, or the first principal component of the pair differences (as llama.cpp's
// cvector-generator does); added with a scale at chosen layers during generation, the effect
// measured on the task metric and on the answers.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/nn/hooked_module.h"

namespace clearsight::interp {

/// The ways a vector is made from the pairs.
const std::vector<std::string>& steering_method_names();

/// Steering vectors [layers, hidden] from the residual stream (hook_resid_post) at the last
/// prompt position of positive and negative prompts (equal numbers, paired in order). method
/// "mean": mean(positive) - mean(negative); "pca": the first principal component of the pair
/// differences, oriented and scaled so that it is the mean difference's projection on it.
torch::Tensor steering_vectors(mm::MultimodalModel& model, const Examples& positive,
                               const Examples& negative, const std::string& method);

/// Adds scale * vectors[l] at every position of blocks.{l}.hook_resid_post for each l in layers,
/// on every forward pass while the handles live (generation included).
std::vector<nn::HookHandle> add_steering(nn::HookedModule& model, const torch::Tensor& vectors,
                                         const std::vector<std::int64_t>& layers, double scale);

/// Whether a sample matches a filter: "answer=WORD" (its answer), "type=NAME" (its question type)
/// or "word=WORD" (its prompt holds the word). Throws ConfigError for another form.
bool matches_filter(const mm::Sample& sample, const std::string& filter);

/// Options of the steering study.
struct SteeringOptions {
  /// Task of the pairs (train split) and of the evaluation (test split).
  std::string task = "scene_vqa";
  /// The positive and negative prompt sets (matches_filter).
  std::string positive = "answer=red";
  std::string negative = "answer=blue";
  /// Pairs used (the first matching train samples of each set).
  std::int64_t pairs = 32;
  /// "mean" or "pca".
  std::string method = "mean";
  /// Layers steered (empty: every layer).
  std::vector<std::int64_t> layers = {1};
  /// Scales evaluated (0 is always evaluated as the reference).
  std::vector<double> scales = {-4, -2, -1, 1, 2, 4};
  /// Test samples evaluated per scale.
  std::int64_t eval_samples = 100;
  /// Show a progress bar.
  bool progress = true;
};

/// The study: vectors from the pairs, then the task evaluated at each scale. Writes out_dir/
/// steering.safetensors ("layer.<l>" [hidden] for every layer, metadata method/positive/
/// negative), result.json and the report. Returns {"method": "steering", "vector_method",
/// "positive", "negative", "pairs", "layers", "vector_norms", "scales": [{"scale", "score",
/// "positive_rate", "negative_rate", "changed", "examples"}], "files"}; positive_rate is the
/// fraction of answers equal to the positive filter's word (answer filters only).
nlohmann::json run_steering(const ModelRef& ref, const SteeringOptions& options,
                            const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
