#include "clearsight/core/image.h"

#include <gtest/gtest.h>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

std::vector<std::uint8_t> gradient(int w, int h, int shift) {
  std::vector<std::uint8_t> p(static_cast<std::size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        p[(y * w + x) * 3 + c] = static_cast<std::uint8_t>(x * 7 + y * 3 + c * 50 + shift);
  return p;
}

TEST(CoreImage, PngRoundTripIsLossless) {
  testing::TempDir dir;
  const auto pixels = gradient(17, 9, 0);
  write_png(dir / "a.png", pixels, 17, 9);
  const auto back = read_png(dir / "a.png");
  EXPECT_EQ(back.width, 17);
  EXPECT_EQ(back.height, 9);
  EXPECT_EQ(back.pixels, pixels);
}

TEST(CoreImage, GifHasHeaderAndAllFrames) {
  testing::TempDir dir;
  std::vector<std::vector<std::uint8_t>> frames = {gradient(8, 8, 0), gradient(8, 8, 40),
                                                   gradient(8, 8, 80)};
  write_gif(dir / "a.gif", frames, 8, 8, 50);
  const std::string bytes = read_file(dir / "a.gif");
  EXPECT_EQ(bytes.substr(0, 6), "GIF89a");
  EXPECT_NE(bytes.find("NETSCAPE2.0"), std::string::npos);
  // One image descriptor (0x2C after a graphics control block) per frame.
  std::size_t count = 0;
  for (std::size_t i = 0; i + 8 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) == 0x21 &&
        static_cast<unsigned char>(bytes[i + 1]) == 0xF9 &&
        static_cast<unsigned char>(bytes[i + 8]) == 0x2C) {
      ++count;
    }
  }
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(bytes.back(), ';');
}

TEST(CoreImage, TilesAndErrors) {
  testing::TempDir dir;
  const auto tiled =
      tile_frames({gradient(4, 2, 0), gradient(4, 2, 1), gradient(4, 2, 2)}, 4, 2, 2);
  EXPECT_EQ(tiled.width, 8);
  EXPECT_EQ(tiled.height, 4);
  EXPECT_THROW(write_png(dir / "x.png", std::vector<std::uint8_t>(5), 2, 2), ShapeError);
  testing::write_bytes(dir / "bad.png", "\x89PNG\r\n\x1a\nnot really");
  EXPECT_THROW(read_png(dir / "bad.png"), FormatError);
  EXPECT_THROW(read_png(dir / "missing.png"), IoError);
  EXPECT_THROW(write_gif(dir / "x.gif", {}, 4, 4), ShapeError);
}

}  // namespace
}  // namespace clearsight
