// The one place that knows the differences between LibTorch 1.13 (Debian) and 2.x (pip wheels).
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <string>

namespace clearsight::compat {

/// LibTorch major version this build compiled against.
inline constexpr int kTorchMajor = TORCH_VERSION_MAJOR;
/// LibTorch minor version this build compiled against.
inline constexpr int kTorchMinor = TORCH_VERSION_MINOR;

/// "1.13.1"-style version string of the LibTorch headers.
std::string torch_version();

/// Resets gradients to "none" on every LibTorch version (2.x does so by default, 1.13 zeroes).
void zero_grad(torch::optim::Optimizer& optimizer);

/// softmax(q k^T / sqrt(d) + mask) v over the last two dims; uses the fused kernel on 2.x.
/// q: [..., Lq, d], k and v: [..., Lk, d]; causal applies a lower-triangular mask.
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k,
                                           const torch::Tensor& v, bool causal);

}  // namespace clearsight::compat
