// Ablation studies as one API: zero, mean, minimum or resample ablation of any set of units of
// any hook (MLP neurons, attention heads, SAE features through an SAE's feature hook), the
// complementary set, and optionally only some positions. MINER's deactivation is a client.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/nn/hooked_module.h"

namespace clearsight::nn {

/// The ablation values.
const std::vector<std::string>& ablation_value_names();

/// The units of one hook that are ablated: the entries of its activation's dimension `unit_dim`
/// where `units` is true.
struct AblationTarget {
  /// Hook name ("blocks.2.mlp.hook_post", "blocks.1.attn.hook_z").
  std::string hook;
  /// [n] bool over the unit dimension.
  torch::Tensor units;
  /// The unit dimension of the activation (-1: the last, neurons; 1: the heads of hook_z).
  std::int64_t unit_dim = -1;
  /// The position dimension (1 for [B, L, d]; 2 for hook_z [B, H, L, D]).
  std::int64_t position_dim = 1;
  /// "mean": each unit's value, shaped like the activation without its batch and position dims
  /// ([d] or [H, D]). "resample": a pool [S, ...] of such rows from other inputs, one drawn per
  /// (batch row, position).
  torch::Tensor reference;
};

/// How the targets are ablated.
struct AblationOptions {
  /// "zero", "mean" (AblationTarget::reference), "min" (the minimum of the whole activation) or
  /// "resample" (rows of AblationTarget::reference).
  std::string value = "zero";
  /// Ablate every unit of each target's hook except the chosen ones.
  bool complementary = false;
  /// When set, only these positions [B, L] (bool) are ablated, in the forward passes whose
  /// batch and length match (a prompt's prefill); other passes (generation steps) are left as
  /// they are. The caller may change the tensor between passes.
  std::shared_ptr<torch::Tensor> positions;
  /// Seed of the resample draws (advanced at every pass).
  std::uint64_t seed = 0;
};

/// Attaches hooks that ablate the targets on every forward pass while the handles live. An
/// empty unit set (and no complementary) attaches nothing: the identity. Throws UnknownNameError
/// for an unknown value or hook and ShapeError when units or references do not fit.
std::vector<HookHandle> ablate(HookedModule& model, const std::vector<AblationTarget>& targets,
                               const AblationOptions& options);

/// The ablated activation of one hook (what ablate's hooks return); generator for resample.
torch::Tensor ablate_activation(const torch::Tensor& x, const AblationTarget& target,
                                const AblationOptions& options, at::Generator* generator);

}  // namespace clearsight::nn
