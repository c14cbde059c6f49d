#include "clearsight/rl/fast_mlp.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"

namespace clearsight::rl {
namespace {

fast::Matrix to_matrix(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return Eigen::Map<const fast::Matrix>(c.data_ptr<float>(), c.size(0), c.size(1));
}

torch::Tensor to_tensor(const float* data, std::vector<std::int64_t> shape) {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return torch::from_blob(const_cast<float*>(data), {n}).clone().view(shape);
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what,
                  double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  const double err = (got - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  EXPECT_LE(err, atol + rtol * scale) << what << ": max error " << err << " at scale " << scale;
}

// Forward, weight, bias and input gradients equal LibTorch autograd's for each activation.
TEST(RlFastMlp, ForwardAndBackwardMatchAutograd) {
  for (const std::string act : {"relu", "tanh", "elu"}) {
    torch::manual_seed(1);
    Mlp net(MlpOptions{7, 5, {16, 12}, act});
    auto fast_net = fast::Mlp::of(*net);
    const auto x = torch::randn({9, 7}).requires_grad_(true);
    const auto dy = torch::randn({9, 5});
    const auto y = net->forward(x);
    y.backward(dy);
    const auto& fy = fast_net.forward(to_matrix(x.detach()));
    expect_close(to_tensor(fy.data(), {9, 5}), y.detach(), act + " output");
    fast::Matrix dx;
    fast_net.backward(to_matrix(dy), true, &dx);
    expect_close(to_tensor(dx.data(), {9, 7}), x.grad(), act + " input gradient");
    const auto slots = fast_net.slots();
    ASSERT_EQ(slots.size(), 6u);
    for (std::size_t l = 0; l < 3; ++l) {
      const auto& linear = net->layers()[l];
      expect_close(to_tensor(slots[2 * l].grad, linear->weight.sizes().vec()),
                   linear->weight.grad(), act + " weight gradient " + std::to_string(l));
      expect_close(to_tensor(slots[2 * l + 1].grad, linear->bias.sizes().vec()),
                   linear->bias.grad(), act + " bias gradient " + std::to_string(l));
    }
  }
}

// An ensemble member on the fast path is the member's slice of the batched LibTorch forward.
TEST(RlFastMlp, EnsembleMembersMatchTheBatchedForward) {
  torch::manual_seed(2);
  EnsembleMlp ensemble(3, MlpOptions{6, 1, {10, 10}, "relu"});
  const auto x = torch::randn({8, 6});
  const auto y = ensemble->forward(x);  // [3, 8, 1]
  y.backward(torch::ones_like(y));
  for (std::int64_t e = 0; e < 3; ++e) {
    auto member = fast::Mlp::member_of(*ensemble, e);
    const auto& out = member.forward(to_matrix(x));
    expect_close(to_tensor(out.data(), {8, 1}), y[e].detach(), "member output");
    member.backward(fast::Matrix::Ones(8, 1), true, nullptr);
    const auto slots = member.slots();
    expect_close(to_tensor(slots[0].grad, {6, 10}), ensemble->weights()[0].grad()[e],
                 "member weight gradient");
    expect_close(to_tensor(slots[5].grad, {1}), ensemble->biases()[2].grad()[e].view({1}),
                 "member last bias gradient");
  }
  EXPECT_THROW(fast::Mlp::member_of(*ensemble, 3), ShapeError);
}

// Adam's step equals torch::optim::Adam's over several steps with changing gradients.
TEST(RlFastMlp, AdamMatchesTorchAdam) {
  torch::manual_seed(3);
  auto reference = torch::randn({50}).requires_grad_(true);
  auto mine = reference.detach().clone();
  std::vector<float> grad(50);
  torch::optim::Adam torch_adam({reference}, torch::optim::AdamOptions(1e-2));
  fast::Adam fast_adam({{mine.data_ptr<float>(), grad.data(), 50}}, 1e-2);
  for (int step = 0; step < 20; ++step) {
    const auto g = torch::randn({50}) * (step + 1);
    reference.mutable_grad() = g.clone();
    torch_adam.step();
    std::copy_n(g.data_ptr<float>(), 50, grad.data());
    fast_adam.step();
    expect_close(mine, reference.detach(), "parameters after step " + std::to_string(step), 1e-5,
                 1e-6);
  }
  // Its state round-trips through named tensors.
  std::vector<std::pair<std::string, torch::Tensor>> state;
  fast_adam.save_to(state, "p.");
  auto copy = mine.clone();
  fast::Adam restored({{copy.data_ptr<float>(), grad.data(), 50}}, 1e-2);
  std::map<std::string, torch::Tensor> by_name(state.begin(), state.end());
  restored.load_from(
      [&](const std::string& n) { return by_name.count(n) ? by_name.at(n) : torch::Tensor(); },
      "p.");
  EXPECT_EQ(restored.steps(), 20);
  fast_adam.step();
  restored.step();
  EXPECT_TRUE(torch::equal(mine, copy));
  EXPECT_THROW(restored.load_from([](const std::string&) { return torch::Tensor(); }, "p."),
               FormatError);
}

TEST(RlFastMlp, RejectsMismatchedShapes) {
  Mlp net(MlpOptions{4, 2, {8}, "tanh"});
  auto f = fast::Mlp::of(*net);
  EXPECT_THROW(f.forward(fast::Matrix::Zero(3, 5)), ShapeError);
  f.forward(fast::Matrix::Zero(3, 4));
  EXPECT_THROW(f.backward(fast::Matrix::Zero(3, 3), true, nullptr), ShapeError);
  EXPECT_THROW(fast::parse_activation("gelu"), UnknownNameError);
  EXPECT_EQ(f.macs_per_row(), 4 * 8 + 8 * 2);
}

}  // namespace
}  // namespace clearsight::rl
