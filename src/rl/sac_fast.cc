#include "rl/sac_fast.h"

#include <cmath>

#include "clearsight/core/error.h"

namespace clearsight::rl {

namespace {

using fast::ConstMatrixView;
using fast::Matrix;

const float kHalfLog2Pi = static_cast<float>(0.5 * std::log(2.0 * M_PI));
const float kLog2 = static_cast<float>(std::log(2.0));
constexpr float kLogStdMin = static_cast<float>(kTanhGaussianLogStdMin);
constexpr float kLogStdHalfRange =
    static_cast<float>(0.5 * (kTanhGaussianLogStdMax - kTanhGaussianLogStdMin));

const float* rows_of(const torch::Tensor& t, std::int64_t cols, const char* what) {
  CS_CHECK_AS(ShapeError,
              t.dim() == 2 && t.size(1) == cols && t.scalar_type() == torch::kFloat32 &&
                  t.is_contiguous() && t.device().is_cpu(),
              "sac fast path: ", what, " must be a contiguous float32 [B, ", cols,
              "] CPU tensor, got ", t.sizes());
  return t.data_ptr<float>();
}

/// Numerically stable softplus, as torch's (threshold 20: softplus(x) = x above it).
inline float softplus(float x) {
  if (x > 20.0f) return x;
  return std::log1p(std::exp(x));
}

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

std::vector<fast::ParamSlot> concat(std::vector<fast::Mlp>& nets) {
  std::vector<fast::ParamSlot> out;
  for (auto& n : nets) {
    auto s = n.slots();
    out.insert(out.end(), s.begin(), s.end());
  }
  return out;
}

}  // namespace

SacFastPath::SacFastPath(const SacConfig& config, std::int64_t obs_size, std::int64_t act_size,
                         std::int64_t critic_extra, TanhGaussianActorImpl& actor,
                         EnsembleMlpImpl& critic, EnsembleMlpImpl& critic_target,
                         torch::Tensor log_alpha)
    : config_(config),
      obs_size_(obs_size),
      act_size_(act_size),
      critic_extra_(critic_extra),
      target_entropy_(config.target_entropy == 0.0 ? -static_cast<double>(act_size)
                                                   : config.target_entropy),
      actor_(fast::Mlp::of(*actor.trunk())),
      log_alpha_(std::move(log_alpha)) {
  for (std::int64_t e = 0; e < critic.members(); ++e) {
    critics_.push_back(fast::Mlp::member_of(critic, e));
    targets_.push_back(fast::Mlp::member_of(critic_target, e));
  }
  CS_CHECK_AS(ConfigError, critics_.size() == 2, "sac fast path: expects twin critics");
  actor_opt_ = std::make_unique<fast::Adam>(actor_.slots(), config_.actor_lr);
  critic_opt_ = std::make_unique<fast::Adam>(concat(critics_), config_.critic_lr);
  alpha_opt_ = std::make_unique<fast::Adam>(
      std::vector<fast::ParamSlot>{{log_alpha_.data_ptr<float>(), &log_alpha_grad_, 1}},
      config_.alpha_lr);
}

void SacFastPath::actor_sample(const ConstMatrixView& obs, const torch::Tensor& eps_tensor) {
  const Matrix& out = actor_.forward(obs);
  const std::int64_t b = obs.rows(), a = act_size_;
  const float* eps = eps_tensor.data_ptr<float>();
  u_.resize(b, a);
  std_.resize(b, a);
  tanh_raw_.resize(b, a);
  action_.resize(b, a);
  logp_.resize(b, 1);
  for (std::int64_t i = 0; i < b; ++i) {
    float lp = 0.0f;
    for (std::int64_t j = 0; j < a; ++j) {
      const float mean = out(i, j);
      const float t = std::tanh(out(i, a + j));
      const float log_std = kLogStdMin + kLogStdHalfRange * (t + 1.0f);
      const float s = std::exp(log_std);
      const float e = eps[i * a + j];
      const float u = mean + s * e;
      u_(i, j) = u;
      std_(i, j) = s;
      tanh_raw_(i, j) = t;
      action_(i, j) = std::tanh(u);
      lp += (-0.5f * e * e - log_std - kHalfLog2Pi) - 2.0f * (kLog2 - u - softplus(-2.0f * u));
    }
    logp_(i, 0) = lp;
  }
}

void SacFastPath::critic_min(std::vector<fast::Mlp>& critics, const Matrix& input, Matrix& out) {
  const Matrix& q0 = critics[0].forward(input);
  const Matrix& q1 = critics[1].forward(input);
  const std::int64_t b = input.rows();
  out.resize(b, 1);
  argmin_.resize(static_cast<std::size_t>(b));
  for (std::int64_t i = 0; i < b; ++i) {
    // torch's min over dim 0 keeps the first member on ties.
    const bool second = q1(i, 0) < q0(i, 0);
    argmin_[static_cast<std::size_t>(i)] = second ? 1 : 0;
    out(i, 0) = second ? q1(i, 0) : q0(i, 0);
  }
}

void SacFastPath::update(const TransitionBatch& batch, bool actor_step, at::Generator& generator,
                         SacMetrics& metrics) {
  const std::int64_t b = batch.observations.size(0);
  const std::int64_t cols = obs_size_ + critic_extra_;
  const float* obs = rows_of(batch.observations, cols, "observations");
  const float* next = rows_of(batch.next_observations, cols, "next observations");
  const float* act = rows_of(batch.actions, act_size_, "actions");
  const float* rew = rows_of(batch.rewards, 1, "rewards");
  const float* term = rows_of(batch.terminals, 1, "terminals");
  const float alpha = std::exp(log_alpha_.data_ptr<float>()[0]);
  const float gamma = static_cast<float>(config_.gamma);
  const ConstMatrixView obs_rows(obs, b, cols, Eigen::OuterStride<>(cols));
  const ConstMatrixView next_rows(next, b, cols, Eigen::OuterStride<>(cols));
  const ConstMatrixView act_rows(act, b, act_size_, Eigen::OuterStride<>(act_size_));

  // Soft Bellman target from the target critics and a fresh next action.
  const auto next_eps = at::randn({b, act_size_}, generator);
  actor_sample(ConstMatrixView(next, b, obs_size_, Eigen::OuterStride<>(cols)), next_eps);
  input_.resize(b, cols + act_size_);
  input_.leftCols(cols) = next_rows;
  input_.rightCols(act_size_) = action_;
  critic_min(targets_, input_, q_min_);
  target_.resize(b, 1);
  for (std::int64_t i = 0; i < b; ++i) {
    const float soft_v = q_min_(i, 0) - alpha * logp_(i, 0);
    target_(i, 0) = rew[i] + gamma * (1.0f - term[i]) * soft_v;
  }

  // Critics: sum over members of the mean squared error.
  input_.leftCols(cols) = obs_rows;
  input_.rightCols(act_size_) = act_rows;
  double loss = 0.0, q_sum = 0.0;
  for (auto& critic : critics_) {
    const Matrix& q = critic.forward(input_);
    dq_ = q - target_;
    loss += dq_.squaredNorm() / static_cast<double>(b);
    q_sum += q.sum();
    dq_ *= 2.0f / static_cast<float>(b);
    critic.backward(dq_, /*weight_grads=*/true, nullptr);
  }
  critic_opt_->step();
  metrics.critic_loss = torch::scalar_tensor(loss);
  metrics.q_mean = torch::scalar_tensor(q_sum / (2.0 * static_cast<double>(b)));

  if (actor_step) {
    const ConstMatrixView actor_obs(obs, b, obs_size_, Eigen::OuterStride<>(cols));
    for (std::int64_t k = 0; k < config_.policy_frequency; ++k) {
      const auto eps_tensor = at::randn({b, act_size_}, generator);
      actor_sample(actor_obs, eps_tensor);
      input_.rightCols(act_size_) = action_;
      critic_min(critics_, input_, q_min_);
      const float inv_b = 1.0f / static_cast<float>(b);
      double actor_loss = 0.0, logp_sum = 0.0;
      for (std::int64_t i = 0; i < b; ++i) {
        actor_loss += alpha * logp_(i, 0) - q_min_(i, 0);
        logp_sum += logp_(i, 0);
      }
      // dL/dQ = -1/B flows into the smaller critic of each row; dL/d(action) from both members.
      Matrix grad_action = Matrix::Zero(b, act_size_);
      for (std::size_t e = 0; e < critics_.size(); ++e) {
        dq_.setZero(b, 1);
        for (std::int64_t i = 0; i < b; ++i) {
          if (argmin_[static_cast<std::size_t>(i)] == e) dq_(i, 0) = -inv_b;
        }
        critics_[e].backward(dq_, /*weight_grads=*/false, &dinput_);
        grad_action += dinput_.rightCols(act_size_);
      }
      // Through tanh, the reparameterisation and the smooth log-std bound.
      dout_.resize(b, 2 * act_size_);
      const float dlogp = alpha * inv_b;
      const float* eps = eps_tensor.data_ptr<float>();
      for (std::int64_t i = 0; i < b; ++i) {
        for (std::int64_t j = 0; j < act_size_; ++j) {
          const float a = action_(i, j);
          const float g_u = grad_action(i, j) * (1.0f - a * a) +
                            dlogp * (2.0f - 4.0f * sigmoid(-2.0f * u_(i, j)));
          const float t = tanh_raw_(i, j);
          const float g_log_std = g_u * std_(i, j) * eps[i * act_size_ + j] - dlogp;
          dout_(i, j) = g_u;
          dout_(i, act_size_ + j) = g_log_std * kLogStdHalfRange * (1.0f - t * t);
        }
      }
      actor_.backward(dout_, /*weight_grads=*/true, nullptr);
      actor_opt_->step();
      metrics.actor_loss = torch::scalar_tensor(actor_loss / static_cast<double>(b));
      metrics.entropy = torch::scalar_tensor(-logp_sum / static_cast<double>(b));
      if (config_.autotune) {
        const double log_alpha = log_alpha_.data_ptr<float>()[0];
        const double mean_term = logp_sum / static_cast<double>(b) + target_entropy_;
        log_alpha_grad_ = static_cast<float>(-mean_term);
        alpha_opt_->step();
        metrics.alpha_loss = torch::scalar_tensor(-log_alpha * mean_term);
      }
      metrics.alpha = torch::scalar_tensor(std::exp(log_alpha_.data_ptr<float>()[0]));
    }
  }

  // Polyak averaging of the target critics.
  const float tau = static_cast<float>(config_.tau);
  for (std::size_t e = 0; e < critics_.size(); ++e) {
    auto src = critics_[e].slots();
    auto dst = targets_[e].slots();
    for (std::size_t s = 0; s < src.size(); ++s) {
      Eigen::Map<Eigen::ArrayXf> t(dst[s].value, dst[s].size);
      Eigen::Map<const Eigen::ArrayXf> v(src[s].value, src[s].size);
      t += tau * (v - t);
    }
  }
}

torch::Tensor SacFastPath::act(const torch::Tensor& observations, bool deterministic,
                               at::Generator& generator) {
  const auto obs = observations.to(torch::kFloat32).contiguous();
  CS_CHECK_AS(
      ShapeError,
      obs.dim() == 2 && (obs.size(1) == obs_size_ || obs.size(1) == obs_size_ + critic_extra_),
      "sac: observations have shape ", obs.sizes(), ", expected [N, ", obs_size_, "]");
  const std::int64_t n = obs.size(0), cols = obs.size(1);
  const ConstMatrixView rows(obs.data_ptr<float>(), n, obs_size_, Eigen::OuterStride<>(cols));
  auto result = torch::empty({n, act_size_});
  Eigen::Map<Matrix> out(result.data_ptr<float>(), n, act_size_);
  if (deterministic) {
    out = actor_.forward(rows).leftCols(act_size_).array().tanh().matrix();
  } else {
    actor_sample(rows, at::randn({n, act_size_}, generator));
    out = action_;
  }
  return result;
}

std::vector<std::pair<std::string, torch::Tensor>> SacFastPath::optimizer_state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  actor_opt_->save_to(out, "actor.");
  critic_opt_->save_to(out, "critic.");
  alpha_opt_->save_to(out, "alpha.");
  return out;
}

void SacFastPath::load_optimizer_state(
    const std::function<torch::Tensor(const std::string&)>& get) {
  actor_opt_->load_from(get, "actor.");
  critic_opt_->load_from(get, "critic.");
  alpha_opt_->load_from(get, "alpha.");
}

}  // namespace clearsight::rl
