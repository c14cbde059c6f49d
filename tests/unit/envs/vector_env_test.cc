#include "clearsight/envs/vector_env.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"

namespace clearsight::envs {
namespace {

TEST(EnvsVector, MatchesIndependentEnvsWithDerivedSeeds) {
  VectorEnv venv("Hopper-v4", 3, 2);
  const auto obs0 = venv.reset(42).clone();
  torch::manual_seed(0);
  const auto actions = torch::rand({40, 3, 3}) * 2 - 1;
  std::vector<torch::Tensor> vec_obs, vec_rew;
  for (int t = 0; t < 40; ++t) {
    const auto& s = venv.step(actions[t]);
    vec_obs.push_back(s.observations.clone());
    vec_rew.push_back(s.rewards.clone());
  }
  for (int i = 0; i < 3; ++i) {
    auto env = make_env("Hopper-v4");
    std::vector<double> obs = env->reset(derive_seed(42, static_cast<std::uint64_t>(i)));
    EXPECT_TRUE(torch::allclose(obs0[i], torch::tensor(obs).to(torch::kFloat32)));
    for (int t = 0; t < 40; ++t) {
      const auto a = actions[t][i].to(torch::kFloat64).contiguous();
      const auto r = env->step(std::span<const double>(a.data_ptr<double>(), 3), obs);
      if (r.terminated || r.truncated) env->reset(obs);
      EXPECT_FLOAT_EQ(vec_rew[t][i].item<float>(), static_cast<float>(r.reward)) << t;
      EXPECT_TRUE(torch::allclose(vec_obs[t][i], torch::tensor(obs).to(torch::kFloat32)));
    }
  }
}

TEST(EnvsVector, AutoResetReportsEpisodeStatsAndFinalObservation) {
  VectorEnv venv("Hopper-v4", 2, 1);
  venv.reset(0);
  // Full-throttle actions make the hopper fall within a few dozen steps.
  const auto actions = torch::ones({2, 3});
  bool saw_done = false;
  for (int t = 0; t < 300 && !saw_done; ++t) {
    const auto& s = venv.step(actions);
    for (int i = 0; i < 2; ++i) {
      if (s.terminated[i].item<bool>()) {
        saw_done = true;
        EXPECT_GT(s.episode_lengths[i].item<std::int64_t>(), 0);
        EXPECT_NE(s.episode_returns[i].item<float>(), 0.0f);
        EXPECT_FALSE(torch::equal(s.final_observations[i], s.observations[i]));
        EXPECT_EQ(venv.env(i).elapsed_steps(), 0);
      }
    }
  }
  EXPECT_TRUE(saw_done);
}

TEST(EnvsVector, ThreadCountDoesNotChangeResults) {
  auto rollout = [](int threads) {
    VectorEnv venv("HalfCheetah-v4", 4, threads);
    venv.reset(9);
    torch::manual_seed(1);
    torch::Tensor sum = torch::zeros({4});
    for (int t = 0; t < 50; ++t) sum += venv.step(torch::rand({4, 6}) * 2 - 1).rewards;
    return sum;
  };
  EXPECT_TRUE(torch::equal(rollout(1), rollout(2)));
}

TEST(EnvsVector, Errors) {
  VectorEnv venv("Swimmer-v4", 2);
  EXPECT_THROW(venv.step(torch::zeros({2, 2})), RuntimeError);  // Before reset.
  venv.reset(0);
  EXPECT_THROW(venv.step(torch::zeros({3, 2})), ShapeError);
  EXPECT_THROW(venv.step(torch::zeros({2, 2}).fill_(NAN)), NumericError);
  EXPECT_THROW(VectorEnv("Swimmer-v4", 0), ConfigError);
}

}  // namespace
}  // namespace clearsight::envs
