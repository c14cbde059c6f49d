#include "clearsight/rl/networks.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::rl {
namespace {

TEST(RlNetworks, EnsembleMembersMatchSeparateMlps) {
  torch::manual_seed(0);
  EnsembleMlp ensemble(3, MlpOptions{5, 2, {8, 8}, "relu"});
  const auto x = torch::randn({4, 5});
  const auto out = ensemble->forward(x);
  ASSERT_EQ(out.sizes(), (std::vector<std::int64_t>{3, 4, 2}));
  const auto params = ensemble->named_parameters();
  for (int e = 0; e < 3; ++e) {
    auto h = x;
    for (int l = 0; l < 3; ++l) {
      const auto w = params["weight" + std::to_string(l)][e];
      const auto b = params["bias" + std::to_string(l)][e][0];
      h = torch::matmul(h, w) + b;
      if (l < 2) h = torch::relu(h);
    }
    EXPECT_TRUE(torch::allclose(out[e], h, 1e-5, 1e-6)) << e;
  }
  // A per-member input [E, B, in] gives the same as the shared one when all rows agree.
  EXPECT_TRUE(torch::allclose(ensemble->forward(x.unsqueeze(0).expand({3, 4, 5})), out));
}

TEST(RlNetworks, TanhGaussianLogProbMatchesChangeOfVariables) {
  torch::manual_seed(1);
  TanhGaussianActor actor(6, 3, std::vector<std::int64_t>{16});
  const auto obs = torch::randn({5, 6});
  torch::manual_seed(2);
  auto [action, logp] = actor->sample(obs);
  auto [mean, log_std] = actor->forward(obs);
  torch::manual_seed(2);
  const auto eps = torch::randn_like(mean);
  const auto u = mean + log_std.exp() * eps;
  EXPECT_TRUE(torch::allclose(action, torch::tanh(u), 1e-6, 1e-6));
  // log N(u) - sum log(1 - tanh(u)^2), evaluated directly in float64.
  const auto u64 = u.to(torch::kFloat64), m64 = mean.to(torch::kFloat64);
  const auto s64 = log_std.to(torch::kFloat64).exp();
  const auto normal = -0.5 * ((u64 - m64) / s64).square() - s64.log() - 0.5 * std::log(2 * M_PI);
  const auto expected = (normal - torch::log(1 - torch::tanh(u64).square())).sum(-1, true);
  EXPECT_TRUE(torch::allclose(logp.to(torch::kFloat64), expected, 1e-4, 1e-4));
  EXPECT_TRUE((actor->mean_action(obs).abs() <= 1).all().item<bool>());
}

TEST(RlNetworks, GaussianActorLogProbAndEntropy) {
  torch::manual_seed(3);
  GaussianActor actor(4, 2, std::vector<std::int64_t>{8}, -0.5);
  const auto obs = torch::randn({3, 4});
  const auto actions = torch::randn({3, 2});
  auto [logp, entropy] = actor->log_prob_entropy(obs, actions);
  const auto mean = actor->forward(obs);
  const double s = std::exp(-0.5);
  const auto expected =
      (-0.5 * ((actions - mean) / s).square() - std::log(s) - 0.5 * std::log(2 * M_PI)).sum(-1);
  EXPECT_TRUE(torch::allclose(logp, expected, 1e-5, 1e-5));
  EXPECT_NEAR(entropy[0].item<double>(), 2 * (0.5 + 0.5 * std::log(2 * M_PI) - 0.5), 1e-5);
}

TEST(RlNetworks, SoftAndHardUpdates) {
  Mlp a(MlpOptions{3, 2, {4}}), b(MlpOptions{3, 2, {4}});
  hard_update(*b, *a);
  for (std::size_t i = 0; i < a->parameters().size(); ++i) {
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  }
  const auto before = b->parameters()[0].clone();
  {
    torch::NoGradGuard g;
    a->parameters()[0].add_(1.0);
  }
  soft_update(*b, *a, 0.25);
  EXPECT_TRUE(torch::allclose(b->parameters()[0], before + 0.25, 1e-6, 1e-6));
  EXPECT_THROW(Mlp(MlpOptions{3, 2, {4}, "gelu"}), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::rl
