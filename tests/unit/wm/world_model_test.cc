#include "clearsight/wm/world_model.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/envs/pixel_env.h"

namespace clearsight::wm {
namespace {

WorldModelConfig tiny_model() {
  WorldModelConfig c;
  c.image_size = 16;
  c.cnn_depth = 4;
  c.deter = 32;
  c.stoch = 8;
  c.hidden = 32;
  c.lr = 3e-3;
  return c;
}

// Two random-action cheetah-run episodes of 40 steps rendered at 16x16.
SequenceReplay cheetah_replay() {
  envs::PixelOptions o;
  o.render.width = o.render.height = 16;
  envs::PixelEnv env(envs::make_mujoco_env("cheetah-run"), o);
  SequenceReplay replay;
  RngEngine rng(7);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<std::uint8_t> frame(env.observation_bytes());
  std::vector<double> action(6);
  for (int e = 0; e < 2; ++e) {
    EpisodeBuilder b(16, 16, 6, 0);
    env.reset(static_cast<std::uint64_t>(e), frame);
    const std::vector<float> zero(6, 0.0f);
    b.add(frame, zero, 0.0f, {}, false);
    for (int t = 0; t < 40; ++t) {
      for (auto& a : action) a = u(rng);
      const auto r = env.step(action, frame);
      const std::vector<float> af(action.begin(), action.end());
      b.add(frame, af, static_cast<float>(r.reward), {}, false);
    }
    replay.add(b.episode());
  }
  return replay;
}

TEST(WmWorldModel, LossesFallOnAFixedReplay) {
  torch::manual_seed(0);
  const auto replay = cheetah_replay();
  WorldModel model(tiny_model(), 6);
  ClippedAdam opt(*model, model->config().lr, model->config().eps, model->config().grad_clip);
  RngEngine rng(1);
  WorldModelMetrics first, last;
  for (int i = 0; i < 80; ++i) {
    WorldModelMetrics m;
    update_world_model(model, opt, replay.sample(4, 10, rng), m);
    if (i == 0) first = m;
    last = m;
  }
  // A model that learns nothing keeps its initial image loss (~ half the pixel variance).
  EXPECT_LT(last.image_loss, first.image_loss / 3) << first.image_loss << " -> " << last.image_loss;
  EXPECT_GE(last.kl_loss, model->config().free_nats - 1e-6);
  EXPECT_TRUE(std::isfinite(last.grad_norm));
}

TEST(WmWorldModel, OpenLoopDecodesEveryStepOfTheWindow) {
  torch::manual_seed(0);
  const auto replay = cheetah_replay();
  WorldModel model(tiny_model(), 6);
  const auto window = replay.window(0, 0, 12);
  const auto predicted = model->open_loop(window, 4);
  EXPECT_EQ(predicted.sizes(), (std::vector<std::int64_t>{1, 12, 3, 16, 16}));
  EXPECT_THROW(model->open_loop(window, 12), ConfigError);
  // The prior part depends only on the context and the actions: other frames after the context
  // change nothing.
  auto other = window;
  other.images = window.images.clone();
  other.images.narrow(1, 4, 8).fill_(0);
  EXPECT_TRUE(torch::allclose(model->open_loop(other, 4), predicted));
}

TEST(WmWorldModel, ConditionsAreRequiredWhenDeclared) {
  WorldModel model(tiny_model(), 6, 3);
  const auto replay = cheetah_replay();
  EXPECT_THROW(model->losses(replay.window(0, 0, 4)), ShapeError);
  auto batch = replay.window(0, 0, 4);
  batch.conditions = torch::zeros({1, 4, 3});
  EXPECT_NO_THROW(model->losses(batch));
}

}  // namespace
}  // namespace clearsight::wm
