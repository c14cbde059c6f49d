// Arguments several commands share (--dtype; the --out / --resume choice of resumable trainings)
// and the report printout of the benchmark sweeps.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "commands.h"

namespace clearsight::cli {

namespace fs = std::filesystem;

torch::Dtype parse_dtype(const std::string& name) {
  if (name == "float32" || name == "f32") return torch::kFloat32;
  if (name == "bfloat16" || name == "bf16") return torch::kBFloat16;
  if (name == "float16" || name == "f16") return torch::kFloat16;
  CS_THROW(UnknownNameError, "unknown dtype '", name, "' (expected float32, bfloat16, float16)");
}

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

bool given(const CLI::App* command, const std::string& option) {
  return command->count(option) > 0;
}

config::Json resumed_base(const RunChoice& run, const std::string& config_file) {
  config::Json raw = *run.recorded;
  if (!config_file.empty()) raw.merge_patch(config::load_file(config_file));
  return raw;
}

void add_sweep_command(Context& context, const std::string& name, const std::string& about,
                       const std::string& config_hint, const SweepRunner& run) {
  struct SweepArgs {
    std::string config_file, out;
    std::vector<std::string> overrides;
    bool report_only = false;
  };
  auto a = std::make_shared<SweepArgs>();
  auto* cmd = context.app.add_subcommand(name, about);
  cmd->add_option("--config", a->config_file, "Sweep config (JSON, see " + config_hint + ")");
  cmd->add_option("--set", a->overrides, "Override key=value (seeds=[0], steps=20000...)");
  cmd->add_option("--out", a->out, "Sweep directory (re-run to continue)")->required();
  cmd->add_flag("--report-only", a->report_only, "Only rebuild the report from finished runs");
  cmd->callback([&context, a, run] {
    context.action = [&context, a, run] {
      start_runtime(context.global);
      config::Json raw =
          a->config_file.empty() ? config::Json::object() : config::load_file(a->config_file);
      // Paths in a config file are relative to the file (an expert may also be a zoo name).
      const fs::path base = fs::path(a->config_file).parent_path();
      for (const char* key : {"expert", "demos"}) {
        if (a->config_file.empty() || !raw.contains(key) || !raw[key].is_string()) continue;
        const fs::path value = raw[key].get<std::string>();
        if (value.is_relative() && fs::exists(base / value)) raw[key] = (base / value).string();
      }
      for (const auto& o : a->overrides) config::apply_override(raw, o);
      run(raw, a->out, a->report_only);
      return print_report(a->out);
    };
  });
}

int print_report(const std::string& out) {
  std::printf("%s", read_file(fs::path(out) / "report.md").c_str());
  std::printf("\nreport: %s/report.md\n", out.c_str());
  return 0;
}

nlohmann::json episodes_json(const std::vector<double>& returns,
                             const std::vector<std::int64_t>& lengths) {
  CS_CHECK_AS(ShapeError, returns.size() == lengths.size() && !returns.empty(),
              "episodes_json: ", returns.size(), " returns for ", lengths.size(), " lengths");
  nlohmann::json episodes = nlohmann::json::array();
  double mean = 0, mean_length = 0;
  double lo = returns.front(), hi = returns.front();
  for (std::size_t i = 0; i < returns.size(); ++i) {
    episodes.push_back({{"return", returns[i]}, {"length", lengths[i]}});
    mean += returns[i];
    mean_length += static_cast<double>(lengths[i]);
    lo = std::min(lo, returns[i]);
    hi = std::max(hi, returns[i]);
  }
  const double n = static_cast<double>(returns.size());
  mean /= n;
  mean_length /= n;
  double var = 0;
  for (double r : returns) var += (r - mean) * (r - mean);
  return {{"episodes", episodes},
          {"returns", returns},
          {"lengths", lengths},
          {"return_mean", mean},
          {"return_std", std::sqrt(var / n)},
          {"return_min", lo},
          {"return_max", hi},
          {"length_mean", mean_length}};
}

std::string episodes_line(const std::vector<double>& returns) {
  const auto j = episodes_json(returns, std::vector<std::int64_t>(returns.size(), 0));
  char buffer[160];
  if (returns.size() == 1) {
    std::snprintf(buffer, sizeof(buffer), "return %.2f (one episode: no spread)",
                  j["return_mean"].get<double>());
  } else {
    std::snprintf(buffer, sizeof(buffer),
                  "return %.2f +- %.2f (std; min %.2f, max %.2f) over %zu "
                  "episodes",
                  j["return_mean"].get<double>(), j["return_std"].get<double>(),
                  j["return_min"].get<double>(), j["return_max"].get<double>(), returns.size());
  }
  return buffer;
}

}  // namespace clearsight::cli
