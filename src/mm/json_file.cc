#include "json_file.h"

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"

namespace clearsight::mm {

nlohmann::json read_json_file(const std::filesystem::path& path, const std::string& what) {
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path), path.string(),
              ": no such file (expected ", what, ")");
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    CS_THROW(FormatError, path.string(), ": not valid JSON (", what, "): ", e.what());
  }
}

void read_positive_integer(const nlohmann::json& j, const char* key,
                           const std::filesystem::path& path, std::int64_t& out) {
  if (!j.contains(key) || j[key].is_null()) return;
  CS_CHECK_AS(ConfigError, j[key].is_number_integer() && j[key].get<std::int64_t>() >= 1,
              path.string(), ": ", key, " must be a positive integer, got ", j[key].dump());
  out = j[key].get<std::int64_t>();
}

}  // namespace clearsight::mm
