#include "clearsight/mm/towers.h"

#include <gtest/gtest.h>

#include "clearsight/mm/trainer.h"

namespace clearsight::mm {
namespace {

// The gradient of the audio tower with respect to its log-mel input agrees with central
// differences (LibTorch 1.13's GELU backward is wrong for non-contiguous incoming gradients;
// the tower applies GELU after its transpose for that reason).
TEST(MmTowers, AudioTowerGradientMatchesFiniteDifferences) {
  auto loaded = load_model_with_tokenizer("cs-tiny-audio");
  auto& tower = *loaded.model->audio;
  torch::manual_seed(3);
  const auto waves = torch::randn({1, 32000}) * 0.1;
  const auto mel = tower.log_mel()(waves);
  const auto r = torch::randn({1, 50, 96});
  const auto direction = torch::randn(mel.sizes());
  auto output = [&](const torch::Tensor& m) {
    const int id = tower.hook_mel->add_hook(
        [m](const torch::Tensor&, const std::string&) -> std::optional<torch::Tensor> {
          return m;
        });
    auto value = (tower.forward(waves) * r).sum();
    tower.hook_mel->remove_hook(id);
    return value;
  };
  auto leaf = mel.clone().requires_grad_(true);
  const auto g = torch::autograd::grad({output(leaf)}, {leaf})[0];
  torch::NoGradGuard no_grad;
  const double eps = 1e-3;
  const double fd = (output(mel + eps * direction).item<double>() -
                     output(mel - eps * direction).item<double>()) /
                    (2 * eps);
  const double analytic = (g * direction).sum().item<double>();
  EXPECT_NEAR(analytic, fd, 0.01 * std::abs(fd) + 1e-2);
}

}  // namespace
}  // namespace clearsight::mm
