#include "clearsight/wm/networks.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"

namespace clearsight::wm {
namespace {

TEST(WmNetworks, FramesMapToMinusHalfToHalfAndBack) {
  auto frames = torch::randint(0, 256, {2, 3, 16, 16, 3}).to(torch::kUInt8);
  frames.index_put_({0, 0, 0, 0, 0}, 0);
  frames.index_put_({0, 0, 0, 0, 1}, 255);
  const auto x = preprocess_frames(frames);
  EXPECT_EQ(x.sizes(), (std::vector<std::int64_t>{2, 3, 3, 16, 16}));
  EXPECT_FLOAT_EQ(x.min().item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(x.max().item<float>(), 0.5f);
  EXPECT_TRUE(torch::equal(postprocess_frames(x), frames));
}

TEST(WmNetworks, DecoderOutputsFrameShapedImagesThatConvertToValidPixels) {
  for (std::int64_t size : {32, 48, 64}) {
    torch::manual_seed(0);
    ConvEncoder encoder(size, 4);
    PixelShuffleDecoder decoder(10, size, 4);
    const auto images = torch::rand({3, 3, size, size}) - 0.5;
    const auto e = encoder->forward(images);
    EXPECT_EQ(e.sizes(), (std::vector<std::int64_t>{3, encoder->embed_size()}));
    EXPECT_EQ(encoder->embed_size(), 32 * (size / 16) * (size / 16));
    const auto out = decoder->forward(torch::randn({3, 10}));
    EXPECT_EQ(out.sizes(), (std::vector<std::int64_t>{3, 3, size, size}));
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
    // A fresh decoder predicts grey-ish images; every prediction converts to valid pixels.
    EXPECT_LT(out.abs().mean().item<double>(), 0.5);
    const auto pixels = postprocess_frames(out * 10.0);
    EXPECT_EQ(pixels.scalar_type(), torch::kUInt8);
    EXPECT_EQ(pixels.sizes(), (std::vector<std::int64_t>{3, size, size, 3}));
  }
}

TEST(WmNetworks, BadSizesGiveClearErrors) {
  EXPECT_THROW(ConvEncoder(30, 4), ConfigError);
  EXPECT_THROW(PixelShuffleDecoder(4, 64, 0), ConfigError);
  ConvEncoder encoder(32, 2);
  EXPECT_THROW(encoder->forward(torch::zeros({1, 3, 64, 64})), ShapeError);
  EXPECT_THROW(preprocess_frames(torch::zeros({4, 4, 4}, torch::kUInt8)), ShapeError);
}

TEST(WmNetworks, DecoderGradientsMatchFiniteDifferences) {
  torch::manual_seed(2);
  PixelShuffleDecoder decoder(3, 16, 1);
  decoder->to(torch::kFloat64);
  auto x = torch::randn({1, 3}, torch::kFloat64).requires_grad_(true);
  const auto weights = torch::randn({1, 3, 16, 16}, torch::kFloat64);
  (decoder->forward(x) * weights).sum().backward();
  const auto grad = x.grad().clone();
  for (int i = 0; i < 3; ++i) {
    auto plus = x.detach().clone(), minus = x.detach().clone();
    plus[0][i] += 1e-6;
    minus[0][i] -= 1e-6;
    const double fd =
        ((decoder->forward(plus) * weights).sum() - (decoder->forward(minus) * weights).sum())
            .item<double>() /
        2e-6;
    EXPECT_NEAR(grad[0][i].item<double>(), fd, 1e-5 * std::max(1.0, std::abs(fd)));
  }
}

}  // namespace
}  // namespace clearsight::wm
