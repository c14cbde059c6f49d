// `clearsight sensor train|variants`: third-person visual imitation with an active camera.
#include <cstdio>
#include <memory>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/sensor/bench.h"
#include "clearsight/sensor/trainer.h"
#include "commands.h"

namespace clearsight::cli {
namespace {

namespace fs = std::filesystem;

struct TrainArgs {
  std::string env = "walker-walk";
  std::string variant = "sensor";
  std::string preset = "small";
  std::vector<std::string> demos;
  std::int64_t demo_view = 0;
  std::string camera_init;
  std::int64_t image_size = 0;
  std::int64_t steps = 100000;
  bool expert_actions = false;
  std::string out, resume, config_file;
  std::vector<std::string> overrides;
  std::int64_t stop_after = 0;
  /// The parsed subcommand (which options were given).
  const CLI::App* command = nullptr;
};

int run_train(const GlobalOptions& global, const TrainArgs& a) {
  start_runtime(global);
  install_stop_handlers();  // Ctrl-C / SIGTERM: stop at the next step with a checkpoint.
  const auto run = choose_run(a.out, a.resume, "sensor", "a sensor");
  const fs::path& run_dir = run.dir;
  // A new run starts from the preset, the variant and every option; a resumed one from its
  // recorded settings with only the options given here on top (train_sensor refuses any change
  // but the step budget).
  const bool fresh = !run.recorded;
  const auto* c = a.command;
  CS_CHECK_AS(ConfigError, fresh || (!given(c, "--preset") && !given(c, "--variant")),
              "--preset and --variant choose a new run's settings; a resumed run keeps its own");
  config::Json raw;
  if (fresh) {
    sensor::SensorTrainConfig base;
    base.agent = wm::wm_preset(a.preset);
    base = sensor::sensor_variant(a.variant, base);
    raw = config::to_json(base);
    if (!a.config_file.empty()) raw.update(config::load_file(a.config_file), true);
  } else {
    raw = resumed_base(run, a.config_file);
  }
  if (fresh || given(c, "--env")) raw["agent"]["env"] = a.env;
  if (fresh || given(c, "--steps")) raw["agent"]["steps"] = a.steps;
  if (fresh || global.seed_given) raw["agent"]["seed"] = global.runtime.seed;
  if (a.image_size > 0) raw["agent"]["model"]["image_size"] = a.image_size;
  if (!a.camera_init.empty()) {
    const auto pose = parse_camera(a.camera_init);
    raw["agent"]["camera"] = {pose.distance, pose.azimuth, pose.elevation};
  }
  if (fresh || given(c, "--demos")) raw["demos"] = a.demos;
  if (fresh || given(c, "--demo-view")) raw["demo_view"] = a.demo_view;
  if (a.expert_actions) raw["sensor"]["expert_actions"] = true;
  for (const auto& o : a.overrides) config::apply_override(raw, o);
  auto cfg = config::from_json<sensor::SensorTrainConfig>(raw, "sensor");
  cfg.agent.stop_after = a.stop_after;
  const auto r = sensor::train_sensor(cfg, run_dir);
  if (!r.finished) {
    std::printf(
        "stopped at step %lld of %lld; continue with: clearsight sensor train --resume %s\n",
        static_cast<long long>(r.steps), static_cast<long long>(cfg.agent.steps), run_dir.c_str());
    return 0;
  }
  std::printf(
      "trained %s on %s for %lld steps: last eval return %.1f (best %.1f), camera gap to "
      "the expert %.3f\nrun: %s (metrics.jsonl, videos/, agent/, best/)\n",
      cfg.variant.c_str(), cfg.agent.env.c_str(), static_cast<long long>(r.steps),
      r.last_eval_return, r.best_eval_return, r.last_pose_gap, run_dir.c_str());
  return 0;
}

}  // namespace

void add_sensor_command(Context& context) {
  add_sweep_command(
      context, "bench-sensor", "SENSOR sweep: methods x viewpoint gaps x seeds, with a report",
      "configs/bench-sensor/",
      [](const config::Json& raw, const std::string& out, bool report_only) {
        sensor::bench_sensor(config::from_json<sensor::BenchSensorConfig>(raw, "bench_sensor"), out,
                             report_only);
      });
  auto* group = context.app.add_subcommand(
      "sensor", "SENSOR: imitate a third-person expert from pixels with an active camera");
  group->require_subcommand(1);
  auto t = std::make_shared<TrainArgs>();
  auto* train = group->add_subcommand("train", "Imitate pixel demonstrations (resumable)");
  train->add_option("--env", t->env, "MuJoCo environment (walker-walk, cheetah-run...)")
      ->default_val(t->env);
  train->add_option("--demos", t->demos, "Expert pixel demonstration files (demos collect)");
  train->add_option("--demo-view", t->demo_view, "Camera view of the files")
      ->default_val(t->demo_view);
  train->add_option("--camera-init", t->camera_init,
                    "Agent camera at the start: distance,azimuth,elevation");
  train->add_option("--variant", t->variant, "sensor, sensor-decoupled, fixed-camera, ...")
      ->default_val(t->variant);
  train->add_option("--preset", t->preset, "World-model preset (see `wm presets`)")
      ->default_val(t->preset);
  train->add_option("--image-size", t->image_size, "Frame side: 32, 48 or 64 (default: preset)");
  train->add_option("--steps", t->steps, "Total environment steps")->default_val(t->steps);
  train->add_flag("--expert-actions", t->expert_actions, "Use the expert's actions");
  train->add_option("--out", t->out, "Run directory (continues it if it holds a checkpoint)");
  train->add_option("--resume", t->resume, "Continue the run in this directory");
  train->add_option("--config", t->config_file, "JSON config file (sensor train fields)");
  train->add_option("--set", t->overrides,
                    "Override key=value (sensor.ensemble=3, agent.batch=8, ...)");
  train->add_option("--stop-after", t->stop_after, "Stop after this many steps (checkpointed)");
  t->command = train;
  train->callback(
      [&context, t] { context.action = [&context, t] { return run_train(context.global, *t); }; });

  auto* variants = group->add_subcommand("variants", "List SENSOR's variants and baselines");
  variants->callback([&context] {
    context.action = [] {
      for (const auto& name : sensor::sensor_variant_names()) {
        const auto c = sensor::sensor_variant(name);
        std::printf("%-21s sensor policy %-3s learning %-9s ensemble %lld, epsilon %s%s\n",
                    name.c_str(), c.sensor.sensor_policy ? "on" : "off", c.sensor.learning.c_str(),
                    static_cast<long long>(c.sensor.ensemble),
                    c.sensor.adaptive_epsilon ? "adaptive" : "fixed",
                    c.sensor.start_at_expert_camera ? ", camera at the expert's pose" : "");
      }
      return 0;
    };
  });
}

}  // namespace clearsight::cli
