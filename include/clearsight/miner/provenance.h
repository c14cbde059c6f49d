// Where a MINER score file came from, and the checks that keep scores of different models,
// datasets or settings from being merged, selected from or reused together.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/miner/miner.h"

namespace clearsight::miner {

/// Provenance metadata of a score file (safetensors string metadata).
using Provenance = std::map<std::string, std::string>;

/// The content hash of a model given as a folder or a built-in model's name (its folder under
/// assets/models): "xxh3-128:...". Throws IoError when it names neither.
std::string model_content_hash(const std::string& name_or_dir);

/// The provenance `miner score` records: the model by name and content hash, the source (split
/// name, or a JSONL file with its content hash), the shard "i/n", the samples asked for, the
/// scoring settings, the metric and modality lists, and the tool version.
Provenance score_provenance(const std::string& model, const std::string& split,
                            const std::filesystem::path& data_file, const std::string& shard,
                            std::int64_t samples, bool faithful);

/// A score file loaded with its provenance.
struct ScoreFile {
  std::filesystem::path path;
  ScoreAccumulator scores;
  Provenance provenance;
};

/// Loads a score file and its provenance metadata (ScoreAccumulator::load's checks).
ScoreFile load_score_file(const std::filesystem::path& path);

/// Merges the shards of one scoring: every file must share the dataset, model, source,
/// samples, settings and shard count; each shard appears once, and a file given twice is an
/// error. The merged provenance keeps the shared keys and lists the shards.
ScoreFile merge_score_files(const std::vector<std::filesystem::path>& inputs);

/// Checks that score files fed to one selection come from one model with one scoring setting,
/// each dataset once; throws ConfigError naming the file that differs.
void check_selectable(const std::vector<ScoreFile>& files);

}  // namespace clearsight::miner
