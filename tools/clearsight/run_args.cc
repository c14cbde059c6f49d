// The --out / --resume choice every resumable training command shares, and the report printout
// of the benchmark sweeps.
#include <cstdio>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "commands.h"

namespace clearsight::cli {

namespace fs = std::filesystem;

RunChoice choose_run(const std::string& out, const std::string& resume, const std::string& section,
                     const std::string& kind) {
  CS_CHECK_AS(ConfigError, out.empty() != resume.empty(),
              "give exactly one of --out RUN_DIR (new or continued run) and --resume RUN_DIR");
  RunChoice choice;
  if (resume.empty()) {
    choice.dir = out;
    return choice;
  }
  choice.dir = resume;
  CS_CHECK_AS(IoError, fs::exists(choice.dir / "config.json"), "--resume: '", resume, "' is not ",
              kind, " run directory (no config.json)");
  const auto recorded = config::load_file(choice.dir / "config.json");
  CS_CHECK_AS(FormatError, recorded.contains(section), "--resume: '", resume,
              "/config.json' has no \"", section, "\" section (a run of another command?)");
  CS_CHECK_AS(IoError,
              fs::exists(choice.dir / "checkpoint" / "trainer_state.json") ||
                  fs::exists(choice.dir / "checkpoint-old" / "trainer_state.json"),
              "--resume: '", resume, "' holds no checkpoint");
  choice.recorded = recorded.at(section);
  return choice;
}

int print_report(const std::string& out) {
  std::printf("%s", read_file(fs::path(out) / "report.md").c_str());
  std::printf("\nreport: %s/report.md\n", out.c_str());
  return 0;
}

}  // namespace clearsight::cli
