// Imagination: rollouts of the RSSM's prior from posterior start states under a policy, and the
// lambda-returns (TD(lambda) targets) that actor and critic learn from.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

#include "clearsight/wm/rssm.h"

namespace clearsight::wm {

/// An imagined rollout of H steps from N start states, batch-first.
struct Imagination {
  /// States [N, H + 1, ...]: the start state, then one per imagined step.
  RssmState states;
  /// Actions [N, H, A] (a_t taken in state t).
  torch::Tensor actions;
  /// Policy entropy estimates [N, H] (-log pi(a_t | s_t)).
  torch::Tensor entropies;
  /// Conditions [N, H + 1, C] (undefined without conditions).
  torch::Tensor conditions;
  /// Features [N, H + 1, F] of states.
  torch::Tensor features() const { return states.features(); }
};

/// A policy for imagination: features [N, F] -> (action [N, A] with gradients, entropy [N]).
using ImaginationPolicy =
    std::function<std::pair<torch::Tensor, torch::Tensor>(const torch::Tensor&)>;

/// The next condition from the current one and the action (e.g. a camera pose moved by the
/// sensor part of the action); empty: the condition is held fixed.
using ConditionStep = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;

/// Rolls the prior forward horizon steps from start [N, ...] (detached by the caller when
/// needed), choosing actions by policy on detached features; conditions [N, C] or undefined.
Imagination imagine(Rssm& rssm, const RssmState& start, const ImaginationPolicy& policy,
                    std::int64_t horizon, const torch::Tensor& condition = {},
                    const ConditionStep& condition_step = {});

/// Lambda-returns over time dimension dim (T steps): R_t = r_t + d_t ((1 - lambda) v_t +
/// lambda R_{t+1}) with R_T = v_{T-1}, where rewards r_t and next_values v_t belong to the
/// state after step t and discounts d_t apply to it. All three have the same shape.
torch::Tensor lambda_returns(const torch::Tensor& rewards, const torch::Tensor& next_values,
                             const torch::Tensor& discounts, double lambda, std::int64_t dim = 1);

}  // namespace clearsight::wm
