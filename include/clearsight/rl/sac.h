// Soft Actor-Critic (Haarnoja et al. 2018, with automatic entropy temperature): a tanh-Gaussian
// actor, twin critics evaluated as one ensemble, Polyak-averaged target critics.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "clearsight/rl/networks.h"
#include "clearsight/rl/storage.h"

namespace clearsight::rl {

/// SAC's hyper-parameters (defaults: the SAC paper / CleanRL for MuJoCo).
struct SacConfig {
  std::vector<std::int64_t> hidden = {256, 256};
  std::int64_t batch_size = 256;
  std::int64_t buffer_size = 1000000;
  double actor_lr = 3e-4;
  double critic_lr = 1e-3;
  double alpha_lr = 1e-3;
  double gamma = 0.99;
  double tau = 0.005;
  /// Environment steps with uniformly random actions before learning starts.
  std::int64_t learning_starts = 5000;
  /// Gradient updates per environment step (per vector step).
  std::int64_t updates_per_step = 1;
  /// Actor (and temperature) update every this many critic updates (delayed, as in TD3/CleanRL).
  std::int64_t policy_frequency = 2;
  double init_alpha = 1.0;
  /// Learn the temperature towards target_entropy (0: -action size).
  bool autotune = true;
  double target_entropy = 0.0;
  /// "fast" (the small-network path of clearsight/rl/fast_mlp.h) or "torch" (LibTorch autograd,
  /// the reference): the same update, to float tolerance.
  std::string backend = "fast";

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("hidden", hidden, "hidden layer sizes of actor and critics");
    v("batch_size", batch_size, "minibatch size");
    v("buffer_size", buffer_size, "replay capacity (transitions)");
    v("actor_lr", actor_lr, "actor learning rate");
    v("critic_lr", critic_lr, "critic learning rate");
    v("alpha_lr", alpha_lr, "temperature learning rate");
    v("gamma", gamma, "discount");
    v("tau", tau, "target smoothing coefficient");
    v("learning_starts", learning_starts, "random-action steps before updates");
    v("updates_per_step", updates_per_step, "gradient updates per vector step");
    v("policy_frequency", policy_frequency, "critic updates per actor update");
    v("init_alpha", init_alpha, "initial entropy temperature");
    v("autotune", autotune, "learn the temperature");
    v("target_entropy", target_entropy, "target entropy (0: -action size)");
    v("backend", backend, "fast (small-network path) or torch (LibTorch reference)");
  }
  /// Throws ConfigError on invalid values.
  void validate() const;
};

/// Losses and statistics of one SAC update (scalar tensors; call .item() when logging).
struct SacMetrics {
  torch::Tensor critic_loss, actor_loss, alpha, alpha_loss, q_mean, entropy;
};

class SacFastPath;

/// Floating-point operations of one SAC update (critic step plus the average actor step) at these
/// sizes, counting the matrix products (2 per multiply-add).
double sac_update_flops(std::int64_t obs_size, std::int64_t act_size, std::int64_t critic_extra,
                        const std::vector<std::int64_t>& hidden, std::int64_t batch);

/// The SAC learner: networks, optimisers and the update rule.
class Sac {
 public:
  /// Builds networks for the given sizes. All its randomness (initial weights, action noise)
  /// comes from its own generator, seeded with seed (default: a number drawn from torch's default
  /// generator), so that runs in one process are independent. The critics see critic_extra more
  /// observation columns than the actor (e.g. DAC's absorbing-state flag): stored observations
  /// have obs_size + critic_extra columns, the actor reads the first obs_size.
  Sac(SacConfig config, std::int64_t obs_size, std::int64_t act_size, std::int64_t critic_extra = 0,
      std::optional<std::uint64_t> seed = std::nullopt);
  ~Sac();
  Sac(Sac&&) noexcept;
  /// Actions [N, act] for observations [N, obs]: sampled, or tanh(mean) when deterministic.
  torch::Tensor act(const torch::Tensor& observations, bool deterministic);
  /// One gradient update of the critics (and, every policy_frequency calls, actor and alpha).
  SacMetrics update(const TransitionBatch& batch);
  /// The generator of this learner's randomness (also for replay sampling and random actions).
  at::Generator& generator() { return generator_; }
  /// Saves networks, optimisers and the generator into dir (agent.safetensors, optimizer state,
  /// sac_rng.safetensors).
  void save(const std::filesystem::path& dir) const;
  /// Restores what save() wrote; throws on a missing or mismatched file.
  void load(const std::filesystem::path& dir);
  /// The actor.
  TanhGaussianActor& actor() { return actor_; }
  /// The twin critics [2, B, 1].
  EnsembleMlp& critic() { return critic_; }
  /// The current temperature.
  double alpha() const;
  /// The configuration.
  const SacConfig& config() const { return config_; }
  /// Updates done so far.
  std::int64_t updates() const { return updates_; }

 private:
  SacConfig config_;
  std::int64_t obs_size_, act_size_, critic_extra_;
  torch::Tensor actor_input(const torch::Tensor& obs) const;
  double target_entropy_;
  TanhGaussianActor actor_{nullptr};
  EnsembleMlp critic_{nullptr};
  EnsembleMlp critic_target_{nullptr};
  torch::Tensor log_alpha_;
  std::unique_ptr<torch::optim::Adam> actor_opt_, critic_opt_, alpha_opt_;
  std::int64_t updates_ = 0;
  SacMetrics last_;
  at::Generator generator_;
  std::unique_ptr<SacFastPath> fast_;
};

}  // namespace clearsight::rl
