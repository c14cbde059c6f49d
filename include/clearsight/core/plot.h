// Line plots, heatmaps and scatter plots rendered to SVG by gnuplot (Debian's gnuplot-nox), for
// reports.
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

/// A heatmap of a row-major matrix; row 0 is drawn at the top.
struct HeatmapPlot {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  /// rows * cols finite values, row-major.
  std::vector<double> values;
  int rows = 0;
  int cols = 0;
  /// One label per row (or empty: row indices).
  std::vector<std::string> row_labels;
  /// One label per column (or empty: column indices).
  std::vector<std::string> col_labels;
};

/// Renders the heatmap to an SVG file atomically, with a blue-white-red palette centred on zero
/// when the values have both signs and a one-colour ramp from zero otherwise; throws
/// ConfigError (bad shape or labels), NumericError (non-finite values) or RuntimeError (gnuplot
/// missing or failing).
void render_heatmap_svg(const HeatmapPlot& plot, const std::filesystem::path& path, int width = 640,
                        int height = 480);

/// A 2-D scatter plot: one legend entry (and colour) per series.
struct ScatterPlot {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  std::vector<PlotSeries> series;
};

/// Renders the scatter plot to an SVG file atomically; throws ConfigError (no series),
/// NumericError (non-finite points) or RuntimeError (gnuplot missing or failing).
void render_scatter_svg(const ScatterPlot& plot, const std::filesystem::path& path, int width = 640,
                        int height = 480);

}  // namespace clearsight
