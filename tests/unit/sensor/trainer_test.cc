#include "clearsight/sensor/trainer.h"

#include <gtest/gtest.h>

#include <fstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/il/collect.h"
#include "clearsight/rl/policy.h"
#include "clearsight/sensor/camera.h"
#include "clearsight/sensor/imitation.h"
#include "test_util.h"

namespace clearsight::sensor {
namespace {

namespace fs = std::filesystem;

// An expert file of cheetah-run at 16x16 from the expert camera, two short episodes.
fs::path expert_file(const testing::TempDir& dir) {
  const auto path = dir / "expert.h5";
  if (fs::exists(path)) return path;
  auto expert = rl::load_policy(fs::path(CS_SOURCE_DIR) / "assets/experts/cheetah-run");
  il::CollectOptions o;
  o.episodes = 2;
  o.max_steps = 24;
  o.pixel_width = 16;
  o.progress = false;
  il::save_demos(path, il::collect_demos(*expert, "cheetah-run", o));
  return path;
}

SensorTrainConfig tiny(const fs::path& demos, const std::string& variant = "sensor") {
  SensorTrainConfig base;
  auto& c = base.agent;
  c = wm::wm_preset("small");
  c.env = "cheetah-run";
  c.steps = 80;
  c.seed = 3;
  c.camera = {3.0, 60.0, -30.0};
  c.episode_steps = 20;
  c.prefill = 40;
  c.train_every = 10;
  c.batch = 2;
  c.length = 6;
  c.openloop_context = 3;
  c.eval_every = 80;
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
  base.demos = {demos.string()};
  base.sensor.ensemble = 2;
  base.sensor.disc_hidden = 8;
  base.sensor.sensor_every = 2;
  return sensor_variant(variant, base);
}

std::string bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<nlohmann::json> metrics(const fs::path& run) {
  return RunDir::open(run).read_metrics();
}

TEST(SensorTrainer, ResumeAfterAStopGivesTheSameWeights) {
  testing::TempDir dir;
  const auto demos = expert_file(dir);
  for (const std::string variant : {"sensor", "sensor-decoupled"}) {
    const auto c = tiny(demos, variant);
    train_sensor(c, dir / (variant + "-straight"));
    auto first = c;
    first.agent.stop_after = 50;
    EXPECT_FALSE(train_sensor(first, dir / (variant + "-resumed")).finished);
    EXPECT_TRUE(train_sensor(c, dir / (variant + "-resumed")).finished);
    for (const char* f :
         {"world_model.safetensors", "actor.safetensors", "discriminators.safetensors"}) {
      EXPECT_EQ(bytes(dir / (variant + "-straight") / "agent" / f),
                bytes(dir / (variant + "-resumed") / "agent" / f))
          << variant << " " << f;
    }
  }
}

TEST(SensorTrainer, MetricsCarryTheCameraAndItsGapToTheExpert) {
  testing::TempDir dir;
  const auto demos = expert_file(dir);
  train_sensor(tiny(demos), dir / "run");
  bool train_row = false, eval_row = false, moved = false;
  for (const auto& m : metrics(dir / "run")) {
    if (m.contains("image_loss")) {
      train_row = true;
      EXPECT_TRUE(m.contains("disc_accuracy") && m.contains("epsilon") && m.contains("pose_gap"));
      EXPECT_EQ(m["camera"].size(), 3u);
    }
    if (m.contains("eval_return")) {
      eval_row = true;
      EXPECT_TRUE(m.contains("eval_pose_gap") && m.contains("pose_gap"));
    }
  }
  EXPECT_TRUE(train_row && eval_row);
  EXPECT_TRUE(fs::exists(dir / "run" / "videos" / "agent-vs-expert-00000080.gif"));
  const auto path =
      nlohmann::json::parse(read_file(dir / "run" / "videos" / "camera-path-00000080.json"));
  EXPECT_EQ(path["expert"], nlohmann::json({3.0, 90.0, -45.0}));
  EXPECT_EQ(path["path"].size(), 20u);
  for (const auto& p : path["path"]) moved |= p != nlohmann::json({3.0, 60.0, -30.0});
  EXPECT_TRUE(moved);  // The sensor policy moves the camera.
}

TEST(SensorTrainer, SensorPolicyOffKeepsTheCameraFixed) {
  testing::TempDir dir;
  const auto demos = expert_file(dir);
  train_sensor(tiny(demos, "fixed-camera"), dir / "fixed");
  for (const auto& m : metrics(dir / "fixed")) {
    if (m.contains("camera")) {
      EXPECT_EQ(m["camera"], nlohmann::json({3.0, 60.0, -30.0})) << m.dump();
    }
  }
  train_sensor(tiny(demos, "expert-camera"), dir / "expert");
  for (const auto& m : metrics(dir / "expert")) {
    if (m.contains("pose_gap")) {
      EXPECT_EQ(m["pose_gap"], 0.0) << m.dump();
    }
  }
}

TEST(SensorImitation, ExpertFramesGoThroughTheSameEncoder) {
  testing::TempDir dir;
  const auto demos = expert_file(dir);
  auto expert = load_expert({demos.string()}, "cheetah-run", 0, 16, 6, false);
  EXPECT_EQ(expert.episodes, 2);
  EXPECT_EQ(expert.pose.azimuth, 90.0);
  const auto& e = expert.replay.episode(0);
  EXPECT_EQ(e.prev_actions.size(1), 9);
  EXPECT_TRUE((e.prev_actions == 0).all().item<bool>());  // Observation-only.
  const auto c = camera_condition(expert.pose);
  EXPECT_NEAR(e.conditions[3][2].item<float>(), c[2], 1e-6);
  torch::manual_seed(0);
  wm::WorldModelConfig mc;
  mc.image_size = 16;
  mc.cnn_depth = 2;
  mc.deter = 8;
  mc.stoch = 4;
  mc.hidden = 8;
  wm::WorldModel model(mc, 9, 3);
  const auto window = expert.replay.window(0, 0, 5);
  torch::manual_seed(1);
  const auto x = expert_inputs(model, window, false, 6);
  torch::manual_seed(1);
  torch::NoGradGuard no_grad;
  const auto post = model->rssm()
                        ->observe(model->embed(window.images), window.prev_actions,
                                  window.conditions, window.is_first)
                        .first.features();
  EXPECT_EQ(x.sizes(), (std::vector<std::int64_t>{4, 2 * post.size(-1)}));
  EXPECT_TRUE(torch::allclose(x[2].narrow(0, 0, post.size(-1)), post[0][2]));
  EXPECT_TRUE(torch::allclose(x[2].narrow(0, post.size(-1), post.size(-1)), post[0][3]));
  const auto with_actions = load_expert({demos.string()}, "cheetah-run", 0, 16, 6, true);
  EXPECT_FALSE(
      (with_actions.replay.episode(0).prev_actions.narrow(1, 0, 6) == 0).all().item<bool>());
  EXPECT_THROW(load_expert({demos.string()}, "cheetah-run", 1, 16, 6, false), ConfigError);
}

TEST(SensorConfig, VariantsSwitchWhatTheyShould) {
  EXPECT_TRUE(sensor_variant("sensor").sensor.sensor_policy);
  EXPECT_FALSE(sensor_variant("fixed-camera").sensor.sensor_policy);
  EXPECT_TRUE(sensor_variant("expert-camera").sensor.start_at_expert_camera);
  EXPECT_EQ(sensor_variant("single-discriminator").sensor.ensemble, 1);
  EXPECT_FALSE(sensor_variant("fixed-epsilon").sensor.adaptive_epsilon);
  EXPECT_EQ(sensor_variant("sensor-decoupled").sensor.learning, "decoupled");
  EXPECT_THROW(sensor_variant("gail"), UnknownNameError);
  auto c = sensor_variant("sensor");
  c.demos = {"x.h5"};
  c.sensor.aggregate = "median";
  EXPECT_THROW(c.validate(), UnknownNameError);
  c.sensor.aggregate = "mean";
  c.demos.clear();
  EXPECT_THROW(c.validate(), ConfigError);
}

}  // namespace
}  // namespace clearsight::sensor
