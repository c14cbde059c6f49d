#include "clearsight/sensor/camera.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::sensor {
namespace {

TEST(SensorCamera, ConditionsRoundTripAndSpanTheLimits) {
  const envs::CameraPose pose{3.0, 90.0, -45.0};
  const auto c = camera_condition(pose);
  EXPECT_NEAR(c[0], -0.4, 1e-6);  // (3 - 5) / 5
  EXPECT_NEAR(c[1], 0.0, 1e-6);
  EXPECT_NEAR(c[2], -0.5, 1e-6);
  const auto back = condition_pose(c);
  EXPECT_NEAR(back.distance, 3.0, 1e-5);
  EXPECT_NEAR(back.elevation, -45.0, 1e-4);
  const auto low = camera_condition({0, 0, -90}), high = camera_condition({10, 180, 90});
  for (int i = 0; i < 3; ++i) {
    EXPECT_FLOAT_EQ(low[i], -1.0f);
    EXPECT_FLOAT_EQ(high[i], 1.0f);
  }
}

TEST(SensorCamera, PoseGapScalesEachCoordinateByItsRange) {
  EXPECT_EQ(pose_gap({3, 90, -45}, {3, 90, -45}), 0.0);
  EXPECT_NEAR(pose_gap({0, 0, -90}, {10, 180, 90}), std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(pose_gap({3, 0, -45}, {3, 90, -45}), 0.5, 1e-12);   // 90 of 180 degrees.
  EXPECT_NEAR(pose_gap({8, 90, -45}, {3, 90, -45}), 0.5, 1e-12);  // 5 of 10 m.
}

TEST(SensorCamera, DynamicsMoveWithTheSensorPartOnlyAndStayInRange) {
  const auto step = camera_dynamics(2, {0.25, 10.0, 10.0}, 2);
  const auto c = torch::zeros({1, 3});
  const auto motor_only = torch::tensor({{1.0f, -1.0f, 0.0f, 0.0f, 0.0f}});
  EXPECT_TRUE(torch::equal(step(c, motor_only), c));
  const auto a = torch::tensor({{0.0f, 0.0f, 1.0f, -1.0f, 0.5f}});
  const auto next = step(c, a);
  // Per step: max delta / half range / sensor_every.
  EXPECT_NEAR(next[0][0].item<double>(), 0.25 / 5 / 2, 1e-6);
  EXPECT_NEAR(next[0][1].item<double>(), -10.0 / 90 / 2, 1e-6);
  EXPECT_NEAR(next[0][2].item<double>(), 0.5 * 10.0 / 90 / 2, 1e-6);
  const auto edge = step(torch::ones({1, 3}), torch::ones({1, 5}));
  EXPECT_TRUE(torch::equal(edge, torch::ones({1, 3})));
  EXPECT_THROW(camera_dynamics(0, {0.25, 10, 10}, 0), ConfigError);
}

TEST(SensorCamera, LeavingTheRangeResetsTheCameraAndIsFlagged) {
  envs::PixelOptions o;
  o.render.width = o.render.height = 16;
  o.camera = {3.0, 175.0, -45.0};
  o.max_camera_delta = {0.25, 10.0, 10.0};
  envs::PixelEnv env(envs::make_mujoco_env("walker-walk"), o);
  std::vector<std::uint8_t> frame(env.observation_bytes());
  env.reset(0, frame);
  const std::vector<double> motor(6, 0.0), sensor{0.0, 1.0, 0.0};
  const auto r = env.step(motor, sensor, frame);  // azimuth 185 > 180: reset.
  EXPECT_EQ(r.info.get("camera_reset"), 1.0);
  EXPECT_EQ(env.camera().pose().azimuth, 175.0);
  const std::vector<double> back{0.0, -1.0, 0.0};
  const auto r2 = env.step(motor, back, frame);
  EXPECT_EQ(r2.info.get("camera_reset"), 0.0);
  EXPECT_EQ(env.camera().pose().azimuth, 165.0);
}

}  // namespace
}  // namespace clearsight::sensor
