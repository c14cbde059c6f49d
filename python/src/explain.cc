// The explain toolbox in Python: each method runs exactly as its `clearsight explain` subcommand
// (same options, same run folder with result.json and the report) and returns the result dict.
#include <torch/extension.h>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bindings.h"
#include "clearsight/interp/attribution.h"
#include "clearsight/interp/examples.h"
#include "clearsight/interp/knockout.h"
#include "clearsight/interp/lens.h"
#include "clearsight/interp/patching.h"
#include "clearsight/interp/perturbation.h"
#include "clearsight/interp/probe.h"
#include "clearsight/interp/sae.h"
#include "clearsight/interp/steering.h"
#include "models.h"

namespace py = pybind11;

namespace clearsight::python {

namespace {

interp::SampleSelection selection(const std::string& task, const std::string& split,
                                  std::int64_t first, std::int64_t count) {
  interp::SampleSelection s;
  s.task = task;
  s.split = split;
  s.first = first;
  s.count = count;
  return s;
}

// Runs a method with the GIL released and returns its result JSON as Python objects.
template <typename Run>
py::object run_method(Run&& run) {
  nlohmann::json result;
  {
    py::gil_scoped_release release;
    result = run();
  }
  return to_python(result);
}

// "first", "answer" or "token:WORD", as the CLI's --target.
interp::Target target(const std::string& text) {
  interp::Target t;
  const auto colon = text.find(':');
  t.kind = text.substr(0, colon);
  if (colon != std::string::npos) t.token = text.substr(colon + 1);
  return t;
}

}  // namespace

void bind_explain(py::module_& root) {
  auto m = root.def_submodule("explain", "The explain toolbox (clearsight explain ...)");
  m.def(
      "attribution",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& task, const std::string& split, std::int64_t first, std::int64_t count,
         const std::string& method, int steps, const std::string& rule,
         const std::vector<std::string>& modalities) {
        interp::AttributionOptions o;
        o.method = method;
        o.steps = steps;
        o.rule = rule;
        o.modalities = modalities;
        interp::validate(o);
        const auto s = selection(task, split, first, count);
        return run_method([&] {
          return interp::run_attribution({*model->model, model->tokenizer, model->name}, s,
                                         interp::Target{}, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("task") = "scene_vqa", py::arg("split") = "test",
      py::arg("first") = 0, py::arg("count") = 1, py::arg("method") = "ig", py::arg("steps") = 64,
      py::arg("rule") = "gauss-legendre", py::arg("modalities") = std::vector<std::string>{},
      "explain ig / saliency / input-x-gradient of the answer's log-probability: attributions per "
      "token, patch and frame, with the completeness check; writes out/ (result.json, report) "
      "and returns the result");
  m.def(
      "patch",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& task, const std::string& split, std::int64_t first, std::int64_t count,
         const std::string& corrupt, const std::vector<std::string>& components,
         const std::string& metric, bool attribution) {
        interp::PatchOptions o;
        o.corrupt = corrupt;
        o.components = components;
        o.metric = metric;
        o.attribution = attribution;
        o.progress = false;
        const auto s = selection(task, split, first, count);
        return run_method([&] {
          return interp::run_patching({*model->model, model->tokenizer, model->name}, s, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("task") = "scene_vqa", py::arg("split") = "test",
      py::arg("first") = 0, py::arg("count") = 8, py::arg("corrupt") = "blank",
      py::arg("components") = std::vector<std::string>{"resid_pre", "attn_out", "mlp_out", "heads"},
      py::arg("metric") = "logit_diff", py::arg("attribution") = true,
      "explain patch: activation (and attribution) patching per layer x position / head");
  m.def(
      "logit_lens",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& task, const std::string& split, std::int64_t first, std::int64_t count,
         const std::vector<std::string>& positions, std::int64_t top_k) {
        interp::LensOptions o;
        o.positions = positions;
        o.top_k = top_k;
        const auto s = selection(task, split, first, count);
        return run_method([&] {
          return interp::run_logit_lens({*model->model, model->tokenizer, model->name}, s, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("task") = "scene_vqa", py::arg("split") = "test",
      py::arg("first") = 0, py::arg("count") = 1,
      py::arg("positions") = std::vector<std::string>{"last"}, py::arg("top_k") = 5,
      "explain logit-lens: per-layer top tokens, answer probability and KL at chosen positions");
  m.def(
      "knockout",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& task, const std::string& split, std::int64_t first, std::int64_t count,
         const std::vector<std::string>& edges, std::int64_t window, const std::string& target_) {
        interp::KnockoutOptions o;
        o.edge_sets = edges;
        o.window = window;
        o.target = target(target_);
        o.progress = false;
        const auto s = selection(task, split, first, count);
        return run_method([&] {
          return interp::run_knockout({*model->model, model->tokenizer, model->name}, s, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("task") = "scene_vqa", py::arg("split") = "test",
      py::arg("first") = 0, py::arg("count") = 20, py::arg("edges") = std::vector<std::string>{},
      py::arg("window") = 1, py::arg("target") = "first",
      "explain knockout: attention knockout of edge sets (SRC-TGT, several joined by ','), per "
      "window of layers; the answer probability clean and knocked out");
  m.def(
      "shapley",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& task, const std::string& split, std::int64_t first, std::int64_t count,
         const std::vector<std::string>& players, const std::string& value,
         const std::string& target_) {
        interp::ShapleyOptions o;
        o.players = players;
        o.value = value;
        const auto s = selection(task, split, first, count);
        return run_method([&] {
          return interp::run_shapley({*model->model, model->tokenizer, model->name}, s,
                                     target(target_), o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("task") = "scene_vqa", py::arg("split") = "test",
      py::arg("first") = 0, py::arg("count") = 20, py::arg("players") = std::vector<std::string>{},
      py::arg("value") = "prob", py::arg("target") = "answer",
      "explain shapley: exact Shapley values of the modalities (question, image, audio...)");
  m.def(
      "steer",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& task, const std::string& positive, const std::string& negative,
         std::int64_t pairs, const std::string& vector, const std::vector<std::int64_t>& layers,
         const std::vector<double>& scales, std::int64_t eval_samples) {
        interp::SteeringOptions o;
        o.task = task;
        o.positive = positive;
        o.negative = negative;
        o.pairs = pairs;
        o.method = vector;
        o.layers = layers;
        o.scales = scales;
        o.eval_samples = eval_samples;
        o.progress = false;
        return run_method([&] {
          return interp::run_steering({*model->model, model->tokenizer, model->name}, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("task") = "scene_vqa",
      py::arg("positive") = "answer=red", py::arg("negative") = "answer=blue",
      py::arg("pairs") = 32, py::arg("vector") = "mean",
      py::arg("layers") = std::vector<std::int64_t>{1},
      py::arg("scales") = std::vector<double>{-4, -2, -1, 1, 2, 4}, py::arg("eval_samples") = 100,
      "explain steer: a steering vector from positive and negative prompts, the task evaluated "
      "at each scale");
  m.def(
      "probe",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& label, const std::vector<std::string>& tasks,
         const std::vector<std::string>& hooks, std::int64_t train_samples,
         std::int64_t test_samples) {
        interp::ProbeOptions o;
        o.label = label;
        o.tasks = tasks;
        o.hooks = hooks;
        o.train_samples = train_samples;
        o.test_samples = test_samples;
        o.progress = false;
        return run_method([&] {
          return interp::run_probe({*model->model, model->tokenizer, model->name}, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("label") = "modality",
      py::arg("tasks") = std::vector<std::string>{}, py::arg("hooks") = std::vector<std::string>{},
      py::arg("train_samples") = 96, py::arg("test_samples") = 48,
      "explain probe: linear probes per hook for the modality (or the answer), held-out accuracy");

  auto sae = root.def_submodule("sae", "Sparse autoencoders (clearsight sae ...)");
  sae.def(
      "train",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& out,
         const std::string& hook, std::int64_t features, const std::string& architecture,
         std::int64_t k, std::int64_t steps, const std::string& task, std::int64_t eval_samples,
         std::uint64_t seed) {
        interp::SaeTrainOptions o;
        o.hook = hook;
        o.features = features;
        o.architecture = architecture;
        o.k = k;
        o.steps = steps;
        o.task = task;
        o.eval_samples = eval_samples;
        o.seed = seed;
        o.progress = false;
        return run_method([&] {
          return interp::train_sae({*model->model, model->tokenizer, model->name}, o, out);
        });
      },
      py::arg("model"), py::arg("out"), py::arg("hook") = "blocks.1.hook_resid_post",
      py::arg("features") = 512, py::arg("architecture") = "standard", py::arg("k") = 32,
      py::arg("steps") = 500, py::arg("task") = "scene_vqa", py::arg("eval_samples") = 32,
      py::arg("seed") = 0,
      "sae train: an SAE on a hook, saved as a SAELens folder (cfg.json, sae_weights.safetensors) "
      "with metrics, spliced losses and feature dashboards; returns the result");
  sae.def(
      "evaluate",
      [](const std::shared_ptr<Model>& model, const std::filesystem::path& folder,
         const std::string& task, std::int64_t eval_samples, bool any_model) {
        const auto loaded = interp::load_saelens(folder);
        if (!any_model) interp::check_sae_model(loaded, model->name);
        return run_method([&] {
          auto result = interp::evaluation_json(interp::evaluate_sae(
              {*model->model, model->tokenizer, model->name}, loaded, task, eval_samples));
          result["sae"] = folder.string();
          result["hook"] = loaded.config.hook_name;
          result["features"] = loaded.config.d_sae;
          return result;
        });
      },
      py::arg("model"), py::arg("sae"), py::arg("task") = "scene_vqa", py::arg("eval_samples") = 32,
      py::arg("any_model") = false,
      "sae eval: an SAELens folder's metrics and spliced loss on a task's validation samples");
}

}  // namespace clearsight::python
