// Subcommands of the clearsight program; each file adds one command group to the app.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "clearsight/core/runtime.h"
#include "clearsight/envs/render.h"

namespace clearsight::cli {

/// Options shared by every subcommand.
struct GlobalOptions {
  int verbosity = 0;
  bool quiet = false;
  RuntimeOptions runtime;
};

/// Context handed to command registration functions.
struct Context {
  CLI::App& app;
  GlobalOptions& global;
  /// The action chosen by the parsed command line; returns the exit code.
  std::function<int()>& action;
};

/// Parses a --camera value "distance,azimuth,elevation"; throws ConfigError.
envs::CameraPose parse_camera(const std::string& text);

/// Runs init_runtime with the global options (each command calls it before heavy work).
void start_runtime(const GlobalOptions& global);

/// `clearsight info`.
void add_info_command(Context& context);
/// `clearsight safetensors inspect`.
void add_safetensors_command(Context& context);
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
/// `clearsight selftest`.
void add_selftest_command(Context& context);

}  // namespace clearsight::cli
