// Pixel observations of MuJoCo environments: an orbiting camera that can be moved within limits
// (the sensor action of third-person imitation), frame stacking, and rendering per step.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "clearsight/envs/mujoco_env.h"
#include "clearsight/envs/render.h"

namespace clearsight::envs {

/// Allowed camera poses; leaving them resets the camera to its initial pose.
struct CameraLimits {
  double distance_min = 0.0;
  double distance_max = 10.0;
  double azimuth_min = 0.0;
  double azimuth_max = 180.0;
  double elevation_min = -90.0;
  double elevation_max = 90.0;

  /// Whether pose lies within the limits (inclusive).
  bool contains(const CameraPose& pose) const;
};

/// A camera pose that moves by deltas and resets when it leaves its limits.
class MovableCamera {
 public:
  /// Starts at initial; throws ConfigError if initial is outside limits.
  explicit MovableCamera(CameraPose initial = kExpertCamera, CameraLimits limits = {});
  /// The current pose.
  const CameraPose& pose() const { return pose_; }
  /// The pose restored by reset().
  const CameraPose& initial() const { return initial_; }
  /// The limits.
  const CameraLimits& limits() const { return limits_; }
  /// Moves by (d distance, d azimuth, d elevation); returns true when the move left the limits
  /// and the camera was reset instead.
  bool move(double d_distance, double d_azimuth, double d_elevation);
  /// Sets the pose; throws ConfigError outside the limits.
  void set(const CameraPose& pose);
  /// Back to the initial pose.
  void reset() { pose_ = initial_; }

 private:
  CameraPose initial_;
  CameraLimits limits_;
  CameraPose pose_;
};

/// Pixel-observation settings.
struct PixelOptions {
  RenderOptions render;
  /// Starting camera pose (the expert's by default).
  CameraPose camera = kExpertCamera;
  CameraLimits limits;
  /// Frames stacked in each observation (oldest first).
  int frame_stack = 1;
  /// Largest camera change per step for sensor actions in [-1, 1]: (distance, azimuth, elevation).
  CameraPose max_camera_delta{0.25, 10.0, 10.0};
};

/// A MuJoCo environment observed through an offscreen camera.
/// Observations are uint8 arrays of shape [frame_stack, height, width, 3].
class PixelEnv {
 public:
  /// Wraps env; throws RuntimeError if no offscreen renderer can be created.
  PixelEnv(std::unique_ptr<MujocoEnv> env, PixelOptions options = {});

  /// The wrapped environment's spec (its action space is the motor action space).
  const EnvSpec& spec() const { return env_->spec(); }
  /// Observation shape [frame_stack, height, width, 3].
  std::vector<std::int64_t> observation_shape() const;
  /// Bytes of one observation.
  std::size_t observation_bytes() const { return frame_bytes_ * options_.frame_stack; }

  /// Reseeds, resets the body and the camera, and writes the first observation (the first frame
  /// repeated frame_stack times).
  void reset(std::uint64_t seed, std::span<std::uint8_t> pixels);
  /// Steps the body with a motor action and writes the new observation.
  StepResult step(std::span<const double> motor_action, std::span<std::uint8_t> pixels);
  /// Steps the body and moves the camera by sensor_action in [-1, 1]^3 scaled by
  /// max_camera_delta; info gets "camera_reset" (1 when the move left the limits).
  StepResult step(std::span<const double> motor_action, std::span<const double> sensor_action,
                  std::span<std::uint8_t> pixels);
  /// Renders the current state into one frame (height x width x 3) without stepping.
  void render_frame(std::span<std::uint8_t> frame);

  /// The camera.
  MovableCamera& camera() { return camera_; }
  /// The wrapped environment.
  MujocoEnv& env() { return *env_; }
  /// The renderer.
  Renderer& renderer() { return renderer_; }

 private:
  void push_frame_and_write(std::span<std::uint8_t> pixels);

  std::unique_ptr<MujocoEnv> env_;
  PixelOptions options_;
  Renderer renderer_;
  MovableCamera camera_;
  std::size_t frame_bytes_;
  std::vector<std::uint8_t> frames_;  // Ring of frame_stack frames.
  int newest_ = 0;
  std::vector<double> state_;
};

/// Creates a MuJoCo environment by registered name (throws if it is not MuJoCo-based).
std::unique_ptr<MujocoEnv> make_mujoco_env(const std::string& name);

}  // namespace clearsight::envs
