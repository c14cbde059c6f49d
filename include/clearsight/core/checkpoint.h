// Checkpoint directories that are always whole: written into NAME-new/, then swapped in by
// renames, so a kill at any moment leaves the previous or the new checkpoint complete.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace clearsight {

/// Writes run/name by calling write(dir) on a fresh run/name-new and swapping it in.
void write_checkpoint_dir(const std::filesystem::path& run, const std::string& name,
                          const std::function<void(const std::filesystem::path&)>& write);
/// The complete checkpoint run/name, or run/name-old after a kill mid-swap; empty if none.
/// A directory counts as complete when it holds marker_file.
std::filesystem::path find_checkpoint_dir(const std::filesystem::path& run, const std::string& name,
                                          const std::string& marker_file);

}  // namespace clearsight
