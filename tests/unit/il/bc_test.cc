#include "clearsight/il/bc.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/envs/normalize.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/scores.h"
#include "clearsight/rl/policy.h"
#include "test_util.h"
#include "unit/il/demo_fixtures.h"

namespace clearsight::il {
namespace {

namespace fs = std::filesystem;
using clearsight::testing::TempDir;

/// Hopper-sized data (11-d observations of very different scales, 3 actions) whose actions are
/// tanh of a fixed linear function of the standardised observations.
DemoDataset make_linear_dataset(int episodes, int length, std::uint64_t seed = 1) {
  DemoDataset d = testing::make_dataset(episodes, length, 11, 3, false, seed);
  torch::manual_seed(seed);
  const auto weights = torch::randn({11, 3}) * 0.6;
  const auto mean = d.observations.mean(0);
  const auto std = d.observations.std(0);
  d.actions = torch::tanh(((d.observations - mean) / std).matmul(weights)).contiguous();
  return d;
}

/// A short config: small network, no environment evaluation.
BcConfig small_config(std::int64_t steps) {
  BcConfig c;
  c.hidden = {32, 32};
  c.lr = 3e-3;
  c.batch_size = 64;
  c.steps = steps;
  c.eval_every = steps;
  c.eval_episodes = 0;
  c.log_every = 100;
  c.seed = 5;
  return c;
}

double mse(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).square().mean().item<double>();
}

/// A hand-made deterministic Swimmer-v4 controller: a fixed smooth function of the observation.
class SwimmerController : public rl::Policy {
 public:
  const std::string& env_name() const override { return env_; }
  std::int64_t observation_size() const override { return 8; }
  std::int64_t action_size() const override { return 2; }
  void act(std::span<const double> observation, std::span<double> action, bool) override {
    const auto in = torch::tensor(std::vector<double>(observation.begin(), observation.end()))
                        .to(torch::kFloat32)
                        .unsqueeze(0);
    const auto out = act_batch(in, true).to(torch::kFloat64).contiguous();
    for (std::size_t i = 0; i < action.size(); ++i) action[i] = out.data_ptr<double>()[i];
  }
  torch::Tensor act_batch(const torch::Tensor& observations, bool) override {
    const auto o = observations.to(torch::kFloat32);
    // Cross-coupled joint feedback (a travelling wave) plus smooth terms of the other entries.
    const auto gains = torch::tensor({{0.3f, -0.2f},
                                      {0.0f, 3.0f},
                                      {-3.0f, 0.0f},
                                      {0.2f, 0.1f},
                                      {-0.1f, 0.2f},
                                      {0.2f, -0.3f},
                                      {0.3f, 0.1f},
                                      {0.1f, 0.3f}});
    return torch::tanh(o.matmul(gains) + 0.3f * torch::sin(2.0f * o.slice(1, 0, 2)) + 0.1f);
  }
  const nlohmann::json& info() const override { return info_; }

 private:
  std::string env_ = "Swimmer-v4";
  nlohmann::json info_ = nlohmann::json::object();
};

DemoDataset collect_swimmer(int episodes, int steps, std::uint64_t seed) {
  SwimmerController controller;
  CollectOptions options;
  options.episodes = episodes;
  options.max_steps = steps;
  options.seed = seed;
  options.expert_name = "swimmer-controller";
  options.progress = false;
  return collect_demos(controller, "Swimmer-v4", options);
}

TEST(IlBc, ConvergesOnLinearTanhTargets) {
  TempDir dir;
  const auto demos = make_linear_dataset(4, 500);
  const double action_var = demos.actions.var().item<double>();
  const auto result = train_bc(demos, small_config(400), dir.path());
  EXPECT_EQ(result.steps, 400);
  EXPECT_EQ(result.validation_size, 200);
  EXPECT_EQ(result.train_size, 1800);
  EXPECT_LT(result.final_validation_mse, 0.01) << "action variance " << action_var;
  EXPECT_LT(result.final_validation_mse, 0.05 * action_var);
  EXPECT_TRUE(std::isfinite(result.final_validation_nll));
  EXPECT_TRUE(std::isnan(result.final_eval_return));

  // Records, summary and both policy directories.
  const auto run = RunDir::open(dir.path());
  const auto metrics = run.read_metrics();
  ASSERT_EQ(metrics.size(), 4u);
  EXPECT_EQ(metrics.back().at("step"), 400);
  EXPECT_NEAR(metrics.back().at("validation_mse").get<double>(), result.final_validation_mse,
              1e-12);
  EXPECT_LT(metrics.back().at("validation_nll").get<double>(),
            metrics.front().at("validation_nll").get<double>());
  const auto summary = nlohmann::json::parse(read_file(dir / "summary.json"));
  EXPECT_EQ(summary.at("env"), "Hopper-v4");
  EXPECT_EQ(summary.at("steps"), 400);
  EXPECT_EQ(summary.at("seed"), 5);
  EXPECT_EQ(summary.at("noise_spec"), "none");
  EXPECT_TRUE(summary.at("demos").is_null());
  EXPECT_TRUE(summary.at("final_eval_return").is_null());
  EXPECT_NEAR(summary.at("final_validation_nll").get<double>(), result.final_validation_nll, 1e-12);
  EXPECT_EQ(run.read_config().at("hidden"), nlohmann::json({32, 32}));
  EXPECT_TRUE(fs::exists(dir / "best" / "policy.json"));

  // The policy directory loads, normalises as in training and fits the targets.
  auto policy = rl::load_policy(result.policy_dir);
  EXPECT_EQ(policy->info().at("algo"), "bc");
  EXPECT_EQ(policy->info().at("actor"), "gaussian");
  EXPECT_EQ(policy->info().at("steps"), 400);
  EXPECT_TRUE(policy->info().at("obs_norm").get<bool>());
  const auto stats = envs::RunningMeanStd::load(result.policy_dir / "obs_norm.safetensors");
  const auto data_mean = demos.observations.to(torch::kFloat64).mean(0);
  EXPECT_TRUE(
      torch::allclose(torch::tensor(stats.mean()).to(torch::kFloat64), data_mean, 1e-4, 1e-4));
  // Fresh states from the same distribution, labelled by the same function (weights of seed 1).
  const auto held_out = testing::make_dataset(1, 300, 11, 3, false, 77).observations;
  const auto mean = demos.observations.mean(0);
  const auto std = demos.observations.std(0);
  torch::manual_seed(1);
  const auto weights = torch::randn({11, 3}) * 0.6;
  const auto targets = torch::tanh(((held_out - mean) / std).matmul(weights));
  EXPECT_LT(mse(policy->act_batch(held_out, true), targets), 0.02);
}

TEST(IlBc, SameSeedSameNetworkAndRegularisersRun) {
  TempDir a, b, c;
  const auto demos = make_linear_dataset(2, 200);
  auto config = small_config(60);
  config.hidden = {16};
  config.l2 = 1e-3;
  config.entropy_coef = 0.5;
  train_bc(demos, config, a.path());
  train_bc(demos, config, b.path());
  const auto wa = safetensors::load(a / "policy" / "actor.safetensors");
  const auto wb = safetensors::load(b / "policy" / "actor.safetensors");
  ASSERT_EQ(wa.size(), wb.size());
  for (const auto& [name, t] : wa) EXPECT_TRUE(torch::equal(t, wb.at(name))) << name;
  // The entropy bonus keeps the log-std above the plain maximum-likelihood one.
  config.entropy_coef = 0.0;
  config.l2 = 0.0;
  const auto plain = train_bc(demos, config, c.path());
  const auto wc = safetensors::load(c / "policy" / "actor.safetensors");
  EXPECT_GT(wa.at("log_std").mean().item<double>(), wc.at("log_std").mean().item<double>());
  EXPECT_TRUE(std::isfinite(plain.final_validation_nll));
  // A rerun in the same directory replaces the previous records.
  train_bc(demos, config, c.path());
  EXPECT_EQ(RunDir::open(c.path()).read_metrics().size(), 1u);
}

TEST(IlBc, ClonesSwimmerControllerAndPolicyDirReproducesIt) {
  TempDir dir;
  const auto demos = collect_swimmer(3, 200, 11);
  ASSERT_EQ(demos.size(), 600);
  ASSERT_GT(demos.actions.var(0).min().item<double>(), 0.05)
      << "degenerate demonstrations: action variance " << demos.actions.var(0);
  BcConfig config = small_config(300);
  config.hidden = {64, 64};
  config.batch_size = 128;
  config.eval_episodes = 1;
  config.demos = "data/swimmer-demos.h5";
  const auto result = train_bc(demos, config, dir.path());
  EXPECT_TRUE(std::isfinite(result.final_eval_return));
  EXPECT_EQ(result.best_eval_return, result.final_eval_return);  // One evaluation.
  EXPECT_LT(result.final_validation_mse, 0.02);
  // The controller swims (a random policy scores about 0); so does its clone (184 when written).
  EXPECT_GT(result.final_eval_return, 50.0);

  auto policy = rl::load_policy(result.policy_dir);
  EXPECT_EQ(policy->env_name(), "Swimmer-v4");
  EXPECT_NEAR(policy->info().at("eval_return").at("mean").get<double>(), result.final_eval_return,
              1e-9);
  // Held-out observations from other episodes: the clone acts like the controller.
  const auto held_out = collect_swimmer(1, 200, 99).observations;
  SwimmerController controller;
  const auto expected = controller.act_batch(held_out, true);
  const auto cloned = policy->act_batch(held_out, true);
  const double var = expected.var().item<double>();
  EXPECT_LT(mse(cloned, expected), 0.03) << "action variance " << var;
  EXPECT_LT(mse(cloned, expected), 0.2 * var);
  // act() reproduces act_batch() row by row, and best/ loads too.
  std::vector<double> obs(8), action(2);
  for (std::int64_t i = 0; i < 5; ++i) {
    for (int j = 0; j < 8; ++j) obs[j] = held_out[i][j].item<double>();
    policy->act(obs, action, true);
    for (int j = 0; j < 2; ++j) EXPECT_NEAR(action[j], cloned[i][j].item<double>(), 1e-6);
  }
  EXPECT_EQ(rl::load_policy(result.best_dir)->info().at("steps"), 300);
  const auto summary = nlohmann::json::parse(read_file(dir / "summary.json"));
  EXPECT_EQ(summary.at("demos"), "swimmer-demos.h5");
  EXPECT_EQ(summary.at("expert"), "swimmer-controller");
  EXPECT_NEAR(summary.at("final_eval_return").get<double>(), result.final_eval_return, 1e-9);
  EXPECT_FALSE(summary.contains("final_eval_normalized_score"));  // Swimmer: no D4RL reference.
}

TEST(IlBcConfig, RejectsInvalidValues) {
  EXPECT_NO_THROW(BcConfig{}.validate());
  const auto expect_invalid = [](auto change) {
    BcConfig c;
    change(c);
    EXPECT_THROW(c.validate(), ConfigError);
  };
  expect_invalid([](BcConfig& c) { c.hidden = {}; });
  expect_invalid([](BcConfig& c) { c.hidden = {32, 0}; });
  expect_invalid([](BcConfig& c) { c.lr = 0; });
  expect_invalid([](BcConfig& c) { c.batch_size = 0; });
  expect_invalid([](BcConfig& c) { c.steps = 0; });
  expect_invalid([](BcConfig& c) { c.entropy_coef = -0.1; });
  expect_invalid([](BcConfig& c) { c.l2 = -1e-4; });
  expect_invalid([](BcConfig& c) { c.validation_share = 1.0; });
  expect_invalid([](BcConfig& c) { c.validation_share = -0.1; });
  expect_invalid([](BcConfig& c) { c.eval_every = 0; });
  expect_invalid([](BcConfig& c) { c.eval_episodes = -1; });
  expect_invalid([](BcConfig& c) { c.log_every = 0; });
  // Config files: fields bind, unknown keys and bad values are rejected.
  const auto c = config::from_json<BcConfig>(
      nlohmann::json{{"hidden", {64}}, {"steps", 50}, {"l2", 1e-4}}, "bc");
  EXPECT_EQ(c.hidden, std::vector<std::int64_t>{64});
  EXPECT_EQ(c.steps, 50);
  EXPECT_THROW(config::from_json<BcConfig>(nlohmann::json{{"stepz", 5}}, "bc"), ConfigError);
  EXPECT_THROW(config::from_json<BcConfig>(nlohmann::json{{"lr", -1.0}}, "bc"), ConfigError);
}

TEST(IlBcConfig, RejectsDataThatDoesNotFit) {
  TempDir dir;
  auto demos = make_linear_dataset(1, 20);
  demos.meta.env = "Hopper-v3";
  EXPECT_THROW(train_bc(demos, small_config(10), dir.path()), UnknownNameError);
  demos.meta.env = "Walker2d-v4";  // 17-d observations.
  EXPECT_THROW(train_bc(demos, small_config(10), dir.path()), ShapeError);
  const auto tiny = testing::make_dataset(1, 1, 11, 3, false);
  auto config = small_config(10);
  config.validation_share = 0.5;
  EXPECT_THROW(train_bc(tiny, config, dir.path()), ConfigError);
  config.validation_share = 0.0;
  const auto result = train_bc(tiny, config, dir.path());
  EXPECT_EQ(result.validation_size, 0);
  EXPECT_TRUE(std::isnan(result.final_validation_nll));
}

TEST(IlScores, D4rlNormalizedScores) {
  EXPECT_NEAR(d4rl_normalized_score("Hopper-v4", 1000.0), 31.34889040358868, 1e-9);
  EXPECT_NEAR(d4rl_normalized_score("HalfCheetah-v4", 5000.0), 42.530026937099436, 1e-9);
  EXPECT_NEAR(d4rl_normalized_score("Walker2d-v4", 2000.0), 43.5311307537066, 1e-9);
  EXPECT_NEAR(d4rl_normalized_score("Ant-v4", 0.0), 7.742610515302119, 1e-9);
  EXPECT_NEAR(d4rl_normalized_score("Hopper-v4", -20.272305), 0.0, 1e-12);
  EXPECT_NEAR(d4rl_normalized_score("Hopper-v4", 3234.3), 100.0, 1e-9);
  EXPECT_TRUE(has_d4rl_reference("Ant-v4"));
  EXPECT_FALSE(has_d4rl_reference("Swimmer-v4"));
  EXPECT_FALSE(has_d4rl_reference("nope"));
  EXPECT_EQ(d4rl_reference_envs().size(), 4u);
  EXPECT_DOUBLE_EQ(d4rl_reference("Walker2d-v4").expert, 4592.3);
  EXPECT_THROW(d4rl_reference("Swimmer-v4"), UnknownNameError);
  // Registered environments without a reference: NaN, callers report raw returns.
  EXPECT_TRUE(std::isnan(d4rl_normalized_score("Swimmer-v4", 50.0)));
  EXPECT_TRUE(std::isnan(d4rl_normalized_score("walker-walk", 50.0)));
  try {
    d4rl_normalized_score("Hopper-v3", 1.0);
    FAIL() << "expected UnknownNameError";
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("Hopper-v4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Swimmer-v4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace clearsight::il
