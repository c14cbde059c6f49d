#include "clearsight/nn/hook_point.h"

#include <algorithm>
#include <cctype>

#include "clearsight/core/error.h"

namespace clearsight::nn {

int HookPointImpl::add_hook(HookFn fn) {
  CS_CHECK_AS(ConfigError, static_cast<bool>(fn), "cannot attach an empty hook to '", name_, "'");
  hooks_.emplace_back(next_id_, std::move(fn));
  return next_id_++;
}

void HookPointImpl::remove_hook(int id) {
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(),
                              [id](const auto& entry) { return entry.first == id; }),
               hooks_.end());
}

torch::Tensor HookPointImpl::run_hooks(torch::Tensor x) {
  // Copy: a hook may remove itself (or others) while running.
  const auto hooks = hooks_;
  for (const auto& [id, fn] : hooks) {
    auto replacement = fn(x, name_);
    if (replacement) {
      CS_CHECK_AS(ShapeError, replacement->sizes() == x.sizes(), "hook on '", name_,
                  "' returned shape ", replacement->sizes(), " for an activation of shape ",
                  x.sizes());
      x = std::move(*replacement);
    }
  }
  return x;
}

NeuronRef NeuronRef::parse(const std::string& text) {
  const auto open = text.rfind('[');
  const bool shaped =
      open != std::string::npos && open > 0 && text.size() > open + 2 && text.back() == ']';
  CS_CHECK_AS(ConfigError, shaped, "neuron reference '", text,
              "' must look like blocks.3.mlp.hook_post[12]");
  const std::string digits = text.substr(open + 1, text.size() - open - 2);
  CS_CHECK_AS(
      ConfigError,
      !digits.empty() && digits.size() < 19 && std::all_of(digits.begin(), digits.end(), ::isdigit),
      "neuron reference '", text, "': index '", digits, "' is not a non-negative integer");
  return NeuronRef{text.substr(0, open), std::stoll(digits)};
}

std::string NeuronRef::to_string() const { return hook + "[" + std::to_string(index) + "]"; }

}  // namespace clearsight::nn
