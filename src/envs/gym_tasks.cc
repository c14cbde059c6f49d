#include "clearsight/envs/gym_tasks.h"

#include <algorithm>
#include <cmath>

namespace clearsight::envs {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double squared_norm(std::span<const double> a) {
  double sum = 0;
  for (double x : a) sum += x * x;
  return sum;
}

// Gymnasium's locomotion reward: forward velocity, control cost and (for tasks with health rules)
// the survival bonus; sets reward, termination and the reward terms in info.
void locomotion_reward(const LocomotionOptions& o, double x_velocity,
                       std::span<const double> action, bool with_health, bool is_healthy,
                       StepResult& result) {
  const double ctrl_cost = o.ctrl_cost_weight * squared_norm(action);
  const double forward = o.forward_reward_weight * x_velocity;
  const double survive =
      with_health && (is_healthy || o.terminate_when_unhealthy) ? o.healthy_reward : 0.0;
  result.reward = forward + survive - ctrl_cost;
  result.terminated = with_health && o.terminate_when_unhealthy && !is_healthy;
  result.info.set("reward_forward", forward);
  result.info.set("reward_ctrl", -ctrl_cost);
  if (with_health) result.info.set("reward_survive", survive);
}

void finish_spec(EnvSpec& spec, const char* name, const char* description, std::int64_t obs_size,
                 std::vector<std::string> terms) {
  spec.name = name;
  spec.description = description;
  spec.observation_space = Box::uniform({obs_size}, -kInf, kInf);
  spec.max_episode_steps = 1000;
  spec.reward_terms = std::move(terms);
}

}  // namespace

// ---- Hopper / Walker2d ------------------------------------------------------------------------

LocomotionOptions Hopper::defaults() {
  LocomotionOptions o;
  o.ctrl_cost_weight = 1e-3;
  o.healthy_z_min = 0.7;
  o.healthy_angle_min = -0.2;
  o.healthy_angle_max = 0.2;
  o.healthy_state_min = -100.0;
  o.healthy_state_max = 100.0;
  o.reset_noise_scale = 5e-3;
  return o;
}

Hopper::Hopper(LocomotionOptions options) : Hopper("hopper.xml", "Hopper-v4", options) {}

Hopper::Hopper(const char* model_file, const char* name, LocomotionOptions options)
    : MujocoEnv(model_file, 4), options_(options) {
  const bool hopper = std::string_view(name) == "Hopper-v4";
  finish_spec(spec_, name,
              hopper ? "one-legged hopper: hop forward without falling (Gymnasium v4)"
                     : "planar biped: walk forward without falling (Gymnasium v4)",
              model_->nq - 1 + model_->nv, {"reward_forward", "reward_ctrl", "reward_survive"});
}

bool Hopper::healthy() const {
  const double* qpos = data_->qpos;
  const double z = qpos[1];
  const double angle = qpos[2];
  for (int i = 2; i < model_->nq; ++i) {
    if (!(options_.healthy_state_min < qpos[i] && qpos[i] < options_.healthy_state_max))
      return false;
  }
  for (int i = 0; i < model_->nv; ++i) {
    const double v = data_->qvel[i];
    if (!(options_.healthy_state_min < v && v < options_.healthy_state_max)) return false;
  }
  return options_.healthy_z_min < z && z < options_.healthy_z_max &&
         options_.healthy_angle_min < angle && angle < options_.healthy_angle_max;
}

void Hopper::reset_model() {
  add_reset_noise(options_.reset_noise_scale, /*normal_velocity=*/false);
}

void Hopper::observe(std::span<double> out) const { write_state(out, 1, 10.0); }

void Hopper::advance(std::span<const double> action, StepResult& result) {
  const double x_before = data_->qpos[0];
  simulate(action, spec_.frame_skip);
  const double x_after = data_->qpos[0];
  const double x_velocity = (x_after - x_before) / spec_.dt;
  locomotion_reward(options_, x_velocity, action, /*with_health=*/true, healthy(), result);
  result.info.set("x_position", x_after);
  result.info.set("x_velocity", x_velocity);
}

LocomotionOptions Walker2d::defaults() {
  LocomotionOptions o;
  o.ctrl_cost_weight = 1e-3;
  o.healthy_z_min = 0.8;
  o.healthy_z_max = 2.0;
  o.healthy_angle_min = -1.0;
  o.healthy_angle_max = 1.0;
  o.reset_noise_scale = 5e-3;
  return o;
}

Walker2d::Walker2d(LocomotionOptions options) : Hopper("walker2d.xml", "Walker2d-v4", options) {}

bool Walker2d::healthy() const {
  const double z = data_->qpos[1];
  const double angle = data_->qpos[2];
  return options_.healthy_z_min < z && z < options_.healthy_z_max &&
         options_.healthy_angle_min < angle && angle < options_.healthy_angle_max;
}

// ---- HalfCheetah ------------------------------------------------------------------------------

LocomotionOptions HalfCheetah::defaults() {
  LocomotionOptions o;
  o.ctrl_cost_weight = 0.1;
  o.healthy_reward = 0.0;
  o.terminate_when_unhealthy = false;
  o.reset_noise_scale = 0.1;
  return o;
}

HalfCheetah::HalfCheetah(LocomotionOptions options)
    : MujocoEnv("half_cheetah.xml", 5), options_(options) {
  finish_spec(spec_, "HalfCheetah-v4", "planar cheetah: run forward fast (Gymnasium v4)",
              model_->nq - 1 + model_->nv, {"reward_forward", "reward_ctrl"});
}

void HalfCheetah::reset_model() {
  add_reset_noise(options_.reset_noise_scale, /*normal_velocity=*/true);
}

void HalfCheetah::observe(std::span<double> out) const { write_state(out, 1); }

void HalfCheetah::advance(std::span<const double> action, StepResult& result) {
  const double x_before = data_->qpos[0];
  simulate(action, spec_.frame_skip);
  const double x_after = data_->qpos[0];
  const double x_velocity = (x_after - x_before) / spec_.dt;
  locomotion_reward(options_, x_velocity, action, /*with_health=*/false, true, result);
  result.info.set("x_position", x_after);
  result.info.set("x_velocity", x_velocity);
}

// ---- Ant --------------------------------------------------------------------------------------

LocomotionOptions Ant::defaults() {
  LocomotionOptions o;
  o.ctrl_cost_weight = 0.5;
  o.healthy_z_min = 0.2;
  o.healthy_z_max = 1.0;
  o.reset_noise_scale = 0.1;
  return o;
}

Ant::Ant(LocomotionOptions options) : MujocoEnv("ant.xml", 5), options_(options) {
  finish_spec(spec_, "Ant-v4", "quadruped: walk forward without flipping over (Gymnasium v4)",
              model_->nq - 2 + model_->nv, {"reward_forward", "reward_ctrl", "reward_survive"});
}

bool Ant::healthy() const {
  for (int i = 0; i < model_->nq; ++i)
    if (!std::isfinite(data_->qpos[i])) return false;
  for (int i = 0; i < model_->nv; ++i)
    if (!std::isfinite(data_->qvel[i])) return false;
  const double z = data_->qpos[2];
  return options_.healthy_z_min <= z && z <= options_.healthy_z_max;
}

void Ant::reset_model() { add_reset_noise(options_.reset_noise_scale, /*normal_velocity=*/true); }

void Ant::observe(std::span<double> out) const { write_state(out, 2); }

void Ant::advance(std::span<const double> action, StepResult& result) {
  const double x_before = data_->xpos[3 * torso_];
  const double y_before = data_->xpos[3 * torso_ + 1];
  simulate(action, spec_.frame_skip);
  const double x_after = data_->xpos[3 * torso_];
  const double y_after = data_->xpos[3 * torso_ + 1];
  const double x_velocity = (x_after - x_before) / spec_.dt;
  const double y_velocity = (y_after - y_before) / spec_.dt;
  locomotion_reward(options_, x_velocity, action, /*with_health=*/true, healthy(), result);
  result.info.set("x_position", x_after);
  result.info.set("y_position", y_after);
  result.info.set("distance_from_origin", std::hypot(x_after, y_after));
  result.info.set("x_velocity", x_velocity);
  result.info.set("y_velocity", y_velocity);
}

// ---- Swimmer ----------------------------------------------------------------------------------

LocomotionOptions Swimmer::defaults() {
  LocomotionOptions o;
  o.ctrl_cost_weight = 1e-4;
  o.healthy_reward = 0.0;
  o.terminate_when_unhealthy = false;
  o.reset_noise_scale = 0.1;
  return o;
}

Swimmer::Swimmer(LocomotionOptions options) : MujocoEnv("swimmer.xml", 4), options_(options) {
  finish_spec(spec_, "Swimmer-v4", "three-link swimmer in a viscous fluid (Gymnasium v4)",
              model_->nq - 2 + model_->nv, {"reward_forward", "reward_ctrl"});
}

void Swimmer::reset_model() {
  add_reset_noise(options_.reset_noise_scale, /*normal_velocity=*/false);
}

void Swimmer::observe(std::span<double> out) const { write_state(out, 2); }

void Swimmer::advance(std::span<const double> action, StepResult& result) {
  const double x_before = data_->qpos[0];
  const double y_before = data_->qpos[1];
  simulate(action, spec_.frame_skip);
  const double x_velocity = (data_->qpos[0] - x_before) / spec_.dt;
  const double y_velocity = (data_->qpos[1] - y_before) / spec_.dt;
  locomotion_reward(options_, x_velocity, action, /*with_health=*/false, true, result);
  result.info.set("x_position", data_->qpos[0]);
  result.info.set("y_position", data_->qpos[1]);
  result.info.set("x_velocity", x_velocity);
  result.info.set("y_velocity", y_velocity);
}

}  // namespace clearsight::envs
