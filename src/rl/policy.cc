#include "clearsight/rl/policy.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/paths.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/env.h"
#include "clearsight/envs/normalize.h"
#include "clearsight/nn/module_io.h"
#include "clearsight/rl/fast_mlp.h"
#include "clearsight/rl/networks.h"
#include "clearsight/rl/policy_io.h"

namespace clearsight::rl {

namespace fs = std::filesystem;

namespace {

constexpr char kPolicyFormat[] = "clearsight-policy-v1";

class NetworkPolicy : public Policy {
 public:
  NetworkPolicy(nlohmann::json info, std::shared_ptr<torch::nn::Module> actor, bool tanh_gaussian,
                torch::Tensor obs_mean, torch::Tensor obs_std)
      : info_(std::move(info)),
        env_(info_.at("env").get<std::string>()),
        obs_size_(info_.at("obs_size").get<std::int64_t>()),
        act_size_(info_.at("act_size").get<std::int64_t>()),
        actor_(std::move(actor)),
        tanh_gaussian_(tanh_gaussian),
        obs_mean_(std::move(obs_mean)),
        obs_std_(std::move(obs_std)) {
    // Batch-1 acting on the fast path: views of the same parameters, no autograd, no allocation.
    if (tanh_gaussian_) {
      fast_ = std::make_unique<fast::Mlp>(
          fast::Mlp::of(*static_cast<TanhGaussianActorImpl&>(*actor_).trunk()));
    } else {
      auto& a = static_cast<GaussianActorImpl&>(*actor_);
      fast_ = std::make_unique<fast::Mlp>(fast::Mlp::of(*a.mean_net()));
    }
    row_.resize(1, obs_size_);
  }
  const std::string& env_name() const override { return env_; }
  std::int64_t observation_size() const override { return obs_size_; }
  std::int64_t action_size() const override { return act_size_; }
  const nlohmann::json& info() const override { return info_; }

  void act(std::span<const double> observation, std::span<double> action,
           bool deterministic) override {
    CS_CHECK_AS(ShapeError,
                static_cast<std::int64_t>(observation.size()) == obs_size_ &&
                    static_cast<std::int64_t>(action.size()) == act_size_,
                "policy for ", env_, ": observation/action sizes ", observation.size(), "/",
                action.size(), ", expected ", obs_size_, "/", act_size_);
    for (std::int64_t i = 0; i < obs_size_; ++i) row_(0, i) = static_cast<float>(observation[i]);
    if (obs_mean_.defined()) {
      const float* m = obs_mean_.data_ptr<float>();
      const float* s = obs_std_.data_ptr<float>();
      for (std::int64_t i = 0; i < obs_size_; ++i) {
        row_(0, i) = std::clamp((row_(0, i) - m[i]) / s[i], -10.0f, 10.0f);
      }
    }
    torch::NoGradGuard no_grad;
    const fast::Matrix& out = fast_->forward(row_);
    // Noise as the LibTorch path draws it (torch's default generator, [1, act]).
    const torch::Tensor eps = deterministic ? torch::Tensor() : torch::randn({1, act_size_});
    const float* e = deterministic ? nullptr : eps.data_ptr<float>();
    if (tanh_gaussian_) {
      for (std::int64_t j = 0; j < act_size_; ++j) {
        float u = out(0, j);
        if (!deterministic) {
          const float log_std =
              static_cast<float>(kTanhGaussianLogStdMin) +
              static_cast<float>(0.5 * (kTanhGaussianLogStdMax - kTanhGaussianLogStdMin)) *
                  (std::tanh(out(0, act_size_ + j)) + 1.0f);
          u += std::exp(log_std) * e[j];
        }
        action[j] = std::tanh(u);
      }
      return;
    }
    const float* log_std = static_cast<GaussianActorImpl&>(*actor_).log_std().data_ptr<float>();
    for (std::int64_t j = 0; j < act_size_; ++j) {
      float a = out(0, j);
      if (!deterministic) a += std::exp(log_std[j]) * e[j];
      action[j] = std::clamp(a, -1.0f, 1.0f);
    }
  }

  torch::Tensor act_batch(const torch::Tensor& observations, bool deterministic) override {
    CS_CHECK_AS(ShapeError, observations.dim() == 2 && observations.size(1) == obs_size_,
                "policy for ", env_, ": observations have shape ", observations.sizes(),
                ", expected [N, ", obs_size_, "]");
    torch::NoGradGuard no_grad;
    auto obs = observations.to(torch::kFloat32);
    if (obs_mean_.defined()) obs = ((obs - obs_mean_) / obs_std_).clamp(-10.0, 10.0);
    if (tanh_gaussian_) {
      auto& a = static_cast<TanhGaussianActorImpl&>(*actor_);
      return deterministic ? a.mean_action(obs) : a.sample(obs).first;
    }
    auto& a = static_cast<GaussianActorImpl&>(*actor_);
    auto action = deterministic ? a.forward(obs) : a.sample(obs).first;
    return action.clamp(-1.0, 1.0);
  }

 private:
  nlohmann::json info_;
  std::string env_;
  std::int64_t obs_size_, act_size_;
  std::shared_ptr<torch::nn::Module> actor_;
  bool tanh_gaussian_;
  torch::Tensor obs_mean_, obs_std_;
  std::unique_ptr<fast::Mlp> fast_;
  fast::Matrix row_;
};

class RandomPolicy : public Policy {
 public:
  explicit RandomPolicy(const std::string& env) {
    const auto instance = envs::make_env(env);
    env_ = env;
    obs_size_ = instance->spec().observation_space.size();
    act_size_ = instance->spec().action_space.size();
    info_ = {{"format", kPolicyFormat},
             {"algo", "random"},
             {"env", env},
             {"obs_size", obs_size_},
             {"act_size", act_size_}};
  }
  const std::string& env_name() const override { return env_; }
  std::int64_t observation_size() const override { return obs_size_; }
  std::int64_t action_size() const override { return act_size_; }
  const nlohmann::json& info() const override { return info_; }
  void act(std::span<const double>, std::span<double> action, bool) override {
    const auto a = torch::rand({act_size_}, torch::kFloat64) * 2.0 - 1.0;
    const double* p = a.data_ptr<double>();
    for (std::int64_t i = 0; i < act_size_; ++i) action[i] = p[i];
  }
  torch::Tensor act_batch(const torch::Tensor& observations, bool) override {
    return torch::rand({observations.size(0), act_size_}) * 2.0 - 1.0;
  }

 private:
  std::string env_;
  std::int64_t obs_size_ = 0, act_size_ = 0;
  nlohmann::json info_;
};

}  // namespace

void save_policy(const fs::path& dir, const nlohmann::json& info, const torch::nn::Module& actor,
                 const envs::RunningMeanStd* obs_stats) {
  fs::create_directories(dir);
  nlohmann::json record = info;
  record["format"] = kPolicyFormat;
  record["obs_norm"] = obs_stats != nullptr;
  nn::save_parameters(actor, dir / "actor.safetensors");
  if (obs_stats != nullptr) obs_stats->save(dir / "obs_norm.safetensors");
  atomic_write(dir / "policy.json", record.dump(2) + "\n");
}

fs::path resolve_policy_dir(const fs::path& name_or_dir) {
  if (fs::exists(name_or_dir)) return name_or_dir;
  // A bare name ("swimmer") is one of the expert zoo's policies, from any working directory.
  const auto experts = assets_dir() / "experts";
  if (!name_or_dir.has_parent_path() && fs::is_directory(experts / name_or_dir)) {
    return experts / name_or_dir;
  }
  std::vector<std::string> names;
  if (fs::is_directory(experts)) {
    for (const auto& e : fs::directory_iterator(experts)) {
      if (fs::is_regular_file(e.path() / "policy.json")) names.push_back(e.path().filename());
    }
  }
  std::sort(names.begin(), names.end());
  CS_THROW(IoError, "'", name_or_dir.string(),
           "' is neither a policy directory nor an expert of the zoo (", join(names, ", "), ")",
           did_you_mean(name_or_dir.string(), names));
}

std::unique_ptr<Policy> load_policy(const fs::path& name_or_dir) {
  const fs::path dir = resolve_policy_dir(name_or_dir);
  const fs::path json_path = dir / "policy.json";
  CS_CHECK_AS(IoError, fs::is_regular_file(json_path), "'", dir.string(),
              "' is not a policy directory (no policy.json; `rl train` writes RUN_DIR/policy "
              "and RUN_DIR/best)");
  nlohmann::json info;
  try {
    info = nlohmann::json::parse(read_file(json_path));
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "'", json_path.string(), "' is not valid JSON: ", e.what());
  }
  try {
    CS_CHECK_AS(FormatError, info.value("format", "") == kPolicyFormat, "'", json_path.string(),
                "' is not a ", kPolicyFormat, " file");
    const auto env = info.at("env").get<std::string>();
    const auto instance = envs::make_env(env);  // Throws UnknownNameError for unknown envs.
    const auto obs_size = info.at("obs_size").get<std::int64_t>();
    const auto act_size = info.at("act_size").get<std::int64_t>();
    CS_CHECK_AS(ShapeError,
                obs_size == instance->spec().observation_space.size() &&
                    act_size == instance->spec().action_space.size(),
                "policy '", dir.string(), "' has sizes ", obs_size, "/", act_size, " but ", env,
                " has ", instance->spec().observation_space.size(), "/",
                instance->spec().action_space.size());
    const auto hidden = info.at("hidden").get<std::vector<std::int64_t>>();
    const auto kind = info.at("actor").get<std::string>();
    std::shared_ptr<torch::nn::Module> actor;
    bool tanh_gaussian = false;
    if (kind == "tanh_gaussian") {
      actor = std::make_shared<TanhGaussianActorImpl>(obs_size, act_size, hidden);
      tanh_gaussian = true;
    } else if (kind == "gaussian") {
      actor = std::make_shared<GaussianActorImpl>(obs_size, act_size, hidden);
    } else {
      CS_THROW(UnknownNameError, "policy '", dir.string(), "': unknown actor '", kind,
               "' (valid: tanh_gaussian, gaussian)");
    }
    nn::load_parameters(*actor, dir / "actor.safetensors");
    torch::Tensor mean, std;
    if (info.value("obs_norm", false)) {
      const auto stats = envs::RunningMeanStd::load(dir / "obs_norm.safetensors");
      CS_CHECK_AS(ShapeError, stats.dim() == obs_size, "policy '", dir.string(),
                  "': observation statistics have ", stats.dim(), " dimensions, expected ",
                  obs_size);
      mean = torch::tensor(stats.mean()).to(torch::kFloat32);
      std = (torch::tensor(stats.var()) + 1e-8).sqrt().to(torch::kFloat32);
    }
    return std::make_unique<NetworkPolicy>(info, actor, tanh_gaussian, mean, std);
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "'", json_path.string(), "' is missing a field: ", e.what());
  }
}

std::unique_ptr<Policy> make_random_policy(const std::string& env_name) {
  return std::make_unique<RandomPolicy>(env_name);
}

}  // namespace clearsight::rl
