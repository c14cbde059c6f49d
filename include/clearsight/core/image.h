// RGB images: PNG read/write (libpng), animated GIF write (giflib), all written atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace clearsight {

/// An 8-bit RGB image, rows top first.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // height * width * 3
};

/// Writes an RGB image (height x width x 3 bytes) as PNG; throws IoError/ShapeError.
void write_png(const std::filesystem::path& path, std::span<const std::uint8_t> rgb, int width,
               int height);

/// Reads a PNG as 8-bit RGB (alpha dropped, grey expanded); throws IoError or FormatError.
RgbImage read_png(const std::filesystem::path& path);

/// Reads a PNG, JPEG, BMP, GIF (first frame), TGA or PNM image as 8-bit RGB through stb_image;
/// throws IoError when missing, FormatError when not a readable image, ShapeError when its header
/// declares more than 64 megapixels (checked before decoding).
RgbImage read_image(const std::filesystem::path& path);

/// The image resized to width x height with stb_image_resize (a Mitchell filter when shrinking,
/// Catmull-Rom when enlarging); throws ShapeError on empty sizes.
RgbImage resize_image(const RgbImage& image, int width, int height);

/// Writes frames (each height x width x 3 bytes, delay_ms apart) as a looping animated GIF that
/// plays in real time: frames closer than 20 ms are dropped (browsers stretch shorter delays),
/// and one 256-colour palette, quantised from frames across the clip, serves every frame.
void write_gif(const std::filesystem::path& path,
               const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
               int delay_ms = 40);

/// Lays frames side by side (up to columns per row) into one image.
RgbImage tile_frames(const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
                     int columns);

}  // namespace clearsight
