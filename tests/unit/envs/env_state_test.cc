#include <gtest/gtest.h>
#include <torch/torch.h>

#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"
#include "clearsight/envs/env.h"
#include "clearsight/envs/vector_env.h"

namespace clearsight::envs {
namespace {

// Steps env with seeded random actions and returns observations and rewards.
std::vector<double> run(Env& env, RngEngine& rng, int steps, std::vector<double>& obs) {
  std::vector<double> trace;
  std::vector<double> action(static_cast<std::size_t>(env.spec().action_space.size()));
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (int t = 0; t < steps; ++t) {
    for (auto& a : action) a = u(rng);
    const auto r = env.step(action, obs);
    trace.push_back(r.reward);
    trace.insert(trace.end(), obs.begin(), obs.end());
    if (r.terminated || r.truncated) env.reset(obs);  // Continues the env's own generator.
  }
  return trace;
}

TEST(EnvsState, SaveLoadContinuesBitIdenticallyForEveryEnvironment) {
  for (const auto& name : env_names()) {
    SCOPED_TRACE(name);
    auto env = make_env(name);
    std::vector<double> obs = env->reset(7);
    RngEngine rng(3);
    run(*env, rng, 60, obs);
    const std::string state = env->save_state();
    const RngEngine rng_at_save = rng;
    const auto expected = run(*env, rng, 80, obs);

    auto fresh = make_env(name);
    std::vector<double> obs2 = fresh->reset(999);  // A different state, overwritten by load.
    fresh->load_state(state);
    RngEngine rng2 = rng_at_save;
    const auto actual = run(*fresh, rng2, 80, obs2);
    ASSERT_EQ(expected.size(), actual.size());
    for (std::size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(expected[i], actual[i]) << i;
  }
}

TEST(EnvsState, ForeignOrCorruptStateIsAFormatError) {
  auto hopper = make_env("Hopper-v4");
  hopper->reset(0);
  auto cheetah = make_env("HalfCheetah-v4");
  EXPECT_THROW(cheetah->load_state(hopper->save_state()), FormatError);
  std::string state = hopper->save_state();
  EXPECT_THROW(hopper->load_state(state.substr(0, 40)), FormatError);
  EXPECT_THROW(hopper->load_state("garbage"), FormatError);
}

TEST(EnvsState, VectorEnvStateRoundTrip) {
  VectorEnv a("Walker2d-v4", 3);
  a.reset(5);
  torch::manual_seed(1);
  const auto actions = torch::rand({50, 3, 6}) * 2 - 1;
  for (int t = 0; t < 20; ++t) a.step(actions[t]);
  const auto state = a.save_state();
  VectorEnv b("Walker2d-v4", 3);
  b.reset(77);
  b.load_state(state);
  EXPECT_TRUE(torch::equal(a.observations(), b.observations()));
  for (int t = 20; t < 50; ++t) {
    const auto& sa = a.step(actions[t]);
    const auto obs_a = sa.observations.clone();
    const auto ret_a = sa.episode_returns.clone();
    const auto& sb = b.step(actions[t]);
    ASSERT_TRUE(torch::equal(obs_a, sb.observations)) << t;
    ASSERT_TRUE(torch::equal(ret_a, sb.episode_returns)) << t;
  }
  VectorEnv c("Walker2d-v4", 2);
  c.reset(0);
  EXPECT_THROW(c.load_state(state), ShapeError);
  VectorEnv d("Hopper-v4", 3);
  d.reset(0);
  EXPECT_THROW(d.load_state(state), FormatError);
}

}  // namespace
}  // namespace clearsight::envs
