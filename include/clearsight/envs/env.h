// The environment interface in the Gymnasium spirit, designed for loops that do not allocate:
// observations are written into caller-owned buffers and step info holds named scalars inline.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace clearsight::envs {

/// A box of real vectors: shape plus per-element bounds (which may be infinite).
struct Box {
  std::vector<std::int64_t> shape;
  std::vector<double> low;
  std::vector<double> high;

  /// A box of the given shape with the same bounds for every element.
  static Box uniform(std::vector<std::int64_t> shape, double low, double high);
  /// Number of elements.
  std::int64_t size() const;
  /// Whether x has size() elements, all within bounds.
  bool contains(std::span<const double> x) const;
};

/// Named scalars reported by a step (reward terms, positions...), stored without allocation.
class Info {
 public:
  /// Most entries an Info holds.
  static constexpr int kCapacity = 16;
  /// Removes every entry.
  void clear() { size_ = 0; }
  /// Sets name (a string literal or other static string) to value, adding it if new.
  void set(const char* name, double value);
  /// Whether name is present.
  bool has(std::string_view name) const;
  /// The value of name; throws UnknownNameError listing the present names.
  double get(std::string_view name) const;
  /// Number of entries.
  int size() const { return size_; }
  /// Name of entry i.
  const char* name(int i) const { return names_[i]; }
  /// Value of entry i.
  double value(int i) const { return values_[i]; }

 private:
  std::array<const char*, kCapacity> names_{};
  std::array<double, kCapacity> values_{};
  int size_ = 0;
};

/// What one step returns besides the observation.
struct StepResult {
  double reward = 0.0;
  /// The episode ended by the task's rules (fell over...).
  bool terminated = false;
  /// The episode was cut by the time limit.
  bool truncated = false;
  /// Reward terms ("reward_forward", "reward_ctrl", "reward_survive"...) and diagnostics.
  Info info;
};

/// Static facts about an environment.
struct EnvSpec {
  std::string name;
  std::string description;
  Box observation_space;
  Box action_space;
  /// Seconds of simulated time per step (timestep x frame skip).
  double dt = 0.0;
  /// Physics steps per env step.
  int frame_skip = 1;
  /// Steps after which an episode is truncated.
  int max_episode_steps = 1000;
  /// Names of the reward terms whose sum is the reward (with their signs folded in).
  std::vector<std::string> reward_terms;
};

/// An environment: reset to a seeded initial state, then step with actions.
class Env {
 public:
  virtual ~Env() = default;
  /// The environment's static facts.
  virtual const EnvSpec& spec() const = 0;
  /// Reseeds the environment's generator and resets; writes the first observation.
  virtual void reset(std::uint64_t seed, std::span<double> observation) = 0;
  /// Resets with the next initial state of the current generator.
  virtual void reset(std::span<double> observation) = 0;
  /// Applies an action (clamped to the action space by the simulator) and advances one step.
  virtual StepResult step(std::span<const double> action, std::span<double> observation) = 0;
  /// Steps taken in the current episode.
  virtual int elapsed_steps() const = 0;
  /// Serialises the dynamic state (simulation, generator, step count) so that load_state on an
  /// environment of the same kind continues bit-identically; throws RuntimeError if unsupported.
  virtual std::string save_state() const;
  /// Restores a state written by save_state; throws FormatError when it does not fit.
  virtual void load_state(std::string_view state);

  /// Convenience: reset(seed) returning a new observation vector.
  std::vector<double> reset(std::uint64_t seed);
  /// Convenience: step returning the observation in out (resized if needed).
  StepResult step(std::span<const double> action, std::vector<double>& out);
};

/// Creates an environment by name from the explicit registry (src/registry/envs.cc).
std::unique_ptr<Env> make_env(const std::string& name);

/// Names of every registered environment, sorted.
std::vector<std::string> env_names();

/// One-line description of a registered environment.
std::string env_description(const std::string& name);

}  // namespace clearsight::envs
