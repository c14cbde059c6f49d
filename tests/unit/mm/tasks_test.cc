#include "clearsight/mm/tasks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

// Tasks whose samples are cheap to make in bulk (everything but speech audio).
const std::vector<std::string> kCheapTasks{"scene_vqa", "scene_caption", "text_choice", "motion_qa",
                                           "sound_event"};

// Points $CLEARSIGHT_CACHE at a directory for the lifetime of the object.
class ScopedCache {
 public:
  explicit ScopedCache(const std::filesystem::path& dir) {
    if (const char* old = std::getenv("CLEARSIGHT_CACHE")) old_ = old;
    ::setenv("CLEARSIGHT_CACHE", dir.c_str(), 1);
  }
  ~ScopedCache() {
    if (old_) {
      ::setenv("CLEARSIGHT_CACHE", old_->c_str(), 1);
    } else {
      ::unsetenv("CLEARSIGHT_CACHE");
    }
  }

 private:
  std::optional<std::string> old_;
};

bool same_tensor(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  return !a.defined() ||
         (a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() && torch::equal(a, b));
}

bool same_sample(const Sample& a, const Sample& b) {
  return a.task == b.task && a.index == b.index && a.prompt == b.prompt && a.answer == b.answer &&
         a.references == b.references && a.question_type == b.question_type &&
         same_tensor(a.image, b.image) && same_tensor(a.video, b.video) &&
         same_tensor(a.audio, b.audio);
}

// Same content apart from the index (which always equals i for both).
bool same_content(const Sample& a, const Sample& b) {
  return a.prompt == b.prompt && a.answer == b.answer && same_tensor(a.image, b.image) &&
         same_tensor(a.video, b.video) && same_tensor(a.audio, b.audio);
}

std::vector<std::string> words_of(const Sample& s) {
  std::vector<std::string> out;
  for (const auto* text : {&s.prompt, &s.answer}) {
    for (auto& w : split(*text, ' ')) out.push_back(w);
  }
  for (const auto& r : s.references) {
    for (auto& w : split(r, ' ')) out.push_back(w);
  }
  return out;
}

TEST(MmTasks, NamesOrderAndFactory) {
  EXPECT_EQ(task_names(), (std::vector<std::string>{"scene_vqa", "scene_caption", "text_choice",
                                                    "motion_qa", "speech", "sound_event"}));
  const std::map<std::string, std::pair<std::string, std::string>> info{
      {"scene_vqa", {"TextVQA", "substring_accuracy"}},
      {"scene_caption", {"COCO Caption", "bleu4"}},
      {"text_choice", {"MMLU", "accuracy"}},
      {"motion_qa", {"MSVD-QA", "substring_accuracy"}},
      {"speech", {"LibriSpeech", "word_recognition_rate"}},
      {"sound_event", {"VocalSound", "substring_accuracy"}}};
  const std::map<std::string, std::vector<std::string>> modalities{
      {"scene_vqa", {"image"}}, {"scene_caption", {"image"}}, {"text_choice", {}},
      {"motion_qa", {"video"}}, {"speech", {"audio"}},        {"sound_event", {"audio"}}};
  for (const auto& name : task_names()) {
    auto task = make_task(name, 3);
    EXPECT_EQ(task->name(), name);
    EXPECT_EQ(task->counterpart(), info.at(name).first);
    EXPECT_EQ(task->metric(), info.at(name).second);
    EXPECT_EQ(task->modalities(), modalities.at(name));
    EXPECT_EQ(task->split_size(Split::kTrain), 20000);
    EXPECT_EQ(task->split_size(Split::kValidation), 500);
    EXPECT_EQ(task->split_size(Split::kTest), 500);
    EXPECT_THROW(task->sample_text(Split::kTest, 500), ConfigError);
    EXPECT_THROW(task->sample_text(Split::kTest, -1), ConfigError);
  }
  try {
    make_task("scene_vq");
    FAIL() << "expected UnknownNameError";
  } catch (const UnknownNameError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'scene_vqa'"), std::string::npos)
        << e.what();
  }
  EXPECT_STREQ(split_name(Split::kValidation), "validation");
}

TEST(MmTasks, DeterministicAndSplitsDiffer) {
  for (const auto& name : kCheapTasks) {
    SCOPED_TRACE(name);
    auto a = make_task(name, 7);
    auto b = make_task(name, 7);
    auto other_seed = make_task(name, 8);
    int seed_differs = 0;
    for (std::int64_t i = 0; i < 12; ++i) {
      const Sample train = a->sample(Split::kTrain, i);
      EXPECT_TRUE(same_sample(train, b->sample(Split::kTrain, i))) << i;
      EXPECT_TRUE(same_sample(train, a->sample(Split::kTrain, i))) << i;
      // The text-only view has exactly the same text.
      const Sample text = a->sample_text(Split::kTrain, i);
      EXPECT_EQ(text.prompt, train.prompt);
      EXPECT_EQ(text.answer, train.answer);
      EXPECT_EQ(text.references, train.references);
      EXPECT_EQ(text.question_type, train.question_type);
      EXPECT_FALSE(text.image.defined() || text.video.defined() || text.audio.defined());
      // No test or validation sample equals the train sample of the same index.
      EXPECT_FALSE(same_content(train, a->sample(Split::kTest, i))) << i;
      EXPECT_FALSE(same_content(train, a->sample(Split::kValidation, i))) << i;
      EXPECT_FALSE(same_content(a->sample(Split::kTest, i), a->sample(Split::kValidation, i)));
      seed_differs += same_content(train, other_seed->sample(Split::kTrain, i)) ? 0 : 1;
    }
    EXPECT_GE(seed_differs, 10);
  }
}

TEST(MmTasks, ShapesDtypesAndRanges) {
  for (const auto& name : kCheapTasks) {
    SCOPED_TRACE(name);
    auto task = make_task(name);
    const auto modalities = task->modalities();
    auto has = [&](const char* m) {
      return std::find(modalities.begin(), modalities.end(), m) != modalities.end();
    };
    for (std::int64_t i = 0; i < 20; ++i) {
      const Sample s = task->sample(Split::kValidation, i);
      EXPECT_EQ(s.task, name);
      EXPECT_EQ(s.index, i);
      EXPECT_FALSE(s.prompt.empty());
      EXPECT_FALSE(s.answer.empty());
      EXPECT_EQ(normalize_answer(s.prompt), s.prompt);
      EXPECT_EQ(normalize_answer(s.answer), s.answer);
      EXPECT_FALSE(s.question_type.empty());
      EXPECT_EQ(s.image.defined(), has("image"));
      EXPECT_EQ(s.video.defined(), has("video"));
      EXPECT_EQ(s.audio.defined(), has("audio"));
      if (s.image.defined()) {
        EXPECT_EQ(s.image.sizes(), (std::vector<std::int64_t>{3, kImageSize, kImageSize}));
        EXPECT_EQ(s.image.scalar_type(), torch::kUInt8);
        EXPECT_GT(s.image.to(torch::kFloat32).std().item<float>(), 5.0f);
      }
      if (s.video.defined()) {
        EXPECT_EQ(s.video.sizes(),
                  (std::vector<std::int64_t>{kVideoFrames, 3, kImageSize, kImageSize}));
        EXPECT_EQ(s.video.scalar_type(), torch::kUInt8);
        // Something moves: the first and last frames differ by more than the noise.
        const auto diff =
            (s.video[0].to(torch::kFloat32) - s.video[kVideoFrames - 1].to(torch::kFloat32))
                .abs()
                .gt(60)
                .sum()
                .item<std::int64_t>();
        EXPECT_GT(diff, 5) << i;
      }
      if (s.audio.defined()) {
        EXPECT_EQ(s.audio.dim(), 1);
        EXPECT_EQ(s.audio.scalar_type(), torch::kFloat32);
        EXPECT_GT(s.audio.size(0), kSampleRate / 4);
        EXPECT_LE(s.audio.size(0), kMaxAudioSamples);
        EXPECT_TRUE(torch::isfinite(s.audio).all().item<bool>());
        EXPECT_LE(s.audio.abs().max().item<float>(), 1.0f);
        EXPECT_GT(s.audio.abs().max().item<float>(), 0.1f) << s.answer;
      }
    }
  }
}

TEST(MmTasks, TextChoiceTrainingAidsSplitTheTwoSkills) {
  const auto choice = make_task("text_choice", 3);
  const auto answer = make_task("text_answer", 3);
  const auto locate = make_task("text_locate", 3);
  const std::set<std::string> known = [&] {
    const auto v = choice->vocabulary();
    return std::set<std::string>(v.begin(), v.end());
  }();
  for (std::int64_t i = 0; i < 50; ++i) {
    const auto c = choice->sample(Split::kTrain, i);
    const auto a = answer->sample(Split::kTrain, i);
    // The same kind of question and options, answered with one of the option words.
    const auto aw = split(a.prompt, ' ');
    ASSERT_GE(aw.size(), 11u);
    EXPECT_EQ(std::vector<std::string>(aw.end() - 3, aw.end()),
              (std::vector<std::string>{"say", "the", "word"}));
    EXPECT_EQ(*(aw.end() - 11), "a");
    EXPECT_EQ(std::count(aw.end() - 11, aw.end() - 3, a.answer), 1) << a.prompt;
    const auto av = answer->vocabulary();
    for (const auto& w : aw) EXPECT_TRUE(std::binary_search(av.begin(), av.end(), w)) << w;
    EXPECT_EQ(answer->score(a.answer, a), 1.0);
    EXPECT_EQ(answer->score("a", a), 0.0);
    EXPECT_EQ(choice->score(c.answer, c), 1.0);
    // Locate: four options, then "which is WORD"; the answer is WORD's letter.
    const auto l = locate->sample(Split::kTrain, i);
    const auto lw = split(l.prompt, ' ');
    ASSERT_EQ(lw.size(), 11u);
    EXPECT_EQ(lw[8], "which");
    const auto pos = std::find(lw.begin(), lw.begin() + 8, lw[10]);
    ASSERT_NE(pos, lw.begin() + 8);
    EXPECT_EQ(l.answer, *(pos - 1));
    for (const auto& w : lw) EXPECT_TRUE(known.count(w)) << w;
  }
  EXPECT_EQ(locate->chance_level(), 0.25);
}

TEST(MmTasks, VocabularyCoversSamples) {
  for (const auto& name : task_names()) {
    SCOPED_TRACE(name);
    auto task = make_task(name);
    const auto vocabulary = task->vocabulary();
    EXPECT_TRUE(std::is_sorted(vocabulary.begin(), vocabulary.end()));
    EXPECT_EQ(std::adjacent_find(vocabulary.begin(), vocabulary.end()), vocabulary.end());
    const std::set<std::string> known(vocabulary.begin(), vocabulary.end());
    for (Split split : {Split::kTrain, Split::kTest}) {
      for (std::int64_t i = 0; i < 100; ++i) {
        for (const auto& w : words_of(task->sample_text(split, i))) {
          EXPECT_TRUE(known.count(w)) << "'" << w << "' missing from the vocabulary";
        }
      }
    }
  }
}

TEST(MmTasks, AnswersBalancedWithinQuestionTypes) {
  for (const std::string name : {"scene_vqa", "text_choice", "motion_qa", "sound_event"}) {
    SCOPED_TRACE(name);
    auto task = make_task(name);
    std::map<std::string, std::map<std::string, int>> counts;  // type -> answer -> count
    std::map<std::string, int> letters;
    for (std::int64_t i = 0; i < 800; ++i) {
      const Sample s = task->sample_text(Split::kTrain, i);
      ++counts[s.question_type][s.answer];
    }
    for (const auto& [type, answers] : counts) {
      int total = 0;
      for (const auto& [answer, count] : answers) total += count;
      const double fair = static_cast<double>(total) / answers.size();
      for (const auto& [answer, count] : answers) {
        EXPECT_LE(count, 2.0 * fair) << type << " -> " << answer;
        EXPECT_GE(count, 0.4 * fair) << type << " -> " << answer;
      }
    }
  }
  // Every answer of each family shows up.
  auto vqa = make_task("scene_vqa");
  std::map<std::string, std::set<std::string>> seen;
  for (std::int64_t i = 0; i < 800; ++i) {
    const Sample s = vqa->sample_text(Split::kTrain, i);
    seen[s.question_type].insert(s.answer);
  }
  EXPECT_EQ(seen["color"].size(), 6u);
  EXPECT_EQ(seen["shape"].size(), 3u);
  EXPECT_EQ(seen["count"].size(), 4u);
  EXPECT_EQ(seen["position"].size(), 5u);
  // Speech words and caption words are balanced too.
  for (const std::string name : {"speech", "scene_caption"}) {
    auto task = make_task(name);
    std::map<std::string, int> words;
    int total = 0;
    for (std::int64_t i = 0; i < 800; ++i) {
      for (const auto& w : split(task->sample_text(Split::kTrain, i).answer, ' ')) {
        if (w == "a" || w == "and") continue;
        ++words[w];
        ++total;
      }
    }
    const double fair = static_cast<double>(total) / words.size();
    for (const auto& [w, count] : words) EXPECT_LE(count, 2.0 * fair) << name << ": " << w;
  }
}

TEST(MmTasks, ChanceLevels) {
  EXPECT_NEAR(make_task("scene_vqa")->chance_level(), (1.0 / 6 + 1.0 / 3 + 1.0 / 4 + 1.0 / 5) / 4,
              1e-12);
  EXPECT_NEAR(make_task("motion_qa")->chance_level(), (1.0 / 4 + 1.0 / 3 + 1.0 / 6) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(make_task("text_choice")->chance_level(), 0.25);
  EXPECT_DOUBLE_EQ(make_task("sound_event")->chance_level(), 1.0 / 7);
  const double speech = make_task("speech")->chance_level();
  EXPECT_GT(speech, 0.025);
  EXPECT_LT(speech, 1.0 / 30);
  const double caption = make_task("scene_caption")->chance_level();
  EXPECT_GT(caption, 0.0);
  EXPECT_LT(caption, 0.5);
}

// A text-only model that memorises the most frequent answer per prompt on train scores about the
// chance level on test, except on text_choice, which is solvable from text.
TEST(MmTasks, TextOnlyBaselineNearChance) {
  for (const std::string name :
       {"scene_vqa", "scene_caption", "motion_qa", "speech", "sound_event"}) {
    SCOPED_TRACE(name);
    auto task = make_task(name, 11);
    std::map<std::string, std::map<std::string, int>> by_prompt;
    for (std::int64_t i = 0; i < 3000; ++i) {
      const Sample s = task->sample_text(Split::kTrain, i);
      ++by_prompt[s.prompt][s.answer];
    }
    std::vector<std::string> predictions;
    std::vector<Sample> samples;
    for (std::int64_t i = 0; i < task->split_size(Split::kTest); ++i) {
      samples.push_back(task->sample_text(Split::kTest, i));
      const auto& answers = by_prompt[samples.back().prompt];
      std::string best;
      int best_count = -1;
      for (const auto& [answer, count] : answers) {
        if (count > best_count) best = answer, best_count = count;
      }
      predictions.push_back(best);
    }
    const double blind = task->corpus_score(predictions, samples);
    EXPECT_LT(blind, task->chance_level() + 0.06) << "blind " << blind;
    // The right answers score 1.
    std::vector<std::string> answers;
    for (const auto& s : samples) answers.push_back(s.answer);
    EXPECT_NEAR(task->corpus_score(answers, samples), 1.0, 1e-12);
  }
}

TEST(MmTasks, ScoresUseTheTaskMetric) {
  auto choice = make_task("text_choice");
  const Sample q = choice->sample_text(Split::kTest, 0);
  EXPECT_EQ(choice->score(q.answer + ") because", q), 1.0);
  EXPECT_EQ(choice->score(q.answer == "a" ? "b" : "a", q), 0.0);
  auto vqa = make_task("scene_vqa");
  const Sample v = vqa->sample_text(Split::kTest, 0);
  EXPECT_EQ(vqa->score("I think it is " + v.answer + ".", v), 1.0);
  auto speech = make_task("speech");
  Sample t = speech->sample_text(Split::kTest, 0);
  t.answer = "one two three four";
  EXPECT_DOUBLE_EQ(speech->score("one two tree four", t), 0.75);
  EXPECT_DOUBLE_EQ(speech->score("one two three four five six seven eight nine", t), 0.0);
  auto caption = make_task("scene_caption");
  const Sample c = caption->sample_text(Split::kTest, 0);
  EXPECT_EQ(c.references.size(), 3u);
  EXPECT_EQ(c.references[0], c.answer);
  EXPECT_DOUBLE_EQ(caption->score(c.references[2], c), 1.0);
  EXPECT_EQ(exact_match(c.references[1], c), 1.0);
  EXPECT_THROW(caption->corpus_score({"a"}, {}), Error);
}

TEST(MmTasks, TextChoiceSplitsShareNoPrompt) {
  auto task = make_task("text_choice");
  std::set<std::string> train;
  for (std::int64_t i = 0; i < 4000; ++i) train.insert(task->sample_text(Split::kTrain, i).prompt);
  std::set<std::string> test;
  for (std::int64_t i = 0; i < 500; ++i) {
    const Sample s = task->sample_text(Split::kTest, i);
    EXPECT_FALSE(train.count(s.prompt)) << s.prompt;
    test.insert(s.prompt);
  }
  EXPECT_GT(test.size(), 450u);  // prompts rarely repeat
  std::map<std::string, int> types;
  for (std::int64_t i = 0; i < 600; ++i) ++types[task->sample_text(Split::kTrain, i).question_type];
  EXPECT_EQ(types.size(), 6u);
}

TEST(MmTasks, SoundEventsFiniteAndNonSilent) {
  auto task = make_task("sound_event");
  std::set<std::string> labels;
  for (std::int64_t i = 0; i < 40; ++i) {
    const Sample s = task->sample(Split::kTrain, i);
    labels.insert(s.answer);
    ASSERT_TRUE(s.audio.defined());
    EXPECT_TRUE(torch::isfinite(s.audio).all().item<bool>());
    EXPECT_GT(s.audio.abs().max().item<float>(), 0.1f) << s.answer;
    EXPECT_GE(s.audio.size(0), kSampleRate / 2);
    EXPECT_LE(s.audio.size(0), kMaxAudioSamples);
  }
  EXPECT_EQ(labels.size(), 7u);
}

TEST(MmTasksSpeech, RealSpeechDeterministicAndCached) {
  testing::TempDir cache;
  ScopedCache scoped(cache.path());
  auto task = make_task("speech", 5);
  // Two test samples with different words.
  const Sample a = task->sample(Split::kTest, 0);
  std::int64_t other = 1;
  while (task->sample_text(Split::kTest, other).answer == a.answer) ++other;
  const Sample b = task->sample(Split::kTest, other);
  for (const Sample* s : {&a, &b}) {
    ASSERT_TRUE(s->audio.defined());
    EXPECT_EQ(s->audio.dim(), 1);
    EXPECT_EQ(s->audio.scalar_type(), torch::kFloat32);
    EXPECT_GT(s->audio.size(0), kSampleRate / 5);
    EXPECT_LE(s->audio.size(0), kMaxAudioSamples);
    EXPECT_TRUE(torch::isfinite(s->audio).all().item<bool>());
    EXPECT_LE(s->audio.abs().max().item<float>(), 1.0f);
    EXPECT_GT(s->audio.pow(2).mean().sqrt().item<float>(), 0.02f) << s->answer;
    EXPECT_EQ(s->prompt, task->sample_text(Split::kTest, s->index).prompt);
  }
  EXPECT_FALSE(same_tensor(a.audio, b.audio));
  // A fresh task (no shared cache) synthesises the identical waveform: espeak-ng's carried-over
  // state does not leak between utterances.
  auto fresh = make_task("speech", 5);
  EXPECT_TRUE(same_sample(fresh->sample(Split::kTest, other), b));
  EXPECT_TRUE(same_sample(fresh->sample(Split::kTest, 0), a));
  // Same index, other split: different audio.
  EXPECT_FALSE(same_content(task->sample(Split::kTrain, 0), a));

  // prepare() writes a disk cache that a new task reads back with identical samples.
  task->prepare(Split::kTest, 3);
  const auto file = cache.path() / "mm" / "speech-v1-seed5-test.safetensors";
  ASSERT_TRUE(std::filesystem::exists(file));
  auto from_disk = make_task("speech", 5);
  EXPECT_TRUE(same_sample(from_disk->sample(Split::kTest, 0), a));
  EXPECT_TRUE(same_sample(from_disk->sample(Split::kTest, 2), task->sample(Split::kTest, 2)));
  EXPECT_EQ(testing::count_temp_files(file.parent_path()), 0);
  // A stale or corrupt cache file is ignored.
  testing::write_bytes(file, "not a safetensors file");
  auto after_corruption = make_task("speech", 5);
  EXPECT_TRUE(same_sample(after_corruption->sample(Split::kTest, 0), a));
}

}  // namespace
}  // namespace clearsight::mm
