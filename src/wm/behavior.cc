#include "clearsight/wm/behavior.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::wm {
namespace {

/// Sets requires_grad on every parameter of module; restores the previous values on exit.
class FreezeParameters {
 public:
  explicit FreezeParameters(torch::nn::Module& module) : parameters_(module.parameters()) {
    for (auto& p : parameters_) p.requires_grad_(false);
  }
  ~FreezeParameters() {
    for (auto& p : parameters_) p.requires_grad_(true);
  }

 private:
  std::vector<torch::Tensor> parameters_;
};

std::vector<std::int64_t> hidden_layers(const BehaviorConfig& c) {
  return std::vector<std::int64_t>(static_cast<std::size_t>(c.layers), c.hidden);
}

}  // namespace

ActorImpl::ActorImpl(std::int64_t features, std::int64_t action_size, const BehaviorConfig& config)
    : action_size_(action_size), min_std_(config.actor_min_std) {
  net_ = register_module(
      "net", rl::Mlp(rl::MlpOptions{features, 2 * action_size, hidden_layers(config), "elu"}));
  // softplus(raw + raw_init_std) = init_std at raw = 0.
  raw_init_std_ = std::log(std::expm1(config.actor_init_std));
}

std::pair<torch::Tensor, torch::Tensor> ActorImpl::mean_std(const torch::Tensor& features) {
  const auto out = net_->forward(features);
  auto parts = out.chunk(2, -1);
  // Dreamer v1: the mean is squashed softly to [-5, 5] before the tanh.
  const auto mean = 5.0 * torch::tanh(parts[0] / 5.0);
  const auto std = torch::softplus(parts[1] + raw_init_std_) + min_std_;
  return {mean, std};
}

std::pair<torch::Tensor, torch::Tensor> ActorImpl::sample(const torch::Tensor& features) {
  const auto [mean, std] = mean_std(features);
  const auto eps = torch::randn_like(mean);
  const auto u = mean + std * eps;
  const auto action = torch::tanh(u);
  // log N(u; mean, std) - sum log(1 - tanh(u)^2), the Jacobian term written stably.
  const double half_log_2pi = 0.5 * std::log(2.0 * M_PI);
  const auto log_normal = (-0.5 * eps.pow(2) - std.log() - half_log_2pi).sum(-1);
  const auto log_jacobian = (2.0 * (std::log(2.0) - u - torch::softplus(-2.0 * u))).sum(-1);
  return {action, -(log_normal - log_jacobian)};
}

torch::Tensor ActorImpl::mode(const torch::Tensor& features) {
  return torch::tanh(mean_std(features).first);
}

ActorSetImpl::ActorSetImpl(std::int64_t features, const std::vector<ActionPart>& parts,
                           const BehaviorConfig& config)
    : parts_(parts) {
  CS_CHECK_AS(ConfigError, !parts_.empty(), "a behaviour needs at least one action part");
  for (const auto& p : parts_) {
    CS_CHECK_AS(ConfigError, p.size >= 1, "action part '", p.name, "' has size ", p.size);
    actors_.push_back(p.learned ? register_module(p.name, Actor(features, p.size, config))
                                : Actor(nullptr));
  }
}

std::pair<torch::Tensor, torch::Tensor> ActorSetImpl::sample(const torch::Tensor& features) {
  std::vector<torch::Tensor> actions;
  torch::Tensor entropy = torch::zeros({features.size(0)});
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    if (actors_[i].is_empty()) {
      actions.push_back(torch::zeros({features.size(0), parts_[i].size}));
      continue;
    }
    auto [a, h] = actors_[i]->sample(features);
    actions.push_back(a);
    entropy = entropy + h;
  }
  return {actions.size() == 1 ? actions[0] : torch::cat(actions, -1), entropy};
}

torch::Tensor ActorSetImpl::mode(const torch::Tensor& features) {
  std::vector<torch::Tensor> actions;
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    actions.push_back(actors_[i].is_empty() ? torch::zeros({features.size(0), parts_[i].size})
                                            : actors_[i]->mode(features));
  }
  return actions.size() == 1 ? actions[0] : torch::cat(actions, -1);
}

Actor& ActorSetImpl::actor(std::size_t i) {
  CS_CHECK(i < actors_.size() && !actors_[i].is_empty(), "action part ", i, " has no policy");
  return actors_[i];
}

Behavior::Behavior(WorldModel& model, BehaviorConfig config, std::vector<ActionPart> parts)
    : model_(model), config_(std::move(config)) {
  config_.validate();
  const auto features = model_->rssm()->feature_size();
  if (parts.empty()) parts.push_back({"motor", model_->action_size(), true});
  std::int64_t total = 0;
  for (const auto& p : parts) total += p.size;
  CS_CHECK_AS(ConfigError, total == model_->action_size(), "the action parts sum to ", total,
              "; the world model's actions have ", model_->action_size());
  actors_ = ActorSet(features, parts, config_);
  const rl::MlpOptions critic{features, 1, hidden_layers(config_), "elu"};
  critic_ = rl::Mlp(critic);
  target_ = rl::Mlp(critic);
  rl::hard_update(*target_, *critic_);
  for (auto& p : target_->parameters()) p.requires_grad_(false);
  actor_opt_ =
      std::make_unique<ClippedAdam>(*actors_, config_.actor_lr, config_.eps, config_.grad_clip);
  critic_opt_ =
      std::make_unique<ClippedAdam>(*critic_, config_.critic_lr, config_.eps, config_.grad_clip);
}

BehaviorMetrics Behavior::update(const RssmState& start, const torch::Tensor& condition,
                                 const ConditionStep& condition_step, const ImaginedReward& reward,
                                 const std::function<void(const Imagination&)>& on_imagination) {
  BehaviorMetrics m;
  torch::Tensor returns, features, weights;
  {
    FreezeParameters freeze(*model_);
    const auto policy = [this](const torch::Tensor& f) { return actors_->sample(f); };
    auto imag = imagine(model_->rssm(), start, policy, config_.horizon, condition, condition_step);
    features = imag.features();  // [N, H + 1, F]
    const auto next = features.narrow(1, 1, config_.horizon);
    const auto rewards = reward ? reward(imag) : model_->reward(next);
    CS_CHECK_AS(ShapeError, rewards.sizes() == next.sizes().slice(0, 2),
                "an imagined reward must be [N, H], got ", rewards.sizes());
    const auto values = target_->forward(next).squeeze(-1);
    torch::Tensor discounts = torch::full_like(rewards, config_.discount);
    if (model_->config().continuation_head) {
      discounts = discounts * torch::sigmoid(model_->continuation_logits(next));
    }
    returns = lambda_returns(rewards, values, discounts, config_.lambda);
    // Weight of each step: the probability that the imagined episode is still running.
    weights =
        torch::cumprod(torch::cat({torch::ones_like(discounts.narrow(1, 0, 1)),
                                   discounts.narrow(1, 0, config_.horizon - 1) / config_.discount},
                                  1),
                       1)
            .detach();
    const auto actor_loss =
        -(weights * returns).mean() - config_.actor_entropy * (weights * imag.entropies).mean();
    m.actor_grad_norm = actor_opt_->step(actor_loss);
    m.actor_loss = actor_loss.item<double>();
    m.imagined_return = returns.detach().mean().item<double>();
    m.imagined_reward = rewards.detach().mean().item<double>();
    m.actor_entropy = imag.entropies.detach().mean().item<double>();
    if (on_imagination) {
      Imagination detached;
      detached.states = imag.states.detach();
      detached.actions = imag.actions.detach();
      detached.entropies = imag.entropies.detach();
      if (imag.conditions.defined()) detached.conditions = imag.conditions.detach();
      on_imagination(detached);
    }
  }
  const auto value = critic_->forward(features.narrow(1, 0, config_.horizon).detach()).squeeze(-1);
  const auto critic_loss = 0.5 * (weights * (value - returns.detach()).pow(2)).mean();
  m.critic_grad_norm = critic_opt_->step(critic_loss);
  m.critic_loss = critic_loss.item<double>();
  m.value = value.detach().mean().item<double>();
  ++updates;
  if (config_.slow_target_every <= 1 || updates % config_.slow_target_every == 0) {
    rl::hard_update(*target_, *critic_);
  }
  return m;
}

}  // namespace clearsight::wm
