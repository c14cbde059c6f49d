// Representation geometry by layer: how far apart the modalities' hidden states are (linear CKA
// of per-prompt modality means, centred cosine of modality centroids), how well the modality can
// be read off a position's neighbourhood (k-nearest-neighbour purity), a 2-D PCA picture, and the
// first layer where modalities converge by a threshold criterion.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/interp/examples.h"
#include "clearsight/interp/probe.h"

namespace clearsight::interp {

// ---- Measures ----------------------------------------------------------------------------------

/// Cosine of (a - centre) and (b - centre) for vectors [d]; 0 when either difference is zero.
double centred_cosine(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& centre);

/// Distances for the neighbour search: "cosine", "euclidean".
const std::vector<std::string>& distance_names();

/// k-nearest-neighbour purity of labelled points.
struct KnnPurity {
  /// Mean over points of the fraction of their k nearest neighbours (self excluded) that share
  /// their label.
  double purity = 0.0;
  /// Expected purity of randomly placed labels: the sum of squared class shares.
  double chance = 0.0;
};

/// kNN purity of x [n, d] with labels [n] (int64) after standardising each feature over the
/// points; k is capped at n - 1. Throws UnknownNameError for an unknown distance, ShapeError for
/// fewer than two points.
KnnPurity knn_purity(const torch::Tensor& x, const torch::Tensor& labels, std::int64_t k = 10,
                     const std::string& distance = "cosine");

/// A principal-component projection.
struct Projection {
  /// [n, components] coordinates of the centred points.
  torch::Tensor points;
  /// [components] fraction of the total variance each component explains.
  torch::Tensor explained;
};

/// PCA of x [n, d] by SVD of the centred points (float64); each component's sign is fixed so
/// that its largest loading is positive. Needs n >= 2.
Projection pca(const torch::Tensor& x, std::int64_t components = 2);

/// Linear CKA (miner::linear_cka) between modalities a and b at one hook of features: one row
/// per prompt containing both, the mean of each modality's positions. NaN with fewer than two
/// such prompts.
double modality_cka(const Features& features, const std::string& hook, const std::string& a,
                    const std::string& b);

/// Mean [d] (float64) of the rows of one modality at one hook (all rows when modality is empty).
torch::Tensor modality_centroid(const Features& features, const std::string& hook,
                                const std::string& modality = "");

// ---- Convergence -------------------------------------------------------------------------------

/// Where a per-layer separation measure first falls below a threshold.
struct Convergence {
  /// What the values are ("knn_purity", "probe_accuracy", ...).
  std::string criterion;
  /// The threshold.
  double threshold = 0.0;
  /// The first layer whose value is below the threshold, or "none".
  std::string layer = "none";
  /// Its index in layers, or -1.
  std::int64_t index = -1;
  /// The layers and their values.
  std::vector<std::string> layers;
  /// The values.
  std::vector<double> values;

  /// {criterion, threshold, layer, index, layers, values}.
  nlohmann::json to_json() const;
};

/// The first layer whose value is below threshold; ConfigError when the lists differ in length.
Convergence find_convergence(const std::vector<std::string>& layers,
                             const std::vector<double>& values, double threshold,
                             const std::string& criterion);

// ---- The study ---------------------------------------------------------------------------------

/// Settings of a geometry study.
struct GeometryOptions {
  /// Tasks read; empty = modality_tasks(model).
  std::vector<std::string> tasks;
  /// Hook specifications (resolve_hooks); empty = default_layer_hooks().
  std::vector<std::string> hooks;
  /// Split read.
  std::string split = "validation";
  /// Samples per task.
  std::int64_t samples = 48;
  /// Prompts per forward pass.
  std::int64_t batch_size = 8;
  /// Most positions collected in all (every prompt position is collected until then).
  std::int64_t max_examples = 30000;
  /// Positions drawn (uniformly, once for all layers) for kNN purity and PCA.
  std::int64_t knn_points = 1500;
  /// Neighbours per point.
  std::int64_t k = 10;
  /// "cosine" or "euclidean" (on standardised features).
  std::string distance = "cosine";
  /// Convergence: the first layer whose kNN purity falls below this; negative = halfway between
  /// the chance purity and 1.
  double threshold = -1.0;
  /// Seed of the kNN/PCA subsample.
  std::uint64_t seed = 0;
  /// Show a progress bar.
  bool progress = true;
};

/// Per-layer geometry.
struct GeometryResult {
  /// Full hook names.
  std::vector<std::string> layers;
  /// Modalities present, in the order text, special, image, video, audio.
  std::vector<std::string> modalities;
  /// Tasks read.
  std::vector<std::string> tasks;
  /// Pair "a~b" -> [layers] linear CKA (pairs sharing at least two prompts).
  std::map<std::string, std::vector<double>> cka;
  /// Pair "a~b" -> [layers] centred cosine of the centroids (every pair).
  std::map<std::string, std::vector<double>> centred_cosine;
  /// [layers] kNN modality purity and its chance level.
  std::vector<double> knn_purity, chance_purity;
  /// Per layer, the explained-variance fractions of the first two components.
  std::vector<std::vector<double>> pca_explained;
  /// Per layer, [points, 2] PCA coordinates of the kNN subsample.
  std::vector<torch::Tensor> pca_points;
  /// Modality of each subsampled point.
  std::vector<std::string> point_modality;
  /// Prompts read and positions collected.
  std::int64_t prompts = 0, positions = 0;
  /// First layer where kNN purity falls below the threshold (the threshold actually used).
  Convergence convergence;

  /// The numbers as JSON (keys as the fields; pca as {explained_variance, points}).
  nlohmann::json to_json() const;
};

/// Collects every prompt position of the selected samples and measures each layer.
GeometryResult measure_geometry(const ModelRef& ref, const GeometryOptions& options);

/// The study: measure_geometry, then out_dir/result.json (method, model, options and the fields of
/// GeometryResult), pca.safetensors and a report with line plots and one PCA scatter per layer.
nlohmann::json run_geometry(const ModelRef& ref, const GeometryOptions& options,
                            const std::filesystem::path& out_dir);

}  // namespace clearsight::interp
