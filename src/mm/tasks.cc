#include "clearsight/mm/tasks.h"

#include "clearsight/core/paths.h"

#include <cstdlib>

#include "clearsight/core/error.h"
#include "clearsight/core/registry.h"
#include "clearsight/core/strings.h"
#include "mm/task_base.h"

namespace clearsight::mm {
namespace {

using TaskRegistry = Registry<Task, std::uint64_t>;

const TaskRegistry& registry() {
  static const TaskRegistry instance = [] {
    TaskRegistry r("task");
    r.add("scene_vqa", make_scene_vqa, "questions about shapes in a 32x32 image (TextVQA)");
    r.add("scene_caption", make_scene_caption,
          "captions of shapes in a 32x32 image (COCO Caption)");
    r.add("text_choice", make_text_choice, "text-only four-way multiple choice (MMLU)");
    r.add("text_answer", make_text_answer,
          "training aid: text_choice questions answered with the option's word");
    r.add("text_locate", make_text_locate, "training aid: the letter of a named option among four");
    r.add("motion_qa", make_motion_qa, "questions about moving shapes in 4 frames (MSVD-QA)");
    r.add("speech", make_speech, "transcription of espeak-ng speech (LibriSpeech)");
    r.add("sound_event", make_sound_event, "classification of synthetic sounds (VocalSound)");
    return r;
  }();
  return instance;
}

}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::kTrain:
      return "train";
    case Split::kValidation:
      return "validation";
    case Split::kTest:
      return "test";
  }
  return "?";
}

double Task::corpus_score(const std::vector<std::string>& predictions,
                          const std::vector<Sample>& samples) const {
  CS_CHECK(predictions.size() == samples.size(), "corpus_score: ", predictions.size(),
           " predictions for ", samples.size(), " samples");
  if (samples.empty()) return 0.0;
  double total = 0.0;
  for (std::size_t i = 0; i < samples.size(); ++i) total += score(predictions[i], samples[i]);
  return total / static_cast<double>(samples.size());
}

Sample Task::sample_text(Split split, std::int64_t i) const {
  Sample s = sample(split, i);
  s.image = torch::Tensor();
  s.video = torch::Tensor();
  s.audio = torch::Tensor();
  return s;
}

void Task::prepare(Split /*split*/, std::int64_t /*count*/) const {}

std::int64_t TaskBase::split_size(Split split) const {
  switch (split) {
    case Split::kTrain:
      return kTrainSize;
    case Split::kValidation:
      return kValidationSize;
    case Split::kTest:
      return kTestSize;
  }
  return 0;
}

Random TaskBase::stream(Split split, std::int64_t i) const {
  CS_CHECK_AS(ConfigError, i >= 0 && i < split_size(split), name(), ": index ", i,
              " is outside the ", split_name(split), " split [0, ", split_size(split), ")");
  return Random(sample_seed(seed_, name(), split, i));
}

Sample TaskBase::start(std::int64_t i, std::string question_type) const {
  Sample s;
  s.task = name();
  s.index = i;
  s.question_type = std::move(question_type);
  return s;
}

std::vector<std::string> collect_words(const std::vector<std::string>& phrases) {
  std::set<std::string> words;
  for (const auto& phrase : phrases) {
    for (auto& word : split(phrase, ' ')) {
      if (!word.empty() && word[0] != '%') words.insert(word);
    }
  }
  return {words.begin(), words.end()};
}

std::string fill(const std::string& pattern, const std::map<std::string, std::string>& values) {
  std::vector<std::string> words = split(pattern, ' ');
  for (auto& word : words) {
    if (word.empty() || word[0] != '%') continue;
    auto it = values.find(word);
    CS_CHECK(it != values.end(), "no value for placeholder ", word, " in '", pattern, "'");
    word = it->second;
  }
  return join(words, " ");
}

const std::vector<std::string>& number_words() {
  static const std::vector<std::string> words{
      "zero",     "one",     "two",     "three",     "four",     "five",     "six",
      "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",   "thirteen",
      "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"};
  return words;
}

std::unique_ptr<Task> make_task(const std::string& name, std::uint64_t seed) {
  return registry().create(name, seed);
}

std::vector<std::string> task_names() {
  return {"scene_vqa", "scene_caption", "text_choice", "motion_qa", "speech", "sound_event"};
}

std::filesystem::path cache_root() { return cache_dir(); }

}  // namespace clearsight::mm
