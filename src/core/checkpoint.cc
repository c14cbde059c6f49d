#include "clearsight/core/checkpoint.h"

#include "clearsight/core/atomic_file.h"

namespace clearsight {

namespace fs = std::filesystem;

void write_checkpoint_dir(const fs::path& run, const std::string& name,
                          const std::function<void(const fs::path&)>& write) {
  const fs::path fresh = run / (name + "-new");
  const fs::path current = run / name;
  const fs::path old = run / (name + "-old");
  std::error_code ec;
  fs::remove_all(fresh, ec);
  fs::create_directories(fresh);
  write(fresh);
  // The new checkpoint's entries reach the disk before it replaces the old one, and the renames
  // before the old one goes: a power cut leaves one complete checkpoint.
  sync_directory(fresh);
  fs::remove_all(old, ec);
  if (fs::exists(current)) fs::rename(current, old);
  fs::rename(fresh, current);
  sync_directory(run);
  fs::remove_all(old, ec);
}

fs::path find_checkpoint_dir(const fs::path& run, const std::string& name,
                             const std::string& marker_file) {
  for (const std::string& candidate : {name, name + "-old"}) {
    if (fs::exists(run / candidate / marker_file)) return run / candidate;
  }
  return {};
}

}  // namespace clearsight
