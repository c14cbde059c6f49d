#include "clearsight/mm/jsonl_data.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/audio.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"

namespace clearsight::mm {

const std::vector<std::string>& jsonl_metric_names() {
  static const std::vector<std::string> names = {"exact_match", "substring_accuracy",    "bleu4",
                                                 "choice",      "word_recognition_rate", "none"};
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
    if (j.contains("id")) {
      CS_CHECK_AS(FormatError, j["id"].is_string() || j["id"].is_number_integer(), where(),
                  ": \"id\" must be a string or an integer");
      r.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
    }
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
                "\" (expected exact_match, substring_accuracy, bleu4, choice, "
                "word_recognition_rate, none)");
    CS_CHECK_AS(FormatError, r.metric == "none" || !r.answers.empty(), where(), ": metric ",
                r.metric, " needs an \"answer\"");
    out.push_back(std::move(r));
  }
  CS_CHECK_AS(ConfigError, !out.empty(), path.string(), ": the dataset has no samples");
  return out;
}

double score_record(const std::string& prediction, const DataRecord& record) {
  const auto& m = record.metric;
  CS_CHECK_AS(ConfigError, m != "none" && !record.answers.empty(), "line ", record.line,
              ": the record has no metric to score it with");
  const auto best = [&](auto&& one) {
    double score = 0.0;
    for (const auto& answer : record.answers) score = std::max(score, one(answer));
    return score;
  };
  if (m == "exact_match") {
    const auto p = normalize_answer(prediction);
    return best([&](const std::string& a) { return p == normalize_answer(a) ? 1.0 : 0.0; });
  }
  if (m == "substring_accuracy") {
    return best([&](const std::string& a) { return substring_match(prediction, a); });
  }
  if (m == "bleu4") return sentence_bleu4(prediction, record.answers);
  if (m == "choice") return choice_match(prediction, record.answers[0]);
  if (m == "word_recognition_rate") {
    return std::clamp(1.0 - word_error_rate(prediction, record.answers[0]), 0.0, 1.0);
  }
  CS_THROW(UnknownNameError, "line ", record.line, ": unknown metric '", m, "'");
}

std::vector<MetricScore> score_records(const std::vector<std::string>& predictions,
                                       const std::vector<DataRecord>& records) {
  CS_CHECK_AS(ShapeError, predictions.size() == records.size(),
              "score_records: ", predictions.size(), " predictions for ", records.size(),
              " records");
  std::vector<MetricScore> out;
  for (const auto& metric : jsonl_metric_names()) {
    if (metric == "none") continue;
    MetricScore m{metric, 0.0, 0};
    std::vector<std::string> bleu_predictions;
    std::vector<std::vector<std::string>> bleu_references;
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (records[i].metric != metric) continue;
      ++m.samples;
      if (metric == "bleu4") {
        bleu_predictions.push_back(predictions[i]);
        bleu_references.push_back(records[i].answers);
      } else {
        m.score += score_record(predictions[i], records[i]);
      }
    }
    if (m.samples == 0) continue;
    m.score = metric == "bleu4" ? corpus_bleu4(bleu_predictions, bleu_references)
                                : m.score / static_cast<double>(m.samples);
    out.push_back(m);
  }
  return out;
}

namespace {

// Writes a [3, H, W] uint8 image as PNG.
void write_chw_png(const std::filesystem::path& path, const torch::Tensor& chw) {
  const auto hwc = chw.permute({1, 2, 0}).contiguous().to(torch::kUInt8);
  write_png(path,
            std::span<const std::uint8_t>(hwc.data_ptr<std::uint8_t>(),
                                          static_cast<std::size_t>(hwc.numel())),
            static_cast<int>(hwc.size(1)), static_cast<int>(hwc.size(0)));
}

}  // namespace

std::filesystem::path export_task_jsonl(const Task& task, Split split, std::int64_t samples,
                                        const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  CS_CHECK_AS(ConfigError, !fs::exists(dir), dir.string(),
              " already exists (export writes a new folder)");
  const auto n = std::min(samples, task.split_size(split));
  CS_CHECK_AS(ConfigError, n > 0, "export: no samples to write (asked for ", samples, ")");
  StagedDirectory staged(dir);
  const auto root = staged.staging();
  fs::create_directories(root / "media");
  std::string lines;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto s = task.sample(split, i);
    char stem[32];
    std::snprintf(stem, sizeof(stem), "%06lld", static_cast<long long>(i));
    nlohmann::json j;
    j["id"] = task.name() + "/" + split_name(split) + "/" + std::to_string(i);
    j["prompt"] = s.prompt;
    if (s.image.defined()) {
      const std::string file = std::string("media/") + stem + ".png";
      write_chw_png(root / file, s.image);
      j["image"] = file;
    }
    if (s.video.defined()) {
      std::vector<std::string> frames;
      for (std::int64_t f = 0; f < s.video.size(0); ++f) {
        const std::string file = std::string("media/") + stem + "-" + std::to_string(f) + ".png";
        write_chw_png(root / file, s.video[f]);
        frames.push_back(file);
      }
      j["video"] = frames;
    }
    if (s.audio.defined()) {
      const std::string file = std::string("media/") + stem + ".wav";
      const auto wave = s.audio.to(torch::kFloat32).contiguous();
      write_wav(root / file,
                std::vector<float>(wave.data_ptr<float>(), wave.data_ptr<float>() + wave.numel()),
                kSampleRate);
      j["audio"] = file;
    }
    if (s.references.empty()) {
      j["answer"] = s.answer;
    } else {
      j["answers"] = s.references;
    }
    j["metric"] = task.record_metric();
    lines += j.dump() + "\n";
  }
  atomic_write(root / "data.jsonl", lines);
  staged.commit();
  return dir / "data.jsonl";
}

}  // namespace clearsight::mm
