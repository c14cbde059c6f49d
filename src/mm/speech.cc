#include "mm/speech.h"

#include <espeak-ng/speak_lib.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <numeric>

#include "clearsight/core/error.h"
#include "clearsight/mm/tasks.h"

namespace clearsight::mm {
namespace {

// Header the child writes before its samples.
struct ChildHeader {
  std::int32_t status = 0;  // 0 ok, else which step failed
  std::int32_t sample_rate = 0;
  std::int32_t count = 0;
};

enum ChildStatus { kOk = 0, kInitFailed = 1, kVoiceFailed = 2, kSynthFailed = 3 };

std::vector<std::int16_t>* g_child_samples = nullptr;  // only used inside the child

int collect_samples(short* wav, int count, espeak_EVENT* /*events*/) {
  if (wav != nullptr && count > 0)
    g_child_samples->insert(g_child_samples->end(), wav, wav + count);
  return 0;
}

bool write_all(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Runs in the forked child: synthesises and writes header + samples to fd, then _exit()s.
[[noreturn]] void child_main(int fd, const std::string& text, const SpeechVoice& voice) {
  std::vector<std::int16_t> samples;
  g_child_samples = &samples;
  ChildHeader header;
  std::srand(1);  // voices with breath noise draw from rand()
  header.sample_rate =
      espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT);
  if (header.sample_rate <= 0) {
    header.status = kInitFailed;
  } else {
    espeak_SetSynthCallback(collect_samples);
    if (espeak_SetVoiceByName(voice.name.c_str()) != EE_OK) {
      header.status = kVoiceFailed;
    } else {
      espeak_SetParameter(espeakRATE, voice.rate, 0);
      espeak_SetParameter(espeakPITCH, voice.pitch, 0);
      espeak_SetParameter(espeakRANGE, voice.range, 0);
      if (espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_AUTO,
                       nullptr, nullptr) != EE_OK ||
          espeak_Synchronize() != EE_OK) {
        header.status = kSynthFailed;
      }
    }
  }
  header.count = header.status == kOk ? static_cast<std::int32_t>(samples.size()) : 0;
  bool ok = write_all(fd, &header, sizeof(header));
  if (ok && header.count > 0)
    ok = write_all(fd, samples.data(), samples.size() * sizeof(std::int16_t));
  ::close(fd);
  ::_exit(ok ? 0 : 1);
}

// Reads exactly size bytes before the deadline; false on EOF, error or timeout.
bool read_all(int fd, void* data, std::size_t size,
              std::chrono::steady_clock::time_point deadline) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Synthesises in a child process; returns the raw samples and espeak-ng's sample rate.
std::vector<std::int16_t> synthesize_raw(const std::string& text, const SpeechVoice& voice,
                                         int& sample_rate) {
  int fds[2];
  CS_CHECK_AS(RuntimeError, ::pipe2(fds, O_CLOEXEC) == 0,
              "speech: pipe failed: ", std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], text, voice);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    CS_THROW(RuntimeError, "speech: fork failed: ", std::strerror(errno));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  ChildHeader header;
  std::vector<std::int16_t> samples;
  bool ok = read_all(fds[0], &header, sizeof(header), deadline);
  if (ok && header.status == kOk && header.count > 0) {
    samples.resize(static_cast<std::size_t>(header.count));
    ok = read_all(fds[0], samples.data(), samples.size() * sizeof(std::int16_t), deadline);
  }
  ::close(fds[0]);
  if (!ok) ::kill(pid, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  CS_CHECK_AS(RuntimeError, ok, "speech: the espeak-ng child process failed or timed out");
  CS_CHECK_AS(RuntimeError, header.status != kInitFailed,
              "speech: espeak-ng could not be initialised (is espeak-ng-data installed? "
              "scripts/setup installs it)");
  CS_CHECK_AS(RuntimeError, header.status != kVoiceFailed, "speech: espeak-ng has no voice '",
              voice.name, "'");
  CS_CHECK_AS(RuntimeError, header.status == kOk, "speech: espeak-ng failed to synthesise '", text,
              "'");
  sample_rate = header.sample_rate;
  return samples;
}

double sinc(double x) {
  if (std::abs(x) < 1e-12) return 1.0;
  return std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
}

}  // namespace

const std::vector<std::string>& speech_voice_names() {
  static const std::vector<std::string> names{"en",    "en+m3", "en+m7",    "en+f2",
                                              "en+f4", "en-us", "en-us+m1", "en-us+f3"};
  return names;
}

std::string espeak_version() {
  const char* path = nullptr;
  const char* version = espeak_Info(&path);
  return version != nullptr ? version : "unknown";
}

std::vector<std::int16_t> synthesize_speech(const std::string& text, const SpeechVoice& voice) {
  int rate = 0;
  const std::vector<std::int16_t> raw = synthesize_raw(text, voice, rate);
  CS_CHECK_AS(RuntimeError, !raw.empty(), "speech: espeak-ng produced no audio for '", text, "'");
  std::vector<float> wave(raw.begin(), raw.end());
  if (rate != kSampleRate) wave = resample(wave, rate, kSampleRate);
  // Trim leading and trailing samples quieter than 2 % of the peak.
  float peak = 0.0f;
  for (float v : wave) peak = std::max(peak, std::abs(v));
  const float threshold = 0.02f * peak;
  std::size_t begin = 0;
  std::size_t end = wave.size();
  while (begin < end && std::abs(wave[begin]) <= threshold) ++begin;
  while (end > begin && std::abs(wave[end - 1]) <= threshold) --end;
  std::vector<std::int16_t> out;
  out.reserve(end - begin);
  for (std::size_t k = begin; k < end; ++k) {
    out.push_back(static_cast<std::int16_t>(std::clamp(std::lround(wave[k]), -32768L, 32767L)));
  }
  return out;
}

std::vector<float> resample(const std::vector<float>& input, int from_rate, int to_rate) {
  CS_CHECK(from_rate > 0 && to_rate > 0, "resample: rates must be positive, got ", from_rate,
           " and ", to_rate);
  if (from_rate == to_rate || input.empty()) return input;
  const int g = std::gcd(from_rate, to_rate);
  const int up = to_rate / g;      // output samples per period
  const int down = from_rate / g;  // input samples per period
  // Cutoff relative to the input Nyquist frequency; kZeros zero crossings on each side.
  const double cutoff = 0.95 * std::min(1.0, static_cast<double>(to_rate) / from_rate);
  constexpr int kZeros = 12;
  const int half = static_cast<int>(std::ceil(kZeros / cutoff));
  const int taps = 2 * half;
  // One normalised filter per output phase: output n sits at input position n * down / up.
  std::vector<double> table(static_cast<std::size_t>(up) * taps);
  for (int p = 0; p < up; ++p) {
    const double frac = static_cast<double>(p) / up;
    double sum = 0.0;
    for (int j = 0; j < taps; ++j) {
      const double d = (j - half + 1) - frac;  // input offset minus fractional position
      const double w = std::abs(d) / (half + 1.0);
      const double blackman = w >= 1.0 ? 0.0
                                       : 0.42 + 0.5 * std::cos(std::numbers::pi * w) +
                                             0.08 * std::cos(2.0 * std::numbers::pi * w);
      const double h = cutoff * sinc(cutoff * d) * blackman;
      table[static_cast<std::size_t>(p) * taps + j] = h;
      sum += h;
    }
    for (int j = 0; j < taps; ++j) table[static_cast<std::size_t>(p) * taps + j] /= sum;
  }
  const auto in_size = static_cast<std::int64_t>(input.size());
  const std::int64_t out_size = (in_size * up + down - 1) / down;
  std::vector<float> out(static_cast<std::size_t>(out_size));
  for (std::int64_t n = 0; n < out_size; ++n) {
    const std::int64_t position = n * down;
    const std::int64_t base = position / up;
    const auto phase = static_cast<std::size_t>(position % up);
    const double* h = &table[phase * taps];
    double acc = 0.0;
    for (int j = 0; j < taps; ++j) {
      const std::int64_t k = base + j - half + 1;
      if (k >= 0 && k < in_size) acc += h[j] * input[static_cast<std::size_t>(k)];
    }
    out[static_cast<std::size_t>(n)] = static_cast<float>(acc);
  }
  return out;
}

}  // namespace clearsight::mm
