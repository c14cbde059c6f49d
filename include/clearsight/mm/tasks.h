// The synthetic multimodal benchmark suite: six procedurally generated tasks mirroring MINER's six
// benchmarks (TextVQA, COCO Caption, MMLU, MSVD-QA, LibriSpeech, VocalSound), each with fixed
// train/validation/test splits derived from a seed and the metric its counterpart uses.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace clearsight::mm {

/// Which split of a task.
enum class Split { kTrain, kValidation, kTest };

/// "train", "validation" or "test".
const char* split_name(Split split);

/// Image side length in pixels (images are square).
inline constexpr int kImageSize = 32;
/// Frames per video clip.
inline constexpr int kVideoFrames = 4;
/// Audio sample rate in Hz.
inline constexpr int kSampleRate = 16000;
/// Longest audio clip in samples (2 s); clips are at most this long.
inline constexpr int kMaxAudioSamples = 2 * kSampleRate;

/// One example: a prompt with optional image, video or audio, and the expected answer.
struct Sample {
  /// Task name ("scene_vqa", ...).
  std::string task;
  /// Index of the example within its split (stable for a given seed).
  std::int64_t index = 0;
  /// The user's words, lower-case, space-separated tokens from the task's vocabulary.
  std::string prompt;
  /// The expected answer (lower-case words from the vocabulary).
  std::string answer;
  /// Extra accepted references (captioning); answer is always the first reference.
  std::vector<std::string> references;
  /// Question family within the task ("color", "count", ...), for per-family analysis.
  std::string question_type;
  /// [3, kImageSize, kImageSize] uint8 RGB, or undefined.
  torch::Tensor image;
  /// [kVideoFrames, 3, kImageSize, kImageSize] uint8 RGB, or undefined.
  torch::Tensor video;
  /// [n] float32 waveform in [-1, 1] at kSampleRate, n <= kMaxAudioSamples, or undefined.
  torch::Tensor audio;
};

/// A task: a deterministic generator of samples plus its metric.
class Task {
 public:
  virtual ~Task() = default;
  /// Short name ("scene_vqa", "scene_caption", "text_choice", "motion_qa", "speech",
  /// "sound_event").
  virtual std::string name() const = 0;
  /// The MINER benchmark it mirrors ("TextVQA", ...).
  virtual std::string counterpart() const = 0;
  /// Metric name ("substring_accuracy", "bleu4", "accuracy", "word_recognition_rate").
  virtual std::string metric() const = 0;
  /// The metric of a JSONL dataset record that scores like score() ("substring_accuracy",
  /// "bleu4", "choice", "exact_match", "word_recognition_rate"); used by export_task_jsonl.
  virtual std::string record_metric() const { return metric(); }
  /// Modalities the task needs besides text: subset of {"image", "video", "audio"}.
  virtual std::vector<std::string> modalities() const = 0;
  /// Every word any prompt or answer of this task can contain.
  virtual std::vector<std::string> vocabulary() const = 0;
  /// Number of samples in a split.
  virtual std::int64_t split_size(Split split) const = 0;
  /// Sample i of a split; the same (seed, split, i) always gives the same sample.
  virtual Sample sample(Split split, std::int64_t i) const = 0;
  /// Sample i without its image, video or audio (same text as sample(); cheap to make).
  virtual Sample sample_text(Split split, std::int64_t i) const;
  /// Precomputes and caches the first count samples of a split (all when count < 0) where
  /// generation is expensive (speech audio, cached on disk under cache_root()); else a no-op.
  virtual void prepare(Split split, std::int64_t count) const;
  /// Score of one prediction in [0, 1] (for corpus metrics such as BLEU, the sentence score).
  virtual double score(const std::string& prediction, const Sample& sample) const = 0;
  /// Corpus-level score of predictions[i] for samples[i] (mean of score() unless the metric is
  /// corpus-level, as BLEU-4 is).
  virtual double corpus_score(const std::vector<std::string>& predictions,
                              const std::vector<Sample>& samples) const;
  /// Expected score of guessing without looking at the image/video/audio (chance level).
  virtual double chance_level() const = 0;
};

/// Creates a task by name with the suite seed; throws UnknownNameError.
std::unique_ptr<Task> make_task(const std::string& name, std::uint64_t seed = 0);

/// Names of the six tasks in MINER's order.
std::vector<std::string> task_names();

/// Where generated data is cached (clearsight::cache_dir(): $CLEARSIGHT_CACHE, else
/// $XDG_CACHE_HOME/clearsight, else ~/.cache/clearsight).
std::filesystem::path cache_root();

// ---- Metrics ------------------------------------------------------------------------------------

/// 1 if the normalised answer occurs in the normalised prediction, else 0.
double substring_match(const std::string& prediction, const std::string& answer);

/// Word error rate (word-level edit distance / reference length); 0 for identical texts.
double word_error_rate(const std::string& prediction, const std::string& reference);

/// Sentence BLEU-4 against references with add-one smoothing of the n-gram precisions (Lin & Och
/// 2004, "smoothing method 2" in NLTK terms) and the brevity penalty.
double sentence_bleu4(const std::string& prediction, const std::vector<std::string>& references);

/// Corpus BLEU-4 (clipped n-gram counts summed over the corpus, brevity penalty on totals).
double corpus_bleu4(const std::vector<std::string>& predictions,
                    const std::vector<std::vector<std::string>>& references);

/// Lower-cases, strips punctuation and collapses whitespace.
std::string normalize_answer(const std::string& text);

/// 1 if the normalised prediction equals the normalised answer or any reference, else 0.
double exact_match(const std::string& prediction, const Sample& sample);

/// 1 if the first letter of the normalised prediction is the answer letter ("b) seven" -> b).
double choice_match(const std::string& prediction, const std::string& answer_letter);

}  // namespace clearsight::mm
