#include "clearsight/interp/attribution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::interp {
namespace {

Examples examples_of(const mm::LoadedModel& m, const std::string& task, std::int64_t first,
                     std::int64_t count) {
  const auto samples = load_samples(*mm::make_task(task), mm::Split::kTest, first, count);
  return prepare_examples(samples, m.tokenizer, *m.model);
}

TEST(InterpAttribution, RulesIntegratePolynomials) {
  for (const auto* rule :
       {"gauss-legendre", "riemann-left", "riemann-right", "riemann-middle", "riemann-trapezoid"}) {
    const auto [nodes, weights] = integration_rule(rule, 8);
    double sum = 0, cubic = 0;
    for (std::size_t k = 0; k < nodes.size(); ++k) {
      EXPECT_GE(nodes[k], 0.0);
      EXPECT_LE(nodes[k], 1.0);
      sum += weights[k];
      cubic += weights[k] * std::pow(nodes[k], 3);
    }
    EXPECT_NEAR(sum, 1.0, 1e-12) << rule;
    if (std::string(rule) == "gauss-legendre") {
      // 8 Gauss-Legendre points integrate polynomials up to degree 15 exactly.
      double p15 = 0;
      for (std::size_t k = 0; k < nodes.size(); ++k) p15 += weights[k] * std::pow(nodes[k], 15);
      EXPECT_NEAR(p15, 1.0 / 16, 1e-12);
      EXPECT_NEAR(cubic, 0.25, 1e-12);
    } else {
      EXPECT_NEAR(cubic, 0.25, 0.07) << rule;
    }
  }
  EXPECT_THROW(integration_rule("simpson", 4), UnknownNameError);
}

// The implementation is complete: on freshly initialised models of both architectures (smooth
// paths), IG's attributions over every input modality sum to f(x) - f(baseline) within 1% at
// 64 steps, for both Gauss-Legendre and the adaptive rule.
TEST(InterpAttribution, IntegratedGradientsCompleteWithinOnePercentOnSmoothModels) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"cs-tiny-vl", "scene_vqa"}, {"cs-tiny-vl", "motion_qa"}, {"cs-tiny-audio", "sound_event"}};
  for (const auto& [preset, task] : cases) {
    auto trained = mm::load_model_with_tokenizer(preset);
    torch::manual_seed(5);
    mm::MultimodalModel fresh(trained.model->config());
    const auto samples = load_samples(*mm::make_task(task), mm::Split::kTest, 0, 2);
    const auto ex = prepare_examples(samples, trained.tokenizer, fresh);
    for (const auto* rule : {"gauss-legendre", "adaptive"}) {
      AttributionOptions o;
      o.steps = 64;
      o.rule = rule;
      for (const auto& a : attribute(fresh, ex, o)) {
        EXPECT_LT(a.completeness_error, 0.01) << preset << " " << task << " " << rule;
        EXPECT_GT(std::abs(a.score - a.baseline_score), 1e-4) << "degenerate baseline";
        EXPECT_GE(a.modality_totals.size(), 2u);
      }
    }
  }
}

// On the trained built-in models the log-probability changes steeply along the path (saturated
// attention), so 64 points are not always enough (docs/RESULTS.md has the table); the error
// must still shrink as the rule refines, and the audio model's default path is within 1%.
TEST(InterpAttribution, IntegratedGradientsConvergeOnTheBuiltInModels) {
  {
    auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
    const auto ex = examples_of(m, "sound_event", 0, 4);
    AttributionOptions o;
    o.steps = 64;
    for (const auto& a : attribute(*m.model, ex, o)) EXPECT_LT(a.completeness_error, 0.01);
  }
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto ex = examples_of(m, "scene_vqa", 0, 2);
  AttributionOptions coarse, fine;
  coarse.steps = 16;
  fine.steps = 256;
  fine.internal_batch = 128;
  const auto a = attribute(*m.model, ex, coarse);
  const auto b = attribute(*m.model, ex, fine);
  double err_coarse = 0, err_fine = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    err_coarse += a[i].completeness_error;
    err_fine += b[i].completeness_error;
  }
  EXPECT_LT(err_fine, 0.5 * err_coarse);
  EXPECT_LT(err_fine / b.size(), 0.05);
}

TEST(InterpAttribution, AdaptiveRuleIsAQuadratureRule) {
  // A path with a step: the segments crowd around it; weights still sum to one.
  std::vector<double> path(65, -10.0);
  for (std::size_t j = 40; j < path.size(); ++j) path[j] = 0.0;
  const auto [nodes, weights] = adaptive_rule(path, 64);
  ASSERT_EQ(nodes.size(), 64u);
  double sum = 0, near_step = 0;
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    sum += weights[k];
    if (nodes[k] > 38.0 / 64 && nodes[k] < 41.0 / 64) near_step += 1;
    EXPECT_GE(nodes[k], 0.0);
    EXPECT_LE(nodes[k], 1.0);
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_GE(near_step, 16);  // uniform nodes would put ~3 there
  // A flat path gives plain composite Gauss-Legendre: cubic integrated exactly.
  const auto [n2, w2] = adaptive_rule(std::vector<double>(65, 1.0), 64);
  double cubic = 0;
  for (std::size_t k = 0; k < n2.size(); ++k) cubic += w2[k] * std::pow(n2[k], 3);
  EXPECT_NEAR(cubic, 0.25, 1e-12);
}

TEST(InterpAttribution, GradientsMatchCentralDifferences) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
  const auto ex = examples_of(m, "sound_event", 0, 1);
  const auto grads = input_gradients(*m.model, ex);
  const auto clean = clean_inputs(*m.model, ex);
  torch::NoGradGuard no_grad;
  for (const auto* modality : {"text", "audio"}) {
    const auto g = grads.get(modality).flatten();
    const auto idx = std::get<1>(g.abs().topk(3));
    for (std::int64_t k = 0; k < 3; ++k) {
      const auto j = idx[k].item<std::int64_t>();
      const double eps = 1e-2;
      auto score_at = [&](double delta) {
        InputTensors x = clean;
        auto t = clean.get(modality).clone();
        t.view({-1})[j] += delta;
        x.get(modality) = t;
        return target_score(forward_with_inputs(*m.model, ex, x), ex)[0].item<double>();
      };
      const double fd = (score_at(eps) - score_at(-eps)) / (2 * eps);
      const double an = g[j].item<double>();
      EXPECT_NEAR(fd, an, 0.03 * std::abs(an) + 1e-3) << modality << " element " << j;
    }
  }
}

TEST(InterpAttribution, PixelGradientsMatchCentralDifferences) {
  auto v = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto vex = examples_of(v, "scene_vqa", 0, 1);
  const auto vgrad = input_gradients(*v.model, vex);
  const auto vclean = clean_inputs(*v.model, vex);
  torch::NoGradGuard no_grad;
  const auto g = vgrad.image.flatten();
  const auto idx = std::get<1>(g.abs().topk(3));
  for (std::int64_t k = 0; k < 3; ++k) {
    const auto j = idx[k].item<std::int64_t>();
    auto score_at = [&](double delta) {
      InputTensors x = vclean;
      x.image = vclean.image.clone();
      x.image.view({-1})[j] += delta;
      return target_score(forward_with_inputs(*v.model, vex, x), vex)[0].item<double>();
    };
    const double fd = (score_at(1e-2) - score_at(-1e-2)) / 2e-2;
    EXPECT_NEAR(fd, g[j].item<double>(), 0.03 * std::abs(g[j].item<double>()) + 1e-3);
  }
}

TEST(InterpAttribution, SampleAloneEqualsSampleInAPaddedBatch) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto batch = examples_of(m, "scene_vqa", 0, 4);
  // The samples' prompts differ in length, so the batch pads some of them.
  std::set<std::size_t> lengths;
  for (const auto& t : batch.tokens) lengths.insert(t.size());
  ASSERT_GT(lengths.size(), 1u);
  for (const auto* method : {"saliency", "input_x_gradient", "ig"}) {
    AttributionOptions o;
    o.method = method;
    o.steps = 16;
    const auto together = attribute(*m.model, batch, o);
    for (std::int64_t i = 0; i < batch.size(); ++i) {
      const auto alone = attribute(*m.model, batch.subset({i}), o)[0];
      ASSERT_EQ(alone.positions.size(), together[i].positions.size());
      for (std::size_t p = 0; p < alone.positions.size(); ++p) {
        EXPECT_NEAR(alone.positions[p], together[i].positions[p],
                    1e-4 * (1 + std::abs(alone.positions[p])))
            << method << " sample " << i << " position " << p;
      }
      EXPECT_TRUE(torch::allclose(alone.image_pixels, together[i].image_pixels, 1e-3, 1e-5));
    }
  }
}

TEST(InterpAttribution, InternalBatchDoesNotChangeTheResult) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
  const auto ex = examples_of(m, "speech", 0, 2);
  AttributionOptions a, b;
  a.steps = b.steps = 12;
  a.internal_batch = 2;
  b.internal_batch = 64;
  const auto ra = attribute(*m.model, ex, a);
  const auto rb = attribute(*m.model, ex, b);
  for (std::size_t i = 0; i < ra.size(); ++i) {
    EXPECT_NEAR(ra[i].total, rb[i].total, 1e-4 * (1 + std::abs(ra[i].total)));
    EXPECT_TRUE(torch::allclose(ra[i].audio_mel, rb[i].audio_mel, 1e-3, 1e-6));
  }
}

TEST(InterpAttribution, BadOptionsAreClearErrors) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto ex = examples_of(m, "scene_vqa", 0, 1);
  AttributionOptions o;
  o.method = "deeplift";
  EXPECT_THROW(attribute(*m.model, ex, o), UnknownNameError);
  o.method = "ig";
  o.modalities = {"audio"};
  EXPECT_THROW(attribute(*m.model, ex, o), ConfigError);
  o.modalities = {"smell"};
  EXPECT_THROW(attribute(*m.model, ex, o), UnknownNameError);
  o.modalities = {};
  o.baseline.image = "purple";
  EXPECT_THROW(attribute(*m.model, ex, o), UnknownNameError);
  o.baseline.image = "black";
  o.steps = 0;
  EXPECT_THROW(attribute(*m.model, ex, o), ConfigError);
}

}  // namespace
}  // namespace clearsight::interp
