// A trained policy loaded for acting (expert demonstrations, evaluation, imitation): observations
// in, actions out, on the CPU without gradients. Policy directories are written by `rl train`.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

namespace clearsight::rl {

/// A policy ready to act in its environment.
class Policy {
 public:
  virtual ~Policy() = default;
  /// Name of the registered environment the policy was trained on ("Hopper-v4").
  virtual const std::string& env_name() const = 0;
  /// Observation size.
  virtual std::int64_t observation_size() const = 0;
  /// Action size.
  virtual std::int64_t action_size() const = 0;
  /// Writes the action for one raw (unnormalised) observation into action; a stochastic action
  /// draws from torch's default generator (seeded by seed_everything).
  virtual void act(std::span<const double> observation, std::span<double> action,
                   bool deterministic) = 0;
  /// Batched: raw observations [N, obs] float32 -> actions [N, act] float32 in [-1, 1].
  virtual torch::Tensor act_batch(const torch::Tensor& observations, bool deterministic) = 0;
  /// The policy's recorded facts (algorithm, environment, sizes, evaluated return...).
  virtual const nlohmann::json& info() const = 0;
};

/// The policy directory name_or_dir names: itself when it exists, else the expert zoo's policy
/// of that name (assets/experts/<name>, from any working directory); throws IoError listing the
/// zoo otherwise.
std::filesystem::path resolve_policy_dir(const std::filesystem::path& name_or_dir);

/// Loads a policy directory (policy.json + actor.safetensors [+ obs_norm.safetensors]) or a zoo
/// expert by name ("swimmer"); throws IoError when missing, FormatError/ShapeError when corrupt
/// or inconsistent.
std::unique_ptr<Policy> load_policy(const std::filesystem::path& name_or_dir);

/// A policy that samples uniformly in [-1, 1] (non-expert data, baselines, tests).
std::unique_ptr<Policy> make_random_policy(const std::string& env_name);

}  // namespace clearsight::rl
