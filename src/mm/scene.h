// A tiny rasteriser for the image and video tasks: coloured circles, squares and triangles on a
// noisy background, drawn with 4x4 supersampling into kImageSize x kImageSize RGB frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mm/random.h"

namespace clearsight::mm {

/// Colour names, indexed by colour id.
const std::vector<std::string>& color_names();
/// Shape names ("circle", "square", "triangle"), indexed by shape id.
const std::vector<std::string>& shape_names();
/// Slot names ("left", "right", "top", "bottom", "center"), indexed by slot id.
const std::vector<std::string>& slot_names();
/// Phrases locating a slot in a caption ("on the left", "in the center", ...).
const std::vector<std::string>& slot_phrases();

/// Number of colours.
int num_colors();
/// Number of shapes.
int num_shapes();
/// Number of slots.
int num_slots();

/// Centre of a slot in pixel coordinates (x to the right, y downwards).
void slot_center(int slot, double& x, double& y);

/// One shape to draw: its kind, centre, half-size and jittered RGB colour.
struct Shape2d {
  int color = 0;
  int shape = 0;
  double x = 0;
  double y = 0;
  double radius = 4;
  float rgb[3] = {0, 0, 0};
};

/// A shape of the given colour and kind at (x, y) with random size and colour jitter.
Shape2d make_shape(int color, int shape, double x, double y, Random& rng);

/// A random background colour (dark or mid grey with a slight tint).
struct Background {
  float rgb[3] = {0, 0, 0};
};

/// Draws a background colour.
Background make_background(Random& rng);

/// Renders the shapes (in order, later ones on top) over the background with per-pixel noise
/// into out, a [3, kImageSize, kImageSize] uint8 buffer.
void render(const std::vector<Shape2d>& shapes, const Background& background, Random& rng,
            std::uint8_t* out);

}  // namespace clearsight::mm
