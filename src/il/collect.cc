#include "clearsight/il/collect.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <utility>

#include "clearsight/core/error.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/envs/pixel_env.h"
#include "clearsight/version.h"

namespace clearsight::il {
namespace {

/// Steps either a state environment or a pixel environment, reading states from both.
class Stepper {
 public:
  Stepper(const std::string& env_name, const CollectOptions& options) {
    if (options.pixel_width > 0) {
      envs::PixelOptions pixel;
      pixel.render.width = options.pixel_width;
      pixel.render.height = options.pixel_height > 0 ? options.pixel_height : options.pixel_width;
      pixel.render.backend = options.render_backend;
      pixel.camera = options.camera;
      pixels_ = std::make_unique<envs::PixelEnv>(envs::make_mujoco_env(env_name), pixel);
      frame_.resize(pixels_->observation_bytes());
      extra_cameras_ = options.extra_cameras;
      extra_frames_.assign(extra_cameras_.size(),
                           std::vector<std::uint8_t>(pixels_->renderer().frame_bytes()));
    } else {
      env_ = envs::make_env(env_name);
    }
  }

  const envs::EnvSpec& spec() const { return pixels_ ? pixels_->spec() : env_->spec(); }
  bool has_pixels() const { return pixels_ != nullptr; }
  /// The frame of the current state (pixel environments only).
  const std::vector<std::uint8_t>& frame() const { return frame_; }
  /// The camera pose of the current frame.
  envs::CameraPose camera() { return pixels_->camera().pose(); }
  /// The frames of the current state seen from the extra cameras, in their order.
  const std::vector<std::vector<std::uint8_t>>& extra_frames() const { return extra_frames_; }

  void reset(std::uint64_t seed, std::span<double> observation) {
    if (pixels_) {
      pixels_->reset(seed, frame_);
      pixels_->env().observation(observation);
      render_extra();
    } else {
      env_->reset(seed, observation);
    }
  }

  envs::StepResult step(std::span<const double> action, std::span<double> observation) {
    if (!pixels_) return env_->step(action, observation);
    const auto result = pixels_->step(action, frame_);
    pixels_->env().observation(observation);
    render_extra();
    return result;
  }

 private:
  /// Renders the current state from every extra camera (same renderer, another pose).
  void render_extra() {
    auto& env = pixels_->env();
    for (std::size_t i = 0; i < extra_cameras_.size(); ++i) {
      pixels_->renderer().render(env.data(), extra_cameras_[i], env.torso_body(), extra_frames_[i]);
    }
  }

  std::unique_ptr<envs::Env> env_;
  std::unique_ptr<envs::PixelEnv> pixels_;
  std::vector<std::uint8_t> frame_;
  std::vector<envs::CameraPose> extra_cameras_;
  std::vector<std::vector<std::uint8_t>> extra_frames_;
};

void check_policy(rl::Policy& policy, const char* role, const std::string& env_name,
                  const envs::EnvSpec& spec) {
  CS_CHECK_AS(ConfigError, policy.env_name() == env_name, "the ", role, " policy was trained on '",
              policy.env_name(), "', not on '", env_name, "'");
  CS_CHECK_AS(ShapeError,
              policy.observation_size() == spec.observation_space.size() &&
                  policy.action_size() == spec.action_space.size(),
              "the ", role, " policy maps ", policy.observation_size(), " observations to ",
              policy.action_size(), " actions; ", env_name, " has ", spec.observation_space.size(),
              " and ", spec.action_space.size());
}

torch::Tensor to_tensor(const std::vector<float>& values, std::vector<std::int64_t> shape) {
  return torch::from_blob(const_cast<float*>(values.data()), shape, torch::kFloat32).clone();
}

torch::Tensor to_flags(const std::vector<std::uint8_t>& values) {
  return torch::from_blob(const_cast<std::uint8_t*>(values.data()),
                          {static_cast<std::int64_t>(values.size())}, torch::kUInt8)
      .to(torch::kBool);
}

}  // namespace

DemoDataset collect_demos(rl::Policy& expert, const std::string& env_name,
                          const CollectOptions& options) {
  CS_CHECK_AS(ConfigError, options.episodes >= 1, "episodes must be >= 1, got ", options.episodes);
  CS_CHECK_AS(ConfigError, options.max_steps >= 0, "max_steps must be >= 0, got ",
              options.max_steps);
  CS_CHECK_AS(ConfigError,
              options.pixel_width >= 0 && options.pixel_width <= 1024 &&
                  options.pixel_height >= 0 && options.pixel_height <= 1024,
              "pixel size must be in 0..1024, got ", options.pixel_width, "x",
              options.pixel_height);
  CS_CHECK_AS(ConfigError, options.extra_cameras.empty() || options.pixel_width > 0,
              options.extra_cameras.size(),
              " extra camera(s) requested without pixel frames; set a pixel width (--pixels)");
  for (std::size_t i = 0; i < options.extra_cameras.size(); ++i) {
    const auto& pose = options.extra_cameras[i];
    CS_CHECK_AS(ConfigError,
                std::isfinite(pose.distance) && pose.distance > 0 && std::isfinite(pose.azimuth) &&
                    std::isfinite(pose.elevation),
                "extra camera ", i + 1, " needs a finite pose with a positive distance, got (",
                pose.distance, ", ", pose.azimuth, ", ", pose.elevation, ")");
  }
  Stepper env(env_name, options);
  const auto& spec = env.spec();
  check_policy(expert, "expert", env_name, spec);
  if (options.non_expert != nullptr)
    check_policy(*options.non_expert, "non-expert", env_name, spec);
  const auto obs_size = static_cast<std::size_t>(spec.observation_space.size());
  const auto act_size = static_cast<std::size_t>(spec.action_space.size());
  for (const auto& c : options.noise.components) {
    for (auto d : c.dims) {
      CS_CHECK_AS(ConfigError, d < static_cast<std::int64_t>(obs_size), "noise drop: ", env_name,
                  " observations have ", obs_size, " dimensions (0..", obs_size - 1, "), got ", d);
    }
  }

  // The mixture: exactly round(share * episodes) non-expert episodes at seeded positions.
  const auto episodes = static_cast<std::size_t>(options.episodes);
  std::vector<std::uint8_t> is_expert(episodes, 1);
  const auto non_expert_count = static_cast<std::size_t>(
      std::llround(options.noise.mix_share() * static_cast<double>(episodes)));
  if (non_expert_count > 0) {
    std::vector<std::size_t> order(episodes);
    std::iota(order.begin(), order.end(), 0);
    RngEngine mix_rng(derive_seed(options.seed, "mix"));
    std::shuffle(order.begin(), order.end(), mix_rng);
    for (std::size_t i = 0; i < non_expert_count; ++i) is_expert[order[i]] = 0;
  }
  // Policies that sample (stochastic experts, rl's random policy) draw from torch's generator.
  torch::manual_seed(derive_seed(options.seed, "policy"));
  RngEngine exec_rng(derive_seed(options.seed, "action-exec"));
  RngEngine random_rng(derive_seed(options.seed, "non-expert"));
  const double exec_sigma = options.noise.executed_action_sigma();

  std::vector<float> observations, actions, rewards, next_observations, poses;
  std::vector<std::uint8_t> terminals, timeouts, frames;
  std::vector<std::vector<std::uint8_t>> extra_frames(options.extra_cameras.size());
  DemoDataset d;
  auto& m = d.meta;
  std::vector<double> obs(obs_size), next(obs_size), action(act_size);
  ProgressBar bar("demos " + env_name, options.episodes,
                  {.disable = !options.progress, .unit = "episodes"});
  for (std::size_t e = 0; e < episodes; ++e) {
    env.reset(derive_seed(options.seed, static_cast<std::uint64_t>(e)), obs);
    rl::Policy* policy = is_expert[e] ? &expert : options.non_expert;
    double total = 0;
    std::int64_t length = 0;
    while (true) {
      if (policy != nullptr) {
        policy->act(obs, action, options.deterministic);
      } else {
        for (std::size_t j = 0; j < act_size; ++j) {
          action[j] = std::uniform_real_distribution<double>(spec.action_space.low[j],
                                                             spec.action_space.high[j])(random_rng);
        }
      }
      if (exec_sigma > 0) {
        std::normal_distribution<double> normal(0.0, exec_sigma);
        for (std::size_t j = 0; j < act_size; ++j) {
          action[j] = std::clamp(action[j] + normal(exec_rng), spec.action_space.low[j],
                                 spec.action_space.high[j]);
        }
      }
      if (env.has_pixels()) {
        frames.insert(frames.end(), env.frame().begin(), env.frame().end());
        const auto pose = env.camera();
        poses.insert(poses.end(),
                     {static_cast<float>(pose.distance), static_cast<float>(pose.azimuth),
                      static_cast<float>(pose.elevation)});
        for (std::size_t v = 0; v < extra_frames.size(); ++v) {
          const auto& extra = env.extra_frames()[v];
          extra_frames[v].insert(extra_frames[v].end(), extra.begin(), extra.end());
        }
      }
      const auto result = env.step(action, next);
      ++length;
      const bool cut = result.truncated || (options.max_steps > 0 && length >= options.max_steps);
      observations.insert(observations.end(), obs.begin(), obs.end());
      actions.insert(actions.end(), action.begin(), action.end());
      next_observations.insert(next_observations.end(), next.begin(), next.end());
      rewards.push_back(static_cast<float>(result.reward));
      terminals.push_back(result.terminated ? 1 : 0);
      timeouts.push_back(cut && !result.terminated ? 1 : 0);
      total += static_cast<float>(result.reward);
      if (result.terminated || cut) break;
      obs.swap(next);
    }
    m.episode_returns.push_back(total);
    m.episode_lengths.push_back(length);
    m.episode_expert.push_back(is_expert[e]);
    char postfix[64];
    std::snprintf(postfix, sizeof(postfix), "return %.1f%s", total, is_expert[e] ? "" : " (mix)");
    bar.set_postfix(postfix);
    bar.advance();
  }
  bar.finish();

  const auto t = static_cast<std::int64_t>(rewards.size());
  const auto os = static_cast<std::int64_t>(obs_size), as = static_cast<std::int64_t>(act_size);
  d.observations = to_tensor(observations, {t, os});
  d.actions = to_tensor(actions, {t, as});
  d.rewards = to_tensor(rewards, {t});
  d.next_observations = to_tensor(next_observations, {t, os});
  d.terminals = to_flags(terminals);
  d.timeouts = to_flags(timeouts);
  if (env.has_pixels()) {
    const auto& frame = env.frame();
    const std::int64_t height =
        options.pixel_height > 0 ? options.pixel_height : options.pixel_width;
    CS_CHECK(frame.size() == static_cast<std::size_t>(height * options.pixel_width * 3),
             "unexpected frame size ", frame.size());
    d.images =
        torch::from_blob(frames.data(), {t, height, options.pixel_width, 3}, torch::kUInt8).clone();
    d.camera_poses = to_tensor(poses, {t, 3});
    for (std::size_t v = 0; v < extra_frames.size(); ++v) {
      const auto& pose = options.extra_cameras[v];
      DemoView view;
      view.name = "view" + std::to_string(v + 1);
      view.images = torch::from_blob(extra_frames[v].data(), {t, height, options.pixel_width, 3},
                                     torch::kUInt8)
                        .clone();
      view.camera_poses =
          torch::tensor({static_cast<float>(pose.distance), static_cast<float>(pose.azimuth),
                         static_cast<float>(pose.elevation)})
              .repeat({t, 1});
      d.views.push_back(std::move(view));
      extra_frames[v] = {};
    }
  }
  m.env = env_name;
  m.expert = options.expert_name;
  m.seed = options.seed;
  m.deterministic = options.deterministic;
  m.clearsight_version = kVersion;
  double expert_total = 0;
  int expert_episodes = 0;
  for (std::size_t e = 0; e < episodes; ++e) {
    if (is_expert[e]) {
      expert_total += m.episode_returns[e];
      ++expert_episodes;
    }
  }
  if (expert_episodes > 0) m.expert_return = expert_total / expert_episodes;
  const std::uint64_t noise_seed = derive_seed(options.seed, "noise");
  apply_observation_noise(d, options.noise.post_hoc(), noise_seed);
  // Record the whole composition, as the user wrote it, collection-time components included.
  m.noise = options.noise.to_json().dump();
  return d;
}

}  // namespace clearsight::il
