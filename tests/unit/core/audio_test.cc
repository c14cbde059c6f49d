#include "clearsight/core/audio.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

std::vector<float> sine(double hz, int rate, int n) {
  std::vector<float> out(n);
  for (int i = 0; i < n; ++i) out[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * hz * i / rate));
  return out;
}

TEST(CoreAudio, WavRoundTripIs16BitAccurate) {
  testing::TempDir dir;
  const auto tone = sine(440, 16000, 1600);
  write_wav(dir / "a.wav", tone, 16000);
  const auto clip = read_audio(dir / "a.wav");
  EXPECT_EQ(clip.sample_rate, 16000);
  ASSERT_EQ(clip.samples.size(), tone.size());
  for (std::size_t i = 0; i < tone.size(); ++i) EXPECT_NEAR(clip.samples[i], tone[i], 1e-4);
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CoreAudio, ResampleKeepsTonesAndRemovesAliases) {
  // 1 kHz survives 22.05 kHz -> 16 kHz; 9 kHz (above the new Nyquist) is removed.
  const auto low = resample(sine(1000, 22050, 22050), 22050, 16000);
  EXPECT_NEAR(static_cast<double>(low.size()), 16000.0, 1.0);
  double energy = 0;
  for (std::size_t i = 1000; i < 15000; ++i) energy += low[i] * low[i];
  EXPECT_NEAR(energy / 14000, 0.125, 0.01);  // RMS^2 of a 0.5 sine.
  const auto high = resample(sine(9000, 22050, 22050), 22050, 16000);
  double alias = 0;
  for (std::size_t i = 1000; i < 15000; ++i) alias += high[i] * high[i];
  EXPECT_LT(alias / 14000, 0.01);
  EXPECT_EQ(resample(low, 16000, 16000), low);
}

TEST(CoreAudio, BadFilesAreClearErrors) {
  testing::TempDir dir;
  EXPECT_THROW(read_audio(dir / "missing.wav"), IoError);
  testing::write_bytes(dir / "bad.wav", "RIFF....WAVEnot really");
  EXPECT_THROW(read_audio(dir / "bad.wav"), FormatError);
}

}  // namespace
}  // namespace clearsight
