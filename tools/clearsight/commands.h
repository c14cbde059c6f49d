// Subcommands of the clearsight program; each file adds one command group to the app.
#pragma once

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "clearsight/core/config.h"
#include "clearsight/core/runtime.h"
#include "clearsight/envs/render.h"

namespace clearsight::cli {

/// Options shared by every subcommand.
struct GlobalOptions {
  int verbosity = 0;
  bool quiet = false;
  RuntimeOptions runtime;
  /// Whether --seed was given (a resumed run keeps its recorded seed otherwise).
  bool seed_given = false;
};

/// Context handed to command registration functions.
struct Context {
  CLI::App& app;
  GlobalOptions& global;
  /// The action chosen by the parsed command line; returns the exit code.
  std::function<int()>& action;
};

/// The one JSON form of evaluated episodes (env rollout, rl eval, wm eval): "episodes" as
/// [{"return", "length"}], the "returns" and "lengths" arrays, and "return_mean", "return_std"
/// (population, 0 for one episode), "return_min", "return_max", "length_mean".
nlohmann::json episodes_json(const std::vector<double>& returns,
                             const std::vector<std::int64_t>& lengths);

/// One line for the text output: "return 12.34 +- 0.56 (min, max) over n episodes", without a
/// spread for one episode.
std::string episodes_line(const std::vector<double>& returns);

/// Parses a --dtype value (float32 / f32, bfloat16 / bf16, float16 / f16); throws
/// UnknownNameError.
torch::Dtype parse_dtype(const std::string& name);

/// Parses a --camera value "distance,azimuth,elevation"; throws ConfigError.
envs::CameraPose parse_camera(const std::string& text);

/// Where a training command writes: --out DIR, or --resume DIR with its recorded settings.
struct RunChoice {
  std::filesystem::path dir;
  /// The recorded config section of a resumed run (empty for --out).
  std::optional<config::Json> recorded;
};

/// Checks that exactly one of out and resume is given; for resume, that the directory holds
/// config.json with section and a checkpoint (IoError/FormatError naming it; kind: "a wm").
RunChoice choose_run(const std::string& out, const std::string& resume, const std::string& section,
                     const std::string& kind);

/// Whether the option was given on the command line (not just its default).
bool given(const CLI::App* command, const std::string& option);

/// The recorded config of a resumed run with a --config file's keys merged over it (a new run's
/// base is the caller's).
config::Json resumed_base(const RunChoice& run, const std::string& config_file);

/// Runs a sweep from its JSON config into an output directory (report_only: rebuild the report).
using SweepRunner =
    std::function<void(const config::Json& config, const std::string& out, bool report_only)>;

/// Adds `clearsight NAME --config F --set k=v --out DIR [--report-only]`, which runs the sweep
/// and prints its report.
void add_sweep_command(Context& context, const std::string& name, const std::string& about,
                       const std::string& config_hint, const SweepRunner& run);

/// Prints a sweep directory's report.md and where it is; returns 0.
int print_report(const std::string& out);

/// Runs init_runtime with the global options (each command calls it before heavy work).
void start_runtime(const GlobalOptions& global);

/// `clearsight info`.
void add_info_command(Context& context);
/// `clearsight safetensors inspect`.
void add_safetensors_command(Context& context);
/// Adds `clearsight tokenize` (Hugging Face byte-level BPE tokenizers).
void add_tokenize_command(Context& context);
/// `clearsight env list|info|rollout|render`.
void add_env_command(Context& context);
/// `clearsight mm train|eval|ask|hooks|tasks|sample`.
void add_mm_command(Context& context);
/// `clearsight miner score|merge|select|run`.
void add_miner_command(Context& context);
/// `clearsight rl train|eval`.
void add_rl_command(Context& context);
/// `clearsight demos collect|noise|inspect`.
void add_demos_command(Context& context);
/// `clearsight imitate --algo bc|gail|dida`.
void add_imitate_command(Context& context);
/// `clearsight wm train|eval|presets`.
void add_wm_command(Context& context);
/// `clearsight sensor train|variants` and `clearsight bench-sensor`.
void add_sensor_command(Context& context);
/// `clearsight explain METHOD`.
void add_explain_command(Context& context);

/// `clearsight sae train|eval`.
void add_sae_command(Context& context);
/// `clearsight selftest`.
void add_selftest_command(Context& context);

}  // namespace clearsight::cli
