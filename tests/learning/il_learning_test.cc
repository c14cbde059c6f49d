// Imitation learning test (ctest label `learning`): GAIL on clean Hopper demonstrations from the
// committed expert must rise well above a random policy within a nightly budget (~5 minutes).
#include <gtest/gtest.h>

#include <cstdio>

#include "clearsight/core/paths.h"
#include "clearsight/envs/mujoco_env.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/imitate.h"
#include "clearsight/rl/policy.h"
#include "clearsight/rl/trainer.h"
#include "test_util.h"

namespace clearsight::il {
namespace {

TEST(LearningIl, GailOnCleanHopperDemosRisesWellAboveRandom) {
  testing::TempDir dir;
  auto expert = rl::load_policy(assets_dir() / "experts" / "hopper");
  CollectOptions o;
  o.episodes = 5;
  o.seed = 0;
  o.progress = false;
  save_demos(dir / "hopper.h5", collect_demos(*expert, "Hopper-v4", o));
  ImitateConfig c;
  c.algo = "gail";
  c.env = "Hopper-v4";
  c.demos = (dir / "hopper.h5").string();
  c.steps = 40000;
  c.eval_every = 10000;
  c.eval_episodes = 3;
  c.checkpoint_every = 40000;
  c.sac.hidden = {128, 128};
  c.sac.batch_size = 128;
  c.sac.learning_starts = 2000;
  c.disc.hidden = {64, 64};
  c.disc.batch_size = 128;
  const auto result = imitate(c, dir / "run");
  auto random = rl::make_random_policy("Hopper-v4");
  const auto baseline = rl::evaluate_policy(*random, "Hopper-v4", 5, 1, false);
  std::printf("GAIL best eval return %.1f, random %.1f\n", result.best_eval_return,
              baseline.mean());
  // Measured on dev-2core (seed 0, 2026-11-30): best 1012 against a random policy's 14, without
  // absorbing states (the default since then; with them this run learned to fall at once, best
  // 3.2). The bar is "well above random", not expert level.
  EXPECT_GT(result.best_eval_return, baseline.mean() + 400.0)
      << "best " << result.best_eval_return << " vs random " << baseline.mean();
  // Hopper pays +1 per healthy step, so the return alone can be earned by standing still: the
  // best policy must also move forward (issue #17's survival confound).
  auto best = rl::load_policy(dir / "run" / "best");
  std::vector<double> start, end;
  rl::evaluate_policy(*best, "Hopper-v4", 3, 5, true, [&](const envs::Env& env) {
    const double x = dynamic_cast<const envs::MujocoEnv&>(env).data()->qpos[0];
    if (env.elapsed_steps() == 1) {
      start.push_back(x);
      end.push_back(x);
    }
    end.back() = x;
  });
  double forward = 0.0;
  for (std::size_t i = 0; i < start.size(); ++i) forward += (end[i] - start[i]) / start.size();
  std::printf("GAIL best policy: forward displacement %.2f m per episode\n", forward);
  EXPECT_GT(forward, 1.0) << "the best GAIL policy does not move forward (standing still?)";
}

}  // namespace
}  // namespace clearsight::il
