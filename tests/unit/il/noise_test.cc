#include "clearsight/il/noise.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/il/demos.h"
#include "unit/il/demo_fixtures.h"

namespace clearsight::il {
namespace {

constexpr int kObs = 5;

/// 20000 transitions in 100 episodes of 200 steps, dimensions with scales 1, 10, 0.1, 100, 3.
DemoDataset big_dataset() { return testing::make_dataset(100, 200, kObs, 3, false); }

/// Per-dimension population std of x [T, D].
torch::Tensor column_std(const torch::Tensor& x) {
  return x.to(torch::kFloat64).std(0, /*unbiased=*/false);
}

/// Checks that next_observations[t] == observations[t + 1] inside every episode.
void expect_consistent(const DemoDataset& d) {
  std::int64_t at = 0;
  for (auto n : d.meta.episode_lengths) {
    EXPECT_TRUE(torch::equal(d.next_observations.slice(0, at, at + n - 1),
                             d.observations.slice(0, at + 1, at + n)));
    at += n;
  }
}

TEST(IlNoise, ParseAndPrintRoundTrip) {
  for (const std::string text :
       {"gauss:0.3", "gauss:0.3+action:0.1", "drop:2,5", "drop:2,5+gauss:0.1", "mult:0.1",
        "uniform:0.2", "drop-rand:0.1+mix:0.2+action-exec:0.05", "action:0.125"}) {
    SCOPED_TRACE(text);
    const auto spec = NoiseSpec::parse(text);
    EXPECT_EQ(spec.to_string(), text);
    EXPECT_EQ(NoiseSpec::parse(spec.to_string()), spec);
    EXPECT_EQ(NoiseSpec::from_json(spec.to_json()), spec);
    EXPECT_EQ(NoiseSpec::from_json(nlohmann::json::parse(spec.to_json().dump())), spec);
  }
  // Commas separate components too, except before a bare dimension.
  EXPECT_EQ(NoiseSpec::parse("gauss:0.3,action:0.1").to_string(), "gauss:0.3+action:0.1");
  EXPECT_EQ(NoiseSpec::parse(" drop:2, 5 ,gauss:0.5 ").to_string(), "drop:2,5+gauss:0.5");
  EXPECT_EQ(NoiseSpec::parse("GAUSS:1e-1").to_string(), "gauss:0.1");
  EXPECT_TRUE(NoiseSpec::parse("").empty());
  EXPECT_TRUE(NoiseSpec::parse("none").empty());
  EXPECT_EQ(NoiseSpec{}.to_string(), "none");
  const auto spec = NoiseSpec::parse("gauss:0.3+action-exec:0.3+action-exec:0.4+mix:0.2");
  EXPECT_NEAR(spec.executed_action_sigma(), 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(spec.mix_share(), 0.2);
  EXPECT_EQ(spec.post_hoc().to_string(), "gauss:0.3");
  EXPECT_EQ(spec.to_json()["components"][0]["kind"], "gauss");
}

TEST(IlNoise, UnknownKindListsValidKinds) {
  try {
    NoiseSpec::parse("gaus:0.3");
    FAIL() << "no error";
  } catch (const UnknownNameError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown noise kind 'gaus'"), std::string::npos) << message;
    EXPECT_NE(message.find("gauss, mult, uniform, drop, drop-rand, action, action-exec, mix"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("did you mean"), std::string::npos) << message;
  }
  EXPECT_THROW(NoiseSpec::parse("gauss:0.1+blur:2"), UnknownNameError);
  EXPECT_THROW(NoiseSpec::from_json(nlohmann::json::parse(R"([{"kind": "shake", "scale": 1}])")),
               UnknownNameError);
}

TEST(IlNoise, MalformedValuesAreConfigErrors) {
  for (const std::string text :
       {"gauss", "gauss:", "gauss:x", "gauss:0.1x", "gauss:-1", "gauss:nan", "drop-rand:1.5",
        "mix:2", "drop:", "drop:a", "drop:-1", "gauss:0.1++mult:0.1", "gauss:0.3,0.5"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(NoiseSpec::parse(text), ConfigError);
  }
  EXPECT_THROW(NoiseSpec::from_json(nlohmann::json::parse(R"({"spec": "x"})")), ConfigError);
  EXPECT_THROW(NoiseSpec::from_json(nlohmann::json::parse(R"([{"kind": "gauss"}])")), ConfigError);
  EXPECT_THROW(NoiseSpec::from_json(nlohmann::json::parse(R"([{"kind": "drop", "dims": 2}])")),
               ConfigError);
}

TEST(IlNoise, GaussianSigmaIsRelativeToEachDimensionsStd) {
  const auto clean = big_dataset();
  auto noisy = clean;
  apply_observation_noise(noisy, NoiseSpec::parse("gauss:0.3"), 5);
  const auto std_clean = column_std(clean.observations);
  const auto z = (noisy.observations.to(torch::kFloat64) - clean.observations) / std_clean;
  const auto z_std = column_std(z);
  const auto z_mean = z.mean(0);
  for (int j = 0; j < kObs; ++j) {
    SCOPED_TRACE(j);
    EXPECT_NEAR(z_std[j].item<double>(), 0.3, 0.3 * 0.03);
    EXPECT_NEAR(z_mean[j].item<double>(), 0.0, 0.01);
  }
  // Absolute noise grows with the dimension's scale (100 vs 0.1).
  const auto abs_std = column_std(noisy.observations.to(torch::kFloat64) - clean.observations);
  EXPECT_GT(abs_std[3].item<double>(), 500 * abs_std[2].item<double>());
  expect_consistent(noisy);
  EXPECT_FALSE(torch::equal(noisy.next_observations, clean.next_observations));
  EXPECT_TRUE(torch::equal(noisy.actions, clean.actions));
  EXPECT_TRUE(torch::equal(noisy.rewards, clean.rewards));
}

TEST(IlNoise, MultiplicativeNoiseHasRequestedStd) {
  const auto clean = big_dataset();
  auto noisy = clean;
  apply_observation_noise(noisy, NoiseSpec::parse("mult:0.1"), 6);
  const auto ratio = noisy.observations.to(torch::kFloat64) / clean.observations - 1.0;
  const auto s = column_std(ratio);
  for (int j = 0; j < kObs; ++j) EXPECT_NEAR(s[j].item<double>(), 0.1, 0.003) << j;
  EXPECT_NEAR(ratio.mean().item<double>(), 0.0, 0.003);
  expect_consistent(noisy);
}

TEST(IlNoise, UniformNoiseStaysWithinItsBounds) {
  const auto clean = big_dataset();
  auto noisy = clean;
  apply_observation_noise(noisy, NoiseSpec::parse("uniform:0.2"), 7);
  const auto z = (noisy.observations.to(torch::kFloat64) - clean.observations) /
                 column_std(clean.observations);
  const auto s = column_std(z);
  for (int j = 0; j < kObs; ++j) {
    SCOPED_TRACE(j);
    const auto column = z.select(1, j);
    EXPECT_LE(column.abs().max().item<double>(), 0.2 * (1 + 1e-5));
    EXPECT_GT(column.max().item<double>(), 0.199);
    EXPECT_LT(column.min().item<double>(), -0.199);
    EXPECT_NEAR(s[j].item<double>(), 0.2 / std::sqrt(3.0), 0.003);
  }
  expect_consistent(noisy);
}

TEST(IlNoise, DropZeroesTheNamedDimensions) {
  const auto clean = big_dataset();
  auto noisy = clean;
  apply_observation_noise(noisy, NoiseSpec::parse("drop:1,3"), 8);
  for (const auto* pair : {&noisy.observations, &noisy.next_observations}) {
    EXPECT_EQ(pair->select(1, 1).abs().max().item<float>(), 0.0f);
    EXPECT_EQ(pair->select(1, 3).abs().max().item<float>(), 0.0f);
  }
  for (int j : {0, 2, 4}) {
    EXPECT_TRUE(torch::equal(noisy.observations.select(1, j), clean.observations.select(1, j)));
    EXPECT_TRUE(
        torch::equal(noisy.next_observations.select(1, j), clean.next_observations.select(1, j)));
  }
  auto bad = clean;
  EXPECT_THROW(apply_observation_noise(bad, NoiseSpec::parse("drop:5"), 1), ConfigError);
}

TEST(IlNoise, RandomDropZeroesTheRequestedShare) {
  const auto clean = big_dataset();
  auto noisy = clean;
  apply_observation_noise(noisy, NoiseSpec::parse("drop-rand:0.1"), 9);
  const auto zero = noisy.observations.eq(0);
  EXPECT_NEAR(zero.to(torch::kFloat64).mean().item<double>(), 0.1, 0.005);
  const auto kept = torch::logical_not(zero);
  EXPECT_TRUE(
      torch::equal(noisy.observations.masked_select(kept), clean.observations.masked_select(kept)));
  expect_consistent(noisy);
}

TEST(IlNoise, RecordedActionNoiseLeavesStatesAlone) {
  auto clean = big_dataset();
  clean.actions.zero_();
  auto noisy = clean;
  apply_observation_noise(noisy, NoiseSpec::parse("action:0.1"), 10);
  EXPECT_NEAR(column_std(noisy.actions.flatten().unsqueeze(1))[0].item<double>(), 0.1, 0.002);
  EXPECT_LE(noisy.actions.abs().max().item<float>(), 1.0f);
  EXPECT_TRUE(torch::equal(noisy.observations, clean.observations));
  // Clipped to [-1, 1].
  auto wide = clean;
  apply_observation_noise(wide, NoiseSpec::parse("action:5"), 10);
  EXPECT_EQ(wide.actions.abs().max().item<float>(), 1.0f);
}

TEST(IlNoise, CompositionIsSeededAndRecorded) {
  const auto clean = testing::make_dataset(4, 50, kObs, 2, false);
  const auto spec = NoiseSpec::parse("gauss:0.3+action:0.1");
  auto a = clean, b = clean, c = clean;
  apply_observation_noise(a, spec, 1);
  apply_observation_noise(b, spec, 1);
  apply_observation_noise(c, spec, 2);
  EXPECT_TRUE(torch::equal(a.observations, b.observations));
  EXPECT_TRUE(torch::equal(a.actions, b.actions));
  EXPECT_FALSE(torch::equal(a.observations, c.observations));
  const auto recorded = nlohmann::json::parse(a.meta.noise);
  EXPECT_EQ(recorded["spec"], "gauss:0.3+action:0.1");
  EXPECT_EQ(a.meta.noise_seed, 1u);
  apply_observation_noise(a, NoiseSpec::parse("drop:0"), 3);
  EXPECT_EQ(NoiseSpec::from_json(nlohmann::json::parse(a.meta.noise)).to_string(),
            "gauss:0.3+action:0.1+drop:0");
  // Collection-time components cannot be applied to recorded data.
  for (const std::string text : {"mix:0.2", "gauss:0.1+action-exec:0.1"}) {
    auto d = clean;
    EXPECT_THROW(apply_observation_noise(d, NoiseSpec::parse(text), 1), ConfigError) << text;
    EXPECT_TRUE(torch::equal(d.observations, clean.observations));
  }
}

}  // namespace
}  // namespace clearsight::il
