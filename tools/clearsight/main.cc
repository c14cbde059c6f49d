// The clearsight command-line program: git-style subcommands over libclearsight.
#include <c10/util/Exception.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "clearsight/core/error.h"
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
  cli::GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbosity, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", global.quiet, "Only errors on stderr");
  app.add_option("--threads", global.runtime.threads,
                 "Torch/BLAS threads (0: 1 on <= 2 cores, else cores/2)")
      ->check(CLI::Range(0, 1024));
  app.add_option("--device", global.runtime.device, "cpu, cuda or cuda:N")
      ->default_val(global.runtime.device);
  app.add_option("--seed", global.runtime.seed, "Seed for every random source")->default_val(0);

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

  cli::add_selftest_command(context);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return action ? action() : 0;
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
  } catch (const std::exception& e) {
    std::fprintf(stderr, "clearsight: unexpected error: %s\n", e.what());
    return 3;
  }
}
