#include "clearsight/envs/vector_env.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"

namespace clearsight::envs {

VectorEnv::VectorEnv(std::function<std::unique_ptr<Env>()> factory, int num_envs, int threads)
    : pool_(std::max(1, std::min(threads, num_envs))) {
  CS_CHECK_AS(ConfigError, num_envs >= 1, "a vector environment needs at least one environment");
  for (int i = 0; i < num_envs; ++i) envs_.push_back(factory());
  obs_size_ = spec().observation_space.size();
  act_size_ = spec().action_space.size();
  obs_buffers_.assign(num_envs, std::vector<double>(static_cast<std::size_t>(obs_size_)));
  action_buffers_.assign(num_envs, std::vector<double>(static_cast<std::size_t>(act_size_)));
  running_returns_.assign(num_envs, 0.0);
  running_lengths_.assign(num_envs, 0);
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  out_.observations = torch::zeros({num_envs, obs_size_}, f32);
  out_.final_observations = torch::zeros({num_envs, obs_size_}, f32);
  out_.rewards = torch::zeros({num_envs}, f32);
  out_.terminated = torch::zeros({num_envs}, torch::kBool);
  out_.truncated = torch::zeros({num_envs}, torch::kBool);
  out_.episode_returns = torch::zeros({num_envs}, f32);
  out_.episode_lengths = torch::zeros({num_envs}, torch::kInt64);
  actions_f64_ = torch::zeros({num_envs, act_size_}, torch::kFloat64);
}

VectorEnv::VectorEnv(const std::string& name, int num_envs, int threads)
    : VectorEnv([name] { return make_env(name); }, num_envs, threads) {}

const torch::Tensor& VectorEnv::reset(std::uint64_t seed) {
  float* obs = out_.observations.data_ptr<float>();
  pool_.parallel_for(size(), [&](int i) {
    envs_[i]->reset(derive_seed(seed, static_cast<std::uint64_t>(i)), obs_buffers_[i]);
    std::copy(obs_buffers_[i].begin(), obs_buffers_[i].end(), obs + i * obs_size_);
  });
  std::fill(running_returns_.begin(), running_returns_.end(), 0.0);
  std::fill(running_lengths_.begin(), running_lengths_.end(), 0);
  needs_reset_ = false;
  return out_.observations;
}

const VectorStep& VectorEnv::step(const torch::Tensor& actions) {
  CS_CHECK_AS(RuntimeError, !needs_reset_, "VectorEnv::step called before reset");
  CS_CHECK_AS(ShapeError,
              actions.dim() == 2 && actions.size(0) == size() && actions.size(1) == act_size_,
              spec().name, " vector step: actions have shape ", actions.sizes(), ", expected [",
              size(), ", ", act_size_, "]");
  CS_CHECK_AS(ShapeError, actions.device().is_cpu(), "vector step: actions must be on the CPU");
  actions_f64_.copy_(actions);  // Converts dtype and layout without allocating.
  const double* act = actions_f64_.data_ptr<double>();
  float* obs = out_.observations.data_ptr<float>();
  float* final_obs = out_.final_observations.data_ptr<float>();
  float* rewards = out_.rewards.data_ptr<float>();
  bool* terminated = out_.terminated.data_ptr<bool>();
  bool* truncated = out_.truncated.data_ptr<bool>();
  float* ep_returns = out_.episode_returns.data_ptr<float>();
  std::int64_t* ep_lengths = out_.episode_lengths.data_ptr<std::int64_t>();
  pool_.parallel_for(size(), [&](int i) {
    auto& buffer = action_buffers_[i];
    std::copy(act + i * act_size_, act + (i + 1) * act_size_, buffer.begin());
    const StepResult r = envs_[i]->step(buffer, obs_buffers_[i]);
    rewards[i] = static_cast<float>(r.reward);
    terminated[i] = r.terminated;
    truncated[i] = r.truncated;
    running_returns_[i] += r.reward;
    running_lengths_[i] += 1;
    float* row_final = final_obs + i * obs_size_;
    std::copy(obs_buffers_[i].begin(), obs_buffers_[i].end(), row_final);
    if (r.terminated || r.truncated) {
      ep_returns[i] = static_cast<float>(running_returns_[i]);
      ep_lengths[i] = running_lengths_[i];
      running_returns_[i] = 0.0;
      running_lengths_[i] = 0;
      envs_[i]->reset(obs_buffers_[i]);  // Continues the env's own seeded stream.
    } else {
      ep_returns[i] = 0.0f;
      ep_lengths[i] = 0;
    }
    std::copy(obs_buffers_[i].begin(), obs_buffers_[i].end(), obs + i * obs_size_);
  });
  return out_;
}

namespace {

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string from_hex(const std::string& hex) {
  CS_CHECK_AS(FormatError, hex.size() % 2 == 0, "environment state: odd-length hex string");
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    CS_THROW(FormatError, "environment state: invalid hex digit '", c, "'");
  };
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(digit(hex[2 * i]) * 16 + digit(hex[2 * i + 1]));
  }
  return out;
}

}  // namespace

nlohmann::json VectorEnv::save_state() const {
  CS_CHECK_AS(RuntimeError, !needs_reset_, "VectorEnv::save_state called before reset");
  nlohmann::json envs = nlohmann::json::array();
  for (const auto& env : envs_) envs.push_back(to_hex(env->save_state()));
  const float* obs = out_.observations.data_ptr<float>();
  return {{"env", spec().name},
          {"envs", envs},
          {"returns", running_returns_},
          {"lengths", running_lengths_},
          {"observations", std::vector<float>(obs, obs + size() * obs_size_)}};
}

void VectorEnv::load_state(const nlohmann::json& state) {
  try {
    CS_CHECK_AS(FormatError, state.at("env").get<std::string>() == spec().name,
                "vector environment state is for '", state.at("env").get<std::string>(), "', not '",
                spec().name, "'");
    const auto& envs = state.at("envs");
    const auto returns = state.at("returns").get<std::vector<double>>();
    const auto lengths = state.at("lengths").get<std::vector<std::int64_t>>();
    const auto obs = state.at("observations").get<std::vector<float>>();
    CS_CHECK_AS(ShapeError,
                static_cast<int>(envs.size()) == size() &&
                    static_cast<int>(returns.size()) == size() &&
                    static_cast<int>(lengths.size()) == size() &&
                    static_cast<std::int64_t>(obs.size()) == size() * obs_size_,
                "vector environment state holds ", envs.size(), " environments, expected ", size());
    for (int i = 0; i < size(); ++i) envs_[i]->load_state(from_hex(envs[i].get<std::string>()));
    running_returns_ = returns;
    running_lengths_ = lengths;
    std::copy(obs.begin(), obs.end(), out_.observations.data_ptr<float>());
    needs_reset_ = false;
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "vector environment state is malformed: ", e.what());
  }
}

}  // namespace clearsight::envs
