// The recurrent state-space model (PlaNet / Dreamer): a deterministic GRU state h and a
// stochastic state z (diagonal Gaussian, or categorical variables as in Dreamer v2), a prior
// p(z_t | h_t) for imagination and a posterior q(z_t | h_t, e_t) from image embeddings, with
// per-step actions and optional per-step conditions (a camera pose, a camera action) entering
// the transition. KL balancing and free nats live in kl_loss.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace clearsight::wm {

/// A batch of RSSM states; tensors [N, ...] for one step or [B, T, ...] for sequences.
struct RssmState {
  /// Deterministic state h [..., deter].
  torch::Tensor deter;
  /// Sample of the stochastic state z [..., stoch] (flattened stoch x classes when discrete).
  torch::Tensor stoch;
  /// Gaussian mean [..., stoch] (Gaussian z only).
  torch::Tensor mean;
  /// Gaussian standard deviation [..., stoch] (Gaussian z only).
  torch::Tensor std;
  /// Logits [..., stoch, classes] (categorical z only).
  torch::Tensor logits;

  /// The model features cat(h, z) [..., deter + stoch size].
  torch::Tensor features() const;
  /// The same state with every tensor detached from the graph.
  RssmState detach() const;
  /// Flattens [B, T, ...] into [B * T, ...].
  RssmState flatten_time() const;
  /// Rows [start, start + n) of the batch dimension 0.
  RssmState narrow_batch(std::int64_t start, std::int64_t n) const;
  /// Step t of a sequence state [B, T, ...] -> [B, ...].
  RssmState at(std::int64_t t) const;
  /// Stacks per-step states [B, ...] along a new time dimension 1.
  static RssmState stack(const std::vector<RssmState>& steps);
};

/// Sizes of an RSSM.
struct RssmOptions {
  std::int64_t deter = 200;
  std::int64_t stoch = 30;
  /// Classes per categorical variable; 0 for a Gaussian z.
  std::int64_t discrete = 0;
  std::int64_t hidden = 200;
  /// Size of the embedding the posterior sees.
  std::int64_t embed = 0;
  std::int64_t action_size = 0;
  /// Size of the per-step condition (0: none).
  std::int64_t condition_size = 0;
  double min_std = 0.1;
};

/// The RSSM's transition, prior and posterior networks.
class RssmImpl : public torch::nn::Module {
 public:
  /// Builds the networks; throws ConfigError on non-positive sizes.
  explicit RssmImpl(RssmOptions options);
  /// The all-zero state of a batch of n.
  RssmState initial(std::int64_t n) const;
  /// One prior step: h_t = GRU(h_{t-1}, [z_{t-1}, a_{t-1}, c_t]), z_t ~ p(z | h_t).
  /// condition may be undefined when condition_size is 0; sample false takes the mode.
  RssmState img_step(const RssmState& prev, const torch::Tensor& prev_action,
                     const torch::Tensor& condition, bool sample = true);
  /// One filtering step: the prior of img_step and the posterior z_t ~ q(z | h_t, e_t).
  std::pair<RssmState, RssmState> obs_step(const RssmState& prev, const torch::Tensor& prev_action,
                                           const torch::Tensor& condition,
                                           const torch::Tensor& embed, bool sample = true);
  /// Filters sequences: embed [B, T, E], prev_actions [B, T, A] (the action before each frame),
  /// conditions [B, T, C] or undefined, is_first [B, T] (resets state and action to zero there);
  /// returns (posterior, prior) states [B, T, ...]. start: the state before step 0 (zeros when
  /// undefined tensors).
  std::pair<RssmState, RssmState> observe(const torch::Tensor& embed,
                                          const torch::Tensor& prev_actions,
                                          const torch::Tensor& conditions,
                                          const torch::Tensor& is_first,
                                          const RssmState& start = {});
  /// Open-loop prior rollout from start [B, ...] with actions [B, T, A] (and conditions
  /// [B, T, C]); returns prior states [B, T, ...].
  RssmState imagine(const torch::Tensor& actions, const torch::Tensor& conditions,
                    const RssmState& start, bool sample = true);
  /// Size of features().
  std::int64_t feature_size() const;
  /// The options.
  const RssmOptions& options() const { return options_; }

 private:
  RssmState distribution(const torch::Tensor& deter, const torch::Tensor& raw, bool sample) const;
  torch::Tensor reset_where_first(const torch::Tensor& x, const torch::Tensor& keep) const;

  RssmOptions options_;
  std::int64_t stoch_size_;
  torch::nn::Linear img_in_{nullptr};
  torch::nn::GRUCell cell_{nullptr};
  torch::nn::Linear img_out_{nullptr};
  torch::nn::Linear img_dist_{nullptr};
  torch::nn::Linear obs_out_{nullptr};
  torch::nn::Linear obs_dist_{nullptr};
};
TORCH_MODULE(Rssm);

/// KL divergence KL(lhs || rhs) per element of the batch, summed over the state's dimensions.
torch::Tensor kl_divergence(const RssmState& lhs, const RssmState& rhs);

/// The balanced KL loss and the plain KL it is made of.
struct KlLoss {
  /// balance * max(mean KL(sg(post) || prior), free) + (1 - balance) * max(mean KL(post ||
  /// sg(prior)), free): a scalar with gradients.
  torch::Tensor loss;
  /// mean KL(post || prior), detached.
  torch::Tensor value;
};

/// KL balancing (Dreamer v2) with free nats applied to each term after averaging over the batch.
/// balance 0.5 gives Dreamer v1's plain KL(post || prior) gradient.
KlLoss kl_loss(const RssmState& post, const RssmState& prior, double balance, double free_nats);

}  // namespace clearsight::wm
