// Behaviour learned in imagination (Dreamer v1/v2): a tanh-Gaussian actor trained by
// backpropagating lambda-returns through the model's dynamics, and a critic regressed on the
// lambda-returns of a slowly updated target critic.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clearsight/rl/networks.h"
#include "clearsight/wm/config.h"
#include "clearsight/wm/imagination.h"
#include "clearsight/wm/world_model.h"

namespace clearsight::wm {

/// The actor: features -> tanh(Gaussian) actions in [-1, 1].
class ActorImpl : public torch::nn::Module {
 public:
  /// An ELU MLP of layers x hidden from features to mean and std of each action.
  ActorImpl(std::int64_t features, std::int64_t action_size, const BehaviorConfig& config);
  /// A reparameterised sample [N, A] and its entropy estimate -log pi [N].
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& features);
  /// The deterministic action tanh(mean) [N, A].
  torch::Tensor mode(const torch::Tensor& features);

 private:
  std::pair<torch::Tensor, torch::Tensor> mean_std(const torch::Tensor& features);
  rl::Mlp net_{nullptr};
  std::int64_t action_size_;
  double min_std_;
  double raw_init_std_;
};
TORCH_MODULE(Actor);

/// Scalars of one behaviour update.
struct BehaviorMetrics {
  double actor_loss = 0, critic_loss = 0, imagined_return = 0, imagined_reward = 0;
  double actor_entropy = 0, value = 0, actor_grad_norm = 0, critic_grad_norm = 0;
};

/// The reward of each imagined transition t -> t + 1 of a rollout (states [N, H + 1], actions
/// [N, H]) -> rewards [N, H]; empty: the world model's reward head at the states t + 1.
using ImaginedReward = std::function<torch::Tensor(const Imagination&)>;

/// A slice of the action vector with its own policy: the motor part (the body) and, for an
/// active camera, the sensor part. A part that is not learned acts with zeros (a fixed camera).
struct ActionPart {
  std::string name = "motor";
  std::int64_t size = 0;
  bool learned = true;
};

/// The policies of the action parts, side by side (one Actor per learned part).
class ActorSetImpl : public torch::nn::Module {
 public:
  /// An actor for every learned part, registered under the part's name.
  ActorSetImpl(std::int64_t features, const std::vector<ActionPart>& parts,
               const BehaviorConfig& config);
  /// The full action [N, sum of sizes] (zeros for parts not learned) and the summed entropy.
  std::pair<torch::Tensor, torch::Tensor> sample(const torch::Tensor& features);
  /// The deterministic full action.
  torch::Tensor mode(const torch::Tensor& features);
  /// The actor of part i (throws when that part is not learned).
  Actor& actor(std::size_t i);
  /// The parts.
  const std::vector<ActionPart>& parts() const { return parts_; }

 private:
  std::vector<ActionPart> parts_;
  std::vector<Actor> actors_;  // Null for parts not learned.
};
TORCH_MODULE(ActorSet);

/// Actor(s), critic, slow target critic and their optimisers.
class Behavior {
 public:
  /// Networks for the model's features and actions; parts split the action vector (default:
  /// one learned "motor" part over all of it) and must sum to the model's action size.
  Behavior(WorldModel& model, BehaviorConfig config, std::vector<ActionPart> parts = {});
  /// One update from start states [N, ...] (posterior states, detached); the model's parameters
  /// receive no gradients. condition [N, C] and condition_step as in imagine(); reward replaces
  /// the model's reward head (an imitation reward, for instance); on_imagination (if set) sees
  /// the detached rollout afterwards (to train a discriminator on it).
  BehaviorMetrics update(const RssmState& start, const torch::Tensor& condition = {},
                         const ConditionStep& condition_step = {},
                         const ImaginedReward& reward = {},
                         const std::function<void(const Imagination&)>& on_imagination = {});
  /// The policies.
  ActorSet& actors() { return actors_; }
  /// The actor of the first part (the motor policy).
  Actor& actor() { return actors_->actor(0); }
  /// The critic.
  rl::Mlp& critic() { return critic_; }
  /// The slow target critic.
  rl::Mlp& target_critic() { return target_; }
  /// The optimisers (actors, critic), for checkpoints.
  ClippedAdam& actor_optimizer() { return *actor_opt_; }
  /// The critic's optimiser.
  ClippedAdam& critic_optimizer() { return *critic_opt_; }
  /// Updates done so far (drives the slow-target schedule; saved in checkpoints).
  std::int64_t updates = 0;

 private:
  WorldModel model_;
  BehaviorConfig config_;
  ActorSet actors_{nullptr};
  rl::Mlp critic_{nullptr};
  rl::Mlp target_{nullptr};
  std::unique_ptr<ClippedAdam> actor_opt_, critic_opt_;
};

}  // namespace clearsight::wm
