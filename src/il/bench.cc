#include "clearsight/il/bench.h"

#include <cmath>
#include <map>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/strings.h"
#include "clearsight/envs/env.h"
#include "clearsight/il/bc.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/demos.h"
#include "clearsight/il/imitate.h"
#include "clearsight/il/noise.h"
#include "clearsight/il/scores.h"
#include "clearsight/rl/policy.h"

namespace clearsight::il {

namespace fs = std::filesystem;
using Json = nlohmann::json;

void BenchIlConfig::validate() const {
  const auto names = envs::env_names();
  CS_CHECK_AS(UnknownNameError, std::find(names.begin(), names.end(), env) != names.end(),
              "unknown environment '", env, "' (valid: ", join(names, ", "), ")");
  for (const auto& a : algos) {
    CS_CHECK_AS(UnknownNameError, a == "bc" || a == "gail" || a == "dida", "unknown algorithm '", a,
                "' (valid: bc, gail, dida)");
  }
  for (const auto& n : noise) NoiseSpec::parse(n);
  CS_CHECK_AS(ConfigError,
              episodes >= 1 && steps > 0 && bc_steps > 0 && !seeds.empty() && !algos.empty() &&
                  !noise.empty(),
              "bench-il: episodes, steps, bc_steps must be positive and the lists non-empty");
  CS_CHECK_AS(ConfigError, overrides.is_object(), "bench-il: overrides must be an object");
}

namespace {

std::string slug(const std::string& noise) {
  std::string out;
  for (char c : noise) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.') ? c : '_';
  return out;
}

/// Clean demonstrations collected once, then one noisy copy per setting (seeded per setting).
std::map<std::string, fs::path> prepare_demos(const BenchIlConfig& c, const fs::path& out) {
  std::map<std::string, fs::path> files;
  const fs::path clean = out / "demos" / "clean.h5";
  fs::create_directories(out / "demos");
  if (!fs::exists(clean)) {
    auto expert = rl::load_policy(c.expert);
    CollectOptions o;
    o.episodes = c.episodes;
    o.seed = derive_seed(0, "bench-il-demos");
    o.expert_name = c.expert;
    save_demos(clean, collect_demos(*expert, c.env, o));
  }
  for (const auto& n : c.noise) {
    const fs::path file = out / "demos" / (slug(n) + ".h5");
    files[n] = file;
    if (fs::exists(file)) continue;
    auto d = load_demos(clean, c.env);
    apply_observation_noise(d, NoiseSpec::parse(n), derive_seed(0, "bench-il-noise-" + n));
    save_demos(file, d);
  }
  return files;
}

bool finished(const fs::path& run) {
  if (!fs::exists(run / "summary.json")) return false;
  try {
    const auto s = Json::parse(read_file(run / "summary.json"));
    return s.value("finished", true);
  } catch (const std::exception&) {
    return false;
  }
}

double final_return(const fs::path& run) {
  const auto s = Json::parse(read_file(run / "summary.json"));
  if (s.contains("last_eval_return")) return s["last_eval_return"].get<double>();
  return s.value("final_eval_return", std::nan(""));
}

double best_return(const fs::path& run) {
  const auto s = Json::parse(read_file(run / "summary.json"));
  return s.value("best_eval_return", std::nan(""));
}

std::string cell(const std::vector<double>& v) {
  if (v.empty()) return "-";
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / v.size();
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  s = v.size() > 1 ? std::sqrt(s / (v.size() - 1)) : 0.0;
  return fmt::format("{:.1f} ± {:.1f} (n={})", m, s, v.size());
}

}  // namespace

void bench_il(const BenchIlConfig& config, const fs::path& out, bool report_only) {
  config.validate();
  fs::create_directories(out);
  RunDir::at(out).write_config({{"bench_il", clearsight::config::to_json(config)}});
  std::map<std::string, fs::path> demos;
  for (const auto& n : config.noise) demos[n] = out / "demos" / (slug(n) + ".h5");
  if (!report_only) demos = prepare_demos(config, out);

  const std::size_t total = config.algos.size() * config.noise.size() * config.seeds.size();
  std::size_t index = 0;
  for (const auto& noise : config.noise) {
    for (const auto& algo : config.algos) {
      for (const auto seed : config.seeds) {
        ++index;
        const fs::path run = out / "runs" / fmt::format("{}-{}-s{}", algo, slug(noise), seed);
        if (report_only || finished(run)) continue;
        log::info("bench-il run {}/{}: {} on {} demos, seed {}", index, total, algo, noise, seed);
        Json raw = config.overrides.value(algo, Json::object());
        raw["seed"] = seed;
        raw["demos"] = demos.at(noise).string();
        if (algo == "bc") {
          raw["steps"] = config.bc_steps;
          const auto cfg = clearsight::config::from_json<BcConfig>(raw, "bc");
          train_bc(load_demos(demos.at(noise), config.env), cfg, run);
        } else {
          raw["algo"] = algo;
          raw["env"] = config.env;
          raw["steps"] = config.steps;
          const auto cfg = clearsight::config::from_json<ImitateConfig>(raw, "imitate");
          imitate(cfg, run);
        }
      }
    }
  }

  // Report: final evaluation return per (algo, noise) over seeds, and learning curves.
  const bool normalized = has_d4rl_reference(config.env);
  std::ostringstream md;
  md << "# Imitation benchmark: " << config.env << "\n\n"
     << "Demonstrations: " << config.episodes << " episodes of `" << config.expert
     << "`; noise applied to the observations after collection. Algorithms run " << config.steps
     << " environment steps (BC: " << config.bc_steps << " gradient steps); seeds "
     << join(
            [&] {
              std::vector<std::string> s;
              for (auto x : config.seeds) s.push_back(std::to_string(x));
              return s;
            }(),
            ", ")
     << ". Cells: mean ± sample std over seeds of the final evaluation and of the best"
     << " evaluation during training" << (normalized ? ", raw and D4RL-normalised" : "") << ".\n";
  // One table per measure: final and best evaluation return (raw, then D4RL-normalised).
  Json tables = Json::object();
  auto write_table = [&](const std::string& key, const std::string& title, auto&& value) {
    md << "\n" << title << ":\n\n| algorithm |";
    for (const auto& n : config.noise) md << " " << n << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < config.noise.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& algo : config.algos) {
      md << "| " << algo << " |";
      for (const auto& noise : config.noise) {
        std::vector<double> values;
        for (const auto seed : config.seeds) {
          const fs::path run = out / "runs" / fmt::format("{}-{}-s{}", algo, slug(noise), seed);
          if (finished(run)) values.push_back(value(run));
        }
        tables[key][algo][noise] = values;
        md << " " << cell(values) << " |";
      }
      md << "\n";
    }
  };
  write_table("final", "Final evaluation return", final_return);
  write_table("best", "Best evaluation return during training", best_return);
  if (normalized) {
    write_table("final_normalized", "Final, D4RL-normalised", [&](const fs::path& run) {
      return d4rl_normalized_score(config.env, final_return(run));
    });
    write_table("best_normalized", "Best, D4RL-normalised", [&](const fs::path& run) {
      return d4rl_normalized_score(config.env, best_return(run));
    });
  }
  if (gnuplot_available()) {
    for (const auto& noise : config.noise) {
      LinePlot plot;
      plot.title = config.env + ", demos " + noise;
      plot.xlabel = "environment steps";
      plot.ylabel = "evaluation return (mean over seeds)";
      plot.integer_x = false;
      for (const auto& algo : config.algos) {
        if (algo == "bc") continue;
        std::map<std::int64_t, std::vector<double>> by_step;
        for (const auto seed : config.seeds) {
          const fs::path run = out / "runs" / fmt::format("{}-{}-s{}", algo, slug(noise), seed);
          if (!fs::exists(run / "metrics.jsonl")) continue;
          for (const auto& r : RunDir::open(run).read_metrics()) {
            if (r.contains("eval_return")) {
              by_step[r["step"].get<std::int64_t>()].push_back(r["eval_return"].get<double>());
            }
          }
        }
        PlotSeries s{algo, {}};
        for (const auto& [step, v] : by_step) {
          s.points.emplace_back(static_cast<double>(step),
                                std::accumulate(v.begin(), v.end(), 0.0) / v.size());
        }
        if (!s.points.empty()) plot.series.push_back(s);
      }
      if (plot.series.empty()) continue;
      const std::string name = "curve-" + slug(noise) + ".svg";
      render_svg(plot, out / name);
      md << "\n![" << noise << "](" << name << ")\n";
    }
  }
  atomic_write(out / "report.md", md.str());
  RunDir::at(out).write_json("results.json", tables);
  log::info("wrote {}", (out / "report.md").string());
}

}  // namespace clearsight::il
