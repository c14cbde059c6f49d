// Datasets of one's own: a JSON Lines file with one sample per line, {"prompt", "image" | "video"
// | "audio" (paths relative to the file), "answer" or "answers", "metric"}, read with checks.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace clearsight::mm {

/// One sample of a JSONL dataset (media paths resolved against the file's folder).
struct DataRecord {
  std::string prompt;
  std::filesystem::path image;
  std::vector<std::filesystem::path> video;
  std::filesystem::path audio;
  std::vector<std::string> answers;
  std::string metric;
  /// 1-based line in the file.
  std::int64_t line = 0;
};

/// Metrics a record may name.
const std::vector<std::string>& jsonl_metric_names();

/// Reads a JSONL dataset; throws IoError (missing file or media), FormatError naming the line
/// (bad JSON, missing prompt, wrong types, unknown keys or metric), ConfigError when empty.
std::vector<DataRecord> load_jsonl_dataset(const std::filesystem::path& path);

}  // namespace clearsight::mm
