#include "clearsight/wm/imagination.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"

namespace clearsight::wm {
namespace {

TEST(WmImagination, LambdaReturnsMatchAHandComputation) {
  const auto rewards = torch::tensor({1.0, 2.0, 3.0}).view({1, 3});
  const auto values = torch::tensor({10.0, 20.0, 30.0}).view({1, 3});
  const auto discounts = torch::full({1, 3}, 0.9);
  const auto r = lambda_returns(rewards, values, discounts, 0.5);
  // R2 = 3 + 0.9 * 30; R1 = 2 + 0.9 (0.5 * 20 + 0.5 * R2); R0 = 1 + 0.9 (0.5 * 10 + 0.5 * R1).
  const double r2 = 3 + 0.9 * 30, r1 = 2 + 0.9 * (10 + 0.5 * r2), r0 = 1 + 0.9 * (5 + 0.5 * r1);
  EXPECT_NEAR(r[0][2].item<double>(), r2, 1e-5);
  EXPECT_NEAR(r[0][1].item<double>(), r1, 1e-5);
  EXPECT_NEAR(r[0][0].item<double>(), r0, 1e-5);
}

TEST(WmImagination, LambdaOneIsTheDiscountedSumAndZeroIsOneStepTd) {
  const auto rewards = torch::tensor({1.0, 1.0, 1.0, 1.0}).view({1, 4});
  const auto values = torch::tensor({5.0, 5.0, 5.0, 8.0}).view({1, 4});
  const auto d = torch::full({1, 4}, 0.5);
  const auto mc = lambda_returns(rewards, values, d, 1.0);
  EXPECT_NEAR(mc[0][0].item<double>(), 1 + 0.5 * (1 + 0.5 * (1 + 0.5 * (1 + 0.5 * 8))), 1e-5);
  const auto td = lambda_returns(rewards, values, d, 0.0);
  EXPECT_NEAR(td[0][0].item<double>(), 1 + 0.5 * 5, 1e-5);
  EXPECT_THROW(lambda_returns(rewards, values.narrow(1, 0, 3), d, 0.5), Error);
}

TEST(WmImagination, RolloutShapesFollowTheHorizon) {
  RssmOptions o;
  o.deter = 8;
  o.stoch = 4;
  o.hidden = 8;
  o.embed = 4;
  o.action_size = 2;
  Rssm rssm(o);
  const auto start = rssm->initial(5);
  const ImaginationPolicy policy = [](const torch::Tensor& f) {
    return std::make_pair(torch::tanh(f.narrow(1, 0, 2)), torch::zeros({f.size(0)}));
  };
  const auto imag = imagine(rssm, start, policy, 4);
  EXPECT_EQ(imag.states.deter.sizes(), (std::vector<std::int64_t>{5, 5, 8}));
  EXPECT_EQ(imag.actions.sizes(), (std::vector<std::int64_t>{5, 4, 2}));
  EXPECT_EQ(imag.entropies.sizes(), (std::vector<std::int64_t>{5, 4}));
  EXPECT_EQ(imag.features().sizes(), (std::vector<std::int64_t>{5, 5, 12}));
  EXPECT_FALSE(imag.conditions.defined());
  EXPECT_THROW(imagine(rssm, start, policy, 0), Error);
}

TEST(WmImagination, ConditionStepMovesTheConditionWithTheAction) {
  RssmOptions o;
  o.deter = 4;
  o.stoch = 2;
  o.hidden = 4;
  o.embed = 4;
  o.action_size = 1;
  o.condition_size = 1;
  Rssm rssm(o);
  const ImaginationPolicy policy = [](const torch::Tensor& f) {
    return std::make_pair(torch::ones({f.size(0), 1}), torch::zeros({f.size(0)}));
  };
  const ConditionStep step = [](const torch::Tensor& c, const torch::Tensor& a) { return c + a; };
  const auto imag = imagine(rssm, rssm->initial(2), policy, 3, torch::zeros({2, 1}), step);
  EXPECT_EQ(imag.conditions.sizes(), (std::vector<std::int64_t>{2, 4, 1}));
  EXPECT_NEAR(imag.conditions[0][3][0].item<double>(), 3.0, 1e-5);
}

}  // namespace
}  // namespace clearsight::wm
