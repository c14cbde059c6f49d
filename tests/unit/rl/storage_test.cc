#include "clearsight/rl/storage.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::rl {
namespace {

TEST(RlStorage, ReplayWrapsAndSamplesStoredRows) {
  ReplayBuffer buffer(5, 2, 1, 64);
  for (int i = 0; i < 7; ++i) {
    const float v = static_cast<float>(i);
    buffer.add(torch::full({1, 2}, v), torch::full({1, 1}, v), torch::full({1}, v),
               torch::full({1, 2}, v + 0.5f), torch::full({1}, static_cast<float>(i % 2)));
  }
  EXPECT_EQ(buffer.size(), 5);
  EXPECT_EQ(buffer.added(), 7);
  // Rows 0 and 1 were overwritten by transitions 5 and 6.
  const auto rewards = buffer.field("rewards");
  EXPECT_EQ(rewards[0].item<float>(), 5.0f);
  EXPECT_EQ(rewards[1].item<float>(), 6.0f);
  torch::manual_seed(0);
  const auto& batch = buffer.sample();
  ASSERT_EQ(batch.observations.sizes(), (std::vector<std::int64_t>{64, 2}));
  const auto r = batch.rewards.squeeze(1);
  EXPECT_TRUE(((r >= 2) & (r <= 6)).all().item<bool>());
  EXPECT_TRUE(torch::equal(batch.observations.select(1, 0), r));
  EXPECT_TRUE(torch::equal(batch.next_observations.select(1, 1), r + 0.5f));
  EXPECT_TRUE(torch::equal(batch.terminals.squeeze(1), torch::fmod(r, 2)));
  EXPECT_THROW(buffer.add(torch::zeros({1, 3}), torch::zeros({1, 1}), torch::zeros({1}),
                          torch::zeros({1, 2}), torch::zeros({1})),
               ShapeError);
  EXPECT_THROW(buffer.field("nope"), UnknownNameError);
}

TEST(RlStorage, ReplaySaveLoadRoundTrip) {
  testing::TempDir dir;
  ReplayBuffer a(8, 3, 2, 4);
  torch::manual_seed(1);
  a.add(torch::randn({6, 3}), torch::randn({6, 2}), torch::randn({6}), torch::randn({6, 3}),
        torch::zeros({6}));
  a.save(dir / "replay.safetensors");
  ReplayBuffer b(8, 3, 2, 4);
  b.load(dir / "replay.safetensors");
  EXPECT_EQ(b.size(), 6);
  for (const char* f : {"observations", "actions", "rewards", "next_observations", "terminals"}) {
    EXPECT_TRUE(torch::equal(a.field(f), b.field(f))) << f;
  }
  ReplayBuffer smaller(5, 3, 2, 4);
  EXPECT_THROW(smaller.load(dir / "replay.safetensors"), ShapeError);
  testing::write_bytes(dir / "bad.safetensors", "not a file");
  EXPECT_THROW(b.load(dir / "bad.safetensors"), FormatError);
}

// A run extended with more steps gets a larger buffer: the wrapped ring is unrolled oldest first
// and the next transition goes after the newest.
TEST(RlStorage, ReplayLoadsIntoALargerBuffer) {
  testing::TempDir dir;
  ReplayBuffer a(4, 1, 1, 2);
  const auto r = torch::arange(6, torch::kFloat32);
  a.add(r.view({6, 1}), r.view({6, 1}), r, r.view({6, 1}), torch::zeros({6}));
  a.save(dir / "replay.safetensors");
  ReplayBuffer b(8, 1, 1, 2);
  b.load(dir / "replay.safetensors");
  EXPECT_EQ(b.size(), 4);
  EXPECT_TRUE(
      torch::equal(b.field("observations").squeeze(1), torch::tensor({2.0f, 3.0f, 4.0f, 5.0f})));
  const auto one = torch::full({1, 1}, 6.0f);
  b.add(one, one, torch::full({1}, 6.0f), one, torch::zeros({1}));
  EXPECT_EQ(b.size(), 5);
  EXPECT_EQ(b.field("observations")[4].item<float>(), 6.0f);
}

TEST(RlStorage, GaeMatchesHandComputation) {
  RolloutBuffer r(3, 1, 1, 1);
  const double g = 0.9, l = 0.8;
  // Rewards 1, 2, 3; values 0.5, 0.4, 0.3; the episode ends after step 1; V(s_3) = 0.2.
  const float rewards[] = {1, 2, 3}, values[] = {0.5f, 0.4f, 0.3f}, dones[] = {0, 1, 0};
  for (int t = 0; t < 3; ++t) {
    r.insert(t, torch::zeros({1, 1}), torch::zeros({1, 1}), torch::zeros({1}),
             torch::full({1}, values[t]), torch::full({1}, rewards[t]), torch::full({1}, dones[t]));
  }
  r.compute_returns(torch::full({1}, 0.2f), g, l);
  const double d2 = 3 + g * 0.2 - 0.3;
  const double d1 = 2 - 0.4;  // Terminal: no bootstrap.
  const double d0 = 1 + g * 0.4 - 0.5;
  const double a2 = d2, a1 = d1, a0 = d0 + g * l * a1;
  EXPECT_NEAR(r.advantages[2][0].item<double>(), a2, 1e-6);
  EXPECT_NEAR(r.advantages[1][0].item<double>(), a1, 1e-6);
  EXPECT_NEAR(r.advantages[0][0].item<double>(), a0, 1e-6);
  EXPECT_NEAR(r.returns[0][0].item<double>(), a0 + 0.5, 1e-6);
}

// A time limit at step 1 (not a terminal state): its reward gains gamma V(final observation),
// and GAE, stopping at the done, sees exactly that future: A_1 = r_1 + gamma V_final - V_1.
TEST(RlStorage, TimeLimitBootstrapReachesTheAdvantage) {
  const double g = 0.9, l = 0.8;
  auto rewards = torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64).view({3, 1}).contiguous();
  const auto dones = torch::tensor({0.0f, 1.0f, 0.0f}).view({3, 1});
  const auto bootstrap = torch::tensor({0.0, 5.0, 0.0}, torch::kFloat64).view({3, 1});
  std::vector<double> discounted(1, 0.0);
  settle_ppo_rewards(rewards, dones, bootstrap, g, nullptr, discounted);
  EXPECT_DOUBLE_EQ(rewards[0][0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(rewards[1][0].item<double>(), 2.0 + g * 5.0);
  EXPECT_DOUBLE_EQ(rewards[2][0].item<double>(), 3.0);
  RolloutBuffer r(3, 1, 1, 1);
  const float values[] = {0.5f, 0.4f, 0.3f};
  for (int t = 0; t < 3; ++t) {
    r.insert(t, torch::zeros({1, 1}), torch::zeros({1, 1}), torch::zeros({1}),
             torch::full({1}, values[t]), rewards[t].to(torch::kFloat32), dones[t]);
  }
  r.compute_returns(torch::full({1}, 0.2f), g, l);
  const double a1 = 2.0 + g * 5.0 - 0.4;
  EXPECT_NEAR(r.advantages[1][0].item<double>(), a1, 1e-5);
  EXPECT_NEAR(r.advantages[0][0].item<double>(), (1 + g * 0.4 - 0.5) + g * l * a1, 1e-5);
  // With reward scaling the bootstrap is added after the scaling, unscaled, and the discounted
  // return restarts after the done.
  auto scaled = torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64).view({3, 1}).contiguous();
  auto plain = scaled.clone();
  envs::RunningMeanStd stats_a(1), stats_b(1);
  std::vector<double> disc_a(1, 0.0), disc_b(1, 0.0);
  settle_ppo_rewards(scaled, dones, bootstrap, g, &stats_a, disc_a);
  settle_ppo_rewards(plain, dones, torch::zeros({3, 1}, torch::kFloat64), g, &stats_b, disc_b);
  EXPECT_NEAR(scaled[1][0].item<double>() - plain[1][0].item<double>(), g * 5.0, 1e-12);
  EXPECT_DOUBLE_EQ(scaled[0][0].item<double>(), plain[0][0].item<double>());
  EXPECT_NE(plain[0][0].item<double>(), 1.0);  // The scaling acted.
  EXPECT_DOUBLE_EQ(disc_a[0], 3.0);            // Restarted after step 1: only r_2 is in it.
}

}  // namespace
}  // namespace clearsight::rl
