// MuJoCo locomotion tasks matching Gymnasium v4: Hopper, HalfCheetah, Walker2d, Ant, Swimmer.
// Observation layouts, frame skips, reward terms and weights, health rules, reset noise and the
// 1000-step limit follow the v4 definitions; the MJCF models are this project's own.
#pragma once

#include <limits>

#include "clearsight/envs/mujoco_env.h"

namespace clearsight::envs {

/// Reward and termination settings shared by the hopping/walking tasks (Gymnasium kwargs).
struct LocomotionOptions {
  double forward_reward_weight = 1.0;
  double ctrl_cost_weight = 1e-3;
  double healthy_reward = 1.0;
  bool terminate_when_unhealthy = true;
  double healthy_z_min = -std::numeric_limits<double>::infinity();
  double healthy_z_max = std::numeric_limits<double>::infinity();
  double healthy_angle_min = -std::numeric_limits<double>::infinity();
  double healthy_angle_max = std::numeric_limits<double>::infinity();
  double healthy_state_min = -std::numeric_limits<double>::infinity();
  double healthy_state_max = std::numeric_limits<double>::infinity();
  double reset_noise_scale = 5e-3;
};

/// Hopper-v4: 11-d observation (qpos[1:], clipped qvel), 3 actions, dt 0.008.
class Hopper : public MujocoEnv {
 public:
  /// Creates the task with Gymnasium's defaults unless options are given.
  explicit Hopper(LocomotionOptions options = defaults());
  /// Gymnasium v4 defaults.
  static LocomotionOptions defaults();
  bool healthy() const override;

 protected:
  /// For tasks sharing Hopper's structure (Walker2d): another model, name and size.
  Hopper(const char* model_file, const char* name, LocomotionOptions options);
  void reset_model() override;
  void observe(std::span<double> out) const override;
  void advance(std::span<const double> action, StepResult& result) override;
  LocomotionOptions options_;
};

/// Walker2d-v4: 17-d observation (qpos[1:], clipped qvel), 6 actions, dt 0.008.
class Walker2d : public Hopper {
 public:
  /// Creates the task with Gymnasium's defaults unless options are given.
  explicit Walker2d(LocomotionOptions options = defaults());
  /// Gymnasium v4 defaults.
  static LocomotionOptions defaults();
  bool healthy() const override;
};

/// HalfCheetah-v4: 17-d observation (qpos[1:], qvel), 6 actions, dt 0.05, never terminates.
class HalfCheetah : public MujocoEnv {
 public:
  /// Creates the task with Gymnasium's defaults unless options are given.
  explicit HalfCheetah(LocomotionOptions options = defaults());
  /// Gymnasium v4 defaults.
  static LocomotionOptions defaults();

 protected:
  void reset_model() override;
  void observe(std::span<double> out) const override;
  void advance(std::span<const double> action, StepResult& result) override;
  LocomotionOptions options_;
};

/// Ant-v4 (contact forces off, as v4's default): 27-d observation (qpos[2:], qvel), 8 actions.
class Ant : public MujocoEnv {
 public:
  /// Creates the task with Gymnasium's defaults unless options are given.
  explicit Ant(LocomotionOptions options = defaults());
  /// Gymnasium v4 defaults.
  static LocomotionOptions defaults();
  bool healthy() const override;

 protected:
  void reset_model() override;
  void observe(std::span<double> out) const override;
  void advance(std::span<const double> action, StepResult& result) override;
  LocomotionOptions options_;
};

/// Swimmer-v4: 8-d observation (qpos[2:], qvel), 2 actions, dt 0.04, never terminates.
class Swimmer : public MujocoEnv {
 public:
  /// Creates the task with Gymnasium's defaults unless options are given.
  explicit Swimmer(LocomotionOptions options = defaults());
  /// Gymnasium v4 defaults.
  static LocomotionOptions defaults();

 protected:
  void reset_model() override;
  void observe(std::span<double> out) const override;
  void advance(std::span<const double> action, StepResult& result) override;
  LocomotionOptions options_;
};

}  // namespace clearsight::envs
