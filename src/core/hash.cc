#include "clearsight/core/hash.h"

#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "clearsight/core/error.h"

namespace clearsight {

namespace fs = std::filesystem;

namespace {

struct StateDeleter {
  void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};
using State = std::unique_ptr<XXH3_state_t, StateDeleter>;

State new_state() {
  State state(XXH3_createState());
  CS_CHECK_AS(RuntimeError, state != nullptr && XXH3_128bits_reset(state.get()) == XXH_OK,
              "content_hash: cannot start a hash");
  return state;
}

std::string hex(const XXH128_hash_t& hash) {
  char text[48];
  std::snprintf(text, sizeof(text), "xxh3-128:%016llx%016llx",
                static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return text;
}

void add_file(XXH3_state_t* state, const fs::path& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  CS_CHECK_AS(IoError, file != nullptr, "cannot read '", path.string(), "' to hash it");
  std::vector<char> buffer(1 << 20);
  while (true) {
    const std::size_t n = std::fread(buffer.data(), 1, buffer.size(), file.get());
    if (n > 0) XXH3_128bits_update(state, buffer.data(), n);
    if (n < buffer.size()) {
      CS_CHECK_AS(IoError, !std::ferror(file.get()), "error reading '", path.string(), "'");
      break;
    }
  }
}

}  // namespace

std::string content_hash(const fs::path& path) {
  std::error_code ec;
  const State state = new_state();
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(path, ec)) {
      if (entry.is_regular_file(ec)) files.push_back(fs::relative(entry.path(), path, ec));
    }
    CS_CHECK_AS(IoError, !ec, "cannot list '", path.string(), "' to hash it: ", ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& relative : files) {
      // The name with its terminator, then the file's own digest: no arrangement of names and
      // bytes across files can give another folder's stream.
      const std::string name = relative.generic_string();
      XXH3_128bits_update(state.get(), name.data(), name.size() + 1);
      const State file_state = new_state();
      add_file(file_state.get(), path / relative);
      XXH128_canonical_t digest;
      XXH128_canonicalFromHash(&digest, XXH3_128bits_digest(file_state.get()));
      XXH3_128bits_update(state.get(), digest.digest, sizeof(digest.digest));
    }
  } else {
    CS_CHECK_AS(IoError, fs::is_regular_file(path, ec), "cannot hash '", path.string(),
                "': ", fs::exists(path, ec) ? "not a regular file" : "no such file");
    add_file(state.get(), path);
  }
  return hex(XXH3_128bits_digest(state.get()));
}

std::string content_hash_of(std::string_view bytes) {
  return hex(XXH3_128bits(bytes.data(), bytes.size()));
}

}  // namespace clearsight
