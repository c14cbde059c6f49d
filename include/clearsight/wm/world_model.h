// The pixel world model: encoder, RSSM, PixelShuffle decoder, reward head and an optional
// continuation head, trained on sequence batches by image + reward log-likelihood and the
// balanced KL with free nats; its update returns a metrics struct the loop logs.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "clearsight/rl/networks.h"
#include "clearsight/wm/config.h"
#include "clearsight/wm/networks.h"
#include "clearsight/wm/replay.h"
#include "clearsight/wm/rssm.h"

namespace clearsight::wm {

/// Losses of one world-model evaluation on a batch (means over batch and time).
struct WorldModelLosses {
  /// The weighted sum to minimise.
  torch::Tensor total;
  /// Image negative log-likelihood (unit-variance Gaussian, summed over pixels, no constant).
  torch::Tensor image;
  /// Reward negative log-likelihood (unit-variance Gaussian, no constant).
  torch::Tensor reward;
  /// The balanced, free-nats-clipped KL loss.
  torch::Tensor kl_loss;
  /// The plain KL(post || prior).
  torch::Tensor kl;
  /// Continuation cross-entropy (undefined without the continuation head).
  torch::Tensor continuation;
  /// Posterior states [B, T, ...] (with gradients).
  RssmState posterior;
  /// Prior states [B, T, ...].
  RssmState prior;
};

/// Scalars of one world-model update.
struct WorldModelMetrics {
  double loss = 0, image_loss = 0, reward_loss = 0, kl = 0, kl_loss = 0, continuation_loss = 0;
  double grad_norm = 0;
  double prior_entropy = 0, posterior_entropy = 0;
};

/// Encoder, RSSM, decoder and heads.
class WorldModelImpl : public torch::nn::Module {
 public:
  /// Builds the networks for actions of action_size and conditions of condition_size.
  WorldModelImpl(WorldModelConfig config, std::int64_t action_size,
                 std::int64_t condition_size = 0);
  /// Embeddings of frames: uint8 [B, T, H, W, 3] -> [B, T, E].
  torch::Tensor embed(const torch::Tensor& frames);
  /// Decoded image means [..., 3, S, S] of features [..., F] (and conditions [..., C]).
  torch::Tensor decode(const torch::Tensor& features, const torch::Tensor& conditions);
  /// Predicted rewards [...] of features [..., F].
  torch::Tensor reward(const torch::Tensor& features);
  /// Continuation logits [...] (the head must exist).
  torch::Tensor continuation_logits(const torch::Tensor& features);
  /// Filters the batch and computes every loss.
  WorldModelLosses losses(const SequenceBatch& batch);
  /// Posterior of the first context steps of each window, then the prior driven by the
  /// remaining actions: decoded frames [B, T, 3, S, S] (no gradients; modes, no sampling).
  torch::Tensor open_loop(const SequenceBatch& batch, std::int64_t context);
  /// The RSSM.
  Rssm& rssm() { return rssm_; }
  /// The settings.
  const WorldModelConfig& config() const { return config_; }
  /// Size of the actions.
  std::int64_t action_size() const { return action_size_; }
  /// Size of the conditions.
  std::int64_t condition_size() const { return condition_size_; }

 private:
  WorldModelConfig config_;
  std::int64_t action_size_;
  std::int64_t condition_size_;
  ConvEncoder encoder_{nullptr};
  Rssm rssm_{nullptr};
  PixelShuffleDecoder decoder_{nullptr};
  rl::Mlp reward_head_{nullptr};
  rl::Mlp continuation_head_{nullptr};
};
TORCH_MODULE(WorldModel);

/// Adam over a module's parameters with the lineage's clipping.
struct ClippedAdam {
  /// Optimises module's parameters with learning rate lr and epsilon eps.
  ClippedAdam(torch::nn::Module& module, double lr, double eps, double clip);
  /// zero_grad, backward(loss), clip, step; returns the gradient norm before clipping.
  double step(const torch::Tensor& loss);

  std::vector<torch::Tensor> parameters;
  torch::optim::Adam adam;
  double clip;
};

/// One world-model update on a batch; fills metrics and returns the detached posterior.
RssmState update_world_model(WorldModel& model, ClippedAdam& optimizer, const SequenceBatch& batch,
                             WorldModelMetrics& metrics);

}  // namespace clearsight::wm
