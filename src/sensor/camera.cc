#include "clearsight/sensor/camera.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::sensor {
namespace {

struct Range {
  double mid, half;
};

std::array<Range, 3> ranges(const envs::CameraLimits& l) {
  return {Range{(l.distance_min + l.distance_max) / 2, (l.distance_max - l.distance_min) / 2},
          Range{(l.azimuth_min + l.azimuth_max) / 2, (l.azimuth_max - l.azimuth_min) / 2},
          Range{(l.elevation_min + l.elevation_max) / 2, (l.elevation_max - l.elevation_min) / 2}};
}

}  // namespace

std::array<float, 3> camera_condition(const envs::CameraPose& pose,
                                      const envs::CameraLimits& limits) {
  const auto r = ranges(limits);
  return {static_cast<float>((pose.distance - r[0].mid) / r[0].half),
          static_cast<float>((pose.azimuth - r[1].mid) / r[1].half),
          static_cast<float>((pose.elevation - r[2].mid) / r[2].half)};
}

envs::CameraPose condition_pose(std::span<const float> c, const envs::CameraLimits& limits) {
  CS_CHECK_AS(ShapeError, c.size() == 3, "a camera condition has 3 values, got ", c.size());
  const auto r = ranges(limits);
  return {r[0].mid + c[0] * r[0].half, r[1].mid + c[1] * r[1].half, r[2].mid + c[2] * r[2].half};
}

double pose_gap(const envs::CameraPose& a, const envs::CameraPose& b,
                const envs::CameraLimits& limits) {
  const auto r = ranges(limits);
  const double dd = (a.distance - b.distance) / (2 * r[0].half);
  const double da = (a.azimuth - b.azimuth) / (2 * r[1].half);
  const double de = (a.elevation - b.elevation) / (2 * r[2].half);
  return std::sqrt(dd * dd + da * da + de * de);
}

wm::ConditionStep camera_dynamics(std::int64_t sensor_offset, const envs::CameraPose& max_delta,
                                  std::int64_t sensor_every, const envs::CameraLimits& limits) {
  CS_CHECK_AS(ConfigError, sensor_every >= 1, "sensor_every must be >= 1");
  const auto r = ranges(limits);
  // Per imagined step, in condition units.
  const auto scale = torch::tensor({static_cast<float>(max_delta.distance / r[0].half),
                                    static_cast<float>(max_delta.azimuth / r[1].half),
                                    static_cast<float>(max_delta.elevation / r[2].half)}) /
                     static_cast<float>(sensor_every);
  return [sensor_offset, scale](const torch::Tensor& condition, const torch::Tensor& action) {
    const auto delta = action.narrow(-1, sensor_offset, kCameraConditionSize) * scale;
    return (condition + delta).clamp(-1.0, 1.0);
  };
}

}  // namespace clearsight::sensor
