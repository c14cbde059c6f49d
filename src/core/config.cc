#include "clearsight/core/config.h"

#include <fstream>
#include <sstream>

#include "clearsight/core/utf8.h"

namespace clearsight::config {
namespace {

// Largest config file read (64 MiB): far above any real config, far below a runaway read.
constexpr std::uintmax_t kMaxConfigBytes = 64ull << 20;

}  // namespace

std::string json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "number";
    default:
      return "value";
  }
}

Json load_file(const std::filesystem::path& path) {
  // A config is a small text file: refuse FIFOs, devices (/dev/zero) and anything too large to be
  // a config before reading a byte.
  std::error_code ec;
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path, ec), "cannot open config file '",
              path.string(),
              "': ", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  const auto size = std::filesystem::file_size(path, ec);
  CS_CHECK_AS(FormatError, !ec && size <= kMaxConfigBytes, "config file '", path.string(), "' is ",
              size, " bytes; a config is at most ", kMaxConfigBytes, " bytes");
  std::ifstream in(path, std::ios::binary);
  CS_CHECK_AS(IoError, in.good(), "cannot open config file '", path.string(), "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return Json::parse(buffer.str());
  } catch (const Json::parse_error& e) {
    CS_THROW(ConfigError, "config file '", path.string(), "' is not valid JSON at byte ", e.byte,
             ": ", e.what());
  } catch (const Json::exception& e) {
    // out_of_range: a number such as 1e999 that no double holds.
    CS_THROW(ConfigError, "config file '", path.string(), "': ", e.what());
  }
}

void apply_override(Json& target, std::string_view assignment) {
  const auto eq = assignment.find('=');
  CS_CHECK_AS(ConfigError, eq != std::string_view::npos && eq > 0, "override '", assignment,
              "' must look like key.path=value");
  // JSON text is UTF-8: a key or bare word with other bytes could not be printed or saved.
  const auto bad = invalid_utf8_at(assignment);
  if (bad != std::string_view::npos && bad < eq) {
    CS_THROW(ConfigError, "override key is not valid UTF-8 (byte ", bad, " of the assignment)");
  }
  if (bad != std::string_view::npos) {
    CS_THROW(ConfigError, "override '", assignment.substr(0, eq),
             "=...': the value is not valid UTF-8 (byte ", bad, ")");
  }
  const std::string key(assignment.substr(0, eq));
  const std::string text(assignment.substr(eq + 1));
  Json value;
  try {
    value = Json::parse(text);
  } catch (const Json::parse_error&) {
    value = text;  // Bare words are strings: --set env=Hopper-v4.
  } catch (const Json::exception& e) {
    CS_THROW(ConfigError, "override '", key, "': the value '", text, "' is out of range (",
             e.what(), ")");
  }
  Json* node = &target;
  const auto parts = split(key, '.');
  for (std::size_t i = 0; i < parts.size(); ++i) {
    CS_CHECK_AS(ConfigError, !parts[i].empty(), "override '", assignment, "' has an empty key");
    if (!node->is_object()) *node = Json::object();
    node = &(*node)[parts[i]];
  }
  *node = std::move(value);
}

void Reader::finish() const {
  for (auto it = source_.begin(); it != source_.end(); ++it) {
    bool found = false;
    for (const auto& k : known_) found = found || k == it.key();
    if (found) continue;
    const std::string where = path_.empty() ? it.key() : path_ + "." + it.key();
    std::string hint = did_you_mean(it.key(), known_);
    CS_THROW(ConfigError, "unknown config key '", where, "'", hint.empty() ? "" : "; ", hint,
             " (valid keys", path_.empty() ? "" : " of '" + path_ + "'", ": ", join(known_, ", "),
             ")");
  }
}

}  // namespace clearsight::config
