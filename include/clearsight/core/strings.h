// Small string helpers shared by registries, configs and the CLI.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace clearsight {

/// Levenshtein edit distance between two strings (case-sensitive).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Up to max_count candidates closest to name (case-insensitive edit distance, then prefix match).
std::vector<std::string> nearest_names(std::string_view name,
                                       const std::vector<std::string>& candidates,
                                       std::size_t max_count = 3);

/// Joins items with a separator.
std::string join(const std::vector<std::string>& items, std::string_view separator);

/// Splits text at every occurrence of separator (empty pieces kept).
std::vector<std::string> split(std::string_view text, char separator);

/// Lower-cases ASCII letters.
std::string to_lower(std::string_view text);

/// Formats a byte count as "1.5 MiB".
std::string human_bytes(double bytes);

/// Formats seconds as "1h02m", "3m05s" or "4.2s".
std::string human_duration(double seconds);

/// "Did you mean 'x' or 'y'?" for the nearest candidates, or an empty string.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace clearsight
