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

// Physics steps of 8 ms would be played at 10 cs each by browsers: frames under 20 ms apart are
// dropped and the kept ones' delays (>= 2 cs) add up to the clip's real duration.
TEST(CoreImage, GifDelaysAreAtLeastTwoCentisecondsAndKeepRealTime) {
  testing::TempDir dir;
  std::vector<std::vector<std::uint8_t>> frames;
  for (int i = 0; i < 30; ++i) frames.push_back(gradient(8, 8, 3 * i));
  write_gif(dir / "fast.gif", frames, 8, 8, 8);
  const std::string bytes = read_file(dir / "fast.gif");
  std::vector<int> delays;
  for (std::size_t i = 0; i + 8 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) == 0x21 &&
        static_cast<unsigned char>(bytes[i + 1]) == 0xF9 &&
        static_cast<unsigned char>(bytes[i + 8]) == 0x2C) {
      delays.push_back(static_cast<unsigned char>(bytes[i + 4]) |
                       (static_cast<unsigned char>(bytes[i + 5]) << 8));
    }
  }
  ASSERT_EQ(delays.size(), 10u);  // frames 0, 3, 6, ... (24 ms apart)
  int total = 0;
  for (int d : delays) {
    EXPECT_GE(d, 2);
    total += d;
  }
  EXPECT_NEAR(total, 24, 2);  // 30 frames x 8 ms
  // One global palette: the screen descriptor's flag byte announces a 256-entry colour table.
  EXPECT_EQ(static_cast<unsigned char>(bytes[10]) & 0x80, 0x80);
}

TEST(CoreImage, ReadImageMatchesReadPngAndResizeKeepsFlatColours) {
  testing::TempDir dir;
  const auto pixels = gradient(17, 9, 5);
  write_png(dir / "a.png", pixels, 17, 9);
  const auto a = read_image(dir / "a.png");
  EXPECT_EQ(a.width, 17);
  EXPECT_EQ(a.height, 9);
  EXPECT_EQ(a.pixels, read_png(dir / "a.png").pixels);
  RgbImage flat;
  flat.width = 64;
  flat.height = 48;
  flat.pixels.assign(64 * 48 * 3, 0);
  for (std::size_t i = 0; i < flat.pixels.size(); i += 3) {
    flat.pixels[i] = 200;
    flat.pixels[i + 1] = 100;
    flat.pixels[i + 2] = 50;
  }
  const auto small = resize_image(flat, 32, 32);
  EXPECT_EQ(small.width, 32);
  EXPECT_EQ(small.pixels.size(), 32u * 32 * 3);
  for (std::size_t i = 0; i < small.pixels.size(); i += 3) {
    ASSERT_NEAR(small.pixels[i], 200, 1);
    ASSERT_NEAR(small.pixels[i + 1], 100, 1);
    ASSERT_NEAR(small.pixels[i + 2], 50, 1);
  }
  EXPECT_THROW(resize_image(flat, 0, 4), ShapeError);
  testing::write_bytes(dir / "bad.jpg", "\xff\xd8\xff not really");
  EXPECT_THROW(read_image(dir / "bad.jpg"), FormatError);
  EXPECT_THROW(read_image(dir / "missing.jpg"), IoError);
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

// Inputs the image fuzzer found (tests/fuzz/seeds/image/ keeps them): each is an error or a
// well-formed image, never a read past a buffer.
TEST(CoreImage, FuzzerFindingsAreClearErrors) {
  testing::TempDir dir;
  // A JPEG Huffman table with 16 x 17 = 272 codes: stb_image 2.27 writes past its tables.
  std::string jpeg = "\xff\xd8\xff\xc4";
  const int length = 2 + 1 + 16 + 272;
  jpeg += static_cast<char>(length >> 8);
  jpeg += static_cast<char>(length & 0xff);
  jpeg += '\0';
  jpeg += std::string(16, '\x11') + std::string(272, '\0') + "\xff\xd9";
  testing::write_bytes(dir / "dht.jpg", jpeg);
  std::string msg;
  try {
    read_image(dir / "dht.jpg");
  } catch (const FormatError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("declares 272 codes"), std::string::npos) << msg;
  // The same overflow from a table cut off by the end of the file (stb reads zeros past it): the
  // fuzzer's second finding, 61 bytes, whose last table counts 0xff + 0x09 + 0x49 codes.
  const std::string truncated = "\xff\xd8\xff\xc4\x01\x23" + std::string(24, '\0') + "\x01" +
                                std::string(7, '\0') + "\x0d" + std::string(3, '\0') + "\xff" +
                                std::string(2, '\0') + "\xc4" + std::string(4, '\0') + "\x01\x23" +
                                std::string(5, '\0') + "\xff\x09\x49" + std::string(1, '\0');
  ASSERT_EQ(truncated.size(), 61u);
  testing::write_bytes(dir / "dht_truncated.jpg", truncated);
  EXPECT_THROW(read_image(dir / "dht_truncated.jpg"), FormatError);
  // A PNM header number of 21 digits: stb_image 2.27 overflows an int reading it.
  testing::write_bytes(
      dir / "long_number.ppm",
      std::string("P6\n# c\n255555555555555555555 2\n255\n") + std::string(6, '\0'));
  EXPECT_THROW(read_image(dir / "long_number.ppm"), FormatError);
  testing::write_bytes(dir / "no_height.ppm", std::string("P6 3 x\n255\n") + std::string(9, '\0'));
  EXPECT_THROW(read_image(dir / "no_height.ppm"), FormatError);
  testing::write_bytes(dir / "grey16.pgm",
                       std::string("P5\n2 2\n65535\n") + std::string(8, '\x80'));
  const auto grey = read_image(dir / "grey16.pgm");
  EXPECT_EQ(grey.width, 2);
  EXPECT_EQ(grey.height, 2);
  ASSERT_EQ(grey.pixels.size(), 12u);
  EXPECT_EQ(grey.pixels[0], grey.pixels[2]);  // Grey is replicated into R, G and B.
  EXPECT_THROW(read_image("/dev/null"), IoError);
}

}  // namespace
}  // namespace clearsight
