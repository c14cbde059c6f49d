#include "clearsight/core/audio.h"

#include <sndfile.h>
#include <soxr.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"

namespace clearsight {

AudioClip read_audio(const std::filesystem::path& path) {
  std::error_code ec;
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path, ec), "cannot read audio '",
              path.string(),
              "': ", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  CS_CHECK_AS(FormatError, file != nullptr, "'", path.string(),
              "' is not a readable audio file: ", sf_strerror(nullptr));
  const bool sane = info.channels >= 1 && info.channels <= 64 && info.samplerate >= 1000 &&
                    info.samplerate <= 384000 && info.frames >= 0 && info.frames < (1LL << 31);
  if (!sane) {
    sf_close(file);
    CS_THROW(FormatError, "'", path.string(), "': implausible audio header (", info.channels,
             " channels, ", info.samplerate, " Hz)");
  }
  std::vector<float> interleaved(static_cast<std::size_t>(info.frames) * info.channels);
  const sf_count_t read = sf_readf_float(file, interleaved.data(), info.frames);
  sf_close(file);
  AudioClip clip;
  clip.sample_rate = info.samplerate;
  clip.samples.resize(static_cast<std::size_t>(read));
  for (sf_count_t i = 0; i < read; ++i) {
    float sum = 0;
    for (int c = 0; c < info.channels; ++c) sum += interleaved[i * info.channels + c];
    clip.samples[i] = sum / info.channels;
  }
  for (float v : clip.samples) {
    CS_CHECK_AS(NumericError, std::isfinite(v), "'", path.string(), "' contains NaN samples");
  }
  return clip;
}

std::vector<float> read_audio_at(const std::filesystem::path& path, int rate) {
  const AudioClip clip = read_audio(path);
  CS_CHECK_AS(FormatError, !clip.samples.empty(), "'", path.string(),
              "' holds no audio samples (an empty clip has nothing to answer about)");
  if (clip.sample_rate < rate) {
    log::warn(
        "'{}' is sampled at {} Hz, below the model's {} Hz: it is upsampled, and nothing "
        "above {} Hz reaches the model",
        path.string(), clip.sample_rate, rate, clip.sample_rate / 2);
  }
  auto samples = resample(clip.samples, clip.sample_rate, rate);
  CS_CHECK_AS(FormatError, !samples.empty(), "'", path.string(), "' holds ", clip.samples.size(),
              " samples at ", clip.sample_rate, " Hz: shorter than one sample at ", rate, " Hz");
  return samples;
}

void write_wav(const std::filesystem::path& path, const std::vector<float>& samples,
               int sample_rate) {
  CS_CHECK_AS(ConfigError, sample_rate > 0, "write_wav: sample rate must be positive");
  // libsndfile writes to a path; write to a temporary beside the target and rename.
  const std::filesystem::path temp =
      path.parent_path() / (path.filename().string() + ".tmp." + std::to_string(getpid()));
  SF_INFO info{};
  info.samplerate = sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(temp.c_str(), SFM_WRITE, &info);
  CS_CHECK_AS(IoError, file != nullptr, "cannot write '", path.string(),
              "': ", sf_strerror(nullptr));
  std::vector<float> clipped(samples.size());
  std::transform(samples.begin(), samples.end(), clipped.begin(),
                 [](float v) { return std::clamp(v, -1.0f, 1.0f); });
  const sf_count_t written =
      sf_writef_float(file, clipped.data(), static_cast<sf_count_t>(clipped.size()));
  sf_close(file);
  if (written != static_cast<sf_count_t>(clipped.size()) ||
      std::rename(temp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    CS_THROW(IoError, "cannot write '", path.string(), "'");
  }
}

std::vector<float> resample(const std::vector<float>& samples, int from_rate, int to_rate) {
  CS_CHECK_AS(ConfigError, from_rate > 0 && to_rate > 0, "resample: rates must be positive");
  if (from_rate == to_rate || samples.empty()) return samples;
  // libsoxr's high-quality preset: linear phase, passband to 91% of the lower Nyquist frequency.
  const double ratio = static_cast<double>(to_rate) / from_rate;
  // The clip's length at the new rate. libsoxr's one-shot call writes nothing at all when its
  // output buffer is even one sample short of what it would produce (found by the audio fuzzer:
  // 1000 samples at 44.1 kHz gave an empty clip with a buffer of floor(1000 * 16000 / 44100)), so
  // the buffer has slack and the result is cut to the expected length.
  const auto expected = static_cast<std::size_t>(std::llround(samples.size() * ratio));
  std::vector<float> out(static_cast<std::size_t>(std::ceil(samples.size() * ratio)) + 64);
  std::size_t used = 0, written = 0;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  const soxr_error_t error =
      soxr_oneshot(from_rate, to_rate, 1, samples.data(), samples.size(), &used, out.data(),
                   out.size(), &written, &io, &quality, nullptr);
  CS_CHECK_AS(RuntimeError, error == nullptr, "resampling ", from_rate, " Hz to ", to_rate,
              " Hz failed (libsoxr: ", error ? error : "", ")");
  CS_CHECK_AS(RuntimeError, used == samples.size() && written + 1 >= expected, "resampling ",
              samples.size(), " samples from ", from_rate, " Hz to ", to_rate, " Hz gave ", written,
              " samples (libsoxr read ", used, "), expected ", expected);
  out.resize(std::min(written, expected));
  return out;
}

}  // namespace clearsight
