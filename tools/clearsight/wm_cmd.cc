// `clearsight wm train|eval|presets`: the pixel world-model agent (RSSM + actor-critic in
// imagination), resumable, and its evaluation.
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/strings.h"
#include "clearsight/wm/trainer.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string env = "walker-walk";
  std::string preset = "small";
  std::int64_t image_size = 0;
  std::int64_t steps = 100000;
  std::string camera;
  std::vector<std::string> demos;
  std::string out, resume, config_file;
  std::vector<std::string> overrides;
  std::int64_t stop_after = 0;
  /// The parsed subcommand (which options were given).
  const CLI::App* command = nullptr;
};

int run_train(const GlobalOptions& global, const TrainArgs& a) {
  start_runtime(global);
  install_stop_handlers();  // Ctrl-C / SIGTERM: stop at the next step with a checkpoint.
  const auto run = choose_run(a.out, a.resume, "wm", "a wm");
  const fs::path& run_dir = run.dir;
  // A new run starts from the preset and every option; a resumed one from its recorded settings
  // with only the options given here on top (train_wm refuses any change but the step budget).
  const bool fresh = !run.recorded;
  const auto* c = a.command;
  CS_CHECK_AS(ConfigError, fresh || !given(c, "--preset"),
              "--preset chooses a new run's settings; a resumed run keeps its own");
  config::Json raw =
      fresh ? config::to_json(wm::wm_preset(a.preset)) : resumed_base(run, a.config_file);
  if (fresh && !a.config_file.empty()) raw.update(config::load_file(a.config_file), true);
  if (fresh || given(c, "--env")) raw["env"] = a.env;
  if (fresh || given(c, "--steps")) raw["steps"] = a.steps;
  if (fresh || global.seed_given) raw["seed"] = global.runtime.seed;
  if (a.image_size > 0) raw["model"]["image_size"] = a.image_size;
  if (!a.camera.empty()) {
    const auto pose = parse_camera(a.camera);
    raw["camera"] = {pose.distance, pose.azimuth, pose.elevation};
  }
  if (!a.demos.empty()) raw["demos"] = a.demos;
  for (const auto& o : a.overrides) config::apply_override(raw, o);
  auto cfg = config::from_json<wm::WmTrainConfig>(raw, "wm");
  cfg.stop_after = a.stop_after;
  const auto r = wm::train_wm(cfg, run_dir);
  if (!r.finished) {
    std::printf("stopped at step %lld of %lld; continue with: clearsight wm train --resume %s\n",
                static_cast<long long>(r.steps), static_cast<long long>(cfg.steps),
                run_dir.c_str());
    return 0;
  }
  std::printf(
      "trained the world-model agent on %s for %lld steps: last eval return %.1f, best "
      "%.1f\nrun: %s (metrics.jsonl, videos/, agent/, best/)\n",
      cfg.env.c_str(), static_cast<long long>(r.steps), r.last_eval_return, r.best_eval_return,
      run_dir.c_str());
  return 0;
}

struct EvalArgs {
  std::string run;
  int episodes = 5;
  bool json = false;
  bool best = false;
  std::string gif;
};

int run_eval(const GlobalOptions& global, const EvalArgs& a) {
  start_runtime(global);
  CS_CHECK_AS(ConfigError, a.episodes >= 1, "--episodes must be at least 1");
  if (!a.gif.empty()) {
    CS_CHECK_AS(ConfigError, to_lower(fs::path(a.gif).extension().string()) == ".gif",
                "--gif must name a .gif file, got '", a.gif, "'");
  }
  auto [cfg, agent] = wm::load_wm_run(a.run, a.best);
  std::vector<std::vector<std::uint8_t>> frames;
  const auto seed = derive_seed(global.runtime.seed, "wm-eval");
  const auto stats =
      wm::evaluate_agent(*agent, cfg, a.episodes, seed, a.gif.empty() ? nullptr : &frames);
  if (!a.gif.empty()) {
    const auto size = static_cast<int>(cfg.model.image_size);
    wm::write_scaled_gif(a.gif, frames, size, size, size < 64 ? 4 : 2, 50);
  }
  if (a.json) {
    nlohmann::json j{{"run", a.run},
                     {"networks", a.best ? "best" : "agent"},
                     {"env", cfg.env},
                     {"seed", global.runtime.seed}};
    j.update(episodes_json(stats.returns, stats.lengths));
    if (!a.gif.empty()) j["gif"] = a.gif;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s on %s, %d episodes (actor mode):\n", a.run.c_str(), cfg.env.c_str(), a.episodes);
  for (std::size_t i = 0; i < stats.returns.size(); ++i) {
    std::printf("  episode %3zu  return %10.2f  length %4lld\n", i, stats.returns[i],
                static_cast<long long>(stats.lengths[i]));
  }
  std::printf("%s\n", episodes_line(stats.returns).c_str());
  if (!a.gif.empty()) std::printf("wrote %s\n", a.gif.c_str());
  return 0;
}

}  // namespace

void add_wm_command(Context& context) {
  auto* group = context.app.add_subcommand(
      "wm", "Pixel world-model agent: RSSM + actor-critic in imagination (Dreamer lineage)");
  group->require_subcommand(1);

  auto t = std::make_shared<TrainArgs>();
  auto* train =
      group->add_subcommand("train", "Train from pixels with the true reward (resumable)");
  train->add_option("--env", t->env, "MuJoCo environment (walker-walk, cheetah-run...)")
      ->default_val(t->env);
  train->add_option("--preset", t->preset, "Settings preset (see `wm presets`)")
      ->default_val(t->preset);
  train->add_option("--image-size", t->image_size, "Frame side: 32, 48 or 64 (default: preset)");
  train->add_option("--steps", t->steps, "Total environment steps")->default_val(t->steps);
  train->add_option("--camera", t->camera, "Agent camera distance,azimuth,elevation");
  train->add_option("--demos", t->demos, "Pixel demonstration files joining the replay");
  train->add_option("--out", t->out, "Run directory (continues it if it holds a checkpoint)");
  train->add_option("--resume", t->resume, "Continue the run in this directory");
  train->add_option("--config", t->config_file, "JSON config file (wm section fields)");
  train->add_option("--set", t->overrides, "Override key=value (model.deter=256, batch=8...)");
  train->add_option("--stop-after", t->stop_after, "Stop after this many steps (checkpointed)");
  t->command = train;
  train->callback(
      [&context, t] { context.action = [&context, t] { return run_train(context.global, *t); }; });

  auto e = std::make_shared<EvalArgs>();
  auto* eval = group->add_subcommand("eval", "Evaluate a world-model run's actor");
  eval->add_option("--run", e->run, "Run directory of wm train")->required();
  eval->add_option("--episodes", e->episodes, "Episodes")->default_val(e->episodes);
  eval->add_flag("--json", e->json, "Print one JSON document");
  eval->add_flag("--best", e->best, "Use the best evaluation's networks (best/)");
  eval->add_option("--gif", e->gif, "Also write the first episode as a GIF");
  eval->callback(
      [&context, e] { context.action = [&context, e] { return run_eval(context.global, *e); }; });

  auto* presets = group->add_subcommand("presets", "List the settings presets");
  presets->callback([&context] {
    context.action = [] {
      for (const auto& name : wm::wm_preset_names()) {
        const auto c = wm::wm_preset(name);
        std::printf(
            "%-11s image %lld, depth %lld, deter %lld, stoch %lld%s, batch %lld x %lld, "
            "kl balance %.1f, free nats %.1f, lr %.0e\n",
            name.c_str(), static_cast<long long>(c.model.image_size),
            static_cast<long long>(c.model.cnn_depth), static_cast<long long>(c.model.deter),
            static_cast<long long>(c.model.stoch),
            c.model.discrete > 0 ? fmt::format(" x {}", c.model.discrete).c_str() : "",
            static_cast<long long>(c.batch), static_cast<long long>(c.length), c.model.kl_balance,
            c.model.free_nats, c.model.lr);
      }
      return 0;
    };
  });
}

}  // namespace clearsight::cli
