// Content hashes for provenance: which model, demonstration file or score shard a result came
// from (XXH3-128 from Debian's libxxhash: fast enough to hash multi-GB checkpoints on every use).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace clearsight {

/// "xxh3-128:<32 hex digits>" of a file's bytes; a directory hashes the sorted relative paths and
/// contents of its regular files (a model folder). Throws IoError when it cannot be read.
std::string content_hash(const std::filesystem::path& path);

/// The same hash of bytes in memory.
std::string content_hash_of(std::string_view bytes);

}  // namespace clearsight
