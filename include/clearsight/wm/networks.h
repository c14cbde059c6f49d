// The world model's image networks: a strided-convolution encoder and a decoder that upsamples
// with Conv3x3 + PixelShuffle (this LibTorch build's ConvTranspose2d backward is ~50x slower
// than its forward), plus the frame conversions between uint8 pixels and the model's range.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace clearsight::wm {

/// Layers of the encoder and of the decoder (each halves or doubles the side).
inline constexpr int kCnnLayers = 4;

/// uint8 frames [..., H, W, 3] -> float [..., 3, H, W] in [-0.5, 0.5].
torch::Tensor preprocess_frames(const torch::Tensor& frames);
/// Model images [..., 3, H, W] (about [-0.5, 0.5]) -> uint8 frames [..., H, W, 3], clamped.
torch::Tensor postprocess_frames(const torch::Tensor& images);

/// Four k4 s2 convolutions with ELU: [N, 3, S, S] -> [N, embed_size()]; S divisible by 16.
class ConvEncoderImpl : public torch::nn::Module {
 public:
  /// depth channels in the first layer, doubling per layer.
  ConvEncoderImpl(std::int64_t image_size, std::int64_t depth);
  /// images [N, 3, S, S] -> [N, embed_size()].
  torch::Tensor forward(const torch::Tensor& images);
  /// Size of the embedding.
  std::int64_t embed_size() const { return embed_size_; }

 private:
  std::vector<torch::nn::Conv2d> convs_;
  std::int64_t image_size_;
  std::int64_t embed_size_;
};
TORCH_MODULE(ConvEncoder);

/// A linear layer to a [8 depth, S/16, S/16] map, then four Conv3x3 + PixelShuffle(2) stages
/// (ELU between them): [N, in] -> image means [N, 3, S, S].
class PixelShuffleDecoderImpl : public torch::nn::Module {
 public:
  /// in: size of the input features.
  PixelShuffleDecoderImpl(std::int64_t in, std::int64_t image_size, std::int64_t depth);
  /// features [N, in] -> [N, 3, S, S].
  torch::Tensor forward(const torch::Tensor& features);

 private:
  torch::nn::Linear fc_{nullptr};
  std::vector<torch::nn::Conv2d> convs_;
  std::int64_t image_size_;
  std::int64_t depth_;
};
TORCH_MODULE(PixelShuffleDecoder);

}  // namespace clearsight::wm
