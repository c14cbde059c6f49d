// Name -> factory registries with helpful errors for unknown names.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clearsight/core/error.h"
#include "clearsight/core/strings.h"

namespace clearsight {

/// A registry of factories producing std::unique_ptr<T> from Args, keyed by name.
template <typename T, typename... Args>
class Registry {
 public:
  /// The factory type stored for each name.
  using Factory = std::function<std::unique_ptr<T>(Args...)>;

  /// An entry: its factory and a one-line description.
  struct Entry {
    Factory factory;
    std::string description;
  };

  /// Creates an empty registry; kind names the things it holds ("environment", "metric").
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  /// Registers a factory; throws ConfigError when the name is already taken or empty.
  void add(const std::string& name, Factory factory, std::string description = "") {
    CS_CHECK_AS(ConfigError, !name.empty(), "a ", kind_, " cannot be registered without a name");
    CS_CHECK_AS(ConfigError, !entries_.count(name), kind_, " '", name, "' is registered twice");
    entries_.emplace(name, Entry{std::move(factory), std::move(description)});
  }

  /// Whether name is registered.
  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  /// All registered names, sorted.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& [name, entry] : entries_) out.push_back(name);
    return out;
  }

  /// The entry for name; throws UnknownNameError listing the nearest names.
  const Entry& at(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      const auto all = names();
      std::string hint = did_you_mean(name, all);
      CS_THROW(UnknownNameError, "unknown ", kind_, " '", name, "'", hint.empty() ? "" : "; ", hint,
               " (known: ", join(all, ", "), ")");
    }
    return it->second;
  }

  /// The description registered for name.
  const std::string& description(const std::string& name) const { return at(name).description; }

  /// Creates an object by name; throws UnknownNameError for unknown names.
  std::unique_ptr<T> create(const std::string& name, Args... args) const {
    return at(name).factory(std::forward<Args>(args)...);
  }

  /// What this registry holds ("environment", ...).
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace clearsight
