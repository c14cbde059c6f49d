#include "clearsight/rl/sac.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/torch_compat.h"
#include "clearsight/nn/module_io.h"
#include "rl/sac_fast.h"

namespace clearsight::rl {

namespace fs = std::filesystem;

void SacConfig::validate() const {
  CS_CHECK_AS(ConfigError, batch_size > 0 && buffer_size >= batch_size,
              "sac: batch_size must be positive and at most buffer_size");
  CS_CHECK_AS(ConfigError, actor_lr > 0 && critic_lr > 0 && alpha_lr > 0,
              "sac: learning rates must be positive");
  CS_CHECK_AS(ConfigError, gamma > 0 && gamma <= 1 && tau > 0 && tau <= 1,
              "sac: gamma and tau must be in (0, 1]");
  CS_CHECK_AS(ConfigError, learning_starts >= 0 && updates_per_step >= 1 && policy_frequency >= 1,
              "sac: learning_starts >= 0, updates_per_step >= 1, policy_frequency >= 1");
  CS_CHECK_AS(ConfigError, init_alpha > 0, "sac: init_alpha must be positive");
  CS_CHECK_AS(ConfigError, !hidden.empty(), "sac: hidden must list at least one layer size");
  CS_CHECK_AS(UnknownNameError, backend == "fast" || backend == "torch", "sac: unknown backend '",
              backend, "' (valid: fast, torch)");
}

double sac_update_flops(std::int64_t obs_size, std::int64_t act_size, std::int64_t critic_extra,
                        const std::vector<std::int64_t>& hidden, std::int64_t batch) {
  auto macs = [&](std::int64_t in, std::int64_t out) {
    double m = 0.0;
    std::int64_t prev = in;
    for (auto h : hidden) {
      m += static_cast<double>(prev * h);
      prev = h;
    }
    return m + static_cast<double>(prev * out);
  };
  const double a = macs(obs_size, 2 * act_size);
  const double c = macs(obs_size + critic_extra + act_size, 1);
  const double a0 = static_cast<double>(obs_size * hidden.front());
  const double c0 = static_cast<double>((obs_size + critic_extra + act_size) * hidden.front());
  // Critic step: actor forward, two target and two critic forwards, two backwards (weight
  // gradients and hidden-layer input gradients). Actor step (one per update on average): actor
  // forward, two critic forwards and backwards to the input, actor backward.
  const double critic_step = a + 4.0 * c + 2.0 * (2.0 * c - c0);
  const double actor_step = a + 4.0 * c + (2.0 * a - a0);
  return 2.0 * static_cast<double>(batch) * (critic_step + actor_step);
}

namespace {

/// Holds the critic's parameters and an extra tensor in one module for saving.
struct SacState : torch::nn::Module {
  SacState(TanhGaussianActor actor, EnsembleMlp critic, EnsembleMlp target, torch::Tensor alpha) {
    register_module("actor", std::move(actor));
    register_module("critic", std::move(critic));
    register_module("critic_target", std::move(target));
    register_parameter("log_alpha", std::move(alpha));
  }
};

}  // namespace

Sac::Sac(SacConfig config, std::int64_t obs_size, std::int64_t act_size, std::int64_t critic_extra,
         std::optional<std::uint64_t> seed)
    : config_(std::move(config)),
      obs_size_(obs_size),
      act_size_(act_size),
      critic_extra_(critic_extra) {
  config_.validate();
  if (!seed) {
    auto global = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(global.mutex());
    seed = global.get<at::CPUGeneratorImpl>()->random64();
  }
  generator_ = at::make_generator<at::CPUGeneratorImpl>(*seed);
  target_entropy_ =
      config_.target_entropy == 0.0 ? -static_cast<double>(act_size) : config_.target_entropy;
  actor_ = TanhGaussianActor(obs_size, act_size, config_.hidden);
  const MlpOptions critic_shape{obs_size + critic_extra + act_size, 1, config_.hidden, "relu"};
  critic_ = EnsembleMlp(2, critic_shape);
  critic_target_ = EnsembleMlp(2, critic_shape);
  reinitialize(*actor_, generator_);
  reinitialize(*critic_, generator_);
  hard_update(*critic_target_, *critic_);
  for (auto& p : critic_target_->parameters()) p.set_requires_grad(false);
  log_alpha_ = torch::full({1}, std::log(config_.init_alpha)).set_requires_grad(true);
  actor_opt_ = std::make_unique<torch::optim::Adam>(actor_->parameters(),
                                                    torch::optim::AdamOptions(config_.actor_lr));
  critic_opt_ = std::make_unique<torch::optim::Adam>(critic_->parameters(),
                                                     torch::optim::AdamOptions(config_.critic_lr));
  alpha_opt_ = std::make_unique<torch::optim::Adam>(std::vector<torch::Tensor>{log_alpha_},
                                                    torch::optim::AdamOptions(config_.alpha_lr));
  const auto zero = torch::zeros({});
  last_ = {zero, zero, torch::full({}, config_.init_alpha), zero, zero, zero};
  if (config_.backend == "fast") {
    fast_ = std::make_unique<SacFastPath>(config_, obs_size_, act_size_, critic_extra_, *actor_,
                                          *critic_, *critic_target_, log_alpha_);
  }
}

Sac::~Sac() = default;
Sac::Sac(Sac&&) noexcept = default;

torch::Tensor Sac::actor_input(const torch::Tensor& obs) const {
  return critic_extra_ > 0 && obs.size(-1) == obs_size_ + critic_extra_
             ? obs.narrow(-1, 0, obs_size_)
             : obs;
}

torch::Tensor Sac::act(const torch::Tensor& observations, bool deterministic) {
  torch::NoGradGuard no_grad;
  if (fast_) return fast_->act(observations, deterministic, generator_);
  const auto obs = actor_input(observations);
  if (deterministic) return actor_->mean_action(obs);
  return actor_->sample(obs, generator_).first;
}

double Sac::alpha() const { return log_alpha_.exp().item<double>(); }

SacMetrics Sac::update(const TransitionBatch& b) {
  if (fast_) {
    torch::NoGradGuard no_grad;
    fast_->update(b, updates_ % config_.policy_frequency == 0, generator_, last_);
    ++updates_;
    return last_;
  }
  const auto alpha = log_alpha_.detach().exp();
  torch::Tensor target;
  {
    torch::NoGradGuard no_grad;
    auto [next_action, next_logp] = actor_->sample(actor_input(b.next_observations), generator_);
    auto next_q = critic_target_->forward(torch::cat({b.next_observations, next_action}, 1));
    auto soft_v = std::get<0>(next_q.min(0)) - alpha * next_logp;
    target = b.rewards + config_.gamma * (1.0 - b.terminals) * soft_v;
  }
  auto q = critic_->forward(torch::cat({b.observations, b.actions}, 1));  // [2, B, 1]
  auto critic_loss = (q - target.unsqueeze(0)).square().mean({1, 2}).sum();
  compat::zero_grad(*critic_opt_);
  critic_loss.backward();
  critic_opt_->step();
  last_.critic_loss = critic_loss.detach();
  last_.q_mean = q.detach().mean();

  if (updates_ % config_.policy_frequency == 0) {
    for (std::int64_t k = 0; k < config_.policy_frequency; ++k) {
      auto [action, logp] = actor_->sample(actor_input(b.observations), generator_);
      auto q_pi = std::get<0>(critic_->forward(torch::cat({b.observations, action}, 1)).min(0));
      auto actor_loss = (alpha * logp - q_pi).mean();
      compat::zero_grad(*actor_opt_);
      // Gradients flow only into the actor; the critic's are neither needed nor kept.
      torch::autograd::backward({actor_loss}, {}, c10::nullopt, false, actor_->parameters());
      actor_opt_->step();
      last_.actor_loss = actor_loss.detach();
      last_.entropy = -logp.detach().mean();
      if (config_.autotune) {
        auto alpha_loss = -(log_alpha_ * (logp.detach() + target_entropy_)).mean();
        compat::zero_grad(*alpha_opt_);
        alpha_loss.backward();
        alpha_opt_->step();
        last_.alpha_loss = alpha_loss.detach();
      }
      last_.alpha = log_alpha_.detach().exp().squeeze();
    }
  }
  soft_update(*critic_target_, *critic_, config_.tau);
  ++updates_;
  return last_;
}

void Sac::save(const fs::path& dir) const {
  SacState state(actor_, critic_, critic_target_, log_alpha_);
  nn::save_parameters(state, dir / "agent.safetensors",
                      {{"algo", "sac"}, {"updates", std::to_string(updates_)}});
  if (fast_) {
    safetensors::save(dir / "fast_optimizer.safetensors", fast_->optimizer_state());
  } else {
    nn::save_optimizer(*actor_opt_, dir / "actor_optimizer.pt");
    nn::save_optimizer(*critic_opt_, dir / "critic_optimizer.pt");
    nn::save_optimizer(*alpha_opt_, dir / "alpha_optimizer.pt");
  }
  safetensors::save(dir / "sac_rng.safetensors", {{"generator", generator_.get_state()}});
  atomic_write(dir / "sac_state.json", "{\"updates\": " + std::to_string(updates_) + "}\n");
}

void Sac::load(const fs::path& dir) {
  const bool fast_state = fs::exists(dir / "fast_optimizer.safetensors");
  const bool torch_state = fs::exists(dir / "actor_optimizer.pt");
  CS_CHECK_AS(FormatError, fast_state == (fast_ != nullptr) || !(fast_state || torch_state),
              "checkpoint '", dir.string(), "' holds the optimiser state of sac.backend ",
              fast_state ? "fast" : "torch",
              " (or of a ClearSight from before the fast path), "
              "but this learner uses sac.backend ",
              config_.backend, "; a run continues with the backend it was started with");
  CS_CHECK_AS(FormatError, fs::exists(dir / "sac_rng.safetensors"), "checkpoint '", dir.string(),
              "' has no sac_rng.safetensors (written by a ClearSight from before per-learner "
              "generators); it cannot be continued exactly");
  SacState state(actor_, critic_, critic_target_, log_alpha_);
  nn::load_parameters(state, dir / "agent.safetensors");
  if (fast_) {
    const auto file = safetensors::File::open(dir / "fast_optimizer.safetensors");
    fast_->load_optimizer_state([&](const std::string& name) {
      CS_CHECK_AS(FormatError, file.contains(name), "'",
                  (dir / "fast_optimizer.safetensors").string(), "' has no entry '", name, "'");
      return file.get(name);
    });
  } else {
    nn::load_optimizer(*actor_opt_, dir / "actor_optimizer.pt");
    nn::load_optimizer(*critic_opt_, dir / "critic_optimizer.pt");
    nn::load_optimizer(*alpha_opt_, dir / "alpha_optimizer.pt");
  }
  generator_.set_state(safetensors::File::open(dir / "sac_rng.safetensors").get("generator"));
  const auto text = read_file(dir / "sac_state.json");
  try {
    updates_ = nlohmann::json::parse(text).at("updates").get<std::int64_t>();
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "'", (dir / "sac_state.json").string(), "' is malformed: ", e.what());
  }
}

}  // namespace clearsight::rl
