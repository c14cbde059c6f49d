// text_choice (MMLU): text-only four-way multiple choice over small facts (colours of things,
// opposites, categories) and small-number arithmetic, comparisons and sequences, all in words.
// The answer letter is drawn uniformly first; a prompt's split is fixed by a hash of its text, so
// no test or validation prompt ever occurs in another split.
#include <algorithm>
#include <set>

#include "clearsight/core/error.h"
#include "mm/task_base.h"

namespace clearsight::mm {
namespace {

const std::vector<std::string> kLetters{"a", "b", "c", "d"};

struct Fact {
  const char* thing;
  const char* color;
};

const std::vector<Fact> kColorFacts{
    {"grass", "green"},     {"the sky", "blue"},    {"snow", "white"},      {"coal", "black"},
    {"a banana", "yellow"}, {"a tomato", "red"},    {"a lemon", "yellow"},  {"milk", "white"},
    {"blood", "red"},       {"a leaf", "green"},    {"the sea", "blue"},    {"the night", "black"},
    {"a cherry", "red"},    {"the sun", "yellow"},  {"a carrot", "orange"}, {"a pumpkin", "orange"},
    {"a frog", "green"},    {"chocolate", "brown"}, {"wood", "brown"},      {"a cloud", "white"}};
const std::vector<std::string> kFactColors{"red",   "green", "blue",   "yellow",
                                           "white", "black", "orange", "brown"};

const std::vector<std::pair<std::string, std::string>> kOpposites{
    {"hot", "cold"},   {"big", "small"},   {"up", "down"},    {"left", "right"}, {"fast", "slow"},
    {"day", "night"},  {"open", "closed"}, {"happy", "sad"},  {"light", "dark"}, {"wet", "dry"},
    {"tall", "short"}, {"early", "late"},  {"full", "empty"}, {"old", "young"},  {"hard", "soft"},
    {"loud", "quiet"}, {"high", "low"},    {"good", "bad"},   {"in", "out"},     {"first", "last"}};

const std::vector<std::pair<std::string, std::vector<std::string>>> kCategories{
    {"an animal", {"dog", "cat", "cow", "horse", "bird", "fish"}},
    {"a fruit", {"apple", "banana", "cherry", "lemon", "grape", "pear"}},
    {"a vehicle", {"car", "bus", "train", "boat", "bike", "truck"}},
    {"a tool", {"hammer", "saw", "drill", "wrench", "shovel", "axe"}}};

enum ChoiceType {
  kArithmetic,
  kCompare,
  kColorFact,
  kOpposite,
  kSequence,
  kCategory,
  kNumChoiceTypes
};

const char* const kChoiceTypeNames[] = {"arithmetic", "comparison", "color_fact",
                                        "opposite",   "sequence",   "category"};

// FNV-1a of a prompt, for the split assignment.
std::uint64_t text_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Hash buckets 0-15 are train (80 %), 16-17 validation, 18-19 test.
Split split_of(const std::string& prompt) {
  const auto bucket = splitmix64(text_hash(prompt)) % 20;
  if (bucket < 16) return Split::kTrain;
  return bucket < 18 ? Split::kValidation : Split::kTest;
}

// Three distinct distractors from pool, none equal to answer.
std::vector<std::string> distractors(Random& rng, const std::vector<std::string>& pool,
                                     const std::string& answer) {
  std::vector<std::string> candidates;
  for (const auto& p : pool) {
    if (p != answer && std::find(candidates.begin(), candidates.end(), p) == candidates.end()) {
      candidates.push_back(p);
    }
  }
  rng.shuffle(candidates);
  candidates.resize(3);
  return candidates;
}

// Distinct numbers near value (within 0..20), excluding value.
std::vector<std::string> number_distractors(Random& rng, int value) {
  std::set<int> chosen;
  while (chosen.size() < 3) {
    int d = value + (rng.chance(0.5) ? 1 : -1) * rng.range(1, 4);
    if (d < 0 || d > 20) d = rng.range(0, 20);
    if (d != value) chosen.insert(d);
  }
  std::vector<std::string> out;
  for (int d : chosen) out.push_back(number_words()[static_cast<std::size_t>(d)]);
  rng.shuffle(out);
  return out;
}

// What a TextChoice sample asks for. kChoice is the benchmark; the other two are training aids
// that split it into its two skills, each with a direct learning signal: kAnswer (the same
// question and options plus "say the word", answered with the option's word: knowing the
// answer; without the marker the two formats would share prompts and contradict) and kLocate (the
// options, then "which is WORD", answered with WORD's letter: finding an option and copying its
// letter). A tiny model trained on kChoice alone stays at chance (docs/RESULTS.md).
enum class ChoiceMode { kChoice, kAnswer, kLocate };

class TextChoice : public TaskBase {
 public:
  TextChoice(std::uint64_t seed, ChoiceMode mode) : TaskBase(seed), mode_(mode) {}
  std::string name() const override {
    switch (mode_) {
      case ChoiceMode::kAnswer:
        return "text_answer";
      case ChoiceMode::kLocate:
        return "text_locate";
      default:
        return "text_choice";
    }
  }
  std::string counterpart() const override {
    return mode_ == ChoiceMode::kChoice ? "MMLU" : "training aid for text_choice";
  }
  std::string metric() const override { return "accuracy"; }
  std::string record_metric() const override {
    return mode_ == ChoiceMode::kAnswer ? "exact_match" : "choice";
  }
  std::vector<std::string> modalities() const override { return {}; }

  std::vector<std::string> vocabulary() const override {
    std::vector<std::string> phrases{
        "what is plus minus",      "which number is the largest smallest", "what color is",
        "what is the opposite of", "what number comes after before",       "which of these is"};
    phrases.insert(phrases.end(), kLetters.begin(), kLetters.end());
    if (mode_ == ChoiceMode::kAnswer) phrases.emplace_back("say the word");
    phrases.insert(phrases.end(), number_words().begin(), number_words().end());
    phrases.insert(phrases.end(), kFactColors.begin(), kFactColors.end());
    for (const auto& f : kColorFacts) phrases.emplace_back(f.thing);
    for (const auto& [a, b] : kOpposites) phrases.push_back(a + " " + b);
    for (const auto& [category, members] : kCategories) {
      phrases.push_back(category);
      phrases.insert(phrases.end(), members.begin(), members.end());
    }
    return collect_words(phrases);
  }

  Sample sample(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    // Redraw until the prompt hashes into this split (1.25 draws for train, 10 otherwise).
    for (;;) {
      Sample s = draw(rng, i);
      if (split_of(s.prompt) == split) return s;
    }
  }

  Sample sample_text(Split split, std::int64_t i) const override { return sample(split, i); }

  double score(const std::string& prediction, const Sample& sample) const override {
    if (mode_ == ChoiceMode::kAnswer) return exact_match(prediction, sample);
    return choice_match(prediction, sample.answer);
  }

  // A uniformly random option (answer letters and positions are uniform).
  double chance_level() const override { return 1.0 / kLetters.size(); }

 private:
  ChoiceMode mode_;

  Sample draw(Random& rng, std::int64_t i) const {
    const int type = rng.below(kNumChoiceTypes);
    Sample s = start(i, kChoiceTypeNames[type]);
    const int letter = rng.below(4);
    std::string question;
    std::string answer;
    std::vector<std::string> wrong;
    const auto& numbers = number_words();
    switch (type) {
      case kArithmetic: {
        int value = 0;
        if (rng.chance(0.5)) {
          const int x = rng.range(0, 10);
          const int y = rng.range(0, 10);
          value = x + y;
          question = "what is " + numbers[x] + " plus " + numbers[y];
        } else {
          const int x = rng.range(0, 20);
          const int y = rng.range(0, x);
          value = x - y;
          question = "what is " + numbers[x] + " minus " + numbers[y];
        }
        answer = numbers[static_cast<std::size_t>(value)];
        wrong = number_distractors(rng, value);
        break;
      }
      case kCompare: {
        std::vector<int> pool(21);
        for (int k = 0; k <= 20; ++k) pool[static_cast<std::size_t>(k)] = k;
        rng.shuffle(pool);
        pool.resize(4);
        const bool largest = rng.chance(0.5);
        const int value = largest ? *std::max_element(pool.begin(), pool.end())
                                  : *std::min_element(pool.begin(), pool.end());
        question = std::string("which number is the ") + (largest ? "largest" : "smallest");
        answer = numbers[static_cast<std::size_t>(value)];
        for (int v : pool) {
          if (v != value) wrong.push_back(numbers[static_cast<std::size_t>(v)]);
        }
        break;
      }
      case kColorFact: {
        const Fact& fact = rng.pick(kColorFacts);
        question = std::string("what color is ") + fact.thing;
        answer = fact.color;
        wrong = distractors(rng, kFactColors, answer);
        break;
      }
      case kOpposite: {
        const auto& pair = rng.pick(kOpposites);
        const bool forward = rng.chance(0.5);
        question = "what is the opposite of " + (forward ? pair.first : pair.second);
        answer = forward ? pair.second : pair.first;
        std::vector<std::string> pool;
        for (const auto& [a, b] : kOpposites) {
          if (a != pair.first) {
            pool.push_back(a);
            pool.push_back(b);
          }
        }
        wrong = distractors(rng, pool, answer);
        break;
      }
      case kSequence: {
        const bool after = rng.chance(0.5);
        const int x = after ? rng.range(0, 19) : rng.range(1, 20);
        const int value = after ? x + 1 : x - 1;
        question = std::string("what number comes ") + (after ? "after " : "before ") + numbers[x];
        answer = numbers[static_cast<std::size_t>(value)];
        wrong = number_distractors(rng, value);
        break;
      }
      default: {
        const int category = rng.below(static_cast<int>(kCategories.size()));
        const auto& [label, members] = kCategories[static_cast<std::size_t>(category)];
        question = "which of these is " + label;
        answer = rng.pick(members);
        std::vector<std::string> pool;
        for (int c = 0; c < static_cast<int>(kCategories.size()); ++c) {
          if (c == category) continue;
          const auto& others = kCategories[static_cast<std::size_t>(c)].second;
          pool.insert(pool.end(), others.begin(), others.end());
        }
        wrong = distractors(rng, pool, answer);
        break;
      }
    }
    CS_CHECK(wrong.size() == 3, "text_choice: expected 3 distractors, got ", wrong.size());
    std::vector<std::string> options = wrong;
    options.insert(options.begin() + letter, answer);
    std::string listed;
    for (std::size_t k = 0; k < options.size(); ++k) listed += " " + kLetters[k] + " " + options[k];
    s.answer = kLetters[static_cast<std::size_t>(letter)];
    s.prompt = question + listed;
    if (mode_ == ChoiceMode::kAnswer) {
      // A marker, so the two answer formats never share a prompt.
      s.prompt += " say the word";
      s.answer = answer;
    } else if (mode_ == ChoiceMode::kLocate) {
      // Any option may be asked for, so the letter is not tied to the right answer.
      const int asked = rng.below(4);
      s.prompt = listed.substr(1) + " which is " + options[static_cast<std::size_t>(asked)];
      s.answer = kLetters[static_cast<std::size_t>(asked)];
    }
    s.references = {s.answer};
    return s;
  }
};

}  // namespace

std::unique_ptr<Task> make_text_choice(std::uint64_t seed) {
  return std::make_unique<TextChoice>(seed, ChoiceMode::kChoice);
}

std::unique_ptr<Task> make_text_answer(std::uint64_t seed) {
  return std::make_unique<TextChoice>(seed, ChoiceMode::kAnswer);
}

std::unique_ptr<Task> make_text_locate(std::uint64_t seed) {
  return std::make_unique<TextChoice>(seed, ChoiceMode::kLocate);
}

}  // namespace clearsight::mm
