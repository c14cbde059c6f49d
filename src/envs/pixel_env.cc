#include "clearsight/envs/pixel_env.h"

#include <cmath>
#include <cstring>

#include "clearsight/core/error.h"

namespace clearsight::envs {

bool CameraLimits::contains(const CameraPose& p) const {
  return p.distance >= distance_min && p.distance <= distance_max && p.azimuth >= azimuth_min &&
         p.azimuth <= azimuth_max && p.elevation >= elevation_min && p.elevation <= elevation_max;
}

MovableCamera::MovableCamera(CameraPose initial, CameraLimits limits)
    : initial_(initial), limits_(limits), pose_(initial) {
  CS_CHECK_AS(ConfigError, limits_.contains(initial_), "camera pose (", initial.distance, ", ",
              initial.azimuth, ", ", initial.elevation, ") is outside the limits d [",
              limits.distance_min, ", ", limits.distance_max, "], a [", limits.azimuth_min, ", ",
              limits.azimuth_max, "], e [", limits.elevation_min, ", ", limits.elevation_max, "]");
}

bool MovableCamera::move(double d_distance, double d_azimuth, double d_elevation) {
  const CameraPose next{pose_.distance + d_distance, pose_.azimuth + d_azimuth,
                        pose_.elevation + d_elevation};
  if (!limits_.contains(next)) {
    pose_ = initial_;
    return true;
  }
  pose_ = next;
  return false;
}

void MovableCamera::set(const CameraPose& pose) {
  CS_CHECK_AS(ConfigError, limits_.contains(pose), "camera pose (", pose.distance, ", ",
              pose.azimuth, ", ", pose.elevation, ") is outside the camera limits");
  pose_ = pose;
}

PixelEnv::PixelEnv(std::unique_ptr<MujocoEnv> env, PixelOptions options)
    : env_(std::move(env)),
      options_(std::move(options)),
      renderer_(env_->model(), options_.render),
      camera_(options_.camera, options_.limits),
      frame_bytes_(renderer_.frame_bytes()) {
  CS_CHECK_AS(ConfigError, options_.frame_stack >= 1 && options_.frame_stack <= 64,
              "frame_stack must be in 1..64, got ", options_.frame_stack);
  frames_.resize(frame_bytes_ * options_.frame_stack);
  state_.resize(static_cast<std::size_t>(env_->spec().observation_space.size()));
}

std::vector<std::int64_t> PixelEnv::observation_shape() const {
  return {options_.frame_stack, options_.render.height, options_.render.width, 3};
}

void PixelEnv::render_frame(std::span<std::uint8_t> frame) {
  renderer_.render(env_->data(), camera_.pose(), env_->torso_body(), frame);
}

void PixelEnv::push_frame_and_write(std::span<std::uint8_t> pixels) {
  newest_ = (newest_ + 1) % options_.frame_stack;
  render_frame({frames_.data() + newest_ * frame_bytes_, frame_bytes_});
  for (int k = 0; k < options_.frame_stack; ++k) {
    const int slot = (newest_ + 1 + k) % options_.frame_stack;  // Oldest first.
    std::memcpy(pixels.data() + k * frame_bytes_, frames_.data() + slot * frame_bytes_,
                frame_bytes_);
  }
}

void PixelEnv::reset(std::uint64_t seed, std::span<std::uint8_t> pixels) {
  CS_CHECK_AS(ShapeError, pixels.size() == observation_bytes(), "pixel buffer has ", pixels.size(),
              " bytes, expected ", observation_bytes());
  env_->reset(seed, state_);
  camera_.reset();
  render_frame({frames_.data(), frame_bytes_});
  for (int k = 1; k < options_.frame_stack; ++k) {
    std::memcpy(frames_.data() + k * frame_bytes_, frames_.data(), frame_bytes_);
  }
  newest_ = 0;
  for (int k = 0; k < options_.frame_stack; ++k) {
    std::memcpy(pixels.data() + k * frame_bytes_, frames_.data(), frame_bytes_);
  }
}

StepResult PixelEnv::step(std::span<const double> motor_action, std::span<std::uint8_t> pixels) {
  CS_CHECK_AS(ShapeError, pixels.size() == observation_bytes(), "pixel buffer has ", pixels.size(),
              " bytes, expected ", observation_bytes());
  StepResult result = env_->step(motor_action, state_);
  push_frame_and_write(pixels);
  return result;
}

StepResult PixelEnv::step(std::span<const double> motor_action,
                          std::span<const double> sensor_action, std::span<std::uint8_t> pixels) {
  CS_CHECK_AS(ShapeError, sensor_action.size() == 3, "sensor action has ", sensor_action.size(),
              " elements, expected 3 (distance, azimuth, elevation)");
  for (double a : sensor_action) {
    CS_CHECK_AS(NumericError, std::isfinite(a), "sensor action must be finite, got ", a);
  }
  auto clip = [](double x) { return std::fmax(-1.0, std::fmin(1.0, x)); };
  const auto& m = options_.max_camera_delta;
  const bool was_reset =
      camera_.move(clip(sensor_action[0]) * m.distance, clip(sensor_action[1]) * m.azimuth,
                   clip(sensor_action[2]) * m.elevation);
  StepResult result = step(motor_action, pixels);
  result.info.set("camera_reset", was_reset ? 1.0 : 0.0);
  result.info.set("camera_distance", camera_.pose().distance);
  result.info.set("camera_azimuth", camera_.pose().azimuth);
  result.info.set("camera_elevation", camera_.pose().elevation);
  return result;
}

}  // namespace clearsight::envs
