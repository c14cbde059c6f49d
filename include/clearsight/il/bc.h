// Behavioural cloning: maximum-likelihood training of a Gaussian policy on demonstration
// transitions (observation -> recorded action), with held-out validation, periodic evaluation in
// the demonstrations' environment and a policy directory that rl::load_policy reads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "clearsight/il/demos.h"

namespace clearsight::il {

/// What train_bc does.
struct BcConfig {
  /// Hidden layer sizes of the actor's mean MLP (tanh).
  std::vector<std::int64_t> hidden = {256, 256};
  double lr = 1e-3;
  std::int64_t batch_size = 256;
  /// Gradient steps.
  std::int64_t steps = 10000;
  /// Weight of the bonus on the Gaussian's entropy (subtracted from the loss).
  double entropy_coef = 0.0;
  /// Weight of the explicit L2 penalty on the weight matrices (biases and log-std are free).
  double l2 = 0.0;
  /// Normalise observations with their mean and std over the demonstrations (stored with the
  /// policy, so load_policy applies the same transformation).
  bool normalize_observations = true;
  /// Share of the transitions held out for validation (0: none).
  double validation_share = 0.1;
  /// Gradient steps between evaluations in the environment (and at the last step).
  std::int64_t eval_every = 2000;
  /// Episodes per evaluation (0: never run the environment; best/ then follows validation NLL).
  int eval_episodes = 5;
  /// Gradient steps between metrics records (validation NLL and MSE, training loss).
  std::int64_t log_every = 500;
  /// Seeds the split, the initialisation, the minibatches and the evaluation episodes.
  std::uint64_t seed = 0;
  /// The demonstration file, when the data came from one (recorded in the summary only).
  std::string demos;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("hidden", hidden, "hidden layer sizes of the actor (tanh)");
    v("lr", lr, "Adam learning rate");
    v("batch_size", batch_size, "transitions per minibatch");
    v("steps", steps, "gradient steps");
    v("entropy_coef", entropy_coef, "entropy bonus weight");
    v("l2", l2, "L2 penalty on the weight matrices");
    v("normalize_observations", normalize_observations, "normalise observations by demo stats");
    v("validation_share", validation_share, "share of transitions held out for validation");
    v("eval_every", eval_every, "gradient steps between evaluations in the environment");
    v("eval_episodes", eval_episodes, "episodes per evaluation (0: none)");
    v("log_every", log_every, "gradient steps between metrics records");
    v("seed", seed, "seed of the split, networks, minibatches and evaluation");
    v("demos", demos, "demonstration file (recorded in the summary)");
  }
  /// Throws ConfigError on invalid values.
  void validate() const;
};

/// Outcome of train_bc (NaN where a figure was not measured).
struct BcResult {
  std::int64_t steps = 0;
  /// Training transitions and held-out ones.
  std::int64_t train_size = 0;
  std::int64_t validation_size = 0;
  /// Mean return of the last evaluation of policy/.
  double final_eval_return = std::numeric_limits<double>::quiet_NaN();
  /// Best mean evaluation return (the policy in best/).
  double best_eval_return = std::numeric_limits<double>::quiet_NaN();
  /// Validation negative log-likelihood per transition of the final policy.
  double final_validation_nll = std::numeric_limits<double>::quiet_NaN();
  /// Validation mean squared error of the final policy's mean action, per action entry.
  double final_validation_mse = std::numeric_limits<double>::quiet_NaN();
  /// Training loss of the last minibatch.
  double final_train_loss = std::numeric_limits<double>::quiet_NaN();
  /// Policy directories: the final one and the best one.
  std::filesystem::path policy_dir;
  std::filesystem::path best_dir;
};

/// Trains a behavioural-cloning policy on demos into run_dir (config.json, metrics.jsonl,
/// policy/, best/, summary.json; a previous run's files there are replaced). Calls
/// seed_everything(config.seed). Observations are normalised with statistics over all demo
/// observations; actions are clamped to [-0.999, 0.999]. best/ holds the policy with the best
/// evaluation return (lowest validation NLL when eval_episodes is 0; the final one when neither is
/// measured). Throws ConfigError on an invalid config or too few transitions, UnknownNameError
/// when demos.meta.env is not a registered environment, ShapeError when the data's sizes differ
/// from that environment's or are inconsistent.
BcResult train_bc(const DemoDataset& demos, const BcConfig& config,
                  const std::filesystem::path& run_dir);

}  // namespace clearsight::il
