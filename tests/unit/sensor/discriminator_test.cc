#include "clearsight/sensor/discriminator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::sensor {
namespace {

TEST(SensorDiscriminator, AggregationOnCraftedLogits) {
  const auto logits = torch::tensor({{1.0, 2.0}, {3.0, 0.0}});  // [E = 2, N = 2]
  EXPECT_TRUE(torch::allclose(aggregate_logits(logits, "mean"), torch::tensor({2.0, 1.0})));
  EXPECT_TRUE(torch::allclose(aggregate_logits(logits, "min"), torch::tensor({1.0, 0.0})));
  // mean - population std: (2 - 1, 1 - 1).
  EXPECT_TRUE(torch::allclose(aggregate_logits(logits, "mean-std"), torch::tensor({1.0, 0.0})));
  EXPECT_THROW(aggregate_logits(logits, "max"), UnknownNameError);
}

// Members that are linear in the region the test uses: positive biases keep every ELU in its
// identity part, so the input gradient is the product of the weights.
DiscriminatorEnsemble linear_members() {
  DiscriminatorEnsemble d(2, 2, 1);
  torch::NoGradGuard no_grad;
  for (auto& p : d->named_parameters()) {
    const auto& name = p.key();
    auto& t = p.value();
    if (name.find("bias") != std::string::npos) {
      t.fill_(10.0);
    } else if (name.find("weight0") != std::string::npos) {
      t[0].copy_(torch::tensor({{3.0}, {4.0}}));  // |grad| = 5 for member 0.
      t[1].copy_(torch::tensor({{0.6}, {0.8}}));  // |grad| = 1 for member 1.
    } else {
      t.fill_(1.0);
    }
  }
  return d;
}

TEST(SensorDiscriminator, GradientPenaltyOnACraftedBatch) {
  auto d = linear_members();
  const auto x = torch::rand({8, 2});
  const auto penalty = gradient_penalty(*d, x);
  EXPECT_NEAR(penalty[0].item<double>(), 16.0, 1e-4);  // (5 - 1)^2
  EXPECT_NEAR(penalty[1].item<double>(), 0.0, 1e-6);   // (1 - 1)^2
}

TEST(SensorDiscriminator, EnsembleOfOneHasNoDisagreement) {
  DiscriminatorEnsemble one(4, 1, 8), five(4, 5, 8);
  const auto x = torch::randn({3, 6, 4});
  EXPECT_TRUE((one->disagreement(x) == 0).all().item<bool>());
  EXPECT_EQ(one->reward(x, "mean").sizes(), (std::vector<std::int64_t>{3, 6}));
  EXPECT_TRUE((five->disagreement(x) > 0).all().item<bool>());
}

TEST(SensorDiscriminator, LearnsToSeparateCraftedBatches) {
  torch::manual_seed(0);
  DiscriminatorEnsemble d(3, 3, 16);
  torch::optim::Adam adam(d->parameters(), 1e-2);
  const auto expert = torch::randn({64, 3}) + 2.0, policy = torch::randn({64, 3}) - 2.0;
  DiscriminatorLoss first, last;
  for (int i = 0; i < 60; ++i) {
    auto l = d->loss(expert, policy, 1.0);
    adam.zero_grad();
    l.total.backward();
    adam.step();
    if (i == 0) first = l;
    last = l;
  }
  EXPECT_GT(last.accuracy, 0.95);
  EXPECT_LT(last.logistic, first.logistic);
  EXPECT_GT(last.expert_logit, 0.0);
  EXPECT_LT(last.policy_logit, 0.0);
  EXPECT_GT(d->reward(expert, "mean").mean().item<double>(),
            d->reward(policy, "mean").mean().item<double>());
}

TEST(SensorEpsilon, AdaptsTowardsTheTargetAccuracyAndAFixedOneStays) {
  AdaptiveEpsilon e(0.1, 0.0, 0.5, 0.75, 0.1, true);
  e.update(0.95);  // Discriminators separate too well: more exploration.
  EXPECT_NEAR(e.value(), 0.1 + 0.1 * 0.2, 1e-12);
  for (int i = 0; i < 100; ++i) e.update(1.0);
  EXPECT_EQ(e.value(), 0.5);
  for (int i = 0; i < 100; ++i) e.update(0.5);
  EXPECT_EQ(e.value(), 0.0);
  AdaptiveEpsilon fixed(0.1, 0.0, 0.5, 0.75, 0.1, false);
  fixed.update(1.0);
  EXPECT_EQ(fixed.value(), 0.1);
  EXPECT_THROW(AdaptiveEpsilon(0.9, 0.0, 0.5, 0.75, 0.1, true), ConfigError);
}

}  // namespace
}  // namespace clearsight::sensor
