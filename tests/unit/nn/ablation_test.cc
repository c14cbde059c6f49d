#include "clearsight/nn/ablation.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"

namespace clearsight::nn {
namespace {

// One hook point over its input: the smallest hooked module.
class Passthrough : public HookedModule {
 public:
  Passthrough() {
    hook_x = register_module("hook_x", HookPoint());
    setup_hooks();
  }
  torch::Tensor forward(const torch::Tensor& x) { return hook_x(x); }
  HookPoint hook_x{nullptr};
};

torch::Tensor units(std::vector<bool> mask) {
  auto t = torch::zeros({static_cast<std::int64_t>(mask.size())}, torch::kBool);
  for (std::size_t i = 0; i < mask.size(); ++i)
    t[static_cast<std::int64_t>(i)] = static_cast<bool>(mask[i]);
  return t;
}

TEST(NnAblation, EmptySetIsTheIdentity) {
  Passthrough model;
  const auto x = torch::randn({2, 3, 4});
  AblationTarget target{"hook_x", units({false, false, false, false})};
  for (const auto& value : {"zero", "min"}) {
    AblationOptions options;
    options.value = value;
    const auto handles = ablate(model, {target}, options);
    EXPECT_TRUE(handles.empty());
    EXPECT_TRUE(torch::equal(model.forward(x), x));
  }
  // The complement of every unit is empty too.
  AblationOptions all;
  all.complementary = true;
  const auto handles = ablate(model, {{"hook_x", units({true, true, true, true})}}, all);
  EXPECT_TRUE(torch::equal(model.forward(x), x));
}

TEST(NnAblation, ZeroAndComplementary) {
  Passthrough model;
  const auto x = torch::randn({2, 3, 4}) + 5;
  AblationTarget target{"hook_x", units({false, true, false, true})};
  {
    const auto handles = ablate(model, {target}, {});
    const auto y = model.forward(x);
    EXPECT_TRUE(torch::equal(y.select(2, 1), torch::zeros({2, 3})));
    EXPECT_TRUE(torch::equal(y.select(2, 0), x.select(2, 0)));
  }
  AblationOptions options;
  options.complementary = true;
  {
    const auto handles = ablate(model, {target}, options);
    const auto y = model.forward(x);
    EXPECT_TRUE(torch::equal(y.select(2, 0), torch::zeros({2, 3})));
    EXPECT_TRUE(torch::equal(y.select(2, 1), x.select(2, 1)));
  }
  EXPECT_TRUE(torch::equal(model.forward(x), x));  // handles gone: hooks removed
}

TEST(NnAblation, MeanAblationOfAConstantNeuronIsTheIdentity) {
  auto x = torch::randn({3, 5, 4});
  x.select(2, 2).fill_(1.5);
  AblationTarget target{"hook_x", units({false, false, true, false})};
  target.reference = torch::tensor({0.0f, 0.0f, 1.5f, 0.0f});
  AblationOptions options;
  options.value = "mean";
  EXPECT_TRUE(torch::equal(ablate_activation(x, target, options, nullptr), x));
  target.reference = torch::tensor({0.0f, 0.0f, 2.0f, 0.0f});
  EXPECT_FALSE(torch::equal(ablate_activation(x, target, options, nullptr), x));
  target.reference = torch::zeros({3});
  EXPECT_THROW(ablate_activation(x, target, options, nullptr), ShapeError);
}

TEST(NnAblation, HeadsAndPositions) {
  // hook_z-like [B, H, L, D]: head 1 zeroed at the positions of the mask only.
  const auto x = torch::randn({2, 3, 4, 5}) + 10;
  AblationTarget target{"blocks.0.attn.hook_z", units({false, true, false}), 1, 2, {}};
  AblationOptions options;
  options.positions = std::make_shared<torch::Tensor>(torch::zeros({2, 4}, torch::kBool));
  (*options.positions)[0][1] = true;
  const auto y = ablate_activation(x, target, options, nullptr);
  EXPECT_TRUE(torch::equal(y[0][1][1], torch::zeros({5})));
  EXPECT_TRUE(torch::equal(y[0][1][0], x[0][1][0]));
  EXPECT_TRUE(torch::equal(y[1][1][1], x[1][1][1]));
  EXPECT_TRUE(torch::equal(y[0][0], x[0][0]));
  // A pass of another length (a generation step) is left alone.
  const auto step = torch::randn({2, 3, 1, 5});
  EXPECT_TRUE(torch::equal(ablate_activation(step, target, options, nullptr), step));
}

TEST(NnAblation, ResampleDrawsRowsOfThePool) {
  const auto x = torch::randn({2, 6, 3});
  AblationTarget target{"hook_x", units({true, false, true})};
  target.reference = torch::tensor({{10.0f, 11.0f, 12.0f}, {20.0f, 21.0f, 22.0f}});
  AblationOptions options;
  options.value = "resample";
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto y = ablate_activation(x, target, options, &gen);
  for (std::int64_t b = 0; b < 2; ++b) {
    for (std::int64_t l = 0; l < 6; ++l) {
      const auto first = y[b][l][0].item<float>();
      EXPECT_TRUE(first == 10.0f || first == 20.0f);
      EXPECT_EQ(y[b][l][2].item<float>(), first + 2.0f);  // one pool row per position
      EXPECT_EQ(y[b][l][1].item<float>(), x[b][l][1].item<float>());
    }
  }
}

TEST(NnAblation, BadInputsThrow) {
  Passthrough model;
  AblationOptions options;
  options.value = "mena";
  EXPECT_THROW(ablate(model, {{"hook_x", units({true})}}, options), UnknownNameError);
  EXPECT_THROW(ablate(model, {{"hook_y", units({true})}}, {}), UnknownNameError);
  const auto handles = ablate(model, {{"hook_x", units({true, false})}}, {});
  EXPECT_THROW(model.forward(torch::randn({1, 2, 3})), ShapeError);
}

}  // namespace
}  // namespace clearsight::nn
