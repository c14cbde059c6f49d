#include "clearsight/rl/sac.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"
#include "test_util.h"

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

TransitionBatch random_batch(std::int64_t rows, std::int64_t obs, std::int64_t act) {
  TransitionBatch b;
  b.observations = torch::randn({rows, obs});
  b.actions = torch::rand({rows, act}) * 2 - 1;
  b.rewards = torch::randn({rows, 1});
  b.next_observations = torch::randn({rows, obs});
  b.terminals = (torch::rand({rows, 1}) < 0.2).to(torch::kFloat32);
  return b;
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what,
                  double rtol, double atol) {
  const double err = (got - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  EXPECT_LE(err, atol + rtol * scale) << what << ": max error " << err << " at scale " << scale;
}

void expect_same_parameters(Sac& a, Sac& b, bool exact, const std::string& when) {
  auto pa = a.actor()->parameters(), pb = b.actor()->parameters();
  auto ca = a.critic()->parameters(), cb = b.critic()->parameters();
  pa.insert(pa.end(), ca.begin(), ca.end());
  pb.insert(pb.end(), cb.begin(), cb.end());
  ASSERT_EQ(pa.size(), pb.size());
  for (std::size_t i = 0; i < pa.size(); ++i) {
    if (exact) {
      EXPECT_TRUE(torch::equal(pa[i], pb[i])) << when << ": parameter " << i;
    } else {
      expect_close(pa[i], pb[i], when + ": parameter " + std::to_string(i), 2e-3, 2e-5);
    }
  }
}

// The fast path is the LibTorch update written out by hand: from the same seed (same initial
// weights, same noise) both give the same losses and parameters, update after update, with the
// critics' extra observation columns, terminal rows and delayed actor steps exercised.
TEST(RlSac, FastPathFollowsTheLibTorchUpdate) {
  SacConfig c;
  c.hidden = {32, 24};
  c.batch_size = 16;
  c.policy_frequency = 2;
  SacConfig t = c;
  t.backend = "torch";
  Sac fast(c, 5, 2, /*critic_extra=*/1, 123);
  Sac reference(t, 5, 2, /*critic_extra=*/1, 123);
  expect_same_parameters(fast, reference, true, "initially");
  torch::manual_seed(5);
  for (int i = 0; i < 8; ++i) {
    const auto b = random_batch(16, 6, 2);
    const auto mf = fast.update(b);
    const auto mr = reference.update(b);
    const std::string when = "update " + std::to_string(i);
    expect_close(mf.critic_loss, mr.critic_loss, when + " critic loss", 1e-4, 1e-5);
    expect_close(mf.q_mean, mr.q_mean, when + " q mean", 1e-4, 1e-5);
    expect_close(mf.actor_loss, mr.actor_loss, when + " actor loss", 1e-4, 1e-5);
    expect_close(mf.entropy, mr.entropy, when + " entropy", 1e-4, 1e-5);
    expect_close(mf.alpha_loss, mr.alpha_loss, when + " alpha loss", 1e-4, 1e-6);
    expect_close(mf.alpha, mr.alpha, when + " alpha", 1e-5, 1e-7);
    expect_same_parameters(fast, reference, false, when);
  }
  EXPECT_NE(fast.alpha(), 1.0);  // The temperature moved: its gradient was exercised.
  const auto obs = torch::randn({4, 6});
  expect_close(fast.act(obs, true), reference.act(obs, true), "deterministic action", 1e-4, 1e-5);
  expect_close(fast.act(obs, false), reference.act(obs, false), "sampled action", 1e-3, 1e-4);
}

// A fast-path learner saved and loaded into another continues exactly: weights, Adam moments and
// the generator all travel with the checkpoint.
TEST(RlSac, FastPathCheckpointResumesExactly) {
  testing::TempDir dir;
  SacConfig c;
  c.hidden = {16, 16};
  c.batch_size = 8;
  torch::manual_seed(6);
  std::vector<TransitionBatch> batches;
  for (int i = 0; i < 6; ++i) batches.push_back(random_batch(8, 4, 2));
  Sac straight(c, 4, 2, 0, 11);
  Sac first(c, 4, 2, 0, 11);
  for (int i = 0; i < 3; ++i) {
    straight.update(batches[i]);
    first.update(batches[i]);
  }
  std::filesystem::create_directories(dir / "ckpt");
  first.save(dir / "ckpt");
  Sac resumed(c, 4, 2, 0, 999);
  resumed.load(dir / "ckpt");
  for (int i = 3; i < 6; ++i) {
    straight.update(batches[i]);
    resumed.update(batches[i]);
  }
  expect_same_parameters(straight, resumed, true, "after resume");
  EXPECT_TRUE(torch::equal(straight.act(batches[0].observations, false),
                           resumed.act(batches[0].observations, false)));
  // A learner of the other backend cannot load the fast path's optimiser state.
  SacConfig t = c;
  t.backend = "torch";
  Sac other(t, 4, 2, 0, 1);
  EXPECT_THROW(other.load(dir / "ckpt"), Error);
  t.backend = "cuda";
  EXPECT_THROW(Sac(t, 4, 2), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::rl
