// motion_qa (MSVD-QA): kVideoFrames frames in which one or two shapes move left, right, up or
// down while up to one more stands still; questions ask which way a shape moves, or which shape /
// which colour moves a given way.
#include <algorithm>
#include <cmath>

#include "clearsight/core/error.h"
#include "mm/scene.h"
#include "mm/task_base.h"

namespace clearsight::mm {
namespace {

const std::vector<std::string> kDirections{"left", "right", "up", "down"};
constexpr double kDirX[] = {-1, 1, 0, 0};
constexpr double kDirY[] = {0, 0, -1, 1};
constexpr int kStill = -1;

enum MotionType { kWhichWay, kWhichShape, kWhichColor, kNumMotionTypes };

const std::vector<std::string> kWhichWayPatterns{"which way does the %color %shape move",
                                                 "in which direction does the %color %shape move",
                                                 "where does the %color %shape go"};
const std::vector<std::string> kWhichShapePatterns{"which shape moves %dir", "what moves %dir",
                                                   "what shape is moving %dir"};
const std::vector<std::string> kWhichColorPatterns{"what color is the shape that moves %dir",
                                                   "which color moves %dir",
                                                   "what color is the thing moving %dir"};

// A shape and its direction (kStill for none), before placement.
struct Actor {
  int color = 0;
  int shape = 0;
  int direction = kStill;
};

// Bounding box swept by a shape over all frames.
struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

class MotionQa : public TaskBase {
 public:
  using TaskBase::TaskBase;
  std::string name() const override { return "motion_qa"; }
  std::string counterpart() const override { return "MSVD-QA"; }
  std::string metric() const override { return "substring_accuracy"; }
  std::vector<std::string> modalities() const override { return {"video"}; }

  std::vector<std::string> vocabulary() const override {
    std::vector<std::string> phrases;
    for (const auto* list : {&kWhichWayPatterns, &kWhichShapePatterns, &kWhichColorPatterns,
                             &kDirections, &color_names(), &shape_names()}) {
      phrases.insert(phrases.end(), list->begin(), list->end());
    }
    return collect_words(phrases);
  }

  Sample sample(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    std::vector<Actor> actors;
    Sample s = describe(rng, i, actors);
    s.video = render_clip(actors, rng);
    return s;
  }

  Sample sample_text(Split split, std::int64_t i) const override {
    Random rng = stream(split, i);
    std::vector<Actor> actors;
    return describe(rng, i, actors);
  }

  double score(const std::string& prediction, const Sample& sample) const override {
    return substring_match(prediction, sample.answer);
  }

  // Equally likely question types, answers uniform within a type and independent of the words.
  double chance_level() const override {
    return (1.0 / kDirections.size() + 1.0 / num_shapes() + 1.0 / num_colors()) /
           static_cast<double>(kNumMotionTypes);
  }

 private:
  // Draws the question, its answer (uniformly first) and actors consistent with it; actors[0]
  // is the one asked about.
  Sample describe(Random& rng, std::int64_t i, std::vector<Actor>& actors) const {
    const int type = rng.below(kNumMotionTypes);
    static const char* const kTypeNames[] = {"direction", "shape", "color"};
    Sample s = start(i, kTypeNames[type]);
    const int movers = rng.range(1, 2);
    const int still = rng.range(0, 1);
    const int directions = static_cast<int>(kDirections.size());
    // Another actor's direction: any direction but `excluded`, or standing still.
    auto other_direction = [&](int excluded, bool moving) {
      if (!moving) return kStill;
      int d = rng.below(directions - 1);
      return d >= excluded ? d + 1 : d;
    };
    if (type == kWhichWay) {
      const int answer = rng.below(directions);
      const Actor target{rng.below(num_colors()), rng.below(num_shapes()), answer};
      actors.push_back(target);
      const int pairs = num_colors() * num_shapes();
      const int target_pair = target.color * num_shapes() + target.shape;
      for (int k = 1; k < movers + still; ++k) {
        int pair = rng.below(pairs - 1);
        if (pair >= target_pair) ++pair;
        const int d = k < movers ? rng.below(directions) : kStill;
        actors.push_back({pair / num_shapes(), pair % num_shapes(), d});
      }
      s.prompt = fill(rng.pick(kWhichWayPatterns), {{"%color", color_names()[target.color]},
                                                    {"%shape", shape_names()[target.shape]}});
      s.answer = kDirections[static_cast<std::size_t>(answer)];
    } else {
      // The target is the only actor moving in the asked direction.
      const int direction = rng.below(directions);
      const bool ask_shape = type == kWhichShape;
      const int answer = rng.below(ask_shape ? num_shapes() : num_colors());
      const Actor target{ask_shape ? rng.below(num_colors()) : answer,
                         ask_shape ? answer : rng.below(num_shapes()), direction};
      actors.push_back(target);
      for (int k = 1; k < movers + still; ++k) {
        actors.push_back({rng.below(num_colors()), rng.below(num_shapes()),
                          other_direction(direction, k < movers)});
      }
      const auto& patterns = ask_shape ? kWhichShapePatterns : kWhichColorPatterns;
      s.prompt =
          fill(rng.pick(patterns), {{"%dir", kDirections[static_cast<std::size_t>(direction)]}});
      s.answer = ask_shape ? shape_names()[static_cast<std::size_t>(answer)]
                           : color_names()[static_cast<std::size_t>(answer)];
    }
    return s;
  }

  // Places the actors so that their swept boxes do not overlap (a distractor that cannot be
  // placed after many tries is dropped; the target always fits) and renders the frames.
  torch::Tensor render_clip(const std::vector<Actor>& actors, Random& rng) const {
    const double size = kImageSize;
    const int last = kVideoFrames - 1;
    std::vector<Shape2d> shapes;
    std::vector<double> step_x;
    std::vector<double> step_y;
    std::vector<Box> boxes;
    for (std::size_t k = 0; k < actors.size(); ++k) {
      const Actor& a = actors[k];
      Shape2d shape = make_shape(a.color, a.shape, 0, 0, rng);
      const double step = a.direction == kStill ? 0.0 : rng.uniform(3.0, 4.0);
      const double dx = a.direction == kStill ? 0.0 : kDirX[a.direction] * step;
      const double dy = a.direction == kStill ? 0.0 : kDirY[a.direction] * step;
      const double margin = shape.radius * 1.2 + 1.0;
      bool placed = false;
      for (int attempt = 0; attempt < 200 && !placed; ++attempt) {
        // Centre of the trajectory, uniform over the positions that keep every frame inside.
        const double half_x = std::abs(dx) * last / 2.0;
        const double half_y = std::abs(dy) * last / 2.0;
        const double cx = rng.uniform(margin + half_x, size - margin - half_x);
        const double cy = rng.uniform(margin + half_y, size - margin - half_y);
        const Box box{cx - half_x - margin, cy - half_y - margin, cx + half_x + margin,
                      cy + half_y + margin};
        if (std::any_of(boxes.begin(), boxes.end(),
                        [&](const Box& b) { return b.overlaps(box); })) {
          continue;
        }
        boxes.push_back(box);
        shape.x = cx - dx * last / 2.0;
        shape.y = cy - dy * last / 2.0;
        placed = true;
      }
      CS_CHECK(placed || k > 0, "motion_qa: cannot place the target shape");
      if (!placed) continue;
      shapes.push_back(shape);
      step_x.push_back(dx);
      step_y.push_back(dy);
    }
    const Background background = make_background(rng);
    torch::Tensor video = torch::empty({kVideoFrames, 3, kImageSize, kImageSize}, torch::kUInt8);
    std::uint8_t* out = video.data_ptr<std::uint8_t>();
    for (int f = 0; f < kVideoFrames; ++f) {
      std::vector<Shape2d> frame = shapes;
      for (std::size_t k = 0; k < frame.size(); ++k) {
        frame[k].x += step_x[k] * f;
        frame[k].y += step_y[k] * f;
      }
      render(frame, background, rng,
             out + static_cast<std::ptrdiff_t>(f) * 3 * kImageSize * kImageSize);
    }
    return video;
  }
};

}  // namespace

std::unique_ptr<Task> make_motion_qa(std::uint64_t seed) {
  return std::make_unique<MotionQa>(seed);
}

}  // namespace clearsight::mm
