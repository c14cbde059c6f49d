#include "clearsight/mm/qwen2_processor.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"

namespace clearsight::mm {
namespace {

namespace fs = std::filesystem;

const fs::path kVl = fs::path(CS_SOURCE_DIR) / "tests/fixtures/qwen2/qwen2_vl";

TEST(MmQwen2Processor, SmartResizeMatchesTheReferenceCases) {
  const auto cases = safetensors::File::open(kVl / "expected.safetensors")
                         .get("smart_resize_cases")
                         .to(torch::kInt64);
  ASSERT_GE(cases.size(0), 20);
  for (std::int64_t i = 0; i < cases.size(0); ++i) {
    const auto c = cases[i];
    const auto [h, w] = smart_resize(c[0].item<std::int64_t>(), c[1].item<std::int64_t>(), 28,
                                     c[2].item<std::int64_t>(), c[3].item<std::int64_t>());
    EXPECT_EQ(h, c[4].item<std::int64_t>()) << "case " << i;
    EXPECT_EQ(w, c[5].item<std::int64_t>()) << "case " << i;
  }
  // Round half to even, as Python: 42 / 28 = 1.5 -> 2, 70 / 28 = 2.5 -> 2.
  EXPECT_EQ(smart_resize(42, 70, 28, 1, 1 << 30), (std::pair<std::int64_t, std::int64_t>(56, 56)));
  EXPECT_THROW(smart_resize(1, 300, 28, 3136, 12845056), ConfigError);
}

TEST(MmQwen2Processor, PixelValuesMatchTheReference) {
  const auto inputs = safetensors::File::open(kVl / "inputs.safetensors").all();
  const auto expected = safetensors::File::open(kVl / "expected.safetensors").all();
  const auto config = load_qwen2_image_processor(kVl / "preprocessor_config.json");
  EXPECT_EQ(config.min_pixels, 3136);
  const auto images = process_qwen2_images({inputs.at("image.0"), inputs.at("image.1")}, config);
  EXPECT_TRUE(images.grid_thw.equal(expected.at("image_grid_thw").to(torch::kInt64)));
  ASSERT_EQ(images.pixel_values.sizes(), expected.at("pixel_values").sizes());
  EXPECT_LT((images.pixel_values - expected.at("pixel_values")).abs().max().item<double>(), 1e-5);
  const auto videos = process_qwen2_videos({inputs.at("video.0")}, config);
  EXPECT_TRUE(videos.grid_thw.equal(expected.at("video_grid_thw").to(torch::kInt64)));
  ASSERT_EQ(videos.pixel_values.sizes(), expected.at("pixel_values_videos").sizes());
  EXPECT_LT((videos.pixel_values - expected.at("pixel_values_videos")).abs().max().item<double>(),
            1e-5);
  EXPECT_EQ(qwen2_vision_tokens(images.grid_thw[1], 2), 6);
}

TEST(MmQwen2Processor, BicubicIsIdentityAtTheSameSizeAndKeepsConstants) {
  const auto flat = torch::full({9, 13, 3}, 77, torch::kUInt8);
  EXPECT_TRUE(resize_bicubic_pil(flat, 9, 13).equal(flat));
  // Normalised coefficients keep a constant image constant when enlarging and reducing.
  EXPECT_TRUE(resize_bicubic_pil(flat, 31, 5).eq(77).all().item<bool>());
  EXPECT_THROW(resize_bicubic_pil(torch::zeros({4, 4}, torch::kUInt8), 2, 2), ShapeError);
}

}  // namespace
}  // namespace clearsight::mm
