#include "clearsight/wm/config.h"

#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::wm {
namespace {

void check_positive(std::int64_t value, const char* name) {
  CS_CHECK_AS(ConfigError, value >= 1, name, " must be >= 1, got ", value);
}

void check_rate(double value, const char* name) {
  CS_CHECK_AS(ConfigError, std::isfinite(value) && value > 0 && value < 1, name,
              " must be in (0, 1), got ", value);
}

}  // namespace

void WorldModelConfig::validate() const {
  CS_CHECK_AS(ConfigError, image_size >= 16 && image_size <= 256 && image_size % 16 == 0,
              "model.image_size must be a multiple of 16 in 16..256 (32, 48, 64), got ",
              image_size);
  check_positive(cnn_depth, "model.cnn_depth");
  check_positive(deter, "model.deter");
  check_positive(stoch, "model.stoch");
  check_positive(hidden, "model.hidden");
  CS_CHECK_AS(ConfigError, discrete == 0 || (discrete >= 2 && discrete <= 1024),
              "model.discrete must be 0 (Gaussian) or 2..1024 classes, got ", discrete);
  CS_CHECK_AS(ConfigError, std::isfinite(min_std) && min_std > 0, "model.min_std must be > 0");
  CS_CHECK_AS(ConfigError, kl_balance >= 0 && kl_balance <= 1,
              "model.kl_balance must be in [0, 1], got ", kl_balance);
  CS_CHECK_AS(ConfigError, std::isfinite(free_nats) && free_nats >= 0,
              "model.free_nats must be >= 0, got ", free_nats);
  for (double s : {kl_scale, image_scale, reward_scale}) {
    CS_CHECK_AS(ConfigError, std::isfinite(s) && s >= 0, "model loss scales must be >= 0");
  }
  check_rate(lr, "model.lr");
  check_rate(eps, "model.eps");
  CS_CHECK_AS(ConfigError, std::isfinite(grad_clip) && grad_clip > 0,
              "model.grad_clip must be > 0, got ", grad_clip);
}

void BehaviorConfig::validate() const {
  check_positive(horizon, "behavior.horizon");
  CS_CHECK_AS(ConfigError, horizon <= 1000, "behavior.horizon must be <= 1000, got ", horizon);
  CS_CHECK_AS(ConfigError, discount > 0 && discount <= 1, "behavior.discount must be in (0, 1]");
  CS_CHECK_AS(ConfigError, lambda >= 0 && lambda <= 1, "behavior.lambda must be in [0, 1]");
  check_positive(hidden, "behavior.hidden");
  check_positive(layers, "behavior.layers");
  check_rate(actor_lr, "behavior.actor_lr");
  check_rate(critic_lr, "behavior.critic_lr");
  check_rate(eps, "behavior.eps");
  CS_CHECK_AS(ConfigError, std::isfinite(grad_clip) && grad_clip > 0,
              "behavior.grad_clip must be > 0");
  CS_CHECK_AS(ConfigError, std::isfinite(actor_entropy) && actor_entropy >= 0,
              "behavior.actor_entropy must be >= 0");
  CS_CHECK_AS(ConfigError, std::isfinite(actor_min_std) && actor_min_std > 0,
              "behavior.actor_min_std must be > 0");
  CS_CHECK_AS(ConfigError, std::isfinite(actor_init_std) && actor_init_std > 0,
              "behavior.actor_init_std must be > 0");
  check_positive(slow_target_every, "behavior.slow_target_every");
  CS_CHECK_AS(ConfigError, std::isfinite(expl_noise) && expl_noise >= 0,
              "behavior.expl_noise must be >= 0");
}

void WmTrainConfig::validate() const {
  CS_CHECK_AS(ConfigError, steps >= 1, "steps must be >= 1, got ", steps);
  CS_CHECK_AS(ConfigError, camera.size() == 3, "camera must be [distance, azimuth, elevation]");
  for (double c : camera) CS_CHECK_AS(ConfigError, std::isfinite(c), "camera must be finite");
  CS_CHECK_AS(ConfigError, prefill >= 0, "prefill must be >= 0");
  CS_CHECK_AS(ConfigError, episode_steps >= 0, "episode_steps must be >= 0");
  check_positive(train_every, "train_every");
  check_positive(train_steps, "train_steps");
  check_positive(batch, "batch");
  CS_CHECK_AS(ConfigError, length >= 2, "length must be >= 2, got ", length);
  check_positive(eval_every, "eval_every");
  CS_CHECK_AS(ConfigError, eval_episodes >= 0, "eval_episodes must be >= 0");
  check_positive(checkpoint_every, "checkpoint_every");
  check_positive(log_every, "log_every");
  CS_CHECK_AS(ConfigError, openloop_context >= 1 && openloop_context < length,
              "openloop_context must be in 1..length-1 (", length - 1, "), got ", openloop_context);
  CS_CHECK_AS(ConfigError, demo_view >= 0, "demo_view must be >= 0");
  CS_CHECK_AS(ConfigError, stop_after >= 0, "stop_after must be >= 0");
  model.validate();
  behavior.validate();
}

WmTrainConfig wm_preset(const std::string& name) {
  WmTrainConfig c;
  c.preset = name;
  if (name == "sensor") {
    // SENSOR / V-MAIL conventions (reference notes 4 and 7.1).
    c.batch = 50;
    c.length = 50;
    return c;
  }
  if (name == "dreamer-v1") {
    c.batch = 50;
    c.length = 50;
    c.model.kl_balance = 0.5;  // Plain KL(post || prior).
    c.behavior.slow_target_every = 1;
    c.behavior.actor_entropy = 0.0;
    return c;
  }
  if (name == "dreamer-v2") {
    c.batch = 16;
    c.length = 50;
    c.model.discrete = 32;
    c.model.stoch = 32;
    c.model.free_nats = 1.0;
    c.model.lr = 3e-4;
    c.model.min_std = 0.1;
    return c;
  }
  if (name == "small") {
    // The sensor settings at sizes two CPU cores can train in hours (reduced scale).
    c.model.image_size = 32;
    c.model.cnn_depth = 16;
    c.model.deter = 128;
    c.model.stoch = 16;
    c.model.hidden = 128;
    c.behavior.hidden = 128;
    c.behavior.layers = 2;
    c.batch = 16;
    c.length = 32;
    c.prefill = 1000;
    c.eval_every = 5000;
    c.checkpoint_every = 5000;
    return c;
  }
  CS_THROW(UnknownNameError, "unknown world-model preset '", name,
           "' (valid: ", join(wm_preset_names(), ", "), ")");
}

std::vector<std::string> wm_preset_names() {
  return {"sensor", "dreamer-v1", "dreamer-v2", "small"};
}

}  // namespace clearsight::wm
