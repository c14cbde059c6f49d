// MINER's stages 2 and 3 on a Hugging Face Qwen2-VL or Qwen2-Audio folder over a JSONL dataset of
// one's own.
#pragma once

#include <string>
#include <vector>

#include "clearsight/miner/miner.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/mm/jsonl_data.h"
#include "clearsight/mm/qwen2_chat.h"

namespace clearsight::miner {

/// Scores the records (shard run.shard of run.shards, the first run.samples) one prefill pass
/// each with the scoring hooks; media are read from the records' paths. Throws ConfigError for a
/// record with media the model has no tower for.
ScoreAccumulator score_qwen2(mm::Qwen2Bundle& bundle, const std::vector<mm::DataRecord>& records,
                             const std::string& dataset, const ScoreRun& run);

}  // namespace clearsight::miner
