#include "clearsight/interp/steering.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

Examples prepare(std::int64_t first, std::int64_t count) {
  const auto samples = load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, first, count);
  return prepare_examples(samples, vl().tokenizer, *vl().model, {.kind = "first", .token = {}});
}

TEST(InterpSteering, ZeroVectorIsTheIdentity) {
  auto& model = *vl().model;
  model.eval();
  const auto examples = prepare(0, 3);
  const auto clean = forward_logits(model, examples);
  const auto layers = model.config().num_hidden_layers;
  const auto zero = torch::zeros({layers, model.config().hidden_size});
  {
    const auto handles = add_steering(model, zero, {0, 1, 2, 3}, 5.0);
    EXPECT_TRUE(torch::equal(forward_logits(model, examples), clean));
  }
  // A real vector at scale 0 is the identity too; at scale 4 it is not.
  const auto v = torch::randn({layers, model.config().hidden_size});
  {
    const auto handles = add_steering(model, v, {1}, 0.0);
    EXPECT_TRUE(torch::equal(forward_logits(model, examples), clean));
  }
  {
    const auto handles = add_steering(model, v, {1}, 4.0);
    EXPECT_FALSE(torch::allclose(forward_logits(model, examples), clean, 1e-3, 1e-3));
  }
  EXPECT_THROW(add_steering(model, v, {7}, 1.0), ConfigError);
}

TEST(InterpSteering, VectorsAreDifferencesOfTheStreams) {
  auto& model = *vl().model;
  const auto a = prepare(0, 4), b = prepare(4, 4);
  // Identical sets give zero vectors with either method.
  EXPECT_NEAR(steering_vectors(model, a, a, "mean").abs().max().item<double>(), 0.0, 1e-6);
  const auto mean = steering_vectors(model, a, b, "mean");
  // Swapping the sets flips the vector.
  EXPECT_TRUE(torch::allclose(steering_vectors(model, b, a, "mean"), -mean, 1e-5, 1e-5));
  // PCA: a vector along the first component with the mean difference's projection on it.
  const auto pca = steering_vectors(model, a, b, "pca");
  for (std::int64_t l = 0; l < mean.size(0); ++l) {
    const auto n = pca[l].norm().item<double>();
    ASSERT_GT(n, 0.0);
    EXPECT_NEAR(torch::dot(mean[l], pca[l] / n).item<double>(), n, 1e-3 * (1 + n));
  }
  EXPECT_THROW(steering_vectors(model, a, prepare(0, 3), "mean"), ConfigError);
  EXPECT_THROW(steering_vectors(model, a, b, "pcaa"), UnknownNameError);
}

TEST(InterpSteering, Filters) {
  mm::Sample s;
  s.answer = "red";
  s.question_type = "color";
  s.prompt = "what color is the circle";
  EXPECT_TRUE(matches_filter(s, "answer=red"));
  EXPECT_FALSE(matches_filter(s, "answer=blue"));
  EXPECT_TRUE(matches_filter(s, "type=color"));
  EXPECT_TRUE(matches_filter(s, "word=circle"));
  EXPECT_FALSE(matches_filter(s, "word=circ"));
  EXPECT_THROW(matches_filter(s, "red"), ConfigError);
  EXPECT_THROW(matches_filter(s, "colour=red"), ConfigError);
}

}  // namespace
}  // namespace clearsight::interp
