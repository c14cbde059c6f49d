// Evaluating a model on a JSONL dataset of one's own: generation for each record, scored with the
// record's metric. Built-in models read the media in their own formats (32 x 32 images, 4-frame
// videos, clips of at most 2 s at 16 kHz); Hugging Face Qwen2 folders use their processors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "clearsight/mm/jsonl_data.h"
#include "clearsight/mm/model.h"
#include "clearsight/mm/qwen2_chat.h"
#include "clearsight/mm/tasks.h"
#include "clearsight/mm/tokenizer.h"

namespace clearsight::mm {

/// Settings of a dataset evaluation.
struct RecordEvalOptions {
  /// The first `samples` records (all when negative).
  std::int64_t samples = -1;
  /// Records per generation batch (built-in models; Qwen2 folders answer one at a time).
  std::int64_t batch_size = 32;
  /// Longest answer in tokens.
  int max_new_tokens = 12;
  /// Show a progress bar.
  bool progress = false;
};

/// Predictions and scores of a dataset evaluation.
struct RecordEval {
  /// The records evaluated, in file order.
  std::vector<DataRecord> records;
  std::vector<std::string> predictions;
  /// score_record per record; NaN for metric none.
  std::vector<double> scores;
  /// Per metric (score_records).
  std::vector<MetricScore> metrics;
  /// Wall time of generation.
  double seconds = 0.0;
};

/// A record as a built-in model's sample: the PNG image [3, 32, 32], the video's
/// kVideoFrames frames, the audio mixed to mono and resampled to kSampleRate. Throws ShapeError
/// (naming the line) for media of other sizes or longer than kMaxAudioSamples.
Sample record_sample(const DataRecord& record);

/// Evaluates a built-in model on the records (batched greedy generation).
RecordEval evaluate_records(MultimodalModel& model, const Tokenizer& tokenizer,
                            const std::vector<DataRecord>& records,
                            const RecordEvalOptions& options);

/// Evaluates a Hugging Face Qwen2-VL or Qwen2-Audio folder on the records (qwen2_ask per record).
RecordEval evaluate_records(Qwen2Bundle& bundle, const std::vector<DataRecord>& records,
                            const RecordEvalOptions& options);

}  // namespace clearsight::mm
