#include "clearsight/wm/trainer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "clearsight/core/error.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "test_util.h"

namespace clearsight::wm {
namespace {

namespace fs = std::filesystem;

// Minutes of work shrunk to seconds: 16x16 frames, 20-step episodes, tiny networks.
WmTrainConfig tiny() {
  auto c = wm_preset("small");
  c.env = "cheetah-run";
  c.steps = 90;
  c.seed = 5;
  c.episode_steps = 20;
  c.prefill = 40;
  c.train_every = 10;
  c.batch = 2;
  c.length = 8;
  c.openloop_context = 3;
  c.eval_every = 60;
  c.eval_episodes = 1;
  c.checkpoint_every = 1000;
  c.log_every = 20;
  c.model.image_size = 16;
  c.model.cnn_depth = 2;
  c.model.deter = 8;
  c.model.stoch = 4;
  c.model.hidden = 8;
  c.behavior.hidden = 8;
  c.behavior.layers = 1;
  c.behavior.horizon = 3;
  c.behavior.slow_target_every = 2;
  return c;
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(WmTrainer, ResumeAfterAStopGivesTheSameWeights) {
  testing::TempDir dir;
  const auto config = tiny();
  train_wm(config, dir / "straight");
  auto first = config;
  first.stop_after = 50;  // Mid-episode, after training started.
  const auto stopped = train_wm(first, dir / "resumed");
  EXPECT_FALSE(stopped.finished);
  EXPECT_EQ(stopped.steps, 50);
  const auto done = train_wm(config, dir / "resumed");
  EXPECT_TRUE(done.finished);
  for (const char* file : {"world_model.safetensors", "actor.safetensors", "critic.safetensors"}) {
    EXPECT_EQ(file_bytes(dir / "straight" / "agent" / file),
              file_bytes(dir / "resumed" / "agent" / file))
        << file;
  }
  EXPECT_EQ(file_bytes(dir / "straight" / "replay" / "episode-000003.safetensors"),
            file_bytes(dir / "resumed" / "replay" / "episode-000003.safetensors"));
}

TEST(WmTrainer, WritesMetricsVideosAndNetworks) {
  testing::TempDir dir;
  const auto result = train_wm(tiny(), dir / "run");
  EXPECT_TRUE(result.finished);
  const auto metrics = RunDir::open(dir / "run").read_metrics();
  bool model_row = false, eval_row = false;
  for (const auto& m : metrics) {
    if (m.contains("image_loss")) {
      model_row = true;
      EXPECT_TRUE(m.contains("reward_loss") && m.contains("kl") && m.contains("actor_loss"));
    }
    if (m.contains("eval_return")) eval_row = true;
  }
  EXPECT_TRUE(model_row);
  EXPECT_TRUE(eval_row);
  EXPECT_TRUE(fs::exists(dir / "run" / "videos" / "agent-00000060.gif"));
  EXPECT_TRUE(fs::exists(dir / "run" / "videos" / "openloop-00000060.gif"));
  EXPECT_TRUE(fs::exists(dir / "run" / "videos" / "openloop-00000060.png"));
  EXPECT_TRUE(fs::exists(dir / "run" / "summary.json"));
  auto [config, agent] = load_wm_run(dir / "run");
  EXPECT_EQ(config.model.image_size, 16);
  const auto stats = evaluate_agent(*agent, config, 1, 0);
  EXPECT_EQ(stats.lengths.front(), 20);
}

TEST(WmTrainer, BadSettingsAndRunsGiveClearErrors) {
  testing::TempDir dir;
  auto c = tiny();
  c.model.image_size = 40;
  EXPECT_THROW(train_wm(c, dir / "a"), ConfigError);
  c = tiny();
  c.openloop_context = 8;
  EXPECT_THROW(c.validate(), ConfigError);
  EXPECT_THROW(wm_preset("dreamer-v9"), UnknownNameError);
  EXPECT_THROW(load_wm_run(dir / "missing"), IoError);
  c = tiny();
  c.demos = {(dir / "none.h5").string()};
  EXPECT_THROW(train_wm(c, dir / "b"), IoError);
}

TEST(WmConfig, EveryPresetValidates) {
  for (const auto& name : wm_preset_names()) {
    const auto c = wm_preset(name);
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_EQ(c.preset, name);
  }
  EXPECT_EQ(wm_preset("sensor").model.kl_balance, 0.8);
  EXPECT_EQ(wm_preset("sensor").model.free_nats, 3.0);
  EXPECT_EQ(wm_preset("dreamer-v2").model.discrete, 32);
}

}  // namespace
}  // namespace clearsight::wm
