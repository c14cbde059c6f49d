// Where ClearSight finds its assets and keeps its caches.
#pragma once

#include <filesystem>

namespace clearsight {

/// The assets folder (MJCF models, built-in models): $CLEARSIGHT_ASSETS if set, else the source
/// tree's assets/.
std::filesystem::path assets_dir();

/// A writable cache folder: $CLEARSIGHT_CACHE if set, else $XDG_CACHE_HOME/clearsight, else
/// ~/.cache/clearsight (created on first use).
std::filesystem::path cache_dir();

}  // namespace clearsight
