// Qwen2-VL's vision tower exactly as Hugging Face defines it: a bias-free Conv3d patch embedding
// (as a Linear over C x T x p x p values), 2-D rotary positions on the unmerged patch grid,
// pre-LayerNorm blocks with quick_gelu MLPs, and attention that is full inside each image or
// video frame and block-diagonal across them. The 2 x 2 patch merger is mm::Projector.
#pragma once

#include <torch/torch.h>

#include <string>

#include "clearsight/nn/hook_point.h"

namespace clearsight::mm {

/// vision_config of a Qwen2-VL checkpoint.
struct Qwen2VisionConfig {
  bool enabled = false;
  std::int64_t depth = 32;
  std::int64_t embed_dim = 1280;
  std::int64_t num_heads = 16;
  double mlp_ratio = 4.0;
  std::int64_t in_channels = 3;
  std::int64_t patch_size = 14;
  std::int64_t spatial_merge_size = 2;
  std::int64_t temporal_patch_size = 2;
  std::string hidden_act = "quick_gelu";

  /// Values per patch: in_channels x temporal_patch_size x patch_size^2 (1176 for Qwen2-VL).
  std::int64_t patch_dim() const {
    return in_channels * temporal_patch_size * patch_size * patch_size;
  }
  /// MLP width embed_dim x mlp_ratio.
  std::int64_t mlp_dim() const {
    return static_cast<std::int64_t>(static_cast<double>(embed_dim) * mlp_ratio);
  }
  /// Throws ConfigError naming the first field out of range.
  void validate() const;
};

/// (row, column) of every patch of grids [n, 3] = (t, h, w) in the processor's patch order (each
/// merge x merge window contiguous, repeated for each of the t temporal patches): [N, 2] int64.
torch::Tensor vision_patch_positions(const torch::Tensor& grid_thw, std::int64_t merge);

/// The attention block (image or frame) of every patch: [N] int64.
torch::Tensor vision_patch_blocks(const torch::Tensor& grid_thw);

/// The vision tower up to (not including) the merger.
class Qwen2VisionTowerImpl : public torch::nn::Module {
 public:
  /// Creates the tower.
  explicit Qwen2VisionTowerImpl(const Qwen2VisionConfig& config);
  /// pixel_values [N, patch_dim] (the processor's output), grid_thw [n, 3] int64 ->
  /// per-patch features [1, N, embed_dim] in the same order.
  torch::Tensor forward(const torch::Tensor& pixel_values, const torch::Tensor& grid_thw);

  /// The processor's patches [N, patch_dim] (where pixel attributions land).
  nn::HookPoint hook_pixels{nullptr};
  torch::nn::Linear patch_embed{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  nn::HookPoint hook_patches{nullptr};

 private:
  Qwen2VisionConfig config_;
};
TORCH_MODULE(Qwen2VisionTower);

}  // namespace clearsight::mm
