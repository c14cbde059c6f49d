// The MINER report: an HTML page and its Markdown twin with tables and gnuplot SVG figures
// (deactivation bars with the random control's spread, the specificity heatmap, importance
// heatmaps per modality, before / after flows), written from a run directory's summary.json,
// selection and score files.
#pragma once

#include <filesystem>

namespace clearsight::miner {

/// Writes RUN_DIR/report/report.html, report.md and their SVG figures; returns report.md's path.
/// Throws IoError/FormatError when summary.json is missing or malformed.
std::filesystem::path write_report(const std::filesystem::path& run_dir);

}  // namespace clearsight::miner
