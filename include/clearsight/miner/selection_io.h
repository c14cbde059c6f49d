// Selection files: the neurons MINER selected, as a safetensors file with the settings as
// metadata (what `miner select` and `miner run` write and `explain findings` reads).
#pragma once

#include <filesystem>
#include <string>

#include "clearsight/miner/miner.h"

namespace clearsight::miner {

/// Saves masks [modalities, layers, neurons] and the settings (kind=miner_selection) atomically.
void save_selection(const Selection& selection, const std::filesystem::path& path,
                    const std::string& model);

/// Loads a selection file; throws FormatError when it is not one (wrong kind, missing or
/// inconsistent modalities, non-boolean masks) and IoError when it cannot be read.
Selection load_selection(const std::filesystem::path& path);

}  // namespace clearsight::miner
