// Pieces every pixel-agent training loop shares (the world-model agent's and SENSOR's): the
// bookkeeping saved in checkpoints, metric means between records, generator states as text, and
// the run's video writers.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "clearsight/core/rng.h"
#include "clearsight/wm/agent.h"

namespace clearsight::wm {

/// Steps, episodes, updates, returns and time of a loop; saved in checkpoints.
struct LoopState {
  std::int64_t step = 0;
  std::int64_t episodes = 0;
  std::int64_t updates = 0;
  double episode_return = 0;
  double best_eval = -std::numeric_limits<double>::infinity();
  double last_eval = 0;
  double seconds = 0;
  /// Returns of the last 10 training episodes.
  std::deque<double> recent_returns;

  /// As JSON (best_eval null until the first evaluation).
  nlohmann::json to_json() const;
  /// From to_json's output; throws nlohmann::json::exception on missing keys.
  void from_json(const nlohmann::json& j);
  /// Ends a training episode: records its return and starts the next at 0.
  void end_episode();
  /// Mean of recent_returns (0 when none).
  double recent_mean() const;
};

/// Means of named scalars added since the last write_into.
class MetricsWindow {
 public:
  /// Adds one value of name.
  void add(const std::string& name, double value);
  /// Whether nothing was added since the last write.
  bool empty() const { return count_.empty(); }
  /// Writes each name's mean into record and starts over.
  void write_into(nlohmann::json& record);

 private:
  std::map<std::string, double> sum_;
  std::map<std::string, int> count_;
};

/// Adds the model's and the behaviour's scalars of one update (image_loss, reward_loss, kl,
/// actor_loss, ...).
void add_agent_metrics(MetricsWindow& window, const AgentMetrics& metrics);

/// An engine's state as text.
std::string rng_to_string(const RngEngine& rng);
/// Restores an engine from rng_to_string's text; throws FormatError.
void rng_from_string(RngEngine& rng, const std::string& text);
/// Whether a counter going from before to after crossed a multiple of every.
inline bool crossed(std::int64_t before, std::int64_t after, std::int64_t every) {
  return before / every != after / every;
}

}  // namespace clearsight::wm
