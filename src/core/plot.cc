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
  const int step = std::max(1, (count + 39) / 40);
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
  script << "plot ";
  for (std::size_t i = 0; i < plot.series.size(); ++i) {
    if (i > 0) script << ", ";
    script << "$d" << i << " using 1:2 with linespoints lw 2 title " << quoted(plot.series[i].name);
  }
  draw(preamble(plot.title, plot.xlabel, plot.ylabel, width, height), script.str(), path,
       plot.title);
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
    script << "EOD\nplot $m matrix with image notitle\n";
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
