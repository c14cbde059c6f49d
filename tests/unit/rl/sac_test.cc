#include "clearsight/rl/sac.h"

#include <gtest/gtest.h>

#include "clearsight/core/rng.h"

namespace clearsight::rl {
namespace {

// A batch of self-loops (s' = s) with a constant reward: the soft Q fixed point is a constant,
// Q = (r + gamma (1 - d) alpha H) / (1 - gamma (1 - d)), with H the policy's entropy.
TransitionBatch self_loops(double reward, double terminal) {
  torch::manual_seed(4);
  TransitionBatch b;
  b.observations = torch::randn({64, 3});
  b.actions = torch::rand({64, 1}) * 2 - 1;
  b.rewards = torch::full({64, 1}, static_cast<float>(reward));
  b.next_observations = b.observations.clone();
  b.terminals = torch::full({64, 1}, static_cast<float>(terminal));
  return b;
}

SacConfig frozen_actor(double gamma, double alpha) {
  SacConfig c;
  c.hidden = {32, 32};
  c.batch_size = 64;
  c.gamma = gamma;
  c.tau = 1.0;  // The target critic follows at once: the fixed point is reached fast.
  c.critic_lr = 3e-3;
  c.actor_lr = 1e-12;  // Frozen: the entropy stays what it is.
  c.autotune = false;
  c.init_alpha = alpha;
  c.policy_frequency = 1;
  return c;
}

// Q after training on the batch, and the mean entropy estimate of the last updates.
std::pair<double, double> fixed_point(const SacConfig& c, const TransitionBatch& b) {
  torch::manual_seed(9);
  Sac sac(c, 3, 1);
  double q = 0, h = 0;
  const int updates = 3000, tail = 500;
  for (int i = 0; i < updates; ++i) {
    const auto m = sac.update(b);
    if (i >= updates - tail) {
      q += m.q_mean.item<double>() / tail;
      h += m.entropy.item<double>() / tail;
    }
  }
  return {q, h};
}

// The SAC target r + gamma (1 - d) (min Q' - alpha log pi): each factor checked by the value the
// critic settles at.
TEST(RlSac, CriticSettlesAtTheSoftBellmanFixedPoint) {
  // Terminal transitions do not bootstrap: Q = r (not r / (1 - gamma) = 100).
  EXPECT_NEAR(fixed_point(frozen_actor(0.99, 1e-8), self_loops(1.0, 1.0)).first, 1.0, 0.05);
  // Non-terminal ones do, with the discount: Q = 1 / (1 - 0.5) = 2.
  EXPECT_NEAR(fixed_point(frozen_actor(0.5, 1e-8), self_loops(1.0, 0.0)).first, 2.0, 0.08);
  // The entropy bonus enters with a plus sign: Q = (1 + 0.5 * 0.5 * H) / 0.5 = 2 + 0.5 H.
  const auto [q, h] = fixed_point(frozen_actor(0.5, 0.5), self_loops(1.0, 0.0));
  EXPECT_GT(std::abs(h), 0.2);  // The check below would not see the term otherwise.
  EXPECT_NEAR(q, 2.0 + 0.5 * h, 0.08) << "entropy " << h;
}

}  // namespace
}  // namespace clearsight::rl
