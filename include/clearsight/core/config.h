// JSON configs bound to plain structs: defaults in the struct, unknown keys rejected with the list
// of valid ones, type errors naming the key path, and a resolved dump.
//
// A config struct lists its fields once in a visit() member:
//
//   struct TrainConfig {
//     int steps = 1000;
//     double lr = 3e-4;
//     template <typename V> void visit(V& v) {
//       v("steps", steps, "number of environment steps");
//       v("lr", lr, "learning rate");
//     }
//   };
//   TrainConfig cfg = config::from_json<TrainConfig>(json, "train");
#pragma once

#include <nlohmann/json.hpp>

#include <concepts>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight::config {

using Json = nlohmann::json;

/// True for structs that describe their fields with a visit() member.
template <typename T>
concept Visitable = requires(T& t) {
  t.visit(std::declval<struct ProbeVisitor&>());
};

/// A visitor that accepts any field (used only to detect Visitable types).
struct ProbeVisitor {
  template <typename F>
  void operator()(const char*, F&, const char* = "") {}
};

/// Short name of a JSON value's type ("number", "string"...).
std::string json_type_name(const Json& value);

/// Reads a JSON file; throws IoError if unreadable and ConfigError with the position on bad JSON.
Json load_file(const std::filesystem::path& path);

/// Applies "a.b.c=value" (value parsed as JSON, else taken as a string) to a JSON object.
void apply_override(Json& target, std::string_view assignment);

/// Reads visited fields from a JSON object, rejecting unknown keys.
class Reader {
 public:
  /// Reads from source; path is the dotted prefix used in error messages.
  Reader(const Json& source, std::string path) : source_(source), path_(std::move(path)) {}

  /// Binds one field: overwrites it when the key is present.
  template <typename F>
  void operator()(const char* key, F& field, const char* /*doc*/ = "") {
    known_.emplace_back(key);
    auto it = source_.find(key);
    if (it == source_.end()) return;
    const std::string where = path_.empty() ? key : path_ + "." + key;
    if constexpr (Visitable<F>) {
      CS_CHECK_AS(ConfigError, it->is_object(), "config '", where, "': expected an object, got ",
                  json_type_name(*it));
      Reader nested(*it, where);
      field.visit(nested);
      nested.finish();
    } else {
      read_value(*it, field, where);
    }
  }

  /// Throws ConfigError if the source has keys no field claimed.
  void finish() const;

 private:
  template <typename F>
  static void read_value(const Json& value, F& field, const std::string& where) {
    if constexpr (std::is_same_v<F, bool>) {
      CS_CHECK_AS(ConfigError, value.is_boolean(), "config '", where,
                  "': expected true or false, got ", json_type_name(value), " ", value.dump());
    } else if constexpr (std::is_integral_v<F>) {
      CS_CHECK_AS(ConfigError, value.is_number_integer(), "config '", where,
                  "': expected an integer, got ", json_type_name(value), " ", value.dump());
      if constexpr (std::is_unsigned_v<F>) {
        CS_CHECK_AS(ConfigError, !value.is_number_integer() || value.get<long long>() >= 0,
                    "config '", where, "': expected a non-negative integer, got ", value.dump());
      }
    } else if constexpr (std::is_floating_point_v<F>) {
      CS_CHECK_AS(ConfigError, value.is_number(), "config '", where, "': expected a number, got ",
                  json_type_name(value), " ", value.dump());
    } else if constexpr (std::is_same_v<F, std::vector<std::string>>) {
      if (value.is_string()) {  // "--set tasks=a,b" from a shell: a comma-separated list.
        field = split(value.get<std::string>(), ',');
        return;
      }
    } else if constexpr (std::is_same_v<F, std::string>) {
      CS_CHECK_AS(ConfigError, value.is_string(), "config '", where, "': expected a string, got ",
                  json_type_name(value), " ", value.dump());
    }
    try {
      field = value.get<F>();
    } catch (const nlohmann::json::exception& e) {
      CS_THROW(ConfigError, "config '", where, "': cannot read ", value.dump(), " (", e.what(),
               ")");
    }
  }

  const Json& source_;
  std::string path_;
  std::vector<std::string> known_;
};

/// Writes visited fields into a JSON object.
class Writer {
 public:
  /// Writes into target.
  explicit Writer(Json& target) : target_(target) {}

  /// Writes one field.
  template <typename F>
  void operator()(const char* key, const F& field, const char* /*doc*/ = "") {
    if constexpr (Visitable<F>) {
      Json nested = Json::object();
      Writer writer(nested);
      const_cast<F&>(field).visit(writer);
      target_[key] = std::move(nested);
    } else {
      target_[key] = field;
    }
  }

 private:
  Json& target_;
};

/// One documented field of a config (for `--help-config` style listings).
struct FieldDoc {
  std::string key;
  std::string default_value;
  std::string doc;
};

/// Collects FieldDocs.
class Documenter {
 public:
  /// Collects into out with a dotted prefix.
  Documenter(std::vector<FieldDoc>& out, std::string prefix)
      : out_(out), prefix_(std::move(prefix)) {}

  /// Documents one field.
  template <typename F>
  void operator()(const char* key, const F& field, const char* doc = "") {
    const std::string name = prefix_.empty() ? key : prefix_ + "." + key;
    if constexpr (Visitable<F>) {
      Documenter nested(out_, name);
      const_cast<F&>(field).visit(nested);
    } else {
      out_.push_back({name, Json(field).dump(), doc});
    }
  }

 private:
  std::vector<FieldDoc>& out_;
  std::string prefix_;
};

/// Builds T from its defaults overlaid with json; path prefixes error messages.
template <Visitable T>
T from_json(const Json& json, std::string path = "") {
  T value{};
  CS_CHECK_AS(ConfigError, json.is_object() || json.is_null(), "config",
              path.empty() ? "" : " '" + path + "'", ": expected an object, got ",
              json_type_name(json));
  if (json.is_null()) return value;
  Reader reader(json, path);
  value.visit(reader);
  reader.finish();
  if constexpr (requires(const T& t) { t.validate(); }) value.validate();
  return value;
}

/// The resolved config (every field, defaults included) as JSON.
template <Visitable T>
Json to_json(const T& value) {
  Json out = Json::object();
  Writer writer(out);
  const_cast<T&>(value).visit(writer);
  return out;
}

/// Every field of T with its default and documentation, in declaration order.
template <Visitable T>
std::vector<FieldDoc> describe() {
  std::vector<FieldDoc> out;
  T defaults{};
  Documenter documenter(out, "");
  defaults.visit(documenter);
  return out;
}

}  // namespace clearsight::config
