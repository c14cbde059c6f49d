// Base class of MuJoCo-simulated environments: model loading, seeded resets, frame skipping,
// action checks, time limits and direct state access for tests and renderers.
#pragma once

#include <mujoco/mujoco.h>

#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "clearsight/core/paths.h"
#include "clearsight/core/rng.h"
#include "clearsight/envs/env.h"

namespace clearsight::envs {

using clearsight::assets_dir;

/// Loads an MJCF file from assets/mjcf/ (cached; the model is shared read-only).
/// Throws IoError when the file is missing and FormatError when MuJoCo rejects it.
std::shared_ptr<const mjModel> load_mjcf(const std::string& file_name);

/// Owns an mjData.
struct MjDataDeleter {
  /// Frees the data.
  void operator()(mjData* d) const { mj_deleteData(d); }
};

/// A MuJoCo environment; subclasses define resets, observations and rewards.
class MujocoEnv : public Env {
 public:
  /// Loads model_file and sets up a spec; the subclass completes the spec in its constructor.
  MujocoEnv(const std::string& model_file, int frame_skip);

  using Env::reset;
  using Env::step;
  const EnvSpec& spec() const override { return spec_; }
  void reset(std::uint64_t seed, std::span<double> observation) override;
  void reset(std::span<double> observation) override;
  StepResult step(std::span<const double> action, std::span<double> observation) override;
  int elapsed_steps() const override { return steps_; }
  std::string save_state() const override;
  void load_state(std::string_view state) override;

  /// The (shared, read-only) model.
  const mjModel* model() const { return model_.get(); }
  /// The simulation state.
  const mjData* data() const { return data_.get(); }
  /// The body cameras track and rewards refer to ("torso").
  int torso_body() const { return torso_; }
  /// Sets qpos and qvel (sizes nq and nv) and recomputes derived quantities.
  void set_state(std::span<const double> qpos, std::span<const double> qvel);
  /// Writes the current observation.
  void observation(std::span<double> out) const;
  /// Whether the state satisfies the task's health rules (always true for tasks without them).
  virtual bool healthy() const { return true; }

 protected:
  /// Sets the initial state from init_qpos_/init_qvel_ plus task noise drawn from rng_.
  virtual void reset_model() = 0;
  /// Writes the observation of the current state.
  virtual void observe(std::span<double> out) const = 0;
  /// Runs the physics for one env step with the given action and fills reward, terms, termination.
  virtual void advance(std::span<const double> action, StepResult& result) = 0;
  /// Writes ctrl and runs frame_skip physics steps (then mj_rnePostConstraint).
  void simulate(std::span<const double> action, int n_frames);
  /// Like simulate, but in dm_control's order (mj_step2 then mj_step1), so positions, frames and
  /// sensors read afterwards describe the new state; needs a non-RK4 integrator.
  void simulate_synced(std::span<const double> action, int n_frames);
  /// Gymnasium's reset noise: qpos += U(-scale, scale); qvel += U(-scale, scale), or
  /// N(0, scale) when normal_velocity (drawn in that order from rng_).
  void add_reset_noise(double scale, bool normal_velocity);
  /// Writes qpos[skip:] then qvel (clipped to +-velocity_clip) into out.
  void write_state(std::span<double> out, int skip,
                   double velocity_clip = std::numeric_limits<double>::infinity()) const;
  /// Uniform sample in [-scale, scale].
  double uniform_noise(double scale);
  /// Gaussian sample with the given standard deviation.
  double normal_noise(double stddev);
  /// Body id by name; throws UnknownNameError.
  int body_id(const char* name) const;
  /// Sensor data address by sensor name; throws UnknownNameError.
  int sensor_address(const char* name) const;

  std::shared_ptr<const mjModel> model_;
  std::unique_ptr<mjData, MjDataDeleter> data_;
  EnvSpec spec_;
  RngEngine rng_;
  std::vector<double> init_qpos_;
  std::vector<double> init_qvel_;
  int torso_ = -1;
  int steps_ = 0;
};

/// dm_control's tolerance(): 1 inside [lower, upper], decaying to value_at_margin at a distance of
/// margin outside. sigmoid: "gaussian" or "linear" (the two the DMC-style tasks use).
double tolerance(double x, double lower, double upper, double margin, double value_at_margin,
                 const char* sigmoid);

}  // namespace clearsight::envs
