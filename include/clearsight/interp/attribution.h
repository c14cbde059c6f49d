// Gradient attribution (saliency, input x gradient, integrated gradients) of the answer's
// log-probability onto the model's inputs of every modality: token embeddings, normalised pixels
// of images and video frames, log-mel frames of audio. Summed per token, patch, frame.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"

namespace clearsight::interp {

/// Settings of gradient attribution.
struct AttributionOptions {
  /// "saliency" (|gradient|), "input_x_gradient" or "ig" (integrated gradients).
  std::string method = "ig";
  /// Interpolation points of integrated gradients.
  int steps = 64;
  /// Integration rule: "adaptive" (composite Gauss-Legendre, 8 points a segment, segments
  /// placed by a forward-only probe of the path at steps + 1 points so that they crowd where the
  /// score changes fast), "gauss-legendre", "riemann-left", "riemann-right", "riemann-middle" or
  /// "riemann-trapezoid". `steps` gradient evaluations in every case.
  std::string rule = "gauss-legendre";
  /// Baseline of each modality (integrated gradients, and the reference of the completeness
  /// check).
  BaselineOptions baseline;
  /// Modalities attributed ("text", "image", "video", "audio"); empty = every one present.
  /// The others keep their clean values.
  std::vector<std::string> modalities;
  /// Rows per forward pass (samples x interpolation points); results do not depend on it.
  std::int64_t internal_batch = 32;
  /// Show a progress bar.
  bool progress = false;
};

/// Throws ConfigError / UnknownNameError for bad options.
void validate(const AttributionOptions& options);

/// Nodes and weights of a rule on [0, 1] with n points (weights sum to 1).
std::pair<std::vector<double>, std::vector<double>> integration_rule(const std::string& rule,
                                                                     int n);

/// The adaptive rule's nodes and weights on [0, 1] for one sample, from its path scores
/// f(j / n), j = 0..n (steps nodes; weights sum to 1).
std::pair<std::vector<double>, std::vector<double>> adaptive_rule(const std::vector<double>& path,
                                                                  int steps);

/// Attributions of one sample, summarised per position and per input element.
struct SampleAttribution {
  /// f(x): the target score (log-probability) of the clean input.
  double score = 0;
  /// f(baseline) with the attributed modalities at their baselines.
  double baseline_score = 0;
  /// Sum of every attribution.
  double total = 0;
  /// |total - (score - baseline_score)| / |score - baseline_score| (integrated gradients and
  /// input x gradient; NaN for saliency).
  double completeness_error = 0;
  /// Per prompt position: text positions summed over the embedding, media positions summed over
  /// the inputs their token covers (a merge window of patches, 4 log-mel frames).
  std::vector<double> positions;
  /// Sum per attributed modality.
  std::map<std::string, double> modality_totals;
  /// [H, W] image attribution summed over channels and the repeated frames (undefined if none).
  torch::Tensor image_pixels;
  /// [g, g] image attribution per patch.
  torch::Tensor image_patches;
  /// [T, H, W] video attribution per frame and pixel.
  torch::Tensor video_pixels;
  /// [T] video attribution per frame.
  torch::Tensor video_frames;
  /// [mel_bins, frames] audio attribution per log-mel cell.
  torch::Tensor audio_mel;
  /// [frames] audio attribution per log-mel frame.
  torch::Tensor audio_frames;
};

/// Attributes every sample's target score (examples.target) onto its inputs.
std::vector<SampleAttribution> attribute(mm::MultimodalModel& model, const Examples& examples,
                                         const AttributionOptions& options);

/// The gradient of the target score with respect to the clean inputs (one tensor per modality).
InputTensors input_gradients(mm::MultimodalModel& model, const Examples& examples);

/// Runs attribution over the selected samples and writes result.json, attributions.safetensors
/// and the report (heatmaps over images and frames, audio curves, coloured tokens) into out_dir.
/// Returns the JSON (per sample, with "completeness_error").
nlohmann::json run_attribution(const ModelRef& ref, const SampleSelection& selection,
                               const Target& target, const AttributionOptions& options,
                               const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
