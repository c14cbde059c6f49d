// Qwen2-VL's 3-D position ids (M-RoPE): text tokens advance all three axes together; each image or
// video block takes (t, h, w) indices on its merged grid, offset from the text before it.
#pragma once

#include <torch/torch.h>

namespace clearsight::mm {

/// Token ids and merge size that position ids depend on.
struct MropeTokens {
  std::int64_t image_token_id = -1;
  std::int64_t video_token_id = -1;
  std::int64_t vision_start_token_id = -1;
  std::int64_t spatial_merge_size = 2;
};

/// Position ids [3, B, L] and rope deltas [B, 1] (max position + 1 - L) as Hugging Face's
/// get_rope_index: over the attended tokens of each row (attention_mask may be undefined = all),
/// text at t = h = w = running index, a vision block starting at the next index with its merged
/// grid's (t, h, w) added, text after it resuming at the block's max + 1; unattended positions
/// get 1. Grids [n, 3] are consumed in order across the batch (undefined or empty = none).
/// Throws ShapeError when the pad tokens and grids disagree.
std::pair<torch::Tensor, torch::Tensor> mrope_positions(const torch::Tensor& input_ids,
                                                        const torch::Tensor& attention_mask,
                                                        const torch::Tensor& image_grid_thw,
                                                        const torch::Tensor& video_grid_thw,
                                                        const MropeTokens& tokens);

}  // namespace clearsight::mm
