// A module whose hook points are addressable by name, with scoped hooks, run_with_hooks and
// run_with_cache.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/nn/hook_point.h"

namespace clearsight::nn {

/// Activations recorded by run_with_cache, in the order they were produced.
class ActivationCache {
 public:
  /// Records an activation (a later one of the same name replaces the earlier value, keeping its
  /// position; calls() counts both).
  void add(const std::string& name, torch::Tensor value);
  /// Whether name was recorded.
  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  /// The activation recorded under name; throws UnknownNameError listing recorded names.
  const torch::Tensor& operator[](const std::string& name) const;
  /// Names in recording order.
  const std::vector<std::string>& names() const { return names_; }
  /// How many times name was recorded.
  int calls(const std::string& name) const;
  /// Number of recorded names.
  std::size_t size() const { return names_.size(); }
  /// Total bytes held.
  std::int64_t bytes() const;
  /// Stacks the named activations of every layer matching "<prefix>{i}.<suffix>" along dim 0
  /// (e.g. prefix "blocks.", suffix "mlp.hook_post").
  torch::Tensor stack(const std::string& prefix, const std::string& suffix) const;

 private:
  std::vector<std::string> names_;
  std::map<std::string, std::size_t> index_;
  std::vector<torch::Tensor> values_;
  std::vector<int> calls_;
};

/// Removes its hook when destroyed (or on reset()).
class HookHandle {
 public:
  HookHandle() = default;
  /// Holds hook id on point.
  HookHandle(std::shared_ptr<HookPointImpl> point, int id) : point_(std::move(point)), id_(id) {}
  ~HookHandle() { reset(); }
  HookHandle(HookHandle&& other) noexcept { *this = std::move(other); }
  /// Move-assigns, removing any hook held before.
  HookHandle& operator=(HookHandle&& other) noexcept;
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;
  /// Removes the hook now.
  void reset();

 private:
  std::shared_ptr<HookPointImpl> point_;
  int id_ = -1;
};

/// A name filter for run_with_cache and add_hooks.
using NameFilter = std::function<bool(const std::string&)>;

/// A filter accepting names that end with suffix (e.g. "mlp.hook_post").
NameFilter ends_with(std::string suffix);

/// Base class of models with hook points: call setup_hooks() at the end of the constructor.
class HookedModule : public torch::nn::Module {
 public:
  /// Finds every HookPoint below this module and names it by its module path.
  void setup_hooks();
  /// Every hook name in module order.
  const std::vector<std::string>& hook_names() const { return hook_names_; }
  /// Whether a hook point of that name exists.
  bool has_hook(const std::string& name) const { return points_.count(name) > 0; }
  /// The hook point by name; throws UnknownNameError suggesting the nearest names.
  std::shared_ptr<HookPointImpl> hook_point(const std::string& name) const;
  /// Attaches fn to one hook point; the hook lives as long as the returned handle.
  [[nodiscard]] HookHandle add_hook(const std::string& name, HookFn fn);
  /// Attaches fn to every hook point whose name passes filter.
  [[nodiscard]] std::vector<HookHandle> add_hooks(const NameFilter& filter, HookFn fn);
  /// Detaches every hook of every point.
  void reset_hooks();

  /// Runs fn with the given (name, hook) pairs attached, removing them afterwards (also on error).
  template <typename Fn>
  auto run_with_hooks(const std::vector<std::pair<std::string, HookFn>>& hooks, Fn&& fn) {
    std::vector<HookHandle> handles;
    handles.reserve(hooks.size());
    for (const auto& [name, hook] : hooks) handles.push_back(add_hook(name, hook));
    return fn();
  }

  /// Runs fn while recording every activation whose hook name passes filter (all when empty);
  /// returns fn's result and the cache. Activations are detached (no autograd history) unless
  /// keep_grad.
  template <typename Fn>
  auto run_with_cache(Fn&& fn, const NameFilter& filter = nullptr, bool keep_grad = false) {
    ActivationCache cache;
    auto handles = add_hooks(
        filter ? filter : [](const std::string&) { return true; },
        [&cache, keep_grad](const torch::Tensor& x,
                            const std::string& name) -> std::optional<torch::Tensor> {
          cache.add(name, keep_grad ? x : x.detach());
          return std::nullopt;
        });
    auto result = fn();
    return std::make_pair(std::move(result), std::move(cache));
  }

 private:
  std::vector<std::string> hook_names_;
  std::map<std::string, std::shared_ptr<HookPointImpl>> points_;
};

}  // namespace clearsight::nn
