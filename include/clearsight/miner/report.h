// The MINER report: a self-contained Markdown page with tables and gnuplot SVG figures, written
// from a run directory's summary.json.
#pragma once

#include <filesystem>

namespace clearsight::miner {

/// Writes RUN_DIR/report/report.md and its SVG figures; returns the report's path.
/// Throws IoError/FormatError when summary.json is missing or malformed.
std::filesystem::path write_report(const std::filesystem::path& run_dir);

}  // namespace clearsight::miner
