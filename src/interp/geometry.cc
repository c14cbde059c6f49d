#include "clearsight/interp/geometry.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"
#include "clearsight/interp/report.h"
#include "clearsight/miner/analysis.h"

namespace clearsight::interp {
namespace {

const std::vector<std::string> kModalityOrder = {"text", "special", "image", "video", "audio"};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Per-prompt means of one modality: the samples (ascending) and their mean rows [s, d].
struct PromptMeans {
  std::vector<std::int64_t> samples;
  torch::Tensor means;
};

std::map<std::string, PromptMeans> prompt_means(const Features& f, const torch::Tensor& values) {
  std::map<std::string, PromptMeans> out;
  if (f.rows() == 0) return out;
  const auto prompts = *std::max_element(f.sample.begin(), f.sample.end()) + 1;
  const auto x = values.to(torch::kFloat64);
  std::map<std::string, std::vector<std::int64_t>> rows, owners;
  for (std::int64_t r = 0; r < f.rows(); ++r) {
    rows[f.modality[r]].push_back(r);
    owners[f.modality[r]].push_back(f.sample[r]);
  }
  for (const auto& [m, idx] : rows) {
    const auto owner = torch::tensor(owners[m], torch::kInt64);
    auto sums = torch::zeros({prompts, x.size(1)}, torch::kFloat64)
                    .index_add_(0, owner, x.index_select(0, torch::tensor(idx, torch::kInt64)));
    auto counts = torch::zeros({prompts}, torch::kFloat64)
                      .index_add_(0, owner, torch::ones({owner.size(0)}, torch::kFloat64));
    const auto present = counts.gt(0).nonzero().flatten();
    PromptMeans pm;
    pm.means = sums.index_select(0, present) / counts.index_select(0, present).unsqueeze(1);
    const auto acc = present.accessor<std::int64_t, 1>();
    for (std::int64_t k = 0; k < present.size(0); ++k) pm.samples.push_back(acc[k]);
    out[m] = std::move(pm);
  }
  return out;
}

double cka_of(const std::map<std::string, PromptMeans>& means, const std::string& a,
              const std::string& b) {
  if (!means.count(a) || !means.count(b)) return kNaN;
  const auto& pa = means.at(a);
  const auto& pb = means.at(b);
  std::vector<std::int64_t> ia, ib;
  for (std::size_t i = 0, j = 0; i < pa.samples.size() && j < pb.samples.size();) {
    if (pa.samples[i] == pb.samples[j]) {
      ia.push_back(static_cast<std::int64_t>(i++));
      ib.push_back(static_cast<std::int64_t>(j++));
    } else if (pa.samples[i] < pb.samples[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  if (ia.size() < 2) return kNaN;
  return miner::linear_cka(pa.means.index_select(0, torch::tensor(ia, torch::kInt64)),
                           pb.means.index_select(0, torch::tensor(ib, torch::kInt64)));
}

torch::Tensor standardised(const torch::Tensor& x) {
  const auto mean = x.mean(0, true);
  const auto sd = x.std(0, /*unbiased=*/false, /*keepdim=*/true);
  return (x - mean) / torch::where(sd > 1e-12, sd, torch::ones_like(sd));
}

LinePlot make_plot(const std::string& title, const std::string& xlabel, const std::string& ylabel) {
  LinePlot plot;
  plot.title = title;
  plot.xlabel = xlabel;
  plot.ylabel = ylabel;
  return plot;
}

std::string file_stem(const std::string& layer) {
  std::string out = layer;
  std::replace(out.begin(), out.end(), '.', '_');
  return out;
}

}  // namespace

// ---- Measures ----------------------------------------------------------------------------------

double centred_cosine(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& centre) {
  CS_CHECK_AS(ShapeError, a.dim() == 1 && a.sizes() == b.sizes() && a.sizes() == centre.sizes(),
              "centred_cosine needs three vectors of one size, got ", a.sizes(), ", ", b.sizes(),
              " and ", centre.sizes());
  const auto c = centre.to(torch::kFloat64);
  const auto u = a.to(torch::kFloat64) - c;
  const auto v = b.to(torch::kFloat64) - c;
  const double nu = u.norm().item<double>(), nv = v.norm().item<double>();
  if (nu == 0.0 || nv == 0.0) return 0.0;
  return u.dot(v).item<double>() / (nu * nv);
}

const std::vector<std::string>& distance_names() {
  static const std::vector<std::string> names = {"cosine", "euclidean"};
  return names;
}

KnnPurity knn_purity(const torch::Tensor& x, const torch::Tensor& labels, std::int64_t k,
                     const std::string& distance) {
  const auto& names = distance_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), distance) != names.end(),
              "unknown distance '", distance, "' (distances: ", join(names, ", "), ")");
  CS_CHECK_AS(ShapeError,
              x.dim() == 2 && labels.dim() == 1 && x.size(0) == labels.size(0) && x.size(0) >= 2,
              "knn_purity needs x [n, d] and labels [n] with n >= 2, got ", x.sizes(), " and ",
              labels.sizes());
  CS_CHECK_AS(ConfigError, k >= 1, "knn_purity needs k >= 1 (got ", k, ")");
  const auto n = x.size(0);
  k = std::min(k, n - 1);
  auto z = standardised(x.to(torch::kCPU, torch::kFloat64));
  const bool cosine = distance == "cosine";
  if (cosine) z = z / z.norm(2, 1, true).clamp_min(1e-12);
  const auto sq = z.pow(2).sum(1);
  const auto y = labels.to(torch::kCPU, torch::kInt64);
  double same = 0.0;
  // Rows in chunks keep the similarity matrix bounded at chunk x n.
  constexpr std::int64_t kChunk = 1024;
  for (std::int64_t begin = 0; begin < n; begin += kChunk) {
    const auto size = std::min(kChunk, n - begin);
    const auto rows = z.narrow(0, begin, size);
    // Larger score = nearer: cosine similarity, or minus the squared Euclidean distance.
    auto score = torch::matmul(rows, z.t());
    if (!cosine) score = 2 * score - sq.narrow(0, begin, size).unsqueeze(1) - sq.unsqueeze(0);
    // Each row's own column (begin + r) is never a neighbour.
    const auto self = torch::arange(size, torch::kInt64) * (n + 1) + begin;
    score.view({-1}).index_fill_(0, self, -std::numeric_limits<double>::infinity());
    const auto nearest = std::get<1>(score.topk(k, 1));
    const auto match = y.index({nearest}).eq(y.narrow(0, begin, size).unsqueeze(1));
    same += match.to(torch::kFloat64).sum().item<double>();
  }
  KnnPurity out;
  out.purity = same / static_cast<double>(n * k);
  const auto shares = torch::bincount(y).to(torch::kFloat64) / static_cast<double>(n);
  out.chance = shares.pow(2).sum().item<double>();
  return out;
}

Projection pca(const torch::Tensor& x, std::int64_t components) {
  CS_CHECK_AS(ShapeError, x.dim() == 2 && x.size(0) >= 2, "pca needs x [n, d] with n >= 2, got ",
              x.sizes());
  CS_CHECK_AS(ConfigError, components >= 1 && components <= std::min(x.size(0), x.size(1)),
              "pca: components must lie in [1, min(n, d)] (got ", components, " for ", x.sizes(),
              ")");
  const auto x64 = x.to(torch::kCPU, torch::kFloat64);
  const auto centred = x64 - x64.mean(0, true);
  const auto [u, s, vh] = torch::linalg::svd(centred, /*full_matrices=*/false, c10::nullopt);
  auto axes = vh.narrow(0, 0, components).clone();  // [components, d]
  for (std::int64_t c = 0; c < components; ++c) {
    const auto biggest = axes[c].abs().argmax();
    if (axes[c][biggest].item<double>() < 0) axes[c].neg_();
  }
  const auto var = s.pow(2);
  const double total = var.sum().item<double>();
  Projection out;
  out.points = torch::matmul(centred, axes.t());
  out.explained = total > 0 ? (var.narrow(0, 0, components) / total).contiguous()
                            : torch::zeros({components}, torch::kFloat64);
  return out;
}

double modality_cka(const Features& features, const std::string& hook, const std::string& a,
                    const std::string& b) {
  return cka_of(prompt_means(features, features.at(hook)), a, b);
}

torch::Tensor modality_centroid(const Features& features, const std::string& hook,
                                const std::string& modality) {
  const auto& values = features.at(hook);
  std::vector<std::int64_t> rows;
  for (std::int64_t r = 0; r < features.rows(); ++r) {
    if (modality.empty() || features.modality[r] == modality) rows.push_back(r);
  }
  CS_CHECK_AS(ConfigError, !rows.empty(), "no rows of modality '", modality, "' at ", hook);
  return values.index_select(0, torch::tensor(rows, torch::kInt64)).to(torch::kFloat64).mean(0);
}

// ---- Convergence -------------------------------------------------------------------------------

nlohmann::json Convergence::to_json() const {
  return {{"criterion", criterion}, {"threshold", threshold}, {"layer", layer},
          {"index", index},         {"layers", layers},       {"values", values}};
}

Convergence find_convergence(const std::vector<std::string>& layers,
                             const std::vector<double>& values, double threshold,
                             const std::string& criterion) {
  CS_CHECK_AS(ConfigError, layers.size() == values.size(), "find_convergence: ", layers.size(),
              " layers but ", values.size(), " values");
  Convergence out;
  out.criterion = criterion;
  out.threshold = threshold;
  out.layers = layers;
  out.values = values;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isnan(values[i]) && values[i] < threshold) {
      out.index = static_cast<std::int64_t>(i);
      out.layer = layers[i];
      break;
    }
  }
  return out;
}

// ---- The study ---------------------------------------------------------------------------------

nlohmann::json GeometryResult::to_json() const {
  nlohmann::json j;
  j["layers"] = layers;
  j["modalities"] = modalities;
  j["tasks"] = tasks;
  // NaN (too few shared prompts) is written as null.
  j["cka"] = cka;
  j["centred_cosine"] = centred_cosine;
  j["knn_purity"] = knn_purity;
  j["chance_purity"] = chance_purity;
  j["pca"] = {{"components", 2},
              {"explained_variance", pca_explained},
              {"points", pca_points.empty() ? 0 : pca_points[0].size(0)}};
  j["convergence"] = convergence.to_json();
  j["counts"] = {{"prompts", prompts},
                 {"positions", positions},
                 {"knn_points", static_cast<std::int64_t>(point_modality.size())}};
  return j;
}

GeometryResult measure_geometry(const ModelRef& ref, const GeometryOptions& options) {
  const auto& names = distance_names();
  CS_CHECK_AS(UnknownNameError,
              std::find(names.begin(), names.end(), options.distance) != names.end(),
              "unknown distance '", options.distance, "' (distances: ", join(names, ", "), ")");
  CS_CHECK_AS(ConfigError, options.k >= 1 && options.knn_points >= 3 && options.samples >= 1,
              "geometry: needs k >= 1, knn_points >= 3 and samples >= 1");
  GeometryResult result;
  result.layers =
      resolve_hooks(ref.model, options.hooks.empty() ? default_layer_hooks() : options.hooks);
  result.tasks = options.tasks.empty() ? modality_tasks(ref.model) : options.tasks;
  const auto split = parse_split(options.split);
  std::vector<mm::Sample> samples;
  for (const auto& name : result.tasks) {
    const auto task = mm::make_task(name);
    check_task_fits(*task, ref.model);
    auto s = load_samples(*task, split, 0, std::min(options.samples, task->split_size(split)));
    samples.insert(samples.end(), s.begin(), s.end());
  }
  FeatureOptions fo;
  fo.hooks = result.layers;
  fo.positions_per_prompt = 0;
  fo.max_examples = options.max_examples;
  fo.batch_size = options.batch_size;
  fo.progress = options.progress;
  fo.label = "geometry features";
  const auto features = collect_features(ref, samples, fo);
  result.prompts = features.prompts;
  result.positions = features.rows();
  const std::set<std::string> seen(features.modality.begin(), features.modality.end());
  for (const auto& m : kModalityOrder) {
    if (seen.count(m)) result.modalities.push_back(m);
  }
  CS_CHECK_AS(ConfigError, result.modalities.size() >= 2,
              "geometry needs positions of at least two modalities (found ",
              join(result.modalities, ", "), ")");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t a = 0; a < result.modalities.size(); ++a) {
    for (std::size_t b = a + 1; b < result.modalities.size(); ++b) {
      pairs.emplace_back(result.modalities[a], result.modalities[b]);
    }
  }
  // One subsample of positions, shared by every layer, for kNN purity and PCA.
  const auto n = features.rows();
  const auto m = std::min(options.knn_points, n);
  RngEngine rng(derive_seed(options.seed, "geometry-points"));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t k = order.size(); k > 1; --k) {
    std::swap(order[k - 1], order[static_cast<std::size_t>(rng() % k)]);
  }
  order.resize(static_cast<std::size_t>(m));
  std::sort(order.begin(), order.end());
  const auto picked = torch::tensor(order, torch::kInt64);
  std::vector<std::int64_t> picked_labels;
  for (auto r : order) {
    result.point_modality.push_back(features.modality[r]);
    const auto it =
        std::find(result.modalities.begin(), result.modalities.end(), features.modality[r]);
    picked_labels.push_back(static_cast<std::int64_t>(it - result.modalities.begin()));
  }
  const auto labels = torch::tensor(picked_labels, torch::kInt64);

  ProgressOptions po;
  po.disable = !options.progress;
  po.unit = "layers";
  ProgressBar bar("geometry", static_cast<std::int64_t>(result.layers.size()), po);
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    const auto& values = features.values[h];
    const auto means = prompt_means(features, values);
    std::map<std::string, torch::Tensor> centroids;
    for (const auto& mod : result.modalities) {
      centroids[mod] = modality_centroid(features, result.layers[h], mod);
    }
    const auto centre = values.to(torch::kFloat64).mean(0);
    for (const auto& [a, b] : pairs) {
      const auto key = a + "~" + b;
      const double cka = cka_of(means, a, b);
      // A pair enters the CKA table when it shares prompts (decided by the first layer).
      if (h == 0 ? !std::isnan(cka) : result.cka.count(key) > 0) result.cka[key].push_back(cka);
      result.centred_cosine[key].push_back(centred_cosine(centroids[a], centroids[b], centre));
    }
    const auto points = values.index_select(0, picked);
    const auto knn = knn_purity(points, labels, options.k, options.distance);
    result.knn_purity.push_back(knn.purity);
    result.chance_purity.push_back(knn.chance);
    const auto proj = pca(points, 2);
    result.pca_explained.push_back(
        {proj.explained[0].item<double>(), proj.explained[1].item<double>()});
    result.pca_points.push_back(proj.points.to(torch::kFloat32));
    bar.set_postfix(result.layers[h] + " purity " + format_number(knn.purity, 3));
    bar.advance();
  }
  bar.finish();
  // The chance purity is the same for every layer (one subsample of positions).
  const double threshold =
      options.threshold >= 0 ? options.threshold : 0.5 * (1.0 + result.chance_purity.front());
  result.convergence = find_convergence(result.layers, result.knn_purity, threshold, "knn_purity");
  return result;
}

nlohmann::json run_geometry(const ModelRef& ref, const GeometryOptions& options,
                            const std::filesystem::path& out_dir) {
  const auto result = measure_geometry(ref, options);
  nlohmann::json j = {{"method", "geometry"}, {"model", ref.name}, {"split", options.split}};
  j["options"] = {{"hooks", options.hooks.empty() ? default_layer_hooks() : options.hooks},
                  {"samples", options.samples},
                  {"max_examples", options.max_examples},
                  {"knn_points", options.knn_points},
                  {"k", options.k},
                  {"distance", options.distance},
                  {"threshold", result.convergence.threshold},
                  {"seed", options.seed}};
  j.update(result.to_json());
  j["pca"]["modalities"] = result.point_modality;
  write_result(out_dir, j);
  std::map<std::string, torch::Tensor> tensors;
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    tensors[result.layers[h] + ".pca"] = result.pca_points[h];
  }
  std::vector<std::int64_t> ids;
  for (const auto& mod : result.point_modality) {
    ids.push_back(static_cast<std::int64_t>(
        std::find(result.modalities.begin(), result.modalities.end(), mod) -
        result.modalities.begin()));
  }
  tensors["modality_ids"] = torch::tensor(ids, torch::kInt64);
  write_tensors(out_dir, "pca.safetensors", tensors, "geometry_pca");

  Report report(out_dir, "Representation geometry on " + ref.name);
  report.section("Setup");
  report.paragraph(
      "Every prompt position of " + std::to_string(result.prompts) + " " + options.split +
      " prompts (tasks " + join(result.tasks, ", ") + "; " + std::to_string(result.positions) +
      " positions; modalities " + join(result.modalities, ", ") +
      ") at each hook point. Linear CKA compares per-prompt modality-mean vectors across the "
      "prompts containing both modalities; the centred cosine compares modality centroids after "
      "subtracting the mean over all positions of the layer; kNN purity is the fraction of the " +
      std::to_string(options.k) + " nearest neighbours (" + options.distance +
      " distance on standardised features, self excluded) sharing a position's modality, over " +
      std::to_string(result.point_modality.size()) +
      " positions drawn once for all layers; chance purity = sum of squared modality shares.");
  report.paragraph(
      "The pictures are 2-D PCA projections (SVD of the centred features of the same positions). "
      "t-SNE is not used: no maintained C++ implementation is packaged in Debian here, so PCA "
      "only; PCA is linear and keeps global distances, it does not unfold local neighbourhoods as "
      "t-SNE does.");
  const auto xlabel = !result.layers.empty() && result.layers[0] == "hook_embed"
                          ? "layer (0 = hook_embed, l + 1 = blocks.l)"
                          : "hook (order of the table)";
  auto series_of = [](const std::string& name, const std::vector<double>& v) {
    PlotSeries s{name, {}};
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!std::isnan(v[i])) s.points.emplace_back(static_cast<double>(i), v[i]);
    }
    return s;
  };
  report.section("Similarity between modalities");
  if (!result.cka.empty()) {
    auto plot = make_plot("Linear CKA of modality means", xlabel, "CKA");
    for (const auto& [pair, v] : result.cka) plot.series.push_back(series_of(pair, v));
    report.line_plot(plot, "cka.svg", "Linear CKA between per-prompt modality means by layer.");
    report.paragraph(
        "CKA is 0 where one modality's per-prompt mean does not vary across prompts (e.g. the "
        "same special tokens in every prompt at hook_embed): there is no geometry to compare.");
  } else {
    report.paragraph("No two modalities share two or more prompts: no CKA.");
  }
  auto cos_plot = make_plot("Centred cosine of modality centroids", xlabel, "cosine");
  for (const auto& [pair, v] : result.centred_cosine) cos_plot.series.push_back(series_of(pair, v));
  report.line_plot(cos_plot, "centred_cosine.svg",
                   "Cosine between modality centroids after subtracting the layer mean.");
  report.section("Neighbourhood purity and convergence");
  auto knn_plot = make_plot("kNN modality purity", xlabel, "purity");
  knn_plot.series = {series_of("kNN purity", result.knn_purity),
                     series_of("chance", result.chance_purity)};
  report.line_plot(knn_plot, "knn_purity.svg",
                   "Fraction of nearest neighbours sharing the modality, with its chance level.");
  report.paragraph("Convergence criterion: the first layer whose kNN purity falls below " +
                   format_number(result.convergence.threshold) +
                   (options.threshold >= 0 ? "" : " (halfway between chance purity and 1)") + ": " +
                   (result.convergence.index < 0 ? std::string("none (the modalities stay apart)")
                                                 : result.convergence.layer) +
                   ".");
  std::vector<std::string> header = {"layer", "kNN purity", "chance", "PC1", "PC2"};
  for (const auto& [pair, v] : result.cka) header.push_back("CKA " + pair);
  std::vector<std::vector<std::string>> rows;
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    std::vector<std::string> row = {result.layers[h], format_number(result.knn_purity[h]),
                                    format_number(result.chance_purity[h]),
                                    format_number(result.pca_explained[h][0]),
                                    format_number(result.pca_explained[h][1])};
    for (const auto& [pair, v] : result.cka) {
      row.push_back(std::isnan(v[h]) ? "-" : format_number(v[h]));
    }
    rows.push_back(std::move(row));
  }
  report.table(header, rows);
  report.section("PCA pictures");
  for (std::size_t h = 0; h < result.layers.size(); ++h) {
    report.scatter(result.pca_points[h], result.point_modality, "PCA of " + result.layers[h],
                   "pca_" + file_stem(result.layers[h]) + ".svg",
                   result.layers[h] + ": PC1 " +
                       format_number(100 * result.pca_explained[h][0], 3) + "%, PC2 " +
                       format_number(100 * result.pca_explained[h][1], 3) + "% of the variance.");
  }
  report.write();
  return j;
}

}  // namespace clearsight::interp
