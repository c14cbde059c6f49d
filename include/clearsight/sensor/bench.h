// SENSOR's evaluation protocol: methods x viewpoint gaps x seeds on one environment, from one
// set of expert pixel demonstrations collected at the expert camera; resumable run by run, with
// a Markdown report (final and best true returns, the camera's final gap to the expert pose,
// learning curves of return and pose gap per viewpoint gap).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace clearsight::sensor {

/// What `clearsight bench-sensor` sweeps.
struct BenchSensorConfig {
  std::string env = "walker-walk";
  /// Expert policy directory the demonstrations are collected from.
  std::string expert = "assets/experts/walker-walk";
  int demo_episodes = 10;
  /// The expert camera (distance, azimuth, elevation).
  std::vector<double> demo_camera = {3.0, 90.0, -45.0};
  /// World-model preset and frame size of every run.
  std::string preset = "small";
  std::int64_t image_size = 32;
  /// Methods: SENSOR variants (see sensor_variant_names()).
  std::vector<std::string> methods = {"sensor", "fixed-camera", "expert-camera",
                                      "sensor-decoupled"};
  /// Viewpoint gaps by name: the agent's starting camera.
  std::map<std::string, std::vector<double>> gaps = {{"small", {3.0, 60.0, -45.0}},
                                                     {"hard", {3.0, 0.0, -15.0}}};
  std::vector<std::int64_t> seeds = {0, 1, 2};
  /// Environment steps per run.
  std::int64_t steps = 30000;
  /// Settings applied to every run, as in a sensor train config file ({"agent": {...}}).
  nlohmann::json overrides = nlohmann::json::object();

  /// Binds the fields for config files.
  template <typename V>
  void visit(V& v) {
    v("env", env, "environment");
    v("expert", expert, "expert policy directory");
    v("demo_episodes", demo_episodes, "demonstration episodes");
    v("demo_camera", demo_camera, "expert camera distance, azimuth, elevation");
    v("preset", preset, "world-model preset");
    v("image_size", image_size, "frame side");
    v("methods", methods, "SENSOR variants");
    v("gaps", gaps, "starting cameras by name");
    v("seeds", seeds, "seeds");
    v("steps", steps, "environment steps per run");
    v("overrides", overrides, "settings of every run");
  }
  /// Throws ConfigError/UnknownNameError.
  void validate() const;
};

/// Runs (or continues) every run of the sweep into out_dir and writes out_dir/report.md and
/// results.json; with report_only, only gathers existing results. expert-camera runs once per
/// seed (its camera does not depend on the gap) and is reported in every gap's column.
void bench_sensor(const BenchSensorConfig& config, const std::filesystem::path& out_dir,
                  bool report_only = false);

}  // namespace clearsight::sensor
