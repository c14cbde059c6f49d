#include "clearsight/interp/perturbation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::interp {
namespace {

Examples examples_of(const mm::LoadedModel& m, const std::string& task, std::int64_t first,
                     std::int64_t count) {
  const auto samples = load_samples(*mm::make_task(task), mm::Split::kTest, first, count);
  return prepare_examples(samples, m.tokenizer, *m.model);
}

TEST(InterpPerturbation, ShapleyValuesAreEfficientAndMatchTwoPlayerFormula) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
  const auto ex = examples_of(m, "sound_event", 0, 3);
  ShapleyOptions o;
  const auto results = modality_shapley(*m.model, ex, o);
  for (const auto& r : results) {
    ASSERT_EQ(r.players, (std::vector<std::string>{"question", "audio"}));
    double sum = 0;
    for (double v : r.values) sum += v;
    EXPECT_NEAR(sum, r.full - r.empty, 1e-12);
    // Two players: phi_1 = (v(1) - v(0) + v(12) - v(2)) / 2.
    const auto& v = r.coalitions;
    EXPECT_NEAR(r.values[0], 0.5 * ((v[1] - v[0]) + (v[3] - v[2])), 1e-12);
    EXPECT_GE(r.full, 0.0);
    EXPECT_LE(r.full, 1.0);
  }
  // Four coalitions of a three-player game on the video model, still efficient.
  auto vl = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto vex = examples_of(vl, "motion_qa", 0, 1);
  o.players = {"question", "system", "video"};
  o.value = "logprob";
  const auto r = modality_shapley(*vl.model, vex, o)[0];
  EXPECT_EQ(r.coalitions.size(), 8u);
  EXPECT_NEAR(r.values[0] + r.values[1] + r.values[2], r.full - r.empty, 1e-9);
  o.players = {"smell"};
  EXPECT_THROW(modality_shapley(*vl.model, vex, o), UnknownNameError);
}

TEST(InterpPerturbation, FullCoalitionIsTheCleanScore) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto ex = examples_of(m, "scene_vqa", 0, 2);
  const auto clean = target_score(forward_logits(*m.model, ex), ex);
  ShapleyOptions o;
  o.value = "logprob";
  const auto results = modality_shapley(*m.model, ex, o);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    EXPECT_NEAR(results[i].full, clean[i].item<double>(), 1e-5);
  }
}

// Padding positions are never seen: replacing their inputs by anything changes nothing.
TEST(InterpPerturbation, OccludingPaddingChangesNothing) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto ex = examples_of(m, "scene_vqa", 0, 6);
  std::int64_t shortest = 0;
  for (std::int64_t i = 1; i < ex.size(); ++i) {
    if (ex.tokens[i].size() < ex.tokens[shortest].size()) shortest = i;
  }
  const auto len = static_cast<std::int64_t>(ex.tokens[shortest].size());
  ASSERT_LT(len, ex.batch.inputs.input_ids.size(1)) << "no padding in this batch";
  torch::NoGradGuard no_grad;
  const auto clean = clean_inputs(*m.model, ex);
  const auto before = target_score(forward_with_inputs(*m.model, ex, clean), ex);
  // Garbage straight into the embeddings of the padded positions.
  auto handle = m.model->add_hook(
      "hook_embed",
      [&](const torch::Tensor& e, const std::string&) -> std::optional<torch::Tensor> {
        auto out = e.clone();
        out[shortest].narrow(0, len, e.size(1) - len).normal_(0.0, 50.0);
        return out;
      });
  const auto after = target_score(forward_logits(*m.model, ex), ex);
  EXPECT_EQ(before[shortest].item<double>(), after[shortest].item<double>());
}

TEST(InterpPerturbation, OcclusionMapsAreBatchInvariantAndLocal) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto ex = examples_of(m, "scene_vqa", 0, 3);
  OcclusionOptions o;
  o.image_window = 2;
  o.image_stride = 2;
  const auto together = occlusion(*m.model, ex, o);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    const auto alone = occlusion(*m.model, ex.subset({i}), o)[0];
    EXPECT_TRUE(torch::allclose(alone.image_patches, together[i].image_patches, 1e-4, 1e-5));
    ASSERT_EQ(alone.text_positions.size(), together[i].text_positions.size());
    for (std::size_t p = 0; p < alone.text_positions.size(); ++p) {
      EXPECT_NEAR(alone.text_positions[p], together[i].text_positions[p], 1e-4);
    }
    // Only question words are occluded in text.
    const auto& q = ex.groups[i].at("question");
    for (std::size_t p = 0; p < alone.text_positions.size(); ++p) {
      if (std::find(q.begin(), q.end(), static_cast<std::int64_t>(p)) == q.end()) {
        EXPECT_EQ(alone.text_positions[p], 0.0);
      }
    }
    EXPECT_EQ(alone.image_patches.sizes(), (torch::IntArrayRef{8, 8}));
  }
}

TEST(InterpPerturbation, AblatingAGroupEqualsOccludingIt) {
  auto m = mm::load_model_with_tokenizer("cs-tiny-audio");
  const auto ex = examples_of(m, "sound_event", 0, 2);
  const BaselineOptions b{"grey", "silence", "pad"};
  const auto drops = feature_ablation(*m.model, ex, {"audio", "question"}, b);
  ShapleyOptions so;
  so.value = "logprob";
  const auto shap = modality_shapley(*m.model, ex, so);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    // Coalition bit 0 = question present, bit 1 = audio present.
    EXPECT_NEAR(drops[i][0], shap[i].full - shap[i].coalitions[1], 1e-5);
    EXPECT_NEAR(drops[i][1], shap[i].full - shap[i].coalitions[2], 1e-5);
  }
  EXPECT_THROW(feature_ablation(*m.model, ex, {"answer"}, b), ConfigError);
  EXPECT_THROW(feature_ablation(*m.model, ex, {"imagee"}, b), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::interp
