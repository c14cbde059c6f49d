#include "clearsight/envs/pixel_env.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "clearsight/core/error.h"

namespace clearsight::envs {
namespace {

double pixel_stddev(std::span<const std::uint8_t> p) {
  const double mean = std::accumulate(p.begin(), p.end(), 0.0) / p.size();
  double var = 0;
  for (auto v : p) var += (v - mean) * (v - mean);
  return std::sqrt(var / p.size());
}

double mean_abs_diff(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  double d = 0;
  for (std::size_t i = 0; i < a.size(); ++i) d += std::abs(int(a[i]) - int(b[i]));
  return d / a.size();
}

TEST(EnvsPixels, FramesAreNotBlankForEveryTask) {
  for (const auto& name : env_names()) {
    SCOPED_TRACE(name);
    PixelEnv env(make_mujoco_env(name));
    EXPECT_EQ(env.observation_shape(), (std::vector<std::int64_t>{1, 64, 64, 3}));
    std::vector<std::uint8_t> pixels(env.observation_bytes());
    env.reset(0, pixels);
    EXPECT_GT(pixel_stddev(pixels), 10.0);
  }
}

TEST(EnvsPixels, MovingTheCameraChangesTheImage) {
  PixelEnv env(make_mujoco_env("walker-walk"));
  std::vector<std::uint8_t> a(env.observation_bytes()), b(env.observation_bytes());
  env.reset(3, a);
  env.render_frame(a);
  env.camera().set({3.0, 20.0, -10.0});
  env.render_frame(b);
  EXPECT_GT(mean_abs_diff(a, b), 5.0);
  // Same state, same pose: bit-identical frames.
  env.camera().set(kExpertCamera);
  env.render_frame(b);
  EXPECT_EQ(a, b);
}

TEST(EnvsPixels, AnySizeAndFrameStackOldestFirst) {
  PixelOptions options;
  options.render.width = 84;
  options.render.height = 48;
  options.frame_stack = 3;
  PixelEnv env(make_mujoco_env("cheetah-run"), options);
  EXPECT_EQ(env.observation_shape(), (std::vector<std::int64_t>{3, 48, 84, 3}));
  const std::size_t frame = 84 * 48 * 3;
  std::vector<std::uint8_t> obs(env.observation_bytes());
  env.reset(0, obs);
  // After reset every slot holds the first frame.
  EXPECT_TRUE(std::equal(obs.begin(), obs.begin() + frame, obs.begin() + 2 * frame));
  std::vector<std::uint8_t> previous_newest(obs.begin() + 2 * frame, obs.end());
  const std::vector<double> action(6, 1.0);
  for (int k = 0; k < 5; ++k) {
    env.step(action, obs);
    // The frame that was newest moved one slot towards the front.
    EXPECT_TRUE(std::equal(previous_newest.begin(), previous_newest.end(), obs.begin() + frame));
    previous_newest.assign(obs.begin() + 2 * frame, obs.end());
  }
}

TEST(EnvsPixels, SensorActionsMoveTheCameraAndResetOutsideLimits) {
  PixelEnv env(make_mujoco_env("walker-walk"));
  std::vector<std::uint8_t> obs(env.observation_bytes());
  env.reset(0, obs);
  const std::vector<double> motor(6, 0.0);
  auto r = env.step(motor, std::vector<double>{0.0, 1.0, 0.0}, obs);
  EXPECT_EQ(r.info.get("camera_reset"), 0.0);
  EXPECT_DOUBLE_EQ(env.camera().pose().azimuth, 100.0);
  // Elevation from -45 upwards by 10 per step leaves [-90, 90] after 14 steps -> reset.
  bool was_reset = false;
  for (int k = 0; k < 20 && !was_reset; ++k) {
    r = env.step(motor, std::vector<double>{0.0, 0.0, 1.0}, obs);
    was_reset = r.info.get("camera_reset") == 1.0;
  }
  EXPECT_TRUE(was_reset);
  EXPECT_DOUBLE_EQ(env.camera().pose().elevation, kExpertCamera.elevation);
  EXPECT_THROW(env.step(motor, std::vector<double>{0.0, 0.0}, obs), ShapeError);
  EXPECT_THROW(env.step(motor, std::vector<double>{NAN, 0.0, 0.0}, obs), NumericError);
}

TEST(EnvsPixels, CameraLimitsAndBadOptions) {
  MovableCamera cam;
  EXPECT_TRUE(cam.move(-2.9, 0, 0) == false);
  EXPECT_TRUE(cam.move(-0.2, 0, 0));  // Distance below 0 -> reset.
  EXPECT_DOUBLE_EQ(cam.pose().distance, 3.0);
  EXPECT_THROW(cam.set({11.0, 90.0, 0.0}), ConfigError);
  EXPECT_THROW(MovableCamera({3.0, 200.0, 0.0}), ConfigError);
  PixelOptions bad;
  bad.render.width = 0;
  EXPECT_THROW(PixelEnv(make_mujoco_env("Hopper-v4"), bad), ConfigError);
  PixelOptions backend;
  backend.render.backend = "vulkan";
  EXPECT_THROW(PixelEnv(make_mujoco_env("Hopper-v4"), backend), ConfigError);
}

TEST(EnvsPixels, OsMesaFallbackRendersTheSameScene) {
  PixelOptions egl, osmesa;
  osmesa.render.backend = "osmesa";
  PixelEnv a(make_mujoco_env("Hopper-v4"), egl);
  PixelEnv b(make_mujoco_env("Hopper-v4"), osmesa);
  EXPECT_STREQ(b.renderer().backend(), "osmesa");
  // "auto" prefers EGL, which the set-up's Mesa provides (surfaceless); OSMesa is the fallback.
  EXPECT_STREQ(a.renderer().backend(), "egl");
  std::vector<std::uint8_t> pa(a.observation_bytes()), pb(b.observation_bytes());
  a.reset(4, pa);
  b.reset(4, pb);
  EXPECT_GT(pixel_stddev(pb), 10.0);
  EXPECT_LT(mean_abs_diff(pa, pb), 8.0);  // Same software rasteriser underneath.
}

}  // namespace
}  // namespace clearsight::envs
