// Datasets of one's own: a JSON Lines file with one sample per line, {"prompt", "image" | "video"
// | "audio" (paths relative to the file), "answer" or "answers", "metric"}, read with checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "clearsight/mm/tasks.h"

namespace clearsight::mm {

/// One sample of a JSONL dataset (media paths resolved against the file's folder).
struct DataRecord {
  std::string prompt;
  std::filesystem::path image;
  std::vector<std::filesystem::path> video;
  std::filesystem::path audio;
  std::vector<std::string> answers;
  std::string metric;
  /// The record's "id", if any.
  std::string id;
  /// 1-based line in the file.
  std::int64_t line = 0;
};

/// Metrics a record may name.
const std::vector<std::string>& jsonl_metric_names();

/// Reads a JSONL dataset; throws IoError (missing file or media), FormatError naming the line
/// (bad JSON, missing prompt, wrong types, unknown keys or metric), ConfigError when empty.
std::vector<DataRecord> load_jsonl_dataset(const std::filesystem::path& path);

/// Score in [0, 1] of one prediction under the record's metric: exact_match and
/// substring_accuracy against any answer, bleu4 (sentence BLEU-4 over all answers), choice (the
/// first letter), word_recognition_rate (1 - WER against the first answer, clamped at 0). Throws
/// ConfigError for metric none.
double score_record(const std::string& prediction, const DataRecord& record);

/// One metric's score over the records that name it.
struct MetricScore {
  std::string metric;
  double score = 0.0;
  std::int64_t samples = 0;
};

/// Scores per metric, in jsonl_metric_names() order, leaving out metric none: the mean of
/// score_record, and corpus BLEU-4 for bleu4 (as the suite's captioning task reports it).
std::vector<MetricScore> score_records(const std::vector<std::string>& predictions,
                                       const std::vector<DataRecord>& records);

/// Writes the first `samples` samples of a split of a task as a JSONL dataset: dir/data.jsonl
/// (prompt, answer(s), the task's record_metric, id "task/split/index") with images and frames
/// as PNG and audio as 16-bit WAV under dir/media. dir must not exist; it appears only when
/// complete. Returns the path of data.jsonl.
std::filesystem::path export_task_jsonl(const Task& task, Split split, std::int64_t samples,
                                        const std::filesystem::path& dir);

}  // namespace clearsight::mm
