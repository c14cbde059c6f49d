#include "clearsight/rl/ppo.h"

#include <gtest/gtest.h>

#include <cmath>

namespace clearsight::rl {
namespace {

// One minibatch, one epoch, advantages as given: the reported losses are those of the policy
// before its step, so they can be computed by hand from crafted probability ratios.
TEST(RlPpo, ClippedObjectiveAndValueClippingOnCraftedRatios) {
  PpoConfig c;
  c.hidden = {16};
  c.epochs = 1;
  c.minibatch_size = 6;
  c.clip = 0.2;
  c.value_clip = 0.1;
  c.normalize_advantages = false;
  torch::manual_seed(3);
  Ppo ppo(c, 2, 1);
  RolloutBuffer r(6, 1, 2, 1);
  const auto obs = torch::randn({6, 2});
  const auto actions = torch::rand({6, 1}) * 2 - 1;
  const auto [logp, entropy] = ppo.actor()->log_prob_entropy(obs, actions);
  const auto v = ppo.value(obs);
  // Ratios pi / pi_old inside and outside [0.8, 1.2], with advantages of both signs.
  const std::vector<float> ratio = {0.5f, 0.9f, 1.1f, 1.5f, 1.5f, 0.5f};
  const std::vector<float> adv = {1.0f, -2.0f, 0.5f, 1.0f, -1.0f, -1.0f};
  // Old values 0.3 above, 0.05 below... the current ones; returns around them.
  const std::vector<float> old_offset = {0.3f, -0.05f, 0.0f, -0.4f, 0.2f, 0.0f};
  const std::vector<float> ret_offset = {1.0f, 0.5f, -0.2f, -1.0f, 0.0f, 0.3f};
  double policy = 0, value = 0, clipped_count = 0;
  for (std::int64_t i = 0; i < 6; ++i) {
    const auto lp = logp[i].detach();
    const double rho = ratio[static_cast<std::size_t>(i)];
    const double a = adv[static_cast<std::size_t>(i)];
    const auto old_lp = lp - std::log(rho);
    const double vi = v[i].item<double>();
    const double old_v = vi + old_offset[static_cast<std::size_t>(i)];
    const double ret = vi + ret_offset[static_cast<std::size_t>(i)];
    r.insert(i, obs[i].unsqueeze(0), actions[i].unsqueeze(0), old_lp.reshape({1}),
             torch::full({1}, static_cast<float>(old_v)), torch::zeros({1}), torch::zeros({1}));
    r.advantages[i][0] = a;
    r.returns[i][0] = static_cast<float>(ret);
    policy += std::max(-a * rho, -a * std::clamp(rho, 0.8, 1.2)) / 6;
    const double v_clipped = old_v + std::clamp(vi - old_v, -0.1, 0.1);
    value += 0.5 * std::max(std::pow(vi - ret, 2), std::pow(v_clipped - ret, 2)) / 6;
    clipped_count += std::abs(rho - 1) > 0.2 ? 1 : 0;
  }
  const auto m = ppo.update(r, 0.0);
  EXPECT_NEAR(m.policy_loss, policy, 1e-5);
  EXPECT_NEAR(m.value_loss, value, 1e-5);
  EXPECT_NEAR(m.clip_fraction, clipped_count / 6, 1e-6);
  // The unclipped objective would differ: the check above is not vacuous.
  double unclipped = 0;
  for (std::size_t i = 0; i < 6; ++i) unclipped += -adv[i] * ratio[i] / 6;
  EXPECT_GT(std::abs(unclipped - policy), 0.1);
}

}  // namespace
}  // namespace clearsight::rl
