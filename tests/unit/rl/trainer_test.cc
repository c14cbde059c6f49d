#include "clearsight/rl/trainer.h"

#include <gtest/gtest.h>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "test_util.h"

namespace clearsight::rl {
namespace {

namespace fs = std::filesystem;

RlTrainConfig tiny_sac() {
  RlTrainConfig c;
  c.env = "Hopper-v4";
  c.algo = "sac";
  c.steps = 600;
  c.seed = 3;
  c.eval_every = 300;
  c.eval_episodes = 1;
  c.checkpoint_every = 300;
  c.log_every = 100;
  c.sac.hidden = {32, 32};
  c.sac.batch_size = 32;
  c.sac.learning_starts = 150;
  return c;
}

RlTrainConfig tiny_ppo() {
  RlTrainConfig c;
  c.env = "Swimmer-v4";
  c.algo = "ppo";
  c.steps = 512;
  c.seed = 4;
  c.num_envs = 2;
  c.eval_every = 256;
  c.eval_episodes = 1;
  c.checkpoint_every = 128;
  c.log_every = 64;
  c.ppo.hidden = {16, 16};
  c.ppo.rollout_steps = 64;
  c.ppo.minibatch_size = 32;
  c.ppo.epochs = 2;
  return c;
}

std::map<std::string, torch::Tensor> actor_of(const fs::path& run) {
  return safetensors::load(run / "policy" / "actor.safetensors");
}

void expect_same_tensors(const std::map<std::string, torch::Tensor>& a,
                         const std::map<std::string, torch::Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
}

void expect_exact_resume(const RlTrainConfig& config, std::int64_t first_leg) {
  testing::TempDir dir;
  const auto straight = train_rl(config, dir / "straight");
  EXPECT_TRUE(straight.finished);
  RlTrainConfig first = config;
  first.stop_after = first_leg;
  const auto partial = train_rl(first, dir / "resumed");
  EXPECT_FALSE(partial.finished);
  EXPECT_EQ(partial.steps, first_leg);
  RlTrainConfig rest = config;
  const auto resumed = train_rl(rest, dir / "resumed");
  EXPECT_TRUE(resumed.finished);
  EXPECT_EQ(resumed.steps, straight.steps);
  expect_same_tensors(actor_of(dir / "straight"), actor_of(dir / "resumed"));
  EXPECT_EQ(straight.last_eval_return, resumed.last_eval_return);
  const auto summary = RunDir::open(dir / "resumed").read_metrics();
  EXPECT_FALSE(summary.empty());
}

TEST(RlTrainer, SacResumeContinuesIdentically) { expect_exact_resume(tiny_sac(), 300); }

TEST(RlTrainer, PpoResumeContinuesIdentically) { expect_exact_resume(tiny_ppo(), 256); }

TEST(RlTrainer, SacResumesWithoutAStoredBuffer) {
  testing::TempDir dir;
  auto config = tiny_sac();
  config.save_buffer = false;
  config.stop_after = 300;
  train_rl(config, dir / "run");
  EXPECT_FALSE(fs::exists(dir / "run" / "checkpoint" / "replay.safetensors"));
  config.stop_after = 0;
  const auto result = train_rl(config, dir / "run");
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(result.steps, 600);
}

TEST(RlTrainer, WritesPolicySummaryAndMetrics) {
  testing::TempDir dir;
  auto config = tiny_sac();
  config.steps = 300;
  train_rl(config, dir / "run");
  for (const char* f : {"config.json", "metrics.jsonl", "summary.json", "policy/policy.json",
                        "policy/actor.safetensors", "best/policy.json",
                        "checkpoint/trainer_state.json", "checkpoint/replay.safetensors"}) {
    EXPECT_TRUE(fs::exists(dir / "run" / f)) << f;
  }
  auto policy = load_policy(dir / "run" / "policy");
  EXPECT_EQ(policy->env_name(), "Hopper-v4");
  const auto stats = evaluate_policy(*policy, "Hopper-v4", 2, 11);
  EXPECT_EQ(stats.returns.size(), 2u);
  EXPECT_THROW(evaluate_policy(*policy, "Walker2d-v4", 1, 0), ConfigError);
}

TEST(RlTrainer, BadConfigAndPolicyDirectoriesGiveClearErrors) {
  testing::TempDir dir;
  auto config = tiny_sac();
  config.algo = "dqn";
  EXPECT_THROW(train_rl(config, dir / "a"), UnknownNameError);
  config = tiny_sac();
  config.env = "Hoper-v4";
  EXPECT_THROW(train_rl(config, dir / "b"), UnknownNameError);
  EXPECT_THROW(load_policy(dir / "missing"), IoError);
  fs::create_directories(dir / "bad");
  testing::write_bytes(dir / "bad" / "policy.json", "{not json");
  EXPECT_THROW(load_policy(dir / "bad"), FormatError);
  testing::write_bytes(dir / "bad" / "policy.json",
                       R"({"format": "clearsight-policy-v1", "env": "Hopper-v4", "obs_size": 11,
                           "act_size": 3, "hidden": [8], "actor": "tanh_gaussian"})");
  EXPECT_THROW(load_policy(dir / "bad"), IoError);  // actor.safetensors is missing.
  testing::write_bytes(dir / "bad" / "policy.json",
                       R"({"format": "clearsight-policy-v1", "env": "Hopper-v4", "obs_size": 12,
                           "act_size": 3, "hidden": [8], "actor": "tanh_gaussian"})");
  EXPECT_THROW(load_policy(dir / "bad"), ShapeError);
}

TEST(RlTrainer, RandomPolicyActsInBounds) {
  auto policy = make_random_policy("Ant-v4");
  EXPECT_EQ(policy->action_size(), 8);
  const auto a = policy->act_batch(torch::zeros({5, 27}), false);
  EXPECT_TRUE((a.abs() <= 1).all().item<bool>());
}

}  // namespace
}  // namespace clearsight::rl
