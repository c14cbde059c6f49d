#include "clearsight/il/imitate.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/demos.h"
#include "clearsight/rl/policy.h"
#include "test_util.h"

namespace clearsight::il {
namespace {

namespace fs = std::filesystem;

fs::path make_demos(const testing::TempDir& dir) {
  auto policy = rl::make_random_policy("Hopper-v4");
  CollectOptions o;
  o.episodes = 5;
  o.seed = 1;
  o.progress = false;
  o.expert_name = "random";
  const auto demos = collect_demos(*policy, "Hopper-v4", o);
  save_demos(dir / "demos.h5", demos);
  return dir / "demos.h5";
}

ImitateConfig tiny(const std::string& algo, const fs::path& demos) {
  ImitateConfig c;
  c.algo = algo;
  c.env = "Hopper-v4";
  c.demos = demos.string();
  c.steps = 300;
  c.seed = 2;
  c.eval_every = 150;
  c.eval_episodes = 1;
  c.checkpoint_every = 150;
  c.log_every = 50;
  c.sac.hidden = {16, 16};
  c.sac.batch_size = 16;
  c.sac.learning_starts = 100;
  c.disc.hidden = {16};
  c.disc.batch_size = 16;
  c.dida.feature_size = 8;
  c.dida.encoder_hidden = {16};
  c.dida.noise_hidden = {16};
  c.dida.mine_hidden = {16};
  return c;
}

void expect_exact_resume(const std::string& algo, const std::string& generator = "sac") {
  testing::TempDir dir;
  const auto demos = make_demos(dir);
  auto config = tiny(algo, demos);
  config.generator = generator;
  config.ppo.hidden = {16};
  config.ppo.rollout_steps = 50;
  config.ppo.minibatch_size = 25;
  config.ppo.epochs = 2;
  config.disc_updates_per_rollout = 3;
  const auto straight = imitate(config, dir / "straight");
  EXPECT_TRUE(straight.finished);
  auto first = config;
  first.stop_after = 150;
  EXPECT_FALSE(imitate(first, dir / "resumed").finished);
  const auto resumed = imitate(config, dir / "resumed");
  EXPECT_TRUE(resumed.finished);
  const auto a = safetensors::load(dir / "straight" / "policy" / "actor.safetensors");
  const auto b = safetensors::load(dir / "resumed" / "policy" / "actor.safetensors");
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  EXPECT_EQ(straight.last_eval_return, resumed.last_eval_return);
  EXPECT_TRUE(fs::exists(dir / "resumed" / "summary.json"));
}

TEST(IlImitate, GailResumesExactly) { expect_exact_resume("gail"); }

TEST(IlImitate, DidaResumesExactly) { expect_exact_resume("dida"); }

TEST(IlImitate, GailWithPpoGeneratorResumesExactly) { expect_exact_resume("gail", "ppo"); }

TEST(IlImitate, DidaWithPpoGeneratorResumesExactly) { expect_exact_resume("dida", "ppo"); }

TEST(IlImitate, ClearErrors) {
  testing::TempDir dir;
  const auto demos = make_demos(dir);
  auto c = tiny("gail", demos);
  c.env = "Walker2d-v4";
  EXPECT_THROW(imitate(c, dir / "a"), ConfigError);  // Demonstrations of another environment.
  c = tiny("airl", demos);
  EXPECT_THROW(imitate(c, dir / "b"), UnknownNameError);
  c = tiny("gail", demos);
  c.generator = "trpo";
  EXPECT_THROW(imitate(c, dir / "d"), UnknownNameError);
  c = tiny("gail", dir / "missing.h5");
  EXPECT_THROW(imitate(c, dir / "c"), IoError);
}

}  // namespace
}  // namespace clearsight::il
