// What a resumed run may change: every recorded setting must match the request, except the ones a
// trainer documents as changeable (the step budget), and every input file keeps its content hash.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace clearsight {

/// The dotted paths of the leaves whose values differ between recorded and requested (a key only
/// one of them has counts as differing), skipping the dotted paths in changeable.
std::vector<std::string> differing_settings(const nlohmann::json& recorded,
                                            const nlohmann::json& requested,
                                            const std::vector<std::string>& changeable);

/// Throws ConfigError naming each differing setting of the run in dir (section: "rl", "imitate"...)
/// with its recorded and its requested value, and what may change on a resume.
void check_resume_settings(const std::filesystem::path& dir, const std::string& section,
                           const nlohmann::json& recorded, const nlohmann::json& requested,
                           const std::vector<std::string>& changeable);

/// Throws ConfigError when the file at path no longer has the content hash a run recorded for it
/// (what: "demonstration file"), e.g. a demonstration file replaced between two sessions.
void check_input_unchanged(const std::filesystem::path& dir, const std::string& what,
                           const std::filesystem::path& path, const std::string& recorded_hash);

/// The content hash of each input file, as a JSON object path -> hash (for config.json).
nlohmann::json input_hashes(const std::vector<std::string>& paths);

/// check_input_unchanged for each path -> hash of a recorded input_hashes object.
void check_inputs_unchanged(const std::filesystem::path& dir, const std::string& what,
                            const nlohmann::json& recorded);

}  // namespace clearsight
