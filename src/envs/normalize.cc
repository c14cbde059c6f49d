#include "clearsight/envs/normalize.h"

#include <algorithm>
#include <cmath>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"

namespace clearsight::envs {

RunningMeanStd::RunningMeanStd(std::int64_t dim, double epsilon)
    : mean_(static_cast<std::size_t>(dim), 0.0),
      var_(static_cast<std::size_t>(dim), 1.0),
      count_(epsilon) {
  CS_CHECK_AS(ConfigError, dim >= 1, "RunningMeanStd needs a positive dimension");
}

void RunningMeanStd::combine(const double* batch_mean, const double* batch_var,
                             double batch_count) {
  const double total = count_ + batch_count;
  for (std::size_t i = 0; i < mean_.size(); ++i) {
    const double delta = batch_mean[i] - mean_[i];
    const double m2 = var_[i] * count_ + batch_var[i] * batch_count +
                      delta * delta * count_ * batch_count / total;
    mean_[i] += delta * batch_count / total;
    var_[i] = m2 / total;
  }
  count_ = total;
}

void RunningMeanStd::update(std::span<const double> x) { update_batch(x, 1); }

void RunningMeanStd::update_batch(std::span<const double> rows, std::int64_t count) {
  const auto d = static_cast<std::size_t>(dim());
  CS_CHECK_AS(ShapeError, count >= 1 && rows.size() == d * static_cast<std::size_t>(count),
              "RunningMeanStd: got ", rows.size(), " values for ", count, " rows of ", d);
  for (double v : rows) {
    CS_CHECK_AS(NumericError, std::isfinite(v), "RunningMeanStd: observation contains ", v);
  }
  // Small fixed-size scratch kept per thread: no allocation after the first call.
  thread_local std::vector<double> batch_mean, batch_var;
  batch_mean.assign(d, 0.0);
  batch_var.assign(d, 0.0);
  for (std::int64_t r = 0; r < count; ++r)
    for (std::size_t i = 0; i < d; ++i) batch_mean[i] += rows[r * d + i];
  for (auto& m : batch_mean) m /= static_cast<double>(count);
  for (std::int64_t r = 0; r < count; ++r) {
    for (std::size_t i = 0; i < d; ++i) {
      const double e = rows[r * d + i] - batch_mean[i];
      batch_var[i] += e * e;
    }
  }
  for (auto& v : batch_var) v /= static_cast<double>(count);
  combine(batch_mean.data(), batch_var.data(), static_cast<double>(count));
}

void RunningMeanStd::merge(const RunningMeanStd& other) {
  CS_CHECK_AS(ShapeError, other.dim() == dim(), "RunningMeanStd: cannot merge dimension ",
              other.dim(), " into ", dim());
  combine(other.mean_.data(), other.var_.data(), other.count_);
}

void RunningMeanStd::normalize(std::span<const double> x, std::span<double> out, double clip,
                               double eps) const {
  CS_CHECK_AS(ShapeError, x.size() == mean_.size() && out.size() == mean_.size(),
              "RunningMeanStd: normalize expects ", mean_.size(), " values");
  for (std::size_t i = 0; i < mean_.size(); ++i) {
    out[i] = std::clamp((x[i] - mean_[i]) / std::sqrt(var_[i] + eps), -clip, clip);
  }
}

void RunningMeanStd::save(const std::filesystem::path& path) const {
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  safetensors::save(path,
                    {{"mean", torch::tensor(mean_, opts)},
                     {"var", torch::tensor(var_, opts)},
                     {"count", torch::tensor({count_}, opts)}},
                    {{"kind", "running_mean_std"}});
}

RunningMeanStd RunningMeanStd::load(const std::filesystem::path& path) {
  const auto file = safetensors::File::open(path);
  const auto mean = file.get("mean");
  CS_CHECK_AS(ShapeError, mean.dim() == 1 && mean.scalar_type() == torch::kFloat64, "'",
              path.string(), "': 'mean' must be a float64 vector");
  const auto var = file.get("var", std::vector<std::int64_t>{mean.size(0)});
  const auto count = file.get("count", std::vector<std::int64_t>{1});
  RunningMeanStd out(mean.size(0), 0.0);
  std::copy(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel(), out.mean_.begin());
  std::copy(var.data_ptr<double>(), var.data_ptr<double>() + var.numel(), out.var_.begin());
  out.count_ = count.item<double>();
  for (std::size_t i = 0; i < out.mean_.size(); ++i) {
    CS_CHECK_AS(NumericError,
                std::isfinite(out.mean_[i]) && std::isfinite(out.var_[i]) && out.var_[i] >= 0, "'",
                path.string(), "': statistics contain non-finite or negative values");
  }
  return out;
}

NormalizeObservation::NormalizeObservation(std::unique_ptr<Env> env, double clip)
    : env_(std::move(env)),
      stats_(env_->spec().observation_space.size()),
      clip_(clip),
      raw_(static_cast<std::size_t>(env_->spec().observation_space.size())) {}

void NormalizeObservation::process(std::span<double> observation) {
  std::copy(observation.begin(), observation.end(), raw_.begin());
  if (training_) stats_.update(raw_);
  stats_.normalize(raw_, observation, clip_);
}

void NormalizeObservation::reset(std::uint64_t seed, std::span<double> observation) {
  env_->reset(seed, observation);
  process(observation);
}

void NormalizeObservation::reset(std::span<double> observation) {
  env_->reset(observation);
  process(observation);
}

StepResult NormalizeObservation::step(std::span<const double> action,
                                      std::span<double> observation) {
  StepResult r = env_->step(action, observation);
  process(observation);
  return r;
}

}  // namespace clearsight::envs
