#include "clearsight/core/audio.h"

#include <gtest/gtest.h>

#include <cmath>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

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

// libsoxr's one-shot call wrote no sample at all when its output buffer was one short (found by
// the audio fuzzer): every length now gives the clip's length at the new rate.
TEST(CoreAudio, ResampleKeepsEveryLength) {
  for (const int rate : {8000, 22050, 44100, 48000}) {
    for (const int n : {1, 10, 149, 150, 999, 1000, 4321}) {
      const auto out = resample(sine(300, rate, n), rate, 16000);
      const double want = n * 16000.0 / rate;
      EXPECT_NEAR(static_cast<double>(out.size()), want, 1.0) << rate << " Hz, " << n;
      if (n >= 10) {
        EXPECT_FALSE(out.empty()) << rate << " Hz, " << n;
      }
    }
  }
}

TEST(CoreAudio, BadFilesAreClearErrors) {
  testing::TempDir dir;
  EXPECT_THROW(read_audio(dir / "missing.wav"), IoError);
  testing::write_bytes(dir / "bad.wav", "RIFF....WAVEnot really");
  EXPECT_THROW(read_audio(dir / "bad.wav"), FormatError);
  EXPECT_THROW(read_audio("/dev/null"), IoError);  // Not a regular file, not "no such file".
}

TEST(CoreAudio, ReadAtRateRefusesEmptyClipsAndWarnsOnLowRates) {
  testing::TempDir dir;
  write_wav(dir / "empty.wav", {}, 16000);
  EXPECT_THROW(read_audio_at(dir / "empty.wav", 16000), FormatError);
  write_wav(dir / "phone.wav", sine(300, 8000, 800), 8000);
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  const auto before = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  const auto samples = read_audio_at(dir / "phone.wav", 16000);
  write_wav(dir / "wide.wav", sine(300, 22050, 2205), 22050);
  const auto wide = read_audio_at(dir / "wide.wav", 16000);
  spdlog::set_default_logger(before);
  const auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 1u);  // Only the 8 kHz clip warns.
  EXPECT_NE(lines[0].find("sampled at 8000 Hz, below the model's 16000 Hz"), std::string::npos)
      << lines[0];
  EXPECT_NEAR(static_cast<double>(samples.size()), 1600.0, 1.0);
  EXPECT_NEAR(static_cast<double>(wide.size()), 1600.0, 1.0);
}

}  // namespace
}  // namespace clearsight
