// The environments in Python, as the raw object python/clearsight/envs.py wraps into a
// Gymnasium-style Env: numpy observations, step tuples, info dicts and offscreen rendering.
#include <torch/extension.h>

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings.h"
#include "clearsight/core/error.h"
#include "clearsight/envs/env.h"
#include "clearsight/envs/mujoco_env.h"
#include "clearsight/envs/pixel_env.h"
#include "clearsight/envs/render.h"

namespace py = pybind11;

namespace clearsight::python {

namespace {

using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// One environment, the renderer created on the first render() call.
class RawEnv {
 public:
  explicit RawEnv(const std::string& name) : env_(envs::make_mujoco_env(name)) {
    observation_.resize(static_cast<std::size_t>(env_->spec().observation_space.size()));
  }

  py::dict spec() const {
    const auto& s = env_->spec();
    const auto box = [](const envs::Box& b) {
      py::dict d;
      d["shape"] = py::tuple(py::cast(b.shape));
      d["low"] = b.low;
      d["high"] = b.high;
      return d;
    };
    py::dict d;
    d["name"] = s.name;
    d["description"] = s.description;
    d["observation_space"] = box(s.observation_space);
    d["action_space"] = box(s.action_space);
    d["dt"] = s.dt;
    d["frame_skip"] = s.frame_skip;
    d["max_episode_steps"] = s.max_episode_steps;
    d["reward_terms"] = s.reward_terms;
    return d;
  }

  py::array reset(std::uint64_t seed) {
    env_->reset(seed, observation_);
    started_ = true;
    return observation();
  }

  py::tuple step(const Array& action) {
    CS_CHECK_AS(RuntimeError, started_, "call reset() before step()");
    const auto& space = env_->spec().action_space;
    CS_CHECK_AS(ShapeError, action.size() == space.size(), "an action of ", space.size(),
                " values is expected, got ", action.size());
    const std::span<const double> a(action.data(), static_cast<std::size_t>(action.size()));
    for (const double v : a) {
      CS_CHECK_AS(NumericError, std::isfinite(v), "the action holds a non-finite value");
    }
    const auto r = env_->step(a, observation_);
    py::dict info;
    for (int i = 0; i < r.info.size(); ++i) info[r.info.name(i)] = r.info.value(i);
    info["elapsed_steps"] = env_->elapsed_steps();
    return py::make_tuple(observation(), r.reward, r.terminated, r.truncated, info);
  }

  py::array render(int width, int height, double distance, double azimuth, double elevation) {
    if (!renderer_ || renderer_->options().width != width ||
        renderer_->options().height != height) {
      envs::RenderOptions o;
      o.width = width;
      o.height = height;
      renderer_ = std::make_unique<envs::Renderer>(env_->model(), o);
    }
    py::array_t<std::uint8_t> rgb({height, width, 3});
    renderer_->render(env_->data(), envs::CameraPose{distance, azimuth, elevation},
                      env_->torso_body(),
                      std::span<std::uint8_t>(rgb.mutable_data(), renderer_->frame_bytes()));
    return rgb;
  }

  int elapsed_steps() const { return env_->elapsed_steps(); }
  py::bytes save_state() const { return py::bytes(env_->save_state()); }
  void load_state(const py::bytes& state) { env_->load_state(std::string(state)); }
  bool healthy() const { return env_->healthy(); }

 private:
  py::array observation() const {
    py::array_t<double> out(static_cast<py::ssize_t>(observation_.size()));
    std::copy(observation_.begin(), observation_.end(), out.mutable_data());
    return out;
  }

  std::unique_ptr<envs::MujocoEnv> env_;
  std::unique_ptr<envs::Renderer> renderer_;
  std::vector<double> observation_;
  bool started_ = false;
};

}  // namespace

void bind_envs(py::module_& root) {
  auto m = root.def_submodule("_envs", "Raw environments (use clearsight.envs.make)");
  m.def("names", &envs::env_names, "Every registered environment");
  m.def("description", &envs::env_description, py::arg("name"));
  py::class_<RawEnv>(m, "RawEnv")
      .def(py::init<const std::string&>(), py::arg("name"))
      .def("spec", &RawEnv::spec)
      .def("reset", &RawEnv::reset, py::arg("seed"))
      .def("step", &RawEnv::step, py::arg("action"))
      .def("render", &RawEnv::render, py::arg("width"), py::arg("height"), py::arg("distance"),
           py::arg("azimuth"), py::arg("elevation"))
      .def("elapsed_steps", &RawEnv::elapsed_steps)
      .def("healthy", &RawEnv::healthy)
      .def("save_state", &RawEnv::save_state)
      .def("load_state", &RawEnv::load_state, py::arg("state"));
}

}  // namespace clearsight::python
