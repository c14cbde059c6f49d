// Learning tests of the pixel world-model agent and SENSOR (ctest label `learning`, skipped by
// the default test run): reduced-scale trainings from pixels with bars a random or standing-still
// policy cannot pass.
#include <gtest/gtest.h>

#include "clearsight/core/run_dir.h"
#include "clearsight/rl/policy.h"
#include "clearsight/rl/trainer.h"
#include "clearsight/wm/trainer.h"
#include "test_util.h"

namespace clearsight::wm {
namespace {

// walker-walk from 32x32 pixels with the true reward, preset `small`, 15k environment steps
// (30k frames; ~20 min on one core). Calibrated on 3 seeds of experiments/wm-walker: eval
// returns 103, 255, 198 at 15k steps against ~39 for a random policy.
TEST(LearningWm, ModelLossesFallAndTheAgentBeatsRandomOnWalkerWalk) {
  testing::TempDir dir;
  auto c = wm_preset("small");
  c.env = "walker-walk";
  c.steps = 15000;
  c.seed = 0;
  c.eval_every = 15000;
  c.eval_episodes = 5;
  c.checkpoint_every = 15000;
  c.videos = false;
  const auto result = train_wm(c, dir / "run");
  ASSERT_TRUE(result.finished);
  std::vector<nlohmann::json> rows;
  for (const auto& m : RunDir::open(dir / "run").read_metrics()) {
    if (m.contains("image_loss")) rows.push_back(m);
  }
  ASSERT_GE(rows.size(), 10u);
  const auto& first = rows.front();
  const auto& last = rows.back();
  EXPECT_LT(last["image_loss"].get<double>(), first["image_loss"].get<double>() / 5)
      << first.dump() << "\n"
      << last.dump();
  EXPECT_LT(last["reward_loss"].get<double>(), first["reward_loss"].get<double>() / 2)
      << first.dump() << "\n"
      << last.dump();
  auto random = rl::make_random_policy("walker-walk");
  const auto baseline = rl::evaluate_policy(*random, "walker-walk", 5, 1, false);
  EXPECT_LT(baseline.mean(), 60.0);
  EXPECT_GT(result.last_eval_return, baseline.mean() + 40.0)
      << "eval " << result.last_eval_return << " vs random " << baseline.mean();
}

}  // namespace
}  // namespace clearsight::wm
