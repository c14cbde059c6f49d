// libFuzzer target: the audio reader (read_audio through Debian's libsndfile: WAV, AIFF, FLAC,
// OGG, AU...) and read_audio_at, which refuses empty clips and resamples with libsoxr to a model's
// 16 kHz. Any byte string must give either a clip of finite samples at a plausible rate whose
// resampled length matches the rate ratio, or a clearsight::Error; any other exception or a
// sanitizer report is a bug. libsndfile and libsoxr are Debian's (not instrumented).
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "clearsight/core/audio.h"
#include "clearsight/core/log.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static clearsight::fuzz::InputFile file("audio_fuzz");
  static const bool quiet = [] {
    clearsight::log::set_verbosity(-1);  // The low-rate warning would flood the fuzzer's output.
    return true;
  }();
  (void)quiet;
  const auto& path = file.write(data, size);
  clearsight::fuzz::expect_clearsight_errors([&] {
    const auto clip = clearsight::read_audio(path);
    if (clip.sample_rate < 1000 || clip.sample_rate > 384000) std::abort();
    for (const float v : clip.samples) {
      if (!std::isfinite(v)) std::abort();
    }
  });
  clearsight::fuzz::expect_clearsight_errors([&] {
    const auto samples = clearsight::read_audio_at(path, 16000);
    if (samples.empty()) std::abort();  // An empty clip must be an error, not an empty answer.
  });
  return 0;
}
