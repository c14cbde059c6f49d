// Learning smoke (ctest label `smoke`, in the default test run): tiny settings, each well under a
// minute on two cores, with bars that an untrained, random or standing-still policy cannot pass.
// The long learning tests (label `learning`) stay out of the default run.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/paths.h"
#include "clearsight/envs/mujoco_env.h"
#include "clearsight/il/bc.h"
#include "clearsight/il/collect.h"
#include "clearsight/mm/trainer.h"
#include "clearsight/rl/policy.h"
#include "clearsight/rl/trainer.h"
#include "test_util.h"

namespace clearsight {
namespace {

// Mean forward displacement (m) of the episodes of an evaluation: the x of qpos[0] (the root's
// slide joint on Hopper, Walker2d, HalfCheetah and Swimmer) from the first step to the last.
struct Progress {
  std::vector<double> start, end;
  void operator()(const envs::Env& env) {
    const auto& sim = dynamic_cast<const envs::MujocoEnv&>(env);
    const double x = sim.data()->qpos[0];
    if (env.elapsed_steps() == 1) start.push_back(x);
    if (end.size() < start.size()) end.push_back(x);
    end.back() = x;
  }
  double mean() const {
    double sum = 0;
    for (std::size_t i = 0; i < start.size(); ++i) sum += end[i] - start[i];
    return start.empty() ? 0.0 : sum / static_cast<double>(start.size());
  }
};

// The committed experts still reach the returns assets/experts/README.md claims: episode 0 of
// `clearsight --seed 0 rl eval --policy assets/experts/NAME`, against the README's 10-episode
// mean minus five standard deviations (and at least 95% of the mean).
TEST(SmokeExperts, EachExpertReachesTheReturnItsReadmeClaims) {
  struct Claim {
    const char* name;
    const char* env;
    double mean;
    double sd;
  };
  const Claim kClaims[] = {{"swimmer", "Swimmer-v4", 356.5, 1.5},
                           {"hopper", "Hopper-v4", 3107.5, 10.1},
                           {"halfcheetah", "HalfCheetah-v4", 8613.1, 108.9},
                           {"walker2d", "Walker2d-v4", 5816.6, 27.0},
                           {"ant", "Ant-v4", 5616.8, 216.9},
                           {"cheetah-run", "cheetah-run", 640.4, 14.5},
                           {"walker-walk", "walker-walk", 924.3, 21.3}};
  for (const auto& c : kClaims) {
    SCOPED_TRACE(c.name);
    auto policy = rl::load_policy(assets_dir() / "experts" / c.name);
    const auto stats = rl::evaluate_policy(*policy, c.env, 1, 0);
    const double bar = std::min(c.mean - 5 * c.sd, 0.95 * c.mean);
    std::printf("expert %-12s return %.1f (README %.1f +- %.1f, bar %.1f)\n", c.name,
                stats.returns[0], c.mean, c.sd, bar);
    EXPECT_GT(stats.returns[0], bar);
  }
}

// Behavioural cloning of the Hopper expert from four clean episodes: the clone hops forward,
// which neither a random policy (it falls within ~20 steps) nor one standing still (~1000 return
// from the survival bonus alone, no displacement) can do.
TEST(SmokeLearning, BehaviouralCloningOfTheHopperExpertMovesForward) {
  testing::TempDir dir;
  auto expert = rl::load_policy(assets_dir() / "experts" / "hopper");
  il::CollectOptions collect;
  collect.episodes = 4;
  collect.seed = 0;
  collect.progress = false;
  const auto demos = il::collect_demos(*expert, "Hopper-v4", collect);
  il::BcConfig config;
  config.steps = 3000;
  config.eval_episodes = 0;
  config.log_every = 1000;
  config.seed = 0;
  const auto result = il::train_bc(demos, config, dir / "bc");
  auto clone = rl::load_policy(result.policy_dir);
  Progress clone_progress, random_progress;
  const auto cloned =
      rl::evaluate_policy(*clone, "Hopper-v4", 3, 7, true, std::ref(clone_progress));
  auto random = rl::make_random_policy("Hopper-v4");
  const auto baseline =
      rl::evaluate_policy(*random, "Hopper-v4", 3, 7, false, std::ref(random_progress));
  std::printf("BC return %.1f, forward %.2f m; random return %.1f, forward %.2f m\n", cloned.mean(),
              clone_progress.mean(), baseline.mean(), random_progress.mean());
  // Measured on dev-2core: return 3116, 16.9 m forward; random 21, -0.09 m.
  EXPECT_GT(clone_progress.mean(), std::max(8.0, random_progress.mean() + 2.0));
  EXPECT_GT(cloned.mean(), 1500.0);
}

// PPO on Swimmer for 100k steps (~30 s): the final policy, evaluated on 10 fresh episodes, swims
// forward far beyond the random policy's band.
TEST(SmokeLearning, PpoSwimsForwardWithin100kSteps) {
  testing::TempDir dir;
  rl::RlTrainConfig c;
  c.env = "Swimmer-v4";
  c.algo = "ppo";
  c.steps = 100000;
  c.seed = 0;
  c.eval_every = 100000;
  c.eval_episodes = 1;
  c.checkpoint_every = 100000;
  c.ppo.gamma = 0.9999;
  const auto result = rl::train_rl(c, dir / "run");
  auto policy = rl::load_policy(dir / "run" / "policy");
  Progress progress;
  const auto trained = rl::evaluate_policy(*policy, "Swimmer-v4", 10, 99, true, std::ref(progress));
  auto random = rl::make_random_policy("Swimmer-v4");
  const auto baseline = rl::evaluate_policy(*random, "Swimmer-v4", 10, 99, false);
  std::printf("PPO Swimmer final return %.1f +- %.1f (forward %.2f m); random %.1f +- %.1f\n",
              trained.mean(), trained.stddev(), progress.mean(), baseline.mean(),
              baseline.stddev());
  (void)result;
  // Measured on dev-2core: 58.7 +- 1.7, 2.35 m; random 1.1 +- 10.6 (10 episodes: the random
  // mean's standard error is ~3.4, so 30 is ~8 of them above it).
  EXPECT_GT(trained.mean(), 30.0);
  EXPECT_GT(progress.mean(), 1.0);
}

// A short training of the built-in VL model from scratch lowers its answer loss: the mean over
// the last ten steps against the first ten.
TEST(SmokeLearning, MultimodalTrainingLowersTheAnswerLoss) {
  testing::TempDir dir;
  mm::TrainConfig c;
  c.preset = "cs-tiny-vl";
  c.tasks = {"scene_vqa"};
  c.steps = 60;
  c.batch_size = 8;
  c.warmup_steps = 5;
  c.text_steps = 0;
  c.eval_every = 1000;
  c.eval_samples = 2;
  c.checkpoint_every = 1000;
  mm::train(c, dir / "run");
  std::vector<double> losses;
  std::istringstream lines(read_file(dir / "run" / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) losses.push_back(j["loss"].get<double>());
  }
  ASSERT_GE(losses.size(), 6u);
  std::printf("answer loss: first ten steps %.3f, last ten %.3f\n", losses.front(), losses.back());
  EXPECT_LT(losses.back(), 0.7 * losses.front());
}

}  // namespace
}  // namespace clearsight
