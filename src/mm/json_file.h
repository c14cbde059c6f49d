// Reading the JSON files of a Hugging Face folder with errors that name the file and field
// (private to the mm module).
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace clearsight::mm {

/// The parsed file; IoError when missing ("expected WHAT"), FormatError when not JSON.
nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what);

/// Sets out from j[key] when present: a positive integer, else ConfigError naming path and key.
void read_positive_integer(const nlohmann::json& j, const char* key,
                           const std::filesystem::path& path, std::int64_t& out);

}  // namespace clearsight::mm
