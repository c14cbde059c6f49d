// Adversarial imitation from (noisy) demonstrations with an off-policy SAC generator: GAIL
// (DAC-style absorbing states and gradient penalty) and DIDA. Progress, evaluation curves,
// atomic checkpoints and exact resumption like `rl train`, and a summary.json.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "clearsight/il/adversarial.h"
#include "clearsight/rl/ppo.h"
#include "clearsight/rl/sac.h"

namespace clearsight::il {

/// What `clearsight imitate --algo gail|dida` runs.
struct ImitateConfig {
  /// "gail" or "dida" ("bc" is handled by train_bc).
  std::string algo = "dida";
  std::string env = "Hopper-v4";
  /// HDF5 demonstrations (load_demos checks they belong to env).
  std::string demos;
  std::int64_t steps = 1000000;
  std::uint64_t seed = 0;
  std::int64_t eval_every = 10000;
  int eval_episodes = 5;
  std::int64_t checkpoint_every = 25000;
  std::int64_t log_every = 1000;
  /// Not recorded: stop (with a checkpoint) after this many steps of this invocation.
  std::int64_t stop_after = 0;
  /// The generator: "sac" (off-policy, DAC-style) or "ppo" (on-policy, the original GAIL).
  std::string generator = "sac";
  /// DAC's absorbing-state treatment of terminal transitions (SAC generator only). Off by
  /// default: with the reward -log(1 - D) > 0 the absorbing loop can out-earn staying alive
  /// (docs/adr/0007-imitation.md).
  bool absorbing = false;
  /// Discriminator updates per PPO rollout (PPO generator only).
  std::int64_t disc_updates_per_rollout = 10;
  /// Environment steps between discriminator updates.
  std::int64_t disc_every = 1;
  /// Use at most this many demonstration transitions (0: all).
  std::int64_t max_demo_transitions = 0;
  rl::SacConfig sac;
  rl::PpoConfig ppo;
  DiscriminatorConfig disc;
  DidaConfig dida;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("algo", algo, "gail or dida");
    v("env", env, "registered environment");
    v("demos", demos, "demonstrations file (HDF5)");
    v("steps", steps, "environment steps");
    v("seed", seed, "seed");
    v("eval_every", eval_every, "steps between evaluations");
    v("eval_episodes", eval_episodes, "episodes per evaluation");
    v("checkpoint_every", checkpoint_every, "steps between checkpoints");
    v("log_every", log_every, "steps between metrics records");
    v("generator", generator, "sac or ppo");
    v("absorbing", absorbing, "absorbing-state handling of terminal transitions (DAC)");
    v("disc_updates_per_rollout", disc_updates_per_rollout, "discriminator updates per rollout");
    v("disc_every", disc_every, "environment steps per discriminator update");
    v("max_demo_transitions", max_demo_transitions, "cap on demonstration transitions (0: all)");
    v("sac", sac, "generator (SAC) settings");
    v("ppo", ppo, "generator (PPO) settings");
    v("disc", disc, "discriminator settings");
    v("dida", dida, "DIDA settings (algo dida)");
  }
  /// Throws ConfigError/UnknownNameError.
  void validate() const;
};

/// Outcome of imitate().
struct ImitateResult {
  std::int64_t steps = 0;
  bool finished = false;
  double last_eval_return = 0.0;
  double best_eval_return = 0.0;
};

/// Trains into run_dir; continues exactly when run_dir holds a checkpoint.
ImitateResult imitate(const ImitateConfig& config, const std::filesystem::path& run_dir);

}  // namespace clearsight::il
