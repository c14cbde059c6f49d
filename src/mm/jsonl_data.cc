#include "clearsight/mm/jsonl_data.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

#include "clearsight/core/error.h"

namespace clearsight::mm {

const std::vector<std::string>& jsonl_metric_names() {
  static const std::vector<std::string> names = {"exact_match", "substring_accuracy", "bleu4",
                                                 "none"};
  return names;
}

std::vector<DataRecord> load_jsonl_dataset(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::ifstream in(path);
  CS_CHECK_AS(IoError, fs::is_regular_file(path) && in.good(), path.string(),
              ": cannot read the dataset (expected a JSON Lines file)");
  const auto base = path.parent_path();
  const std::set<std::string> known = {"prompt", "image",   "video",  "audio",
                                       "answer", "answers", "metric", "id"};
  std::vector<DataRecord> out;
  std::string text;
  std::int64_t line = 0;
  const auto where = [&] { return path.string() + ":" + std::to_string(line); };
  const auto media = [&](const nlohmann::json& v, const char* key) {
    CS_CHECK_AS(FormatError, v.is_string() && !v.get<std::string>().empty(), where(), ": \"", key,
                "\" must be a path");
    const fs::path p = base / v.get<std::string>();
    CS_CHECK_AS(IoError, fs::is_regular_file(p), where(), ": ", key, " file ", p.string(),
                " does not exist");
    return p;
  };
  while (std::getline(in, text)) {
    ++line;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      CS_THROW(FormatError, where(), ": not valid JSON: ", e.what());
    }
    CS_CHECK_AS(FormatError, j.is_object(), where(), ": each line must be a JSON object");
    for (const auto& [key, value] : j.items()) {
      CS_CHECK_AS(FormatError, known.count(key), where(), ": unknown key \"", key,
                  "\" (expected prompt, image, video, audio, answer(s), metric, id)");
    }
    DataRecord r;
    r.line = line;
    CS_CHECK_AS(FormatError, j.contains("prompt") && j["prompt"].is_string(), where(),
                ": \"prompt\" (a string) is required");
    r.prompt = j["prompt"].get<std::string>();
    if (j.contains("image")) r.image = media(j["image"], "image");
    if (j.contains("video")) {
      CS_CHECK_AS(FormatError, j["video"].is_array() && !j["video"].empty(), where(),
                  ": \"video\" must be a list of frame paths");
      for (const auto& f : j["video"]) r.video.push_back(media(f, "video frame"));
    }
    if (j.contains("audio")) r.audio = media(j["audio"], "audio");
    if (j.contains("answer")) {
      CS_CHECK_AS(FormatError, j["answer"].is_string(), where(), ": \"answer\" must be a string");
      r.answers.push_back(j["answer"].get<std::string>());
    }
    if (j.contains("answers")) {
      CS_CHECK_AS(FormatError, j["answers"].is_array(), where(),
                  ": \"answers\" must be a list of strings");
      for (const auto& a : j["answers"]) {
        CS_CHECK_AS(FormatError, a.is_string(), where(), ": \"answers\" must hold strings");
        r.answers.push_back(a.get<std::string>());
      }
    }
    r.metric = j.value("metric", std::string(r.answers.empty() ? "none" : "exact_match"));
    const auto& metrics = jsonl_metric_names();
    CS_CHECK_AS(FormatError, std::find(metrics.begin(), metrics.end(), r.metric) != metrics.end(),
                where(), ": unknown metric \"", r.metric,
                "\" (expected exact_match, substring_accuracy, bleu4, none)");
    CS_CHECK_AS(FormatError, r.metric == "none" || !r.answers.empty(), where(), ": metric ",
                r.metric, " needs an \"answer\"");
    out.push_back(std::move(r));
  }
  CS_CHECK_AS(ConfigError, !out.empty(), path.string(), ": the dataset has no samples");
  return out;
}

}  // namespace clearsight::mm
