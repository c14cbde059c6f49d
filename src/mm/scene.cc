#include "mm/scene.h"

#include <algorithm>
#include <cmath>

#include "clearsight/mm/tasks.h"

namespace clearsight::mm {
namespace {

struct ColorSpec {
  const char* name;
  float rgb[3];
};

// Chosen to stay apart after +-18 jitter per channel and against grey backgrounds.
constexpr ColorSpec kColors[] = {
    {"red", {215, 35, 35}},     {"green", {40, 175, 55}},   {"blue", {45, 85, 230}},
    {"yellow", {230, 215, 40}}, {"purple", {150, 55, 200}}, {"white", {240, 240, 240}},
};

constexpr int kSuper = 4;  // supersampling factor per axis

// Whether point (px, py) lies inside the shape.
bool inside(const Shape2d& s, double px, double py) {
  const double dx = px - s.x;
  const double dy = py - s.y;
  switch (s.shape) {
    case 0:  // circle
      return dx * dx + dy * dy <= s.radius * s.radius;
    case 1: {  // square, slightly smaller than the circle's box so the areas are comparable
      const double h = s.radius * 0.9;
      return std::abs(dx) <= h && std::abs(dy) <= h;
    }
    default: {  // upward isosceles triangle: apex at top, base at bottom
      const double r = s.radius * 1.15;
      const double t = (dy + r) / (2.0 * r);  // 0 at the apex, 1 at the base
      if (t < 0.0 || t > 1.0) return false;
      return std::abs(dx) <= t * r;
    }
  }
}

}  // namespace

const std::vector<std::string>& color_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& c : kColors) out.emplace_back(c.name);
    return out;
  }();
  return names;
}

const std::vector<std::string>& shape_names() {
  static const std::vector<std::string> names{"circle", "square", "triangle"};
  return names;
}

const std::vector<std::string>& slot_names() {
  static const std::vector<std::string> names{"left", "right", "top", "bottom", "center"};
  return names;
}

const std::vector<std::string>& slot_phrases() {
  static const std::vector<std::string> names{"on the left", "on the right", "at the top",
                                              "at the bottom", "in the center"};
  return names;
}

int num_colors() { return static_cast<int>(color_names().size()); }
int num_shapes() { return static_cast<int>(shape_names().size()); }
int num_slots() { return static_cast<int>(slot_names().size()); }

void slot_center(int slot, double& x, double& y) {
  const double c = kImageSize / 2.0;
  const double offset = 10.0;
  x = c;
  y = c;
  switch (slot) {
    case 0:
      x = c - offset;
      break;
    case 1:
      x = c + offset;
      break;
    case 2:
      y = c - offset;
      break;
    case 3:
      y = c + offset;
      break;
    default:
      break;
  }
}

Shape2d make_shape(int color, int shape, double x, double y, Random& rng) {
  Shape2d s;
  s.color = color;
  s.shape = shape;
  s.x = x;
  s.y = y;
  s.radius = rng.uniform(3.0, 4.5);
  for (int c = 0; c < 3; ++c) {
    s.rgb[c] = std::clamp(kColors[color].rgb[c] + static_cast<float>(rng.uniform(-18.0, 18.0)),
                          0.0f, 255.0f);
  }
  return s;
}

Background make_background(Random& rng) {
  Background b;
  const double level = rng.uniform(15.0, 95.0);
  for (float& channel : b.rgb) channel = static_cast<float>(level + rng.uniform(-10.0, 10.0));
  return b;
}

void render(const std::vector<Shape2d>& shapes, const Background& background, Random& rng,
            std::uint8_t* out) {
  const int n = kImageSize;
  const double noise_sd = 7.0;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      float pixel[3] = {background.rgb[0], background.rgb[1], background.rgb[2]};
      for (const auto& s : shapes) {
        // Skip shapes whose box misses this pixel.
        if (x + 1 < s.x - s.radius * 1.2 || x > s.x + s.radius * 1.2 ||
            y + 1 < s.y - s.radius * 1.2 || y > s.y + s.radius * 1.2) {
          continue;
        }
        int covered = 0;
        for (int sy = 0; sy < kSuper; ++sy) {
          for (int sx = 0; sx < kSuper; ++sx) {
            covered += inside(s, x + (sx + 0.5) / kSuper, y + (sy + 0.5) / kSuper) ? 1 : 0;
          }
        }
        const float alpha = static_cast<float>(covered) / (kSuper * kSuper);
        for (int c = 0; c < 3; ++c) pixel[c] = pixel[c] * (1 - alpha) + s.rgb[c] * alpha;
      }
      for (int c = 0; c < 3; ++c) {
        const double value = pixel[c] + noise_sd * rng.normal();
        out[(c * n + y) * n + x] =
            static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
      }
    }
  }
}

}  // namespace clearsight::mm
