// Learning tests (ctest label `learning`, skipped by the default test run): short trainings that
// must clearly beat a random policy.
#include <gtest/gtest.h>

#include <cstdio>

#include "clearsight/rl/trainer.h"
#include "test_util.h"

namespace clearsight::rl {
namespace {

TEST(LearningRl, SacBeatsRandomOnHalfCheetahWithin20kSteps) {
  testing::TempDir dir;
  RlTrainConfig c;
  c.env = "HalfCheetah-v4";
  c.algo = "sac";
  c.steps = 20000;
  c.seed = 0;
  c.eval_every = 5000;
  c.eval_episodes = 3;
  c.checkpoint_every = 20000;
  c.sac.hidden = {128, 128};
  c.sac.batch_size = 128;
  c.sac.learning_starts = 2000;
  const auto result = train_rl(c, dir / "run");
  auto random = make_random_policy("HalfCheetah-v4");
  const auto baseline = evaluate_policy(*random, "HalfCheetah-v4", 3, 1, false);
  // A uniformly random policy scores about -280 per 1000 steps (D4RL's random reference).
  EXPECT_LT(baseline.mean(), 0.0);
  EXPECT_GT(result.best_eval_return, baseline.mean() + 800.0)
      << "best " << result.best_eval_return << " vs random " << baseline.mean();
}

TEST(LearningRl, PpoBeatsRandomOnSwimmerWithin100kSteps) {
  testing::TempDir dir;
  RlTrainConfig c;
  c.env = "Swimmer-v4";
  c.algo = "ppo";
  c.steps = 100000;
  c.seed = 0;
  c.eval_every = 20480;
  c.eval_episodes = 3;
  c.checkpoint_every = 100000;
  c.ppo.gamma = 0.9999;
  train_rl(c, dir / "run");
  // The final policy on 10 fresh episodes against an absolute bar: a best-of-5 evaluation of 3
  // episodes against a 3-episode random baseline (std ~10) was within noise.
  auto policy = load_policy(dir / "run" / "policy");
  const auto final_eval = evaluate_policy(*policy, "Swimmer-v4", 10, 99);
  auto random = make_random_policy("Swimmer-v4");
  const auto baseline = evaluate_policy(*random, "Swimmer-v4", 10, 99, false);
  std::printf("PPO Swimmer final %.1f +- %.1f, random %.1f +- %.1f\n", final_eval.mean(),
              final_eval.stddev(), baseline.mean(), baseline.stddev());
  EXPECT_GT(final_eval.mean(), 30.0) << "random " << baseline.mean();
}

}  // namespace
}  // namespace clearsight::rl
