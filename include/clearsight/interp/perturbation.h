// Perturbation attribution: occlusion with a sliding window over image patches, video frames,
// audio time windows and text tokens; feature ablation of user-chosen groups; and exact Shapley
// values with the modalities as players (all 2^M coalitions; M is 2-4).
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"

namespace clearsight::interp {

/// One part of a perturbation: the elements of one modality's input replaced by the baseline.
struct Occluder {
  /// "text", "image", "video" or "audio".
  std::string modality;
  /// Bool mask broadcastable to the sample's slice of that input: text [L, 1], image [1, 1, H, W],
  /// video [T, 1, H, W], audio [1, frames].
  torch::Tensor mask;
};

/// A perturbation: every occluder applied at once.
using Perturbation = std::vector<Occluder>;

/// Scores (examples.target, log-probability) of sample i under each perturbation, batched by
/// internal_batch; a perturbation with no occluder gives the clean score.
std::vector<double> perturbed_scores(mm::MultimodalModel& model, const Examples& examples,
                                     std::int64_t i, const std::vector<Perturbation>& perturbations,
                                     const BaselineOptions& baseline,
                                     std::int64_t internal_batch = 32);

/// Settings of occlusion.
struct OcclusionOptions {
  /// Modalities occluded ("text", "image", "video", "audio"); empty = every one present.
  std::vector<std::string> modalities;
  /// Window side in patches (images, video frames' patches are not windowed: whole frames are).
  int image_window = 2;
  /// Stride in patches.
  int image_stride = 1;
  /// Window in video frames.
  int video_window = 1;
  /// Window in log-mel frames (10 ms each at the built-in settings).
  int audio_window = 20;
  /// Stride in log-mel frames.
  int audio_stride = 10;
  /// Window in text tokens (over the question's words).
  int text_window = 1;
  /// Fill values (the baselines): image "grey" / "black" / "blur" / "zero", audio "silence" /
  /// "zero", text "pad" / "zero".
  BaselineOptions fill = {"grey", "silence", "pad"};
  /// Perturbations per forward pass.
  std::int64_t internal_batch = 32;
  /// Show a progress bar.
  bool progress = false;
};

/// Occlusion maps of one sample: for each element, the mean drop f(x) - f(occluded) over the
/// windows that cover it.
struct OcclusionMaps {
  /// Clean score.
  double score = 0;
  /// [g, g] per image patch (undefined when not occluded).
  torch::Tensor image_patches;
  /// [T] per video frame.
  torch::Tensor video_frames;
  /// [frames] per log-mel frame.
  torch::Tensor audio_frames;
  /// Per prompt position (question words; zero elsewhere).
  std::vector<double> text_positions;
  /// Forward passes used.
  std::int64_t evaluations = 0;
};

/// Occlusion of every sample.
std::vector<OcclusionMaps> occlusion(mm::MultimodalModel& model, const Examples& examples,
                                     const OcclusionOptions& options);

/// Feature ablation: each named group of positions (group_names(), e.g. "image", "question",
/// "system") replaced by the baseline at once; returns [samples][groups] score drops.
std::vector<std::vector<double>> feature_ablation(mm::MultimodalModel& model,
                                                  const Examples& examples,
                                                  const std::vector<std::string>& groups,
                                                  const BaselineOptions& baseline);

/// Settings of modality Shapley values.
struct ShapleyOptions {
  /// Players: "question" (the user's words) and the media modalities present; empty = all.
  std::vector<std::string> players;
  /// Value of a coalition: "prob" (probability of the answer) or "logprob".
  std::string value = "prob";
  /// What an absent player becomes.
  BaselineOptions baseline = {"grey", "silence", "pad"};
};

/// Exact Shapley values of one sample.
struct ShapleyResult {
  /// The players.
  std::vector<std::string> players;
  /// Shapley value per player.
  std::vector<double> values;
  /// Value with every player present.
  double full = 0;
  /// Value with every player absent.
  double empty = 0;
  /// Value of every coalition, indexed by bit mask over players.
  std::vector<double> coalitions;
};

/// Exact Shapley values (all coalitions) for every sample.
std::vector<ShapleyResult> modality_shapley(mm::MultimodalModel& model, const Examples& examples,
                                            const ShapleyOptions& options);

/// Occlusion over the selected samples; writes result.json, maps as safetensors and a report.
nlohmann::json run_occlusion(const ModelRef& ref, const SampleSelection& selection,
                             const Target& target, const OcclusionOptions& options,
                             const std::filesystem::path& out_dir);

/// Feature ablation over the selected samples; writes result.json and a report.
nlohmann::json run_ablation(const ModelRef& ref, const SampleSelection& selection,
                            const Target& target, const std::vector<std::string>& groups,
                            const BaselineOptions& baseline, const std::filesystem::path& out_dir);

/// Modality Shapley values over the selected samples: per-sample and mean `values`, `full`,
/// `empty`, and each player's share of full - empty; writes result.json and a report.
nlohmann::json run_shapley(const ModelRef& ref, const SampleSelection& selection,
                           const Target& target, const ShapleyOptions& options,
                           const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
