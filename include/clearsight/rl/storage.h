// Experience storage that allocates once: a replay buffer (SAC, GAIL) and a rollout buffer with
// generalised advantage estimation (PPO).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <vector>

#include "clearsight/envs/normalize.h"

namespace clearsight::rl {

/// A sampled minibatch of transitions; tensors are owned by the buffer and overwritten by the
/// next sample() (clone what you keep).
struct TransitionBatch {
  torch::Tensor observations;       ///< [B, obs] float32.
  torch::Tensor actions;            ///< [B, act] float32.
  torch::Tensor rewards;            ///< [B, 1] float32.
  torch::Tensor next_observations;  ///< [B, obs] float32.
  torch::Tensor terminals;          ///< [B, 1] float32: 1 where the episode terminated.
};

/// A ring buffer of transitions in preallocated float32 tensors.
class ReplayBuffer {
 public:
  /// Room for capacity transitions of the given sizes; sample() returns batch_size rows.
  ReplayBuffer(std::int64_t capacity, std::int64_t obs_size, std::int64_t act_size,
               std::int64_t batch_size);
  /// Adds N transitions (rows of [N, ...] tensors; rewards and terminals [N]).
  void add(const torch::Tensor& observations, const torch::Tensor& actions,
           const torch::Tensor& rewards, const torch::Tensor& next_observations,
           const torch::Tensor& terminals);
  /// Draws batch_size transitions uniformly with replacement (torch's default generator); the
  /// batch is scratch space the caller may modify (e.g. relabel rewards).
  TransitionBatch& sample(c10::optional<at::Generator> generator = c10::nullopt);
  /// Draws n transitions uniformly with replacement into freshly allocated tensors.
  TransitionBatch sample_n(std::int64_t n) const;
  /// Forgets every stored transition (storage is kept).
  void clear() { position_ = size_ = 0; }
  /// Transitions stored.
  std::int64_t size() const { return size_; }
  /// Capacity.
  std::int64_t capacity() const { return capacity_; }
  /// Transitions added over the buffer's life (including overwritten ones).
  std::int64_t added() const { return added_; }
  /// Saves the stored transitions and position to a safetensors file (atomically).
  void save(const std::filesystem::path& path) const;
  /// Restores a file written by save(); throws FormatError/ShapeError when it does not fit.
  void load(const std::filesystem::path& path);
  /// The stored rows of one field ("observations", "actions", "rewards", "next_observations",
  /// "terminals") as a view [size, ...].
  torch::Tensor field(const std::string& name) const;

 private:
  std::int64_t capacity_, obs_size_, act_size_, batch_size_;
  std::int64_t position_ = 0, size_ = 0, added_ = 0;
  torch::Tensor obs_, act_, rew_, next_obs_, term_;
  torch::Tensor indices_;
  TransitionBatch batch_;
};

/// On-policy rollout storage for T steps of N environments, with GAE(lambda) returns.
class RolloutBuffer {
 public:
  /// Room for steps x envs transitions.
  RolloutBuffer(std::int64_t steps, std::int64_t envs, std::int64_t obs_size,
                std::int64_t act_size);
  /// Stores step t: observations [N, obs], actions [N, act], log-probs [N], values [N],
  /// rewards [N] (with any time-limit bootstrap folded in) and dones [N] (1 where the episode
  /// ended with this step, so the next observation starts a new one).
  void insert(std::int64_t t, const torch::Tensor& observations, const torch::Tensor& actions,
              const torch::Tensor& log_probs, const torch::Tensor& values,
              const torch::Tensor& rewards, const torch::Tensor& dones);
  /// Computes GAE(lambda) advantages and returns; last_values [N] are V of the observations
  /// after the last step.
  void compute_returns(const torch::Tensor& last_values, double gamma, double lambda);
  /// Steps per rollout.
  std::int64_t steps() const { return steps_; }
  /// Environments.
  std::int64_t envs() const { return envs_; }
  /// [T, N, obs] observations.
  torch::Tensor observations, actions, log_probs, values, rewards, dones, advantages, returns;

 private:
  std::int64_t steps_, envs_;
};

/// Settles a rollout's rewards [T, N] (float64, contiguous) in time order as PPO trains on them:
/// with return_stats, each step's rewards are divided by the running standard deviation of the
/// discounted return (discounted [N] carries across rollouts and restarts after an episode end,
/// dones [T, N] float32) and clipped to [-10, 10]; then gamma * bootstrap[t][i] (float64: the
/// value of the final observation where the episode was cut by its time limit, 0 elsewhere) is
/// added, unscaled, so that GAE, which stops at dones, still sees the cut-off future.
void settle_ppo_rewards(torch::Tensor& rewards, const torch::Tensor& dones,
                        const torch::Tensor& bootstrap, double gamma,
                        envs::RunningMeanStd* return_stats, std::vector<double>& discounted);

}  // namespace clearsight::rl
