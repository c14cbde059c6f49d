// Collecting demonstrations: roll a policy out in a registered environment, optionally render
// what one or more cameras see at every step, and apply the requested noise models along the way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clearsight/envs/render.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/noise.h"
#include "clearsight/rl/policy.h"

namespace clearsight::il {

/// What collect_demos does.
struct CollectOptions {
  /// Episodes in the dataset (expert and non-expert together).
  int episodes = 10;
  /// Seeds episode resets (derive_seed(seed, episode)), noise, the mixture and policy sampling.
  std::uint64_t seed = 0;
  /// Noise models; executed action noise and the mixture act during collection, the rest after.
  NoiseSpec noise;
  /// Whether the policies act deterministically (their mean action).
  bool deterministic = true;
  /// Steps per episode at most, marked as timeouts (0: the environment's own limit).
  int max_steps = 0;
  /// Frame width of pixel observations; 0 records no frames.
  int pixel_width = 0;
  /// Frame height of pixel observations (0: same as the width).
  int pixel_height = 0;
  /// Camera the frames are rendered from (view 0: DemoDataset::images).
  envs::CameraPose camera = envs::kExpertCamera;
  /// Further cameras rendering the same state at every step (views 1, 2...: DemoDataset::views);
  /// they need pixel frames.
  std::vector<envs::CameraPose> extra_cameras;
  /// Offscreen backend: "auto", "egl" or "osmesa".
  std::string render_backend = "auto";
  /// Policy of the mixture's non-expert episodes; null: actions uniform in the action space.
  rl::Policy* non_expert = nullptr;
  /// Description of the expert recorded in the metadata (its directory, "random"...).
  std::string expert_name;
  /// Draw a progress bar on a terminal.
  bool progress = true;
};

/// Rolls expert (and the mixture's non-expert policy) out in env_name for options.episodes
/// episodes and returns the transitions with their metadata and noise applied. Throws
/// ConfigError when the policy was trained for another environment or an option is invalid,
/// ShapeError when its sizes do not match the environment, RuntimeError when frames are requested
/// but no offscreen renderer works. Stochastic actions draw from torch's default generator, which
/// this function seeds from options.seed.
DemoDataset collect_demos(rl::Policy& expert, const std::string& env_name,
                          const CollectOptions& options);

}  // namespace clearsight::il
