// The camera as the world model sees it: poses normalised into conditions, the gap between two
// poses, and the camera's dynamics inside imagination (sensor actions move the condition).
#pragma once

#include <torch/torch.h>

#include <array>

#include "clearsight/envs/pixel_env.h"
#include "clearsight/wm/imagination.h"

namespace clearsight::sensor {

/// Size of a camera condition.
inline constexpr std::int64_t kCameraConditionSize = 3;

/// The pose as a condition in [-1, 1]^3 over the limits: ((d - mid) / half, ...).
std::array<float, 3> camera_condition(const envs::CameraPose& pose,
                                      const envs::CameraLimits& limits = {});

/// The pose of a condition (inverse of camera_condition).
envs::CameraPose condition_pose(std::span<const float> condition,
                                const envs::CameraLimits& limits = {});

/// The distance of two poses with each coordinate scaled by its range (distance 10 m, azimuth
/// 180 degrees, elevation 180 degrees): 0 for equal poses, sqrt(3) across the whole box.
double pose_gap(const envs::CameraPose& a, const envs::CameraPose& b,
                const envs::CameraLimits& limits = {});

/// The camera's dynamics in imagination: the sensor part of the action (columns
/// [sensor_offset, sensor_offset + 3)) moves the condition by max_delta per sensor action,
/// spread over sensor_every steps (the average rate), clamped to the limits.
wm::ConditionStep camera_dynamics(std::int64_t sensor_offset, const envs::CameraPose& max_delta,
                                  std::int64_t sensor_every, const envs::CameraLimits& limits = {});

}  // namespace clearsight::sensor
