// `clearsight imitate`: imitation from (noisy) demonstrations with BC, GAIL or DIDA, resumable,
// with evaluation curves and a summary.json in the run directory.
#include <cmath>
#include <cstdio>
#include <memory>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/il/bc.h"
#include "clearsight/il/bench.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/imitate.h"
#include "commands.h"

namespace clearsight::cli {

namespace {

namespace fs = std::filesystem;

struct ImitateArgs {
  std::string algo = "dida";
  std::string env = "Hopper-v4";
  std::string demos;
  std::int64_t steps = 0;
  std::string out;
  std::string resume;
  std::string config_file;
  std::vector<std::string> overrides;
  std::int64_t stop_after = 0;
  bool json = false;
  /// The parsed subcommand (which options were given).
  const CLI::App* command = nullptr;
};

// A finite number as JSON, NaN (not measured) as null.
nlohmann::json number_or_null(double x) { return std::isfinite(x) ? nlohmann::json(x) : nullptr; }

int run_bc(const GlobalOptions& global, const ImitateArgs& a) {
  CS_CHECK_AS(ConfigError, !a.out.empty() && a.resume.empty(),
              "bc trains in minutes and is not resumable: give --out RUN_DIR");
  config::Json raw = config::Json::object();
  if (!a.config_file.empty()) raw = config::load_file(a.config_file);
  raw["seed"] = global.runtime.seed;
  if (!a.demos.empty()) raw["demos"] = a.demos;
  if (a.steps > 0) raw["steps"] = a.steps;
  for (const auto& o : a.overrides) config::apply_override(raw, o);
  const auto cfg = config::from_json<il::BcConfig>(raw, "bc");
  CS_CHECK_AS(ConfigError, !cfg.demos.empty(),
              "imitate needs demonstrations: --demos FILE.h5 (or \"demos\" in --config)");
  const auto demos = il::load_demos(cfg.demos, a.env);
  const auto result = il::train_bc(demos, cfg, a.out);
  if (a.json) {
    std::printf("%s\n",
                nlohmann::json{{"run_dir", a.out},
                               {"algo", "bc"},
                               {"env", a.env},
                               {"steps", result.steps},
                               {"finished", true},
                               {"train_transitions", result.train_size},
                               {"validation_transitions", result.validation_size},
                               {"validation_nll", number_or_null(result.final_validation_nll)},
                               {"validation_mse", number_or_null(result.final_validation_mse)},
                               {"last_eval_return", number_or_null(result.final_eval_return)},
                               {"best_eval_return", number_or_null(result.best_eval_return)},
                               {"policy", result.policy_dir.string()},
                               {"best", result.best_dir.string()}}
                    .dump(2)
                    .c_str());
    return 0;
  }
  std::printf(
      "bc on %s (%lld transitions): validation NLL %.3f, MSE %.4f; eval return %.1f "
      "(best %.1f)\npolicy: %s/policy\n",
      a.env.c_str(), static_cast<long long>(result.train_size), result.final_validation_nll,
      result.final_validation_mse, result.final_eval_return, result.best_eval_return,
      a.out.c_str());
  return 0;
}

int run_imitate(const GlobalOptions& global, const ImitateArgs& a) {
  start_runtime(global);
  install_stop_handlers();  // Ctrl-C / SIGTERM: stop at the next step with a checkpoint.
  if (a.algo == "bc") return run_bc(global, a);
  CS_CHECK_AS(ConfigError, a.out.empty() != a.resume.empty(),
              "give exactly one of --out RUN_DIR (new or continued run) and --resume RUN_DIR");
  // A new run starts from every option's value; a resumed one from its recorded settings with
  // only the options given here on top (il::imitate refuses any change but the step budget).
  const bool fresh = a.resume.empty();
  const fs::path run_dir = fresh ? a.out : a.resume;
  config::Json raw = config::Json::object();
  if (fresh) {
    if (!a.config_file.empty()) raw = config::load_file(a.config_file);
  } else {
    CS_CHECK_AS(IoError, fs::exists(run_dir / "config.json"), "--resume: '", a.resume,
                "' is not an imitation run directory (no config.json)");
    const auto recorded = config::load_file(run_dir / "config.json");
    CS_CHECK_AS(FormatError, recorded.contains("imitate"), "--resume: '", a.resume,
                "/config.json' has no \"imitate\" section (a run of another command?)");
    raw = recorded["imitate"];
    if (!a.config_file.empty()) raw.merge_patch(config::load_file(a.config_file));
  }
  if (fresh || given(a.command, "--algo")) raw["algo"] = a.algo;
  if (fresh || given(a.command, "--env")) raw["env"] = a.env;
  if (!a.demos.empty()) raw["demos"] = a.demos;
  if (a.steps > 0) raw["steps"] = a.steps;
  if (fresh || global.seed_given) raw["seed"] = global.runtime.seed;
  for (const auto& o : a.overrides) config::apply_override(raw, o);
  auto cfg = config::from_json<il::ImitateConfig>(raw, "imitate");
  CS_CHECK_AS(ConfigError, !cfg.demos.empty(),
              "imitate needs demonstrations: --demos FILE.h5 (or \"demos\" in --config)");
  cfg.stop_after = a.stop_after;
  const auto result = il::imitate(cfg, run_dir);
  if (a.json) {
    std::printf(
        "%s\n",
        nlohmann::json{
            {"run_dir", run_dir.string()},
            {"algo", cfg.algo},
            {"env", cfg.env},
            {"steps", result.steps},
            {"total_steps", cfg.steps},
            {"finished", result.finished},
            {"last_eval_return", result.last_eval_return},
            {"best_eval_return", result.best_eval_return},
            {"summary", result.finished ? (run_dir / "summary.json").string() : ""},
            {"resume", result.finished ? "" : "clearsight imitate --resume " + run_dir.string()}}
            .dump(2)
            .c_str());
    return 0;
  }
  if (!result.finished) {
    std::printf("stopped at step %lld of %lld; continue with: clearsight imitate --resume %s\n",
                static_cast<long long>(result.steps), static_cast<long long>(cfg.steps),
                run_dir.c_str());
    return 0;
  }
  std::printf("%s on %s for %lld steps: last eval return %.1f, best %.1f\nsummary: %s\n",
              cfg.algo.c_str(), cfg.env.c_str(), static_cast<long long>(result.steps),
              result.last_eval_return, result.best_eval_return, (run_dir / "summary.json").c_str());
  return 0;
}

}  // namespace

void add_imitate_command(Context& context) {
  add_sweep_command(
      context, "bench-il",
      "Imitation benchmark sweep: algorithms x demo noise x seeds, with a report",
      "configs/bench-il/", [](const config::Json& raw, const std::string& out, bool report_only) {
        il::bench_il(config::from_json<il::BenchIlConfig>(raw, "bench_il"), out, report_only);
      });
  auto a = std::make_shared<ImitateArgs>();
  auto* cmd = context.app.add_subcommand(
      "imitate", "Imitation from demonstrations: bc, gail or dida (resumable)");
  cmd->add_option("--algo", a->algo, "bc, gail or dida")->default_val(a->algo);
  cmd->add_option("--env", a->env, "Environment name")->default_val(a->env);
  cmd->add_flag("--json", a->json, "Print the outcome as one JSON document");
  cmd->add_option("--demos", a->demos, "Demonstrations file (HDF5, `demos collect`)");
  cmd->add_option("--steps", a->steps, "Environment steps (bc: gradient steps)");
  cmd->add_option("--out", a->out, "Run directory (continues it if it holds a checkpoint)");
  cmd->add_option("--resume", a->resume, "Continue the run in this directory");
  cmd->add_option("--config", a->config_file, "JSON config file");
  cmd->add_option("--set", a->overrides, "Override key=value (dida.anchor=false, ...)");
  cmd->add_option("--stop-after", a->stop_after, "Stop after this many steps (checkpointed)");
  a->command = cmd;
  cmd->callback([&context, a] {
    context.action = [&context, a] { return run_imitate(context.global, *a); };
  });
}

}  // namespace clearsight::cli
