#include "clearsight/nn/hooked_module.h"

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::nn {

void ActivationCache::add(const std::string& name, torch::Tensor value) {
  auto it = index_.find(name);
  if (it != index_.end()) {
    values_[it->second] = std::move(value);
    calls_[it->second] += 1;
    return;
  }
  index_.emplace(name, names_.size());
  names_.push_back(name);
  values_.push_back(std::move(value));
  calls_.push_back(1);
}

const torch::Tensor& ActivationCache::operator[](const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) {
    const std::string hint = did_you_mean(name, names_);
    CS_THROW(UnknownNameError, "activation cache has no '", name, "'",
             hint.empty() ? "" : "; " + hint, " (", names_.size(), " names recorded)");
  }
  return values_[it->second];
}

int ActivationCache::calls(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? 0 : calls_[it->second];
}

std::int64_t ActivationCache::bytes() const {
  std::int64_t total = 0;
  for (const auto& v : values_) total += v.numel() * v.element_size();
  return total;
}

torch::Tensor ActivationCache::stack(const std::string& prefix, const std::string& suffix) const {
  std::vector<torch::Tensor> layers;
  for (int i = 0;; ++i) {
    const std::string name = prefix + std::to_string(i) + "." + suffix;
    if (!contains(name)) break;
    layers.push_back((*this)[name]);
  }
  CS_CHECK_AS(UnknownNameError, !layers.empty(), "activation cache has no '", prefix, "0.", suffix,
              "'");
  return torch::stack(layers);
}

HookHandle& HookHandle::operator=(HookHandle&& other) noexcept {
  if (this != &other) {
    reset();
    point_ = std::move(other.point_);
    id_ = other.id_;
    other.id_ = -1;
  }
  return *this;
}

void HookHandle::reset() {
  if (point_ && id_ >= 0) point_->remove_hook(id_);
  point_.reset();
  id_ = -1;
}

NameFilter ends_with(std::string suffix) {
  return [suffix = std::move(suffix)](const std::string& name) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
}

void HookedModule::setup_hooks() {
  hook_names_.clear();
  points_.clear();
  for (const auto& item : named_modules("", /*include_self=*/false)) {
    auto point = std::dynamic_pointer_cast<HookPointImpl>(item.value());
    if (!point) continue;
    point->set_name(item.key());
    hook_names_.push_back(item.key());
    points_.emplace(item.key(), point);
  }
}

std::shared_ptr<HookPointImpl> HookedModule::hook_point(const std::string& name) const {
  auto it = points_.find(name);
  if (it == points_.end()) {
    const std::string hint = did_you_mean(name, hook_names_);
    CS_THROW(UnknownNameError, "model has no hook point '", name, "'",
             hint.empty() ? "" : "; " + hint, " (", hook_names_.size(), " hook points)");
  }
  return it->second;
}

HookHandle HookedModule::add_hook(const std::string& name, HookFn fn) {
  auto point = hook_point(name);
  const int id = point->add_hook(std::move(fn));
  return HookHandle(point, id);
}

std::vector<HookHandle> HookedModule::add_hooks(const NameFilter& filter, HookFn fn) {
  std::vector<HookHandle> handles;
  for (const auto& name : hook_names_) {
    if (filter(name)) handles.push_back(add_hook(name, fn));
  }
  return handles;
}

void HookedModule::reset_hooks() {
  for (auto& [name, point] : points_) point->clear_hooks();
}

}  // namespace clearsight::nn
