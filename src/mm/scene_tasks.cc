// scene_vqa (TextVQA) and scene_caption (COCO Caption): questions about, and captions of, 1-4
// shapes placed in five slots of a 32x32 image.
#include <algorithm>
#include <mutex>

#include "clearsight/core/error.h"
#include "mm/scene.h"
#include "mm/task_base.h"

namespace clearsight::mm {
namespace {

// A shape in a slot, before rendering.
struct Placed {
  int color = 0;
  int shape = 0;
  int slot = 0;
};

// Renders placed shapes (slot centre +-1 px jitter) into a fresh image tensor.
torch::Tensor render_scene(const std::vector<Placed>& placed, Random& rng) {
  std::vector<Shape2d> shapes;
  for (const auto& p : placed) {
    double x = 0;
    double y = 0;
    slot_center(p.slot, x, y);
    x += rng.uniform(-1.0, 1.0);
    y += rng.uniform(-1.0, 1.0);
    shapes.push_back(make_shape(p.color, p.shape, x, y, rng));
  }
  const Background background = make_background(rng);
  torch::Tensor image = torch::empty({3, kImageSize, kImageSize}, torch::kUInt8);
  render(shapes, background, rng, image.data_ptr<std::uint8_t>());
  return image;
}

// A random value in [0, n) other than excluded.
int other_than(Random& rng, int n, int excluded) {
  const int v = rng.below(n - 1);
  return v >= excluded ? v + 1 : v;
}

// ---- scene_vqa
// -----------------------------------------------------------------------------------

enum VqaType { kColorOf, kShapeOf, kCount, kWhere, kNumVqaTypes };

const std::vector<std::string> kColorOfPatterns{"what color is the %shape",
                                                "what is the color of the %shape",
                                                "which color does the %shape have"};
const std::vector<std::string> kShapeOfPatterns{"what shape is %color", "which shape is %color",
                                                "what is the shape of the %color object"};
const std::vector<std::string> kCountPatterns{"how many shapes are there",
                                              "how many objects are in the image",
                                              "count the shapes in the image"};
const std::vector<std::string> kWherePatterns{"where is the %color %shape",
                                              "where is the %color %shape located",
                                              "in which part of the image is the %color %shape"};

const std::vector<std::string> kCountAnswers{"one", "two", "three", "four"};

class SceneVqa : public TaskBase {
 public:
  using TaskBase::TaskBase;
  std::string name() const override { return "scene_vqa"; }
  std::string counterpart() const override { return "TextVQA"; }
  std::string metric() const override { return "substring_accuracy"; }
  std::vector<std::string> modalities() const override { return {"image"}; }

  std::vector<std::string> vocabulary() const override {
    std::vector<std::string> phrases;
    for (const auto* list : {&kColorOfPatterns, &kShapeOfPatterns, &kCountPatterns, &kWherePatterns,
                             &kCountAnswers, &color_names(), &shape_names(), &slot_names()}) {
      phrases.insert(phrases.end(), list->begin(), list->end());
    }
    return collect_words(phrases);
  }

  Sample sample(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    std::vector<Placed> placed;
    Sample s = describe(rng, i, placed);
    s.image = render_scene(placed, rng);
    return s;
  }

  Sample sample_text(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    std::vector<Placed> placed;
    return describe(rng, i, placed);
  }

  double score(const std::string& prediction, const Sample& sample) const override {
    return substring_match(prediction, sample.answer);
  }

  // Question types are equally likely and answers uniform within a type, independent of the
  // words of the question: the best blind guess is right 1/#answers of the time per type.
  double chance_level() const override {
    return (1.0 / num_colors() + 1.0 / num_shapes() + 1.0 / kCountAnswers.size() +
            1.0 / num_slots()) /
           static_cast<double>(kNumVqaTypes);
  }

 private:
  // Draws the question, its answer (uniformly first) and a scene consistent with it.
  Sample describe(Random& rng, std::int64_t i, std::vector<Placed>& placed) const {
    const int type = rng.below(kNumVqaTypes);
    static const char* const kTypeNames[] = {"color", "shape", "count", "position"};
    Sample s = start(i, kTypeNames[type]);
    std::vector<int> slots{0, 1, 2, 3, 4};
    rng.shuffle(slots);
    const int n = rng.range(1, 4);
    switch (type) {
      case kColorOf: {
        // The asked-for shape occurs once; the others have other shapes, any colour.
        const int answer = rng.below(num_colors());
        const int shape = rng.below(num_shapes());
        placed.push_back({answer, shape, slots[0]});
        for (int k = 1; k < n; ++k) {
          placed.push_back({rng.below(num_colors()), other_than(rng, num_shapes(), shape),
                            slots[static_cast<std::size_t>(k)]});
        }
        s.prompt = fill(rng.pick(kColorOfPatterns), {{"%shape", shape_names()[shape]}});
        s.answer = color_names()[answer];
        break;
      }
      case kShapeOf: {
        // The asked-for colour occurs once; the others have other colours, any shape.
        const int answer = rng.below(num_shapes());
        const int color = rng.below(num_colors());
        placed.push_back({color, answer, slots[0]});
        for (int k = 1; k < n; ++k) {
          placed.push_back({other_than(rng, num_colors(), color), rng.below(num_shapes()),
                            slots[static_cast<std::size_t>(k)]});
        }
        s.prompt = fill(rng.pick(kShapeOfPatterns), {{"%color", color_names()[color]}});
        s.answer = shape_names()[answer];
        break;
      }
      case kCount: {
        for (int k = 0; k < n; ++k) {
          placed.push_back({rng.below(num_colors()), rng.below(num_shapes()),
                            slots[static_cast<std::size_t>(k)]});
        }
        s.prompt = rng.pick(kCountPatterns);
        s.answer = kCountAnswers[static_cast<std::size_t>(n - 1)];
        break;
      }
      default: {
        // The asked-for (colour, shape) occurs once, in the answer slot; the others differ in
        // colour, shape or both, so that neither alone locates the target.
        const int answer = rng.below(num_slots());
        const int color = rng.below(num_colors());
        const int shape = rng.below(num_shapes());
        placed.push_back({color, shape, answer});
        std::vector<int> free_slots;
        for (int slot : slots) {
          if (slot != answer) free_slots.push_back(slot);
        }
        const int pairs = num_colors() * num_shapes();
        for (int k = 1; k < n; ++k) {
          const int pair = other_than(rng, pairs, color * num_shapes() + shape);
          placed.push_back({pair / num_shapes(), pair % num_shapes(),
                            free_slots[static_cast<std::size_t>(k - 1)]});
        }
        s.prompt = fill(rng.pick(kWherePatterns),
                        {{"%color", color_names()[color]}, {"%shape", shape_names()[shape]}});
        s.answer = slot_names()[answer];
        break;
      }
    }
    return s;
  }
};

// ---- scene_caption
// -------------------------------------------------------------------------------

const std::vector<std::string> kCaptionPrompts{"describe the image", "what is in the image",
                                               "write a caption for the image"};

// Slots in caption order: left to right, then top to bottom (left, top, center, bottom, right).
int caption_rank(int slot) {
  static const int kRank[] = {0, 4, 1, 3, 2};
  return kRank[slot];
}

// "a", "a and b", "a b and c".
std::string list_phrase(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k > 0) out += k + 1 == items.size() ? " and " : " ";
    out += items[k];
  }
  return out;
}

class SceneCaption : public TaskBase {
 public:
  using TaskBase::TaskBase;
  std::string name() const override { return "scene_caption"; }
  std::string counterpart() const override { return "COCO Caption"; }
  std::string metric() const override { return "bleu4"; }
  std::vector<std::string> modalities() const override { return {"image"}; }

  std::vector<std::string> vocabulary() const override {
    std::vector<std::string> phrases = kCaptionPrompts;
    phrases.push_back("a and there is");
    for (const auto* list : {&color_names(), &shape_names(), &slot_phrases()}) {
      phrases.insert(phrases.end(), list->begin(), list->end());
    }
    return collect_words(phrases);
  }

  Sample sample(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    std::vector<Placed> placed;
    Sample s = describe(rng, i, placed);
    s.image = render_scene(placed, rng);
    return s;
  }

  Sample sample_text(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    std::vector<Placed> placed;
    return describe(rng, i, placed);
  }

  double score(const std::string& prediction, const Sample& sample) const override {
    return sentence_bleu4(prediction, sample.references);
  }

  double corpus_score(const std::vector<std::string>& predictions,
                      const std::vector<Sample>& samples) const override {
    CS_CHECK(predictions.size() == samples.size(), "corpus_score: ", predictions.size(),
             " predictions for ", samples.size(), " samples");
    std::vector<std::vector<std::string>> references;
    references.reserve(samples.size());
    for (const auto& s : samples) references.push_back(s.references);
    return corpus_bleu4(predictions, references);
  }

  // Corpus BLEU-4 on the test split of the best of a few constant captions (the text-only
  // model's best strategy, since the prompt says nothing about the image); computed once.
  double chance_level() const override {
    std::call_once(chance_once_, [this] {
      const std::vector<std::string> candidates{
          "a red circle",
          "a red circle and a blue square",
          "there is a red circle and a blue square",
          "a red circle a blue square and a green triangle",
          "there is a red circle a blue square and a green triangle",
          "a red circle on the left and a blue square on the right",
          "there is a red circle in the center"};
      std::vector<Sample> samples;
      for (std::int64_t i = 0; i < split_size(Split::kTest); ++i) {
        samples.push_back(sample_text(Split::kTest, i));
      }
      double best = 0.0;
      for (const auto& c : candidates) {
        best = std::max(best, corpus_score(std::vector<std::string>(samples.size(), c), samples));
      }
      chance_ = best;
    });
    return chance_;
  }

 private:
  // Draws 1-3 distinct (colour, shape) pairs in distinct slots and their captions: the answer
  // lists them in caption order; the references rephrase it ("there is ...") and add positions.
  Sample describe(Random& rng, std::int64_t i, std::vector<Placed>& placed) const {
    Sample s = start(i, "caption");
    const int n = rng.range(1, 3);
    std::vector<int> pairs(static_cast<std::size_t>(num_colors() * num_shapes()));
    for (std::size_t k = 0; k < pairs.size(); ++k) pairs[k] = static_cast<int>(k);
    rng.shuffle(pairs);
    std::vector<int> slots{0, 1, 2, 3, 4};
    rng.shuffle(slots);
    for (int k = 0; k < n; ++k) {
      const auto pair = pairs[static_cast<std::size_t>(k)];
      placed.push_back(
          {pair / num_shapes(), pair % num_shapes(), slots[static_cast<std::size_t>(k)]});
    }
    std::vector<Placed> ordered = placed;
    std::sort(ordered.begin(), ordered.end(), [](const Placed& a, const Placed& b) {
      return caption_rank(a.slot) < caption_rank(b.slot);
    });
    std::vector<std::string> plain;
    std::vector<std::string> located;
    for (const auto& p : ordered) {
      plain.push_back("a " + color_names()[p.color] + " " + shape_names()[p.shape]);
      located.push_back(plain.back() + " " + slot_phrases()[p.slot]);
    }
    s.prompt = rng.pick(kCaptionPrompts);
    s.answer = list_phrase(plain);
    s.references = {s.answer, "there is " + s.answer, list_phrase(located)};
    return s;
  }

  mutable std::once_flag chance_once_;
  mutable double chance_ = 0.0;
};

}  // namespace

std::unique_ptr<Task> make_scene_vqa(std::uint64_t seed) {
  return std::make_unique<SceneVqa>(seed);
}

std::unique_ptr<Task> make_scene_caption(std::uint64_t seed) {
  return std::make_unique<SceneCaption>(seed);
}

}  // namespace clearsight::mm
