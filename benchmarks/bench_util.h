// Shared by the benchmark programs: a reporter that remembers each run's seconds per iteration
// so that main() can print ratios against a baseline measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <vector>

namespace clearsight::bench {

/// Console reporter that also records real seconds per iteration by benchmark name.
class CapturingReporter : public benchmark::ConsoleReporter {
 public:
  /// Records and prints.
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      const double to_seconds = 1.0 / benchmark::GetTimeUnitMultiplier(run.time_unit);
      seconds_[run.benchmark_name()] = run.GetAdjustedRealTime() * to_seconds;
      for (const auto& [name, counter] : run.counters) {
        counters_[run.benchmark_name() + ":" + name] = counter.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  /// Seconds per iteration of a benchmark (0 when it did not run).
  double seconds(const std::string& name) const {
    auto it = seconds_.find(name);
    return it == seconds_.end() ? 0.0 : it->second;
  }
  /// A user counter's final value (0 when absent).
  double counter(const std::string& name, const std::string& counter) const {
    auto it = counters_.find(name + ":" + counter);
    return it == counters_.end() ? 0.0 : it->second;
  }

 private:
  std::map<std::string, double> seconds_;
  std::map<std::string, double> counters_;
};

}  // namespace clearsight::bench
