#include "clearsight/rl/storage.h"

#include <algorithm>
#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"

namespace clearsight::rl {

namespace {

void check_rows(const torch::Tensor& t, std::int64_t rows, std::int64_t cols, const char* what) {
  const bool ok = cols == 0 ? (t.dim() == 1 && t.size(0) == rows)
                            : (t.dim() == 2 && t.size(0) == rows && t.size(1) == cols);
  CS_CHECK_AS(ShapeError, ok, "replay buffer: ", what, " has shape ", t.sizes(), ", expected [",
              rows, cols == 0 ? "" : ", ", cols == 0 ? "" : std::to_string(cols), "]");
}

}  // namespace

ReplayBuffer::ReplayBuffer(std::int64_t capacity, std::int64_t obs_size, std::int64_t act_size,
                           std::int64_t batch_size)
    : capacity_(capacity), obs_size_(obs_size), act_size_(act_size), batch_size_(batch_size) {
  CS_CHECK_AS(ConfigError, capacity > 0 && obs_size > 0 && act_size > 0 && batch_size > 0,
              "replay buffer: capacity, sizes and batch size must be positive");
  obs_ = torch::zeros({capacity, obs_size});
  act_ = torch::zeros({capacity, act_size});
  rew_ = torch::zeros({capacity, 1});
  next_obs_ = torch::zeros({capacity, obs_size});
  term_ = torch::zeros({capacity, 1});
  indices_ = torch::zeros({batch_size}, torch::kInt64);
  batch_.observations = torch::empty({batch_size, obs_size});
  batch_.actions = torch::empty({batch_size, act_size});
  batch_.rewards = torch::empty({batch_size, 1});
  batch_.next_observations = torch::empty({batch_size, obs_size});
  batch_.terminals = torch::empty({batch_size, 1});
}

void ReplayBuffer::add(const torch::Tensor& observations, const torch::Tensor& actions,
                       const torch::Tensor& rewards, const torch::Tensor& next_observations,
                       const torch::Tensor& terminals) {
  const std::int64_t n = observations.size(0);
  check_rows(observations, n, obs_size_, "observations");
  check_rows(actions, n, act_size_, "actions");
  check_rows(rewards, n, 0, "rewards");
  check_rows(next_observations, n, obs_size_, "next_observations");
  check_rows(terminals, n, 0, "terminals");
  // Raw copies: no tensor views are created, so adding does not allocate for float32 inputs.
  auto as_f32 = [](const torch::Tensor& t) {
    return t.scalar_type() == torch::kFloat32 && t.is_contiguous() && t.device().is_cpu()
               ? t
               : t.to(torch::kCPU, torch::kFloat32).contiguous();
  };
  const auto o = as_f32(observations), a = as_f32(actions), r = as_f32(rewards);
  const auto no = as_f32(next_observations), d = as_f32(terminals);
  const float *po = o.data_ptr<float>(), *pa = a.data_ptr<float>(), *pr = r.data_ptr<float>();
  const float *pno = no.data_ptr<float>(), *pd = d.data_ptr<float>();
  float *bo = obs_.data_ptr<float>(), *ba = act_.data_ptr<float>(), *br = rew_.data_ptr<float>();
  float *bno = next_obs_.data_ptr<float>(), *bd = term_.data_ptr<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    std::copy_n(po + i * obs_size_, obs_size_, bo + position_ * obs_size_);
    std::copy_n(pa + i * act_size_, act_size_, ba + position_ * act_size_);
    br[position_] = pr[i];
    std::copy_n(pno + i * obs_size_, obs_size_, bno + position_ * obs_size_);
    bd[position_] = pd[i];
    position_ = (position_ + 1) % capacity_;
    size_ = std::min(size_ + 1, capacity_);
    ++added_;
  }
}

TransitionBatch& ReplayBuffer::sample(c10::optional<at::Generator> generator) {
  CS_CHECK_AS(RuntimeError, size_ > 0, "replay buffer: sample() on an empty buffer");
  torch::NoGradGuard no_grad;
  indices_.random_(0, size_, generator);
  torch::index_select_out(batch_.observations, obs_, 0, indices_);
  torch::index_select_out(batch_.actions, act_, 0, indices_);
  torch::index_select_out(batch_.rewards, rew_, 0, indices_);
  torch::index_select_out(batch_.next_observations, next_obs_, 0, indices_);
  torch::index_select_out(batch_.terminals, term_, 0, indices_);
  return batch_;
}

TransitionBatch ReplayBuffer::sample_n(std::int64_t n) const {
  CS_CHECK_AS(RuntimeError, size_ > 0, "replay buffer: sample_n() on an empty buffer");
  torch::NoGradGuard no_grad;
  const auto idx = torch::randint(size_, {n}, torch::kInt64);
  return {obs_.index_select(0, idx), act_.index_select(0, idx), rew_.index_select(0, idx),
          next_obs_.index_select(0, idx), term_.index_select(0, idx)};
}

torch::Tensor ReplayBuffer::field(const std::string& name) const {
  if (name == "observations") return obs_.narrow(0, 0, size_);
  if (name == "actions") return act_.narrow(0, 0, size_);
  if (name == "rewards") return rew_.narrow(0, 0, size_).squeeze(1);
  if (name == "next_observations") return next_obs_.narrow(0, 0, size_);
  if (name == "terminals") return term_.narrow(0, 0, size_).squeeze(1);
  CS_THROW(UnknownNameError, "replay buffer has no field '", name,
           "' (valid: observations, actions, rewards, next_observations, terminals)");
}

void ReplayBuffer::save(const std::filesystem::path& path) const {
  safetensors::save(path,
                    {{"observations", obs_.narrow(0, 0, size_)},
                     {"actions", act_.narrow(0, 0, size_)},
                     {"rewards", rew_.narrow(0, 0, size_)},
                     {"next_observations", next_obs_.narrow(0, 0, size_)},
                     {"terminals", term_.narrow(0, 0, size_)}},
                    {{"format", "clearsight-replay-v1"},
                     {"capacity", std::to_string(capacity_)},
                     {"position", std::to_string(position_)},
                     {"added", std::to_string(added_)}});
}

void ReplayBuffer::load(const std::filesystem::path& path) {
  const auto file = safetensors::File::open(path);
  const auto& meta = file.metadata();
  auto get = [&](const char* key) -> std::int64_t {
    auto it = meta.find(key);
    CS_CHECK_AS(FormatError, it != meta.end(), "replay buffer file '", path.string(),
                "' lacks metadata '", key, "'");
    try {
      return std::stoll(it->second);
    } catch (const std::exception&) {
      CS_THROW(FormatError, "replay buffer file '", path.string(), "': bad ", key);
    }
  };
  CS_CHECK_AS(FormatError, meta.count("format") && meta.at("format") == "clearsight-replay-v1", "'",
              path.string(), "' is not a ClearSight replay buffer");
  const std::int64_t stored_capacity = get("capacity");
  // A larger buffer than the file's is a run extended with more steps (rl train --resume
  // --steps MORE); a smaller one would lose transitions.
  CS_CHECK_AS(ShapeError, stored_capacity <= capacity_, "replay buffer file '", path.string(),
              "' has capacity ", stored_capacity, ", more than this run's ", capacity_);
  const auto obs = file.get("observations");
  const std::int64_t n = obs.size(0);
  CS_CHECK_AS(ShapeError, n <= stored_capacity, "replay buffer file holds more rows than capacity");
  const std::int64_t position = get("position");
  CS_CHECK_AS(FormatError, position >= 0 && position < stored_capacity, "replay buffer file '",
              path.string(), "': position out of range");
  torch::NoGradGuard no_grad;
  const auto rows = [&](const char* name, std::int64_t width) {
    auto t = file.get(name, {n, width});
    // Grown: the ring is unrolled oldest first, so the next row goes after the newest.
    if (stored_capacity != capacity_ && n == stored_capacity && position > 0) {
      t = torch::cat({t.narrow(0, position, n - position), t.narrow(0, 0, position)});
    }
    return t;
  };
  obs_.narrow(0, 0, n).copy_(rows("observations", obs_size_));
  act_.narrow(0, 0, n).copy_(rows("actions", act_size_));
  rew_.narrow(0, 0, n).copy_(rows("rewards", 1));
  next_obs_.narrow(0, 0, n).copy_(rows("next_observations", obs_size_));
  term_.narrow(0, 0, n).copy_(rows("terminals", 1));
  size_ = n;
  position_ = stored_capacity == capacity_ ? position : n % capacity_;
  added_ = get("added");
}

RolloutBuffer::RolloutBuffer(std::int64_t steps, std::int64_t envs, std::int64_t obs_size,
                             std::int64_t act_size)
    : steps_(steps), envs_(envs) {
  CS_CHECK_AS(ConfigError, steps > 0 && envs > 0, "rollout buffer: sizes must be positive");
  observations = torch::zeros({steps, envs, obs_size});
  actions = torch::zeros({steps, envs, act_size});
  log_probs = torch::zeros({steps, envs});
  values = torch::zeros({steps, envs});
  rewards = torch::zeros({steps, envs});
  dones = torch::zeros({steps, envs});
  advantages = torch::zeros({steps, envs});
  returns = torch::zeros({steps, envs});
}

void RolloutBuffer::insert(std::int64_t t, const torch::Tensor& obs, const torch::Tensor& act,
                           const torch::Tensor& logp, const torch::Tensor& value,
                           const torch::Tensor& reward, const torch::Tensor& done) {
  CS_CHECK_AS(RuntimeError, t >= 0 && t < steps_, "rollout buffer: step ", t, " out of range");
  torch::NoGradGuard no_grad;
  observations[t].copy_(obs);
  actions[t].copy_(act);
  log_probs[t].copy_(logp);
  values[t].copy_(value);
  rewards[t].copy_(reward);
  dones[t].copy_(done);
}

void RolloutBuffer::compute_returns(const torch::Tensor& last_values, double gamma, double lambda) {
  torch::NoGradGuard no_grad;
  auto r = rewards.accessor<float, 2>();
  auto v = values.accessor<float, 2>();
  auto d = dones.accessor<float, 2>();
  auto adv = advantages.accessor<float, 2>();
  const auto last = last_values.to(torch::kFloat32).contiguous();
  const float* lv = last.data_ptr<float>();
  for (std::int64_t e = 0; e < envs_; ++e) {
    double gae = 0.0;
    for (std::int64_t t = steps_ - 1; t >= 0; --t) {
      const double next_value = t == steps_ - 1 ? lv[e] : v[t + 1][e];
      const double not_done = 1.0 - d[t][e];
      const double delta = r[t][e] + gamma * next_value * not_done - v[t][e];
      gae = delta + gamma * lambda * not_done * gae;
      adv[t][e] = static_cast<float>(gae);
    }
  }
  returns.copy_(advantages + values);
}

void settle_ppo_rewards(torch::Tensor& rewards, const torch::Tensor& dones,
                        const torch::Tensor& bootstrap, double gamma,
                        envs::RunningMeanStd* return_stats, std::vector<double>& discounted) {
  CS_CHECK_AS(ShapeError,
              rewards.dim() == 2 && rewards.scalar_type() == torch::kFloat64 &&
                  rewards.is_contiguous() && dones.sizes() == rewards.sizes() &&
                  bootstrap.sizes() == rewards.sizes() &&
                  static_cast<std::int64_t>(discounted.size()) == rewards.size(1),
              "settle_ppo_rewards: rewards, dones and bootstrap must be [T, N] and discounted [N]");
  auto r = rewards.accessor<double, 2>();
  const auto d = dones.accessor<float, 2>();
  const auto b = bootstrap.accessor<double, 2>();
  const auto n = rewards.size(1);
  std::vector<double> ret(static_cast<std::size_t>(n));
  for (std::int64_t t = 0; t < rewards.size(0); ++t) {
    if (return_stats != nullptr) {
      for (std::int64_t i = 0; i < n; ++i) {
        discounted[i] = discounted[i] * gamma + r[t][i];
        ret[i] = discounted[i];
      }
      return_stats->update_batch(ret, n);
      const double scale = 1.0 / std::sqrt(return_stats->var()[0] + 1e-8);
      for (std::int64_t i = 0; i < n; ++i) {
        r[t][i] = std::clamp(r[t][i] * scale, -10.0, 10.0);
        if (d[t][i] > 0) discounted[i] = 0.0;
      }
    }
    for (std::int64_t i = 0; i < n; ++i) r[t][i] += gamma * b[t][i];
  }
}

}  // namespace clearsight::rl
