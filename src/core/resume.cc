#include "clearsight/core/resume.h"

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/hash.h"

namespace clearsight {

namespace {

void collect(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix,
             const std::vector<std::string>& changeable, std::vector<std::string>& out) {
  if (std::find(changeable.begin(), changeable.end(), prefix) != changeable.end()) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      collect(value, b.contains(key) ? b[key] : nlohmann::json(), path, changeable, out);
    }
    for (const auto& [key, value] : b.items()) {
      if (a.contains(key)) continue;
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      collect(nlohmann::json(), value, path, changeable, out);
    }
    return;
  }
  // Numbers compare by value: 3 and 3.0 are the same setting.
  if (a.is_number() && b.is_number() && a.get<double>() == b.get<double>()) return;
  if (a != b) out.push_back(prefix);
}

const nlohmann::json& at_path(const nlohmann::json& root, const std::string& path) {
  static const nlohmann::json missing;
  const nlohmann::json* node = &root;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
    if (!node->is_object() || !node->contains(key)) return missing;
    node = &(*node)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *node;
}

std::string shown(const nlohmann::json& value) {
  if (value.is_null()) return "(absent)";
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

}  // namespace

std::vector<std::string> differing_settings(const nlohmann::json& recorded,
                                            const nlohmann::json& requested,
                                            const std::vector<std::string>& changeable) {
  std::vector<std::string> out;
  collect(recorded, requested, "", changeable, out);
  return out;
}

void check_resume_settings(const std::filesystem::path& dir, const std::string& section,
                           const nlohmann::json& recorded, const nlohmann::json& requested,
                           const std::vector<std::string>& changeable) {
  const auto keys = differing_settings(recorded, requested, changeable);
  if (keys.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < keys.size() && i < 6; ++i) {
    list += (i ? "; " : "") + section + "." + keys[i] + " is " + shown(at_path(recorded, keys[i])) +
            " in the run, " + shown(at_path(requested, keys[i])) + " was asked";
  }
  if (keys.size() > 6) list += "; and " + std::to_string(keys.size() - 6) + " more";
  std::string may;
  for (const auto& key : changeable) may += (may.empty() ? "" : ", ") + key;
  CS_THROW(ConfigError, "resume conflict in '", dir.string(), "': ", list,
           " (a resumed run keeps its recorded settings; only ", may.empty() ? "nothing" : may,
           " may change: repeat the run's own command, or start a new --out)");
}

void check_input_unchanged(const std::filesystem::path& dir, const std::string& what,
                           const std::filesystem::path& path, const std::string& recorded_hash) {
  const std::string now = content_hash(path);
  CS_CHECK_AS(ConfigError, now == recorded_hash, "resume conflict in '", dir.string(), "': the ",
              what, " '", path.string(), "' has changed since the run started (content ", now,
              ", recorded ", recorded_hash, "); a run continues on the data it began with");
}

nlohmann::json input_hashes(const std::vector<std::string>& paths) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& path : paths) out[path] = content_hash(path);
  return out;
}

void check_inputs_unchanged(const std::filesystem::path& dir, const std::string& what,
                            const nlohmann::json& recorded) {
  if (!recorded.is_object()) return;
  for (const auto& [path, hash] : recorded.items()) {
    CS_CHECK_AS(FormatError, hash.is_string(), "'", (dir / "config.json").string(),
                "': the recorded hash of '", path, "' is not a string");
    check_input_unchanged(dir, what, path, hash.get<std::string>());
  }
}

}  // namespace clearsight
