#include "clearsight/core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "clearsight/core/error.h"

namespace clearsight {
namespace {

std::filesystem::path temp_path_for(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() / (path.filename().string() + ".tmp." + std::to_string(getpid()) + "." +
                               std::to_string(counter.fetch_add(1)));
}

}  // namespace

void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

AtomicFile::AtomicFile(std::filesystem::path path)
    : path_(std::move(path)), temp_path_(temp_path_for(path_)) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  CS_CHECK_AS(IoError, file_ != nullptr, "cannot create '", temp_path_.string(), "' to write '",
              path_.string(), "': ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_ != nullptr) std::fclose(file_);
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
  }
}

void AtomicFile::write(const void* data, std::size_t size) {
  CS_CHECK_AS(IoError, file_ != nullptr && !committed_, "write to '", path_.string(),
              "' after commit");
  if (size == 0) return;
  const std::size_t written = std::fwrite(data, 1, size, file_);
  CS_CHECK_AS(IoError, written == size, "short write to '", temp_path_.string(), "' (", written,
              " of ", size, " bytes): ", std::strerror(errno));
  size_ += size;
}

void AtomicFile::commit() {
  CS_CHECK_AS(IoError, !committed_ && file_ != nullptr, "'", path_.string(), "' committed twice");
  const bool flushed = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
  const int close_result = std::fclose(file_);
  file_ = nullptr;
  CS_CHECK_AS(IoError, flushed && close_result == 0, "cannot flush '", temp_path_.string(),
              "': ", std::strerror(errno));
  CS_CHECK_AS(IoError, std::rename(temp_path_.c_str(), path_.c_str()) == 0, "cannot rename '",
              temp_path_.string(), "' to '", path_.string(), "': ", std::strerror(errno));
  committed_ = true;
  sync_directory(path_.parent_path());
}

void atomic_write(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  AtomicFile file(path);
  file.write(bytes.data(), bytes.size());
  file.commit();
}

void atomic_write(const std::filesystem::path& path, std::string_view text) {
  AtomicFile file(path);
  file.write(text);
  file.commit();
}

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  CS_CHECK_AS(IoError, std::filesystem::is_regular_file(path, ec), "cannot read '", path.string(),
              "': ", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
  std::ifstream in(path, std::ios::binary);
  CS_CHECK_AS(IoError, in.good(), "cannot open '", path.string(), "': ", std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  CS_CHECK_AS(IoError, !in.bad(), "error while reading '", path.string(), "'");
  return out.str();
}

StagedDirectory::StagedDirectory(std::filesystem::path path) : path_(std::move(path)) {
  CS_CHECK_AS(IoError, !path_.empty(), "an output directory is required");
  if (path_.filename().empty()) path_ = path_.parent_path();
  CS_CHECK_AS(IoError, !std::filesystem::exists(path_) || std::filesystem::is_directory(path_), "'",
              path_.string(), "' exists and is not a directory");
  staging_ = path_;
  staging_ += ".partial-" + std::to_string(getpid());
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);
  std::filesystem::create_directories(staging_, ec);
  CS_CHECK_AS(IoError, !ec, "cannot create '", staging_.string(), "': ", ec.message());
}

StagedDirectory::~StagedDirectory() {
  if (committed_) return;
  std::error_code ec;
  std::filesystem::remove_all(staging_, ec);
}

void StagedDirectory::commit() {
  CS_CHECK_AS(IoError, !committed_, "'", path_.string(), "' was already committed");
  std::error_code ec;
  if (std::filesystem::exists(path_)) {
    auto old = path_;
    old += ".old-" + std::to_string(getpid());
    std::filesystem::rename(path_, old, ec);
    CS_CHECK_AS(IoError, !ec, "cannot move the older '", path_.string(), "' aside: ", ec.message());
    std::filesystem::rename(staging_, path_, ec);
    if (ec) {
      std::error_code ignored;
      std::filesystem::rename(old, path_, ignored);
      CS_THROW(IoError, "cannot move '", staging_.string(), "' to '", path_.string(),
               "': ", ec.message());
    }
    std::filesystem::remove_all(old, ec);
  } else {
    std::filesystem::rename(staging_, path_, ec);
    CS_CHECK_AS(IoError, !ec, "cannot move '", staging_.string(), "' to '", path_.string(),
                "': ", ec.message());
  }
  committed_ = true;
}

}  // namespace clearsight
