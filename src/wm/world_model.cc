#include "clearsight/wm/world_model.h"

#include "clearsight/core/error.h"
#include "clearsight/core/torch_compat.h"

namespace clearsight::wm {
namespace {

double entropy_of(const RssmState& s) {
  torch::NoGradGuard no_grad;
  if (s.logits.defined()) {
    const auto lp = torch::log_softmax(s.logits, -1);
    return (-(lp.exp() * lp)).sum({-2, -1}).mean().item<double>();
  }
  const double half_log_2pi_e = 0.5 * std::log(2.0 * M_PI * M_E);
  return (s.std.log() + half_log_2pi_e).sum(-1).mean().item<double>();
}

}  // namespace

WorldModelImpl::WorldModelImpl(WorldModelConfig config, std::int64_t action_size,
                               std::int64_t condition_size)
    : config_(std::move(config)), action_size_(action_size), condition_size_(condition_size) {
  config_.validate();
  encoder_ = register_module("encoder", ConvEncoder(config_.image_size, config_.cnn_depth));
  RssmOptions r;
  r.deter = config_.deter;
  r.stoch = config_.stoch;
  r.discrete = config_.discrete;
  r.hidden = config_.hidden;
  r.embed = encoder_->embed_size();
  r.action_size = action_size;
  r.condition_size = condition_size;
  r.min_std = config_.min_std;
  rssm_ = register_module("rssm", Rssm(r));
  const auto features = rssm_->feature_size();
  const auto decoder_in = features + (config_.condition_decoder ? condition_size : 0);
  decoder_ = register_module(
      "decoder", PixelShuffleDecoder(decoder_in, config_.image_size, config_.cnn_depth));
  const std::vector<std::int64_t> hidden(2, config_.hidden);
  reward_head_ = register_module("reward", rl::Mlp(rl::MlpOptions{features, 1, hidden, "elu"}));
  if (config_.continuation_head) {
    continuation_head_ =
        register_module("continuation", rl::Mlp(rl::MlpOptions{features, 1, hidden, "elu"}));
  }
}

torch::Tensor WorldModelImpl::embed(const torch::Tensor& frames) {
  CS_CHECK_AS(ShapeError,
              frames.dim() == 5 && frames.size(2) == config_.image_size &&
                  frames.size(3) == config_.image_size && frames.size(4) == 3,
              "the world model expects frames [B, T, ", config_.image_size, ", ",
              config_.image_size, ", 3], got ", frames.sizes());
  const auto b = frames.size(0), t = frames.size(1);
  const auto x = preprocess_frames(frames.flatten(0, 1));
  return encoder_->forward(x).view({b, t, -1});
}

torch::Tensor WorldModelImpl::decode(const torch::Tensor& features,
                                     const torch::Tensor& conditions) {
  auto x = features;
  if (config_.condition_decoder && condition_size_ > 0) x = torch::cat({x, conditions}, -1);
  auto lead = x.sizes().vec();
  lead.pop_back();
  auto out = decoder_->forward(x.reshape({-1, x.size(-1)}));
  lead.insert(lead.end(), {3, config_.image_size, config_.image_size});
  return out.view(lead);
}

torch::Tensor WorldModelImpl::reward(const torch::Tensor& features) {
  return reward_head_->forward(features).squeeze(-1);
}

torch::Tensor WorldModelImpl::continuation_logits(const torch::Tensor& features) {
  CS_CHECK(!continuation_head_.is_empty(), "this world model has no continuation head");
  return continuation_head_->forward(features).squeeze(-1);
}

WorldModelLosses WorldModelImpl::losses(const SequenceBatch& batch) {
  CS_CHECK_AS(ShapeError, condition_size_ == 0 || batch.conditions.defined(),
              "the world model expects conditions of size ", condition_size_);
  WorldModelLosses out;
  const auto embedded = embed(batch.images);
  std::tie(out.posterior, out.prior) =
      rssm_->observe(embedded, batch.prev_actions, batch.conditions, batch.is_first);
  const auto features = out.posterior.features();
  const auto target = preprocess_frames(batch.images);
  const auto recon = decode(features, batch.conditions);
  out.image = 0.5 * (recon - target).pow(2).sum({-3, -2, -1}).mean();
  out.reward = 0.5 * (reward(features) - batch.rewards).pow(2).mean();
  const auto kl = kl_loss(out.posterior, out.prior, config_.kl_balance, config_.free_nats);
  out.kl_loss = kl.loss;
  out.kl = kl.value;
  out.total = config_.image_scale * out.image + config_.reward_scale * out.reward +
              config_.kl_scale * out.kl_loss;
  if (config_.continuation_head) {
    const auto alive = (~batch.terminals).to(torch::kFloat32);
    out.continuation =
        torch::binary_cross_entropy_with_logits(continuation_logits(features), alive);
    out.total = out.total + out.continuation;
  }
  return out;
}

torch::Tensor WorldModelImpl::open_loop(const SequenceBatch& batch, std::int64_t context) {
  torch::NoGradGuard no_grad;
  const auto steps = batch.images.size(1);
  CS_CHECK_AS(ConfigError, context >= 1 && context < steps, "open-loop context must be in 1..",
              steps - 1, ", got ", context);
  const auto embedded = embed(batch.images.narrow(1, 0, context));
  const auto cond = [&](std::int64_t from, std::int64_t n) {
    return batch.conditions.defined() ? batch.conditions.narrow(1, from, n) : torch::Tensor();
  };
  const auto first = batch.is_first.narrow(1, 0, context);
  // Filter with posterior modes over the context.
  auto state = rssm_->initial(batch.images.size(0));
  std::vector<RssmState> posts;
  for (std::int64_t t = 0; t < context; ++t) {
    const auto keep = (~first.select(1, t)).to(torch::kFloat32).view({-1, 1});
    state.deter = state.deter * keep;
    state.stoch = state.stoch * keep;
    auto action = batch.prev_actions.select(1, t) * keep;
    const auto c = cond(t, 1);
    state =
        rssm_->obs_step(state, action, c.defined() ? c.squeeze(1) : c, embedded.select(1, t), false)
            .first;
    posts.push_back(state);
  }
  const auto priors = rssm_->imagine(batch.prev_actions.narrow(1, context, steps - context),
                                     cond(context, steps - context), state, false);
  const auto observed = RssmState::stack(posts);
  const auto features = torch::cat({observed.features(), priors.features()}, 1);
  return decode(features, batch.conditions);
}

ClippedAdam::ClippedAdam(torch::nn::Module& module, double lr, double eps, double clip_norm)
    : parameters(module.parameters()),
      adam(parameters, torch::optim::AdamOptions(lr).eps(eps)),
      clip(clip_norm) {}

double ClippedAdam::step(const torch::Tensor& loss) {
  compat::zero_grad(adam);
  loss.backward();
  const double norm = torch::nn::utils::clip_grad_norm_(parameters, clip);
  adam.step();
  return norm;
}

RssmState update_world_model(WorldModel& model, ClippedAdam& optimizer, const SequenceBatch& batch,
                             WorldModelMetrics& metrics) {
  auto l = model->losses(batch);
  CS_CHECK_AS(NumericError, std::isfinite(l.total.item<double>()),
              "the world-model loss is not finite (image ", l.image.item<double>(), ", reward ",
              l.reward.item<double>(), ", kl ", l.kl.item<double>(), ")");
  metrics.grad_norm = optimizer.step(l.total);
  metrics.loss = l.total.item<double>();
  metrics.image_loss = l.image.item<double>();
  metrics.reward_loss = l.reward.item<double>();
  metrics.kl = l.kl.item<double>();
  metrics.kl_loss = l.kl_loss.item<double>();
  metrics.continuation_loss = l.continuation.defined() ? l.continuation.item<double>() : 0.0;
  metrics.prior_entropy = entropy_of(l.prior);
  metrics.posterior_entropy = entropy_of(l.posterior);
  return l.posterior.detach();
}

}  // namespace clearsight::wm
