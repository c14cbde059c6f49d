#include "clearsight/core/plot.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"

namespace clearsight {
namespace {

// A gnuplot double-quoted string; line breaks become spaces so one label stays on one line.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n' || c == '\r') c = ' ';
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// A path as one single-quoted shell word.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// A temporary path beside path, unique within this process and across processes.
std::filesystem::path temp_beside(const std::filesystem::path& path, const std::string& ext) {
  static std::atomic<unsigned> counter{0};
  return path.parent_path() / (path.filename().string() + ".tmp." + std::to_string(getpid()) + "." +
                               std::to_string(counter++) + ext);
}

// The terminal and labels every plot shares.
std::string preamble(const std::string& title, const std::string& xlabel, const std::string& ylabel,
                     int width, int height) {
  std::ostringstream out;
  out << "set terminal svg size " << width << "," << height
      << " dynamic enhanced font 'sans,11' background rgb 'white'\n"
      << "set title " << quoted(title) << " noenhanced\n"
      << "set xlabel " << quoted(xlabel) << " noenhanced\n"
      << "set ylabel " << quoted(ylabel) << " noenhanced\n";
  return out.str();
}

// Runs gnuplot on body (everything after `set output`) drawing into a temporary SVG that is
// renamed over path once gnuplot succeeded; the script travels through a temporary file, so a
// gnuplot that exits early cannot break a pipe, and its messages go into the error.
void draw(const std::string& head, const std::string& body, const std::filesystem::path& path,
          const std::string& what) {
  CS_CHECK_AS(RuntimeError, gnuplot_available(),
              "gnuplot is not installed (scripts/setup installs gnuplot-nox)");
  const auto temp = temp_beside(path, ".svg");
  const auto script_path = temp_beside(path, ".gp");
  std::error_code ec;
  atomic_write(script_path,
               head + "set output " + quoted(temp.string()) + "\n" + body + "\nunset output\n");
  FILE* pipe = popen(("gnuplot " + shell_quoted(script_path.string()) + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    std::filesystem::remove(script_path, ec);
    CS_THROW(RuntimeError, "cannot start gnuplot");
  }
  std::string messages;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) messages.append(buffer, n);
  const int status = pclose(pipe);
  std::filesystem::remove(script_path, ec);
  if (status != 0 || !std::filesystem::exists(temp)) {
    std::filesystem::remove(temp, ec);
    while (!messages.empty() && std::isspace(static_cast<unsigned char>(messages.back()))) {
      messages.pop_back();
    }
    if (messages.size() > 400) messages = "..." + messages.substr(messages.size() - 400);
    CS_THROW(RuntimeError, "gnuplot failed to draw '", what, "' (status ", status, ")",
             messages.empty() ? "" : ": ", messages);
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    CS_THROW(IoError, "cannot rename '", temp.string(), "' to '", path.string(),
             "': ", ec.message());
  }
}

// `set xtics (...)` / `set ytics (...)` naming every step-th index (labels or the indices).
std::string tics(const char* axis, const std::vector<std::string>& labels, int count, bool rotate) {
  int step = std::max(1, (count + 39) / 40);
  if (labels.empty()) {
    // Indices: about 16 ticks at a round step (1, 2, 5, 10, 20, 50, ...), never rotated.
    rotate = false;
    step = 1;
    for (int scale = 1; count / step > 16; scale *= 10) {
      for (int m : {1, 2, 5}) {
        step = m * scale;
        if (count / step <= 16) break;
      }
    }
  }
  std::ostringstream out;
  out << "set " << axis << "tics (";
  for (int i = 0; i < count; i += step) {
    if (i > 0) out << ", ";
    out << quoted(labels.empty() ? std::to_string(i) : labels[i]) << " " << i;
  }
  out << ") noenhanced scale 0";
  if (rotate) out << " rotate by 45 right";
  return out.str() + "\n";
}

}  // namespace

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

void render_svg(const LinePlot& plot, const std::filesystem::path& path, int width, int height) {
  CS_CHECK_AS(ConfigError, !plot.series.empty(), "plot '", plot.title, "' has no series");
  std::ostringstream script;
  script << "set key outside right top noenhanced\nset grid\n";
  if (plot.integer_x) script << "set xtics 1\n";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    script << "$d" << i << " << EOD\n";
    for (const auto& [x, y] : plot.series[i].points) script << x << " " << y << "\n";
    script << "EOD\n";
  }
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const auto& band = plot.series[i].band;
    if (band.empty()) continue;
    CS_CHECK_AS(ConfigError, band.size() == plot.series[i].points.size(), "plot '", plot.title,
                "': series '", plot.series[i].name, "' has ", band.size(), " band values for ",
                plot.series[i].points.size(), " points");
    script << "$b" << i << " << EOD\n";
    for (std::size_t k = 0; k < band.size(); ++k) {
      script << plot.series[i].points[k].first << " " << band[k].first << " " << band[k].second
             << "\n";
    }
    script << "EOD\n";
  }
  script << "set style fill transparent solid 0.2 noborder\nplot ";
  bool first = true;
  const auto color_of = [&](std::size_t i) {
    const auto& c = plot.series[i].color;
    return c.empty() ? series_color(i) : c;
  };
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    if (plot.series[i].band.empty()) continue;
    script << (first ? "" : ", ") << "$b" << i << " using 1:2:3 with filledcurves lc rgb "
           << quoted(color_of(i)) << " notitle";
    first = false;
  }
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    const auto& series = plot.series[i];
    script << (first ? "" : ", ") << "$d" << i << " using 1:2 with "
           << (series.no_points ? "lines" : "linespoints") << " lw 2 lc rgb " << quoted(color_of(i))
           << (series.dashed ? " dt 2" : " dt 1") << " title " << quoted(series.name);
    first = false;
  }
  draw(preamble(plot.title, plot.xlabel, plot.ylabel, width, height), script.str(), path,
       plot.title);
}

// Whether bar categories need slanted labels (many, or too long to sit side by side).
static bool rotate_categories(const std::vector<std::string>& categories) {
  std::size_t longest = 0;
  for (const auto& c : categories) longest = std::max(longest, c.size());
  return categories.size() > 6 || longest * categories.size() > 40;
}

std::string series_color(std::size_t i) {
  static const char* kColors[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                  "#66a61e", "#e6ab02", "#a6761d", "#666666"};
  return kColors[i % (sizeof(kColors) / sizeof(kColors[0]))];
}

void render_bars_svg(const BarPlot& plot, const std::filesystem::path& path, int width,
                     int height) {
  CS_CHECK_AS(ConfigError, !plot.categories.empty() && !plot.groups.empty(), "bar plot '",
              plot.title, "' needs at least one category and one group");
  CS_CHECK_AS(ConfigError, plot.values.size() == plot.groups.size(), "bar plot '", plot.title,
              "' has ", plot.values.size(), " value rows for ", plot.groups.size(), " groups");
  CS_CHECK_AS(ConfigError, plot.errors.empty() || plot.errors.size() == plot.groups.size(),
              "bar plot '", plot.title, "' has ", plot.errors.size(), " error rows for ",
              plot.groups.size(), " groups");
  for (std::size_t g = 0; g < plot.groups.size(); ++g) {
    CS_CHECK_AS(ConfigError, plot.values[g].size() == plot.categories.size(), "bar plot '",
                plot.title, "': group '", plot.groups[g], "' has ", plot.values[g].size(),
                " values for ", plot.categories.size(), " categories");
    CS_CHECK_AS(ConfigError, plot.errors.empty() || plot.errors[g].size() == plot.categories.size(),
                "bar plot '", plot.title, "': group '", plot.groups[g], "' has ",
                plot.errors.empty() ? 0 : plot.errors[g].size(), " errors for ",
                plot.categories.size(), " categories");
    for (std::size_t c = 0; c < plot.categories.size(); ++c) {
      const double e = plot.errors.empty() ? 0.0 : plot.errors[g][c];
      CS_CHECK_AS(NumericError, std::isfinite(plot.values[g][c]) && std::isfinite(e), "bar plot '",
                  plot.title, "' has a non-finite value in group '", plot.groups[g], "'");
    }
  }
  std::ostringstream script;
  script << std::setprecision(10);
  script << "set key outside right top noenhanced\nset grid ytics\n"
         << "set style data histograms\nset style histogram errorbars gap 1.5 lw 1\n"
         << "set style fill solid 0.85 border -1\nset boxwidth 0.9\nset xtics noenhanced\n"
         << "set offsets 0, 0, graph 0.05, 0\n"
         << (rotate_categories(plot.categories) ? "set xtics rotate by -25 left\n" : "");
  bool non_negative = true;
  for (std::size_t g = 0; g < plot.groups.size(); ++g) {
    for (std::size_t c = 0; c < plot.categories.size(); ++c) {
      const double e = plot.errors.empty() ? 0.0 : plot.errors[g][c];
      non_negative = non_negative && plot.values[g][c] - e >= 0.0;
    }
  }
  // Bars start at zero when nothing is negative: a cut axis exaggerates small differences.
  if (non_negative) script << "set yrange [0:*]\n";
  script << "$d << EOD\n";
  for (std::size_t c = 0; c < plot.categories.size(); ++c) {
    script << quoted(plot.categories[c]);
    for (std::size_t g = 0; g < plot.groups.size(); ++g) {
      script << " " << plot.values[g][c] << " " << (plot.errors.empty() ? 0.0 : plot.errors[g][c]);
    }
    script << "\n";
  }
  script << "EOD\nplot ";
  for (std::size_t g = 0; g < plot.groups.size(); ++g) {
    const std::string color = g < plot.colors.size() ? plot.colors[g] : series_color(g);
    script << (g ? ", " : "") << "$d using " << 2 + 2 * g << ":" << 3 + 2 * g
           << (g == 0 ? ":xtic(1)" : "") << " lc rgb " << quoted(color) << " title "
           << quoted(plot.groups[g]);
  }
  draw(preamble(plot.title, "", plot.ylabel, width, height), script.str(), path, plot.title);
}

void render_heatmap_svg(const HeatmapPlot& plot, const std::filesystem::path& path, int width,
                        int height) {
  CS_CHECK_AS(ConfigError, plot.rows > 0 && plot.cols > 0, "heatmap '", plot.title, "' is ",
              plot.rows, "x", plot.cols, "; it needs at least one row and one column");
  CS_CHECK_AS(ConfigError, plot.values.size() == static_cast<std::size_t>(plot.rows) * plot.cols,
              "heatmap '", plot.title, "' has ", plot.values.size(), " values for ", plot.rows, "x",
              plot.cols);
  CS_CHECK_AS(
      ConfigError,
      plot.row_labels.empty() || plot.row_labels.size() == static_cast<std::size_t>(plot.rows),
      "heatmap '", plot.title, "' has ", plot.row_labels.size(), " row labels for ", plot.rows,
      " rows");
  CS_CHECK_AS(
      ConfigError,
      plot.col_labels.empty() || plot.col_labels.size() == static_cast<std::size_t>(plot.cols),
      "heatmap '", plot.title, "' has ", plot.col_labels.size(), " column labels for ", plot.cols,
      " columns");
  double lo = 0.0;
  double hi = 0.0;
  for (double v : plot.values) {
    CS_CHECK_AS(NumericError, std::isfinite(v), "heatmap '", plot.title,
                "' has a non-finite value");
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  std::ostringstream script;
  script << std::setprecision(10);
  if (lo < 0.0 && hi > 0.0) {
    const double m = std::max(-lo, hi);
    script << "set palette defined (-1 '#2166ac', -0.5 '#92c5de', 0 '#f7f7f7', 0.5 '#f4a582', "
              "1 '#b2182b')\nset cbrange ["
           << -m << ":" << m << "]\n";
  } else if (lo < 0.0) {
    script << "set palette defined (0 '#08306b', 0.5 '#6baed6', 1 '#f7fbff')\nset cbrange [" << lo
           << ":0]\n";
  } else {
    script << "set palette defined (0 '#fff7ec', 0.4 '#fdbb84', 0.75 '#e34a33', 1 '#7f0000')\n"
           << "set cbrange [0:" << (hi > 0.0 ? hi : 1.0) << "]\n";
  }
  bool long_labels = plot.cols > 12;
  for (const auto& label : plot.col_labels) long_labels = long_labels || label.size() > 3;
  script << tics("x", plot.col_labels, plot.cols, long_labels)
         << tics("y", plot.row_labels, plot.rows, false) << "set xrange [-0.5:" << plot.cols - 0.5
         << "]\nset yrange [" << plot.rows - 0.5 << ":-0.5]\nset tics out\nunset key\n";
  script << "$m << EOD\n";
  if (plot.rows >= 2 && plot.cols >= 2) {
    // gnuplot's `matrix with image` needs a grid of at least 2 x 2.
    for (int r = 0; r < plot.rows; ++r) {
      for (int c = 0; c < plot.cols; ++c) {
        script << (c > 0 ? " " : "") << plot.values[static_cast<std::size_t>(r) * plot.cols + c];
      }
      script << "\n";
    }
    script << "EOD\nplot $m matrix with image pixels notitle\n";
  } else {
    for (int r = 0; r < plot.rows; ++r) {
      for (int c = 0; c < plot.cols; ++c) {
        script << c << " " << r << " " << plot.values[static_cast<std::size_t>(r) * plot.cols + c]
               << "\n";
      }
    }
    script << "EOD\nplot $m using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1.0 noborder "
              "fc palette notitle\n";
  }
  draw(preamble(plot.title, plot.xlabel, plot.ylabel, width, height), script.str(), path,
       plot.title);
}

void render_scatter_svg(const ScatterPlot& plot, const std::filesystem::path& path, int width,
                        int height) {
  CS_CHECK_AS(ConfigError, !plot.series.empty(), "scatter plot '", plot.title, "' has no series");
  std::ostringstream script;
  script << std::setprecision(10);
  // Offsets keep points on the extremes clear of the border.
  script << "set key outside right top noenhanced\nset grid\n"
         << "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    script << "$d" << i << " << EOD\n";
    for (const auto& [x, y] : plot.series[i].points) {
      CS_CHECK_AS(NumericError, std::isfinite(x) && std::isfinite(y), "scatter plot '", plot.title,
                  "' has a non-finite point in series '", plot.series[i].name, "'");
      script << x << " " << y << "\n";
    }
    // An empty data block would make gnuplot fail; a point at infinity draws nothing.
    if (plot.series[i].points.empty()) script << "NaN NaN\n";
    script << "EOD\n";
  }
  script << "plot ";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    if (i > 0) script << ", ";
    script << "$d" << i << " using 1:2 with points pt 7 ps 1 title " << quoted(plot.series[i].name);
  }
  draw(preamble(plot.title, plot.xlabel, plot.ylabel, width, height), script.str(), path,
       plot.title);
}

}  // namespace clearsight
