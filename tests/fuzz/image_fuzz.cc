// libFuzzer target: the image readers (read_image through stb_image: PNG, JPEG, BMP, GIF, TGA,
// PNM...; read_png through libpng's simplified API) followed by the resize the `mm` commands
// apply. Any byte string must give either an image whose pixel buffer holds exactly
// width x height x 3 bytes (and resizes to a small size), or a clearsight::Error; any other
// exception or a sanitizer report is a bug. stb_image is compiled into this target with the
// sanitizers (stb_image_impl.cc); libpng is Debian's.
//
// Found by this target and now refused by read_image itself (regression seeds in seeds/image/):
// a JPEG whose Huffman table declares more than 256 codes (Debian 12's stb_image 2.27 overflows
// its tables, nothings/stb#1289), a PNM without a height, a 16-bit PGM converted to RGB.
#include <cstdint>
#include <cstdlib>

#include "clearsight/core/image.h"
#include "fuzz_input.h"

namespace {

void check(const clearsight::RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * image.height * 3) {
    std::abort();
  }
  std::uint32_t sum = 0;
  for (const auto p : image.pixels) sum += p;  // Every byte is readable.
  (void)sum;
  // A model input: the `mm` commands resize user images to the vision tower's side.
  if (static_cast<std::int64_t>(image.width) * image.height <= (1 << 16)) {
    const auto small = clearsight::resize_image(image, 7, 5);
    if (small.pixels.size() != 7 * 5 * 3) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static clearsight::fuzz::InputFile file("image_fuzz");
  const auto& path = file.write(data, size);
  clearsight::fuzz::expect_clearsight_errors([&] { check(clearsight::read_image(path)); });
  clearsight::fuzz::expect_clearsight_errors([&] { check(clearsight::read_png(path)); });
  return 0;
}
