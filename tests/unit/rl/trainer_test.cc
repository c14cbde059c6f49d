#include "clearsight/rl/trainer.h"

#include <gtest/gtest.h>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/envs/env.h"
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

// A policy that always plays the same action and remembers the flags it was asked with.
class ConstantPolicy : public Policy {
 public:
  ConstantPolicy(std::string env, std::vector<double> action)
      : env_(std::move(env)), action_(std::move(action)) {}
  const std::string& env_name() const override { return env_; }
  std::int64_t observation_size() const override { return 11; }
  std::int64_t action_size() const override { return static_cast<std::int64_t>(action_.size()); }
  void act(std::span<const double>, std::span<double> action, bool deterministic) override {
    std::copy(action_.begin(), action_.end(), action.begin());
    ++calls;
    if (!deterministic) ++stochastic_calls;
  }
  torch::Tensor act_batch(const torch::Tensor& observations, bool) override {
    return torch::tensor(action_, torch::kFloat32).expand({observations.size(0), -1});
  }
  const nlohmann::json& info() const override { return info_; }
  int calls = 0;
  int stochastic_calls = 0;

 private:
  std::string env_;
  std::vector<double> action_;
  nlohmann::json info_ = nlohmann::json::object();
};

// evaluate_policy's returns and lengths equal a rollout stepped by hand with the same seeds.
TEST(RlTrainer, EvaluatePolicyMatchesAHandSteppedRollout) {
  const std::vector<double> action = {0.3, -0.5, 0.8};
  ConstantPolicy policy("Hopper-v4", action);
  int steps_seen = 0;
  const auto stats = evaluate_policy(policy, "Hopper-v4", 2, 17, /*deterministic=*/true,
                                     [&](const envs::Env&) { ++steps_seen; });
  ASSERT_EQ(stats.returns.size(), 2u);
  std::int64_t total_length = 0;
  for (int e = 0; e < 2; ++e) {
    auto env = envs::make_env("Hopper-v4");
    std::vector<double> obs(static_cast<std::size_t>(env->spec().observation_space.size()));
    env->reset(derive_seed(17, static_cast<std::uint64_t>(e)), obs);
    double total = 0;
    std::int64_t length = 0;
    for (;;) {
      const auto r = env->step(action, obs);
      total += r.reward;
      ++length;
      if (r.terminated || r.truncated) break;
    }
    EXPECT_DOUBLE_EQ(stats.returns[static_cast<std::size_t>(e)], total) << e;
    EXPECT_EQ(stats.lengths[static_cast<std::size_t>(e)], length) << e;
    total_length += length;
  }
  // A constant push topples the hopper long before the time limit.
  EXPECT_LT(stats.lengths[0], 1000);
  EXPECT_EQ(steps_seen, total_length);
  EXPECT_EQ(policy.calls, total_length);
  EXPECT_EQ(policy.stochastic_calls, 0);
  EXPECT_DOUBLE_EQ(stats.mean(), (stats.returns[0] + stats.returns[1]) / 2);
  // The deterministic flag reaches the policy.
  ConstantPolicy sampled("Hopper-v4", action);
  evaluate_policy(sampled, "Hopper-v4", 1, 17, /*deterministic=*/false);
  EXPECT_GT(sampled.calls, 0);
  EXPECT_EQ(sampled.stochastic_calls, sampled.calls);
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

// Seeds trained together (threads sharing the process) end exactly as each seed trained alone:
// actor, critics and evaluation, bit for bit; PPO's seeds (run one after another) too.
TEST(RlTrainer, SeedsTrainedTogetherMatchEachSeedTrainedAlone) {
  testing::TempDir dir;
  auto config = tiny_sac();
  config.steps = 400;
  config.eval_every = 400;
  config.checkpoint_every = 400;
  const auto together = train_rl_seeds(config, dir / "many", 3, 2);
  ASSERT_EQ(together.size(), 3u);
  RlTrainConfig alone = config;
  alone.seed = config.seed + 1;
  const auto single = train_rl(alone, dir / "alone");
  const auto seed_dir = seed_run_dir(dir / "many", alone.seed);
  EXPECT_EQ(seed_dir.filename(), "seed-4");
  expect_same_tensors(actor_of(seed_dir), actor_of(dir / "alone"));
  expect_same_tensors(safetensors::load(seed_dir / "checkpoint" / "agent.safetensors"),
                      safetensors::load(dir / "alone" / "checkpoint" / "agent.safetensors"));
  EXPECT_EQ(together[1].last_eval_return, single.last_eval_return);
  // Different seeds really differ.
  EXPECT_FALSE(torch::equal(actor_of(seed_run_dir(dir / "many", 3)).begin()->second,
                            actor_of(seed_dir).begin()->second));
  const auto summary = nlohmann::json::parse(read_file(dir / "many" / "seeds.json"));
  EXPECT_EQ(summary.at("runs").size(), 3u);
  EXPECT_EQ(summary.at("best_eval_return").at("n"), 3);

  auto ppo = tiny_ppo();
  train_rl_seeds(ppo, dir / "ppo", 2, 2);
  RlTrainConfig ppo_alone = ppo;
  ppo_alone.seed = ppo.seed + 1;
  train_rl(ppo_alone, dir / "ppo_alone");
  expect_same_tensors(actor_of(seed_run_dir(dir / "ppo", ppo_alone.seed)),
                      actor_of(dir / "ppo_alone"));
  EXPECT_THROW(train_rl_seeds(config, dir / "bad", 0, 1), ConfigError);
}

}  // namespace
}  // namespace clearsight::rl
