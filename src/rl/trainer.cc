#include "clearsight/rl/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <mutex>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/checkpoint.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/log.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/resume.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/runtime.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/normalize.h"
#include "clearsight/envs/vector_env.h"
#include "clearsight/nn/module_io.h"
#include "clearsight/rl/policy_io.h"
#include "clearsight/version.h"
#include "rl/loop.h"

namespace clearsight::rl {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<std::string> rl_algorithm_names() { return {"ppo", "sac"}; }

void RlTrainConfig::validate() const {
  const auto names = envs::env_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), env) != names.end(),
              "unknown environment '", env, "' (valid: ", join(names, ", "), ")");
  const auto algos = rl_algorithm_names();
  CS_CHECK_AS(UnknownNameError, std::find(algos.begin(), algos.end(), algo) != algos.end(),
              "unknown algorithm '", algo, "' (valid: ", join(algos, ", "), ")");
  CS_CHECK_AS(ConfigError, steps > 0 && num_envs >= 1 && num_envs <= 256,
              "rl: steps must be positive and num_envs in 1..256");
  CS_CHECK_AS(ConfigError,
              eval_every > 0 && eval_episodes >= 1 && checkpoint_every > 0 && log_every > 0 &&
                  stop_after >= 0,
              "rl: eval_every, eval_episodes, checkpoint_every and log_every must be positive");
  if (algo == "sac") sac.validate();
  if (algo == "ppo") ppo.validate();
}

double EvalStats::mean() const {
  if (returns.empty()) return 0.0;
  return std::accumulate(returns.begin(), returns.end(), 0.0) / returns.size();
}

double EvalStats::stddev() const {
  if (returns.size() < 2) return 0.0;
  const double m = mean();
  double s = 0.0;
  for (double r : returns) s += (r - m) * (r - m);
  return std::sqrt(s / returns.size());
}

EvalStats evaluate_policy(Policy& policy, const std::string& env_name, int episodes,
                          std::uint64_t seed, bool deterministic,
                          const std::function<void(const envs::Env&)>& on_step) {
  CS_CHECK_AS(ConfigError, policy.env_name() == env_name, "policy was trained on '",
              policy.env_name(), "', not '", env_name, "'");
  auto env = envs::make_env(env_name);
  std::vector<double> obs(static_cast<std::size_t>(env->spec().observation_space.size()));
  std::vector<double> action(static_cast<std::size_t>(env->spec().action_space.size()));
  EvalStats stats;
  for (int e = 0; e < episodes; ++e) {
    env->reset(derive_seed(seed, static_cast<std::uint64_t>(e)), obs);
    double total = 0.0;
    std::int64_t length = 0;
    while (true) {
      policy.act(obs, action, deterministic);
      const auto r = env->step(action, obs);
      if (on_step) on_step(*env);
      total += r.reward;
      ++length;
      if (r.terminated || r.truncated) break;
    }
    stats.returns.push_back(total);
    stats.lengths.push_back(length);
  }
  return stats;
}

namespace {

LoopSettings loop_settings(const RlTrainConfig& c) {
  return {c.env, c.algo, c.seed, c.steps, c.eval_episodes, c.progress};
}

RlTrainResult run_sac(const RlTrainConfig& config, const RunDir& run, const fs::path& resume) {
  envs::VectorEnv venv(config.env, config.num_envs);
  const auto obs_size = venv.spec().observation_space.size();
  const auto act_size = venv.spec().action_space.size();
  Sac sac(config.sac, obs_size, act_size, 0, derive_seed(config.seed, "sac"));
  ReplayBuffer buffer(std::min(config.sac.buffer_size, config.steps), obs_size, act_size,
                      config.sac.batch_size);
  LoopState state;
  // Updates start once the buffer holds learning_starts transitions (random actions before that
  // on a fresh run; the current policy's after a resume without a stored buffer).
  std::int64_t updates_from = config.sac.learning_starts;
  if (!resume.empty()) {
    sac.load(resume);
    load_common(resume, state, venv);
    if (fs::exists(resume / "replay.safetensors")) {
      buffer.load(resume / "replay.safetensors");
    } else {
      updates_from = state.step + config.sac.learning_starts;
      log::warn(
          "checkpoint has no replay buffer (save_buffer off, or removed): the continuation "
          "refills it for {} steps with the current policy and is not identical to an "
          "uninterrupted run",
          config.sac.learning_starts);
    }
    log::info("resuming {} from step {}", run.path().string(), state.step);
    // Rows a killed process logged after this checkpoint are logged again from here.
    run.cut_metrics_after(state.step);
  } else {
    venv.reset(derive_seed(config.seed, "train-env"));
  }
  const Json actor_info = {{"actor", "tanh_gaussian"},
                           {"hidden", config.sac.hidden},
                           {"obs_size", obs_size},
                           {"act_size", act_size}};
  Loop loop(loop_settings(config), run);
  const std::int64_t end =
      config.stop_after > 0 ? std::min(config.steps, state.step + config.stop_after) : config.steps;
  loop.start_progress(state.step, config.steps);
  const std::int64_t n = venv.size();
  auto obs = torch::zeros({n, obs_size});
  auto random_actions = torch::zeros({n, act_size});
  SacMetrics metrics;
  bool have_metrics = false;
  auto checkpoint = [&] {
    write_checkpoint_dir(run.path(), "checkpoint", [&](const fs::path& dir) {
      sac.save(dir);
      if (config.save_buffer) buffer.save(dir / "replay.safetensors");
      save_common(dir, state, venv, Json::object());
    });
  };
  while (state.step < end && !stop_requested()) {
    obs.copy_(venv.observations());
    torch::Tensor actions;
    if (state.step < config.sac.learning_starts) {
      actions = random_actions.uniform_(-1.0, 1.0, sac.generator());
    } else {
      actions = sac.act(obs, false);
    }
    const auto& out = venv.step(actions);
    buffer.add(obs, actions, out.rewards, out.final_observations,
               out.terminated.to(torch::kFloat32));
    const std::int64_t before = state.step;
    state.step += n;
    state.record_episodes(out);
    if (state.step >= updates_from) {
      for (std::int64_t u = 0; u < config.sac.updates_per_step; ++u) {
        metrics = sac.update(buffer.sample(sac.generator()));
        have_metrics = true;
      }
    }
    if (crossed(before, state.step, config.log_every)) {
      Json record = {{"step", state.step},
                     {"episodes", state.episodes},
                     {"train_return", state.recent_mean()},
                     {"steps_per_s", loop.steps_per_second(state.step)}};
      if (have_metrics) {
        record["critic_loss"] = metrics.critic_loss.item<double>();
        record["actor_loss"] = metrics.actor_loss.item<double>();
        record["alpha"] = metrics.alpha.item<double>();
        record["q_mean"] = metrics.q_mean.item<double>();
        record["entropy"] = metrics.entropy.item<double>();
      }
      run.log_metrics(record);
      loop.progress(state);
    }
    if (crossed(before, state.step, config.eval_every) || state.step >= config.steps) {
      loop.evaluate(state, *sac.actor(), actor_info, nullptr);
      loop.progress(state);
    }
    if (crossed(before, state.step, config.checkpoint_every) && state.step < end) checkpoint();
  }
  checkpoint();
  loop.finish_progress();
  const bool finished = state.step >= config.steps;
  loop.write_summary(state, finished);
  return {state.step, finished, state.last_eval, state.best_eval};
}

/// Normalises observations [N, obs] with running statistics (updating them when training).
torch::Tensor normalize(envs::RunningMeanStd& stats, const torch::Tensor& obs, bool update) {
  const auto rows = obs.to(torch::kFloat64).contiguous();
  const std::int64_t n = rows.size(0), d = rows.size(1);
  if (update) stats.update_batch({rows.data_ptr<double>(), static_cast<std::size_t>(n * d)}, n);
  auto out = torch::empty({n, d}, torch::kFloat64);
  for (std::int64_t i = 0; i < n; ++i) {
    stats.normalize({rows.data_ptr<double>() + i * d, static_cast<std::size_t>(d)},
                    {out.data_ptr<double>() + i * d, static_cast<std::size_t>(d)});
  }
  return out.to(torch::kFloat32);
}

}  // namespace

RlTrainResult run_ppo(const RlTrainConfig& config, const RunDir& run, const fs::path& resume,
                      const PpoHooks& hooks) {
  const auto& pc = config.ppo;
  envs::VectorEnv venv(config.env, config.num_envs);
  const auto obs_size = venv.spec().observation_space.size();
  const auto act_size = venv.spec().action_space.size();
  const std::int64_t n = venv.size();
  Ppo ppo(pc, obs_size, act_size);
  RolloutBuffer rollout(pc.rollout_steps, n, obs_size, act_size);
  envs::RunningMeanStd obs_stats(obs_size);
  envs::RunningMeanStd return_stats(1);
  std::vector<double> discounted(static_cast<std::size_t>(n), 0.0);
  LoopState state;
  if (!resume.empty()) {
    ppo.load(resume);
    if (hooks.load) hooks.load(resume);
    const Json extra = load_common(resume, state, venv);
    obs_stats = envs::RunningMeanStd::load(resume / "obs_stats.safetensors");
    return_stats = envs::RunningMeanStd::load(resume / "return_stats.safetensors");
    discounted = extra.at("discounted_returns").get<std::vector<double>>();
    log::info("resuming {} from step {}", run.path().string(), state.step);
    // Rows a killed process logged after this checkpoint are logged again from here.
    run.cut_metrics_after(state.step);
  } else {
    venv.reset(derive_seed(config.seed, "train-env"));
  }
  const Json actor_info = {
      {"actor", "gaussian"}, {"hidden", pc.hidden}, {"obs_size", obs_size}, {"act_size", act_size}};
  const envs::RunningMeanStd* policy_stats = pc.normalize_observations ? &obs_stats : nullptr;
  LoopSettings settings = loop_settings(config);
  if (!hooks.label.empty()) settings.algo = hooks.label;
  Loop loop(settings, run);
  loop.annotate = hooks.annotate;
  const std::int64_t end =
      config.stop_after > 0 ? std::min(config.steps, state.step + config.stop_after) : config.steps;
  loop.start_progress(state.step, config.steps);
  auto checkpoint = [&] {
    write_checkpoint_dir(run.path(), "checkpoint", [&](const fs::path& dir) {
      ppo.save(dir);
      if (hooks.save) hooks.save(dir);
      obs_stats.save(dir / "obs_stats.safetensors");
      return_stats.save(dir / "return_stats.safetensors");
      save_common(dir, state, venv, {{"discounted_returns", discounted}});
    });
  };
  auto prepare = [&](const torch::Tensor& raw, bool update) {
    return pc.normalize_observations ? normalize(obs_stats, raw, update)
                                     : raw.to(torch::kFloat32).clone();
  };
  const std::int64_t per_rollout = pc.rollout_steps * n;
  auto raw_obs = torch::zeros({pc.rollout_steps, n, obs_size});
  auto raw_next = torch::zeros({pc.rollout_steps, n, obs_size});
  auto raw_actions = torch::zeros({pc.rollout_steps, n, act_size});
  auto env_rewards = torch::zeros({pc.rollout_steps, n});
  auto terminated = torch::zeros({pc.rollout_steps, n}, torch::kBool);
  auto bootstrap = torch::zeros({pc.rollout_steps, n}, torch::kFloat64);
  while (state.step < end && !stop_requested()) {
    const std::int64_t rollout_start = state.step;
    // Rewards are settled after the rollout, so that an imitation reward can be computed from the
    // whole rollout (hooks.relabel); normalisation and time-limit bootstraps then follow in
    // time order, exactly as if applied step by step.
    for (std::int64_t t = 0; t < pc.rollout_steps; ++t) {
      raw_obs[t].copy_(venv.observations());
      const auto obs = prepare(raw_obs[t], true);
      auto [action, logp, value] = ppo.act(obs, false);
      const auto executed = action.clamp(-1.0, 1.0);
      const auto& out = venv.step(executed);
      raw_actions[t].copy_(executed);
      raw_next[t].copy_(out.final_observations);
      env_rewards[t].copy_(out.rewards);
      terminated[t].copy_(out.terminated);
      const bool* term = out.terminated.data_ptr<bool>();
      const bool* trunc = out.truncated.data_ptr<bool>();
      auto dones = torch::zeros({n});
      for (std::int64_t i = 0; i < n; ++i) {
        if (term[i] || trunc[i]) dones[i] = 1.0f;
        double b = 0.0;
        if (trunc[i] && !term[i]) {
          // A time limit is not a terminal state: bootstrap from the final observation's value.
          b = ppo.value(prepare(out.final_observations.narrow(0, i, 1), false)).item<double>();
        }
        bootstrap[t][i] = b;
      }
      rollout.insert(t, obs, action, logp, value, torch::zeros({n}), dones);
      const std::int64_t before = state.step;
      state.step += n;
      state.record_episodes(out);
      if (crossed(before, state.step, config.log_every)) loop.progress(state);
    }
    Json hook_metrics = Json::object();
    auto rewards =
        (hooks.relabel ? hooks.relabel(raw_obs, raw_actions, raw_next, terminated, hook_metrics)
                       : env_rewards)
            .to(torch::kFloat64)
            .contiguous();
    settle_ppo_rewards(rewards, rollout.dones, bootstrap, pc.gamma,
                       pc.normalize_rewards ? &return_stats : nullptr, discounted);
    rollout.rewards.copy_(rewards);
    const auto last_values = ppo.value(prepare(venv.observations(), false));
    rollout.compute_returns(last_values, pc.gamma, pc.gae_lambda);
    const double progress = static_cast<double>(rollout_start) / config.steps;
    const auto m = ppo.update(rollout, std::min(progress, 1.0));
    Json record{{"step", state.step},
                {"episodes", state.episodes},
                {"train_return", state.recent_mean()},
                {"steps_per_s", loop.steps_per_second(state.step)},
                {"policy_loss", m.policy_loss},
                {"value_loss", m.value_loss},
                {"entropy", m.entropy},
                {"approx_kl", m.approx_kl},
                {"clip_fraction", m.clip_fraction}};
    record.update(hook_metrics);
    run.log_metrics(record);
    if (crossed(rollout_start, state.step, config.eval_every) || state.step >= config.steps) {
      loop.evaluate(state, *ppo.actor(), actor_info, policy_stats);
    }
    loop.progress(state);
    if (crossed(rollout_start, state.step, config.checkpoint_every) && state.step < end &&
        state.step + per_rollout <= end) {
      checkpoint();
    }
  }
  checkpoint();
  loop.finish_progress();
  const bool finished = state.step >= config.steps;
  loop.write_summary(state, finished, hooks.summary);
  return {state.step, finished, state.last_eval, state.best_eval};
}

RlTrainResult train_rl(const RlTrainConfig& requested, const fs::path& run_path) {
  const RunDir run = RunDir::at(run_path);
  RlTrainConfig config = requested;
  const fs::path resume = find_checkpoint_dir(run.path(), "checkpoint", "trainer_state.json");
  if (!resume.empty()) {
    // A resumed run keeps its recorded settings; only the step budget may grow.
    config = clearsight::config::from_json<RlTrainConfig>(run.read_config()["rl"], "rl");
    check_resume_settings(run.path(), "rl", clearsight::config::to_json(config),
                          clearsight::config::to_json(requested), {"steps"});
    config.steps = std::max(config.steps, requested.steps);
  }
  config.stop_after = requested.stop_after;
  config.progress = requested.progress;
  config.validate();
  Json recorded = {{"rl", clearsight::config::to_json(config)}, {"clearsight_version", kVersion}};
  run.write_config(recorded);
  if (resume.empty()) seed_everything(config.seed);
  return config.algo == "sac" ? run_sac(config, run, resume) : run_ppo(config, run, resume, {});
}

}  // namespace clearsight::rl

namespace clearsight::rl {

fs::path seed_run_dir(const fs::path& dir, std::uint64_t seed) {
  return dir / ("seed-" + std::to_string(seed));
}

std::vector<RlTrainResult> train_rl_seeds(const RlTrainConfig& config, const fs::path& dir,
                                          int seeds, int workers) {
  CS_CHECK_AS(ConfigError, seeds >= 1 && seeds <= 1024, "rl: --seeds must be in 1..1024, got ",
              seeds);
  CS_CHECK_AS(ConfigError, workers >= 1, "rl: workers must be positive");
  config.validate();
  CS_CHECK_AS(ConfigError,
              config.seed <=
                  std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(seeds - 1),
              "rl: seed ", config.seed, " + ", seeds - 1, " overflows");
  // PPO draws from torch's process-wide generator (minibatch order, action noise): its seeds run
  // one after another so that each stays identical to the same seed trained alone.
  if (config.algo != "sac") workers = 1;
  workers = std::min(workers, seeds);
  if (workers > 1) {
    // One thread per seed: intra-op and BLAS threads would only compete for the same cores.
    torch::set_num_threads(1);
    set_blas_threads(1);
  }
  fs::create_directories(dir);
  std::vector<RlTrainResult> results(static_cast<std::size_t>(seeds));
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(seeds));
  std::atomic<int> next{0};
  std::mutex done_mutex;
  int done = 0;
  auto work = [&] {
    while (true) {
      const int k = next.fetch_add(1);
      if (k >= seeds) return;
      RlTrainConfig c = config;
      c.seed = config.seed + static_cast<std::uint64_t>(k);
      c.progress = config.progress && workers == 1;
      try {
        results[static_cast<std::size_t>(k)] = train_rl(c, seed_run_dir(dir, c.seed));
      } catch (...) {
        errors[static_cast<std::size_t>(k)] = std::current_exception();
        next.store(seeds);  // Start no further seed.
      }
      std::lock_guard<std::mutex> lock(done_mutex);
      ++done;
      const auto& r = results[static_cast<std::size_t>(k)];
      if (!errors[static_cast<std::size_t>(k)]) {
        log::info("seed {} done ({}/{}): {} steps, last eval {:.1f}, best {:.1f}", c.seed, done,
                  seeds, r.steps, r.last_eval_return, r.best_eval_return);
      }
    }
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) threads.emplace_back(work);
    for (auto& t : threads) t.join();
  }
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  Json per_seed = Json::array();
  std::vector<double> best, last;
  bool finished = true;
  for (int k = 0; k < seeds; ++k) {
    const auto& r = results[static_cast<std::size_t>(k)];
    per_seed.push_back({{"seed", config.seed + static_cast<std::uint64_t>(k)},
                        {"run", seed_run_dir(dir, config.seed + k).string()},
                        {"steps", r.steps},
                        {"finished", r.finished},
                        {"last_eval_return", r.last_eval_return},
                        {"best_eval_return", r.best_eval_return}});
    best.push_back(r.best_eval_return);
    last.push_back(r.last_eval_return);
    finished = finished && r.finished;
  }
  auto stats = [](const std::vector<double>& v) {
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double ss = 0.0;
    for (double x : v) ss += (x - mean) * (x - mean);
    const double sd = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
    return Json{{"mean", mean}, {"std", sd}, {"n", v.size()}};
  };
  atomic_write(dir / "seeds.json", Json{{"env", config.env},
                                        {"algo", config.algo},
                                        {"first_seed", config.seed},
                                        {"seeds", seeds},
                                        {"workers", workers},
                                        {"finished", finished},
                                        {"last_eval_return", stats(last)},
                                        {"best_eval_return", stats(best)},
                                        {"runs", per_seed}}
                                           .dump(2) +
                                       "\n");
  return results;
}

}  // namespace clearsight::rl
