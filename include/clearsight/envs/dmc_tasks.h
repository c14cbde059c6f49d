// DeepMind-Control-style tasks for visual imitation: walker-walk and cheetah-run. Rewards lie in
// [0, 1] per control step; an episode is 1000 control steps; with action repeat 2 the agent acts
// 500 times and sees the summed reward of both repeats (returns up to 1000).
#pragma once

#include "clearsight/envs/mujoco_env.h"

namespace clearsight::envs {

/// Settings of the DMC-style tasks.
struct DmcOptions {
  /// Control steps per agent step (the action is held and rewards are summed).
  int action_repeat = 2;
  /// Control steps per episode (dm_control's time limit divided by the control timestep).
  int control_steps_per_episode = 1000;
};

/// walker-walk: planar walker rewarded for standing tall, upright, and moving at >= 1 m/s.
/// Observation (24): body orientations (xx, xz of each body's frame), torso height, qvel.
class WalkerWalk : public MujocoEnv {
 public:
  /// Creates the task.
  explicit WalkerWalk(DmcOptions options = {});
  /// Reward of the current state for one control step.
  double control_reward() const;

 protected:
  void reset_model() override;
  void observe(std::span<double> out) const override;
  void advance(std::span<const double> action, StepResult& result) override;
  DmcOptions options_;
  int substeps_ = 10;
  int velocity_sensor_ = -1;
};

/// cheetah-run: planar cheetah rewarded linearly for forward speed up to 10 m/s.
/// Observation (17): qpos[1:], qvel.
class CheetahRun : public MujocoEnv {
 public:
  /// Creates the task.
  explicit CheetahRun(DmcOptions options = {});
  /// Reward of the current state for one control step.
  double control_reward() const;

 protected:
  void reset_model() override;
  void observe(std::span<double> out) const override;
  void advance(std::span<const double> action, StepResult& result) override;
  DmcOptions options_;
  int velocity_sensor_ = -1;
};

}  // namespace clearsight::envs
