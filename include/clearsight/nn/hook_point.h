// Hook points: identity modules through which every activation that matters flows, so that it
// can be observed or replaced by name (TransformerLens style, e.g. "blocks.3.mlp.hook_post").
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace clearsight::nn {

/// A hook: sees the activation and its hook name; returns a replacement or nullopt to observe.
using HookFn = std::function<std::optional<torch::Tensor>(const torch::Tensor& activation,
                                                          const std::string& hook_name)>;

/// An identity module that runs attached hooks; costs one branch when none is attached.
class HookPointImpl : public torch::nn::Module {
 public:
  /// Passes x through the attached hooks in attachment order (identity when none).
  torch::Tensor forward(torch::Tensor x) {
    if (hooks_.empty()) [[likely]]
      return x;
    return run_hooks(std::move(x));
  }
  /// Attaches a hook; returns its id for remove_hook.
  int add_hook(HookFn fn);
  /// Detaches the hook with this id (no-op if absent).
  void remove_hook(int id);
  /// Detaches every hook.
  void clear_hooks() { hooks_.clear(); }
  /// Number of attached hooks.
  std::size_t hook_count() const { return hooks_.size(); }
  /// The full name ("blocks.0.mlp.hook_post"), set by HookedModule::setup_hooks().
  const std::string& name() const { return name_; }
  /// Sets the full name.
  void set_name(std::string name) { name_ = std::move(name); }

 private:
  torch::Tensor run_hooks(torch::Tensor x);
  std::vector<std::pair<int, HookFn>> hooks_;
  int next_id_ = 0;
  std::string name_;
};
TORCH_MODULE(HookPoint);

/// A reference to one neuron: a hook name plus an index into its last dimension, written
/// "blocks.3.mlp.hook_post[12]".
struct NeuronRef {
  std::string hook;
  std::int64_t index = 0;

  /// Parses "name[index]"; throws ConfigError on malformed text.
  static NeuronRef parse(const std::string& text);
  /// "name[index]".
  std::string to_string() const;
  /// Equality.
  bool operator==(const NeuronRef&) const = default;
};

}  // namespace clearsight::nn
