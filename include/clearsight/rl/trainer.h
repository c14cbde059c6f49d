// Training loops of the RL algorithms over the vector environment: progress, periodic evaluation,
// atomic checkpoints (networks, optimisers, replay buffer, environment and generator states) and
// exact resumption; plus policy evaluation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "clearsight/envs/env.h"
#include "clearsight/rl/policy.h"
#include "clearsight/rl/ppo.h"
#include "clearsight/rl/sac.h"

namespace clearsight::rl {

/// What `rl train` runs.
struct RlTrainConfig {
  std::string env = "Hopper-v4";
  /// "sac" or "ppo" (see rl_algorithm_names()).
  std::string algo = "sac";
  /// Environment steps in total (summed over the vector environments).
  std::int64_t steps = 1000000;
  std::uint64_t seed = 0;
  int num_envs = 1;
  std::int64_t eval_every = 10000;
  int eval_episodes = 5;
  std::int64_t checkpoint_every = 25000;
  /// Keep the replay buffer in checkpoints (needed for an exact resumption of SAC).
  bool save_buffer = true;
  std::int64_t log_every = 1000;
  /// Stop (with a checkpoint) after this many steps of this invocation (0: run to the end); not
  /// recorded in the run's config.
  std::int64_t stop_after = 0;
  /// Draw a progress bar (not recorded in the run's config).
  bool progress = true;
  SacConfig sac;
  PpoConfig ppo;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("env", env, "registered environment name");
    v("algo", algo, "sac or ppo");
    v("steps", steps, "total environment steps");
    v("seed", seed, "seed of networks, environments and sampling");
    v("num_envs", num_envs, "parallel environments");
    v("eval_every", eval_every, "steps between evaluations");
    v("eval_episodes", eval_episodes, "episodes per evaluation");
    v("checkpoint_every", checkpoint_every, "steps between checkpoints");
    v("save_buffer", save_buffer, "store the replay buffer in checkpoints");
    v("log_every", log_every, "steps between metrics records");
    v("sac", sac, "SAC settings");
    v("ppo", ppo, "PPO settings");
  }
  /// Throws ConfigError/UnknownNameError on invalid values.
  void validate() const;
};

/// Returns and lengths of evaluation episodes.
struct EvalStats {
  std::vector<double> returns;
  std::vector<std::int64_t> lengths;
  /// Mean return.
  double mean() const;
  /// Standard deviation of the returns.
  double stddev() const;
};

/// Runs episodes of policy in env_name, episode i reset with derive_seed(seed, i); on_step (if
/// set) is called after every step with the environment.
EvalStats evaluate_policy(Policy& policy, const std::string& env_name, int episodes,
                          std::uint64_t seed, bool deterministic = true,
                          const std::function<void(const envs::Env&)>& on_step = {});

/// Outcome of train_rl.
struct RlTrainResult {
  std::int64_t steps = 0;
  bool finished = false;
  double last_eval_return = 0.0;
  double best_eval_return = 0.0;
};

/// Trains into run_dir (config.json, metrics.jsonl, checkpoint/, policy/, best/, summary.json);
/// when run_dir holds a checkpoint, continues it exactly (its recorded config wins; steps may
/// grow).
RlTrainResult train_rl(const RlTrainConfig& config, const std::filesystem::path& run_dir);

/// The run folder of one seed of a multi-seed run: dir/seed-<seed>.
std::filesystem::path seed_run_dir(const std::filesystem::path& dir, std::uint64_t seed);

/// Trains seeds config.seed, config.seed + 1, ... (seeds of them), each into its own run folder
/// seed_run_dir(dir, seed) exactly as train_rl would train it alone (same weights, bit for bit),
/// up to workers of them at once in threads of this process (SAC; PPO's seeds run one after
/// another). Each folder resumes on its own; dir/seeds.json sums the seeds up (mean and sample
/// standard deviation of the last and best evaluation returns, and each seed's figures).
std::vector<RlTrainResult> train_rl_seeds(const RlTrainConfig& config,
                                          const std::filesystem::path& dir, int seeds, int workers);

/// Names of the RL algorithms ("ppo", "sac").
std::vector<std::string> rl_algorithm_names();

}  // namespace clearsight::rl
