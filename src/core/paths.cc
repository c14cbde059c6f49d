#include "clearsight/core/paths.h"

#include <cstdlib>

#include "clearsight/core/error.h"
#include "clearsight/version.h"

namespace clearsight {

std::filesystem::path assets_dir() {
  if (const char* env = std::getenv("CLEARSIGHT_ASSETS"); env != nullptr && *env != '\0') {
    return env;
  }
  return kSourceAssetsDir;
}

std::filesystem::path cache_dir() {
  std::filesystem::path dir;
  if (const char* env = std::getenv("CLEARSIGHT_CACHE"); env != nullptr && *env != '\0') {
    dir = env;
  } else if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    dir = std::filesystem::path(xdg) / "clearsight";
  } else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    dir = std::filesystem::path(home) / ".cache" / "clearsight";
  } else {
    dir = std::filesystem::temp_directory_path() / "clearsight-cache";
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  CS_CHECK_AS(IoError, !ec, "cannot create cache folder '", dir.string(), "': ", ec.message(),
              " (set CLEARSIGHT_CACHE)");
  return dir;
}

}  // namespace clearsight
