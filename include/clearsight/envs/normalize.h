// Running observation statistics (mean, variance) and an environment wrapper that normalises
// observations with them; the statistics merge across workers and save to safetensors.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "clearsight/envs/env.h"

namespace clearsight::envs {

/// Streaming per-dimension mean and variance (parallel/Chan update, float64).
class RunningMeanStd {
 public:
  /// Statistics over dim-dimensional vectors; starts with count epsilon (as Gymnasium does).
  explicit RunningMeanStd(std::int64_t dim, double epsilon = 1e-4);
  /// Adds one vector.
  void update(std::span<const double> x);
  /// Adds a batch of rows (row-major, rows x dim).
  void update_batch(std::span<const double> rows, std::int64_t count);
  /// Merges another accumulator of the same dimension (same result as one stream).
  void merge(const RunningMeanStd& other);
  /// Writes clip((x - mean) / sqrt(var + eps), -clip, clip) to out.
  void normalize(std::span<const double> x, std::span<double> out, double clip = 10.0,
                 double eps = 1e-8) const;
  /// Per-dimension mean.
  const std::vector<double>& mean() const { return mean_; }
  /// Per-dimension (population) variance.
  const std::vector<double>& var() const { return var_; }
  /// Effective sample count.
  double count() const { return count_; }
  /// Dimension.
  std::int64_t dim() const { return static_cast<std::int64_t>(mean_.size()); }
  /// Saves mean, var and count to a safetensors file (atomically).
  void save(const std::filesystem::path& path) const;
  /// Loads statistics; throws FormatError/ShapeError on a wrong or corrupt file.
  static RunningMeanStd load(const std::filesystem::path& path);

 private:
  void combine(const double* batch_mean, const double* batch_var, double batch_count);
  std::vector<double> mean_;
  std::vector<double> var_;
  double count_;
};

/// Wraps an environment and normalises its observations with running statistics.
class NormalizeObservation : public Env {
 public:
  /// Wraps env; statistics update on every observation while training() is true.
  explicit NormalizeObservation(std::unique_ptr<Env> env, double clip = 10.0);
  using Env::reset;
  using Env::step;
  const EnvSpec& spec() const override { return env_->spec(); }
  void reset(std::uint64_t seed, std::span<double> observation) override;
  void reset(std::span<double> observation) override;
  StepResult step(std::span<const double> action, std::span<double> observation) override;
  int elapsed_steps() const override { return env_->elapsed_steps(); }
  std::string save_state() const override { return env_->save_state(); }
  void load_state(std::string_view state) override { env_->load_state(state); }

  /// Whether statistics are being updated.
  bool training() const { return training_; }
  /// Turns statistics updates on or off (off for evaluation).
  void set_training(bool training) { training_ = training; }
  /// The statistics.
  RunningMeanStd& stats() { return stats_; }
  /// The wrapped environment.
  Env& inner() { return *env_; }

 private:
  void process(std::span<double> observation);
  std::unique_ptr<Env> env_;
  RunningMeanStd stats_;
  double clip_;
  bool training_ = true;
  std::vector<double> raw_;
};

}  // namespace clearsight::envs
