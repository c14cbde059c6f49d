// SENSOR's training loop: the world-model agent with a motor and a sensor policy learning from
// an imitation reward in imagination, the discriminator ensemble and the adaptive epsilon, on a
// pixel environment whose camera the agent moves; resumable, with the true return evaluated
// (never seen by the learner) and videos of what the agent sees beside the expert's view.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "clearsight/envs/render.h"
#include "clearsight/sensor/config.h"

namespace clearsight::sensor {

/// Outcome of train_sensor.
struct SensorTrainResult {
  std::int64_t steps = 0;
  bool finished = false;
  double last_eval_return = 0.0;
  double best_eval_return = 0.0;
  /// Camera gap to the expert's pose at the end of the last evaluation episode.
  double last_pose_gap = 0.0;
};

/// Trains into run_dir (config.json, metrics.jsonl with `camera` and `pose_gap`, replay/,
/// checkpoint/, agent/, best/, videos/, summary.json); continues exactly from a checkpoint.
SensorTrainResult train_sensor(const SensorTrainConfig& config,
                               const std::filesystem::path& run_dir);

}  // namespace clearsight::sensor
