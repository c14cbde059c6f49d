#include "clearsight/sensor/bench.h"

#include <fmt/format.h>

#include <cmath>
#include <numeric>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/config.h"
#include "clearsight/core/error.h"
#include "clearsight/core/log.h"
#include "clearsight/core/plot.h"
#include "clearsight/core/rng.h"
#include "clearsight/core/run_dir.h"
#include "clearsight/core/strings.h"
#include "clearsight/il/collect.h"
#include "clearsight/il/demos.h"
#include "clearsight/rl/policy.h"
#include "clearsight/sensor/config.h"
#include "clearsight/sensor/trainer.h"
#include "clearsight/wm/config.h"

namespace clearsight::sensor {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path run_path(const fs::path& out, const std::string& method, const std::string& gap,
                  std::int64_t seed) {
  return out / "runs" /
         fmt::format("{}-{}-s{}", method, method == "expert-camera" ? "expert" : gap, seed);
}

bool finished(const fs::path& run) {
  if (!fs::exists(run / "summary.json")) return false;
  try {
    return Json::parse(read_file(run / "summary.json")).value("finished", false);
  } catch (const std::exception&) {
    return false;
  }
}

Json summary(const fs::path& run) { return Json::parse(read_file(run / "summary.json")); }

/// The last evaluation record of a run.
Json last_eval(const fs::path& run) {
  Json last;
  for (const auto& r : RunDir::open(run).read_metrics()) {
    if (r.contains("eval_return")) last = r;
  }
  return last;
}

std::string cell(const std::vector<double>& v, int digits) {
  if (v.empty()) return "-";
  const double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  s = v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
  return fmt::format("{:.{}f} ± {:.{}f} (n={})", m, digits, s, digits, v.size());
}

fs::path prepare_demos(const BenchSensorConfig& c, const fs::path& out) {
  const fs::path file = out / "demos" / "expert.h5";
  if (fs::exists(file)) return file;
  fs::create_directories(file.parent_path());
  auto expert = rl::load_policy(c.expert);
  il::CollectOptions o;
  o.episodes = c.demo_episodes;
  o.seed = derive_seed(0, "bench-sensor-demos");
  o.expert_name = c.expert;
  o.pixel_width = static_cast<int>(c.image_size);
  o.camera = {c.demo_camera[0], c.demo_camera[1], c.demo_camera[2]};
  il::save_demos(file, il::collect_demos(*expert, c.env, o));
  return file;
}

}  // namespace

void BenchSensorConfig::validate() const {
  CS_CHECK_AS(ConfigError, demo_episodes >= 1, "demo_episodes must be >= 1");
  CS_CHECK_AS(ConfigError, demo_camera.size() == 3, "demo_camera must be [d, a, e]");
  CS_CHECK_AS(ConfigError, !methods.empty() && !gaps.empty() && !seeds.empty(),
              "methods, gaps and seeds must not be empty");
  for (const auto& m : methods) sensor_variant(m);  // Throws UnknownNameError.
  wm::wm_preset(preset);
  for (const auto& [name, pose] : gaps) {
    CS_CHECK_AS(ConfigError, pose.size() == 3, "gap '", name, "' must be [d, a, e]");
  }
  CS_CHECK_AS(ConfigError, steps >= 1, "steps must be >= 1");
  CS_CHECK_AS(ConfigError, overrides.is_object(), "overrides must be a JSON object");
}

void bench_sensor(const BenchSensorConfig& config, const fs::path& out, bool report_only) {
  config.validate();
  fs::create_directories(out);
  RunDir::at(out).write_config({{"bench_sensor", clearsight::config::to_json(config)}});
  const fs::path demos = report_only ? out / "demos" / "expert.h5" : prepare_demos(config, out);

  std::size_t index = 0;
  const std::size_t total = config.methods.size() * config.gaps.size() * config.seeds.size();
  for (const auto& [gap, pose] : config.gaps) {
    for (const auto& method : config.methods) {
      for (const auto seed : config.seeds) {
        ++index;
        const auto run = run_path(out, method, gap, seed);
        if (report_only || finished(run)) continue;
        log::info("bench-sensor run {}/{}: {} from camera {} ({}), seed {}", index, total, method,
                  fmt::join(pose, ","), gap, seed);
        SensorTrainConfig base;
        base.agent = wm::wm_preset(config.preset);
        base = sensor_variant(method, base);
        Json raw = clearsight::config::to_json(base);
        raw.merge_patch(config.overrides);
        raw["agent"]["env"] = config.env;
        raw["agent"]["steps"] = config.steps;
        raw["agent"]["seed"] = seed;
        raw["agent"]["model"]["image_size"] = config.image_size;
        raw["agent"]["camera"] = pose;
        raw["demos"] = {demos.string()};
        train_sensor(clearsight::config::from_json<SensorTrainConfig>(raw, "sensor"), run);
      }
    }
  }

  std::ostringstream md;
  md << "# SENSOR benchmark: " << config.env << "\n\n"
     << config.demo_episodes << " expert episodes of `" << config.expert << "` filmed from ("
     << fmt::format("{}", fmt::join(config.demo_camera, ", ")) << "); " << config.steps
     << " environment steps per run at " << config.image_size << "x" << config.image_size
     << " (preset `" << config.preset << "`, a reduced scale); seeds "
     << fmt::format("{}", fmt::join(config.seeds, ", "))
     << ". The learner never sees the true return; it is only evaluated. Cells: mean ± sample "
        "std over seeds (n finished runs). Viewpoint gaps (agent's starting camera):\n\n";
  for (const auto& [gap, pose] : config.gaps) {
    md << "- `" << gap << "`: (" << fmt::format("{}", fmt::join(pose, ", ")) << ")\n";
  }
  Json results = Json::object();
  const auto table = [&](const std::string& key, const std::string& title, int digits,
                         auto&& value) {
    md << "\n" << title << ":\n\n| method |";
    for (const auto& [gap, pose] : config.gaps) md << " " << gap << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < config.gaps.size(); ++i) md << "---|";
    md << "\n";
    for (const auto& method : config.methods) {
      md << "| " << method << " |";
      for (const auto& [gap, pose] : config.gaps) {
        std::vector<double> values;
        for (const auto seed : config.seeds) {
          const auto run = run_path(out, method, gap, seed);
          if (finished(run)) values.push_back(value(run));
        }
        results[key][method][gap] = values;
        md << " " << cell(values, digits) << " |";
      }
      md << "\n";
    }
  };
  table("final_return", "Final evaluation return (true reward)", 1,
        [](const fs::path& r) { return summary(r).value("last_eval_return", std::nan("")); });
  table("best_return", "Best evaluation return during training", 1, [](const fs::path& r) {
    const auto s = summary(r);
    return s["best_eval_return"].is_null() ? std::nan("") : s["best_eval_return"].get<double>();
  });
  table("final_pose_gap", "Camera gap to the expert pose, mean over the last evaluation", 3,
        [](const fs::path& r) { return last_eval(r).value("eval_pose_gap", std::nan("")); });

  if (gnuplot_available()) {
    for (const auto& [gap, pose] : config.gaps) {
      for (const auto& [key, label] : std::vector<std::pair<std::string, std::string>>{
               {"eval_return", "evaluation return"}, {"eval_pose_gap", "camera gap to expert"}}) {
        LinePlot plot;
        plot.title = config.env + ", start " + gap;
        plot.xlabel = "frames";
        plot.ylabel = label + " (mean over seeds)";
        plot.integer_x = false;
        for (const auto& method : config.methods) {
          std::map<std::int64_t, std::vector<double>> by_frame;
          for (const auto seed : config.seeds) {
            const auto run = run_path(out, method, gap, seed);
            if (!fs::exists(run / "metrics.jsonl")) continue;
            for (const auto& r : RunDir::open(run).read_metrics()) {
              if (r.contains(key)) {
                by_frame[r["frames"].get<std::int64_t>()].push_back(r[key].get<double>());
              }
            }
          }
          PlotSeries s{method, {}};
          for (const auto& [f, v] : by_frame) {
            s.points.emplace_back(static_cast<double>(f), std::accumulate(v.begin(), v.end(), 0.0) /
                                                              static_cast<double>(v.size()));
          }
          if (!s.points.empty()) plot.series.push_back(s);
        }
        if (plot.series.empty()) continue;
        const std::string name = fmt::format("{}-{}.svg", key, gap);
        render_svg(plot, out / name);
        md << "\n![" << label << ", " << gap << "](" << name << ")\n";
      }
    }
  }
  atomic_write(out / "report.md", md.str());
  RunDir::at(out).write_json("results.json", results);
  log::info("wrote {}", (out / "report.md").string());
}

}  // namespace clearsight::sensor
