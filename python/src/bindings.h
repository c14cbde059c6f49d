// Registration of each part of the library in the Python module, and the conversions they share.
#pragma once

#include <torch/extension.h>

#include <nlohmann/json.hpp>

namespace clearsight::python {

/// Models: loading, hooks (run_with_cache, run_with_hooks), generation, task samples.
void bind_models(pybind11::module_& m);
/// MINER's stages: score, merge, select, deactivate, evaluate.
void bind_miner(pybind11::module_& m);
/// The explain toolbox's methods (attribution, patching, logit lens).
void bind_explain(pybind11::module_& m);
/// Environments with Gymnasium's reset/step/render conventions.
void bind_envs(pybind11::module_& m);
/// Demonstration files, policies and the training entry points.
void bind_learning(pybind11::module_& m);

/// A JSON document as Python objects (through the json module: dicts, lists, numbers).
pybind11::object to_python(const nlohmann::json& value);

}  // namespace clearsight::python
