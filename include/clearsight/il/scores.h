// D4RL normalised scores: 100 (R - R_random) / (R_expert - R_random) with the reference returns
// of D4RL's MuJoCo locomotion datasets (Fu et al. 2020), for the environments that have them.
#pragma once

#include <string>
#include <vector>

namespace clearsight::il {

/// Reference returns of one environment: a uniformly random policy and D4RL's expert.
struct D4rlReference {
  double random = 0.0;
  double expert = 0.0;
};

/// Whether env has D4RL reference returns (Hopper, HalfCheetah, Walker2d, Ant v4); false for any
/// other name, registered or not.
bool has_d4rl_reference(const std::string& env);

/// The reference returns of env; throws UnknownNameError when it has none (listing those that do).
D4rlReference d4rl_reference(const std::string& env);

/// Environments with D4RL reference returns, sorted.
std::vector<std::string> d4rl_reference_envs();

/// 100 (ret - random) / (expert - random) for env; NaN for a registered environment without a
/// D4RL reference (Swimmer-v4, the DMC tasks: report raw returns there). Throws UnknownNameError
/// for a name that is not a registered environment (listing the valid ones).
double d4rl_normalized_score(const std::string& env, double ret);

}  // namespace clearsight::il
