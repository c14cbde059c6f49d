#include "clearsight/wm/networks.h"

#include "clearsight/core/error.h"

namespace clearsight::wm {
namespace {

void check_image_size(std::int64_t image_size, std::int64_t depth) {
  CS_CHECK_AS(ConfigError, image_size >= 16 && image_size % 16 == 0,
              "image size must be a positive multiple of 16 (32, 48, 64...), got ", image_size);
  CS_CHECK_AS(ConfigError, depth >= 1, "CNN depth must be >= 1, got ", depth);
}

}  // namespace

torch::Tensor preprocess_frames(const torch::Tensor& frames) {
  CS_CHECK_AS(ShapeError, frames.dim() >= 3 && frames.size(-1) == 3,
              "frames must be [..., H, W, 3], got ", frames.sizes());
  const auto d = frames.dim();
  return frames.to(torch::kFloat32).div(255.0).sub(0.5).movedim(d - 1, d - 3).contiguous();
}

torch::Tensor postprocess_frames(const torch::Tensor& images) {
  CS_CHECK_AS(ShapeError, images.dim() >= 3 && images.size(-3) == 3,
              "images must be [..., 3, H, W], got ", images.sizes());
  const auto d = images.dim();
  return images.detach()
      .add(0.5)
      .mul(255.0)
      .round()
      .clamp(0.0, 255.0)
      .to(torch::kUInt8)
      .movedim(d - 3, d - 1)
      .contiguous();
}

ConvEncoderImpl::ConvEncoderImpl(std::int64_t image_size, std::int64_t depth)
    : image_size_(image_size) {
  check_image_size(image_size, depth);
  std::int64_t channels = 3;
  for (int i = 0; i < kCnnLayers; ++i) {
    const std::int64_t out = depth << i;
    convs_.push_back(register_module(
        "conv" + std::to_string(i),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, 4).stride(2).padding(1))));
    channels = out;
  }
  const std::int64_t side = image_size >> kCnnLayers;
  embed_size_ = channels * side * side;
}

torch::Tensor ConvEncoderImpl::forward(const torch::Tensor& images) {
  CS_CHECK_AS(ShapeError,
              images.dim() == 4 && images.size(1) == 3 && images.size(2) == image_size_ &&
                  images.size(3) == image_size_,
              "the encoder expects [N, 3, ", image_size_, ", ", image_size_, "], got ",
              images.sizes());
  auto x = images;
  for (auto& conv : convs_) x = torch::elu(conv->forward(x));
  return x.flatten(1);
}

PixelShuffleDecoderImpl::PixelShuffleDecoderImpl(std::int64_t in, std::int64_t image_size,
                                                 std::int64_t depth)
    : image_size_(image_size), depth_(depth) {
  check_image_size(image_size, depth);
  const std::int64_t side = image_size >> kCnnLayers;
  fc_ = register_module("fc", torch::nn::Linear(in, (depth << (kCnnLayers - 1)) * side * side));
  for (int i = 0; i < kCnnLayers; ++i) {
    const std::int64_t channels = depth << (kCnnLayers - 1 - i);
    const std::int64_t out = i + 1 < kCnnLayers ? channels / 2 : 3;
    // Conv3x3 to 4 x out channels, then PixelShuffle(2) doubles the side.
    convs_.push_back(register_module(
        "conv" + std::to_string(i),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out * 4, 3).padding(1))));
  }
}

torch::Tensor PixelShuffleDecoderImpl::forward(const torch::Tensor& features) {
  const std::int64_t side = image_size_ >> kCnnLayers;
  auto x = fc_->forward(features).view({-1, depth_ << (kCnnLayers - 1), side, side});
  for (std::size_t i = 0; i < convs_.size(); ++i) {
    x = torch::pixel_shuffle(convs_[i]->forward(x), 2);
    if (i + 1 < convs_.size()) x = torch::elu(x);
  }
  return x;
}

}  // namespace clearsight::wm
