// Runs the clearsight program in a shell and captures exit code, stdout and stderr.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"

namespace clearsight::testing {

/// Result of one program run.
struct CliResult {
  int exit_code = -1;
  bool crashed = false;
  std::string out;
  std::string err;
};

/// Runs `clearsight ARGS` with stdout/stderr captured in files under dir.
CliResult run_cli(const std::string& args, const TempDir& dir);

/// Runs `clearsight ARGS < stdin_file` the same way.
CliResult run_cli_stdin(const std::string& args, const std::string& stdin_file, const TempDir& dir);

/// The run's stdout as JSON; a non-zero exit or non-JSON output is a test failure (and {}).
nlohmann::json cli_json(const CliResult& result);

}  // namespace clearsight::testing
