#include "clearsight/rl/networks.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::rl {

namespace {

constexpr double kLogStdMin = kTanhGaussianLogStdMin;
constexpr double kLogStdMax = kTanhGaussianLogStdMax;
const double kHalfLog2Pi = 0.5 * std::log(2.0 * M_PI);

std::vector<std::int64_t> layer_sizes(const MlpOptions& o) {
  std::vector<std::int64_t> sizes{o.in};
  sizes.insert(sizes.end(), o.hidden.begin(), o.hidden.end());
  sizes.push_back(o.out);
  return sizes;
}

void check_options(const MlpOptions& o) {
  CS_CHECK_AS(ConfigError, o.in > 0 && o.out > 0, "MLP sizes must be positive (in ", o.in, ", out ",
              o.out, ")");
  for (auto h : o.hidden) CS_CHECK_AS(ConfigError, h > 0, "MLP hidden sizes must be positive");
  CS_CHECK_AS(UnknownNameError,
              o.activation == "relu" || o.activation == "tanh" || o.activation == "elu",
              "unknown activation '", o.activation, "' (valid: elu, relu, tanh)");
}

}  // namespace

torch::Tensor activate(const torch::Tensor& x, const std::string& name) {
  if (name == "relu") return torch::relu(x);
  if (name == "tanh") return torch::tanh(x);
  if (name == "elu") return torch::elu(x);
  CS_THROW(UnknownNameError, "unknown activation '", name, "' (valid: elu, relu, tanh)");
}

MlpImpl::MlpImpl(MlpOptions options) : options_(std::move(options)) {
  check_options(options_);
  const auto sizes = layer_sizes(options_);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    layers_.push_back(
        register_module("fc" + std::to_string(i), torch::nn::Linear(sizes[i], sizes[i + 1])));
  }
}

torch::Tensor MlpImpl::forward(torch::Tensor x) {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    x = layers_[i]->forward(x);
    if (i + 1 < layers_.size()) x = activate(x, options_.activation);
  }
  return x;
}

EnsembleMlpImpl::EnsembleMlpImpl(std::int64_t members, MlpOptions options)
    : members_(members), options_(std::move(options)) {
  check_options(options_);
  CS_CHECK_AS(ConfigError, members_ >= 1, "an ensemble needs at least one member");
  const auto sizes = layer_sizes(options_);
  for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
    // torch::nn::Linear's default: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
    // and the same bound for the bias.
    const double bound = 1.0 / std::sqrt(static_cast<double>(sizes[i]));
    auto w = torch::empty({members_, sizes[i], sizes[i + 1]}).uniform_(-bound, bound);
    auto b = torch::empty({members_, 1, sizes[i + 1]}).uniform_(-bound, bound);
    weights_.push_back(register_parameter("weight" + std::to_string(i), w));
    biases_.push_back(register_parameter("bias" + std::to_string(i), b));
  }
}

torch::Tensor EnsembleMlpImpl::forward(torch::Tensor x) {
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    if (x.dim() == 2) {
      // A shared input: one matmul against the members' weights side by side.
      x = torch::matmul(x.unsqueeze(0), weights_[i]) + biases_[i];
    } else {
      x = torch::baddbmm(biases_[i], x, weights_[i]);
    }
    if (i + 1 < weights_.size()) x = activate(x, options_.activation);
  }
  return x;
}

TanhGaussianActorImpl::TanhGaussianActorImpl(std::int64_t obs_size, std::int64_t act_size,
                                             std::vector<std::int64_t> hidden)
    : act_size_(act_size) {
  trunk_ = register_module("trunk", Mlp(MlpOptions{obs_size, 2 * act_size, std::move(hidden)}));
}

std::pair<torch::Tensor, torch::Tensor> TanhGaussianActorImpl::forward(const torch::Tensor& obs) {
  auto out = trunk_->forward(obs);
  auto mean = out.narrow(-1, 0, act_size_);
  auto raw = out.narrow(-1, act_size_, act_size_);
  // Smoothly bounded log-std (gradients never vanish at the bounds, unlike a clamp).
  auto log_std = kLogStdMin + 0.5 * (kLogStdMax - kLogStdMin) * (torch::tanh(raw) + 1.0);
  return {mean, log_std};
}

std::pair<torch::Tensor, torch::Tensor> TanhGaussianActorImpl::sample(const torch::Tensor& obs) {
  return squash(obs, c10::nullopt);
}

std::pair<torch::Tensor, torch::Tensor> TanhGaussianActorImpl::sample(const torch::Tensor& obs,
                                                                      at::Generator generator) {
  return squash(obs, generator);
}

std::pair<torch::Tensor, torch::Tensor> TanhGaussianActorImpl::squash(
    const torch::Tensor& obs, c10::optional<at::Generator> generator) {
  auto [mean, log_std] = forward(obs);
  auto eps =
      generator ? at::randn(mean.sizes(), generator, mean.options()) : torch::randn_like(mean);
  auto u = mean + log_std.exp() * eps;
  auto action = torch::tanh(u);
  // log N(u; mean, std) - sum log(1 - tanh(u)^2), the latter as 2 (log 2 - u - softplus(-2u)).
  auto log_prob = (-0.5 * eps.square() - log_std - kHalfLog2Pi) -
                  2.0 * (std::log(2.0) - u - torch::softplus(-2.0 * u));
  return {action, log_prob.sum(-1, /*keepdim=*/true)};
}

torch::Tensor TanhGaussianActorImpl::mean_action(const torch::Tensor& obs) {
  return torch::tanh(trunk_->forward(obs).narrow(-1, 0, act_size_));
}

GaussianActorImpl::GaussianActorImpl(std::int64_t obs_size, std::int64_t act_size,
                                     std::vector<std::int64_t> hidden, double init_log_std) {
  mean_ = register_module("mean", Mlp(MlpOptions{obs_size, act_size, std::move(hidden), "tanh"}));
  log_std_ = register_parameter("log_std", torch::full({act_size}, init_log_std));
}

torch::Tensor GaussianActorImpl::forward(const torch::Tensor& obs) { return mean_->forward(obs); }

std::pair<torch::Tensor, torch::Tensor> GaussianActorImpl::log_prob_entropy(
    const torch::Tensor& obs, const torch::Tensor& actions) {
  auto mean = mean_->forward(obs);
  auto z = (actions - mean) * torch::exp(-log_std_);
  auto log_prob = (-0.5 * z.square() - log_std_ - kHalfLog2Pi).sum(-1);
  auto entropy = (0.5 + kHalfLog2Pi + log_std_).sum().expand({obs.size(0)});
  return {log_prob, entropy};
}

std::pair<torch::Tensor, torch::Tensor> GaussianActorImpl::sample(const torch::Tensor& obs) {
  auto mean = mean_->forward(obs);
  auto eps = torch::randn_like(mean);
  auto action = mean + log_std_.exp() * eps;
  auto log_prob = (-0.5 * eps.square() - log_std_ - kHalfLog2Pi).sum(-1);
  return {action, log_prob};
}

void reinitialize(torch::nn::Module& module, at::Generator generator) {
  torch::NoGradGuard no_grad;
  for (auto& child : module.modules(/*include_self=*/true)) {
    if (auto* linear = child->as<torch::nn::LinearImpl>()) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(linear->weight.size(1)));
      linear->weight.uniform_(-bound, bound, generator);
      if (linear->bias.defined()) linear->bias.uniform_(-bound, bound, generator);
    } else if (auto* ensemble = child->as<EnsembleMlpImpl>()) {
      for (std::size_t i = 0; i < ensemble->weights().size(); ++i) {
        auto w = ensemble->weights()[i];
        auto b = ensemble->biases()[i];
        const double bound = 1.0 / std::sqrt(static_cast<double>(w.size(1)));
        w.uniform_(-bound, bound, generator);
        b.uniform_(-bound, bound, generator);
      }
    }
  }
}

void hard_update(torch::nn::Module& target, const torch::nn::Module& source) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  auto s = source.parameters();
  CS_CHECK_AS(ShapeError, t.size() == s.size(), "hard_update: modules differ");
  for (std::size_t i = 0; i < t.size(); ++i) t[i].copy_(s[i]);
  auto tb = target.buffers();
  auto sb = source.buffers();
  for (std::size_t i = 0; i < tb.size() && i < sb.size(); ++i) tb[i].copy_(sb[i]);
}

void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  torch::NoGradGuard no_grad;
  auto t = target.parameters();
  auto s = source.parameters();
  CS_CHECK_AS(ShapeError, t.size() == s.size(), "soft_update: modules differ");
  for (std::size_t i = 0; i < t.size(); ++i) t[i].lerp_(s[i], tau);
}

}  // namespace clearsight::rl
