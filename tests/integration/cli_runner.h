// Runs the clearsight program in a shell and captures exit code, stdout and stderr.
#pragma once

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

}  // namespace clearsight::testing
