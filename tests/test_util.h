// Helpers shared by the test binaries.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace clearsight::testing {

/// A fresh temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The directory.
  const std::filesystem::path& path() const { return path_; }
  /// A path inside it.
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

/// Writes bytes to a file (non-atomically; tests craft malformed files with it).
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

/// The what() of the clearsight::Error that fn throws, or "" when it throws none.
std::string error_message(const std::function<void()>& fn);

/// Files in a directory whose name contains ".tmp." (left-over temporaries).
int count_temp_files(const std::filesystem::path& dir);

}  // namespace clearsight::testing
