// Qwen2-VL's image processor as Hugging Face runs it (the PIL backend): smart_resize to multiples
// of patch x merge within [min_pixels, max_pixels], Pillow's bicubic resampling of the uint8
// image (reproduced bit-exactly), rescale and CLIP normalisation, frames padded to the temporal
// patch size, and patches in the order that keeps each merge window contiguous.
#pragma once

#include <torch/torch.h>

#include <array>
#include <filesystem>
#include <utility>
#include <vector>

namespace clearsight::mm {

/// preprocessor_config.json of a Qwen2-VL checkpoint (defaults: the shipped values).
struct Qwen2ImageProcessorConfig {
  std::int64_t min_pixels = 56 * 56;
  std::int64_t max_pixels = 28 * 28 * 1280;
  std::int64_t patch_size = 14;
  std::int64_t temporal_patch_size = 2;
  std::int64_t merge_size = 2;
  bool do_resize = true;
  double rescale_factor = 1.0 / 255.0;
  std::array<float, 3> image_mean = {0.48145466f, 0.4578275f, 0.40821073f};
  std::array<float, 3> image_std = {0.26862954f, 0.26130258f, 0.27577711f};
};

/// Reads preprocessor_config.json; throws IoError / ConfigError naming the field.
Qwen2ImageProcessorConfig load_qwen2_image_processor(const std::filesystem::path& path);

/// Target (height, width): multiples of factor near the input with the area inside [min_pixels,
/// max_pixels] (Python's round-half-to-even first). Throws ConfigError for aspect ratios > 200.
std::pair<std::int64_t, std::int64_t> smart_resize(std::int64_t height, std::int64_t width,
                                                   std::int64_t factor, std::int64_t min_pixels,
                                                   std::int64_t max_pixels);

/// Pillow's Image.resize(..., BICUBIC) of an RGB uint8 image [H, W, 3] to [height, width, 3]:
/// separable a = -0.5 cubic, support scaled when reducing, 22-bit fixed-point coefficients,
/// horizontal pass then vertical, each rounded and clipped to uint8.
torch::Tensor resize_bicubic_pil(const torch::Tensor& image, std::int64_t height,
                                 std::int64_t width);

/// Processed images or videos: patches [N, C T p p] float32 and grids [n, 3] int64.
struct Qwen2VisionInputs {
  torch::Tensor pixel_values;
  torch::Tensor grid_thw;
};

/// Processes images, each [H, W, 3] uint8 (a still image becomes temporal_patch_size frames).
Qwen2VisionInputs process_qwen2_images(const std::vector<torch::Tensor>& images,
                                       const Qwen2ImageProcessorConfig& config);

/// Processes videos, each [T, H, W, 3] uint8 (T padded by repeating the last frame).
Qwen2VisionInputs process_qwen2_videos(const std::vector<torch::Tensor>& videos,
                                       const Qwen2ImageProcessorConfig& config);

/// LM tokens of one grid (t h w / merge^2).
std::int64_t qwen2_vision_tokens(const torch::Tensor& grid, std::int64_t merge);

}  // namespace clearsight::mm
