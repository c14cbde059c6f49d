// Sequence replay for world models: whole episodes of uint8 frames with the action taken before
// each frame, the reward received on arriving at it, an optional per-step condition and the
// termination flag; sampled as batch x length windows that stay inside one episode unless
// crossing is allowed (then is_first marks the boundary). Finished episodes are persisted one
// file each, so a run's buffer survives a kill and is part of its resumable state.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/core/rng.h"

namespace clearsight::il {
struct DemoDataset;
}

namespace clearsight::wm {

/// One episode; row t holds frame o_t, the action a_{t-1} that led to it (zero at t = 0), the
/// reward r_{t-1} received with it (zero at t = 0), the condition c_t and whether the episode
/// ended by the task's rules at o_t.
struct Episode {
  /// Frames [T, H, W, 3] uint8.
  torch::Tensor images;
  /// Actions before each frame [T, A] float32.
  torch::Tensor prev_actions;
  /// Rewards [T] float32.
  torch::Tensor rewards;
  /// Conditions [T, C] float32 (C may be 0).
  torch::Tensor conditions;
  /// Termination flags [T] bool.
  torch::Tensor terminals;
  /// Where it came from: "agent", or "demo:<file>".
  std::string source = "agent";

  /// Number of steps T.
  std::int64_t length() const { return images.defined() ? images.size(0) : 0; }
  /// Checks dtypes and consistent lengths; throws ShapeError/NumericError.
  void validate() const;
};

/// A batch of windows, [B, T, ...].
struct SequenceBatch {
  /// Frames [B, T, H, W, 3] uint8.
  torch::Tensor images;
  /// [B, T, A] float32.
  torch::Tensor prev_actions;
  /// [B, T] float32.
  torch::Tensor rewards;
  /// [B, T, C] float32 (undefined when C is 0).
  torch::Tensor conditions;
  /// First step of an episode [B, T] bool.
  torch::Tensor is_first;
  /// [B, T] bool.
  torch::Tensor terminals;
};

/// Builds an episode step by step (the collecting loop's open episode).
class EpisodeBuilder {
 public:
  /// Frames of height x width, actions of action_size, conditions of condition_size.
  EpisodeBuilder(std::int64_t height, std::int64_t width, std::int64_t action_size,
                 std::int64_t condition_size);
  /// Appends a step (frame height x width x 3 bytes, action and condition sizes as built).
  void add(std::span<const std::uint8_t> frame, std::span<const float> prev_action, float reward,
           std::span<const float> condition, bool terminal);
  /// Steps so far.
  std::int64_t length() const { return length_; }
  /// The episode so far (copies).
  Episode episode(const std::string& source = "agent") const;
  /// Restores the builder from a partial episode.
  void assign(const Episode& episode);
  /// Drops every step.
  void clear();

 private:
  std::int64_t height_, width_, action_size_, condition_size_;
  std::int64_t length_ = 0;
  std::vector<std::uint8_t> images_;
  std::vector<float> actions_, rewards_, conditions_;
  std::vector<std::uint8_t> terminals_;
};

/// Episodes in memory, optionally mirrored into a directory of one file per episode.
class SequenceReplay {
 public:
  /// An empty buffer; directory (optional) receives each added episode as
  /// episode-NNNNNN.safetensors.
  explicit SequenceReplay(std::filesystem::path directory = {});
  /// Adds a finished episode (validated; written to the directory when there is one).
  void add(Episode episode);
  /// Number of episodes.
  std::int64_t episodes() const { return static_cast<std::int64_t>(episodes_.size()); }
  /// Steps over all episodes.
  std::int64_t steps() const { return steps_; }
  /// Episode i.
  const Episode& episode(std::int64_t i) const { return episodes_.at(i); }
  /// Whether a window of length can be sampled.
  bool can_sample(std::int64_t length, bool cross_boundaries = false) const;
  /// batch windows of length steps, uniform over valid start positions; within one episode
  /// unless cross_boundaries (then consecutive episodes join and is_first marks the joins).
  /// Throws RuntimeError when no window fits.
  SequenceBatch sample(std::int64_t batch, std::int64_t length, RngEngine& rng,
                       bool cross_boundaries = false) const;
  /// The window [start, start + length) of episode i as a batch of one.
  SequenceBatch window(std::int64_t episode, std::int64_t start, std::int64_t length) const;
  /// Loads the first count episodes of a directory written by add (all when count < 0) and
  /// deletes later ones (left by a run killed after its last checkpoint). Throws IoError or
  /// FormatError naming the file.
  void load_directory(std::int64_t count = -1);

 private:
  std::filesystem::path directory_;
  std::vector<Episode> episodes_;
  std::int64_t steps_ = 0;
};

/// Saves an episode as safetensors (atomically).
void save_episode(const std::filesystem::path& path, const Episode& episode);
/// Loads an episode; throws IoError/FormatError/ShapeError.
Episode load_episode(const std::filesystem::path& path);

/// The episodes of a pixel demonstration file in the replay's convention (row t: frame of s_t,
/// action a_{t-1}, reward r_{t-1}), frames of camera view `view` resized to image_size (area
/// average). Throws ConfigError when the file has no frames or the view does not exist,
/// ShapeError when action_size differs.
std::vector<Episode> demo_episodes(const il::DemoDataset& demos, std::int64_t view,
                                   std::int64_t image_size, std::int64_t action_size,
                                   const std::string& source);

}  // namespace clearsight::wm
