// Shared plumbing of the six synthetic tasks: split sizes, per-sample seeds, vocabulary helpers
// and the factories the registry in tasks.cc calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "clearsight/mm/tasks.h"
#include "mm/random.h"

namespace clearsight::mm {

/// Samples per split, the same for every task.
inline constexpr std::int64_t kTrainSize = 20000;
/// Validation samples per task.
inline constexpr std::int64_t kValidationSize = 500;
/// Test samples per task.
inline constexpr std::int64_t kTestSize = 500;

/// A task with the common split sizes and a per-sample random stream.
class TaskBase : public Task {
 public:
  /// Remembers the suite seed.
  explicit TaskBase(std::uint64_t seed) : seed_(seed) {}
  std::int64_t split_size(Split split) const override;

 protected:
  /// The random stream of sample i of a split; throws ConfigError when i is out of range.
  Random stream(Split split, std::int64_t i) const;
  /// A sample with task, index and question type filled in.
  Sample start(std::int64_t i, std::string question_type) const;
  /// The suite seed.
  std::uint64_t seed() const { return seed_; }

 private:
  std::uint64_t seed_;
};

/// Sorted, de-duplicated words of all the given phrases (split at spaces), leaving out
/// placeholders (words starting with '%').
std::vector<std::string> collect_words(const std::vector<std::string>& phrases);

/// Replaces each placeholder word of pattern ("%color") by its value.
std::string fill(const std::string& pattern, const std::map<std::string, std::string>& values);

/// Number words "zero" .. "twenty".
const std::vector<std::string>& number_words();

/// Creates the scene_vqa task.
std::unique_ptr<Task> make_scene_vqa(std::uint64_t seed);
/// Creates the scene_caption task.
std::unique_ptr<Task> make_scene_caption(std::uint64_t seed);
/// Creates the text_choice task.
std::unique_ptr<Task> make_text_choice(std::uint64_t seed);
/// Training aid: text_choice answered with the option word.
std::unique_ptr<Task> make_text_answer(std::uint64_t seed);
/// Training aid: the letter of a named option.
std::unique_ptr<Task> make_text_locate(std::uint64_t seed);
/// Creates the motion_qa task.
std::unique_ptr<Task> make_motion_qa(std::uint64_t seed);
/// Creates the speech task.
std::unique_ptr<Task> make_speech(std::uint64_t seed);
/// Creates the sound_event task.
std::unique_ptr<Task> make_sound_event(std::uint64_t seed);

}  // namespace clearsight::mm
