// The explicit list of explain methods: one entry per `clearsight explain` subcommand, with its
// family in the survey's taxonomy (token, embedding, neuron, layer level).
#pragma once

#include <string>
#include <vector>

namespace clearsight::interp {

/// One explain method.
struct MethodInfo {
  /// Subcommand name ("ig", "knockout", ...).
  std::string name;
  /// Survey level: "token", "embedding", "layer".
  std::string level;
  /// One-line description shown in `clearsight explain --help`.
  std::string description;
};

/// Every explain method, in the order of the help text.
const std::vector<MethodInfo>& explain_methods();

/// The method of that name; throws UnknownNameError suggesting the nearest names.
const MethodInfo& find_method(const std::string& name);

}  // namespace clearsight::interp
