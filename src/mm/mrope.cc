#include "clearsight/mm/mrope.h"

#include <algorithm>
#include <array>
#include <vector>

#include "clearsight/core/error.h"

namespace clearsight::mm {

std::pair<torch::Tensor, torch::Tensor> mrope_positions(const torch::Tensor& input_ids,
                                                        const torch::Tensor& attention_mask,
                                                        const torch::Tensor& image_grid_thw,
                                                        const torch::Tensor& video_grid_thw,
                                                        const MropeTokens& tokens) {
  CS_CHECK_AS(ShapeError, input_ids.dim() == 2, "input_ids must be [B, L]");
  const auto b = input_ids.size(0), l = input_ids.size(1);
  const auto ids = input_ids.to(torch::kCPU).to(torch::kInt64).contiguous();
  const auto mask = attention_mask.defined()
                        ? attention_mask.to(torch::kCPU).to(torch::kBool).contiguous()
                        : torch::ones({b, l}, torch::kBool);
  CS_CHECK_AS(ShapeError, mask.sizes() == ids.sizes(), "attention_mask must match input_ids");
  const auto grids = [](const torch::Tensor& g) {
    std::vector<std::array<std::int64_t, 3>> out;
    if (!g.defined()) return out;
    CS_CHECK_AS(ShapeError, g.dim() == 2 && g.size(1) == 3, "grid_thw must be [n, 3]");
    const auto c = g.to(torch::kCPU).to(torch::kInt64).contiguous();
    const auto a = c.accessor<std::int64_t, 2>();
    for (std::int64_t i = 0; i < c.size(0); ++i) out.push_back({a[i][0], a[i][1], a[i][2]});
    return out;
  };
  const auto images = grids(image_grid_thw), videos = grids(video_grid_thw);
  const auto m = tokens.spatial_merge_size;
  auto positions = torch::ones({3, b, l}, torch::kInt64);
  auto deltas = torch::zeros({b, 1}, torch::kInt64);
  auto pa = positions.accessor<std::int64_t, 3>();
  const auto ia = ids.accessor<std::int64_t, 2>();
  const auto ma = mask.accessor<bool, 2>();
  std::size_t next_image = 0, next_video = 0;
  for (std::int64_t r = 0; r < b; ++r) {
    std::vector<std::int64_t> cols;  // attended columns
    for (std::int64_t j = 0; j < l; ++j) {
      if (ma[r][j]) cols.push_back(j);
    }
    std::vector<std::array<std::int64_t, 3>> pos;
    pos.reserve(cols.size());
    std::int64_t next = 0;  // first index of the next piece
    std::size_t k = 0;
    while (k < cols.size()) {
      const auto id = ia[r][cols[k]];
      const bool vision_block = (id == tokens.image_token_id || id == tokens.video_token_id) &&
                                k > 0 && ia[r][cols[k - 1]] == tokens.vision_start_token_id;
      if (!vision_block) {
        pos.push_back({next, next, next});
        ++next;
        ++k;
        continue;
      }
      const bool image = id == tokens.image_token_id;
      auto& counter = image ? next_image : next_video;
      const auto& list = image ? images : videos;
      CS_CHECK_AS(ShapeError, counter < list.size(), "the prompts have more ",
                  image ? "image" : "video", " blocks than grids (", list.size(), ")");
      const auto [t, h, w] = list[counter++];
      CS_CHECK_AS(ShapeError, h % m == 0 && w % m == 0, "grid (", t, ", ", h, ", ", w,
                  ") is not a multiple of spatial_merge_size ", m);
      const auto gh = h / m, gw = w / m, n = t * gh * gw;
      for (std::int64_t q = 0; q < n; ++q) {
        CS_CHECK_AS(ShapeError,
                    k + static_cast<std::size_t>(q) < cols.size() &&
                        ia[r][cols[k + static_cast<std::size_t>(q)]] == id,
                    "a ", image ? "image" : "video", " block needs ", n, " pad tokens for grid (",
                    t, ", ", h, ", ", w, ")");
        const auto ti = q / (gh * gw), hi = (q / gw) % gh, wi = q % gw;
        pos.push_back({next + ti, next + hi, next + wi});
      }
      next += std::max({t, gh, gw});
      k += static_cast<std::size_t>(n);
    }
    std::int64_t top = -1;
    for (std::size_t q = 0; q < cols.size(); ++q) {
      for (int a = 0; a < 3; ++a) {
        pa[a][r][cols[q]] = pos[q][static_cast<std::size_t>(a)];
        top = std::max(top, pos[q][static_cast<std::size_t>(a)]);
      }
    }
    deltas[r][0] = top + 1 - l;
  }
  CS_CHECK_AS(ShapeError, next_image == images.size() && next_video == videos.size(),
              "grids left unused: ", images.size() - next_image, " image(s), ",
              videos.size() - next_video, " video(s) (too few pad blocks in the prompts)");
  return {positions.to(input_ids.device()), deltas.to(input_ids.device())};
}

}  // namespace clearsight::mm
