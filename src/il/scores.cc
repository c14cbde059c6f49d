#include "clearsight/il/scores.h"

#include <algorithm>
#include <limits>
#include <map>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/env.h"

namespace clearsight::il {

namespace {

/// D4RL's REF_MIN_SCORE / REF_MAX_SCORE of the MuJoCo locomotion tasks (d4rl/infos.py).
const std::map<std::string, D4rlReference>& references() {
  static const std::map<std::string, D4rlReference> table = {
      {"Ant-v4", {-325.6, 3879.7}},
      {"HalfCheetah-v4", {-280.178953, 12135.0}},
      {"Hopper-v4", {-20.272305, 3234.3}},
      {"Walker2d-v4", {1.629008, 4592.3}},
  };
  return table;
}

std::string hint_for(const std::string& name, const std::vector<std::string>& valid) {
  const std::string hint = did_you_mean(name, valid);
  return hint.empty() ? "" : "; " + hint;
}

}  // namespace

bool has_d4rl_reference(const std::string& env) { return references().count(env) > 0; }

D4rlReference d4rl_reference(const std::string& env) {
  const auto it = references().find(env);
  if (it == references().end()) {
    const auto valid = d4rl_reference_envs();
    CS_THROW(UnknownNameError, "no D4RL reference returns for '", env, "'", hint_for(env, valid),
             " (valid: ", join(valid, ", "), ")");
  }
  return it->second;
}

std::vector<std::string> d4rl_reference_envs() {
  std::vector<std::string> names;
  for (const auto& [name, reference] : references()) names.push_back(name);
  return names;
}

double d4rl_normalized_score(const std::string& env, double ret) {
  const auto it = references().find(env);
  if (it != references().end()) {
    const auto& r = it->second;
    return 100.0 * (ret - r.random) / (r.expert - r.random);
  }
  const auto names = envs::env_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), env) != names.end(),
              "unknown environment '", env, "'", hint_for(env, names),
              " (valid: ", join(names, ", "), ")");
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace clearsight::il
