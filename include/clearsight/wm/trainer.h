// The world-model agent's training loop on a pixel environment (collect with the actor plus
// exploration noise, train the model and the behaviour every train_every steps, evaluate, write
// videos, checkpoint) with exact resumption after a kill, and its evaluation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clearsight/envs/render.h"
#include "clearsight/wm/agent.h"
#include "clearsight/wm/config.h"

namespace clearsight::wm {

/// Outcome of train_wm.
struct WmTrainResult {
  std::int64_t steps = 0;
  bool finished = false;
  double last_eval_return = 0.0;
  double best_eval_return = 0.0;
};

/// Trains into run_dir: config.json, metrics.jsonl (model rows with image_loss, reward_loss,
/// kl...; evaluation rows with eval_return), replay/ (one file per episode), checkpoint/
/// (networks, optimisers, open episode, environment, generators), agent/ and best/ (networks),
/// videos/ (agent GIFs, open-loop predictions) and summary.json. When run_dir holds a
/// checkpoint, continues it exactly (its recorded config wins; steps may grow).
WmTrainResult train_wm(const WmTrainConfig& config, const std::filesystem::path& run_dir);

/// Returns of evaluation episodes.
struct WmEvalStats {
  std::vector<double> returns;
  std::vector<std::int64_t> lengths;
  /// Mean return.
  double mean() const;
  /// Standard deviation of the returns.
  double stddev() const;
};

/// Runs episodes with the actor's mode in env from camera, resets seeded derive_seed(seed, i);
/// frames (when not null) receive the first episode's frames.
WmEvalStats evaluate_agent(WorldModelAgent& agent, const WmTrainConfig& config, int episodes,
                           std::uint64_t seed,
                           std::vector<std::vector<std::uint8_t>>* frames = nullptr);

/// Loads a run's recorded config and its latest networks (agent/, or best/ when best).
/// Throws IoError/FormatError when the run has none.
std::pair<WmTrainConfig, std::unique_ptr<WorldModelAgent>> load_wm_run(
    const std::filesystem::path& run_dir, bool best = false);

/// Writes an open-loop comparison of windows (truth, model, |error| rows; one column per
/// window) after context frames as GIF (and the last frame as PNG next to it); returns the
/// mean squared error per pixel of the predicted frames in [0, 1] units.
double write_open_loop(WorldModelAgent& agent, const SequenceBatch& windows, std::int64_t context,
                       const std::filesystem::path& gif);

/// Writes frames (height x width x 3 each) as a GIF scaled up by an integer factor (nearest
/// neighbour); the last frame also as PNG when png is set.
void write_scaled_gif(const std::filesystem::path& path,
                      const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
                      int scale, int delay_ms, const std::filesystem::path& png = {});

/// The recorded camera of a config as a pose.
envs::CameraPose config_camera(const WmTrainConfig& config);

}  // namespace clearsight::wm
