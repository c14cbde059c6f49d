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
#include "clearsight/core/report.h"
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
  if (v.size() == 1) return fmt::format("{:.1f} (n=1, no spread)", m);
  s = std::sqrt(s / (v.size() - 1));
  return fmt::format("{:.1f} ± {:.1f} (n={})", m, s, v.size());
}

// Mean and sample standard deviation (0 for one value).
std::pair<double, double> mean_sd(const std::vector<double>& v) {
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0};
}

// The report (report.html and report.md) and results.json: final and best evaluation returns per
// (algorithm, noise) over seeds, and learning curves with seed bands and the BC and expert
// returns as reference lines.
void write_report(const BenchIlConfig& config, const fs::path& out) {
  const bool normalized = has_d4rl_reference(config.env);
  const auto run_of = [&](const std::string& algo, const std::string& noise, std::uint64_t seed) {
    return out / "runs" / fmt::format("{}-{}-s{}", algo, slug(noise), seed);
  };
  std::vector<std::string> seeds;
  for (auto x : config.seeds) seeds.push_back(std::to_string(x));
  Report report(out, "Imitation benchmark: " + config.env);
  report.paragraph(fmt::format(
      "Demonstrations: {} episodes of `{}`; noise applied to the observations after collection. "
      "Algorithms run {} environment steps (BC: {} gradient steps); seeds {}. Cells: mean ± "
      "sample std over seeds of the final evaluation and of the best evaluation during "
      "training{}.",
      config.episodes, config.expert, config.steps, config.bc_steps, join(seeds, ", "),
      normalized ? ", raw and D4RL-normalised" : ""));
  // One table per measure: final and best evaluation return (raw, then D4RL-normalised).
  Json tables = Json::object();
  auto write_table = [&](const std::string& key, const std::string& title, auto&& value) {
    report.section(title);
    std::vector<std::string> header = {"algorithm"};
    header.insert(header.end(), config.noise.begin(), config.noise.end());
    std::vector<std::vector<std::string>> rows;
    for (const auto& algo : config.algos) {
      std::vector<std::string> row = {algo};
      for (const auto& noise : config.noise) {
        std::vector<double> values;
        for (const auto seed : config.seeds) {
          const fs::path run = run_of(algo, noise, seed);
          if (finished(run)) values.push_back(value(run));
        }
        tables[key][algo][noise] = values;
        row.push_back(cell(values));
      }
      rows.push_back(row);
    }
    report.table(header, rows);
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
  report.section("Learning curves");
  for (const auto& noise : config.noise) {
    LinePlot plot;
    plot.title = config.env + ", demos " + noise;
    plot.xlabel = "environment steps";
    plot.ylabel = "evaluation return";
    plot.integer_x = false;
    double last_step = 0;
    for (std::size_t a = 0; a < config.algos.size(); ++a) {
      const auto& algo = config.algos[a];
      if (algo == "bc") continue;
      std::map<std::int64_t, std::vector<double>> by_step;
      for (const auto seed : config.seeds) {
        const fs::path run = run_of(algo, noise, seed);
        if (!fs::exists(run / "metrics.jsonl")) continue;
        for (const auto& r : RunDir::open(run).read_metrics()) {
          if (r.contains("eval_return")) {
            by_step[r["step"].get<std::int64_t>()].push_back(r["eval_return"].get<double>());
          }
        }
      }
      PlotSeries s(algo + " (mean, band: ± sd over seeds)");
      s.color = series_color(a);
      for (const auto& [step, v] : by_step) {
        const auto [m, sd] = mean_sd(v);
        s.points.emplace_back(static_cast<double>(step), m);
        s.band.emplace_back(m - sd, m + sd);
        last_step = std::max(last_step, static_cast<double>(step));
      }
      if (!s.points.empty()) plot.series.push_back(s);
    }
    if (plot.series.empty()) continue;
    // Reference lines across the curves' range: BC's final return and the demonstrations' expert.
    const auto reference = [&](const std::string& name, double value, const std::string& color) {
      PlotSeries r(name, {{0.0, value}, {last_step, value}});
      r.dashed = true;
      r.no_points = true;
      r.color = color;
      plot.series.push_back(r);
    };
    std::vector<double> bc;
    for (const auto seed : config.seeds) {
      const fs::path run = run_of("bc", noise, seed);
      if (finished(run)) bc.push_back(final_return(run));
    }
    if (!bc.empty()) reference("BC (final, mean over seeds)", mean_sd(bc).first, "#666666");
    const fs::path demos = out / "demos" / (slug(noise) + ".h5");
    if (fs::exists(demos)) {
      const double expert = load_demos(demos, config.env).meta.expert_return;
      if (std::isfinite(expert)) reference("expert (demonstrations)", expert, "#000000");
    }
    report.line_plot(plot, "curve-" + slug(noise) + ".svg",
                     "Evaluation return during training with " + noise +
                         " demonstrations: the mean over seeds, its ± sd band, and BC's and the "
                         "expert's returns for reference.");
  }
  report.write();
  RunDir::at(out).write_json("results.json", tables);
  log::info("wrote {}", (out / "report.html").string());
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

  write_report(config, out);
}

}  // namespace clearsight::il
