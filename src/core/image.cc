#include "clearsight/core/image.h"

#include <gif_lib.h>
#include <png.h>

#include <algorithm>
#include <cstring>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"

namespace clearsight {

void write_png(const std::filesystem::path& path, std::span<const std::uint8_t> rgb, int width,
               int height) {
  CS_CHECK_AS(ShapeError,
              width > 0 && height > 0 && rgb.size() == static_cast<std::size_t>(width) * height * 3,
              "write_png: ", rgb.size(), " bytes do not make a ", width, "x", height, " RGB image");
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  CS_CHECK_AS(IoError, png_image_write_to_memory(&image, nullptr, &size, 0, rgb.data(), 0, nullptr),
              "PNG encoder: ", image.message);
  std::vector<std::byte> buffer(size);
  CS_CHECK_AS(IoError,
              png_image_write_to_memory(&image, buffer.data(), &size, 0, rgb.data(), 0, nullptr),
              "PNG encoder: ", image.message);
  buffer.resize(size);
  atomic_write(path, buffer);
}

RgbImage read_png(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) {
    const std::string message = image.message;
    png_image_free(&image);
    CS_THROW(FormatError, "'", path.string(), "' is not a readable PNG: ", message);
  }
  image.format = PNG_FORMAT_RGB;
  RgbImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  CS_CHECK_AS(FormatError, out.width <= 16384 && out.height <= 16384, "'", path.string(), "' is ",
              out.width, "x", out.height, "; images up to 16384x16384 are accepted");
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
    const std::string message = image.message;
    png_image_free(&image);
    CS_THROW(FormatError, "'", path.string(), "' is a corrupt PNG: ", message);
  }
  return out;
}

void write_gif(const std::filesystem::path& path,
               const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
               int delay_ms) {
  CS_CHECK_AS(ShapeError, !frames.empty(), "write_gif: no frames");
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  for (const auto& f : frames) {
    CS_CHECK_AS(ShapeError, f.size() == pixels * 3, "write_gif: a frame has ", f.size(),
                " bytes, expected ", pixels * 3);
  }
  // giflib writes through a callback into memory; the file appears atomically at the end.
  struct Sink {
    std::vector<std::byte> bytes;
  } sink;
  auto writer = [](GifFileType* gif, const GifByteType* data, int n) -> int {
    auto* s = static_cast<Sink*>(gif->UserData);
    const auto* p = reinterpret_cast<const std::byte*>(data);
    s->bytes.insert(s->bytes.end(), p, p + n);
    return n;
  };
  int error = 0;
  GifFileType* gif = EGifOpen(&sink, writer, &error);
  CS_CHECK_AS(IoError, gif != nullptr, "GIF encoder: ", GifErrorString(error));
  auto fail = [&](const char* what) {
    int close_error = 0;
    EGifCloseFile(gif, &close_error);
    CS_THROW(IoError, "GIF encoder: ", what, ": ", GifErrorString(gif->Error));
  };
  EGifSetGifVersion(gif, true);
  if (EGifPutScreenDesc(gif, width, height, 8, 0, nullptr) == GIF_ERROR) fail("screen");
  // NETSCAPE2.0 application extension: loop forever.
  const GifByteType loop_app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  const GifByteType loop_data[] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, sizeof(loop_app), loop_app) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, sizeof(loop_data), loop_data) == GIF_ERROR ||
      EGifPutExtensionTrailer(gif) == GIF_ERROR) {
    fail("loop extension");
  }
  std::vector<GifByteType> r(pixels), g(pixels), b(pixels), indices(pixels);
  std::vector<GifColorType> palette(256);
  for (const auto& frame : frames) {
    for (std::size_t i = 0; i < pixels; ++i) {
      r[i] = frame[3 * i];
      g[i] = frame[3 * i + 1];
      b[i] = frame[3 * i + 2];
    }
    int colours = 256;
    if (GifQuantizeBuffer(width, height, &colours, r.data(), g.data(), b.data(), indices.data(),
                          palette.data()) == GIF_ERROR) {
      fail("quantize");
    }
    ColorMapObject* map = GifMakeMapObject(256, palette.data());
    GraphicsControlBlock gcb{};
    gcb.DelayTime = std::max(1, delay_ms / 10);
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const std::size_t ext_len = EGifGCBToExtension(&gcb, ext);
    const bool ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(ext_len), ext) !=
                        GIF_ERROR &&
                    EGifPutImageDesc(gif, 0, 0, width, height, false, map) != GIF_ERROR;
    GifFreeMapObject(map);
    if (!ok) fail("frame header");
    for (int y = 0; y < height; ++y) {
      if (EGifPutLine(gif, indices.data() + static_cast<std::size_t>(y) * width, width) ==
          GIF_ERROR) {
        fail("frame data");
      }
    }
  }
  CS_CHECK_AS(IoError, EGifCloseFile(gif, &error) != GIF_ERROR,
              "GIF encoder: ", GifErrorString(error));
  atomic_write(path, sink.bytes);
}

RgbImage tile_frames(const std::vector<std::vector<std::uint8_t>>& frames, int width, int height,
                     int columns) {
  CS_CHECK_AS(ShapeError, !frames.empty() && columns >= 1, "tile_frames: nothing to tile");
  const int cols = std::min<int>(columns, static_cast<int>(frames.size()));
  const int rows = (static_cast<int>(frames.size()) + cols - 1) / cols;
  RgbImage out;
  out.width = cols * width;
  out.height = rows * height;
  out.pixels.assign(static_cast<std::size_t>(out.width) * out.height * 3, 0);
  const std::size_t row_bytes = static_cast<std::size_t>(width) * 3;
  for (std::size_t k = 0; k < frames.size(); ++k) {
    CS_CHECK_AS(ShapeError, frames[k].size() == row_bytes * height, "tile_frames: frame ", k,
                " has the wrong size");
    const int r = static_cast<int>(k) / cols;
    const int c = static_cast<int>(k) % cols;
    for (int y = 0; y < height; ++y) {
      std::memcpy(out.pixels.data() + (static_cast<std::size_t>(r * height + y) * out.width +
                                       static_cast<std::size_t>(c) * width) *
                                          3,
                  frames[k].data() + y * row_bytes, row_bytes);
    }
  }
  return out;
}

}  // namespace clearsight
