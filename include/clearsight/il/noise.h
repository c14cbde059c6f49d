// Noise models for demonstrations, composable and recorded in the data. A spec is a compact string
// of components joined by '+' (or ','), applied in the order written:
//   gauss:S        s += N(0, (S * std_d)^2) per observation dimension d
//   mult:S         s *= 1 + N(0, S^2)
//   uniform:S      s += U(-S * std_d, S * std_d)
//   drop:I,J,...   s[I] = s[J] = 0 (zero-based dimensions)
//   drop-rand:P    each observation entry is zeroed with probability P
//   action:S       recorded actions a + N(0, S^2) clipped to [-1, 1]; the clean action was executed
//   action-exec:S  the same noise, executed in the environment and recorded (collection only)
//   mix:P          a share P of the episodes comes from a non-expert policy (collection only)
// std_d is each dimension's standard deviation over the clean observations, so one sigma means the
// same relative corruption for joint angles and velocities alike.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace clearsight::il {

struct DemoDataset;

/// The kinds of noise a NoiseSpec composes.
enum class NoiseKind { kGauss, kMult, kUniform, kDrop, kDropRand, kAction, kActionExec, kMix };

/// Spec name of a kind ("gauss", "action-exec"...).
std::string_view noise_kind_name(NoiseKind kind);

/// Every kind's spec name, in declaration order.
std::vector<std::string> noise_kind_names();

/// One noise component.
struct NoiseComponent {
  NoiseKind kind = NoiseKind::kGauss;
  /// Sigma (gauss, mult, uniform, action, action-exec), probability (drop-rand) or share (mix).
  double scale = 0.0;
  /// Zeroed dimensions (drop).
  std::vector<std::int64_t> dims;

  /// Whether it changes observations.
  bool is_state_noise() const;
  /// Whether it can only be applied while collecting (action-exec, mix).
  bool is_collection_only() const;
  /// Whether two components are identical.
  bool operator==(const NoiseComponent& other) const = default;
};

/// An ordered composition of noise components (empty: clean data).
struct NoiseSpec {
  std::vector<NoiseComponent> components;

  /// Parses "gauss:0.3+action:0.1"; "" or "none" is the empty spec. Throws UnknownNameError for an
  /// unknown kind (listing the valid ones) and ConfigError for a malformed or out-of-range value.
  static NoiseSpec parse(std::string_view text);
  /// Reads the JSON written by to_json (or a bare component array); throws ConfigError.
  static NoiseSpec from_json(const nlohmann::json& json);
  /// The compact form parse() reads back ("none" when empty).
  std::string to_string() const;
  /// {"spec": "...", "components": [{"kind": "gauss", "scale": 0.3}, ...]}.
  nlohmann::json to_json() const;

  /// Whether there is no component.
  bool empty() const { return components.empty(); }
  /// The components that apply to recorded data (everything but action-exec and mix).
  NoiseSpec post_hoc() const;
  /// This spec followed by other.
  NoiseSpec then(const NoiseSpec& other) const;
  /// Total sigma of executed action noise (root of the summed variances; 0 when none).
  double executed_action_sigma() const;
  /// Share of non-expert episodes (0 when none; the last mix component wins).
  double mix_share() const;
  /// Whether two specs are identical.
  bool operator==(const NoiseSpec& other) const = default;
};

/// Applies the state noise (to observations and next_observations consistently: a state that
/// appears as next_observations[t] and observations[t + 1] gets the same corruption) and the
/// recorded action noise, in order, seeded by seed; std_d comes from the observations before this
/// call. Records the composition in dataset.meta.noise and the seed in meta.noise_seed. Throws
/// ConfigError for collection-only components or a dropped dimension out of range.
void apply_observation_noise(DemoDataset& dataset, const NoiseSpec& spec, std::uint64_t seed);

}  // namespace clearsight::il
