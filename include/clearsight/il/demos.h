// Demonstration datasets: transitions in the D4RL layout (observations, actions, rewards,
// next_observations, terminals, timeouts), optional pixel frames with their camera poses, and the
// facts of their making; saved to and validated from HDF5 files that h5py reads as D4RL files.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace clearsight::il {

/// How a dataset was made; stored as attributes of the HDF5 file.
struct DemoMetadata {
  /// Registered environment name ("Hopper-v4").
  std::string env;
  /// Where the expert came from (its policy directory, or "random").
  std::string expert;
  /// Mean return of the expert's episodes in this dataset (NaN when unknown).
  double expert_return = std::numeric_limits<double>::quiet_NaN();
  /// Every noise applied, as NoiseSpec JSON ({"spec": "...", "components": [...]}); "" or a record
  /// without components when clean.
  std::string noise;
  /// Seed of the collection (episode resets, policy sampling, executed noise, mixture).
  std::uint64_t seed = 0;
  /// Seed of the last post-hoc noise application.
  std::uint64_t noise_seed = 0;
  /// Whether the expert acted deterministically.
  bool deterministic = true;
  /// ClearSight version that wrote the data.
  std::string clearsight_version;
  /// Return of each episode, in order.
  std::vector<double> episode_returns;
  /// Transitions of each episode; they sum to the dataset's size.
  std::vector<std::int64_t> episode_lengths;
  /// Whether each episode came from the expert (false: a non-expert mixture trajectory).
  std::vector<std::uint8_t> episode_expert;
};

/// Transitions of one or more episodes, stored row by row in episode order.
struct DemoDataset {
  /// Observations s_t, [T, obs] float32.
  torch::Tensor observations;
  /// Actions a_t as recorded, [T, act] float32.
  torch::Tensor actions;
  /// Rewards r_t, [T] float32.
  torch::Tensor rewards;
  /// Observations s_{t+1}, [T, obs] float32.
  torch::Tensor next_observations;
  /// Episode ended by the task's rules after this step, [T] bool.
  torch::Tensor terminals;
  /// Episode cut by the time limit after this step, [T] bool.
  torch::Tensor timeouts;
  /// Optional frames of s_t, [T, H, W, 3] uint8 (undefined when none).
  torch::Tensor images;
  /// Camera pose of each frame (distance, azimuth, elevation), [T, 3] float32 (with images).
  torch::Tensor camera_poses;
  /// How the data was made.
  DemoMetadata meta;

  /// Number of transitions T.
  std::int64_t size() const;
  /// Observation size.
  std::int64_t observation_size() const;
  /// Action size.
  std::int64_t action_size() const;
  /// Whether pixel frames are present.
  bool has_images() const { return images.defined(); }
  /// Number of episodes.
  std::int64_t episodes() const { return static_cast<std::int64_t>(meta.episode_lengths.size()); }
  /// Index of the first transition of each episode (episodes() entries).
  std::vector<std::int64_t> episode_starts() const;
  /// Fills the episode lengths and returns from terminals/timeouts (a last unfinished episode
  /// counts too); every episode is marked as expert.
  void derive_episodes();
  /// Checks dtypes, ranks, consistent lengths (ShapeError) and finite values (NumericError).
  void validate() const;
};

/// Writes a dataset to an HDF5 file atomically (temporary file + rename: an existing file stays
/// intact when anything fails); validates first. Throws ShapeError/NumericError/IoError.
void save_demos(const std::filesystem::path& path, const DemoDataset& dataset);

/// Reads and validates a demonstration file. Throws IoError when it is missing, FormatError when
/// it is not HDF5, truncated, corrupt or lacks a dataset or attribute (named), ShapeError on wrong
/// ranks or lengths, NumericError on NaN/Inf, and ConfigError when expected_env is set and the
/// file is for another environment.
DemoDataset load_demos(const std::filesystem::path& path, const std::string& expected_env = "");

/// A summary for `demos inspect`: sizes, episodes, return statistics, noise, per-dimension
/// observation mean/std and the metadata.
nlohmann::json demo_summary(const DemoDataset& dataset);

}  // namespace clearsight::il
