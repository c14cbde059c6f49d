// The imitation evaluation protocol: a config-driven sweep of algorithms x demonstration noise x
// seeds on one environment (demonstrations collected from an expert once, noise applied per
// setting), resumable run by run, with a Markdown report (table of final returns, D4RL-normalised
// where a reference exists, mean and spread over seeds) and learning-curve plots.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace clearsight::il {

/// What `clearsight bench-il` sweeps.
struct BenchIlConfig {
  std::string env = "Swimmer-v4";
  /// Expert policy directory the demonstrations are collected from.
  std::string expert = "assets/experts/swimmer";
  int episodes = 10;
  /// Noise settings ("none", "gauss:0.2", "mult:0.5"...), applied to the same clean demos.
  std::vector<std::string> noise = {"none", "gauss:0.2", "gauss:0.5"};
  /// Algorithms: "bc", "gail", "dida".
  std::vector<std::string> algos = {"bc", "gail", "dida"};
  std::vector<std::int64_t> seeds = {0, 1, 2};
  /// Environment steps of GAIL/DIDA runs (BC: bc_steps gradient steps).
  std::int64_t steps = 50000;
  std::int64_t bc_steps = 10000;
  /// Extra settings per algorithm, as in a config file ({"gail": {"sac": {...}}}).
  nlohmann::json overrides = nlohmann::json::object();

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("env", env, "environment");
    v("expert", expert, "expert policy directory");
    v("episodes", episodes, "demonstration episodes");
    v("noise", noise, "noise settings");
    v("algos", algos, "algorithms (bc, gail, dida)");
    v("seeds", seeds, "seeds");
    v("steps", steps, "environment steps per GAIL/DIDA run");
    v("bc_steps", bc_steps, "gradient steps per BC run");
    v("overrides", overrides, "per-algorithm settings");
  }
  /// Throws ConfigError/UnknownNameError.
  void validate() const;
};

/// Runs (or continues) every run of the sweep into out_dir and writes out_dir/report.md;
/// with report_only, only gathers existing results into the report.
void bench_il(const BenchIlConfig& config, const std::filesystem::path& out_dir,
              bool report_only = false);

}  // namespace clearsight::il
