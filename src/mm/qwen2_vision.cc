#include "clearsight/mm/qwen2_vision.h"

#include "clearsight/core/error.h"
#include "clearsight/nn/transformer.h"

namespace clearsight::mm {

void Qwen2VisionConfig::validate() const {
  const auto positive = [](const char* name, std::int64_t v) {
    CS_CHECK_AS(ConfigError, v >= 1, "vision_config.", name, " must be >= 1 (got ", v, ")");
  };
  positive("depth", depth);
  positive("embed_dim", embed_dim);
  positive("num_heads", num_heads);
  positive("in_channels", in_channels);
  positive("patch_size", patch_size);
  positive("spatial_merge_size", spatial_merge_size);
  positive("temporal_patch_size", temporal_patch_size);
  CS_CHECK_AS(ConfigError, mlp_ratio > 0, "vision_config.mlp_ratio must be > 0");
  CS_CHECK_AS(ConfigError, embed_dim % num_heads == 0 && (embed_dim / num_heads) % 4 == 0,
              "vision_config.embed_dim (", embed_dim, ") / num_heads (", num_heads,
              ") must be a multiple of 4 (2-D rotary halves)");
  CS_CHECK_AS(ConfigError, hidden_act == "quick_gelu" || hidden_act == "gelu",
              "vision_config.hidden_act '", hidden_act, "' is not supported (quick_gelu, gelu)");
}

namespace {

void check_grids(const torch::Tensor& grid_thw, std::int64_t merge) {
  CS_CHECK_AS(ShapeError,
              grid_thw.defined() && grid_thw.dim() == 2 && grid_thw.size(1) == 3 &&
                  grid_thw.scalar_type() == torch::kInt64,
              "grid_thw must be int64 [n, 3] (t, h, w)");
  if (grid_thw.size(0) == 0) return;
  CS_CHECK_AS(ShapeError, grid_thw.min().item<std::int64_t>() >= 1,
              "grid_thw entries must be >= 1");
  const auto hw = grid_thw.narrow(1, 1, 2);
  CS_CHECK_AS(ShapeError, (hw.remainder(merge) == 0).all().item<bool>(),
              "grid_thw h and w must be multiples of spatial_merge_size ", merge);
}

}  // namespace

torch::Tensor vision_patch_positions(const torch::Tensor& grid_thw, std::int64_t merge) {
  check_grids(grid_thw, merge);
  std::vector<torch::Tensor> out;
  const auto g = grid_thw.accessor<std::int64_t, 2>();
  for (std::int64_t i = 0; i < grid_thw.size(0); ++i) {
    const auto t = g[i][0], h = g[i][1], w = g[i][2];
    const auto order = [&](const torch::Tensor& plane) {  // [h, w] -> merge windows contiguous
      return plane.reshape({h / merge, merge, w / merge, merge}).permute({0, 2, 1, 3}).flatten();
    };
    const auto rows = order(torch::arange(h, torch::kInt64).unsqueeze(1).expand({h, w}));
    const auto cols = order(torch::arange(w, torch::kInt64).unsqueeze(0).expand({h, w}));
    out.push_back(torch::stack({rows, cols}, -1).repeat({t, 1}));
  }
  return out.empty() ? torch::zeros({0, 2}, torch::kInt64) : torch::cat(out, 0);
}

torch::Tensor vision_patch_blocks(const torch::Tensor& grid_thw) {
  std::vector<torch::Tensor> out;
  const auto g = grid_thw.accessor<std::int64_t, 2>();
  std::int64_t block = 0;
  for (std::int64_t i = 0; i < grid_thw.size(0); ++i) {
    for (std::int64_t f = 0; f < g[i][0]; ++f) {
      out.push_back(torch::full({g[i][1] * g[i][2]}, block++, torch::kInt64));
    }
  }
  return out.empty() ? torch::zeros({0}, torch::kInt64) : torch::cat(out);
}

Qwen2VisionTowerImpl::Qwen2VisionTowerImpl(const Qwen2VisionConfig& config) : config_(config) {
  config_.validate();
  hook_pixels = register_module("hook_pixels", nn::HookPoint());
  patch_embed = register_module(
      "patch_embed",
      torch::nn::Linear(
          torch::nn::LinearOptions(config_.patch_dim(), config_.embed_dim).bias(false)));
  blocks = register_module("blocks", torch::nn::ModuleList());
  nn::EncoderOptions o;
  o.hidden = config_.embed_dim;
  o.heads = config_.num_heads;
  o.intermediate = config_.mlp_dim();
  o.fused_qkv = true;
  o.eps = 1e-6;
  o.activation = config_.hidden_act;
  for (std::int64_t i = 0; i < config_.depth; ++i) blocks->push_back(nn::EncoderBlock(o));
  hook_patches = register_module("hook_patches", nn::HookPoint());
}

torch::Tensor Qwen2VisionTowerImpl::forward(const torch::Tensor& pixel_values,
                                            const torch::Tensor& grid_thw) {
  const auto merge = config_.spatial_merge_size;
  const auto positions = vision_patch_positions(grid_thw, merge);
  CS_CHECK_AS(ShapeError,
              pixel_values.dim() == 2 && pixel_values.size(1) == config_.patch_dim() &&
                  pixel_values.size(0) == positions.size(0),
              "pixel_values must be [", positions.size(0), ", ", config_.patch_dim(),
              "] for these grids, got ", pixel_values.sizes());
  const auto dtype = patch_embed->weight.scalar_type();
  auto x = patch_embed(hook_pixels(pixel_values.to(dtype))).unsqueeze(0);  // [1, N, E]
  // 2-D rotary: head_dim / 2 frequencies over dim = head_dim / 2, row and column concatenated.
  const auto head_dim = config_.embed_dim / config_.num_heads;
  const auto dim = head_dim / 2;
  const auto inv_freq = 1.0 / torch::pow(10000.0, torch::arange(0, dim, 2, torch::kFloat32) /
                                                      static_cast<double>(dim));
  const auto longest = grid_thw.size(0) ? grid_thw.narrow(1, 1, 2).max().item<std::int64_t>() : 1;
  const auto table = torch::outer(torch::arange(longest, torch::kFloat32), inv_freq);
  const auto freqs = table.index({positions}).flatten(1);  // [N, head_dim / 2]
  const auto emb = torch::cat({freqs, freqs}, -1);
  nn::EncoderContext context;
  context.cos = emb.cos().to(x.device()).to(dtype);
  context.sin = emb.sin().to(x.device()).to(dtype);
  const auto block = vision_patch_blocks(grid_thw).to(x.device());
  context.mask = (block.unsqueeze(1) == block.unsqueeze(0)).unsqueeze(0).unsqueeze(0);
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    x = blocks[i]->as<nn::EncoderBlock>()->forward(x, context);
  }
  return hook_patches(x);
}

}  // namespace clearsight::mm
