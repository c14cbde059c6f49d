#include "clearsight/nn/transformer.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>

namespace clearsight::nn {
namespace {

TEST(NnTransformer, RmsNormByHand) {
  RMSNorm norm(4, 1e-6);
  {
    torch::NoGradGuard no_grad;
    norm->weight.copy_(torch::tensor({1.0f, 0.5f, 2.0f, 1.0f}));
  }
  const auto y = norm(torch::tensor({{1.0f, 2.0f, 3.0f, 4.0f}}));
  const double rms = std::sqrt((1.0 + 4.0 + 9.0 + 16.0) / 4.0 + 1e-6);
  const std::array<double, 4> want = {1.0 / rms, 2.0 * 0.5 / rms, 3.0 * 2.0 / rms, 4.0 / rms};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[0][i].item<double>(), want[i], 1e-6) << i;
}

// One causal attention step with rotary positions and grouped-query heads, computed with scalar
// loops: 2 query heads share 1 key/value head; head_dim 2, so the rotary angle at position p is
// p radians (inverse frequency theta^0 = 1).
TEST(NnTransformer, CausalRotaryGqaAttentionByHand) {
  AttentionOptions o;
  o.hidden = 4;
  o.heads = 2;
  o.kv_heads = 1;
  o.qkv_bias = false;
  Attention attn(o);
  {
    torch::NoGradGuard no_grad;
    attn->q_proj->weight.copy_(torch::eye(4));
    // k = x[0:2], v = x[2:4].
    attn->k_proj->weight.copy_(torch::tensor({{1.0f, 0.0f, 0.0f, 0.0f}, {0.0f, 1.0f, 0.0f, 0.0f}}));
    attn->v_proj->weight.copy_(torch::tensor({{0.0f, 0.0f, 1.0f, 0.0f}, {0.0f, 0.0f, 0.0f, 1.0f}}));
    attn->o_proj->weight.copy_(torch::eye(4));
    if (attn->o_proj->bias.defined()) attn->o_proj->bias.zero_();
  }
  const std::array<std::array<double, 4>, 3> x = {
      {{0.5, -1.0, 2.0, 0.25}, {1.5, 0.5, -0.5, 1.0}, {-0.75, 2.0, 0.0, -1.5}}};
  auto input = torch::zeros({1, 3, 4});
  for (int i = 0; i < 3; ++i) {
    for (int c = 0; c < 4; ++c) input[0][i][c] = x[i][c];
  }
  const Rotary rotary(2, 16, 10000.0);
  const auto positions = torch::arange(3, torch::kInt64).unsqueeze(0);
  torch::NoGradGuard no_grad;
  const auto out = attn(input, positions, torch::Tensor(), rotary, nullptr, 0);
  const auto rotate = [](double a, double b, double t) {
    return std::array<double, 2>{a * std::cos(t) - b * std::sin(t),
                                 b * std::cos(t) + a * std::sin(t)};
  };
  for (int h = 0; h < 2; ++h) {
    for (int i = 0; i < 3; ++i) {
      const auto q = rotate(x[i][2 * h], x[i][2 * h + 1], i);
      std::array<double, 3> w{};
      double total = 0;
      for (int j = 0; j <= i; ++j) {
        const auto k = rotate(x[j][0], x[j][1], j);
        w[j] = std::exp((q[0] * k[0] + q[1] * k[1]) / std::sqrt(2.0));
        total += w[j];
      }
      for (int c = 0; c < 2; ++c) {
        double want = 0;
        for (int j = 0; j <= i; ++j) want += w[j] / total * x[j][2 + c];
        EXPECT_NEAR(out[0][i][2 * h + c].item<double>(), want, 1e-5)
            << "head " << h << " position " << i << " channel " << c;
      }
    }
  }
}

}  // namespace
}  // namespace clearsight::nn
