// Settings of SENSOR (third-person visual imitation with an active camera) and its variants:
// which parts are on (sensor policy, expert actions, ensemble size, adaptive epsilon, joint or
// decoupled learning), the discriminators, and the world-model agent underneath.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clearsight/wm/config.h"

namespace clearsight::sensor {

/// The imitation-specific parts.
struct SensorConfig {
  /// Learn a sensor policy that moves the camera (false: the camera stays where it starts).
  bool sensor_policy = true;
  /// Environment steps per sensor action (MOSER: 4).
  std::int64_t sensor_every = 4;
  /// Start the agent's camera at the expert's pose (read from the demonstrations).
  bool start_at_expert_camera = false;
  /// Largest camera change per sensor action: distance (m), azimuth and elevation (degrees).
  std::vector<double> max_camera_delta = {0.25, 10.0, 10.0};
  /// "joint" (one behaviour over motor and sensor actions) or "decoupled" (separate motor and
  /// sensor learners; the camera held fixed in the motor learner's imagination).
  std::string learning = "joint";
  /// Use the expert's actions (discriminator on [feature, action]; expert episodes also train
  /// the world model); false: observation-only imitation (discriminator on [feature, next]).
  bool expert_actions = false;
  /// Discriminators in the ensemble (1: a plain discriminator).
  std::int64_t ensemble = 5;
  /// Hidden width of each discriminator's two ELU layers.
  std::int64_t disc_hidden = 200;
  double disc_lr = 8e-5;
  /// Weight of the gradient penalty (||grad_x D(u x_pi + (1 - u) x_E)|| - 1)^2.
  double gradient_penalty = 1.0;
  /// How the members' logits become one reward: "mean", "min" or "mean-std".
  std::string aggregate = "mean";
  /// Adapt epsilon to the discriminators' accuracy (false: epsilon stays at epsilon_init).
  bool adaptive_epsilon = true;
  /// Weight of the exploration term (the members' disagreement) in the reward.
  double epsilon_init = 0.1;
  double epsilon_min = 0.0;
  double epsilon_max = 1.0;
  /// Accuracy the controller steers towards: above it epsilon grows, below it shrinks.
  double target_accuracy = 0.75;
  /// Step size of the epsilon controller (multiplicative, per update).
  double epsilon_rate = 0.01;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("sensor_policy", sensor_policy, "learn a camera policy");
    v("sensor_every", sensor_every, "environment steps per sensor action");
    v("start_at_expert_camera", start_at_expert_camera, "start the camera at the expert's pose");
    v("max_camera_delta", max_camera_delta, "largest camera change per sensor action");
    v("learning", learning, "joint or decoupled");
    v("expert_actions", expert_actions, "use the expert's actions");
    v("ensemble", ensemble, "discriminators in the ensemble");
    v("disc_hidden", disc_hidden, "hidden width of the discriminators");
    v("disc_lr", disc_lr, "discriminator learning rate");
    v("gradient_penalty", gradient_penalty, "gradient penalty weight");
    v("aggregate", aggregate, "mean, min or mean-std");
    v("adaptive_epsilon", adaptive_epsilon, "adapt the exploration weight");
    v("epsilon_init", epsilon_init, "initial exploration weight");
    v("epsilon_min", epsilon_min, "smallest exploration weight");
    v("epsilon_max", epsilon_max, "largest exploration weight");
    v("target_accuracy", target_accuracy, "discriminator accuracy epsilon steers to");
    v("epsilon_rate", epsilon_rate, "epsilon controller step");
  }
  /// Throws ConfigError/UnknownNameError on invalid values.
  void validate() const;
};

/// What `sensor train` runs.
struct SensorTrainConfig {
  /// The world-model agent's settings (env, steps, seed, sizes, schedule...); its camera is the
  /// agent's starting camera.
  wm::WmTrainConfig agent;
  /// Pixel demonstration files of the expert.
  std::vector<std::string> demos;
  /// Camera view of the demonstration files (0: their main images).
  std::int64_t demo_view = 0;
  /// Named variant the settings started from (see sensor_variant_names()).
  std::string variant = "sensor";
  SensorConfig sensor;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("agent", agent, "world-model agent settings");
    v("demos", demos, "expert pixel demonstration files");
    v("demo_view", demo_view, "camera view of the demonstrations");
    v("variant", variant, "variant the settings started from");
    v("sensor", sensor, "imitation settings");
  }
  /// Throws ConfigError/UnknownNameError on invalid values.
  void validate() const;
};

/// The settings of a variant on top of base: "sensor" (joint motor + sensor policies, ensemble,
/// adaptive epsilon), "sensor-decoupled", "fixed-camera" (V-MAIL-like: no sensor policy),
/// "expert-camera" (no sensor policy, the camera starts at the expert's pose: the upper bound of
/// camera matching), "single-discriminator" and "fixed-epsilon" (ablations). Throws
/// UnknownNameError.
SensorTrainConfig sensor_variant(const std::string& name, SensorTrainConfig base = {});

/// Names of the variants, in registry order.
std::vector<std::string> sensor_variant_names();

}  // namespace clearsight::sensor
