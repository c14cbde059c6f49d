// Run directories: runs/<date>-<name>/ with the resolved config, metrics.jsonl and artefacts.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace clearsight {

/// An exclusive lock on a run directory (dir/.lock, flock): one process writes a run at a time.
class RunLock;

/// A run's directory; every writer inside it writes atomically. The directory is locked while any
/// RunDir of it lives in this process: another process opening it gets a RuntimeError naming the
/// holder's pid instead of interleaving metrics or racing renames.
class RunDir {
 public:
  /// Creates root/<YYYY-MM-DD>-<name>[-N]/ (a fresh, unused directory).
  static RunDir create(const std::filesystem::path& root, const std::string& name);
  /// Opens an existing run directory (for --resume); throws IoError when it does not exist.
  static RunDir open(const std::filesystem::path& dir);
  /// Uses dir as the run directory, creating it if needed (for --out DIR).
  static RunDir at(const std::filesystem::path& dir);

  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// A path inside the directory (subdirectories are created).
  std::filesystem::path file(const std::string& relative) const;

  /// Writes the resolved config to config.json (atomically, pretty-printed).
  void write_config(const nlohmann::json& config) const;
  /// Reads config.json back; throws IoError/FormatError.
  nlohmann::json read_config() const;
  /// Writes any JSON document atomically under the directory.
  void write_json(const std::string& relative, const nlohmann::json& value) const;

  /// Appends one metrics record (a JSON object) as a line of metrics.jsonl and flushes it, and as
  /// a row of eval.csv (records with an "eval_" key) or progress.csv (the others): SB3-style CSVs
  /// with a header row, widened when a record brings a new key.
  void log_metrics(const nlohmann::json& record) const;
  /// Drops the metrics rows (metrics.jsonl, progress.csv, eval.csv) whose "step" is above step:
  /// a run resumed from its checkpoint at step would otherwise log the rows a killed process wrote
  /// after that checkpoint a second time. Returns how many jsonl rows were dropped.
  std::size_t cut_metrics_after(std::int64_t step) const;

  /// Reads metrics.jsonl; a torn last line (from a killed run) is skipped.
  std::vector<nlohmann::json> read_metrics() const;

 private:
  explicit RunDir(std::filesystem::path path);
  std::filesystem::path path_;
  std::shared_ptr<RunLock> lock_;
};

/// Today's date as YYYY-MM-DD in local time.
std::string today_string();

}  // namespace clearsight
