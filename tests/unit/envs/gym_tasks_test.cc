#include "clearsight/envs/gym_tasks.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "clearsight/core/error.h"
#include "clearsight/envs/dmc_tasks.h"
#include "clearsight/envs/mujoco_env.h"
#include "clearsight/envs/pixel_env.h"

namespace clearsight::envs {
namespace {

struct TaskFacts {
  const char* name;
  std::int64_t obs;
  std::int64_t act;
  double dt;
  int max_steps;
  // Band for the mean return of a uniform random policy over 20 episodes (D4RL random scores
  // and this project's own measurements; see docs/RESULTS.md).
  double random_low;
  double random_high;
};

const TaskFacts kTasks[] = {
    {"Hopper-v4", 11, 3, 0.008, 1000, -20, 100},  {"HalfCheetah-v4", 17, 6, 0.05, 1000, -400, -150},
    {"Walker2d-v4", 17, 6, 0.008, 1000, -20, 60}, {"Ant-v4", 27, 8, 0.05, 1000, -400, 100},
    {"Swimmer-v4", 8, 2, 0.04, 1000, -30, 30},    {"walker-walk", 24, 6, 0.05, 500, 15, 90},
    {"cheetah-run", 17, 6, 0.02, 500, 0, 40},
};

std::vector<double> random_action(const EnvSpec& spec, std::mt19937_64& rng) {
  std::vector<double> a(static_cast<std::size_t>(spec.action_space.size()));
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = std::uniform_real_distribution<double>(spec.action_space.low[i],
                                                  spec.action_space.high[i])(rng);
  }
  return a;
}

TEST(EnvsTasks, SpacesTimingAndLimits) {
  EXPECT_EQ(env_names().size(), std::size(kTasks));
  for (const auto& t : kTasks) {
    SCOPED_TRACE(t.name);
    const auto env = make_env(t.name);
    const auto& s = env->spec();
    EXPECT_EQ(s.name, t.name);
    EXPECT_EQ(s.observation_space.size(), t.obs);
    EXPECT_EQ(s.action_space.size(), t.act);
    EXPECT_NEAR(s.dt, t.dt, 1e-12);
    EXPECT_EQ(s.max_episode_steps, t.max_steps);
    for (std::int64_t i = 0; i < t.act; ++i) {
      EXPECT_EQ(s.action_space.low[i], -1.0);
      EXPECT_EQ(s.action_space.high[i], 1.0);
    }
    EXPECT_EQ(env->reset(0).size(), static_cast<std::size_t>(t.obs));
  }
}

TEST(EnvsTasks, RewardIsTheSumOfItsTermsAndObservationsAreFinite) {
  std::mt19937_64 rng(3);
  for (const auto& t : kTasks) {
    SCOPED_TRACE(t.name);
    auto env = make_env(t.name);
    std::vector<double> obs = env->reset(1);
    for (int k = 0; k < 60; ++k) {
      const auto r = env->step(random_action(env->spec(), rng), obs);
      double sum = 0;
      for (const auto& term : env->spec().reward_terms) sum += r.info.get(term);
      EXPECT_NEAR(r.reward, sum, 1e-9);
      for (double v : obs) ASSERT_TRUE(std::isfinite(v));
      if (r.terminated || r.truncated) env->reset(obs);
    }
  }
}

// The reward terms against the simulator and Gymnasium's v4 weights (not against the function
// that wrote them): reward_forward = (x after - x before) / dt read from the state, reward_ctrl =
// -w |a|^2, reward_survive = healthy_reward (1) while healthy.
TEST(EnvsTasks, RewardTermsFollowTheStateAndGymnasiumWeights) {
  struct Weights {
    const char* name;
    double ctrl;
    bool survive;
    bool torso_x;  // Ant measures the torso body's x, the others qpos[0].
  };
  const Weights kWeights[] = {{"Hopper-v4", 1e-3, true, false},
                              {"HalfCheetah-v4", 0.1, false, false},
                              {"Walker2d-v4", 1e-3, true, false},
                              {"Ant-v4", 0.5, true, true},
                              {"Swimmer-v4", 1e-4, false, false}};
  std::mt19937_64 rng(5);
  for (const auto& w : kWeights) {
    SCOPED_TRACE(w.name);
    auto env = make_env(w.name);
    auto* sim = dynamic_cast<MujocoEnv*>(env.get());
    ASSERT_NE(sim, nullptr);
    const auto x = [&] {
      return w.torso_x ? sim->data()->xpos[3 * sim->torso_body()] : sim->data()->qpos[0];
    };
    std::vector<double> obs = env->reset(2);
    double moved = 0;
    for (int k = 0; k < 40; ++k) {
      const auto action = random_action(env->spec(), rng);
      const double before = x();
      const auto r = env->step(action, obs);
      const double after = x();
      moved += std::abs(after - before);
      EXPECT_NEAR(r.info.get("reward_forward"), (after - before) / env->spec().dt, 1e-9);
      double sq = 0;
      for (const double a : action) sq += a * a;
      EXPECT_NEAR(r.info.get("reward_ctrl"), -w.ctrl * sq, 1e-12);
      if (w.survive && !r.terminated) {
        EXPECT_EQ(r.info.get("reward_survive"), 1.0);
      }
      if (r.terminated || r.truncated) env->reset(obs);
    }
    EXPECT_GT(moved, 1e-4);  // The body moved: the check above is not 0 == 0.
  }
}

TEST(EnvsTasks, SameSeedSameTrajectoryOtherSeedDiffers) {
  for (const auto& t : kTasks) {
    SCOPED_TRACE(t.name);
    auto run = [&](std::uint64_t seed) {
      auto env = make_env(t.name);
      std::mt19937_64 rng(7);
      std::vector<double> trace = env->reset(seed);
      std::vector<double> obs;
      for (int k = 0; k < 30; ++k) {
        const auto r = env->step(random_action(env->spec(), rng), obs);
        trace.insert(trace.end(), obs.begin(), obs.end());
        trace.push_back(r.reward);
        if (r.terminated) break;
      }
      return trace;
    };
    EXPECT_EQ(run(5), run(5));
    EXPECT_NE(run(5), run(6));
  }
}

TEST(EnvsTasks, HopperHealthRules) {
  Hopper env;
  env.reset(0);
  const mjModel* m = env.model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  env.set_state(qpos, qvel);
  EXPECT_TRUE(env.healthy());
  auto with = [&](int index, double value, bool velocity = false) {
    auto p = qpos;
    auto v = qvel;
    (velocity ? v : p)[index] = value;
    env.set_state(p, v);
    return env.healthy();
  };
  EXPECT_FALSE(with(1, 0.69));  // z <= 0.7
  EXPECT_TRUE(with(1, 0.71));
  EXPECT_FALSE(with(2, 0.21));  // |angle| >= 0.2
  EXPECT_FALSE(with(2, -0.21));
  EXPECT_TRUE(with(2, 0.19));
  EXPECT_FALSE(with(3, 100.5));  // |state[2:]| >= 100
  EXPECT_FALSE(with(4, -101.0, true));
  // A fallen hopper terminates on the next step and still gets the healthy reward.
  auto fallen = qpos;
  fallen[1] = 0.3;
  env.set_state(fallen, qvel);
  std::vector<double> obs;
  const auto r = env.step(std::vector<double>(3, 0.0), obs);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.info.get("reward_survive"), 1.0);
}

TEST(EnvsTasks, Walker2dAndAntHealthRules) {
  Walker2d walker;
  walker.reset(0);
  const mjModel* m = walker.model();
  std::vector<double> qpos(m->qpos0, m->qpos0 + m->nq), qvel(m->nv, 0.0);
  auto walker_healthy = [&](double z, double angle) {
    auto p = qpos;
    p[1] = z;
    p[2] = angle;
    walker.set_state(p, qvel);
    return walker.healthy();
  };
  EXPECT_TRUE(walker_healthy(1.25, 0.0));
  EXPECT_FALSE(walker_healthy(0.79, 0.0));
  EXPECT_FALSE(walker_healthy(2.01, 0.0));
  EXPECT_FALSE(walker_healthy(1.25, 1.01));
  EXPECT_FALSE(walker_healthy(1.25, -1.01));

  Ant ant;
  ant.reset(0);
  const mjModel* am = ant.model();
  std::vector<double> aq(am->qpos0, am->qpos0 + am->nq), av(am->nv, 0.0);
  auto ant_healthy = [&](double z) {
    auto p = aq;
    p[2] = z;
    ant.set_state(p, av);
    return ant.healthy();
  };
  EXPECT_TRUE(ant_healthy(0.5));
  EXPECT_TRUE(ant_healthy(1.0));
  EXPECT_FALSE(ant_healthy(1.01));
  EXPECT_FALSE(ant_healthy(0.19));
}

TEST(EnvsTasks, TimeLimitTruncatesAtExactlyTheLimit) {
  for (const char* name : {"HalfCheetah-v4", "cheetah-run"}) {
    auto env = make_env(name);
    std::vector<double> obs = env->reset(0);
    const std::vector<double> zero(static_cast<std::size_t>(env->spec().action_space.size()), 0.0);
    for (int k = 1; k <= env->spec().max_episode_steps; ++k) {
      const auto r = env->step(zero, obs);
      ASSERT_FALSE(r.terminated);
      ASSERT_EQ(r.truncated, k == env->spec().max_episode_steps) << name << " step " << k;
    }
  }
}

TEST(EnvsTasks, DmcRewardsStayInUnitRangePerControlStep) {
  std::mt19937_64 rng(1);
  for (const char* name : {"walker-walk", "cheetah-run"}) {
    auto env = make_env(name);
    std::vector<double> obs = env->reset(2);
    for (int k = 0; k < 100; ++k) {
      const auto r = env->step(random_action(env->spec(), rng), obs);
      EXPECT_GE(r.reward, 0.0);
      EXPECT_LE(r.reward, 2.0 + 1e-12);  // Two control steps per agent step.
    }
  }
}

TEST(EnvsTasks, ToleranceMatchesDmControl) {
  EXPECT_DOUBLE_EQ(tolerance(1.5, 1.2, INFINITY, 0.6, 0.1, "gaussian"), 1.0);
  EXPECT_NEAR(tolerance(0.6, 1.2, INFINITY, 0.6, 0.1, "gaussian"), 0.1, 1e-12);
  EXPECT_NEAR(tolerance(0.5, 1.0, INFINITY, 0.5, 0.5, "linear"), 0.5, 1e-12);
  EXPECT_NEAR(tolerance(5.0, 10.0, INFINITY, 10.0, 0.0, "linear"), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(tolerance(-1.0, 10.0, INFINITY, 10.0, 0.0, "linear"), 0.0);
  EXPECT_THROW(tolerance(0, 0, 1, 1, 0.1, "cosine"), UnknownNameError);
}

TEST(EnvsTasks, BadActionsAreTypedErrors) {
  auto env = make_env("Hopper-v4");
  std::vector<double> obs = env->reset(0);
  EXPECT_THROW(env->step(std::vector<double>{0.0, 0.0}, obs), ShapeError);
  EXPECT_THROW(env->step(std::vector<double>{0.0, NAN, 0.0}, obs), NumericError);
  EXPECT_THROW(make_env("Hoper-v4"), UnknownNameError);
  try {
    make_env("hopper");
    FAIL() << "expected an UnknownNameError";
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'Hopper-v4'"), std::string::npos)
        << e.what();
  }
}

TEST(EnvsTasks, RandomPolicyReturnsInPlausibleBands) {
  for (const auto& t : kTasks) {
    SCOPED_TRACE(t.name);
    auto env = make_env(t.name);
    std::mt19937_64 rng(11);
    double total = 0;
    std::vector<double> obs;
    for (int e = 0; e < 20; ++e) {
      obs = env->reset(static_cast<std::uint64_t>(100 + e));
      while (true) {
        const auto r = env->step(random_action(env->spec(), rng), obs);
        total += r.reward;
        if (r.terminated || r.truncated) break;
      }
    }
    const double mean = total / 20;
    EXPECT_GE(mean, t.random_low);
    EXPECT_LE(mean, t.random_high);
  }
}

}  // namespace
}  // namespace clearsight::envs
