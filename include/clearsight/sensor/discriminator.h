// The discriminator ensemble of latent adversarial imitation: members that tell expert latents
// from imagined ones (logistic loss plus a gradient penalty on interpolates), whose logits are
// aggregated into the imitation reward and whose disagreement measures novelty.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "clearsight/rl/networks.h"

namespace clearsight::sensor {

/// The terms of one discriminator loss.
struct DiscriminatorLoss {
  /// logistic + weight x penalty, summed over members (scalar with gradients).
  torch::Tensor total;
  /// Mean logistic loss per member.
  double logistic = 0;
  /// Mean gradient penalty per member.
  double penalty = 0;
  /// Fraction of expert and policy inputs the members classify correctly (logit sign).
  double accuracy = 0;
  /// Mean logit on expert and on policy inputs.
  double expert_logit = 0, policy_logit = 0;
};

/// Members independent two-layer ELU MLPs evaluated together.
class DiscriminatorEnsembleImpl : public torch::nn::Module {
 public:
  /// members discriminators of in inputs with two hidden layers of hidden units.
  DiscriminatorEnsembleImpl(std::int64_t in, std::int64_t members, std::int64_t hidden);
  /// Logits [E, N] of inputs [N, in] (or [E, N, in]: one batch per member).
  torch::Tensor logits(const torch::Tensor& x);
  /// The loss on expert [N, in] and policy [M, in] inputs; the penalty uses min(N, M)
  /// interpolates u x_pi + (1 - u) x_E with u ~ U(0, 1) per row.
  DiscriminatorLoss loss(const torch::Tensor& expert, const torch::Tensor& policy,
                         double penalty_weight);
  /// The aggregated reward [...] of inputs [..., in]: the members' logits (log D - log(1 - D))
  /// combined by "mean", "min" or "mean-std".
  torch::Tensor reward(const torch::Tensor& x, const std::string& aggregate);
  /// The members' disagreement [...]: the standard deviation of their logits (0 for one member).
  torch::Tensor disagreement(const torch::Tensor& x);
  /// Number of members.
  std::int64_t members() const { return members_; }

 private:
  std::int64_t in_, members_;
  rl::EnsembleMlp net_{nullptr};
};
TORCH_MODULE(DiscriminatorEnsemble);

/// The gradient penalty (||grad_x D_e(x)|| - 1)^2 averaged over rows, per member [E], at x
/// [N, in] (gradients kept for the penalty's own backward).
torch::Tensor gradient_penalty(DiscriminatorEnsembleImpl& ensemble, const torch::Tensor& x);

/// Combines member logits [E, ...] by "mean", "min" or "mean-std"; throws UnknownNameError.
torch::Tensor aggregate_logits(const torch::Tensor& logits, const std::string& how);

/// The exploration weight of the adaptive epsilon-reward: it grows while the discriminators
/// separate expert from policy better than target (the policy is off the expert's support and
/// the imitation reward is flat there, so novelty should count more) and shrinks below it.
class AdaptiveEpsilon {
 public:
  /// Starts at init within [min, max]; rate is the step per unit of accuracy error.
  AdaptiveEpsilon(double init, double min, double max, double target, double rate, bool adaptive);
  /// epsilon <- clamp(epsilon + rate (accuracy - target), min, max) when adaptive.
  void update(double accuracy);
  /// The current weight.
  double value() const { return value_; }
  /// Restores a saved weight.
  void set(double value) { value_ = value; }

 private:
  double value_, min_, max_, target_, rate_;
  bool adaptive_;
};

}  // namespace clearsight::sensor
