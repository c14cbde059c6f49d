#include "clearsight/envs/dmc_tasks.h"

#include <cmath>
#include <limits>

#include "clearsight/core/error.h"

namespace clearsight::envs {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846;

// Walker: control timestep 0.025 s over a 0.0025 s physics timestep.
constexpr double kWalkerControlTimestep = 0.025;
constexpr double kStandHeight = 1.2;
constexpr double kWalkSpeed = 1.0;
constexpr double kRunSpeed = 10.0;

void check_options(const DmcOptions& o) {
  CS_CHECK_AS(ConfigError, o.action_repeat >= 1, "action_repeat must be >= 1");
  CS_CHECK_AS(ConfigError,
              o.control_steps_per_episode >= o.action_repeat &&
                  o.control_steps_per_episode % o.action_repeat == 0,
              "control_steps_per_episode (", o.control_steps_per_episode,
              ") must be a positive multiple of action_repeat (", o.action_repeat, ")");
}

}  // namespace

// ---- walker-walk ------------------------------------------------------------------------------

WalkerWalk::WalkerWalk(DmcOptions options) : MujocoEnv("dmc_walker.xml", 1), options_(options) {
  check_options(options_);
  substeps_ = static_cast<int>(std::lround(kWalkerControlTimestep / model_->opt.timestep));
  spec_.name = "walker-walk";
  spec_.description = "DMC-style planar walker: walk at >= 1 m/s while standing tall";
  spec_.frame_skip = substeps_ * options_.action_repeat;
  spec_.dt = model_->opt.timestep * spec_.frame_skip;
  spec_.max_episode_steps = options_.control_steps_per_episode / options_.action_repeat;
  spec_.observation_space = Box::uniform({2 * (model_->nbody - 1) + 1 + model_->nv}, -kInf, kInf);
  spec_.reward_terms = {"reward_task"};
  velocity_sensor_ = sensor_address("torso_subtreelinvel");
}

double WalkerWalk::control_reward() const {
  const double height = data_->xpos[3 * torso_ + 2];
  const double upright = data_->xmat[9 * torso_ + 8];
  const double speed = data_->sensordata[velocity_sensor_];
  const double standing = tolerance(height, kStandHeight, kInf, kStandHeight / 2, 0.1, "gaussian");
  const double stand_reward = (3.0 * standing + (1.0 + upright) / 2.0) / 4.0;
  const double move = tolerance(speed, kWalkSpeed, kInf, kWalkSpeed / 2, 0.5, "linear");
  return stand_reward * (5.0 * move + 1.0) / 6.0;
}

void WalkerWalk::reset_model() {
  // dm_control's randomize_limited_and_rotational_joints: limited hinges uniform in their
  // range, unlimited hinges uniform in [-pi, pi]; slide joints keep their reference position.
  const mjModel* m = model_.get();
  for (int j = 0; j < m->njnt; ++j) {
    if (m->jnt_type[j] != mjJNT_HINGE) continue;
    const int adr = m->jnt_qposadr[j];
    if (m->jnt_limited[j]) {
      data_->qpos[adr] = std::uniform_real_distribution<double>(m->jnt_range[2 * j],
                                                                m->jnt_range[2 * j + 1])(rng_);
    } else {
      data_->qpos[adr] = std::uniform_real_distribution<double>(-kPi, kPi)(rng_);
    }
  }
}

void WalkerWalk::observe(std::span<double> out) const {
  std::size_t k = 0;
  for (int b = 1; b < model_->nbody; ++b) {
    out[k++] = data_->xmat[9 * b + 0];  // xx
    out[k++] = data_->xmat[9 * b + 2];  // xz
  }
  out[k++] = data_->xpos[3 * torso_ + 2];
  for (int i = 0; i < model_->nv; ++i) out[k++] = data_->qvel[i];
}

void WalkerWalk::advance(std::span<const double> action, StepResult& result) {
  double total = 0;
  for (int r = 0; r < options_.action_repeat; ++r) {
    simulate_synced(action, substeps_);
    total += control_reward();
  }
  result.reward = total;
  result.info.set("reward_task", total);
  result.info.set("torso_height", data_->xpos[3 * torso_ + 2]);
  result.info.set("torso_upright", data_->xmat[9 * torso_ + 8]);
  result.info.set("x_velocity", data_->sensordata[velocity_sensor_]);
  result.info.set("x_position", data_->xpos[3 * torso_]);
}

// ---- cheetah-run ------------------------------------------------------------------------------

CheetahRun::CheetahRun(DmcOptions options) : MujocoEnv("dmc_cheetah.xml", 1), options_(options) {
  check_options(options_);
  spec_.name = "cheetah-run";
  spec_.description = "DMC-style planar cheetah: run forward, reward linear up to 10 m/s";
  spec_.frame_skip = options_.action_repeat;
  spec_.dt = model_->opt.timestep * spec_.frame_skip;
  spec_.max_episode_steps = options_.control_steps_per_episode / options_.action_repeat;
  spec_.observation_space = Box::uniform({model_->nq - 1 + model_->nv}, -kInf, kInf);
  spec_.reward_terms = {"reward_task"};
  velocity_sensor_ = sensor_address("torso_subtreelinvel");
}

double CheetahRun::control_reward() const {
  const double speed = data_->sensordata[velocity_sensor_];
  return tolerance(speed, kRunSpeed, kInf, kRunSpeed, 0.0, "linear");
}

void CheetahRun::reset_model() {
  // dm_control: limited joints uniform in their range, then 200 physics steps to settle.
  const mjModel* m = model_.get();
  for (int j = 0; j < m->njnt; ++j) {
    if (!m->jnt_limited[j]) continue;
    data_->qpos[m->jnt_qposadr[j]] =
        std::uniform_real_distribution<double>(m->jnt_range[2 * j], m->jnt_range[2 * j + 1])(rng_);
  }
  for (int i = 0; i < m->nu; ++i) data_->ctrl[i] = 0.0;
  for (int i = 0; i < 200; ++i) mj_step(m, data_.get());
  data_->time = 0.0;
  mj_forward(m, data_.get());  // Positions and sensors of the settled state.
}

void CheetahRun::observe(std::span<double> out) const {
  const int nq = model_->nq;
  std::copy(data_->qpos + 1, data_->qpos + nq, out.begin());
  std::copy(data_->qvel, data_->qvel + model_->nv, out.begin() + (nq - 1));
}

void CheetahRun::advance(std::span<const double> action, StepResult& result) {
  double total = 0;
  for (int r = 0; r < options_.action_repeat; ++r) {
    simulate_synced(action, 1);
    total += control_reward();
  }
  result.reward = total;
  result.info.set("reward_task", total);
  result.info.set("x_velocity", data_->sensordata[velocity_sensor_]);
  result.info.set("x_position", data_->qpos[0]);
}

}  // namespace clearsight::envs
