#include "clearsight/envs/mujoco_env.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::envs {

namespace fs = std::filesystem;

std::shared_ptr<const mjModel> load_mjcf(const std::string& file_name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const mjModel>> cache;
  std::lock_guard<std::mutex> lock(mutex);  // The MJCF parser is not thread-safe.
  const fs::path path = assets_dir() / "mjcf" / file_name;
  if (auto it = cache.find(path.string()); it != cache.end()) return it->second;
  std::error_code ec;
  CS_CHECK_AS(IoError, fs::is_regular_file(path, ec), "MJCF model '", path.string(),
              "' not found (set CLEARSIGHT_ASSETS to the folder holding mjcf/)");
  char error[1024] = {0};
  mjModel* model = mj_loadXML(path.c_str(), nullptr, error, sizeof(error));
  CS_CHECK_AS(FormatError, model != nullptr, "MuJoCo rejected '", path.string(), "': ", error);
  std::shared_ptr<const mjModel> shared(
      model, [](const mjModel* m) { mj_deleteModel(const_cast<mjModel*>(m)); });
  cache.emplace(path.string(), shared);
  return shared;
}

MujocoEnv::MujocoEnv(const std::string& model_file, int frame_skip)
    : model_(load_mjcf(model_file)), data_(mj_makeData(model_.get())), rng_(0) {
  CS_CHECK_AS(RuntimeError, data_ != nullptr, "MuJoCo could not allocate data for ", model_file);
  spec_.frame_skip = frame_skip;
  spec_.dt = model_->opt.timestep * frame_skip;
  const mjModel* m = model_.get();
  init_qpos_.assign(m->qpos0, m->qpos0 + m->nq);
  init_qvel_.assign(static_cast<std::size_t>(m->nv), 0.0);
  torso_ = body_id("torso");
  // The action space is the actuators' control range.
  spec_.action_space.shape = {m->nu};
  for (int i = 0; i < m->nu; ++i) {
    const bool limited = m->actuator_ctrllimited[i];
    spec_.action_space.low.push_back(limited ? m->actuator_ctrlrange[2 * i] : -INFINITY);
    spec_.action_space.high.push_back(limited ? m->actuator_ctrlrange[2 * i + 1] : INFINITY);
  }
  mj_forward(m, data_.get());
}

int MujocoEnv::body_id(const char* name) const {
  const int id = mj_name2id(model_.get(), mjOBJ_BODY, name);
  if (id < 0) {
    std::vector<std::string> names;
    for (int i = 0; i < model_->nbody; ++i) {
      if (const char* n = mj_id2name(model_.get(), mjOBJ_BODY, i)) names.emplace_back(n);
    }
    CS_THROW(UnknownNameError, "model has no body '", name, "' (bodies: ", join(names, ", "), ")");
  }
  return id;
}

int MujocoEnv::sensor_address(const char* name) const {
  const int id = mj_name2id(model_.get(), mjOBJ_SENSOR, name);
  CS_CHECK_AS(UnknownNameError, id >= 0, "model has no sensor '", name, "'");
  return model_->sensor_adr[id];
}

void MujocoEnv::add_reset_noise(double scale, bool normal_velocity) {
  for (int i = 0; i < model_->nq; ++i) data_->qpos[i] = init_qpos_[i] + uniform_noise(scale);
  for (int i = 0; i < model_->nv; ++i) {
    data_->qvel[i] = init_qvel_[i] + (normal_velocity ? normal_noise(scale) : uniform_noise(scale));
  }
}

void MujocoEnv::write_state(std::span<double> out, int skip, double velocity_clip) const {
  const int nq = model_->nq;
  std::copy(data_->qpos + skip, data_->qpos + nq, out.begin());
  for (int i = 0; i < model_->nv; ++i) {
    out[nq - skip + i] = std::clamp(data_->qvel[i], -velocity_clip, velocity_clip);
  }
}

double MujocoEnv::uniform_noise(double scale) {
  return std::uniform_real_distribution<double>(-scale, scale)(rng_);
}

double MujocoEnv::normal_noise(double stddev) {
  return std::normal_distribution<double>(0.0, stddev)(rng_);
}

void MujocoEnv::set_state(std::span<const double> qpos, std::span<const double> qvel) {
  const mjModel* m = model_.get();
  CS_CHECK_AS(ShapeError,
              static_cast<int>(qpos.size()) == m->nq && static_cast<int>(qvel.size()) == m->nv,
              spec_.name, ": set_state expects qpos of size ", m->nq, " and qvel of size ", m->nv,
              ", got ", qpos.size(), " and ", qvel.size());
  std::copy(qpos.begin(), qpos.end(), data_->qpos);
  std::copy(qvel.begin(), qvel.end(), data_->qvel);
  mj_forward(m, data_.get());
}

void MujocoEnv::observation(std::span<double> out) const {
  CS_CHECK_AS(ShapeError, static_cast<std::int64_t>(out.size()) == spec_.observation_space.size(),
              spec_.name, ": observation buffer has ", out.size(), " elements, expected ",
              spec_.observation_space.size());
  observe(out);
}

void MujocoEnv::reset(std::uint64_t seed, std::span<double> observation_out) {
  rng_.seed(seed);
  reset(observation_out);
}

void MujocoEnv::reset(std::span<double> observation_out) {
  mj_resetData(model_.get(), data_.get());
  steps_ = 0;
  reset_model();
  mj_forward(model_.get(), data_.get());
  observation(observation_out);
}

void MujocoEnv::simulate(std::span<const double> action, int n_frames) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  std::copy(action.begin(), action.end(), d->ctrl);
  for (int i = 0; i < n_frames; ++i) mj_step(m, d);
  // Gymnasium v4 recomputes contact and constraint forces (cfrc_ext) after stepping.
  mj_rnePostConstraint(m, d);
}

void MujocoEnv::simulate_synced(std::span<const double> action, int n_frames) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  std::copy(action.begin(), action.end(), d->ctrl);
  for (int i = 0; i < n_frames; ++i) {
    mj_step2(m, d);
    mj_step1(m, d);
  }
}

StepResult MujocoEnv::step(std::span<const double> action, std::span<double> observation_out) {
  CS_CHECK_AS(ShapeError, static_cast<int>(action.size()) == model_->nu, spec_.name,
              ": action has ", action.size(), " elements, expected ", model_->nu);
  for (std::size_t i = 0; i < action.size(); ++i) {
    CS_CHECK_AS(NumericError, std::isfinite(action[i]), spec_.name, ": action[", i, "] is ",
                action[i], "; actions must be finite");
  }
  StepResult result;
  const int bad_before = data_->warning[mjWARN_BADQACC].number;
  advance(action, result);
  ++steps_;
  if (data_->warning[mjWARN_BADQACC].number != bad_before) {
    // MuJoCo reset an unstable simulation; the episode cannot continue meaningfully.
    result.info.set("physics_reset", 1.0);
    result.truncated = true;
  }
  if (steps_ >= spec_.max_episode_steps) result.truncated = true;
  observation(observation_out);
  return result;
}

double tolerance(double x, double lower, double upper, double margin, double value_at_margin,
                 const char* sigmoid) {
  CS_CHECK_AS(ConfigError, lower <= upper, "tolerance: lower bound above upper bound");
  CS_CHECK_AS(ConfigError, margin >= 0, "tolerance: margin must be non-negative");
  const std::string_view kind(sigmoid);
  CS_CHECK_AS(UnknownNameError, kind == "gaussian" || kind == "linear",
              "tolerance: unknown sigmoid '", kind, "' (gaussian, linear)");
  const bool in_bounds = lower <= x && x <= upper;
  if (margin == 0) return in_bounds ? 1.0 : 0.0;
  if (in_bounds) return 1.0;
  const double distance = (x < lower ? lower - x : x - upper) / margin;
  if (kind == "gaussian") {
    const double scale = std::sqrt(-2.0 * std::log(value_at_margin));
    return std::exp(-0.5 * (distance * scale) * (distance * scale));
  }
  const double scaled = distance * (1.0 - value_at_margin);
  return std::fabs(scaled) < 1.0 ? 1.0 - scaled : 0.0;
}

namespace {

// Layout of a saved MuJoCo state: a tag, the model's sizes, then raw doubles, then the steps
// taken and the generator's text form.
constexpr char kStateTag[] = "cs-mujoco-state-v2";

void append_doubles(std::string& out, const mjtNum* values, int count) {
  out.append(reinterpret_cast<const char*>(values), sizeof(mjtNum) * count);
}

}  // namespace

std::string MujocoEnv::save_state() const {
  const mjModel* m = model_.get();
  const mjData* d = data_.get();
  std::ostringstream header;
  header << kStateTag << ' ' << m->nq << ' ' << m->nv << ' ' << m->na << ' ' << m->nu << ' '
         << steps_ << '\n';
  std::string out = header.str();
  append_doubles(out, &d->time, 1);
  append_doubles(out, d->qpos, m->nq);
  append_doubles(out, d->qvel, m->nv);
  append_doubles(out, d->act, m->na);
  append_doubles(out, d->ctrl, m->nu);
  append_doubles(out, d->qacc_warmstart, m->nv);
  // Body frames: mj_step leaves them at the pre-integration state, and tasks read them (Ant's
  // x_before), so they are restored as they were rather than recomputed.
  append_doubles(out, d->xpos, 3 * m->nbody);
  append_doubles(out, d->xquat, 4 * m->nbody);
  append_doubles(out, d->xmat, 9 * m->nbody);
  std::ostringstream rng;
  rng << rng_;
  out += rng.str();
  return out;
}

void MujocoEnv::load_state(std::string_view state) {
  const mjModel* m = model_.get();
  mjData* d = data_.get();
  const auto newline = state.find('\n');
  CS_CHECK_AS(FormatError, newline != std::string_view::npos, "saved state of '", spec_.name,
              "' has no header");
  std::istringstream header{std::string(state.substr(0, newline))};
  std::string tag;
  int nq = -1, nv = -1, na = -1, nu = -1, steps = -1;
  header >> tag >> nq >> nv >> na >> nu >> steps;
  CS_CHECK_AS(
      FormatError,
      tag == kStateTag && nq == m->nq && nv == m->nv && na == m->na && nu == m->nu && steps >= 0,
      "saved state does not fit environment '", spec_.name, "' (expected ", kStateTag,
      " with nq=", m->nq, " nv=", m->nv, ")");
  const std::size_t count =
      1 + 2 * static_cast<std::size_t>(nv) + nq + na + nu + 16 * static_cast<std::size_t>(m->nbody);
  const std::size_t bytes = count * sizeof(mjtNum);
  CS_CHECK_AS(FormatError, state.size() > newline + 1 + bytes, "saved state of '", spec_.name,
              "' is truncated");
  std::vector<mjtNum> values(count);
  std::memcpy(values.data(), state.data() + newline + 1, bytes);
  RngEngine rng;
  std::istringstream rng_text{std::string(state.substr(newline + 1 + bytes))};
  rng_text >> rng;
  CS_CHECK_AS(FormatError, !rng_text.fail(), "saved state of '", spec_.name,
              "' has a corrupt generator state");
  const mjtNum* p = values.data();
  d->time = *p++;
  std::copy_n(p, nq, d->qpos);
  p += nq;
  std::copy_n(p, nv, d->qvel);
  p += nv;
  std::copy_n(p, na, d->act);
  p += na;
  std::copy_n(p, nu, d->ctrl);
  p += nu;
  mj_forward(m, d);
  // mj_forward leaves the warm start alone in MuJoCo 2.2, but restore it last to be sure.
  std::copy_n(p, nv, d->qacc_warmstart);
  p += nv;
  std::copy_n(p, 3 * m->nbody, d->xpos);
  p += 3 * m->nbody;
  std::copy_n(p, 4 * m->nbody, d->xquat);
  p += 4 * m->nbody;
  std::copy_n(p, 9 * m->nbody, d->xmat);
  steps_ = steps;
  rng_ = rng;
}

}  // namespace clearsight::envs
