// The parts every training loop shares (RL and imitation): step bookkeeping saved in
// checkpoints, progress display, evaluation that writes policy/ and best/, summaries, and the
// environment + generator state of an exact resumption. Private to the library.
#pragma once

#include <chrono>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/checkpoint.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/progress.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/envs/normalize.h"
#include "clearsight/envs/vector_env.h"
#include "clearsight/nn/module_io.h"
#include "clearsight/rl/policy_io.h"
#include "clearsight/rl/trainer.h"
#include "clearsight/version.h"

namespace clearsight::rl {

/// What a loop needs to know about its run.
struct LoopSettings {
  std::string env;
  std::string algo;
  std::uint64_t seed = 0;
  std::int64_t steps = 0;
  int eval_episodes = 5;
  /// Draw a progress bar.
  bool progress = true;
};

namespace fs = std::filesystem;
using Json = nlohmann::json;

/// Bookkeeping shared by both loops and saved in checkpoints.
struct LoopState {
  std::int64_t step = 0;
  std::int64_t episodes = 0;
  double best_eval = -std::numeric_limits<double>::infinity();
  double last_eval = 0.0;
  std::deque<double> recent_returns;  // Last 20 training episodes.

  Json to_json() const {
    return {{"step", step},
            {"episodes", episodes},
            {"best_eval", std::isfinite(best_eval) ? Json(best_eval) : Json(nullptr)},
            {"last_eval", last_eval},
            {"recent_returns", std::vector<double>(recent_returns.begin(), recent_returns.end())}};
  }
  void from_json(const Json& j) {
    step = j.at("step").get<std::int64_t>();
    episodes = j.at("episodes").get<std::int64_t>();
    best_eval = j.at("best_eval").is_null() ? -std::numeric_limits<double>::infinity()
                                            : j.at("best_eval").get<double>();
    last_eval = j.at("last_eval").get<double>();
    const auto r = j.at("recent_returns").get<std::vector<double>>();
    recent_returns.assign(r.begin(), r.end());
  }
  void record_episodes(const envs::VectorStep& out) {
    const auto* lengths = out.episode_lengths.data_ptr<std::int64_t>();
    const auto* returns = out.episode_returns.data_ptr<float>();
    for (std::int64_t i = 0; i < out.episode_lengths.size(0); ++i) {
      if (lengths[i] == 0) continue;
      ++episodes;
      recent_returns.push_back(returns[i]);
      if (recent_returns.size() > 20) recent_returns.pop_front();
    }
  }
  double recent_mean() const {
    if (recent_returns.empty()) return 0.0;
    return std::accumulate(recent_returns.begin(), recent_returns.end(), 0.0) /
           recent_returns.size();
  }
};

inline bool crossed(std::int64_t before, std::int64_t after, std::int64_t every) {
  return before / every != after / every;
}

/// The run's own pieces: config, directory, progress, metrics and the evaluation routine.
class Loop {
 public:
  Loop(LoopSettings settings, const RunDir& run) : config_(std::move(settings)), run_(run) {}

  void start_progress(std::int64_t from, std::int64_t to) {
    ProgressOptions options;
    options.unit = "steps";
    options.disable = !config_.progress;
    bar_ = std::make_unique<ProgressBar>(config_.algo + " " + config_.env, to, options);
    bar_->set(from);
    start_step_ = from;
    start_time_ = std::chrono::steady_clock::now();
  }
  double steps_per_second(std::int64_t step) const {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time_).count();
    return s > 0 ? (step - start_step_) / s : 0.0;
  }
  void progress(const LoopState& state) {
    bar_->set(state.step);
    bar_->set_postfix(
        fmt::format("return {:.1f} eval {:.1f}", state.recent_mean(), state.last_eval));
  }
  void finish_progress() { bar_->finish(); }

  /// Writes policy/ with the given actor, evaluates it and keeps best/.
  void evaluate(LoopState& state, const torch::nn::Module& actor, const Json& actor_info,
                const envs::RunningMeanStd* stats) {
    Json info = actor_info;
    info["env"] = config_.env;
    info["algo"] = config_.algo;
    info["steps"] = state.step;
    info["seed"] = config_.seed;
    info["clearsight_version"] = kVersion;
    write_checkpoint_dir(run_.path(), "policy",
                         [&](const fs::path& dir) { save_policy(dir, info, actor, stats); });
    auto policy = load_policy(run_.path() / "policy");
    const auto eval = evaluate_policy(*policy, config_.env, config_.eval_episodes,
                                      derive_seed(config_.seed, "eval"), true);
    state.last_eval = eval.mean();
    info["eval_return"] =
        Json{{"mean", eval.mean()}, {"std", eval.stddev()}, {"episodes", config_.eval_episodes}};
    if (annotate) annotate(info, eval);
    write_checkpoint_dir(run_.path(), "policy",
                         [&](const fs::path& dir) { save_policy(dir, info, actor, stats); });
    if (state.last_eval > state.best_eval) {
      state.best_eval = state.last_eval;
      write_checkpoint_dir(run_.path(), "best",
                           [&](const fs::path& dir) { save_policy(dir, info, actor, stats); });
    }
    const double mean_length =
        std::accumulate(eval.lengths.begin(), eval.lengths.end(), std::int64_t{0}) /
        static_cast<double>(eval.lengths.size());
    Json record{{"step", state.step},
                {"eval_return", eval.mean()},
                {"eval_return_std", eval.stddev()},
                {"eval_length", mean_length},
                {"best_eval_return", state.best_eval}};
    if (annotate) annotate(record, eval);
    run_.log_metrics(record);
    log::info("step {}: eval return {:.1f} +- {:.1f} (best {:.1f})", state.step, eval.mean(),
              eval.stddev(), state.best_eval);
  }

  void write_summary(const LoopState& state, bool finished, const Json& extra = Json::object()) {
    Json summary{{"env", config_.env},
                 {"algo", config_.algo},
                 {"seed", config_.seed},
                 {"steps", state.step},
                 {"target_steps", config_.steps},
                 {"finished", finished},
                 {"episodes", state.episodes},
                 {"last_eval_return", state.last_eval},
                 {"best_eval_return", state.best_eval},
                 {"policy", (run_.path() / "policy").string()},
                 {"best_policy", (run_.path() / "best").string()}};
    summary.update(extra);
    run_.write_json("summary.json", summary);
  }

  LoopSettings config_;
  const RunDir& run_;
  /// Adds fields to each evaluation's metrics record and policy info (normalised scores...).
  std::function<void(nlohmann::json&, const EvalStats&)> annotate;

 private:
  std::unique_ptr<ProgressBar> bar_;
  std::int64_t start_step_ = 0;
  std::chrono::steady_clock::time_point start_time_;
};

inline void save_common(const fs::path& dir, const LoopState& state, const envs::VectorEnv& venv,
                        const Json& extra) {
  Json j = state.to_json();
  j["envs"] = venv.save_state();
  j["extra"] = extra;
  atomic_write(dir / "trainer_state.json", j.dump() + "\n");
  safetensors::save(dir / "rng.safetensors", {{"torch_cpu", nn::get_rng_state()}});
}

inline Json load_common(const fs::path& dir, LoopState& state, envs::VectorEnv& venv) {
  Json j;
  try {
    j = Json::parse(read_file(dir / "trainer_state.json"));
    state.from_json(j);
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, "'", (dir / "trainer_state.json").string(), "' is malformed: ", e.what());
  }
  venv.load_state(j.at("envs"));
  nn::set_rng_state(safetensors::File::open(dir / "rng.safetensors").get("torch_cpu"));
  return j.value("extra", Json::object());
}

/// What an imitation loop adds to PPO's (GAIL with a PPO generator).
struct PpoHooks {
  /// Name recorded as the algorithm in policies and summaries (empty: "ppo").
  std::string label;
  /// Rewards [T, N] for a finished rollout from raw observations [T, N, obs], executed actions
  /// [T, N, act], next observations [T, N, obs] and termination flags [T, N]; may add metrics.
  std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                              const torch::Tensor&, Json&)>
      relabel;
  /// Extra checkpoint contents.
  std::function<void(const fs::path&)> save, load;
  /// Added to evaluation records (see Loop::annotate).
  std::function<void(Json&, const EvalStats&)> annotate;
  /// Added to summary.json.
  Json summary = Json::object();
};

/// PPO's training loop (rl train --algo ppo), with optional imitation hooks.
RlTrainResult run_ppo(const RlTrainConfig& config, const RunDir& run, const fs::path& resume,
                      const PpoHooks& hooks);

}  // namespace clearsight::rl
