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
  PlotSeries() = default;
  /// A series of points, drawn with the defaults (solid, gnuplot's next colour, no band).
  PlotSeries(std::string series_name, std::vector<std::pair<double, double>> series_points = {})
      : name(std::move(series_name)), points(std::move(series_points)) {}
  std::string name;
  std::vector<std::pair<double, double>> points;
  /// Drawn dashed (e.g. the "after" half of a before / after pair).
  bool dashed = false;
  /// A gnuplot colour ("#1b9e77"); empty: gnuplot's next colour.
  std::string color;
  /// Optional shaded band (lower, upper) per point, drawn under the line (seed spreads).
  std::vector<std::pair<double, double>> band;
  /// Points only, no line (reference markers).
  bool no_points = false;
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

/// Grouped bars: values[g][c] is group g's bar in category c, with optional error bars.
struct BarPlot {
  std::string title;
  std::string ylabel;
  /// One label per category along x.
  std::vector<std::string> categories;
  /// One legend entry per group.
  std::vector<std::string> groups;
  /// [groups][categories] finite values.
  std::vector<std::vector<double>> values;
  /// Empty, or [groups][categories] half-widths of error bars (0: none).
  std::vector<std::vector<double>> errors;
  /// One colour per group (or empty: gnuplot's colours).
  std::vector<std::string> colors;
};

/// A qualitative colour for index i (one per modality or method; ColorBrewer Dark2).
std::string series_color(std::size_t i);

/// Renders grouped bars to an SVG file atomically; throws ConfigError (bad shape), NumericError
/// (non-finite values) or RuntimeError (gnuplot missing or failing).
void render_bars_svg(const BarPlot& plot, const std::filesystem::path& path, int width = 640,
                     int height = 400);

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
