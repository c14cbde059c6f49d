// speech (LibriSpeech): 1-3 words from a 30-word vocabulary spoken by espeak-ng with random
// voice, speed and pitch, plus noise; sound_event (VocalSound): procedural sound classes.
//
// Speech synthesis is the expensive part (a child process per utterance, see speech.h), so the
// clean 16 kHz waveforms are cached: in memory (up to kMemoryCacheBytes, oldest first out) and,
// after prepare(), on disk in one safetensors file per split under cache_root()/mm. Gain,
// padding and noise are cheap and are added on every access from the sample's own stream.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "mm/sounds.h"
#include "mm/speech.h"
#include "mm/task_base.h"

namespace clearsight::mm {
namespace {

// ---- speech
// ----------------------------------------------------------------------------------------

const std::vector<std::string> kSpeechWords{
    "zero", "one",   "two",  "three", "four", "five",  "six",   "seven", "eight", "nine",
    "yes",  "no",    "up",   "down",  "left", "right", "on",    "off",   "stop",  "go",
    "red",  "green", "blue", "cat",   "dog",  "house", "water", "hello", "open",  "close"};
const std::vector<std::string> kSpeechPrompts{"transcribe the audio", "what is said in the audio",
                                              "write down what you hear"};

// Changing how clean waveforms are made must change this, so old disk caches are ignored.
constexpr const char* kSpeechCacheVersion = "speech-v1";
constexpr std::size_t kMemoryCacheBytes = std::size_t{256} << 20;

using Clip = std::shared_ptr<const std::vector<std::int16_t>>;

// The text and voice of one utterance.
struct Utterance {
  std::string text;
  SpeechVoice voice;
};

class Speech : public TaskBase {
 public:
  using TaskBase::TaskBase;
  std::string name() const override { return "speech"; }
  std::string counterpart() const override { return "LibriSpeech"; }
  std::string metric() const override { return "word_recognition_rate"; }
  std::vector<std::string> modalities() const override { return {"audio"}; }

  std::vector<std::string> vocabulary() const override {
    std::vector<std::string> phrases = kSpeechPrompts;
    phrases.insert(phrases.end(), kSpeechWords.begin(), kSpeechWords.end());
    return collect_words(phrases);
  }

  Sample sample(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    Utterance utterance;
    Sample s = describe(rng, i, utterance);
    s.audio = finish(*clean_audio(split, i, utterance), rng);
    return s;
  }

  Sample sample_text(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    Utterance utterance;
    return describe(rng, i, utterance);
  }

  double score(const std::string& prediction, const Sample& sample) const override {
    return std::clamp(1.0 - word_error_rate(prediction, sample.answer), 0.0, 1.0);
  }

  // The best constant guess is one word w: with n words drawn with replacement from V, it scores
  // 1/n when w is among them (one match, n - 1 deletions), which happens with probability
  // 1 - (1 - 1/V)^n; n is uniform in 1..3.
  double chance_level() const override {
    const double miss = 1.0 - 1.0 / static_cast<double>(kSpeechWords.size());
    double total = 0.0;
    for (int n = 1; n <= 3; ++n) total += (1.0 - std::pow(miss, n)) / n;
    return total / 3.0;
  }

  void prepare(Split split, std::int64_t count) const override {
    const std::int64_t n = count < 0 ? split_size(split) : std::min(count, split_size(split));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (disk_cache(split).count >= n) return;
    }
    std::vector<Clip> clips(static_cast<std::size_t>(n));
    std::atomic<std::int64_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto work = [&] {
      try {
        for (std::int64_t i = next++; i < n; i = next++) {
          Random rng = stream(split, i);
          Utterance utterance;
          describe(rng, i, utterance);
          clips[static_cast<std::size_t>(i)] = clean_audio(split, i, utterance);
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = n;
      }
    };
    const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);

    std::int64_t total = 0;
    torch::Tensor offsets = torch::empty({n + 1}, torch::kInt64);
    auto* off = offsets.data_ptr<std::int64_t>();
    off[0] = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      total += static_cast<std::int64_t>(clips[static_cast<std::size_t>(i)]->size());
      off[i + 1] = total;
    }
    torch::Tensor audio = torch::empty({total}, torch::kInt16);
    auto* dst = audio.data_ptr<std::int16_t>();
    for (const auto& clip : clips) dst = std::copy(clip->begin(), clip->end(), dst);
    const auto path = cache_path(split);
    std::filesystem::create_directories(path.parent_path());
    safetensors::save(path, {{"audio", audio}, {"offsets", offsets}}, cache_metadata(split, n));
    std::lock_guard<std::mutex> lock(mutex_);
    disk_[static_cast<std::size_t>(split)] = DiskCache{};  // reload on next access
  }

 private:
  // A split's on-disk clips, loaded on first use.
  struct DiskCache {
    bool checked = false;
    std::int64_t count = 0;
    torch::Tensor audio;    // int16, all clips back to back (views the mapped file)
    torch::Tensor offsets;  // int64 [count + 1]
  };

  // Draws the words, prompt and voice (in this order, so sample_text matches sample).
  Sample describe(Random& rng, std::int64_t i, Utterance& utterance) const {
    Sample s = start(i, "transcription");
    const int words = rng.range(1, 3);
    std::vector<std::string> picked;
    for (int k = 0; k < words; ++k) picked.push_back(rng.pick(kSpeechWords));
    s.prompt = rng.pick(kSpeechPrompts);
    s.answer = join(picked, " ");
    utterance.text = s.answer;
    utterance.voice.name = rng.pick(speech_voice_names());
    utterance.voice.rate = rng.range(130, 220);
    utterance.voice.pitch = rng.range(30, 70);
    utterance.voice.range = rng.range(30, 80);
    return s;
  }

  std::filesystem::path cache_path(Split split) const {
    return cache_root() / "mm" /
           (std::string(kSpeechCacheVersion) + "-seed" + std::to_string(seed()) + "-" +
            split_name(split) + ".safetensors");
  }

  std::map<std::string, std::string> cache_metadata(Split split, std::int64_t count) const {
    return {{"version", kSpeechCacheVersion},
            {"espeak", espeak_version()},
            {"seed", std::to_string(seed())},
            {"split", split_name(split)},
            {"count", std::to_string(count)}};
  }

  // The split's disk cache, opened on first use; a missing or stale file gives count 0.
  // Requires mutex_.
  const DiskCache& disk_cache(Split split) const {
    DiskCache& cache = disk_[static_cast<std::size_t>(split)];
    if (cache.checked) return cache;
    cache.checked = true;
    const auto path = cache_path(split);
    std::error_code error;
    if (!std::filesystem::exists(path, error)) return cache;
    try {
      const auto file = safetensors::File::open(path);
      const auto count = static_cast<std::int64_t>(std::stoll(file.metadata().at("count")));
      if (file.metadata() != cache_metadata(split, count)) {
        log::warn("ignoring stale speech cache {}", path.string());
        return cache;
      }
      torch::Tensor offsets = file.get("offsets", std::vector<std::int64_t>{count + 1});
      torch::Tensor audio = file.get("audio", /*copy=*/false);
      CS_CHECK_AS(FormatError,
                  audio.scalar_type() == torch::kInt16 && audio.dim() == 1 &&
                      offsets.scalar_type() == torch::kInt64 &&
                      offsets[count].item<std::int64_t>() == audio.size(0),
                  "inconsistent speech cache ", path.string());
      cache.count = count;
      cache.audio = audio;
      cache.offsets = offsets;
    } catch (const std::exception& e) {
      log::warn("ignoring unreadable speech cache {}: {}", path.string(), e.what());
      cache.count = 0;
    }
    return cache;
  }

  static std::int64_t key(Split split, std::int64_t i) {
    return (static_cast<std::int64_t>(split) << 40) + i;
  }

  // The clean waveform of sample i: memory cache, then disk cache, then espeak-ng.
  Clip clean_audio(Split split, std::int64_t i, const Utterance& utterance) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = memory_.find(key(split, i)); it != memory_.end()) return it->second;
      const DiskCache& cache = disk_cache(split);
      if (i < cache.count) {
        const auto* off = cache.offsets.data_ptr<std::int64_t>();
        const auto* data = cache.audio.data_ptr<std::int16_t>();
        return std::make_shared<const std::vector<std::int16_t>>(data + off[i], data + off[i + 1]);
      }
    }
    // Synthesise outside the lock (the work happens in a child process). Too long at this speed:
    // speak faster; a clip longer than 2 s even then is cut (never seen with this vocabulary).
    const std::size_t room = kMaxAudioSamples - kSampleRate / 10;
    SpeechVoice voice = utterance.voice;
    std::vector<std::int16_t> clean = synthesize_speech(utterance.text, voice);
    for (int attempt = 0; attempt < 3 && clean.size() > room; ++attempt) {
      voice.rate += 40;
      clean = synthesize_speech(utterance.text, voice);
    }
    if (clean.size() > kMaxAudioSamples) clean.resize(kMaxAudioSamples);
    auto clip = std::make_shared<const std::vector<std::int16_t>>(std::move(clean));
    std::lock_guard<std::mutex> lock(mutex_);
    if (memory_.emplace(key(split, i), clip).second) {
      order_.push_back(key(split, i));
      memory_bytes_ += clip->size() * sizeof(std::int16_t);
      while (memory_bytes_ > kMemoryCacheBytes && !order_.empty()) {
        auto oldest = memory_.find(order_.front());
        memory_bytes_ -= oldest->second->size() * sizeof(std::int16_t);
        memory_.erase(oldest);
        order_.pop_front();
      }
    }
    return clip;
  }

  // Random level, 0-250 ms of padding on each side (within 2 s) and white noise at 10-30 dB SNR.
  static torch::Tensor finish(const std::vector<std::int16_t>& clean, Random& rng) {
    double peak = 1.0;
    double power = 0.0;
    for (std::int16_t v : clean) {
      peak = std::max(peak, std::abs(static_cast<double>(v)));
      power += static_cast<double>(v) * v;
    }
    const double gain = rng.uniform(0.3, 0.9) / peak;
    const double lead_fraction = rng.uniform();
    const double trail_fraction = rng.uniform();
    const double snr_db = rng.uniform(10.0, 30.0);
    const auto room =
        static_cast<std::int64_t>(kMaxAudioSamples) - static_cast<std::int64_t>(clean.size());
    const auto max_pad = std::min<std::int64_t>(kSampleRate / 4, room / 2);
    const auto lead = static_cast<std::int64_t>(lead_fraction * static_cast<double>(max_pad));
    const auto trail = static_cast<std::int64_t>(trail_fraction * static_cast<double>(max_pad));
    const double signal_power =
        clean.empty() ? 1e-6 : power / static_cast<double>(clean.size()) * gain * gain;
    const double noise_sd = std::sqrt(signal_power / std::pow(10.0, snr_db / 10.0));
    const std::int64_t size = lead + static_cast<std::int64_t>(clean.size()) + trail;
    torch::Tensor audio = torch::empty({size}, torch::kFloat32);
    float* out = audio.data_ptr<float>();
    for (std::int64_t n = 0; n < size; ++n) {
      const std::int64_t k = n - lead;
      const double speech = k >= 0 && k < static_cast<std::int64_t>(clean.size())
                                ? clean[static_cast<std::size_t>(k)] * gain
                                : 0.0;
      out[n] = static_cast<float>(std::clamp(speech + noise_sd * rng.normal(), -1.0, 1.0));
    }
    return audio;
  }

  mutable std::mutex mutex_;
  mutable DiskCache disk_[3];
  mutable std::unordered_map<std::int64_t, Clip> memory_;
  mutable std::deque<std::int64_t> order_;
  mutable std::size_t memory_bytes_ = 0;
};

// ---- sound_event
// -----------------------------------------------------------------------------------

const std::vector<std::string> kSoundPrompts{"what sound is this", "what do you hear",
                                             "name the sound"};

class SoundEvent : public TaskBase {
 public:
  using TaskBase::TaskBase;
  std::string name() const override { return "sound_event"; }
  std::string counterpart() const override { return "VocalSound"; }
  std::string metric() const override { return "substring_accuracy"; }
  std::vector<std::string> modalities() const override { return {"audio"}; }

  std::vector<std::string> vocabulary() const override {
    std::vector<std::string> phrases = kSoundPrompts;
    phrases.insert(phrases.end(), sound_labels().begin(), sound_labels().end());
    return collect_words(phrases);
  }

  Sample sample(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    int label = 0;
    Sample s = describe(rng, i, label);
    const std::vector<float> wave = make_sound(label, rng);
    s.audio = torch::from_blob(const_cast<float*>(wave.data()),
                               {static_cast<std::int64_t>(wave.size())}, torch::kFloat32)
                  .clone();
    return s;
  }

  Sample sample_text(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    int label = 0;
    return describe(rng, i, label);
  }

  double score(const std::string& prediction, const Sample& sample) const override {
    return substring_match(prediction, sample.answer);
  }

  double chance_level() const override { return 1.0 / static_cast<double>(sound_labels().size()); }

 private:
  Sample describe(Random& rng, std::int64_t i, int& label) const {
    Sample s = start(i, "sound");
    label = rng.below(static_cast<int>(sound_labels().size()));
    s.prompt = rng.pick(kSoundPrompts);
    s.answer = sound_labels()[static_cast<std::size_t>(label)];
    return s;
  }
};

}  // namespace

std::unique_ptr<Task> make_speech(std::uint64_t seed) { return std::make_unique<Speech>(seed); }

std::unique_ptr<Task> make_sound_event(std::uint64_t seed) {
  return std::make_unique<SoundEvent>(seed);
}

}  // namespace clearsight::mm
