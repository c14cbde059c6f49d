// MINER's stages 2 and 3 on a Hugging Face Qwen2-VL folder over a JSONL dataset of one's own.
#pragma once

#include <string>
#include <vector>

#include "clearsight/miner/miner.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/mm/jsonl_data.h"
#include "clearsight/mm/qwen2_chat.h"

namespace clearsight::miner {

/// Modality of a Qwen2-VL prompt id: image / video pads, special added tokens, else text.
mm::Modality qwen2_vl_modality(const mm::Qwen2VlBundle& bundle, std::int64_t id);

/// Scores the records (shard run.shard of run.shards, the first run.samples) one prefill pass
/// each with the scoring hooks; images and video frames are read from the records' paths.
/// Throws ConfigError for records with audio (a vision-language model).
ScoreAccumulator score_qwen2_vl(mm::Qwen2VlBundle& bundle,
                                const std::vector<mm::DataRecord>& records,
                                const std::string& dataset, const ScoreRun& run);

}  // namespace clearsight::miner
