// Helpers shared by the libFuzzer targets: the fuzz input as a file (for readers that take a path),
// and the rule that a reader may fail only with ClearSight's own error types.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "clearsight/core/error.h"

namespace clearsight::fuzz {

/// The current input as a file: an in-memory file (memfd) rewritten for every input, named by a
/// /proc/self/fd path that any path-taking reader (std::ifstream, libsndfile, stb, HDF5) opens.
class InputFile {
 public:
  /// Creates the in-memory file; aborts when the kernel offers none.
  explicit InputFile(const char* name) {
    fd_ = memfd_create(name, 0);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  /// Replaces the file's content with the bytes; returns its path.
  const std::string& write(const std::uint8_t* data, std::size_t size) {
    if (ftruncate(fd_, 0) != 0) std::abort();
    std::size_t done = 0;
    while (done < size) {
      const ssize_t n = pwrite(fd_, data + done, size - done, static_cast<off_t>(done));
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    return path_;
  }

 private:
  int fd_ = -1;
  std::string path_;
};

/// Runs body; a clearsight::Error is the expected outcome of a bad input, any other exception is
/// a bug in the reader: it is printed and the process aborts, so that libFuzzer records the input.
template <typename Body>
void expect_clearsight_errors(Body&& body) {
  try {
    body();
  } catch (const clearsight::Error&) {
    // The reader rejected the input in ClearSight's own terms.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "non-clearsight exception %s: %s\n", typeid(e).name(), e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "non-std exception escaped the reader\n");
    std::abort();
  }
}

}  // namespace clearsight::fuzz
