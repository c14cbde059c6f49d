// Proximal Policy Optimisation (Schulman et al. 2017) with GAE, clipped surrogate, optional value
// clipping, observation and reward normalisation (the MuJoCo settings of CleanRL / SB3).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "clearsight/rl/networks.h"
#include "clearsight/rl/storage.h"

namespace clearsight::rl {

/// PPO's hyper-parameters.
struct PpoConfig {
  std::vector<std::int64_t> hidden = {64, 64};
  std::int64_t rollout_steps = 2048;
  std::int64_t epochs = 10;
  std::int64_t minibatch_size = 64;
  double lr = 3e-4;
  bool anneal_lr = true;
  double gamma = 0.99;
  double gae_lambda = 0.95;
  double clip = 0.2;
  /// Clip the value update around the old values with this range (0: off).
  double value_clip = 0.0;
  double entropy_coef = 0.0;
  double value_coef = 0.5;
  double max_grad_norm = 0.5;
  bool normalize_advantages = true;
  bool normalize_observations = true;
  bool normalize_rewards = true;
  double init_log_std = 0.0;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("hidden", hidden, "hidden layer sizes (tanh)");
    v("rollout_steps", rollout_steps, "steps per environment per rollout");
    v("epochs", epochs, "passes over each rollout");
    v("minibatch_size", minibatch_size, "minibatch size");
    v("lr", lr, "Adam learning rate");
    v("anneal_lr", anneal_lr, "decay the learning rate linearly to 0");
    v("gamma", gamma, "discount");
    v("gae_lambda", gae_lambda, "GAE lambda");
    v("clip", clip, "surrogate clipping range");
    v("value_clip", value_clip, "value clipping range (0: off)");
    v("entropy_coef", entropy_coef, "entropy bonus weight");
    v("value_coef", value_coef, "value loss weight");
    v("max_grad_norm", max_grad_norm, "gradient norm clip");
    v("normalize_advantages", normalize_advantages, "normalise advantages per minibatch");
    v("normalize_observations", normalize_observations, "running observation normalisation");
    v("normalize_rewards", normalize_rewards, "scale rewards by the return's running std");
    v("init_log_std", init_log_std, "initial log standard deviation");
  }
  /// Throws ConfigError on invalid values.
  void validate() const;
};

/// Averages over one PPO update.
struct PpoMetrics {
  double policy_loss = 0, value_loss = 0, entropy = 0, approx_kl = 0, clip_fraction = 0;
};

/// The PPO learner: actor, critic, optimiser and the update rule (on normalised observations).
class Ppo {
 public:
  /// Builds networks for the given sizes.
  Ppo(PpoConfig config, std::int64_t obs_size, std::int64_t act_size);
  /// Sampled (or mean) actions [N, act], their log-probs [N] and values [N].
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> act(const torch::Tensor& observations,
                                                              bool deterministic);
  /// Values [N] of observations.
  torch::Tensor value(const torch::Tensor& observations);
  /// Runs the epochs of minibatch updates over a rollout with computed returns; progress in
  /// [0, 1) anneals the learning rate.
  PpoMetrics update(const RolloutBuffer& rollout, double progress);
  /// Saves networks and optimiser into dir.
  void save(const std::filesystem::path& dir) const;
  /// Restores what save() wrote.
  void load(const std::filesystem::path& dir);
  /// The actor.
  GaussianActor& actor() { return actor_; }
  /// The configuration.
  const PpoConfig& config() const { return config_; }

 private:
  PpoConfig config_;
  GaussianActor actor_{nullptr};
  Mlp critic_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

}  // namespace clearsight::rl
