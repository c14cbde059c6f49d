#include "cli_runner.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdlib>

#include "clearsight/core/atomic_file.h"

namespace clearsight::testing {

CliResult run_cli(const std::string& args, const TempDir& dir) {
  return run_cli_stdin(args, "/dev/null", dir);
}

CliResult run_cli_stdin(const std::string& args, const std::string& stdin_file,
                        const TempDir& dir) {
  const auto out = dir / "stdout.txt";
  const auto err = dir / "stderr.txt";
  const std::string command = std::string(CS_CLI_PATH) + " " + args + " >" + out.string() + " 2>" +
                              err.string() + " <'" + stdin_file + "'";
  const int status = std::system(command.c_str());
  CliResult result;
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
    // The shell reports a signal-killed child as 128 + signal.
    result.crashed = result.exit_code > 128;
  } else {
    result.crashed = true;
  }
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

nlohmann::json cli_json(const CliResult& result) {
  EXPECT_EQ(result.exit_code, 0) << result.err;
  try {
    return nlohmann::json::parse(result.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON: " << e.what() << "\n" << result.out.substr(0, 500);
    return {};
  }
}

}  // namespace clearsight::testing
