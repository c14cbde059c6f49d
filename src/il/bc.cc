#include "clearsight/il/bc.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clearsight/core/checkpoint.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/env.h"
#include "clearsight/envs/normalize.h"
#include "clearsight/il/noise.h"
#include "clearsight/il/scores.h"
#include "clearsight/nn/module_io.h"
#include "clearsight/rl/networks.h"
#include "clearsight/rl/policy.h"
#include "clearsight/rl/policy_io.h"
#include "clearsight/rl/trainer.h"
#include "clearsight/version.h"

namespace clearsight::il {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void BcConfig::validate() const {
  CS_CHECK_AS(ConfigError, !hidden.empty(), "bc: hidden must list at least one layer size");
  for (const auto h : hidden) {
    CS_CHECK_AS(ConfigError, h > 0, "bc: hidden layer sizes must be positive, got ", h);
  }
  CS_CHECK_AS(ConfigError, std::isfinite(lr) && lr > 0, "bc: lr must be positive, got ", lr);
  CS_CHECK_AS(ConfigError, batch_size > 0, "bc: batch_size must be positive, got ", batch_size);
  CS_CHECK_AS(ConfigError, steps > 0, "bc: steps must be positive, got ", steps);
  CS_CHECK_AS(ConfigError, std::isfinite(entropy_coef) && entropy_coef >= 0,
              "bc: entropy_coef must be >= 0, got ", entropy_coef);
  CS_CHECK_AS(ConfigError, std::isfinite(l2) && l2 >= 0, "bc: l2 must be >= 0, got ", l2);
  CS_CHECK_AS(ConfigError, validation_share >= 0 && validation_share < 1,
              "bc: validation_share must be in [0, 1), got ", validation_share);
  CS_CHECK_AS(ConfigError, eval_every > 0, "bc: eval_every must be positive, got ", eval_every);
  CS_CHECK_AS(ConfigError, eval_episodes >= 0, "bc: eval_episodes must be >= 0, got ",
              eval_episodes);
  CS_CHECK_AS(ConfigError, log_every > 0, "bc: log_every must be positive, got ", log_every);
}

namespace {

constexpr double kActionBound = 0.999;
constexpr std::int64_t kChunk = 65536;

/// Negative log-likelihood per transition and squared error of the mean action per entry.
struct Fit {
  double nll = std::numeric_limits<double>::quiet_NaN();
  double mse = std::numeric_limits<double>::quiet_NaN();
};

Fit measure(rl::GaussianActorImpl& actor, const torch::Tensor& obs, const torch::Tensor& actions) {
  const std::int64_t n = obs.size(0);
  if (n == 0) return {};
  torch::NoGradGuard no_grad;
  double log_prob = 0.0, squared = 0.0;
  for (std::int64_t at = 0; at < n; at += kChunk) {
    const auto o = obs.slice(0, at, std::min(n, at + kChunk));
    const auto a = actions.slice(0, at, std::min(n, at + kChunk));
    log_prob += actor.log_prob_entropy(o, a).first.sum().item<double>();
    squared += (actor.forward(o) - a).square().sum().item<double>();
  }
  return {-log_prob / n, squared / (static_cast<double>(n) * actions.size(1))};
}

/// JSON number, or null when not finite.
Json number_or_null(double x) { return std::isfinite(x) ? Json(x) : Json(nullptr); }

/// The compact noise spec of the demonstrations ("none" when clean).
std::string noise_spec_of(const DemoMetadata& meta) {
  if (meta.noise.empty()) return "none";
  try {
    return NoiseSpec::from_json(Json::parse(meta.noise)).to_string();
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(ConfigError, "the demonstrations' noise record is not JSON: ", e.what());
  }
}

}  // namespace

BcResult train_bc(const DemoDataset& demos, const BcConfig& config, const fs::path& run_dir) {
  config.validate();
  demos.validate();
  check_demos_fit_env(demos);
  const std::string& env = demos.meta.env;
  const std::string noise_spec = noise_spec_of(demos.meta);
  const std::int64_t n = demos.size();
  const std::int64_t obs_size = demos.observation_size();
  const std::int64_t act_size = demos.action_size();
  const std::int64_t n_val =
      config.validation_share > 0
          ? std::max<std::int64_t>(1, std::llround(config.validation_share * n))
          : 0;
  CS_CHECK_AS(ConfigError, n - n_val >= 1, "bc: ", n,
              " transitions leave none for training after holding out validation_share ",
              config.validation_share);

  seed_everything(config.seed);
  const RunDir run = RunDir::at(run_dir);
  std::error_code ec;
  if (fs::remove(run.path() / "metrics.jsonl", ec)) {
    log::info("bc: replacing the previous run in {}", run.path().string());
  }
  Json resolved = config::to_json(config);
  resolved["env"] = env;
  run.write_config(resolved);

  // Split, observation statistics over all demonstrations, normalised inputs.
  const auto perm = torch::randperm(n, torch::kLong);
  const auto val_idx = perm.slice(0, 0, n_val);
  const auto train_idx = perm.slice(0, n_val, n);
  envs::RunningMeanStd obs_stats(obs_size);
  auto obs = demos.observations.to(torch::kFloat32);
  if (config.normalize_observations) {
    const auto rows = demos.observations.to(torch::kFloat64).contiguous();
    obs_stats.update_batch({rows.data_ptr<double>(), static_cast<std::size_t>(n * obs_size)}, n);
    // Exactly the transformation rl::load_policy applies to the saved statistics.
    const auto mean = torch::tensor(obs_stats.mean()).to(torch::kFloat32);
    const auto std = (torch::tensor(obs_stats.var()) + 1e-8).sqrt().to(torch::kFloat32);
    obs = ((obs - mean) / std).clamp(-10.0, 10.0);
  }
  const auto actions = demos.actions.to(torch::kFloat32).clamp(-kActionBound, kActionBound);
  const auto train_obs = obs.index_select(0, train_idx);
  const auto train_act = actions.index_select(0, train_idx);
  const auto val_obs = obs.index_select(0, val_idx);
  const auto val_act = actions.index_select(0, val_idx);
  const std::int64_t n_train = train_obs.size(0);

  rl::GaussianActor actor(obs_size, act_size, config.hidden);
  torch::optim::Adam optimizer(actor->parameters(), torch::optim::AdamOptions(config.lr));
  std::vector<torch::Tensor> weights;
  for (const auto& item : actor->named_parameters()) {
    if (item.key().ends_with("weight")) weights.push_back(item.value());
  }
  const envs::RunningMeanStd* policy_stats = config.normalize_observations ? &obs_stats : nullptr;
  const std::string demos_name =
      config.demos.empty() ? "" : fs::path(config.demos).filename().string();
  const bool scored = has_d4rl_reference(env);

  BcResult result;
  result.train_size = n_train;
  result.validation_size = n_val;
  result.policy_dir = run.path() / "policy";
  result.best_dir = run.path() / "best";
  double best_score = -std::numeric_limits<double>::infinity();
  Fit last_fit;

  // Writes policy/ (evaluated when asked) and best/ when it beats the best so far.
  auto checkpoint = [&](std::int64_t step, Json& record) {
    last_fit = measure(*actor, val_obs, val_act);
    Json info = {{"env", env},
                 {"algo", "bc"},
                 {"actor", "gaussian"},
                 {"hidden", config.hidden},
                 {"obs_size", obs_size},
                 {"act_size", act_size},
                 {"steps", step},
                 {"seed", config.seed},
                 {"demos", demos_name},
                 {"noise_spec", noise_spec},
                 {"validation_nll", number_or_null(last_fit.nll)},
                 {"clearsight_version", kVersion}};
    auto write = [&](const std::string& name) {
      write_checkpoint_dir(run.path(), name, [&](const fs::path& dir) {
        rl::save_policy(dir, info, *actor, policy_stats);
      });
    };
    write("policy");
    double score = static_cast<double>(step);  // Nothing measured: the latest is the best.
    if (config.eval_episodes > 0) {
      auto policy = rl::load_policy(result.policy_dir);
      const auto eval = rl::evaluate_policy(*policy, env, config.eval_episodes,
                                            derive_seed(config.seed, "eval"), true);
      result.final_eval_return = score = eval.mean();
      info["eval_return"] = {
          {"mean", eval.mean()}, {"std", eval.stddev()}, {"episodes", config.eval_episodes}};
      if (scored) info["eval_normalized_score"] = d4rl_normalized_score(env, eval.mean());
      write("policy");
      record["eval_return"] = eval.mean();
      record["eval_return_std"] = eval.stddev();
      record["eval_length"] =
          std::accumulate(eval.lengths.begin(), eval.lengths.end(), std::int64_t{0}) /
          static_cast<double>(eval.lengths.size());
      if (scored) record["eval_normalized_score"] = d4rl_normalized_score(env, eval.mean());
    } else if (n_val > 0) {
      score = -last_fit.nll;
    }
    if (score > best_score) {
      best_score = score;
      if (config.eval_episodes > 0) result.best_eval_return = score;
      write("best");
    }
    if (config.eval_episodes > 0) record["best_eval_return"] = result.best_eval_return;
  };

  ProgressOptions progress_options;
  progress_options.unit = "steps";
  ProgressBar bar("bc " + env, config.steps, progress_options);
  const auto start = std::chrono::steady_clock::now();
  double train_loss = 0.0, train_nll = 0.0, entropy = 0.0;
  for (std::int64_t step = 1; step <= config.steps; ++step) {
    const auto idx = torch::randint(n_train, {config.batch_size}, torch::kLong);
    const auto [log_prob, ent] =
        actor->log_prob_entropy(train_obs.index_select(0, idx), train_act.index_select(0, idx));
    const auto nll = -log_prob.mean();
    const auto mean_entropy = ent.mean();
    auto loss = nll - config.entropy_coef * mean_entropy;
    if (config.l2 > 0) {
      for (const auto& w : weights) loss = loss + config.l2 * w.square().sum();
    }
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    bar.advance();

    const bool log_now = step % config.log_every == 0;
    const bool eval_now = step % config.eval_every == 0 || step == config.steps;
    if (!log_now && !eval_now) continue;
    train_loss = loss.item<double>();
    train_nll = nll.item<double>();
    entropy = mean_entropy.item<double>();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    Json record = {{"step", step},
                   {"train_loss", train_loss},
                   {"train_nll", train_nll},
                   {"entropy", entropy},
                   {"log_std_mean", actor->log_std().mean().item<double>()},
                   {"steps_per_s", seconds > 0 ? step / seconds : 0.0}};
    if (eval_now) {
      // Loading the policy initialises a network: keep the minibatch stream independent of the
      // evaluation settings.
      const auto rng_state = nn::get_rng_state();
      checkpoint(step, record);
      nn::set_rng_state(rng_state);
    } else {
      last_fit = measure(*actor, val_obs, val_act);
    }
    record["validation_nll"] = number_or_null(last_fit.nll);
    record["validation_mse"] = number_or_null(last_fit.mse);
    run.log_metrics(record);
    std::string postfix = fmt::format("nll {:.3f}", train_nll);
    if (n_val > 0) postfix += fmt::format(" val {:.3f} mse {:.4f}", last_fit.nll, last_fit.mse);
    if (config.eval_episodes > 0) postfix += fmt::format(" eval {:.1f}", result.final_eval_return);
    bar.set_postfix(postfix);
  }
  bar.finish();

  result.steps = config.steps;
  result.final_validation_nll = last_fit.nll;
  result.final_validation_mse = last_fit.mse;
  result.final_train_loss = train_loss;
  Json noise = nullptr;
  if (!demos.meta.noise.empty()) noise = Json::parse(demos.meta.noise);
  Json summary = {{"env", env},
                  {"algo", "bc"},
                  {"demos", demos_name.empty() ? Json(nullptr) : Json(demos_name)},
                  {"expert", demos.meta.expert},
                  {"expert_return", number_or_null(demos.meta.expert_return)},
                  {"noise_spec", noise_spec},
                  {"noise", noise},
                  {"transitions", n},
                  {"episodes", demos.episodes()},
                  {"train_size", n_train},
                  {"validation_size", n_val},
                  {"steps", config.steps},
                  {"seed", config.seed},
                  {"final_eval_return", number_or_null(result.final_eval_return)},
                  {"best_eval_return", number_or_null(result.best_eval_return)},
                  {"final_validation_nll", number_or_null(result.final_validation_nll)},
                  {"final_validation_mse", number_or_null(result.final_validation_mse)},
                  {"final_train_loss", train_loss},
                  {"policy", result.policy_dir.string()},
                  {"best_policy", result.best_dir.string()}};
  if (scored) {
    summary["final_eval_normalized_score"] =
        number_or_null(d4rl_normalized_score(env, result.final_eval_return));
    summary["best_eval_normalized_score"] =
        number_or_null(d4rl_normalized_score(env, result.best_eval_return));
  }
  run.write_json("summary.json", summary);
  log::info("bc {}: {} steps, validation nll {:.3f} mse {:.4f}, eval return {:.1f} (best {:.1f})",
            env, config.steps, result.final_validation_nll, result.final_validation_mse,
            result.final_eval_return, result.best_eval_return);
  return result;
}

}  // namespace clearsight::il
