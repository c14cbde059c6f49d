#include "clearsight/miner/provenance.h"

#include <algorithm>
#include <set>

#include "clearsight/core/error.h"
#include "clearsight/core/hash.h"
#include "clearsight/core/paths.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/core/strings.h"
#include "clearsight/miner/pipeline.h"
#include "clearsight/version.h"

namespace clearsight::miner {

namespace fs = std::filesystem;

namespace {

// Keys that identify what was scored and how: shards of one scoring share all of them.
const std::vector<std::string> kScoringKeys = {"model_hash", "model",    "split",   "data_hash",
                                               "samples",    "faithful", "metrics", "modalities"};

std::string value_of(const Provenance& p, const std::string& key) {
  const auto it = p.find(key);
  return it == p.end() ? "(not recorded)" : it->second;
}

// The model identity of a file: its content hash where recorded, else its name (older files).
std::pair<std::string, std::string> model_identity(const Provenance& p) {
  if (p.count("model_hash")) return {"model_hash", p.at("model_hash")};
  return {"model", value_of(p, "model")};
}

// The shard indices a file holds and their count: "shard" i/n, or a partial merge's
// "merged_shards" ("0,2 of 4").
std::pair<std::vector<int>, int> shards_of(const ScoreFile& file) {
  const auto bad = [&](const std::string& text) {
    CS_THROW(FormatError, "miner merge: '", file.path.string(), "' records shard '", text,
             "', which is not i/n with 0 <= i < n");
  };
  if (file.provenance.count("merged_shards")) {
    const std::string text = file.provenance.at("merged_shards");
    const auto of = text.find(" of ");
    if (of == std::string::npos) bad(text);
    std::vector<int> indices;
    int n = 0;
    try {
      n = std::stoi(text.substr(of + 4));
      for (const auto& part : split(text.substr(0, of), ',')) indices.push_back(std::stoi(part));
    } catch (const std::exception&) {
      bad(text);
    }
    for (const int i : indices) {
      if (i < 0 || i >= n) bad(text);
    }
    if (indices.empty()) bad(text);
    return {indices, n};
  }
  CS_CHECK_AS(FormatError, file.provenance.count("shard"), "miner merge: '", file.path.string(),
              "' records no shard (was it made by `miner score`?)");
  const std::string text = file.provenance.at("shard");
  try {
    const auto [i, n] = parse_shard(text);
    return {{i}, n};
  } catch (const ConfigError&) {
    bad(text);
  }
  return {};
}

}  // namespace

std::string model_content_hash(const std::string& name_or_dir) {
  std::error_code ec;
  if (fs::is_directory(name_or_dir, ec)) return content_hash(name_or_dir);
  const fs::path builtin = assets_dir() / "models" / name_or_dir;
  CS_CHECK_AS(IoError, fs::is_directory(builtin, ec), "model '", name_or_dir,
              "' is neither a directory nor a built-in model under ",
              (assets_dir() / "models").string());
  return content_hash(builtin);
}

Provenance score_provenance(const std::string& model, const std::string& split,
                            const fs::path& data_file, const std::string& shard,
                            std::int64_t samples, bool faithful) {
  Provenance p = {{"model", model},
                  {"model_hash", model_content_hash(model)},
                  {"shard", shard},
                  {"samples", std::to_string(samples)},
                  {"faithful", faithful ? "true" : "false"},
                  {"clearsight_version", kVersion}};
  if (data_file.empty()) {
    p["split"] = split;
  } else {
    p["data"] = data_file.string();
    p["data_hash"] = content_hash(data_file);
  }
  return p;
}

ScoreFile load_score_file(const fs::path& path) {
  ScoreFile out{path, ScoreAccumulator::load(path), {}};
  out.provenance = safetensors::File::open(path).metadata();
  return out;
}

ScoreFile merge_score_files(const std::vector<fs::path>& inputs) {
  CS_CHECK_AS(ConfigError, !inputs.empty(), "miner merge: no input files");
  std::vector<ScoreFile> files;
  std::map<std::string, fs::path> seen;  // content hash -> first path
  for (const auto& path : inputs) {
    const std::string hash = content_hash(path);
    const auto [it, fresh] = seen.emplace(hash, path);
    CS_CHECK_AS(ConfigError, fresh, "miner merge: '", path.string(), "' has the same content as '",
                it->second.string(), "' (a shard given twice would count its samples twice)");
    files.push_back(load_score_file(path));
  }
  const ScoreFile& first = files.front();
  std::set<int> shards;
  int count = 0;
  for (const auto& file : files) {
    CS_CHECK_AS(ConfigError, file.scores.dataset() == first.scores.dataset(), "miner merge: '",
                file.path.string(), "' holds scores of dataset '", file.scores.dataset(), "', '",
                first.path.string(), "' of '", first.scores.dataset(), "'");
    for (const auto& key : kScoringKeys) {
      CS_CHECK_AS(ConfigError, value_of(file.provenance, key) == value_of(first.provenance, key),
                  "miner merge: '", file.path.string(), "' was scored with ", key, " ",
                  value_of(file.provenance, key), ", '", first.path.string(), "' with ",
                  value_of(first.provenance, key), " (only shards of one scoring merge)");
    }
    const auto [indices, n] = shards_of(file);
    if (count == 0) count = n;
    CS_CHECK_AS(ConfigError, n == count, "miner merge: '", file.path.string(), "' holds shards of ",
                n, ", the others of ", count);
    for (const int i : indices) {
      CS_CHECK_AS(ConfigError, shards.insert(i).second, "miner merge: shard ", i, "/", n,
                  " appears twice ('", file.path.string(), "')");
    }
  }
  ScoreFile merged{"", first.scores, {}};
  for (std::size_t k = 1; k < files.size(); ++k) merged.scores.merge(files[k].scores);
  for (const auto& key : kScoringKeys) {
    if (first.provenance.count(key)) merged.provenance[key] = first.provenance.at(key);
  }
  if (first.provenance.count("data")) merged.provenance["data"] = first.provenance.at("data");
  std::string list;
  for (const int i : shards) list += (list.empty() ? "" : ",") + std::to_string(i);
  // All shards: the whole scoring, as one unsharded run would have written it. Some: a partial
  // merge that merges on with the remaining shards.
  if (shards.size() == static_cast<std::size_t>(count)) {
    merged.provenance["shard"] = "0/1";
  } else {
    merged.provenance["merged_shards"] = list + " of " + std::to_string(count);
  }
  merged.provenance["merged_from"] = std::to_string(files.size()) + " files";
  merged.provenance["clearsight_version"] = kVersion;
  return merged;
}

void check_selectable(const std::vector<ScoreFile>& files) {
  CS_CHECK_AS(ConfigError, !files.empty(), "miner select: no score files");
  const ScoreFile& first = files.front();
  std::map<std::string, fs::path> datasets;
  for (const auto& file : files) {
    const auto [key, identity] = model_identity(file.provenance);
    const auto [first_key, first_identity] = model_identity(first.provenance);
    CS_CHECK_AS(ConfigError, key == first_key && identity == first_identity, "miner select: '",
                file.path.string(), "' was scored on ", key, " ", identity, ", '",
                first.path.string(), "' on ", first_key, " ", first_identity,
                " (a selection comes from one model's scores)");
    for (const std::string setting : {"faithful", "metrics", "modalities"}) {
      CS_CHECK_AS(ConfigError,
                  value_of(file.provenance, setting) == value_of(first.provenance, setting),
                  "miner select: '", file.path.string(), "' was scored with ", setting, " ",
                  value_of(file.provenance, setting), ", '", first.path.string(), "' with ",
                  value_of(first.provenance, setting));
    }
    const auto [it, fresh] = datasets.emplace(file.scores.dataset(), file.path);
    CS_CHECK_AS(ConfigError, fresh, "miner select: '", file.path.string(), "' and '",
                it->second.string(), "' both hold dataset '", file.scores.dataset(),
                "' (merge shards with `miner merge` first; a dataset counts once)");
  }
}

}  // namespace clearsight::miner
