#include "clearsight/wm/imagination.h"

#include <vector>

#include "clearsight/core/error.h"

namespace clearsight::wm {

Imagination imagine(Rssm& rssm, const RssmState& start, const ImaginationPolicy& policy,
                    std::int64_t horizon, const torch::Tensor& condition,
                    const ConditionStep& condition_step) {
  CS_CHECK_AS(ConfigError, horizon >= 1, "the imagination horizon must be >= 1, got ", horizon);
  std::vector<RssmState> states{start};
  std::vector<torch::Tensor> actions, entropies, conditions;
  RssmState state = start;
  torch::Tensor c = condition;
  if (c.defined()) conditions.push_back(c);
  for (std::int64_t t = 0; t < horizon; ++t) {
    auto [action, entropy] = policy(state.features().detach());
    if (c.defined() && condition_step) c = condition_step(c, action);
    state = rssm->img_step(state, action, c);
    states.push_back(state);
    actions.push_back(action);
    entropies.push_back(entropy);
    if (c.defined()) conditions.push_back(c);
  }
  Imagination out;
  out.states = RssmState::stack(states);
  out.actions = torch::stack(actions, 1);
  out.entropies = torch::stack(entropies, 1);
  if (!conditions.empty()) out.conditions = torch::stack(conditions, 1);
  return out;
}

torch::Tensor lambda_returns(const torch::Tensor& rewards, const torch::Tensor& next_values,
                             const torch::Tensor& discounts, double lambda, std::int64_t dim) {
  CS_CHECK_AS(ShapeError,
              rewards.sizes() == next_values.sizes() && rewards.sizes() == discounts.sizes(),
              "lambda_returns: rewards ", rewards.sizes(), ", values ", next_values.sizes(),
              " and discounts ", discounts.sizes(), " must have one shape");
  const auto steps = rewards.size(dim);
  std::vector<torch::Tensor> out(static_cast<std::size_t>(steps));
  torch::Tensor next = next_values.select(dim, steps - 1);
  for (std::int64_t t = steps - 1; t >= 0; --t) {
    const auto r = rewards.select(dim, t), v = next_values.select(dim, t),
               d = discounts.select(dim, t);
    next = r + d * ((1.0 - lambda) * v + lambda * next);
    out[static_cast<std::size_t>(t)] = next;
  }
  return torch::stack(out, dim);
}

}  // namespace clearsight::wm
