#include "clearsight/il/adversarial.h"

#include <algorithm>
#include <cmath>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"
#include "clearsight/core/torch_compat.h"
#include "clearsight/nn/module_io.h"

namespace clearsight::il {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

/// Identity forward; the incoming gradient times -weight backward.
struct GradientReversal : public torch::autograd::Function<GradientReversal> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               double weight) {
    ctx->saved_data["weight"] = weight;
    return x.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const double weight = ctx->saved_data["weight"].toDouble();
    return {grads[0] * -weight, torch::Tensor()};
  }
};

std::int64_t input_size(const std::string& kind, std::int64_t obs, std::int64_t act) {
  if (kind == "sa") return obs + act;
  if (kind == "ss") return 2 * obs;
  if (kind == "s") return obs;
  CS_THROW(UnknownNameError, "unknown discriminator input '", kind, "' (valid: sa, ss, s)");
}

double accuracy(const torch::Tensor& expert_logits, const torch::Tensor& other_logits) {
  const auto right = (expert_logits > 0).sum() + (other_logits <= 0).sum();
  return right.item<double>() / static_cast<double>(expert_logits.numel() + other_logits.numel());
}

/// MINE's Donsker-Varadhan bound E_joint[T] - log E_marginal[exp T] for features z and domain
/// labels d [N, 1]; the marginal pairs z with shuffled labels.
torch::Tensor mine_bound(rl::Mlp& t, const torch::Tensor& z, const torch::Tensor& d) {
  const auto n = z.size(0);
  const auto joint = t->forward(torch::cat({z, d}, 1));
  const auto shuffled = d.index_select(0, torch::randperm(n, torch::kInt64));
  const auto marginal = t->forward(torch::cat({z, shuffled}, 1));
  return joint.mean() -
         (torch::logsumexp(marginal.flatten(), 0) - std::log(static_cast<double>(n)));
}

struct Holder : torch::nn::Module {
  void add(const std::string& name, std::shared_ptr<torch::nn::Module> m) {
    register_module(name, std::move(m));
  }
};

}  // namespace

torch::Tensor gradient_reversal(const torch::Tensor& x, double weight) {
  return GradientReversal::apply(x, weight);
}

std::vector<std::string> discriminator_input_names() { return {"s", "sa", "ss"}; }

void DiscriminatorConfig::validate() const {
  input_size(input, 1, 1);
  CS_CHECK_AS(ConfigError, lr > 0 && batch_size > 0 && gradient_penalty >= 0 && !hidden.empty(),
              "discriminator: lr and batch_size must be positive, gradient_penalty >= 0");
}

void DidaConfig::validate() const {
  CS_CHECK_AS(ConfigError, feature_size > 0 && !encoder_hidden.empty() && !noise_hidden.empty(),
              "dida: feature_size must be positive and hidden lists non-empty");
  CS_CHECK_AS(ConfigError, mi_bound >= 0 && mi_dual_lr >= 0 && reversal_weight >= 0,
              "dida: mi_bound, mi_dual_lr and reversal_weight must be >= 0");
  CS_CHECK_AS(ConfigError, das_candidates >= 1, "dida: das_candidates must be at least 1");
  CS_CHECK_AS(ConfigError, min_rate > 0 && min_rate <= 1 && fixed_rate > 0 && fixed_rate <= 1,
              "dida: min_rate and fixed_rate must be in (0, 1]");
}

void fill_anchor(const rl::ReplayBuffer& noisy, const torch::Tensor& perm,
                 rl::ReplayBuffer& anchor) {
  const auto n = noisy.size();
  CS_CHECK_AS(ShapeError, perm.dim() == 1 && perm.size(0) == n, "anchor permutation has ",
              perm.numel(), " entries, the noisy buffer ", n);
  CS_CHECK_AS(ShapeError, anchor.capacity() >= n, "anchor buffer too small");
  // States keep their rows; actions and next states come from other transitions, so the pairs
  // show non-expert behaviour in the noisy domain.
  anchor.add(noisy.field("observations"), noisy.field("actions").index_select(0, perm),
             noisy.field("rewards"), noisy.field("next_observations").index_select(0, perm),
             noisy.field("terminals"));
}

torch::Tensor logistic_loss(const torch::Tensor& expert_logits, const torch::Tensor& other_logits) {
  return 0.5 * (torch::nn::functional::binary_cross_entropy_with_logits(
                    expert_logits, torch::ones_like(expert_logits)) +
                torch::nn::functional::binary_cross_entropy_with_logits(
                    other_logits, torch::zeros_like(other_logits)));
}

torch::Tensor gradient_penalty(const std::function<torch::Tensor(const torch::Tensor&)>& d,
                               const torch::Tensor& expert, const torch::Tensor& other,
                               double weight, double center) {
  const auto n = std::min(expert.size(0), other.size(0));
  const auto alpha = torch::rand({n, 1});
  auto x = (alpha * expert.narrow(0, 0, n).detach() + (1 - alpha) * other.narrow(0, 0, n).detach())
               .requires_grad_(true);
  const auto out = d(x);
  const auto grad = torch::autograd::grad({out.sum()}, {x}, {}, true, true)[0];
  return weight * (grad.norm(2, 1) - center).square().mean();
}

torch::Tensor discriminator_input(const std::string& kind, const torch::Tensor& obs,
                                  const torch::Tensor& actions, const torch::Tensor& next_obs) {
  if (kind == "sa") return torch::cat({obs, actions}, 1);
  if (kind == "ss") return torch::cat({obs, next_obs}, 1);
  if (kind == "s") return obs;
  CS_THROW(UnknownNameError, "unknown discriminator input '", kind, "' (valid: sa, ss, s)");
}

// ---- GAIL ---------------------------------------------------------------------------------------

GailReward::GailReward(DiscriminatorConfig config, std::int64_t obs_size, std::int64_t act_size)
    : config_(std::move(config)) {
  config_.validate();
  net_ = rl::Mlp(
      rl::MlpOptions{input_size(config_.input, obs_size, act_size), 1, config_.hidden, "tanh"});
  optimizer_ = std::make_unique<torch::optim::Adam>(net_->parameters(),
                                                    torch::optim::AdamOptions(config_.lr));
}

torch::Tensor GailReward::logits(const rl::TransitionBatch& b) {
  return net_->forward(
      discriminator_input(config_.input, b.observations, b.actions, b.next_observations));
}

Json GailReward::update(rl::ReplayBuffer& expert, rl::ReplayBuffer& agent, rl::ReplayBuffer*) {
  const auto e = expert.sample_n(config_.batch_size);
  const auto a = agent.sample_n(config_.batch_size);
  const auto xe =
      discriminator_input(config_.input, e.observations, e.actions, e.next_observations);
  const auto xa =
      discriminator_input(config_.input, a.observations, a.actions, a.next_observations);
  const auto le = net_->forward(xe), la = net_->forward(xa);
  auto loss = logistic_loss(le, la);
  torch::Tensor gp = torch::zeros({});
  if (config_.gradient_penalty > 0) {
    gp = gradient_penalty([&](const torch::Tensor& x) { return net_->forward(x); }, xe, xa,
                          config_.gradient_penalty, config_.gp_center);
  }
  compat::zero_grad(*optimizer_);
  (loss + gp).backward();
  optimizer_->step();
  return {{"disc_loss", loss.item<double>()},
          {"disc_gp", gp.item<double>()},
          {"disc_accuracy", accuracy(le.detach(), la.detach())}};
}

torch::Tensor GailReward::reward(const rl::TransitionBatch& b) {
  torch::NoGradGuard no_grad;
  return torch::softplus(logits(b));
}

void GailReward::save(const fs::path& dir) const {
  nn::save_parameters(*net_, dir / "discriminator.safetensors");
  nn::save_optimizer(*optimizer_, dir / "discriminator_optimizer.pt");
}

void GailReward::load(const fs::path& dir) {
  nn::load_parameters(*net_, dir / "discriminator.safetensors");
  nn::load_optimizer(*optimizer_, dir / "discriminator_optimizer.pt");
}

// ---- DIDA ---------------------------------------------------------------------------------------

DidaReward::DidaReward(DiscriminatorConfig config, DidaConfig dida, std::int64_t obs_size,
                       std::int64_t act_size)
    : config_(std::move(config)), dida_(std::move(dida)) {
  config_.validate();
  dida_.validate();
  const auto f = dida_.feature_size;
  encoder_ = rl::Mlp(rl::MlpOptions{obs_size, f, dida_.encoder_hidden, "relu"});
  policy_ =
      rl::Mlp(rl::MlpOptions{input_size(config_.input, f, act_size), 1, config_.hidden, "tanh"});
  noise_ = rl::Mlp(rl::MlpOptions{f, 1, dida_.noise_hidden, "relu"});
  mine_ = rl::Mlp(rl::MlpOptions{f + 1, 1, dida_.mine_hidden, "relu"});
  std::vector<torch::Tensor> params = encoder_->parameters();
  for (const auto& m : {policy_, noise_}) {
    for (auto& p : m->parameters()) params.push_back(p);
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(config_.lr));
  mine_optimizer_ = std::make_unique<torch::optim::Adam>(mine_->parameters(),
                                                         torch::optim::AdamOptions(config_.lr));
}

torch::Tensor DidaReward::features(const torch::Tensor& obs) { return encoder_->forward(obs); }

torch::Tensor DidaReward::policy_input(const torch::Tensor& obs, const torch::Tensor& actions,
                                       const torch::Tensor& next_obs) {
  const auto z = features(obs);
  if (config_.input == "ss") return torch::cat({z, features(next_obs)}, 1);
  return discriminator_input(config_.input, z, actions, torch::Tensor());
}

DidaLosses DidaReward::losses(const rl::TransitionBatch& e, const rl::TransitionBatch& a,
                              const rl::TransitionBatch* anchor) {
  DidaLosses out;
  const std::int64_t batch = e.observations.size(0);
  const std::int64_t candidates = a.observations.size(0);
  const bool use_anchor = dida_.anchor && anchor != nullptr;
  const auto z_expert = features(e.observations);
  const auto z_agent = features(a.observations);
  torch::Tensor z_anchor;
  if (use_anchor) z_anchor = features(anchor->observations);

  torch::Tensor agent_noise_prob;
  if (dida_.noise_discriminator) {
    const auto noisy = use_anchor ? torch::cat({z_expert, z_anchor}) : z_expert;
    const auto l_noisy = noise_->forward(gradient_reversal(noisy, dida_.reversal_weight));
    const auto l_clean = noise_->forward(gradient_reversal(z_agent, dida_.reversal_weight));
    out.noise_loss = logistic_loss(l_noisy, l_clean);
    out.noise_accuracy = accuracy(l_noisy.detach(), l_clean.detach());
    agent_noise_prob = torch::sigmoid(l_clean.detach()).flatten();
  }

  // Domain Adversarial Sampling: the agent samples D_n finds hardest to place.
  const std::int64_t keep = std::min(batch, candidates);
  if (dida_.domain_adversarial_sampling && agent_noise_prob.defined() && candidates > keep) {
    out.selected = std::get<1>((agent_noise_prob - 0.5).abs().topk(keep, 0, /*largest=*/false));
  } else {
    out.selected = torch::arange(keep, torch::kInt64);
  }

  // Self-Adaptive Rate: how many negatives come from the agent rather than the anchor buffer.
  double rate = 1.0;
  if (use_anchor) {
    rate = dida_.self_adaptive_rate
               ? dida_.min_rate +
                     (1.0 - dida_.min_rate) * std::clamp(2.0 * (1.0 - accuracy_), 0.0, 1.0)
               : dida_.fixed_rate;
  }
  out.agent_rate = rate;
  const std::int64_t n_agent = std::clamp<std::int64_t>(std::llround(rate * keep), 1, keep);
  const auto agent_rows = out.selected.narrow(0, 0, n_agent);

  auto pick = [&](const torch::Tensor& z, const rl::TransitionBatch& b, const torch::Tensor& rows) {
    const auto obs_next = config_.input == "ss"
                              ? features(b.next_observations.index_select(0, rows))
                              : torch::Tensor();
    const auto zr = z.index_select(0, rows);
    if (config_.input == "ss") return torch::cat({zr, obs_next}, 1);
    return discriminator_input(config_.input, zr, b.actions.index_select(0, rows), torch::Tensor());
  };
  const auto x_expert = pick(z_expert, e, torch::arange(batch, torch::kInt64));
  auto x_negative = pick(z_agent, a, agent_rows);
  if (use_anchor && n_agent < keep) {
    const auto rows = torch::arange(keep - n_agent, torch::kInt64);
    x_negative = torch::cat({x_negative, pick(z_anchor, *anchor, rows)});
  }
  const auto l_expert = policy_->forward(x_expert);
  const auto l_negative = policy_->forward(x_negative);
  out.policy_loss = logistic_loss(l_expert, l_negative);
  if (config_.gradient_penalty > 0) {
    out.policy_loss =
        out.policy_loss +
        gradient_penalty([&](const torch::Tensor& x) { return policy_->forward(x); }, x_expert,
                         x_negative, config_.gradient_penalty, config_.gp_center);
  }

  if (dida_.mi_constraint) {
    // Domain 1: noisy (expert, anchor); 0: the agent's clean domain.
    const auto z_noisy = use_anchor ? torch::cat({z_expert, z_anchor}) : z_expert;
    const auto z_clean = z_agent.index_select(0, out.selected);
    const auto z = torch::cat({z_noisy, z_clean});
    const auto d =
        torch::cat({torch::ones({z_noisy.size(0), 1}), torch::zeros({z_clean.size(0), 1})});
    out.mi_estimate = mine_bound(mine_, z, d);
  }
  return out;
}

Json DidaReward::update(rl::ReplayBuffer& expert, rl::ReplayBuffer& agent,
                        rl::ReplayBuffer* anchor) {
  const std::int64_t batch = config_.batch_size;
  const bool das = dida_.domain_adversarial_sampling && dida_.noise_discriminator;
  const auto e = expert.sample_n(batch);
  const auto a = agent.sample_n(das ? batch * dida_.das_candidates : batch);
  rl::TransitionBatch n;
  const bool use_anchor = dida_.anchor && anchor != nullptr;
  if (use_anchor) n = anchor->sample_n(batch);
  const auto l = losses(e, a, use_anchor ? &n : nullptr);
  auto total = l.policy_loss;
  if (l.noise_loss.defined()) total = total + l.noise_loss;
  if (l.mi_estimate.defined() && beta_ > 0) total = total + beta_ * l.mi_estimate;
  compat::zero_grad(*optimizer_);
  compat::zero_grad(*mine_optimizer_);
  total.backward();
  optimizer_->step();
  Json metrics = {{"disc_loss", l.policy_loss.item<double>()}, {"agent_rate", l.agent_rate}};
  if (l.noise_loss.defined()) {
    accuracy_ = 0.9 * accuracy_ + 0.1 * l.noise_accuracy;
    metrics["noise_loss"] = l.noise_loss.item<double>();
    metrics["noise_accuracy"] = l.noise_accuracy;
  }
  if (l.mi_estimate.defined()) {
    // The statistics network maximises the bound on frozen features; the multiplier rises while
    // the estimate exceeds the allowed information.
    const double mi = l.mi_estimate.item<double>();
    const auto z_noisy = use_anchor
                             ? torch::cat({features(e.observations), features(n.observations)})
                             : features(e.observations);
    const auto z_clean = features(a.observations.index_select(0, l.selected));
    const auto z = torch::cat({z_noisy, z_clean}).detach();
    const auto d =
        torch::cat({torch::ones({z_noisy.size(0), 1}), torch::zeros({z_clean.size(0), 1})});
    compat::zero_grad(*mine_optimizer_);
    (-mine_bound(mine_, z, d)).backward();
    mine_optimizer_->step();
    beta_ = std::max(0.0, beta_ + dida_.mi_dual_lr * (mi - dida_.mi_bound));
    metrics["mi_estimate"] = mi;
    metrics["mi_multiplier"] = beta_;
  }
  return metrics;
}

torch::Tensor DidaReward::reward(const rl::TransitionBatch& b) {
  torch::NoGradGuard no_grad;
  return torch::softplus(
      policy_->forward(policy_input(b.observations, b.actions, b.next_observations)));
}

void DidaReward::save(const fs::path& dir) const {
  Holder h;
  h.add("encoder", encoder_.ptr());
  h.add("policy_discriminator", policy_.ptr());
  h.add("noise_discriminator", noise_.ptr());
  h.add("mine", mine_.ptr());
  nn::save_parameters(h, dir / "dida.safetensors");
  nn::save_optimizer(*optimizer_, dir / "dida_optimizer.pt");
  nn::save_optimizer(*mine_optimizer_, dir / "mine_optimizer.pt");
  atomic_write(dir / "dida_state.json",
               Json({{"mi_multiplier", beta_}, {"noise_accuracy", accuracy_}}).dump() + "\n");
}

void DidaReward::load(const fs::path& dir) {
  Holder h;
  h.add("encoder", encoder_.ptr());
  h.add("policy_discriminator", policy_.ptr());
  h.add("noise_discriminator", noise_.ptr());
  h.add("mine", mine_.ptr());
  nn::load_parameters(h, dir / "dida.safetensors");
  nn::load_optimizer(*optimizer_, dir / "dida_optimizer.pt");
  nn::load_optimizer(*mine_optimizer_, dir / "mine_optimizer.pt");
  try {
    const auto j = Json::parse(read_file(dir / "dida_state.json"));
    beta_ = j.at("mi_multiplier").get<double>();
    accuracy_ = j.at("noise_accuracy").get<double>();
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "'", (dir / "dida_state.json").string(), "' is malformed: ", e.what());
  }
}

std::unique_ptr<RewardLearner> make_gail_reward(const DiscriminatorConfig& config,
                                                std::int64_t obs_size, std::int64_t act_size) {
  return std::make_unique<GailReward>(config, obs_size, act_size);
}

std::unique_ptr<RewardLearner> make_dida_reward(const DiscriminatorConfig& config,
                                                const DidaConfig& dida, std::int64_t obs_size,
                                                std::int64_t act_size) {
  return std::make_unique<DidaReward>(config, dida, obs_size, act_size);
}

}  // namespace clearsight::il
