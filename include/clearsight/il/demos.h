// Demonstration datasets: transitions in the D4RL layout (observations, actions, rewards,
// next_observations, terminals, timeouts), optional pixel frames with their camera poses (one or
// more cameras per step), and the facts of their making; saved to and validated from HDF5 files
// that h5py reads as D4RL files.
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

/// Frames of one extra camera: the dataset's steps seen from another pose (views 1, 2, ...).
struct DemoView {
  /// Name of the camera ("" saves as "view<k>").
  std::string name;
  /// Frames of s_t, [T, H, W, 3] uint8, with the H and W of the dataset's images.
  torch::Tensor images;
  /// Camera pose of each frame (distance, azimuth, elevation), [T, 3] float32.
  torch::Tensor camera_poses;
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
  /// Cameras beyond the first (views 1, 2, ...; images/camera_poses are view 0); needs images.
  std::vector<DemoView> views;
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
  /// Camera views: 0 without images, else 1 + views.size().
  std::int64_t view_count() const;
  /// Frames of view k, [T, H, W, 3] uint8 (view 0: images); ConfigError when k is out of range.
  const torch::Tensor& view_images(std::int64_t k) const;
  /// Camera poses of view k, [T, 3] float32 (view 0: camera_poses); ConfigError out of range.
  const torch::Tensor& view_camera_poses(std::int64_t k) const;
  /// Name of view k ("view0" for view 0, "view<k>" for an unnamed extra view).
  std::string view_name(std::int64_t k) const;
  /// Number of episodes.
  std::int64_t episodes() const { return static_cast<std::int64_t>(meta.episode_lengths.size()); }
  /// Index of the first transition of each episode (episodes() entries).
  std::vector<std::int64_t> episode_starts() const;
  /// Fills the episode lengths and returns from terminals/timeouts (a last unfinished episode
  /// counts too); every episode is marked as expert.
  void derive_episodes();
  /// Checks dtypes, ranks, consistent lengths (ShapeError) and finite values (NumericError);
  /// every view must have T frames of view 0's height and width.
  void validate() const;
};

/// Writes a dataset to an HDF5 file atomically (temporary file + rename: an existing file stays
/// intact when anything fails); validates first. Throws ShapeError/NumericError/IoError.
void save_demos(const std::filesystem::path& path, const DemoDataset& dataset);

/// Reads and validates a demonstration file. Throws IoError when it is missing, FormatError when
/// it is not HDF5, truncated, corrupt or lacks a dataset or attribute (named; views/<k>/images and
/// views/<k>/camera_poses included), ShapeError on wrong ranks or lengths, NumericError on
/// NaN/Inf, and ConfigError when expected_env is set and the file is for another environment.
DemoDataset load_demos(const std::filesystem::path& path, const std::string& expected_env = "");

/// The demonstration file layout this build writes and reads (attribute format_version; a file
/// without it is read as version 1).
inline constexpr std::int64_t kDemoFormatVersion = 1;

/// Checks that the demonstrations' environment is registered and has their observation and action
/// widths; throws UnknownNameError or ShapeError naming both sizes.
void check_demos_fit_env(const DemoDataset& demos);

/// A summary for `demos inspect`: sizes, episodes, return statistics, noise, per-dimension
/// observation mean/std, each camera view (shape, first/last pose, pixel mean, constant frames)
/// and the metadata.
nlohmann::json demo_summary(const DemoDataset& dataset);

}  // namespace clearsight::il
