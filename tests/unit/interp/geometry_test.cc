#include "clearsight/interp/geometry.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/miner/analysis.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

TEST(InterpGeometry, CkaIsOneForItselfAndInvariantToRotationAndScale) {
  torch::manual_seed(1);
  const auto x = torch::randn({40, 6}, torch::kFloat64);
  EXPECT_NEAR(miner::linear_cka(x, x), 1.0, 1e-12);
  const auto q = std::get<0>(torch::linalg::qr(torch::randn({6, 6}, torch::kFloat64), "reduced"));
  const auto y = torch::randn({40, 5}, torch::kFloat64);
  const double base = miner::linear_cka(x, y);
  EXPECT_NEAR(miner::linear_cka(torch::matmul(x, q), y), base, 1e-10);
  EXPECT_NEAR(miner::linear_cka(x * 7.5, y), base, 1e-10);
  EXPECT_NEAR(miner::linear_cka(torch::matmul(x, q) * 0.3, x), 1.0, 1e-10);
  EXPECT_LT(base, 0.6);
}

// Features of two prompts with text and image rows crafted by hand.
Features crafted() {
  Features f;
  f.hooks = {"h"};
  f.values = {torch::tensor({{1.0f, 0.0f},
                             {3.0f, 0.0f},
                             {0.0f, 2.0f},
                             {5.0f, 1.0f},
                             {0.0f, 4.0f},
                             {1.0f, 1.0f},
                             {9.0f, 9.0f}})};
  f.modality = {"text", "text", "image", "text", "image", "image", "special"};
  f.sample = {0, 0, 0, 1, 1, 1, 2};
  f.position = {0, 1, 2, 0, 1, 2, 0};
  f.prompts = 3;
  return f;
}

TEST(InterpGeometry, ModalityMeansCentroidsAndCentredCosine) {
  const auto f = crafted();
  // Centroid of text rows: (1 + 3 + 5) / 3, 1 / 3.
  const auto text = modality_centroid(f, "h", "text");
  EXPECT_NEAR(text[0].item<double>(), 3.0, 1e-12);
  EXPECT_NEAR(text[1].item<double>(), 1.0 / 3.0, 1e-12);
  // Two prompts share text and image: per-prompt means text (2, 0), (5, 1); image (0, 2),
  // (0.5, 2.5). With two points every centred configuration is one line: CKA 1.
  EXPECT_NEAR(modality_cka(f, "h", "text", "image"), 1.0, 1e-12);
  EXPECT_TRUE(std::isnan(modality_cka(f, "h", "text", "special")));
  EXPECT_THROW(modality_cka(f, "g", "text", "image"), UnknownNameError);
  const auto centre = modality_centroid(f, "h");
  EXPECT_NEAR(centred_cosine(text, text, centre), 1.0, 1e-12);
  const auto a = torch::tensor({1.0, 2.0, 3.0});
  const auto c = torch::tensor({0.5, 0.5, 0.5});
  EXPECT_NEAR(centred_cosine(a, a, c), 1.0, 1e-12);
  EXPECT_NEAR(centred_cosine(a, 2 * c - a, c), -1.0, 1e-12);
  EXPECT_EQ(centred_cosine(c, a, c), 0.0);
}

TEST(InterpGeometry, KnnPurityOfSeparatedAndShuffledClusters) {
  torch::manual_seed(2);
  const std::int64_t n = 400;
  auto labels =
      torch::cat({torch::zeros({n / 2}, torch::kInt64), torch::ones({n / 2}, torch::kInt64)});
  auto x = torch::randn({n, 8}) * 0.1;
  x.narrow(0, n / 2, n / 2).add_(torch::full({8}, 5.0));
  x.narrow(0, n / 2, n / 2).narrow(1, 0, 4).sub_(10.0);
  for (const auto* d : {"cosine", "euclidean"}) {
    const auto p = knn_purity(x, labels, 10, d);
    EXPECT_NEAR(p.purity, 1.0, 1e-12) << d;
    EXPECT_NEAR(p.chance, 0.5, 1e-12);
  }
  // Three unbalanced classes, labels unrelated to the points: purity near sum of squared shares.
  auto noise = torch::randn({900, 8});
  auto shuffled = torch::cat({torch::zeros({450}, torch::kInt64), torch::ones({300}, torch::kInt64),
                              torch::full({150}, 2, torch::kInt64)});
  shuffled = shuffled.index_select(0, torch::randperm(900, torch::kInt64));
  const auto q = knn_purity(noise, shuffled, 10, "euclidean");
  EXPECT_NEAR(q.chance, 0.25 + 1.0 / 9 + 1.0 / 36, 1e-12);
  EXPECT_NEAR(q.purity, q.chance, 0.04);
  EXPECT_THROW(knn_purity(x, labels, 10, "manhattan"), UnknownNameError);
  EXPECT_THROW(knn_purity(x.narrow(0, 0, 1), labels.narrow(0, 0, 1), 3), ShapeError);
}

TEST(InterpGeometry, PcaOfALineExplainsEverythingWithOneComponent) {
  torch::manual_seed(4);
  const auto t = torch::randn({100, 1}, torch::kFloat64);
  const auto direction = torch::tensor({{1.0, -2.0, 0.5, 3.0}}, torch::kFloat64);
  const auto x = torch::matmul(t, direction) + 4.0 + torch::randn({100, 4}, torch::kFloat64) * 1e-6;
  const auto p = pca(x, 2);
  EXPECT_GT(p.explained[0].item<double>(), 0.999999);
  EXPECT_LT(p.explained[1].item<double>(), 1e-6);
  ASSERT_EQ(p.points.sizes(), (std::vector<std::int64_t>{100, 2}));
  // The first coordinate is the position along the line (up to the fixed sign).
  const double norm = direction.norm().item<double>();
  const auto along = (t.flatten() - t.mean()) * norm;
  EXPECT_LT((p.points.select(1, 0) - along).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(pca(x, 5), ConfigError);
}

TEST(InterpGeometry, ConvergenceIsTheFirstLayerBelowTheThreshold) {
  const std::vector<std::string> layers = {"hook_embed", "blocks.0", "blocks.1", "blocks.2"};
  const auto c = find_convergence(layers, {1.0, 0.95, 0.8, 0.7}, 0.9, "knn_purity");
  EXPECT_EQ(c.layer, "blocks.1");
  EXPECT_EQ(c.index, 2);
  const auto j = c.to_json();
  EXPECT_EQ(j["criterion"], "knn_purity");
  EXPECT_EQ(j["layer"], "blocks.1");
  const auto none = find_convergence(layers, {1.0, 0.99, 0.98, 0.97}, 0.9, "probe_accuracy");
  EXPECT_EQ(none.layer, "none");
  EXPECT_EQ(none.index, -1);
  EXPECT_THROW(find_convergence(layers, {1.0}, 0.9, "knn_purity"), ConfigError);
}

TEST(InterpGeometry, StudyWritesResultAndReport) {
  auto loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  const ModelRef ref{*loaded.model, loaded.tokenizer, "cs-tiny-vl"};
  testing::TempDir dir;
  GeometryOptions options;
  options.progress = false;
  options.samples = 6;
  options.knn_points = 300;
  const auto j = run_geometry(ref, options, dir.path());
  ASSERT_EQ(j["layers"].size(), 5u);
  EXPECT_EQ(j["modalities"], (std::vector<std::string>{"text", "special", "image", "video"}));
  for (const auto* pair : {"text~special", "text~image", "text~video", "special~image"}) {
    ASSERT_TRUE(j["cka"].contains(pair)) << pair;
    for (const auto& v : j["cka"][pair]) {
      EXPECT_GE(v.get<double>(), -1e-9);
      EXPECT_LE(v.get<double>(), 1.0 + 1e-9);
    }
  }
  // image and video never share a prompt: no CKA, but a centred cosine.
  EXPECT_FALSE(j["cka"].contains("image~video"));
  EXPECT_EQ(j["centred_cosine"]["image~video"].size(), 5u);
  for (std::size_t l = 0; l < 5; ++l) {
    const double purity = j["knn_purity"][l].get<double>();
    EXPECT_GT(purity, j["chance_purity"][l].get<double>()) << l;
    EXPECT_LE(purity, 1.0);
    const auto ev = j["pca"]["explained_variance"][l];
    EXPECT_GT(ev[0].get<double>(), 0.0);
    EXPECT_LE(ev[0].get<double>() + ev[1].get<double>(), 1.0 + 1e-9);
  }
  // The default threshold sits halfway between chance purity and 1.
  EXPECT_NEAR(j["convergence"]["threshold"].get<double>(),
              0.5 * (1.0 + j["chance_purity"][0].get<double>()), 1e-12);
  EXPECT_TRUE(j["convergence"].contains("layer"));
  EXPECT_EQ(j["counts"]["knn_points"], 300);
  EXPECT_TRUE(std::filesystem::exists(dir / "result.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "report.md"));
  EXPECT_TRUE(std::filesystem::exists(dir / "pca.safetensors"));
  options.distance = "manhattan";
  EXPECT_THROW(measure_geometry(ref, options), UnknownNameError);
  options.distance = "cosine";
  options.hooks = {"hook_resid_mad"};
  EXPECT_THROW(measure_geometry(ref, options), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::interp
