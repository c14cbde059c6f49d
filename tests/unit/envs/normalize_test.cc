#include "clearsight/envs/normalize.h"

#include <gtest/gtest.h>

#include <random>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::envs {
namespace {

TEST(EnvsNormalize, MatchesBatchStatisticsAndMergesExactly) {
  std::mt19937_64 rng(0);
  std::normal_distribution<double> n(3.0, 2.0);
  std::vector<double> rows(1000 * 2);
  for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = i % 2 ? n(rng) * 10 : n(rng);
  RunningMeanStd one(2, 0.0), a(2, 0.0), b(2, 0.0);
  for (int r = 0; r < 1000; ++r) one.update(std::span<const double>(rows).subspan(2 * r, 2));
  a.update_batch(std::span<const double>(rows).subspan(0, 600 * 2), 600);
  b.update_batch(std::span<const double>(rows).subspan(600 * 2), 400);
  a.merge(b);
  double mean0 = 0, var0 = 0;
  for (int r = 0; r < 1000; ++r) mean0 += rows[2 * r];
  mean0 /= 1000;
  for (int r = 0; r < 1000; ++r) var0 += (rows[2 * r] - mean0) * (rows[2 * r] - mean0);
  var0 /= 1000;
  EXPECT_NEAR(one.mean()[0], mean0, 1e-9);
  EXPECT_NEAR(one.var()[0], var0, 1e-9);
  EXPECT_NEAR(a.mean()[1], one.mean()[1], 1e-9);
  EXPECT_NEAR(a.var()[1], one.var()[1], 1e-7);
  EXPECT_DOUBLE_EQ(a.count(), 1000.0);
  std::vector<double> out(2);
  one.normalize(std::vector<double>{mean0, 1e9}, out, 5.0);
  EXPECT_NEAR(out[0], 0.0, 1e-9);
  EXPECT_EQ(out[1], 5.0);  // Clipped.
}

TEST(EnvsNormalize, SaveLoadAndErrors) {
  testing::TempDir dir;
  RunningMeanStd s(3);
  s.update(std::vector<double>{1, 2, 3});
  s.save(dir / "stats.safetensors");
  const auto loaded = RunningMeanStd::load(dir / "stats.safetensors");
  EXPECT_EQ(loaded.mean(), s.mean());
  EXPECT_EQ(loaded.var(), s.var());
  EXPECT_EQ(loaded.count(), s.count());
  EXPECT_THROW(s.update(std::vector<double>{1, 2}), ShapeError);
  EXPECT_THROW(s.update(std::vector<double>{1, NAN, 2}), NumericError);
  EXPECT_THROW(s.merge(RunningMeanStd(2)), ShapeError);
  testing::write_bytes(dir / "bad.safetensors", "garbage");
  EXPECT_THROW(RunningMeanStd::load(dir / "bad.safetensors"), FormatError);
}

TEST(EnvsNormalize, WrapperNormalisesAndFreezes) {
  NormalizeObservation env(make_env("HalfCheetah-v4"));
  std::vector<double> obs = env.reset(0);
  const std::vector<double> action(6, 0.5);
  for (int k = 0; k < 500; ++k) env.step(action, obs);
  const double count = env.stats().count();
  for (double v : obs) EXPECT_LE(std::fabs(v), 10.0);
  env.set_training(false);
  env.step(action, obs);
  EXPECT_EQ(env.stats().count(), count);
}

}  // namespace
}  // namespace clearsight::envs
