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

/// Writes frames (each height x width x 3 bytes) as a looping animated GIF with delay_ms per
/// frame; colours are quantised to a 256-colour palette per frame.
void write_gif(const std::filesystem::path& path,
               const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
               int delay_ms = 40);

/// Lays frames side by side (up to columns per row) into one image.
RgbImage tile_frames(const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
                     int columns);

}  // namespace clearsight
