// Networks of the RL algorithms: MLPs, an ensemble MLP that evaluates several critics in one
// batched matmul per layer, a tanh-squashed Gaussian actor (SAC) and a diagonal Gaussian actor
// with a state-independent log-std (PPO).
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace clearsight::rl {

/// Shape of a multilayer perceptron.
struct MlpOptions {
  std::int64_t in = 0;
  std::int64_t out = 0;
  std::vector<std::int64_t> hidden = {256, 256};
  /// "relu", "tanh" or "elu".
  std::string activation = "relu";
};

/// The activation function named by name; throws UnknownNameError.
torch::Tensor activate(const torch::Tensor& x, const std::string& name);

/// Fully connected layers with an activation between them (none after the last).
class MlpImpl : public torch::nn::Module {
 public:
  /// Builds layers "fc0", "fc1"... with PyTorch's default initialisation.
  explicit MlpImpl(MlpOptions options);
  /// x [..., in] -> [..., out].
  torch::Tensor forward(torch::Tensor x);
  /// The options.
  const MlpOptions& options() const { return options_; }
  /// The linear layers in order.
  const std::vector<torch::nn::Linear>& layers() const { return layers_; }

 private:
  MlpOptions options_;
  std::vector<torch::nn::Linear> layers_;
};
TORCH_MODULE(Mlp);

/// members independent MLPs of one shape evaluated together: weights [E, in, out].
class EnsembleMlpImpl : public torch::nn::Module {
 public:
  /// Builds members MLPs, each initialised like a torch::nn::Linear stack.
  EnsembleMlpImpl(std::int64_t members, MlpOptions options);
  /// x [B, in] (shared by all members) or [E, B, in] -> [E, B, out].
  torch::Tensor forward(torch::Tensor x);
  /// Number of members.
  std::int64_t members() const { return members_; }
  /// The options (shape of each member).
  const MlpOptions& options() const { return options_; }
  /// Weights [E, in, out] of each layer.
  const std::vector<torch::Tensor>& weights() const { return weights_; }
  /// Biases [E, 1, out] of each layer.
  const std::vector<torch::Tensor>& biases() const { return biases_; }

 private:
  std::int64_t members_;
  MlpOptions options_;
  std::vector<torch::Tensor> weights_;
  std::vector<torch::Tensor> biases_;
};
TORCH_MODULE(EnsembleMlp);

/// SAC's actor: an MLP giving the mean and log-std of a Gaussian, squashed by tanh.
class TanhGaussianActorImpl : public torch::nn::Module {
 public:
  /// obs_size -> hidden -> 2 * act_size.
  TanhGaussianActorImpl(std::int64_t obs_size, std::int64_t act_size,
                        std::vector<std::int64_t> hidden);
  /// A reparameterised sample tanh(mu + sigma * eps) and its log-probability [B, 1].
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& obs);
  /// The deterministic action tanh(mu).
  torch::Tensor mean_action(const torch::Tensor& obs);
  /// Mean and clamped log-std before squashing.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& obs);
  /// A sample as sample(obs), its noise drawn from generator.
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& obs, at::Generator generator);
  /// The MLP giving [mean, raw log-std].
  Mlp& trunk() { return trunk_; }
  /// Action size.
  std::int64_t act_size() const { return act_size_; }

 private:
  std::pair<torch::Tensor, torch::Tensor> squash(const torch::Tensor& obs,
                                                 c10::optional<at::Generator> generator);
  Mlp trunk_{nullptr};
  std::int64_t act_size_;
};
TORCH_MODULE(TanhGaussianActor);

/// PPO's actor: a diagonal Gaussian with a learned, state-independent log-std.
class GaussianActorImpl : public torch::nn::Module {
 public:
  /// obs_size -> hidden (tanh) -> act_size; log_std starts at init_log_std.
  GaussianActorImpl(std::int64_t obs_size, std::int64_t act_size, std::vector<std::int64_t> hidden,
                    double init_log_std = 0.0);
  /// The mean action [B, act].
  torch::Tensor forward(const torch::Tensor& obs);
  /// Log-probability [B] of actions under the policy at obs, and the entropy [B].
  std::pair<torch::Tensor, torch::Tensor> log_prob_entropy(const torch::Tensor& obs,
                                                           const torch::Tensor& actions);
  /// A sampled action [B, act] and its log-probability [B].
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& obs);
  /// The log-std parameter [act].
  const torch::Tensor& log_std() const { return log_std_; }
  /// The MLP giving the mean.
  Mlp& mean_net() { return mean_; }

 private:
  Mlp mean_{nullptr};
  torch::Tensor log_std_;
};
TORCH_MODULE(GaussianActor);

/// The smooth log-std bounds of TanhGaussianActor: log_std = min + (max - min) (tanh(raw) + 1) / 2.
inline constexpr double kTanhGaussianLogStdMin = -5.0;
inline constexpr double kTanhGaussianLogStdMax = 2.0;

/// Re-draws every weight and bias of torch::nn::Linear layers and ensembles in module from
/// generator, with PyTorch's default distribution U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void reinitialize(torch::nn::Module& module, at::Generator generator);

/// Copies every parameter and buffer of source into target (same structure).
void hard_update(torch::nn::Module& target, const torch::nn::Module& source);
/// target <- (1 - tau) target + tau source, parameter by parameter.
void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);

}  // namespace clearsight::rl
