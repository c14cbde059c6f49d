// `clearsight rl train|eval`: SAC and PPO over the MuJoCo environments, resumable, and policy
// evaluation with an optional rendered GIF.
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/pixel_env.h"
#include "clearsight/rl/trainer.h"
#include "commands.h"

namespace clearsight::cli {

namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string env = "Hopper-v4";
  std::string algo = "sac";
  std::int64_t steps = 1000000;
  int num_envs = 1;
  std::string out;
  std::string resume;
  std::string config_file;
  std::vector<std::string> overrides;
  std::int64_t stop_after = 0;
  int seeds = 0;
  int workers = 0;
  bool json = false;
  /// The parsed subcommand (which options were given).
  const CLI::App* command = nullptr;
};

// The outcome of a training run as JSON (rl train --json, imitate --json).
nlohmann::json train_json(const fs::path& run_dir, std::int64_t steps, std::int64_t total,
                          bool finished, double last, double best) {
  return {{"run_dir", run_dir.string()},
          {"steps", steps},
          {"total_steps", total},
          {"finished", finished},
          {"last_eval_return", last},
          {"best_eval_return", best},
          {"policy", (run_dir / "policy").string()},
          {"best", (run_dir / "best").string()},
          {"metrics", (run_dir / "metrics.jsonl").string()},
          {"progress_csv", (run_dir / "progress.csv").string()},
          {"eval_csv", (run_dir / "eval.csv").string()},
          {"resume", finished ? "" : "clearsight rl train --resume " + run_dir.string()}};
}

int run_train(const GlobalOptions& global, const TrainArgs& a) {
  start_runtime(global);
  install_stop_handlers();  // Ctrl-C / SIGTERM: stop at the next step with a checkpoint.
  CS_CHECK_AS(ConfigError, a.seeds >= 0 && a.workers >= 0,
              "--seeds and --workers must be positive");
  CS_CHECK_AS(ConfigError, a.seeds == 0 || a.resume.empty(),
              "--seeds: continue a multi-seed run by repeating its command with --out DIR (each "
              "DIR/seed-N continues from its checkpoint)");
  const auto run = choose_run(a.out, a.resume, "rl", "an rl");
  const fs::path run_dir = run.dir;
  // A new run starts from every option's value; a resumed one from its recorded settings with
  // only the options given here on top (train_rl refuses any change but the step budget).
  const bool fresh = !run.recorded;
  config::Json raw = fresh ? config::Json::object() : resumed_base(run, a.config_file);
  if (fresh && !a.config_file.empty()) raw = config::load_file(a.config_file);
  if (fresh || given(a.command, "--env")) raw["env"] = a.env;
  if (fresh || given(a.command, "--algo")) raw["algo"] = a.algo;
  if (fresh || given(a.command, "--steps")) raw["steps"] = a.steps;
  if (fresh || given(a.command, "--num-envs")) raw["num_envs"] = a.num_envs;
  if (fresh || global.seed_given) raw["seed"] = global.runtime.seed;
  for (const auto& o : a.overrides) config::apply_override(raw, o);
  auto cfg = config::from_json<rl::RlTrainConfig>(raw, "rl");
  cfg.stop_after = a.stop_after;
  if (a.seeds > 0) {
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int workers = a.workers > 0 ? a.workers : cores;
    const auto results = rl::train_rl_seeds(cfg, run_dir, a.seeds, workers);
    if (a.json) {
      nlohmann::json seeds = nlohmann::json::array();
      for (std::size_t k = 0; k < results.size(); ++k) {
        const auto dir = rl::seed_run_dir(run_dir, cfg.seed + k);
        auto j = train_json(dir, results[k].steps, cfg.steps, results[k].finished,
                            results[k].last_eval_return, results[k].best_eval_return);
        j["seed"] = cfg.seed + k;
        seeds.push_back(j);
      }
      std::printf("%s\n", nlohmann::json{{"run_dir", run_dir.string()},
                                         {"summary", (run_dir / "seeds.json").string()},
                                         {"seeds", seeds}}
                              .dump(2)
                              .c_str());
      return 0;
    }
    for (std::size_t k = 0; k < results.size(); ++k) {
      const auto seed = cfg.seed + k;
      std::printf("seed %llu: %lld steps%s, last eval return %.1f, best %.1f  (%s)\n",
                  static_cast<unsigned long long>(seed), static_cast<long long>(results[k].steps),
                  results[k].finished ? "" : " (stopped)", results[k].last_eval_return,
                  results[k].best_eval_return, rl::seed_run_dir(run_dir, seed).c_str());
    }
    std::printf("summary: %s/seeds.json\n", run_dir.c_str());
    return 0;
  }
  const auto result = rl::train_rl(cfg, run_dir);
  if (a.json) {
    std::printf("%s\n", train_json(run_dir, result.steps, cfg.steps, result.finished,
                                   result.last_eval_return, result.best_eval_return)
                            .dump(2)
                            .c_str());
    return 0;
  }
  if (!result.finished) {
    std::printf("stopped at step %lld of %lld; continue with: clearsight rl train --resume %s\n",
                static_cast<long long>(result.steps), static_cast<long long>(cfg.steps),
                run_dir.c_str());
    return 0;
  }
  std::printf("trained %s on %s for %lld steps: last eval return %.1f, best %.1f\n",
              cfg.algo.c_str(), cfg.env.c_str(), static_cast<long long>(result.steps),
              result.last_eval_return, result.best_eval_return);
  std::printf("policy: %s/policy (best: %s/best)\n", run_dir.c_str(), run_dir.c_str());
  return 0;
}

struct EvalArgs {
  std::string policy;
  std::string env;
  int episodes = 10;
  bool json = false;
  bool stochastic = false;
  std::string render;
  std::string camera = "3,90,-20";
  int width = 128;
  int height = 128;
};

void render_episode(rl::Policy& policy, const EvalArgs& a, std::uint64_t seed) {
  const fs::path out(a.render);
  CS_CHECK_AS(ConfigError, to_lower(out.extension().string()) == ".gif",
              "--render must name a .gif file, got '", a.render, "'");
  envs::PixelOptions options;
  options.render.width = a.width;
  options.render.height = a.height;
  options.camera = parse_camera(a.camera);
  envs::PixelEnv env(envs::make_mujoco_env(policy.env_name()), options);
  std::vector<std::uint8_t> pixels(env.observation_bytes());
  std::vector<double> obs(static_cast<std::size_t>(policy.observation_size()));
  std::vector<double> action(static_cast<std::size_t>(policy.action_size()));
  std::vector<std::vector<std::uint8_t>> frames;
  env.reset(derive_seed(seed, std::uint64_t{0}), pixels);
  frames.push_back(pixels);
  while (true) {
    env.env().observation(obs);
    policy.act(obs, action, !a.stochastic);
    const auto r = env.step(action, pixels);
    frames.push_back(pixels);
    if (r.terminated || r.truncated) break;
  }
  write_gif(out, frames, a.width, a.height, static_cast<int>(std::lround(1000.0 * env.spec().dt)));
  std::printf("wrote %s (%zu frames)\n", a.render.c_str(), frames.size());
}

int run_eval(const GlobalOptions& global, const EvalArgs& a) {
  start_runtime(global);
  CS_CHECK_AS(ConfigError, a.episodes >= 1, "--episodes must be at least 1");
  auto policy = rl::load_policy(a.policy);
  const std::string env = a.env.empty() ? policy->env_name() : a.env;
  const auto seed = derive_seed(global.runtime.seed, "eval");
  const auto stats = rl::evaluate_policy(*policy, env, a.episodes, seed, !a.stochastic);
  if (a.json) {
    nlohmann::json j = {{"policy", a.policy},
                        {"env", env},
                        {"deterministic", !a.stochastic},
                        {"seed", global.runtime.seed}};
    j.update(episodes_json(stats.returns, stats.lengths));
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s on %s, %d episodes (%s):\n", a.policy.c_str(), env.c_str(), a.episodes,
                a.stochastic ? "stochastic" : "deterministic");
    for (std::size_t i = 0; i < stats.returns.size(); ++i) {
      std::printf("  episode %3zu  return %10.2f  length %4lld\n", i, stats.returns[i],
                  static_cast<long long>(stats.lengths[i]));
    }
    std::printf("%s\n", episodes_line(stats.returns).c_str());
  }
  if (!a.render.empty()) render_episode(*policy, a, seed);
  return 0;
}

}  // namespace

void add_rl_command(Context& context) {
  auto* group = context.app.add_subcommand("rl", "Reinforcement learning: SAC and PPO");
  group->require_subcommand(1);

  auto t = std::make_shared<TrainArgs>();
  auto* train = group->add_subcommand("train", "Train a policy (resumable)");
  train->add_option("--env", t->env, "Environment name")->default_val(t->env);
  train->add_flag("--json", t->json, "Print the outcome as one JSON document");
  train->add_option("--algo", t->algo, "sac or ppo")->default_val(t->algo);
  train->add_option("--steps", t->steps, "Total environment steps")->default_val(t->steps);
  train->add_option("--num-envs", t->num_envs, "Parallel environments")->default_val(t->num_envs);
  train->add_option("--out", t->out, "Run directory (continues it if it holds a checkpoint)");
  train->add_option("--resume", t->resume, "Continue the run in this directory");
  train->add_option("--config", t->config_file, "JSON config file (rl section fields)");
  train->add_option("--set", t->overrides, "Override key=value (sac.batch_size=128, ...)");
  train->add_option("--stop-after", t->stop_after, "Stop after this many steps (checkpointed)");
  train->add_option("--seeds", t->seeds,
                    "Train this many seeds (--seed, --seed + 1, ...) into OUT/seed-N, in parallel");
  train->add_option("--workers", t->workers, "Seeds trained at once (default: the cores)");
  t->command = train;
  train->callback(
      [&context, t] { context.action = [&context, t] { return run_train(context.global, *t); }; });

  auto e = std::make_shared<EvalArgs>();
  auto* eval = group->add_subcommand("eval", "Evaluate a policy directory");
  eval->add_option("--policy", e->policy, "Policy directory (RUN_DIR/policy, RUN_DIR/best)")
      ->required();
  eval->add_option("--env", e->env, "Environment (default: the policy's)");
  eval->add_option("--episodes", e->episodes, "Episodes")->default_val(e->episodes);
  eval->add_flag("--json", e->json, "Print one JSON document");
  eval->add_flag("--stochastic", e->stochastic, "Sample actions instead of the mean");
  eval->add_option("--render", e->render, "Also render the first episode to this GIF");
  eval->add_option("--camera", e->camera, "distance,azimuth,elevation for --render")
      ->default_val(e->camera);
  eval->add_option("--width", e->width, "GIF width")->default_val(e->width);
  eval->add_option("--height", e->height, "GIF height")->default_val(e->height);
  eval->callback(
      [&context, e] { context.action = [&context, e] { return run_eval(context.global, *e); }; });
}

}  // namespace clearsight::cli
