// The clearsight command-line program: git-style subcommands over libclearsight.
#include <c10/util/Exception.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "clearsight/core/error.h"
#include "clearsight/core/interrupt.h"
#include "clearsight/core/log.h"
#include "clearsight/version.h"
#include "commands.h"

namespace clearsight::cli {

void start_runtime(const GlobalOptions& global) {
  log::set_verbosity(global.quiet ? -1 : global.verbosity);
  init_runtime(global.runtime);
}

}  // namespace clearsight::cli

int main(int argc, char** argv) {
  using namespace clearsight;
  CLI::App app{"ClearSight: modality-specific neurons, interpretability, and imitation learning"};
  app.set_version_flag("--version", std::string("clearsight ") + kVersion);
  app.require_subcommand(1);
  // Global options are accepted after the subcommand too (`clearsight env rollout ... --seed 0`):
  // a subcommand passes the options it does not know up to the program.
  app.fallthrough();
  cli::GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbosity, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", global.quiet, "Only errors on stderr");
  app.add_option("--threads", global.runtime.threads,
                 "Torch/BLAS threads (0: 1 on <= 2 cores, else cores/2)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--device", global.runtime.device, "cpu, cuda or cuda:N")
      ->default_val(global.runtime.device);
  app.add_option("--seed", global.runtime.seed, "Seed for every random source (0 to 2^64 - 1)")
      ->default_val(0)
      ->check(CLI::Validator(
          [](const std::string& text) {
            // CLI11 would wrap "-1" to 2^64 - 1 and saturate out-of-range values silently.
            if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
              return std::string("a seed is a non-negative integer, got '") + text + "'";
            }
            errno = 0;
            std::strtoull(text.c_str(), nullptr, 10);
            if (errno == ERANGE) return std::string("the seed ") + text + " exceeds 2^64 - 1";
            return std::string();
          },
          "SEED"));

  std::function<int()> action;
  cli::Context context{app, global, action};
  cli::add_info_command(context);
  cli::add_safetensors_command(context);
  cli::add_tokenize_command(context);
  cli::add_env_command(context);
  cli::add_mm_command(context);
  cli::add_miner_command(context);
  cli::add_rl_command(context);
  cli::add_demos_command(context);
  cli::add_wm_command(context);
  cli::add_sensor_command(context);
  cli::add_imitate_command(context);
  cli::add_explain_command(context);
  cli::add_sae_command(context);

  cli::add_selftest_command(context);

  try {
    app.parse(argc, argv);
    global.seed_given = app.count("--seed") > 0;
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; every other parse error keeps the error
    // contract: one line, exit 1.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "clearsight: usage error: %s (see --help)\n", e.what());
    return 1;
  }
  try {
    const int code = action ? action() : 0;
    if (code == 0 && stop_signal() != 0) {
      // A training stopped by Ctrl-C or SIGTERM has written its checkpoint and said how to go on;
      // the exit status still tells a scheduler that the run did not finish (128 + signal).
      std::fprintf(stderr, "clearsight: stopped by %s after writing a checkpoint\n",
                   stop_signal() == SIGINT ? "SIGINT" : "SIGTERM");
      return 128 + stop_signal();
    }
    return code;
  } catch (const Error& e) {
    std::fprintf(stderr, "clearsight: %s: %s\n", std::string(error_kind_name(e.kind())).c_str(),
                 e.what());
    if (log::verbosity() >= 2 && !e.where().empty()) {
      std::fprintf(stderr, "  (raised at %s)\n", e.where().c_str());
    }
    return 1;
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "clearsight: torch error: %s\n", e.what_without_backtrace());
    return 3;
  } catch (const nlohmann::json::exception& e) {
    // A JSON document of an unexpected shape that a reader did not check field by field.
    std::fprintf(stderr, "clearsight: format error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clearsight: unexpected error: %s\n", e.what());
    return 3;
  }
}
