// SAC's update on the fast path (clearsight/rl/fast_mlp.h): the same losses, gradients and Adam
// steps as Sac's LibTorch update, written out by hand over views of the same parameters. Private
// to the rl module; Sac selects it with SacConfig::backend = "fast".
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "clearsight/rl/fast_mlp.h"
#include "clearsight/rl/networks.h"
#include "clearsight/rl/sac.h"
#include "clearsight/rl/storage.h"

namespace clearsight::rl {

/// The fast update and acting of one Sac.
class SacFastPath {
 public:
  /// Views of the networks' parameters; log_alpha is the temperature parameter [1].
  SacFastPath(const SacConfig& config, std::int64_t obs_size, std::int64_t act_size,
              std::int64_t critic_extra, TanhGaussianActorImpl& actor, EnsembleMlpImpl& critic,
              EnsembleMlpImpl& critic_target, torch::Tensor log_alpha);
  /// One update (critics; actor and temperature when actor_step), noise from generator in the
  /// same order as the LibTorch path. Fills metrics with the update's values.
  void update(const TransitionBatch& batch, bool actor_step, at::Generator& generator,
              SacMetrics& metrics);
  /// Actions [N, act] for observations [N, obs (+ critic_extra)].
  torch::Tensor act(const torch::Tensor& observations, bool deterministic,
                    at::Generator& generator);
  /// Optimiser state as named tensors.
  std::vector<std::pair<std::string, torch::Tensor>> optimizer_state() const;
  /// Restores optimizer_state()'s tensors.
  void load_optimizer_state(const std::function<torch::Tensor(const std::string&)>& get);

 private:
  /// Actor forward for rows of obs; fills mean/std/eps-derived buffers; returns actions and logp.
  void actor_sample(const fast::ConstMatrixView& obs, const torch::Tensor& eps);
  /// min over the two critics of Q(input), remembering which member was smaller.
  void critic_min(std::vector<fast::Mlp>& critics, const fast::Matrix& input, fast::Matrix& out);

  SacConfig config_;
  std::int64_t obs_size_, act_size_, critic_extra_;
  double target_entropy_;
  fast::Mlp actor_;
  std::vector<fast::Mlp> critics_, targets_;
  torch::Tensor log_alpha_;
  float log_alpha_grad_ = 0.0f;
  std::unique_ptr<fast::Adam> actor_opt_, critic_opt_, alpha_opt_;
  // Work buffers.
  fast::Matrix u_, std_, tanh_raw_, action_, logp_, input_, q_min_, target_, dq_, dinput_, dout_;
  std::vector<std::uint8_t> argmin_;
};

}  // namespace clearsight::rl
