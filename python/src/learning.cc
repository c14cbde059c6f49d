// Learning in Python: demonstration files as tensors (python/clearsight/demos.py turns them into
// D4RL-style numpy dicts), policies that act, and the rl / imitate / bc training entry points
// (python/clearsight/train.py reads their run folders).
#include <torch/extension.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <string>

#include "bindings.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"
#include "clearsight/il/bc.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/imitate.h"
#include "clearsight/rl/policy.h"
#include "clearsight/rl/trainer.h"

namespace py = pybind11;

namespace clearsight::python {

namespace {

py::dict demos_to_dict(const il::DemoDataset& d) {
  py::dict out;
  out["observations"] = d.observations;
  out["actions"] = d.actions;
  out["rewards"] = d.rewards;
  out["next_observations"] = d.next_observations;
  out["terminals"] = d.terminals;
  out["timeouts"] = d.timeouts;
  if (d.has_images()) {
    out["images"] = d.images;
    out["camera_poses"] = d.camera_poses;
    for (std::int64_t k = 1; k < d.view_count(); ++k) {
      out[py::str("images/" + d.view_name(k))] = d.view_images(k);
      out[py::str("camera_poses/" + d.view_name(k))] = d.view_camera_poses(k);
    }
  }
  return out;
}

// The outcome of a training entry point as a dict.
py::dict outcome(std::int64_t steps, bool finished, double last, double best) {
  py::dict d;
  d["steps"] = steps;
  d["finished"] = finished;
  d["last_eval_return"] = last;
  d["best_eval_return"] = best;
  return d;
}

config::Json parse_config(const std::string& text) {
  try {
    return config::Json::parse(text);
  } catch (const config::Json::exception& e) {
    throw ConfigError(std::string("the training settings are not JSON: ") + e.what());
  }
}

}  // namespace

void bind_learning(py::module_& root) {
  auto m = root.def_submodule("_learning",
                              "Raw learning entry points (use clearsight.demos, "
                              "clearsight.rl, clearsight.imitate)");
  m.def(
      "load_demos",
      [](const std::filesystem::path& path, const std::string& env) {
        const auto d = il::load_demos(path, env);
        return py::make_tuple(demos_to_dict(d), to_python(il::demo_summary(d)));
      },
      py::arg("path"), py::arg("env") = "",
      "(tensors by D4RL key, summary dict) of a demonstration file");

  m.def(
      "collect_demos",
      [](const std::string& expert, const std::string& env, const std::filesystem::path& out,
         int episodes, std::uint64_t seed, const std::string& noise, int max_steps, int pixels) {
        il::CollectOptions o;
        o.episodes = episodes;
        o.seed = seed;
        o.noise = il::NoiseSpec::parse(noise);
        o.max_steps = max_steps;
        o.pixel_width = pixels;
        o.expert_name = expert;
        o.progress = false;
        std::unique_ptr<rl::Policy> policy;
        if (expert == "random") {
          CS_CHECK_AS(ConfigError, !env.empty(), "a random expert needs env");
          policy = rl::make_random_policy(env);
        } else {
          policy = rl::load_policy(expert);
        }
        const auto name = env.empty() ? policy->env_name() : env;
        nlohmann::json summary;
        {
          py::gil_scoped_release release;
          const auto d = il::collect_demos(*policy, name, o);
          il::save_demos(out, d);
          summary = il::demo_summary(d);
        }
        return to_python(summary);
      },
      py::arg("expert"), py::arg("env"), py::arg("out"), py::arg("episodes"), py::arg("seed"),
      py::arg("noise"), py::arg("max_steps"), py::arg("pixels"),
      "Rolls an expert (policy folder or 'random') out and writes an HDF5 file; its summary");

  py::class_<rl::Policy, std::shared_ptr<rl::Policy>>(m, "Policy", "A trained policy")
      .def_property_readonly("env", &rl::Policy::env_name)
      .def_property_readonly("observation_size", &rl::Policy::observation_size)
      .def_property_readonly("action_size", &rl::Policy::action_size)
      .def_property_readonly("info", [](const rl::Policy& p) { return to_python(p.info()); })
      .def(
          "act_batch",
          [](rl::Policy& p, const torch::Tensor& obs, bool deterministic) {
            CS_CHECK_AS(ShapeError, obs.dim() == 2 && obs.size(1) == p.observation_size(),
                        "observations [N, ", p.observation_size(), "] are expected, got ",
                        obs.sizes());
            torch::NoGradGuard no_grad;
            return p.act_batch(obs.to(torch::kFloat32).contiguous(), deterministic);
          },
          py::arg("observations"), py::arg("deterministic") = true,
          "Actions [N, act] in [-1, 1] for raw observations [N, obs]");
  m.def(
      "load_policy",
      [](const std::filesystem::path& dir) {
        return std::shared_ptr<rl::Policy>(rl::load_policy(dir));
      },
      py::arg("dir"), "A policy folder (policy/ or best/ of a run)");

  m.def(
      "train_rl",
      [](const std::string& settings, const std::filesystem::path& run_dir) {
        auto cfg = config::from_json<rl::RlTrainConfig>(parse_config(settings), "rl");
        cfg.progress = false;
        seed_everything(cfg.seed);
        rl::RlTrainResult r;
        {
          py::gil_scoped_release release;
          r = rl::train_rl(cfg, run_dir);
        }
        return outcome(r.steps, r.finished, r.last_eval_return, r.best_eval_return);
      },
      py::arg("settings"), py::arg("run_dir"));
  m.def(
      "imitate",
      [](const std::string& settings, const std::filesystem::path& run_dir) {
        const auto cfg = config::from_json<il::ImitateConfig>(parse_config(settings), "imitate");
        seed_everything(cfg.seed);
        il::ImitateResult r;
        {
          py::gil_scoped_release release;
          r = il::imitate(cfg, run_dir);
        }
        return outcome(r.steps, r.finished, r.last_eval_return, r.best_eval_return);
      },
      py::arg("settings"), py::arg("run_dir"));
  m.def(
      "train_bc",
      [](const std::filesystem::path& demos, const std::string& settings,
         const std::filesystem::path& run_dir) {
        const auto cfg = config::from_json<il::BcConfig>(parse_config(settings), "bc");
        const auto data = il::load_demos(demos);
        il::BcResult r;
        {
          py::gil_scoped_release release;
          r = il::train_bc(data, cfg, run_dir);
        }
        auto d = outcome(r.steps, true, r.final_eval_return, r.best_eval_return);
        d["final_validation_nll"] = r.final_validation_nll;
        d["final_validation_mse"] = r.final_validation_mse;
        return d;
      },
      py::arg("demos"), py::arg("settings"), py::arg("run_dir"));
}

}  // namespace clearsight::python
