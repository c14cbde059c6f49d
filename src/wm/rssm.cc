#include "clearsight/wm/rssm.h"

#include "clearsight/core/error.h"

namespace clearsight::wm {
namespace {

using torch::indexing::Slice;

torch::Tensor apply(const torch::Tensor& x,
                    const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  return x.defined() ? f(x) : x;
}

RssmState map_state(const RssmState& s,
                    const std::function<torch::Tensor(const torch::Tensor&)>& f) {
  return {apply(s.deter, f), apply(s.stoch, f), apply(s.mean, f), apply(s.std, f),
          apply(s.logits, f)};
}

torch::Tensor stack_field(const std::vector<RssmState>& steps, torch::Tensor RssmState::*field) {
  if (!(steps.front().*field).defined()) return {};
  std::vector<torch::Tensor> parts;
  parts.reserve(steps.size());
  for (const auto& s : steps) parts.push_back(s.*field);
  return torch::stack(parts, 1);
}

}  // namespace

torch::Tensor RssmState::features() const { return torch::cat({deter, stoch}, -1); }

RssmState RssmState::detach() const {
  return map_state(*this, [](const torch::Tensor& t) { return t.detach(); });
}

RssmState RssmState::flatten_time() const {
  return map_state(*this, [](const torch::Tensor& t) { return t.flatten(0, 1); });
}

RssmState RssmState::narrow_batch(std::int64_t start, std::int64_t n) const {
  return map_state(*this, [start, n](const torch::Tensor& x) { return x.narrow(0, start, n); });
}

RssmState RssmState::at(std::int64_t t) const {
  return map_state(*this, [t](const torch::Tensor& x) { return x.select(1, t); });
}

RssmState RssmState::stack(const std::vector<RssmState>& steps) {
  CS_CHECK(!steps.empty(), "RssmState::stack needs at least one step");
  return {stack_field(steps, &RssmState::deter), stack_field(steps, &RssmState::stoch),
          stack_field(steps, &RssmState::mean), stack_field(steps, &RssmState::std),
          stack_field(steps, &RssmState::logits)};
}

RssmImpl::RssmImpl(RssmOptions options) : options_(options) {
  const auto& o = options_;
  CS_CHECK_AS(ConfigError,
              o.deter > 0 && o.stoch > 0 && o.hidden > 0 && o.embed > 0 && o.action_size > 0 &&
                  o.condition_size >= 0 && o.discrete >= 0,
              "RSSM sizes must be positive (deter ", o.deter, ", stoch ", o.stoch, ", hidden ",
              o.hidden, ", embed ", o.embed, ", action ", o.action_size, ", condition ",
              o.condition_size, ", discrete ", o.discrete, ")");
  CS_CHECK_AS(ConfigError, o.discrete != 1, "discrete must be 0 (Gaussian) or >= 2 classes");
  stoch_size_ = o.discrete > 0 ? o.stoch * o.discrete : o.stoch;
  const std::int64_t dist_size = o.discrete > 0 ? o.stoch * o.discrete : 2 * o.stoch;
  img_in_ = register_module(
      "img_in", torch::nn::Linear(stoch_size_ + o.action_size + o.condition_size, o.hidden));
  cell_ = register_module("cell", torch::nn::GRUCell(o.hidden, o.deter));
  img_out_ = register_module("img_out", torch::nn::Linear(o.deter, o.hidden));
  img_dist_ = register_module("img_dist", torch::nn::Linear(o.hidden, dist_size));
  obs_out_ = register_module("obs_out", torch::nn::Linear(o.deter + o.embed, o.hidden));
  obs_dist_ = register_module("obs_dist", torch::nn::Linear(o.hidden, dist_size));
}

RssmState RssmImpl::initial(std::int64_t n) const {
  RssmState s;
  s.deter = torch::zeros({n, options_.deter});
  s.stoch = torch::zeros({n, stoch_size_});
  if (options_.discrete > 0) {
    s.logits = torch::zeros({n, options_.stoch, options_.discrete});
  } else {
    s.mean = torch::zeros({n, options_.stoch});
    s.std = torch::ones({n, options_.stoch});
  }
  return s;
}

std::int64_t RssmImpl::feature_size() const { return options_.deter + stoch_size_; }

RssmState RssmImpl::distribution(const torch::Tensor& deter, const torch::Tensor& raw,
                                 bool sample) const {
  RssmState s;
  s.deter = deter;
  if (options_.discrete > 0) {
    s.logits = raw.view({raw.size(0), options_.stoch, options_.discrete});
    const auto probs = torch::softmax(s.logits, -1);
    torch::Tensor one_hot;
    if (sample) {
      const auto index = torch::multinomial(probs.detach().view({-1, options_.discrete}), 1);
      one_hot = torch::zeros_like(probs).view({-1, options_.discrete}).scatter_(1, index, 1.0);
    } else {
      one_hot = torch::one_hot(probs.detach().argmax(-1), options_.discrete).to(probs.dtype());
    }
    // Straight-through gradients through the probabilities.
    s.stoch = (one_hot.view_as(probs) + probs - probs.detach()).flatten(1);
  } else {
    auto parts = raw.chunk(2, -1);
    s.mean = parts[0];
    s.std = torch::softplus(parts[1]) + options_.min_std;
    s.stoch = sample ? s.mean + s.std * torch::randn_like(s.std) : s.mean;
  }
  return s;
}

RssmState RssmImpl::img_step(const RssmState& prev, const torch::Tensor& prev_action,
                             const torch::Tensor& condition, bool sample) {
  std::vector<torch::Tensor> inputs{prev.stoch, prev_action};
  if (options_.condition_size > 0) {
    CS_CHECK_AS(ShapeError, condition.defined() && condition.size(-1) == options_.condition_size,
                "the RSSM expects a condition of size ", options_.condition_size);
    inputs.push_back(condition);
  }
  const auto x = torch::elu(img_in_->forward(torch::cat(inputs, -1)));
  const auto deter = cell_->forward(x, prev.deter);
  const auto y = torch::elu(img_out_->forward(deter));
  return distribution(deter, img_dist_->forward(y), sample);
}

std::pair<RssmState, RssmState> RssmImpl::obs_step(const RssmState& prev,
                                                   const torch::Tensor& prev_action,
                                                   const torch::Tensor& condition,
                                                   const torch::Tensor& embed, bool sample) {
  auto prior = img_step(prev, prev_action, condition, sample);
  const auto x = torch::elu(obs_out_->forward(torch::cat({prior.deter, embed}, -1)));
  auto post = distribution(prior.deter, obs_dist_->forward(x), sample);
  return {std::move(post), std::move(prior)};
}

torch::Tensor RssmImpl::reset_where_first(const torch::Tensor& x, const torch::Tensor& keep) const {
  return x * keep.view({-1, 1});
}

std::pair<RssmState, RssmState> RssmImpl::observe(const torch::Tensor& embed,
                                                  const torch::Tensor& prev_actions,
                                                  const torch::Tensor& conditions,
                                                  const torch::Tensor& is_first,
                                                  const RssmState& start) {
  CS_CHECK_AS(ShapeError,
              embed.dim() == 3 && prev_actions.dim() == 3 &&
                  prev_actions.size(0) == embed.size(0) && prev_actions.size(1) == embed.size(1) &&
                  prev_actions.size(2) == options_.action_size,
              "observe expects embed [B, T, E] and actions [B, T, ", options_.action_size,
              "], got ", embed.sizes(), " and ", prev_actions.sizes());
  const auto batch = embed.size(0), steps = embed.size(1);
  RssmState state = start.deter.defined() ? start : initial(batch);
  std::vector<RssmState> posts, priors;
  posts.reserve(steps);
  priors.reserve(steps);
  const auto keep =
      is_first.defined() ? (~is_first.to(torch::kBool)).to(torch::kFloat32) : torch::Tensor();
  for (std::int64_t t = 0; t < steps; ++t) {
    auto action = prev_actions.select(1, t);
    if (keep.defined()) {
      const auto k = keep.select(1, t);
      state.deter = reset_where_first(state.deter, k);
      state.stoch = reset_where_first(state.stoch, k);
      action = reset_where_first(action, k);
    }
    const auto condition = conditions.defined() ? conditions.select(1, t) : torch::Tensor();
    auto [post, prior] = obs_step(state, action, condition, embed.select(1, t));
    state = post;
    posts.push_back(std::move(post));
    priors.push_back(std::move(prior));
  }
  return {RssmState::stack(posts), RssmState::stack(priors)};
}

RssmState RssmImpl::imagine(const torch::Tensor& actions, const torch::Tensor& conditions,
                            const RssmState& start, bool sample) {
  CS_CHECK_AS(ShapeError, actions.dim() == 3 && actions.size(2) == options_.action_size,
              "imagine expects actions [B, T, ", options_.action_size, "], got ", actions.sizes());
  RssmState state = start;
  std::vector<RssmState> priors;
  for (std::int64_t t = 0; t < actions.size(1); ++t) {
    const auto condition = conditions.defined() ? conditions.select(1, t) : torch::Tensor();
    state = img_step(state, actions.select(1, t), condition, sample);
    priors.push_back(state);
  }
  return RssmState::stack(priors);
}

torch::Tensor kl_divergence(const RssmState& lhs, const RssmState& rhs) {
  if (lhs.logits.defined()) {
    CS_CHECK_AS(ShapeError, rhs.logits.defined(), "KL of a categorical and a Gaussian state");
    const auto lp = torch::log_softmax(lhs.logits, -1);
    const auto lq = torch::log_softmax(rhs.logits, -1);
    return (lp.exp() * (lp - lq)).sum({-2, -1});
  }
  CS_CHECK_AS(ShapeError, lhs.mean.defined() && rhs.mean.defined(),
              "KL needs Gaussian states with mean and std");
  const auto var_ratio = (lhs.std / rhs.std).pow(2);
  const auto t1 = ((lhs.mean - rhs.mean) / rhs.std).pow(2);
  return (0.5 * (var_ratio + t1 - 1.0 - var_ratio.log())).sum(-1);
}

KlLoss kl_loss(const RssmState& post, const RssmState& prior, double balance, double free_nats) {
  const auto lhs = kl_divergence(post.detach(), prior).mean();
  const auto rhs = kl_divergence(post, prior.detach()).mean();
  const auto floor = torch::tensor(free_nats, lhs.options());
  KlLoss out;
  out.loss = balance * torch::maximum(lhs, floor) + (1.0 - balance) * torch::maximum(rhs, floor);
  out.value = rhs.detach();
  return out;
}

}  // namespace clearsight::wm
