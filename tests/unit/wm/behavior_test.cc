#include "clearsight/wm/behavior.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"

namespace clearsight::wm {
namespace {

WorldModelConfig tiny_model() {
  WorldModelConfig c;
  c.image_size = 16;
  c.cnn_depth = 2;
  c.deter = 8;
  c.stoch = 4;
  c.hidden = 8;
  return c;
}

BehaviorConfig tiny_behavior() {
  BehaviorConfig c;
  c.horizon = 3;
  c.hidden = 8;
  c.layers = 1;
  c.slow_target_every = 2;
  return c;
}

TEST(WmBehavior, ActorSamplesLieInTheActionBox) {
  torch::manual_seed(0);
  Actor actor(12, 3, tiny_behavior());
  const auto features = torch::randn({64, 12}) * 3;
  const auto [a, entropy] = actor->sample(features);
  EXPECT_EQ(a.sizes(), (std::vector<std::int64_t>{64, 3}));
  EXPECT_LE(a.abs().max().item<double>(), 1.0);
  EXPECT_TRUE(torch::isfinite(entropy).all().item<bool>());
  EXPECT_LE(actor->mode(features).abs().max().item<double>(), 1.0);
}

TEST(WmBehavior, UpdateTrainsActorAndCriticButNotTheModel) {
  torch::manual_seed(1);
  WorldModel model(tiny_model(), 2);
  Behavior behavior(model, tiny_behavior());
  const auto start = model->rssm()->initial(5);
  const auto before = model->parameters()[0].clone();
  const auto actor_before = behavior.actor()->parameters()[0].clone();
  const auto m = behavior.update(start);
  EXPECT_TRUE(torch::equal(model->parameters()[0], before));
  EXPECT_FALSE(torch::equal(behavior.actor()->parameters()[0], actor_before));
  for (const auto& p : model->parameters()) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_FALSE(p.grad().defined() && p.grad().abs().sum().item<double>() > 0);
  }
  EXPECT_TRUE(std::isfinite(m.actor_loss) && std::isfinite(m.critic_loss));
  // The slow target follows the critic every second update.
  EXPECT_FALSE(
      torch::equal(behavior.target_critic()->parameters()[0], behavior.critic()->parameters()[0]));
  behavior.update(start);
  EXPECT_TRUE(
      torch::equal(behavior.target_critic()->parameters()[0], behavior.critic()->parameters()[0]));
}

TEST(WmBehavior, AnImaginedRewardReplacesTheRewardHead) {
  torch::manual_seed(2);
  WorldModel model(tiny_model(), 2);
  Behavior behavior(model, tiny_behavior());
  const auto start = model->rssm()->initial(4);
  const ImaginedReward twos = [](const Imagination& imag) {
    EXPECT_EQ(imag.actions.size(1) + 1, imag.features().size(1));
    return torch::full({imag.actions.size(0), imag.actions.size(1)}, 2.0);
  };
  const auto m = behavior.update(start, {}, {}, twos);
  EXPECT_NEAR(m.imagined_reward, 2.0, 1e-6);
  const ImaginedReward wrong = [](const Imagination& imag) {
    return torch::zeros({imag.actions.size(0)});
  };
  EXPECT_THROW(behavior.update(start, {}, {}, wrong), ShapeError);
}

TEST(WmBehavior, ActionPartsSplitThePolicyAndUnlearnedPartsActWithZeros) {
  torch::manual_seed(3);
  WorldModel model(tiny_model(), 3);
  Behavior fixed(model, tiny_behavior(), {{"motor", 2, true}, {"sensor", 1, false}});
  const auto f = torch::randn({6, model->rssm()->feature_size()});
  const auto [a, h] = fixed.actors()->sample(f);
  EXPECT_EQ(a.sizes(), (std::vector<std::int64_t>{6, 3}));
  EXPECT_TRUE((a.select(1, 2) == 0).all().item<bool>());
  EXPECT_TRUE((fixed.actors()->mode(f).select(1, 2) == 0).all().item<bool>());
  EXPECT_THROW(fixed.actors()->actor(1), Error);
  Behavior active(model, tiny_behavior(), {{"motor", 2, true}, {"sensor", 1, true}});
  EXPECT_FALSE((active.actors()->sample(f).first.select(1, 2) == 0).all().item<bool>());
  EXPECT_THROW(Behavior(model, tiny_behavior(), {{"motor", 2, true}}), ConfigError);
  bool seen = false;
  active.update(model->rssm()->initial(4), {}, {}, {}, [&](const Imagination& imag) {
    seen = true;
    EXPECT_FALSE(imag.actions.requires_grad());
    EXPECT_EQ(imag.actions.sizes(), (std::vector<std::int64_t>{4, 3, 3}));
  });
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace clearsight::wm
