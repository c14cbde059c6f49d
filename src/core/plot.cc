#include "clearsight/core/plot.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "clearsight/core/error.h"

namespace clearsight {
namespace {

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

void render_svg(const LinePlot& plot, const std::filesystem::path& path, int width, int height) {
  CS_CHECK_AS(RuntimeError, gnuplot_available(),
              "gnuplot is not installed (scripts/setup installs gnuplot-nox)");
  CS_CHECK_AS(ConfigError, !plot.series.empty(), "plot '", plot.title, "' has no series");
  const auto temp =
      path.parent_path() / (path.filename().string() + ".tmp." + std::to_string(getpid()) + ".svg");
  std::ostringstream script;
  script << "set terminal svg size " << width << "," << height
         << " dynamic enhanced font 'sans,11' background rgb 'white'\n"
         << "set output " << quoted(temp.string()) << "\n"
         << "set title " << quoted(plot.title) << " noenhanced\n"
         << "set xlabel " << quoted(plot.xlabel) << " noenhanced\n"
         << "set ylabel " << quoted(plot.ylabel) << " noenhanced\n"
         << "set key outside right top noenhanced\nset grid\n";
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
  script << "\nunset output\n";
  FILE* pipe = popen("gnuplot 2>&1", "w");
  CS_CHECK_AS(RuntimeError, pipe != nullptr, "cannot start gnuplot");
  const std::string text = script.str();
  std::fwrite(text.data(), 1, text.size(), pipe);
  const int status = pclose(pipe);
  if (status != 0 || !std::filesystem::exists(temp)) {
    std::error_code ec;
    std::filesystem::remove(temp, ec);
    CS_THROW(RuntimeError, "gnuplot failed to draw '", plot.title, "' (status ", status, ")");
  }
  std::filesystem::rename(temp, path);
}

}  // namespace clearsight
