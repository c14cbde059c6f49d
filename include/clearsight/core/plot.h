// Line plots rendered to SVG by gnuplot (Debian's gnuplot-nox), for reports.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace clearsight {

/// One named series of (x, y) points.
struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
};

/// A line plot.
struct LinePlot {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  std::vector<PlotSeries> series;
  /// Integer ticks on x (layers).
  bool integer_x = true;
};

/// Whether a gnuplot executable is available.
bool gnuplot_available();

/// Renders the plot to an SVG file atomically; throws RuntimeError if gnuplot is missing or fails.
void render_svg(const LinePlot& plot, const std::filesystem::path& path, int width = 640,
                int height = 400);

}  // namespace clearsight
