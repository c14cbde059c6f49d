#include "clearsight/rl/ppo.h"

#include "clearsight/core/error.h"
#include "clearsight/core/torch_compat.h"
#include "clearsight/nn/module_io.h"

namespace clearsight::rl {

namespace fs = std::filesystem;

void PpoConfig::validate() const {
  CS_CHECK_AS(ConfigError, rollout_steps > 0 && epochs > 0 && minibatch_size > 0,
              "ppo: rollout_steps, epochs and minibatch_size must be positive");
  CS_CHECK_AS(ConfigError, lr > 0 && clip > 0 && value_clip >= 0 && max_grad_norm > 0,
              "ppo: lr, clip and max_grad_norm must be positive, value_clip >= 0");
  CS_CHECK_AS(ConfigError, gamma > 0 && gamma <= 1 && gae_lambda >= 0 && gae_lambda <= 1,
              "ppo: gamma in (0, 1], gae_lambda in [0, 1]");
  CS_CHECK_AS(ConfigError, !hidden.empty(), "ppo: hidden must list at least one layer size");
}

namespace {

struct PpoState : torch::nn::Module {
  PpoState(GaussianActor actor, Mlp critic) {
    register_module("actor", std::move(actor));
    register_module("critic", std::move(critic));
  }
};

}  // namespace

Ppo::Ppo(PpoConfig config, std::int64_t obs_size, std::int64_t act_size)
    : config_(std::move(config)) {
  config_.validate();
  actor_ = GaussianActor(obs_size, act_size, config_.hidden, config_.init_log_std);
  critic_ = Mlp(MlpOptions{obs_size, 1, config_.hidden, "tanh"});
  std::vector<torch::Tensor> params = actor_->parameters();
  for (auto& p : critic_->parameters()) params.push_back(p);
  optimizer_ =
      std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config_.lr).eps(1e-5));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> Ppo::act(const torch::Tensor& obs,
                                                                 bool deterministic) {
  torch::NoGradGuard no_grad;
  auto value = critic_->forward(obs).squeeze(-1);
  if (deterministic) {
    auto mean = actor_->forward(obs);
    return {mean, actor_->log_prob_entropy(obs, mean).first, value};
  }
  auto [action, logp] = actor_->sample(obs);
  return {action, logp, value};
}

torch::Tensor Ppo::value(const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  return critic_->forward(obs).squeeze(-1);
}

PpoMetrics Ppo::update(const RolloutBuffer& r, double progress) {
  const double lr = config_.anneal_lr ? config_.lr * (1.0 - progress) : config_.lr;
  for (auto& group : optimizer_->param_groups()) {
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  }
  const std::int64_t n = r.steps() * r.envs();
  const auto obs = r.observations.reshape({n, -1});
  const auto actions = r.actions.reshape({n, -1});
  const auto old_logp = r.log_probs.reshape({n});
  const auto old_values = r.values.reshape({n});
  const auto advantages = r.advantages.reshape({n});
  const auto returns = r.returns.reshape({n});
  const std::int64_t mb = std::min(config_.minibatch_size, n);
  PpoMetrics m;
  std::int64_t count = 0;
  std::vector<torch::Tensor> params = optimizer_->param_groups()[0].params();
  for (std::int64_t epoch = 0; epoch < config_.epochs; ++epoch) {
    const auto perm = torch::randperm(n, torch::kInt64);
    for (std::int64_t start = 0; start + mb <= n; start += mb) {
      const auto idx = perm.narrow(0, start, mb);
      const auto o = obs.index_select(0, idx);
      auto adv = advantages.index_select(0, idx);
      if (config_.normalize_advantages) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
      auto [logp, entropy] = actor_->log_prob_entropy(o, actions.index_select(0, idx));
      const auto log_ratio = logp - old_logp.index_select(0, idx);
      const auto ratio = log_ratio.exp();
      const auto policy_loss =
          torch::max(-adv * ratio, -adv * ratio.clamp(1 - config_.clip, 1 + config_.clip)).mean();
      const auto v = critic_->forward(o).squeeze(-1);
      const auto ret = returns.index_select(0, idx);
      torch::Tensor value_loss;
      if (config_.value_clip > 0) {
        const auto old_v = old_values.index_select(0, idx);
        const auto clipped = old_v + (v - old_v).clamp(-config_.value_clip, config_.value_clip);
        value_loss = 0.5 * torch::max((v - ret).square(), (clipped - ret).square()).mean();
      } else {
        value_loss = 0.5 * (v - ret).square().mean();
      }
      const auto entropy_mean = entropy.mean();
      const auto loss =
          policy_loss - config_.entropy_coef * entropy_mean + config_.value_coef * value_loss;
      compat::zero_grad(*optimizer_);
      loss.backward();
      torch::nn::utils::clip_grad_norm_(params, config_.max_grad_norm);
      optimizer_->step();
      {
        torch::NoGradGuard no_grad;
        m.policy_loss += policy_loss.item<double>();
        m.value_loss += value_loss.item<double>();
        m.entropy += entropy_mean.item<double>();
        m.approx_kl += ((ratio - 1) - log_ratio).mean().item<double>();
        m.clip_fraction +=
            ((ratio - 1.0).abs() > config_.clip).to(torch::kFloat32).mean().item<double>();
      }
      ++count;
    }
  }
  if (count > 0) {
    m.policy_loss /= count;
    m.value_loss /= count;
    m.entropy /= count;
    m.approx_kl /= count;
    m.clip_fraction /= count;
  }
  return m;
}

void Ppo::save(const fs::path& dir) const {
  PpoState state(actor_, critic_);
  nn::save_parameters(state, dir / "agent.safetensors", {{"algo", "ppo"}});
  nn::save_optimizer(*optimizer_, dir / "optimizer.pt");
}

void Ppo::load(const fs::path& dir) {
  PpoState state(actor_, critic_);
  nn::load_parameters(state, dir / "agent.safetensors");
  nn::load_optimizer(*optimizer_, dir / "optimizer.pt");
}

}  // namespace clearsight::rl
