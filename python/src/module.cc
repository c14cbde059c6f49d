// The `clearsight._clearsight` extension: one registration function per part of the library
// (bindings.h), and ClearSight's error kinds as Python exceptions with the same messages.
#include <torch/extension.h>

#include "bindings.h"
#include "clearsight/core/error.h"
#include "clearsight/version.h"

namespace py = pybind11;

PYBIND11_MODULE(_clearsight, m) {
  m.doc() = "ClearSight: interpretability of multimodal models and imitation learning (C++ core)";
  m.attr("__version__") = clearsight::kVersion;
  // Error kinds, each a subclass of clearsight.Error and of the matching builtin.
  auto base = py::register_exception<clearsight::Error>(m, "Error", PyExc_RuntimeError);
  py::register_exception<clearsight::ConfigError>(m, "ConfigError", base.ptr());
  py::register_exception<clearsight::IoError>(m, "IoError", base.ptr());
  py::register_exception<clearsight::FormatError>(m, "FormatError", base.ptr());
  py::register_exception<clearsight::ShapeError>(m, "ShapeError", base.ptr());
  py::register_exception<clearsight::UnknownNameError>(m, "UnknownNameError", base.ptr());
  py::register_exception<clearsight::NumericError>(m, "NumericError", base.ptr());
  py::register_exception<clearsight::RuntimeError>(m, "RuntimeError", base.ptr());
  clearsight::python::bind_models(m);
  clearsight::python::bind_miner(m);
  clearsight::python::bind_explain(m);
  clearsight::python::bind_envs(m);
  clearsight::python::bind_learning(m);
}
