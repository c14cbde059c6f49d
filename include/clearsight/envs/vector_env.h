// N copies of an environment stepped together on a thread pool, returning batched tensors.
// Episodes reset automatically; the observation returned for a finished environment is the first
// of its next episode, and the last one of the finished episode is in final_observations.
#pragma once

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/core/thread_pool.h"
#include "clearsight/envs/env.h"

namespace clearsight::envs {

/// Batched results of one vector step; tensors are owned by the VectorEnv and overwritten by the
/// next step (clone what you keep).
struct VectorStep {
  /// [N, obs] float32: current observations (reset ones where an episode ended).
  torch::Tensor observations;
  /// [N] float32.
  torch::Tensor rewards;
  /// [N] bool.
  torch::Tensor terminated;
  /// [N] bool.
  torch::Tensor truncated;
  /// [N, obs] float32: last observation of episodes that ended this step (else a copy of
  /// observations).
  torch::Tensor final_observations;
  /// [N] float32: return of the episode that ended this step (0 elsewhere).
  torch::Tensor episode_returns;
  /// [N] int64: length of the episode that ended this step (0 elsewhere).
  torch::Tensor episode_lengths;
};

/// A batch of independent environments of one kind.
class VectorEnv {
 public:
  /// Creates num_envs environments with factory and steps them on threads threads.
  VectorEnv(std::function<std::unique_ptr<Env>()> factory, int num_envs, int threads = 1);
  /// Creates num_envs registered environments by name.
  VectorEnv(const std::string& name, int num_envs, int threads = 1);

  /// Resets every environment; environment i is seeded with derive_seed(seed, i).
  const torch::Tensor& reset(std::uint64_t seed);
  /// Steps every environment with actions [N, act] (float32 or float64, CPU).
  const VectorStep& step(const torch::Tensor& actions);

  /// Every environment's state, the running episode returns/lengths and the current
  /// observations, for an exact resumption (see Env::save_state).
  nlohmann::json save_state() const;
  /// Restores save_state's output into environments of the same kind and number.
  void load_state(const nlohmann::json& state);
  /// The current observations [N, obs] (as returned by the last reset or step).
  const torch::Tensor& observations() const { return out_.observations; }

  /// Number of environments.
  int size() const { return static_cast<int>(envs_.size()); }
  /// The spec shared by all environments.
  const EnvSpec& spec() const { return envs_.front()->spec(); }
  /// Environment i.
  Env& env(int i) { return *envs_[i]; }
  /// Threads used for stepping.
  int threads() const { return pool_.size(); }

 private:
  std::vector<std::unique_ptr<Env>> envs_;
  ThreadPool pool_;
  std::int64_t obs_size_;
  std::int64_t act_size_;
  std::vector<std::vector<double>> obs_buffers_;
  std::vector<std::vector<double>> action_buffers_;
  std::vector<double> running_returns_;
  std::vector<std::int64_t> running_lengths_;
  torch::Tensor actions_f64_;
  VectorStep out_;
  bool needs_reset_ = true;
};

}  // namespace clearsight::envs
