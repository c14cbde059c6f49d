// Adversarial imitation rewards: GAIL's discriminator and DIDA's domain-adaptive pair of
// discriminators over a shared feature encoder (gradient reversal, MINE mutual-information
// constraint, domain adversarial sampling, self-adaptive rate, anchor buffer).
// Convention (GAIL): D = 1 for the expert, trained with the logistic loss; reward -log(1 - D).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clearsight/rl/networks.h"
#include "clearsight/rl/storage.h"

namespace clearsight::il {

/// Identity forward, gradient multiplied by -weight backward (Ganin & Lempitsky 2015).
torch::Tensor gradient_reversal(const torch::Tensor& x, double weight = 1.0);

/// What a discriminator looks at: "sa" (state, action), "ss" (state, next state) or "s".
std::vector<std::string> discriminator_input_names();

/// Settings shared by the GAIL and DIDA discriminators.
struct DiscriminatorConfig {
  std::vector<std::int64_t> hidden = {256, 256};
  double lr = 3e-4;
  std::int64_t batch_size = 256;
  /// Weight of the gradient penalty (||grad D(x_hat)|| - gp_center)^2 on interpolates.
  double gradient_penalty = 10.0;
  /// 0: zero-centred penalty (Mescheder et al. 2018, keeps D smooth without inflating its
  /// gradient); 1: WGAN-GP's one-centred penalty as in DAC.
  double gp_center = 0.0;
  /// "sa", "ss" or "s".
  std::string input = "sa";

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("hidden", hidden, "hidden layer sizes");
    v("lr", lr, "Adam learning rate");
    v("batch_size", batch_size, "expert and agent samples per update");
    v("gradient_penalty", gradient_penalty, "gradient penalty weight (0: off)");
    v("gp_center", gp_center, "target gradient norm of the penalty (0 or 1)");
    v("input", input, "sa, ss or s");
  }
  /// Throws ConfigError/UnknownNameError.
  void validate() const;
};

/// DIDA's parts and their settings; every part can be switched off for ablations.
struct DidaConfig {
  std::int64_t feature_size = 64;
  std::vector<std::int64_t> encoder_hidden = {256};
  std::vector<std::int64_t> noise_hidden = {256};
  /// Noise discriminator D_n trained through a gradient reversal layer into the encoder.
  bool noise_discriminator = true;
  double reversal_weight = 1.0;
  /// MINE estimate of I(features; domain) kept below mi_bound by a Lagrangian penalty.
  bool mi_constraint = true;
  double mi_bound = 0.05;
  double mi_dual_lr = 0.01;
  std::vector<std::int64_t> mine_hidden = {128};
  /// Domain Adversarial Sampling: from das_candidates x batch agent samples, train D_p on the
  /// batch whose D_n output is closest to 0.5 (least domain information).
  bool domain_adversarial_sampling = true;
  std::int64_t das_candidates = 2;
  /// Self-Adaptive Rate: the share of agent samples among D_p's negatives (the rest anchors)
  /// follows D_n's accuracy: rate = min_rate + (1 - min_rate) clip(2 (1 - accuracy), 0, 1).
  bool self_adaptive_rate = true;
  double min_rate = 0.25;
  /// Share of agent samples among negatives when self_adaptive_rate is off.
  double fixed_rate = 0.5;
  /// Anchor buffer: the noisy expert buffer with actions (or next states) shuffled across
  /// transitions, i.e. non-expert behaviour seen in the noisy domain.
  bool anchor = true;

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("feature_size", feature_size, "encoder output size");
    v("encoder_hidden", encoder_hidden, "encoder G_f hidden sizes");
    v("noise_hidden", noise_hidden, "noise discriminator D_n hidden sizes");
    v("noise_discriminator", noise_discriminator, "train D_n through gradient reversal");
    v("reversal_weight", reversal_weight, "gradient reversal weight");
    v("mi_constraint", mi_constraint, "MINE mutual-information constraint");
    v("mi_bound", mi_bound, "allowed I(features; domain) in nats");
    v("mi_dual_lr", mi_dual_lr, "Lagrange multiplier step size");
    v("mine_hidden", mine_hidden, "MINE statistics network hidden sizes");
    v("domain_adversarial_sampling", domain_adversarial_sampling, "DAS on/off");
    v("das_candidates", das_candidates, "candidate multiplier for DAS");
    v("self_adaptive_rate", self_adaptive_rate, "SAR on/off");
    v("min_rate", min_rate, "lowest agent share under SAR");
    v("fixed_rate", fixed_rate, "agent share without SAR (with anchors)");
    v("anchor", anchor, "anchor buffer on/off");
  }
  /// Throws ConfigError.
  void validate() const;
};

/// Builds the anchor buffer: the transitions of noisy with actions (and next observations)
/// permuted across rows by perm (a permutation of [0, size)).
void fill_anchor(const rl::ReplayBuffer& noisy, const torch::Tensor& perm,
                 rl::ReplayBuffer& anchor);

/// A learned imitation reward.
class RewardLearner {
 public:
  virtual ~RewardLearner() = default;
  /// One update on expert, agent and anchor batches (anchor may be unused); returns metrics.
  virtual nlohmann::json update(rl::ReplayBuffer& expert, rl::ReplayBuffer& agent,
                                rl::ReplayBuffer* anchor) = 0;
  /// Rewards [B, 1] for agent transitions: -log(1 - D) = softplus(logit).
  virtual torch::Tensor reward(const rl::TransitionBatch& batch) = 0;
  /// Saves parameters and optimiser state into dir.
  virtual void save(const std::filesystem::path& dir) const = 0;
  /// Restores what save() wrote.
  virtual void load(const std::filesystem::path& dir) = 0;
};

/// The logistic discriminator loss: expert logits labelled 1, others 0 (mean over both sets).
torch::Tensor logistic_loss(const torch::Tensor& expert_logits, const torch::Tensor& other_logits);

/// weight * (||grad_x D(x_hat)|| - center)^2 on random interpolates x_hat of expert and other
/// inputs.
torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& d,
                               const torch::Tensor& expert, const torch::Tensor& other,
                               double weight, double center = 0.0);

/// Concatenates a batch's discriminator input for the given kind ("sa", "ss", "s").
torch::Tensor discriminator_input(const std::string& kind, const torch::Tensor& obs,
                                  const torch::Tensor& actions, const torch::Tensor& next_obs);

/// GAIL's discriminator on raw (state, action) / (state, next state) / state inputs.
class GailReward : public RewardLearner {
 public:
  /// A discriminator for observations of obs_size and actions of act_size.
  GailReward(DiscriminatorConfig config, std::int64_t obs_size, std::int64_t act_size);
  nlohmann::json update(rl::ReplayBuffer& expert, rl::ReplayBuffer& agent,
                        rl::ReplayBuffer* anchor) override;
  torch::Tensor reward(const rl::TransitionBatch& batch) override;
  void save(const std::filesystem::path& dir) const override;
  void load(const std::filesystem::path& dir) override;
  /// D's logits [B, 1] for a batch.
  torch::Tensor logits(const rl::TransitionBatch& batch);

 private:
  DiscriminatorConfig config_;
  rl::Mlp net_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

/// The losses of one DIDA step (for metrics and tests).
struct DidaLosses {
  torch::Tensor policy_loss;  ///< D_p logistic loss (+ gradient penalty).
  torch::Tensor noise_loss;   ///< D_n logistic loss (noisy domain = 1), undefined when off.
  torch::Tensor mi_estimate;  ///< MINE lower bound on I(features; domain), undefined when off.
  double noise_accuracy = 0.5;
  double agent_rate = 1.0;  ///< Share of agent samples among D_p's negatives.
  torch::Tensor selected;   ///< Indices of the agent candidates D_p trained on.
};

/// DIDA: encoder G_f, policy discriminator D_p on features, noise discriminator D_n behind a
/// gradient reversal layer, MINE statistics network T, and the Lagrange multiplier of the
/// mutual-information constraint.
class DidaReward : public RewardLearner {
 public:
  /// The networks for observations of obs_size and actions of act_size.
  DidaReward(DiscriminatorConfig config, DidaConfig dida, std::int64_t obs_size,
             std::int64_t act_size);
  nlohmann::json update(rl::ReplayBuffer& expert, rl::ReplayBuffer& agent,
                        rl::ReplayBuffer* anchor) override;
  torch::Tensor reward(const rl::TransitionBatch& batch) override;
  void save(const std::filesystem::path& dir) const override;
  void load(const std::filesystem::path& dir) override;
  /// Computes every loss for given batches without stepping (agent holds the DAS candidates).
  DidaLosses losses(const rl::TransitionBatch& expert, const rl::TransitionBatch& agent,
                    const rl::TransitionBatch* anchor);
  /// Encoder features [B, feature_size] of observations.
  torch::Tensor features(const torch::Tensor& obs);
  /// The encoder (for tests).
  rl::Mlp& encoder() { return encoder_; }
  /// The noise discriminator (for tests).
  rl::Mlp& noise_discriminator() { return noise_; }
  /// The current Lagrange multiplier of the MI constraint.
  double mi_multiplier() const { return beta_; }
  /// The running accuracy of D_n used by the self-adaptive rate.
  double noise_accuracy() const { return accuracy_; }

 private:
  torch::Tensor policy_input(const torch::Tensor& obs, const torch::Tensor& actions,
                             const torch::Tensor& next_obs);
  DiscriminatorConfig config_;
  DidaConfig dida_;
  rl::Mlp encoder_{nullptr}, policy_{nullptr}, noise_{nullptr}, mine_{nullptr};
  std::unique_ptr<torch::optim::Adam> optimizer_, mine_optimizer_;
  double beta_ = 0.0;
  double accuracy_ = 1.0;
};

/// GAIL's reward learner (see GailReward).
std::unique_ptr<RewardLearner> make_gail_reward(const DiscriminatorConfig& config,
                                                std::int64_t obs_size, std::int64_t act_size);

/// DIDA's reward learner (see DidaReward).
std::unique_ptr<RewardLearner> make_dida_reward(const DiscriminatorConfig& config,
                                                const DidaConfig& dida, std::int64_t obs_size,
                                                std::int64_t act_size);

}  // namespace clearsight::il
