// The model object the Python module hands out, and sample conversions shared by the bindings.
#pragma once

#include <torch/extension.h>

#include <memory>
#include <string>
#include <vector>

#include "clearsight/mm/data.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/tokenizer.h"

namespace clearsight::python {

/// A loaded model with its tokenizer.
struct Model {
  std::shared_ptr<mm::MultimodalModel> model;
  mm::Tokenizer tokenizer;
  std::string name;
  /// The right-padded batch of samples (answers appended when with_answers).
  mm::Batch batch(const std::vector<mm::Sample>& samples, bool with_answers) const;
};

/// A sample from a prompt string or a dict (prompt, answer, image, video, audio).
mm::Sample sample_from_python(const pybind11::handle& obj);
/// Samples from one sample or a list of them.
std::vector<mm::Sample> samples_from_python(const pybind11::handle& obj);
/// A sample as a dict.
pybind11::dict sample_to_dict(const mm::Sample& s);

}  // namespace clearsight::python
