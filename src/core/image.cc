#include "clearsight/core/image.h"

#include <gif_lib.h>
#include <png.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

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
  // One palette for the whole animation, quantised from up to 16 frames spread over it, written
  // once as the global colour map (frames carry no local maps: smaller files, no flicker).
  const std::size_t sample_count = std::min<std::size_t>(16, frames.size());
  std::vector<GifByteType> r(pixels * sample_count), g(r.size()), b(r.size()), indices(r.size());
  for (std::size_t k = 0; k < sample_count; ++k) {
    const auto& frame = frames[k * frames.size() / sample_count];
    for (std::size_t i = 0; i < pixels; ++i) {
      r[k * pixels + i] = frame[3 * i];
      g[k * pixels + i] = frame[3 * i + 1];
      b[k * pixels + i] = frame[3 * i + 2];
    }
  }
  std::vector<GifColorType> palette(256);
  int colours = 256;
  if (GifQuantizeBuffer(width, height * static_cast<int>(sample_count), &colours, r.data(),
                        g.data(), b.data(), indices.data(), palette.data()) == GIF_ERROR) {
    int close_error = 0;
    EGifCloseFile(gif, &close_error);
    CS_THROW(IoError, "GIF encoder: quantize");
  }
  ColorMapObject* global_map = GifMakeMapObject(256, palette.data());
  EGifSetGifVersion(gif, true);
  const bool screen = EGifPutScreenDesc(gif, width, height, 8, 0, global_map) != GIF_ERROR;
  GifFreeMapObject(global_map);
  if (!screen) fail("screen");
  // NETSCAPE2.0 application extension: loop forever.
  const GifByteType loop_app[] = {'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0'};
  const GifByteType loop_data[] = {1, 0, 0};
  if (EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, sizeof(loop_app), loop_app) == GIF_ERROR ||
      EGifPutExtensionBlock(gif, sizeof(loop_data), loop_data) == GIF_ERROR ||
      EGifPutExtensionTrailer(gif) == GIF_ERROR) {
    fail("loop extension");
  }
  // Browsers play delays under 2 centiseconds as 10: frames closer than 20 ms are dropped, and
  // each kept frame lasts until the next one's time, rounded on the running clock so the
  // animation keeps real time (Hopper's 8 ms steps become 2-3 cs frames, 2.4 cs on average).
  const int step_ms = std::max(1, delay_ms);
  std::vector<std::size_t> kept;
  for (std::size_t i = 0, next_ms = 0; i < frames.size(); ++i) {
    if (i * step_ms >= next_ms) {
      kept.push_back(i);
      next_ms = i * step_ms + 20;
    }
  }
  const auto clock_cs = [&](std::size_t i) {
    return static_cast<int>(std::lround(static_cast<double>(i * step_ms) / 10.0));
  };
  // Nearest palette entry per colour, filled on first use over a 15-bit RGB grid.
  std::vector<std::int16_t> lookup(1 << 15, -1);
  const auto nearest = [&](std::uint8_t cr, std::uint8_t cg, std::uint8_t cb) {
    const int key = ((cr >> 3) << 10) | ((cg >> 3) << 5) | (cb >> 3);
    if (lookup[key] >= 0) return static_cast<GifByteType>(lookup[key]);
    int best = 0;
    int best_d = 1 << 30;
    for (int c = 0; c < colours; ++c) {
      const int dr = palette[c].Red - cr, dg = palette[c].Green - cg, db = palette[c].Blue - cb;
      const int d = dr * dr + dg * dg + db * db;
      if (d < best_d) {
        best_d = d;
        best = c;
      }
    }
    lookup[key] = static_cast<std::int16_t>(best);
    return static_cast<GifByteType>(best);
  };
  std::vector<GifByteType> line(pixels);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const auto& frame = frames[kept[k]];
    for (std::size_t i = 0; i < pixels; ++i) {
      line[i] = nearest(frame[3 * i], frame[3 * i + 1], frame[3 * i + 2]);
    }
    GraphicsControlBlock gcb{};
    const int until = k + 1 < kept.size()
                          ? clock_cs(kept[k + 1])
                          : clock_cs(kept[k]) + std::max<int>(2, std::lround(step_ms / 10.0));
    gcb.DelayTime = std::max(2, until - clock_cs(kept[k]));
    gcb.TransparentColor = NO_TRANSPARENT_COLOR;
    GifByteType ext[4];
    const std::size_t ext_len = EGifGCBToExtension(&gcb, ext);
    const bool ok = EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, static_cast<int>(ext_len), ext) !=
                        GIF_ERROR &&
                    EGifPutImageDesc(gif, 0, 0, width, height, false, nullptr) != GIF_ERROR;
    if (!ok) fail("frame header");
    for (int y = 0; y < height; ++y) {
      if (EGifPutLine(gif, line.data() + static_cast<std::size_t>(y) * width, width) == GIF_ERROR) {
        fail("frame data");
      }
    }
  }
  CS_CHECK_AS(IoError, EGifCloseFile(gif, &error) != GIF_ERROR,
              "GIF encoder: ", GifErrorString(error));
  atomic_write(path, sink.bytes);
}

namespace {

// The first Huffman table (at an FF C4 marker of a JPEG) whose 16 code counts sum past the 256
// symbols a table may have, as that sum; 0 when there is none. Debian 12's stb_image 2.27 writes
// past its tables on such a file (nothings/stb#1289, fixed in 2.28), so read_image refuses it
// before stb sees a byte. A superset of the tables stb builds: FF C4 inside an APP segment counts.
long oversized_jpeg_dht(const std::string& bytes) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const std::size_t size = bytes.size();
  if (size < 2 || at(0) != 0xFF || at(1) != 0xD8) return 0;  // stb reads JPEG from SOI.
  for (std::size_t p = 2; p + 4 <= size; ++p) {
    if (at(p) != 0xFF || at(p + 1) != 0xC4) continue;
    long left = (at(p + 2) << 8 | at(p + 3)) - 2;
    // A table may run past the end of the file: stb reads the missing bytes as zeros, so the
    // counts present still count.
    for (std::size_t q = p + 4; left > 0 && q + 1 < size;) {
      long n = 0;
      for (std::size_t i = 1; i <= 16 && q + i < size; ++i) n += at(q + i);
      if (n > 256) return n;
      q += 17 + static_cast<std::size_t>(n);
      left -= 17 + n;
    }
  }
  return 0;
}

// Whether a binary PNM header (P5, P6: the ones stb_image reads) holds a width, height or maxval
// of more than 9 digits. stb_image 2.27 accumulates them in an int without a bound (signed
// overflow, undefined behaviour, found by the image fuzzer); 9 digits cannot overflow.
bool pnm_number_too_long(const std::string& bytes) {
  if (bytes.size() < 2 || bytes[0] != 'P' || (bytes[1] != '5' && bytes[1] != '6')) return false;
  std::size_t at = 2;
  for (int number = 0; number < 3 && at < bytes.size(); ++number) {
    // Whitespace and comments as stb skips them.
    while (at < bytes.size()) {
      const char c = bytes[at];
      if (c == '#') {
        while (at < bytes.size() && bytes[at] != '\n' && bytes[at] != '\r') ++at;
      } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        ++at;
      } else {
        break;
      }
    }
    std::size_t digits = 0;
    while (at < bytes.size() && bytes[at] >= '0' && bytes[at] <= '9') {
      ++digits;
      ++at;
    }
    if (digits > 9) return true;
    if (digits == 0) break;
  }
  return false;
}

}  // namespace

RgbImage read_image(const std::filesystem::path& path) {
  std::error_code ec;
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path, ec), "cannot read image '",
              path.string(),
              "': ", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  const auto file_size = std::filesystem::file_size(path, ec);
  CS_CHECK_AS(FormatError, !ec && file_size < (std::uintmax_t{1} << 30), "'", path.string(),
              "' is ", file_size, " bytes; an input image file is at most 1 GiB");
  const std::string bytes = read_file(path);
  const long codes = oversized_jpeg_dht(bytes);
  CS_CHECK_AS(FormatError, codes == 0, "'", path.string(), "' is a corrupt JPEG: a Huffman table ",
              "declares ", codes, " codes, more than the 256 a table may have");
  CS_CHECK_AS(FormatError, !pnm_number_too_long(bytes), "'", path.string(),
              "' is a corrupt PNM image: a header number has more than 9 digits");
  const auto* data_in = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  // Plausibility before decoding: a header may claim sizes no real input has.
  CS_CHECK_AS(FormatError, stbi_info_from_memory(data_in, length, &width, &height, &channels) == 1,
              "'", path.string(),
              "' is not a readable image (PNG, JPEG, BMP, GIF, TGA or PNM expected): ",
              stbi_failure_reason() ? stbi_failure_reason() : "unknown reason");
  constexpr std::int64_t kMaxPixels = std::int64_t{1} << 26;  // 64 megapixels
  CS_CHECK_AS(ShapeError, static_cast<std::int64_t>(width) * height <= kMaxPixels, "'",
              path.string(), "' declares ", width, "x", height, " pixels, more than the ",
              kMaxPixels, " an input image may have");
  // Decoded in the file's own channel count and expanded to RGB below: stb_image 2.27 converts a
  // 16-bit PNM to another channel count with its 8-bit routine and then reads past the buffer.
  std::unique_ptr<stbi_uc, void (*)(void*)> data(
      stbi_load_from_memory(data_in, length, &width, &height, &channels, 0), stbi_image_free);
  CS_CHECK_AS(FormatError, data != nullptr, "'", path.string(),
              "' is not a readable image (PNG, JPEG, BMP, GIF, TGA or PNM expected): ",
              stbi_failure_reason() ? stbi_failure_reason() : "unknown reason");
  // stb_image 2.27 decodes a PNM header without a height ("P6 3 x ...") as a 3x0 image.
  CS_CHECK_AS(FormatError, width > 0 && height > 0, "'", path.string(), "' declares an empty ",
              width, "x", height, " image");
  CS_CHECK_AS(FormatError, channels >= 1 && channels <= 4, "'", path.string(), "' has ", channels,
              " channels");
  RgbImage out;
  out.width = width;
  out.height = height;
  const std::size_t pixels = static_cast<std::size_t>(width) * height;
  out.pixels.resize(pixels * 3);
  // As stb_image's own conversion: grey is replicated, alpha dropped.
  const stbi_uc* in = data.get();
  for (std::size_t i = 0; i < pixels; ++i, in += channels) {
    const bool grey = channels < 3;
    out.pixels[3 * i] = in[0];
    out.pixels[3 * i + 1] = grey ? in[0] : in[1];
    out.pixels[3 * i + 2] = grey ? in[0] : in[2];
  }
  return out;
}

RgbImage resize_image(const RgbImage& image, int width, int height) {
  CS_CHECK_AS(ShapeError, width > 0 && height > 0 && image.width > 0 && image.height > 0,
              "resize_image: ", image.width, "x", image.height, " to ", width, "x", height);
  CS_CHECK_AS(ShapeError,
              image.pixels.size() == static_cast<std::size_t>(image.width) * image.height * 3,
              "resize_image: ", image.pixels.size(), " bytes for ", image.width, "x", image.height);
  if (width == image.width && height == image.height) return image;
  RgbImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  CS_CHECK_AS(RuntimeError,
              stbir_resize_uint8(image.pixels.data(), image.width, image.height, 0,
                                 out.pixels.data(), width, height, 0, 3) == 1,
              "stb_image_resize failed on a ", image.width, "x", image.height, " image");
  return out;
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
