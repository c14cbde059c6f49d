#include "clearsight/wm/rssm.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"

#include <cmath>

namespace clearsight::wm {
namespace {

RssmState gaussian(double mean, double std, int dims, bool grad) {
  RssmState s;
  s.mean = torch::full({1, dims}, mean).requires_grad_(grad);
  s.std = torch::full({1, dims}, std).requires_grad_(grad);
  s.deter = torch::zeros({1, 1});
  s.stoch = s.mean;
  return s;
}

// KL(N(1, 1) || N(0, 2)) = log 2 + (1 + 1) / 8 - 1/2 per dimension.
const double kKlPerDim = std::log(2.0) + 0.25 - 0.5;

TEST(WmRssm, GaussianKlMatchesTheClosedForm) {
  const auto kl = kl_divergence(gaussian(1, 1, 4, false), gaussian(0, 2, 4, false));
  EXPECT_NEAR(kl.item<double>(), 4 * kKlPerDim, 1e-6);
}

TEST(WmRssm, FreeNatsClipEachTermAndStopItsGradient) {
  auto post = gaussian(1, 1, 4, true), prior = gaussian(0, 2, 4, true);
  const auto kl = kl_loss(post, prior, 0.8, 3.0);
  EXPECT_NEAR(kl.loss.item<double>(), 3.0, 1e-6);  // 1.77 nats are below the 3 free nats.
  EXPECT_NEAR(kl.value.item<double>(), 4 * kKlPerDim, 1e-6);
  kl.loss.backward();
  EXPECT_FALSE(post.mean.grad().defined() && post.mean.grad().abs().sum().item<double>() > 0);
  EXPECT_FALSE(prior.mean.grad().defined() && prior.mean.grad().abs().sum().item<double>() > 0);
}

TEST(WmRssm, KlBalancingSplitsTheGradientBetweenPriorAndPosterior) {
  auto post = gaussian(1, 1, 4, true), prior = gaussian(0, 2, 4, true);
  const auto kl = kl_loss(post, prior, 0.8, 1.0);
  EXPECT_NEAR(kl.loss.item<double>(), 4 * kKlPerDim, 1e-6);
  kl.loss.backward();
  // dKL/dmu_prior = (mu_prior - mu_post) / std_prior^2 = -1/4, weighted by the balance 0.8;
  // dKL/dmu_post = +1/4, weighted by 0.2.
  EXPECT_NEAR(prior.mean.grad()[0][0].item<double>(), -0.25 * 0.8, 1e-6);
  EXPECT_NEAR(post.mean.grad()[0][0].item<double>(), 0.25 * 0.2, 1e-6);
  // dKL/dstd_prior = 1/std_prior - (std_post^2 + d^2) / std_prior^3 = 0.5 - 2/8 = 0.25.
  EXPECT_NEAR(prior.std.grad()[0][0].item<double>(), 0.25 * 0.8, 1e-6);
}

TEST(WmRssm, BalanceOneHalfGivesThePlainKlGradient) {
  auto post = gaussian(1, 1, 2, true), prior = gaussian(0, 2, 2, true);
  kl_loss(post, prior, 0.5, 0.0).loss.backward();
  auto post2 = gaussian(1, 1, 2, true), prior2 = gaussian(0, 2, 2, true);
  (0.5 * kl_divergence(post2, prior2).mean()).backward();
  EXPECT_TRUE(torch::allclose(post.mean.grad(), post2.mean.grad()));
  EXPECT_TRUE(torch::allclose(prior.std.grad(), prior2.std.grad()));
}

TEST(WmRssm, CategoricalKlMatchesAHandComputation) {
  RssmState p, q;
  p.logits = torch::log(torch::tensor({0.5, 0.25, 0.25})).view({1, 1, 3});
  q.logits = torch::log(torch::tensor({0.25, 0.25, 0.5})).view({1, 1, 3});
  const double expected = 0.5 * std::log(2.0) + 0.25 * 0.0 + 0.25 * std::log(0.5);
  EXPECT_NEAR(kl_divergence(p, q).item<double>(), expected, 1e-6);
}

RssmOptions small_options(std::int64_t discrete) {
  RssmOptions o;
  o.deter = 8;
  o.stoch = 4;
  o.discrete = discrete;
  o.hidden = 8;
  o.embed = 6;
  o.action_size = 2;
  o.condition_size = 3;
  return o;
}

TEST(WmRssm, ObserveReturnsSequencesAndResetsAtEpisodeStarts) {
  for (std::int64_t discrete : {0, 5}) {
    torch::manual_seed(0);
    Rssm rssm(small_options(discrete));
    const auto embed = torch::randn({2, 5, 6});
    const auto actions = torch::randn({2, 5, 2});
    const auto conditions = torch::randn({2, 5, 3});
    auto first = torch::zeros({2, 5}, torch::kBool);
    first.index_put_({1, 3}, true);
    auto [post, prior] = rssm->observe(embed, actions, conditions, first);
    EXPECT_EQ(post.deter.sizes(), (std::vector<std::int64_t>{2, 5, 8}));
    EXPECT_EQ(post.features().size(-1), rssm->feature_size());
    EXPECT_EQ(prior.stoch.sizes(), post.stoch.sizes());
    // The posterior at a marked start with zero state and action equals a fresh start's.
    const auto fresh = rssm->initial(1);
    torch::manual_seed(1);
    auto [p1, q1] = rssm->obs_step(fresh, torch::zeros({1, 2}), conditions[1][3].view({1, 3}),
                                   embed[1][3].view({1, 6}), false);
    auto [p2, q2] = rssm->observe(
        embed.narrow(1, 3, 1).narrow(0, 1, 1), actions.narrow(1, 3, 1).narrow(0, 1, 1),
        conditions.narrow(1, 3, 1).narrow(0, 1, 1), torch::ones({1, 1}, torch::kBool));
    EXPECT_TRUE(torch::allclose(p1.deter, p2.deter.select(1, 0)));
  }
}

TEST(WmRssm, ImagineRollsThePriorWithTheGivenActions) {
  Rssm rssm(small_options(0));
  const auto start = rssm->initial(3);
  const auto states = rssm->imagine(torch::randn({3, 7, 2}), torch::randn({3, 7, 3}), start);
  EXPECT_EQ(states.deter.sizes(), (std::vector<std::int64_t>{3, 7, 8}));
  EXPECT_THROW(rssm->imagine(torch::randn({3, 7, 5}), {}, start), Error);
}

}  // namespace
}  // namespace clearsight::wm
