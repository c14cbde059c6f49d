// Atomic file writes: content goes to a temporary file beside the target, is flushed to disk,
// then renamed over the target, so a reader never sees a half-written file.
#pragma once

#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace clearsight {

/// Writes bytes to path atomically (temp + fsync + rename); throws IoError on failure.
void atomic_write(const std::filesystem::path& path, std::span<const std::byte> bytes);

/// Writes text to path atomically.
void atomic_write(const std::filesystem::path& path, std::string_view text);

/// Flushes a directory's entries to disk (after a rename into it); best effort, never throws.
void sync_directory(const std::filesystem::path& dir);

/// Reads a whole file; throws IoError when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// A streaming writer whose output appears at its path only on commit().
/// Destroying it without commit() removes the temporary file and leaves any old file untouched.
class AtomicFile {
 public:
  /// Opens a temporary file beside path; throws IoError when the directory is not writable.
  explicit AtomicFile(std::filesystem::path path);
  /// Discards the temporary file unless committed.
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends bytes; throws IoError on a short write (disk full...).
  void write(const void* data, std::size_t size);
  /// Appends text.
  void write(std::string_view text) { write(text.data(), text.size()); }
  /// Bytes written so far.
  std::size_t size() const { return size_; }
  /// Flushes, syncs and renames the temporary file over the target.
  void commit();
  /// The final path.
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  std::FILE* file_ = nullptr;
  std::size_t size_ = 0;
  bool committed_ = false;
};

/// A directory whose contents appear at its path only on commit(): the work is written into a
/// sibling staging directory (path + ".partial-PID"), and commit() replaces any older directory at
/// path with it. Destroying it without commit() removes the staging directory, so a failed run
/// leaves no half-written output and an older complete one untouched.
class StagedDirectory {
 public:
  /// Creates the staging directory; throws IoError when it cannot be created.
  explicit StagedDirectory(std::filesystem::path path);
  /// Removes the staging directory unless committed.
  ~StagedDirectory();
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  /// Where to write now (the staging directory).
  const std::filesystem::path& staging() const { return staging_; }
  /// The final path.
  const std::filesystem::path& path() const { return path_; }
  /// Moves the staging directory to the final path (replacing an older one); throws IoError.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path staging_;
  bool committed_ = false;
};

}  // namespace clearsight
