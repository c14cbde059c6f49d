#include "clearsight/il/collect.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::il {
namespace {

/// A policy with a fixed action (Hopper-v4 sizes unless told otherwise).
class ConstantPolicy : public rl::Policy {
 public:
  explicit ConstantPolicy(double value, std::string env = "Hopper-v4", std::int64_t obs = 11,
                          std::int64_t act = 3)
      : value_(value), env_(std::move(env)), obs_(obs), act_(act) {}
  const std::string& env_name() const override { return env_; }
  std::int64_t observation_size() const override { return obs_; }
  std::int64_t action_size() const override { return act_; }
  void act(std::span<const double> observation, std::span<double> action, bool) override {
    EXPECT_EQ(static_cast<std::int64_t>(observation.size()), obs_);
    for (auto& a : action) a = value_;
  }
  torch::Tensor act_batch(const torch::Tensor& observations, bool) override {
    return torch::full({observations.size(0), act_}, value_);
  }
  const nlohmann::json& info() const override { return info_; }

 private:
  double value_;
  std::string env_;
  std::int64_t obs_, act_;
  nlohmann::json info_ = nlohmann::json::object();
};

CollectOptions short_options(int episodes, const std::string& noise = "") {
  CollectOptions options;
  options.episodes = episodes;
  options.seed = 3;
  options.max_steps = 40;
  options.noise = NoiseSpec::parse(noise);
  options.expert_name = "constant";
  options.progress = false;
  return options;
}

TEST(IlCollect, RecordsConsistentEpisodes) {
  ConstantPolicy expert(0.1);
  const auto d = collect_demos(expert, "Hopper-v4", short_options(3));
  d.validate();
  EXPECT_EQ(d.episodes(), 3);
  EXPECT_EQ(d.observation_size(), 11);
  EXPECT_EQ(d.action_size(), 3);
  EXPECT_FALSE(d.has_images());
  std::int64_t at = 0;
  double mean_return = 0;
  for (std::size_t e = 0; e < 3; ++e) {
    const auto n = d.meta.episode_lengths[e];
    EXPECT_LE(n, 40);
    EXPECT_TRUE(torch::equal(d.next_observations.slice(0, at, at + n - 1),
                             d.observations.slice(0, at + 1, at + n)));
    const bool ended = d.terminals[at + n - 1].item<bool>() || d.timeouts[at + n - 1].item<bool>();
    EXPECT_TRUE(ended);
    EXPECT_EQ(torch::logical_or(d.terminals, d.timeouts).slice(0, at, at + n - 1).sum().item<int>(),
              0);
    EXPECT_NEAR(d.rewards.slice(0, at, at + n).to(torch::kFloat64).sum().item<double>(),
                d.meta.episode_returns[e], 1e-9);
    mean_return += d.meta.episode_returns[e] / 3;
    at += n;
  }
  EXPECT_NEAR(d.meta.expert_return, mean_return, 1e-9);
  EXPECT_TRUE(torch::allclose(d.actions, torch::full_like(d.actions, 0.1)));
  EXPECT_EQ(d.meta.env, "Hopper-v4");
  EXPECT_EQ(d.meta.expert, "constant");
  EXPECT_EQ(d.meta.seed, 3u);
  // Different episodes start from different seeded states; the same seed repeats them.
  EXPECT_FALSE(torch::equal(d.observations[0], d.observations[d.meta.episode_lengths[0]]));
  const auto again = collect_demos(expert, "Hopper-v4", short_options(3));
  EXPECT_TRUE(torch::equal(again.observations, d.observations));
}

TEST(IlCollect, MixtureHasTheRequestedShareOfTrajectories) {
  ConstantPolicy expert(0.0);
  auto options = short_options(10, "mix:0.3");
  options.max_steps = 5;
  const auto d = collect_demos(expert, "Hopper-v4", options);
  int non_expert = 0;
  std::int64_t at = 0;
  for (std::size_t e = 0; e < 10; ++e) {
    const auto n = d.meta.episode_lengths[e];
    const auto actions = d.actions.slice(0, at, at + n);
    if (d.meta.episode_expert[e]) {
      EXPECT_EQ(actions.abs().max().item<float>(), 0.0f);
    } else {
      ++non_expert;
      EXPECT_GT(actions.abs().max().item<float>(), 0.0f);
      EXPECT_LE(actions.abs().max().item<float>(), 1.0f);
    }
    at += n;
  }
  EXPECT_EQ(non_expert, 3);
  EXPECT_EQ(nlohmann::json::parse(d.meta.noise)["spec"], "mix:0.3");
  // A given non-expert policy is used instead of uniform actions.
  ConstantPolicy other(-0.5);
  options.non_expert = &other;
  const auto with_policy = collect_demos(expert, "Hopper-v4", options);
  std::int64_t non_expert_steps = 0;
  for (std::size_t e = 0; e < 10; ++e) {
    if (!with_policy.meta.episode_expert[e])
      non_expert_steps += with_policy.meta.episode_lengths[e];
  }
  EXPECT_EQ(with_policy.actions.eq(-0.5f).all(1).sum().item<std::int64_t>(), non_expert_steps);
}

TEST(IlCollect, ExecutedActionNoiseIsRecordedAndObservationNoiseApplied) {
  ConstantPolicy expert(0.0);
  auto options = short_options(20, "action-exec:0.2+gauss:0.1");
  options.max_steps = 50;
  const auto d = collect_demos(expert, "Hopper-v4", options);
  const double s = d.actions.to(torch::kFloat64).std(/*unbiased=*/false).item<double>();
  EXPECT_NEAR(s, 0.2, 0.015);
  EXPECT_NEAR(d.actions.to(torch::kFloat64).mean().item<double>(), 0.0, 0.015);
  // The clean rollout with the same seed differs: the noise was executed.
  const auto clean = collect_demos(expert, "Hopper-v4", short_options(20));
  EXPECT_FALSE(torch::equal(d.observations[5], clean.observations[5]));
  EXPECT_EQ(NoiseSpec::from_json(nlohmann::json::parse(d.meta.noise)).to_string(),
            "action-exec:0.2+gauss:0.1");
  // State noise keeps next_observations[t] == observations[t + 1] inside episodes.
  const auto n = d.meta.episode_lengths[0];
  EXPECT_TRUE(torch::equal(d.next_observations.slice(0, 0, n - 1), d.observations.slice(0, 1, n)));
}

TEST(IlCollect, PixelsRecordFramesAndCameraPoses) {
  ConstantPolicy expert(0.0);
  auto options = short_options(2);
  options.max_steps = 6;
  options.pixel_width = 32;
  options.pixel_height = 24;
  options.camera = {3.0, 60.0, -30.0};
  const auto d = collect_demos(expert, "Hopper-v4", options);
  ASSERT_TRUE(d.has_images());
  EXPECT_EQ(d.images.sizes().vec(), (std::vector<std::int64_t>{12, 24, 32, 3}));
  EXPECT_EQ(d.images.scalar_type(), torch::kUInt8);
  EXPECT_GT(d.images[0].to(torch::kFloat32).std().item<float>(), 5.0f);
  EXPECT_TRUE(torch::equal(d.camera_poses[7], torch::tensor({3.0f, 60.0f, -30.0f})));
  clearsight::testing::TempDir dir;
  save_demos(dir / "pixels.h5", d);
  const auto back = load_demos(dir / "pixels.h5", "Hopper-v4");
  EXPECT_TRUE(torch::equal(back.images, d.images));
  EXPECT_TRUE(torch::equal(back.camera_poses, d.camera_poses));
}

TEST(IlCollect, ExtraCamerasRenderTheSameSteps) {
  ConstantPolicy expert(0.0);
  auto options = short_options(1);
  options.max_steps = 4;
  options.pixel_width = 16;
  options.camera = {3.0, 90.0, -45.0};
  options.extra_cameras = {{3.0, 0.0, -20.0}, {3.0, 90.0, -45.0}};
  const auto d = collect_demos(expert, "Hopper-v4", options);
  ASSERT_EQ(d.view_count(), 3);
  EXPECT_EQ(d.view_images(1).sizes(), d.images.sizes());
  EXPECT_TRUE(torch::equal(d.view_camera_poses(1)[3], torch::tensor({3.0f, 0.0f, -20.0f})));
  EXPECT_EQ(d.view_name(1), "view1");
  // The same pose as view 0 renders the same frames; another pose does not.
  EXPECT_TRUE(torch::equal(d.view_images(2), d.images));
  EXPECT_FALSE(torch::equal(d.view_images(1), d.images));
  auto state_only = short_options(1);
  state_only.extra_cameras = {{3.0, 0.0, -20.0}};
  EXPECT_THROW(collect_demos(expert, "Hopper-v4", state_only), ConfigError);
}

TEST(IlCollect, MismatchedPoliciesAndOptionsAreRejected) {
  ConstantPolicy walker(0.0, "Walker2d-v4", 17, 6);
  EXPECT_THROW(collect_demos(walker, "Hopper-v4", short_options(1)), ConfigError);
  ConstantPolicy wrong_size(0.0, "Hopper-v4", 11, 2);
  EXPECT_THROW(collect_demos(wrong_size, "Hopper-v4", short_options(1)), ShapeError);
  ConstantPolicy expert(0.0);
  EXPECT_THROW(collect_demos(expert, "Hopper-v4", short_options(0)), ConfigError);
  EXPECT_THROW(collect_demos(expert, "Hopper-v4", short_options(1, "drop:11")), ConfigError);
  EXPECT_THROW(collect_demos(expert, "Hoper-v4", short_options(1)), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::il
