// Shared by the benchmark programs: a reporter that remembers each run's seconds per iteration
// so that main() can print ratios against a baseline measured in the same run.
#pragma once

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
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

/// Command-line options of a benchmark program plus the arguments left for Google Benchmark.
struct Args {
  std::map<std::string, std::string> values;
  std::vector<char*> rest;
  /// The value of an option, or fallback.
  std::string get(const std::string& name, const std::string& fallback) const {
    auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
};

/// Takes "--name value" pairs for the given option names out of argv; the rest (argv[0] first)
/// goes to benchmark::Initialize.
inline Args split_args(int argc, char** argv, const std::vector<std::string>& names) {
  Args out;
  out.rest.push_back(argv[0]);
  for (int i = 1; i < argc; ++i) {
    bool taken = false;
    for (const auto& name : names) {
      if (name == argv[i] && i + 1 < argc) {
        out.values[name] = argv[++i];
        taken = true;
        break;
      }
    }
    if (!taken) out.rest.push_back(argv[i]);
  }
  return out;
}

/// Runs `python script arg`, echoes its output except "key value" lines for the given keys, and
/// returns those values (absent keys are missing from the map).
inline std::map<std::string, double> run_python(const std::string& python,
                                                const std::string& script, const std::string& arg,
                                                const std::vector<std::string>& keys) {
  std::map<std::string, double> out;
  const std::string command = python + " " + script + " " + arg + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe)) {
    bool matched = false;
    for (const auto& key : keys) {
      double value = 0;
      if (std::strncmp(line, key.c_str(), key.size()) == 0 && line[key.size()] == ' ' &&
          std::sscanf(line + key.size() + 1, "%lf", &value) == 1) {
        out[key] = value;
        matched = true;
      }
    }
    if (!matched) std::fputs(line, stdout);
  }
  pclose(pipe);
  return out;
}

}  // namespace clearsight::bench
