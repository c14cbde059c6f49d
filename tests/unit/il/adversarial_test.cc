#include "clearsight/il/adversarial.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::il {
namespace {

rl::ReplayBuffer filled(std::int64_t n, std::int64_t obs, std::int64_t act, std::int64_t batch,
                        float shift) {
  rl::ReplayBuffer b(n, obs, act, batch);
  b.add(torch::randn({n, obs}) + shift, torch::rand({n, act}) * 2 - 1, torch::zeros({n}),
        torch::randn({n, obs}) + shift, torch::zeros({n}));
  return b;
}

TEST(IlAdversarial, GradientReversalFlipsTheEncoderGradientExactly) {
  torch::manual_seed(0);
  rl::Mlp encoder(rl::MlpOptions{5, 4, {8}}), head(rl::MlpOptions{4, 1, {8}});
  const auto x = torch::randn({6, 5});
  auto grads = [&](bool reverse) {
    for (auto& p : encoder->parameters()) p.mutable_grad() = torch::Tensor();
    for (auto& p : head->parameters()) p.mutable_grad() = torch::Tensor();
    auto z = encoder->forward(x);
    if (reverse) z = gradient_reversal(z, 1.0);
    head->forward(z).square().sum().backward();
    std::vector<torch::Tensor> out;
    for (auto& p : encoder->parameters()) out.push_back(p.grad().clone());
    for (auto& p : head->parameters()) out.push_back(p.grad().clone());
    return out;
  };
  const auto plain = grads(false);
  const auto reversed = grads(true);
  const std::size_t encoder_params = encoder->parameters().size();
  for (std::size_t i = 0; i < plain.size(); ++i) {
    if (i < encoder_params) {
      EXPECT_TRUE(torch::equal(reversed[i], -plain[i])) << i;  // Flipped, bit for bit.
    } else {
      EXPECT_TRUE(torch::equal(reversed[i], plain[i])) << i;  // The head learns as usual.
    }
  }
  // The forward pass is the identity and a weight scales the reversed gradient.
  const auto y = torch::randn({3}).requires_grad_(true);
  auto out = gradient_reversal(y, 0.5);
  EXPECT_TRUE(torch::equal(out, y));
  out.sum().backward();
  EXPECT_TRUE(torch::allclose(y.grad(), torch::full({3}, -0.5)));
}

TEST(IlAdversarial, LogisticLossAndGradientPenaltyOnCraftedInputs) {
  EXPECT_NEAR(logistic_loss(torch::zeros({4, 1}), torch::zeros({4, 1})).item<double>(),
              std::log(2.0), 1e-6);
  EXPECT_LT(logistic_loss(torch::full({4, 1}, 20.0), torch::full({4, 1}, -20.0)).item<double>(),
            1e-8);
  EXPECT_GT(logistic_loss(torch::full({4, 1}, -5.0), torch::full({4, 1}, 5.0)).item<double>(), 4.9);
  // D(x) = w.x has gradient w everywhere: penalty = weight (|w| - center)^2.
  const auto e = torch::randn({16, 3}), o = torch::randn({16, 3});
  const auto unit = torch::tensor({0.6f, 0.8f, 0.0f});
  auto linear = [](torch::Tensor w) {
    return [w](const torch::Tensor& x) { return torch::matmul(x, w).unsqueeze(1); };
  };
  EXPECT_NEAR(gradient_penalty(linear(unit), e, o, 10.0, 1.0).item<double>(), 0.0, 1e-8);
  EXPECT_NEAR(gradient_penalty(linear(2 * unit), e, o, 10.0, 1.0).item<double>(), 10.0, 1e-4);
  EXPECT_NEAR(gradient_penalty(linear(2 * unit), e, o, 10.0, 0.0).item<double>(), 40.0, 1e-3);
}

TEST(IlAdversarial, AnchorBufferIsAPermutationOfTheNoisyBuffer) {
  torch::manual_seed(1);
  auto noisy = filled(50, 3, 2, 8, 0.0f);
  rl::ReplayBuffer anchor(50, 3, 2, 8);
  const auto perm = torch::randperm(50, torch::kInt64);
  fill_anchor(noisy, perm, anchor);
  EXPECT_TRUE(torch::equal(anchor.field("observations"), noisy.field("observations")));
  EXPECT_TRUE(torch::equal(anchor.field("actions"), noisy.field("actions").index_select(0, perm)));
  EXPECT_TRUE(torch::equal(anchor.field("next_observations"),
                           noisy.field("next_observations").index_select(0, perm)));
  // The multiset of actions is unchanged.
  EXPECT_TRUE(torch::equal(std::get<0>(anchor.field("actions").select(1, 0).sort()),
                           std::get<0>(noisy.field("actions").select(1, 0).sort())));
  rl::ReplayBuffer small(10, 3, 2, 8);
  EXPECT_THROW(fill_anchor(noisy, perm, small), ShapeError);
  EXPECT_THROW(fill_anchor(noisy, perm.narrow(0, 0, 10), anchor), ShapeError);
}

DidaConfig all_on() {
  DidaConfig d;
  d.feature_size = 8;
  d.encoder_hidden = {16};
  d.noise_hidden = {16};
  d.mine_hidden = {16};
  return d;
}

DiscriminatorConfig small_disc() {
  DiscriminatorConfig c;
  c.hidden = {16};
  c.batch_size = 32;
  return c;
}

TEST(IlAdversarial, DidaSwitchesChangeWhatTheyShould) {
  torch::manual_seed(2);
  auto expert = filled(200, 4, 2, 32, 1.0f);
  auto agent = filled(200, 4, 2, 32, 0.0f);
  rl::ReplayBuffer anchor(200, 4, 2, 32);
  fill_anchor(expert, torch::randperm(200, torch::kInt64), anchor);
  const auto e = expert.sample_n(32), a = agent.sample_n(64), n = anchor.sample_n(32);

  DidaReward full(small_disc(), all_on(), 4, 2);
  auto l = full.losses(e, a, &n);
  EXPECT_TRUE(l.noise_loss.defined());
  EXPECT_TRUE(l.mi_estimate.defined());
  EXPECT_EQ(l.selected.numel(), 32);
  // DAS: the selected candidates are those whose D_n output is closest to 1/2.
  {
    torch::NoGradGuard g;
    const auto p =
        torch::sigmoid(full.noise_discriminator()->forward(full.features(a.observations)))
            .flatten();
    const auto distance = (p - 0.5).abs();
    const auto chosen = distance.index_select(0, l.selected);
    auto mask = torch::ones({64}, torch::kBool);
    mask.index_fill_(0, l.selected, false);
    EXPECT_LE(chosen.max().item<float>(), distance.masked_select(mask).min().item<float>());
  }
  // SAR: D_n's running accuracy starts at 1, so the agent share starts at min_rate.
  EXPECT_DOUBLE_EQ(l.agent_rate, all_on().min_rate);

  auto no_noise = all_on();
  no_noise.noise_discriminator = false;
  DidaReward a1(small_disc(), no_noise, 4, 2);
  l = a1.losses(e, a, &n);
  EXPECT_FALSE(l.noise_loss.defined());
  EXPECT_TRUE(torch::equal(l.selected, torch::arange(32, torch::kInt64)));  // No DAS without D_n.

  auto no_mi = all_on();
  no_mi.mi_constraint = false;
  DidaReward a2(small_disc(), no_mi, 4, 2);
  EXPECT_FALSE(a2.losses(e, a, &n).mi_estimate.defined());

  auto no_sar = all_on();
  no_sar.self_adaptive_rate = false;
  no_sar.fixed_rate = 0.75;
  DidaReward a3(small_disc(), no_sar, 4, 2);
  EXPECT_DOUBLE_EQ(a3.losses(e, a, &n).agent_rate, 0.75);

  auto no_anchor = all_on();
  no_anchor.anchor = false;
  DidaReward a4(small_disc(), no_anchor, 4, 2);
  EXPECT_DOUBLE_EQ(a4.losses(e, a, nullptr).agent_rate, 1.0);

  auto no_das = all_on();
  no_das.domain_adversarial_sampling = false;
  DidaReward a5(small_disc(), no_das, 4, 2);
  EXPECT_TRUE(torch::equal(a5.losses(e, a, &n).selected, torch::arange(32, torch::kInt64)));
}

TEST(IlAdversarial, DidaUpdateTrainsAndTheMultiplierFollowsTheEstimate) {
  torch::manual_seed(3);
  auto expert = filled(300, 4, 2, 32, 2.0f);
  auto agent = filled(300, 4, 2, 32, 0.0f);
  rl::ReplayBuffer anchor(300, 4, 2, 32);
  fill_anchor(expert, torch::randperm(300, torch::kInt64), anchor);
  auto d = all_on();
  d.mi_bound = 0.0;
  d.mi_dual_lr = 1.0;
  DidaReward dida(small_disc(), d, 4, 2);
  const auto before = dida.encoder()->parameters()[0].clone();
  const auto m = dida.update(expert, agent, &anchor);
  EXPECT_FALSE(torch::equal(before, dida.encoder()->parameters()[0]));
  EXPECT_DOUBLE_EQ(dida.mi_multiplier(), std::max(0.0, m["mi_estimate"].get<double>()));
  EXPECT_NEAR(dida.noise_accuracy(), 0.9 + 0.1 * m["noise_accuracy"].get<double>(), 1e-12);
  // A few hundred updates separate expert from agent samples; the reward is higher for experts.
  auto fast = small_disc();
  fast.lr = 3e-3;
  fast.gradient_penalty = 0.0;  // The penalty keeps D flat; here we want a sharp one.
  GailReward gail(fast, 4, 2);
  for (int i = 0; i < 400; ++i) gail.update(expert, agent, nullptr);
  const auto re = gail.reward(expert.sample_n(64)).mean().item<double>();
  const auto ra = gail.reward(agent.sample_n(64)).mean().item<double>();
  EXPECT_GT(re, ra + 1.0) << re << " vs " << ra;
  auto bad = small_disc();
  bad.input = "xy";
  EXPECT_THROW(GailReward(bad, 4, 2), UnknownNameError);
}

}  // namespace
}  // namespace clearsight::il
