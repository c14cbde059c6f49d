#include "clearsight/sensor/discriminator.h"

#include <algorithm>

#include "clearsight/core/error.h"

namespace clearsight::sensor {

DiscriminatorEnsembleImpl::DiscriminatorEnsembleImpl(std::int64_t in, std::int64_t members,
                                                     std::int64_t hidden)
    : in_(in), members_(members) {
  CS_CHECK_AS(ConfigError, in >= 1 && members >= 1 && hidden >= 1,
              "discriminator sizes must be positive (in ", in, ", members ", members, ", hidden ",
              hidden, ")");
  net_ = register_module("members",
                         rl::EnsembleMlp(members, rl::MlpOptions{in, 1, {hidden, hidden}, "elu"}));
}

torch::Tensor DiscriminatorEnsembleImpl::logits(const torch::Tensor& x) {
  CS_CHECK_AS(ShapeError, x.size(-1) == in_, "the discriminators expect inputs of ", in_, ", got ",
              x.sizes());
  return net_->forward(x).squeeze(-1);
}

torch::Tensor aggregate_logits(const torch::Tensor& logits, const std::string& how) {
  if (how == "mean") return logits.mean(0);
  if (how == "min") return std::get<0>(logits.min(0));
  if (how == "mean-std") {
    if (logits.size(0) == 1) return logits.squeeze(0);
    return logits.mean(0) - logits.std(0, /*unbiased=*/false);
  }
  CS_THROW(UnknownNameError, "unknown aggregate '", how, "' (valid: mean, min, mean-std)");
}

torch::Tensor DiscriminatorEnsembleImpl::reward(const torch::Tensor& x, const std::string& how) {
  auto lead = x.sizes().vec();
  lead.pop_back();
  const auto l = logits(x.reshape({-1, in_}));
  return aggregate_logits(l, how).view(lead);
}

torch::Tensor DiscriminatorEnsembleImpl::disagreement(const torch::Tensor& x) {
  auto lead = x.sizes().vec();
  lead.pop_back();
  if (members_ == 1) return torch::zeros(lead);
  return logits(x.reshape({-1, in_})).std(0, /*unbiased=*/false).view(lead);
}

torch::Tensor gradient_penalty(DiscriminatorEnsembleImpl& ensemble, const torch::Tensor& x) {
  // One copy per member, so each member's gradient is its own.
  auto xe = x.detach().unsqueeze(0).expand({ensemble.members(), x.size(0), x.size(1)}).clone();
  xe.requires_grad_(true);
  const auto out = ensemble.logits(xe).sum();
  const auto grad = torch::autograd::grad({out}, {xe}, {}, /*retain_graph=*/true,
                                          /*create_graph=*/true)[0];
  return (grad.norm(2, -1) - 1.0).pow(2).mean(1);
}

DiscriminatorLoss DiscriminatorEnsembleImpl::loss(const torch::Tensor& expert,
                                                  const torch::Tensor& policy,
                                                  double penalty_weight) {
  CS_CHECK_AS(ShapeError,
              expert.dim() == 2 && policy.dim() == 2 && expert.size(0) > 0 && policy.size(0) > 0,
              "discriminator inputs must be non-empty [N, in] batches");
  DiscriminatorLoss out;
  const auto le = logits(expert), lp = logits(policy);  // [E, N], [E, M]
  const auto logistic =
      torch::binary_cross_entropy_with_logits(le, torch::ones_like(le), {}, {}, at::Reduction::None)
          .mean(1) +
      torch::binary_cross_entropy_with_logits(lp, torch::zeros_like(lp), {}, {},
                                              at::Reduction::None)
          .mean(1);
  const auto n = std::min(expert.size(0), policy.size(0));
  const auto u = torch::rand({n, 1});
  const auto mixed = u * policy.narrow(0, 0, n) + (1 - u) * expert.narrow(0, 0, n);
  const auto penalty =
      penalty_weight > 0 ? gradient_penalty(*this, mixed) : torch::zeros({members_});
  out.total = (logistic + penalty_weight * penalty).sum();
  out.logistic = logistic.detach().mean().item<double>();
  out.penalty = penalty.detach().mean().item<double>();
  const double correct = (le.detach() > 0).to(torch::kFloat64).sum().item<double>() +
                         (lp.detach() < 0).to(torch::kFloat64).sum().item<double>();
  out.accuracy = correct / static_cast<double>(le.numel() + lp.numel());
  out.expert_logit = le.detach().mean().item<double>();
  out.policy_logit = lp.detach().mean().item<double>();
  return out;
}

AdaptiveEpsilon::AdaptiveEpsilon(double init, double min, double max, double target, double rate,
                                 bool adaptive)
    : value_(init), min_(min), max_(max), target_(target), rate_(rate), adaptive_(adaptive) {
  CS_CHECK_AS(ConfigError, min <= init && init <= max, "epsilon_init ", init,
              " must lie in [epsilon_min, epsilon_max] = [", min, ", ", max, "]");
}

void AdaptiveEpsilon::update(double accuracy) {
  if (!adaptive_) return;
  value_ = std::clamp(value_ + rate_ * (accuracy - target_), min_, max_);
}

}  // namespace clearsight::sensor
