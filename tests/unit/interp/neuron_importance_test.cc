#include "clearsight/interp/neuron_importance.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

ModelRef vl_ref() { return {*vl().model, vl().tokenizer, "cs-tiny-vl"}; }

NeuronImportanceOptions one_sample(const std::string& criterion) {
  NeuronImportanceOptions o;
  o.criterion = criterion;
  o.tasks = {"scene_vqa"};
  o.samples = 1;
  return o;
}

Examples first_validation_sample() {
  const auto samples = load_samples(*mm::make_task("scene_vqa"), mm::Split::kValidation, 0, 1);
  return prepare_examples(samples, vl().tokenizer, *vl().model, Target{});
}

std::string neuron_hook(std::int64_t layer) {
  return "blocks." + std::to_string(layer) + ".mlp.hook_post";
}

TEST(InterpNeuronImportance, MagnitudeIsTheMeanAbsoluteActivationOverTheSamplesPositions) {
  const auto importance = neuron_importance(vl_ref(), one_sample("magnitude"));
  const auto examples = first_validation_sample();
  const auto positions = static_cast<std::int64_t>(examples.tokens[0].size());
  torch::Tensor activation;
  {
    auto handle =
        vl().model->add_hook(neuron_hook(2), [&](const torch::Tensor& x, const std::string&) {
          activation = x.detach().to(torch::kFloat64);
          return std::optional<torch::Tensor>{};
        });
    forward_logits(*vl().model, examples);
  }
  ASSERT_TRUE(activation.defined());
  const auto expected = activation[0].narrow(0, 0, positions).abs().mean(0);
  EXPECT_TRUE(torch::allclose(importance[2], expected, 1e-9, 1e-12));
  EXPECT_GT(importance.min().item<double>(), -1e-15);
}

TEST(InterpNeuronImportance, AttributionIsTheDerivativeOfScalingTheNeuronEverywhere) {
  // d score / d s of the answer's log-probability when the neuron's activation is multiplied by
  // s at every position, at s = 1, is sum_p a_p g_p: a central difference of the real model.
  const auto importance = neuron_importance(vl_ref(), one_sample("attribution"));
  const auto flat = importance.view(-1).argmax().item<std::int64_t>();
  const auto neurons = importance.size(1);
  const auto layer = flat / neurons, neuron = flat % neurons;
  const auto examples = first_validation_sample();
  auto score_scaled = [&](double s) {
    auto handle =
        vl().model->add_hook(neuron_hook(layer), [&](const torch::Tensor& x, const std::string&) {
          auto y = x.clone();
          y.select(-1, neuron).mul_(s);
          return std::optional<torch::Tensor>{y};
        });
    torch::NoGradGuard no_grad;
    return target_score(forward_logits(*vl().model, examples), examples).item<double>();
  };
  const double eps = 1e-2;
  const double derivative = (score_scaled(1 + eps) - score_scaled(1 - eps)) / (2 * eps);
  const double attribution = importance[layer][neuron].item<double>();
  ASSERT_GT(attribution, 1e-3);
  EXPECT_NEAR(std::abs(derivative), attribution, 0.03 * attribution);
}

TEST(InterpNeuronImportance, DoesNotDependOnTheBatchSize) {
  for (const auto* criterion : {"magnitude", "attribution"}) {
    auto o = one_sample(criterion);
    o.samples = 3;
    o.batch_size = 1;
    const auto one = neuron_importance(vl_ref(), o);
    o.batch_size = 3;
    const auto three = neuron_importance(vl_ref(), o);
    EXPECT_TRUE(torch::allclose(one, three, 1e-4, 1e-7)) << criterion;
  }
}

TEST(InterpNeuronImportance, TopNeuronsTakesTheLargestAndBreaksTiesByIndex) {
  const auto importance =
      torch::tensor({0.1, 0.5, 0.5, 0.0, 0.9, 0.2}, torch::kFloat64).view({2, 3});
  const auto s = top_neurons(importance, 3, "magnitude");
  ASSERT_EQ(s.modalities, std::vector<std::string>{"magnitude"});
  ASSERT_EQ(s.masks.sizes(), (std::vector<std::int64_t>{1, 2, 3}));
  const auto expected = torch::tensor({false, true, true, false, true, false}).view({1, 2, 3});
  EXPECT_TRUE(torch::equal(s.masks, expected));
  EXPECT_EQ(top_neurons(importance, 2, "m").masks.sum().item<std::int64_t>(), 2);
  // 0.5 tie at (0, 1) and (0, 2): with two places left after 0.9, both; with one, the lower.
  const auto two = top_neurons(importance, 2, "m").masks;
  EXPECT_TRUE(two[0][0][1].item<bool>());
  EXPECT_FALSE(two[0][0][2].item<bool>());
  EXPECT_THROW(top_neurons(importance, 0, "m"), ConfigError);
  EXPECT_THROW(top_neurons(importance, 7, "m"), ConfigError);
}

TEST(InterpNeuronImportance, BadOptionsAreConfigErrors) {
  auto o = one_sample("size");
  EXPECT_THROW(check_neuron_importance_options(o), ConfigError);
  o = one_sample("magnitude");
  o.tasks.clear();
  EXPECT_THROW(check_neuron_importance_options(o), ConfigError);
  o = one_sample("magnitude");
  o.samples = 0;
  EXPECT_THROW(neuron_importance(vl_ref(), o), ConfigError);
  o = one_sample("magnitude");
  o.tasks = {"speech"};
  EXPECT_THROW(neuron_importance(vl_ref(), o), ConfigError);
}

}  // namespace
}  // namespace clearsight::interp
