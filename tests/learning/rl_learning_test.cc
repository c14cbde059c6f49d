// Learning tests (ctest label `learning`, skipped by the default test run): short trainings that
// must clearly beat a random policy.
#include <gtest/gtest.h>

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
  const auto result = train_rl(c, dir / "run");
  auto random = make_random_policy("Swimmer-v4");
  const auto baseline = evaluate_policy(*random, "Swimmer-v4", 3, 1, false);
  EXPECT_GT(result.best_eval_return, baseline.mean() + 20.0)
      << "best " << result.best_eval_return << " vs random " << baseline.mean();
}

}  // namespace
}  // namespace clearsight::rl
