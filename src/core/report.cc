#include "clearsight/core/report.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string_view>
#include <utility>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/safetensors.h"

namespace clearsight {
namespace fs = std::filesystem;
namespace {

// Overlays are scaled up by an integer factor until their longer side reaches this many pixels.
constexpr int kMinOverlaySide = 192;
// Opacity of the heat colour blended over the image (at full magnitude for one-sign heat).
constexpr double kOverlayAlpha = 0.55;

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text on one line with surrounding blanks removed (headings, captions, cells).
std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  const auto first = out.find_first_not_of(' ');
  if (first == std::string::npos) return "";
  return out.substr(first, out.find_last_not_of(' ') - first + 1);
}

// Plain text made literal in Markdown (every special character backslash-escaped).
std::string md_literal(std::string_view text) {
  static constexpr std::string_view kSpecial = "\\`*_[]<>|#~&!";
  std::string out;
  for (char c : text) {
    if (kSpecial.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A Markdown table cell (inline Markdown kept, pipes escaped).
std::string md_cell(std::string_view text) {
  std::string out;
  for (char c : one_line(text)) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// A relative path percent-encoded for a URL (Markdown link target or HTML src).
std::string url_path(const std::string& file) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : fs::path(file).generic_string()) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// Throws ConfigError unless file is a relative path that stays inside the run directory.
void check_relative(const std::string& file) {
  const fs::path path(file);
  CS_CHECK_AS(ConfigError, !file.empty() && path.is_relative() && !path.has_root_name(),
              "report file '", file, "' must be a path relative to the run directory");
  for (const auto& part : path) {
    CS_CHECK_AS(ConfigError, part != "..", "report file '", file,
                "' must stay inside the run directory");
  }
}

// Whether a table cell reads as one number (such columns are right-aligned).
bool is_number(const std::string& text) {
  const std::string s = one_line(text);
  if (s.empty()) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// Whether every cell of column c is a number.
bool numeric_column(const std::vector<std::vector<std::string>>& rows, std::size_t c) {
  if (rows.empty()) return false;
  return std::all_of(rows.begin(), rows.end(), [c](const auto& row) { return is_number(row[c]); });
}

// Inline Markdown (`code`, **strong**, *emphasis*, [text](link), backslash escapes) as HTML;
// everything else is escaped.
std::string inline_html(std::string_view s) {
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\\' && i + 1 < s.size() && std::ispunct(static_cast<unsigned char>(s[i + 1]))) {
      out += html_escape(s.substr(i + 1, 1));
      i += 2;
      continue;
    }
    if (c == '`') {
      const auto j = s.find('`', i + 1);
      if (j != std::string_view::npos) {
        out += "<code>" + html_escape(s.substr(i + 1, j - i - 1)) + "</code>";
        i = j + 1;
        continue;
      }
    }
    if (s.substr(i, 2) == "**") {
      const auto j = s.find("**", i + 2);
      if (j != std::string_view::npos && j > i + 2) {
        out += "<strong>" + inline_html(s.substr(i + 2, j - i - 2)) + "</strong>";
        i = j + 2;
        continue;
      }
    }
    if (c == '*' && i + 1 < s.size() && s[i + 1] != ' ' && s[i + 1] != '*') {
      const auto j = s.find('*', i + 1);
      if (j != std::string_view::npos && s[j - 1] != ' ') {
        out += "<em>" + inline_html(s.substr(i + 1, j - i - 1)) + "</em>";
        i = j + 1;
        continue;
      }
    }
    if (c == '[') {
      const auto mid = s.find("](", i + 1);
      const auto end = mid == std::string_view::npos ? mid : s.find(')', mid + 2);
      if (end != std::string_view::npos) {
        const std::string_view label = s.substr(i + 1, mid - i - 1);
        const std::string href(s.substr(mid + 2, end - mid - 2));
        std::string scheme = href.substr(0, std::min<std::size_t>(href.size(), 11));
        std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                       [](unsigned char x) { return std::tolower(x); });
        if (label.find('[') == std::string_view::npos && scheme != "javascript:") {
          out += "<a href=\"" + html_escape(href) + "\">" + inline_html(label) + "</a>";
          i = end + 1;
          continue;
        }
      }
    }
    out += html_escape(s.substr(i, 1));
    ++i;
  }
  return out;
}

// The largest finite magnitude among scores (0 when there is none).
double max_magnitude(const std::vector<double>& scores) {
  double m = 0.0;
  for (double s : scores) {
    if (std::isfinite(s)) m = std::max(m, std::abs(s));
  }
  return m;
}

// A token's background: red for positive scores, blue for negative, opacity |score| / max.
std::string token_background(double score, double max_abs) {
  double alpha = 0.0;
  if (std::isfinite(score) && max_abs > 0.0) alpha = std::min(1.0, std::abs(score) / max_abs);
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "rgba(%s,%.3f)", score < 0.0 ? "37,99,235" : "220,38,38",
                alpha);
  return buffer;
}

// A token as it shows in the HTML: tabs and line breaks made visible.
std::string token_html(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '\n') {
      out += "\xE2\x8F\x8E";  // U+23CE RETURN SYMBOL
    } else if (c == '\t') {
      out += "\xE2\x87\xA5";  // U+21E5 RIGHTWARDS ARROW TO BAR
    } else {
      out += html_escape(std::string_view(&c, 1));
    }
  }
  return out;
}

// A token as a Markdown table cell: literal, with blanks at its edges made visible.
std::string token_markdown(const std::string& token) {
  static const std::string kBlank = "\xE2\x90\xA3";  // U+2423 OPEN BOX
  std::string visible;
  for (char c : token) {
    if (c == '\n') {
      visible += "\\n";
    } else if (c == '\t') {
      visible += "\\t";
    } else {
      visible += c;
    }
  }
  std::size_t lead = 0;
  while (lead < visible.size() && visible[lead] == ' ') ++lead;
  std::size_t trail = 0;
  while (trail < visible.size() - lead && visible[visible.size() - 1 - trail] == ' ') ++trail;
  std::string out;
  for (std::size_t k = 0; k < lead; ++k) out += kBlank;
  out += md_literal(visible.substr(lead, visible.size() - lead - trail));
  for (std::size_t k = 0; k < trail; ++k) out += kBlank;
  return out;
}

// The paragraph standing in for a figure that could not be drawn without gnuplot.
std::string skipped_note(const std::string& what, const std::string& file,
                         const std::string& caption) {
  std::string text = "*The " + what + " " + md_literal(file) +
                     " was skipped because gnuplot is not installed (scripts/setup installs "
                     "gnuplot-nox).";
  const std::string rest = one_line(caption);
  if (!rest.empty()) text += " " + md_literal(rest);
  return text + "*";
}

// A figure rendered by gnuplot into the report's folder and shown with its caption (a note in its
// place when gnuplot is missing).
void add_figure(Report& report, const std::string& file, const std::string& caption,
                const std::function<void(const fs::path&)>& render) {
  check_relative(file);
  if (!gnuplot_available()) {
    report.paragraph(skipped_note("figure", file, caption));
    return;
  }
  const fs::path target = report.dir() / file;
  fs::create_directories(target.parent_path());
  render(target);
  report.picture(file, caption);
}

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:64rem;
margin:2rem auto;padding:0 1rem;color:#1f2328;line-height:1.5;background:#fff}
h1{font-size:1.8rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
h2{font-size:1.35rem;margin-top:2rem;border-bottom:1px solid #eaeef2;padding-bottom:.2rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}
th,td{border:1px solid #d0d7de;padding:.25rem .65rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f6f8fa;padding:.05rem .25rem;border-radius:4px;font-size:.9em}
figure{margin:1.2rem 0}
figure img{max-width:100%;height:auto;border:1px solid #eaeef2}
figure img.pixels{image-rendering:pixelated}
figcaption{font-style:italic;color:#57606a;font-size:.92rem;margin-top:.3rem}
.tokens{font-family:ui-monospace,"DejaVu Sans Mono",monospace;line-height:2.1}
.tok{white-space:pre;padding:.12rem .1rem;margin:0 1px;border-radius:3px;border:1px solid #eaeef2}
)";

}  // namespace

Report::Report(fs::path dir, std::string title) : dir_(std::move(dir)), title_(std::move(title)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  CS_CHECK_AS(IoError, !ec && fs::is_directory(dir_), "cannot create report directory '",
              dir_.string(), "'", ec ? ": " + ec.message() : std::string());
}

void Report::section(const std::string& heading) {
  Block block;
  block.kind = "section";
  block.text = heading;
  blocks_.push_back(std::move(block));
}

void Report::paragraph(const std::string& text) {
  Block block;
  block.kind = "paragraph";
  block.text = text;
  blocks_.push_back(std::move(block));
}

void Report::table(const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows) {
  CS_CHECK_AS(ConfigError, !header.empty(), "a report table needs at least one column");
  for (std::size_t r = 0; r < rows.size(); ++r) {
    CS_CHECK_AS(ConfigError, rows[r].size() == header.size(), "report table row ", r, " has ",
                rows[r].size(), " cells; the header has ", header.size());
  }
  Block block;
  block.kind = "table";
  block.header = header;
  block.rows = rows;
  blocks_.push_back(std::move(block));
}

void Report::line_plot(const LinePlot& plot, const std::string& file, const std::string& caption) {
  add_figure(*this, file, caption, [&](const fs::path& target) { render_svg(plot, target); });
}

void Report::bar_plot(const BarPlot& plot, const std::string& file, const std::string& caption) {
  add_figure(*this, file, caption,
             [&](const fs::path& target) { render_bars_svg(plot, target); });
}

void Report::heatmap(const torch::Tensor& values, const std::vector<std::string>& row_labels,
                     const std::vector<std::string>& col_labels, const std::string& title,
                     const std::string& file, const std::string& caption) {
  check_relative(file);
  CS_CHECK_AS(ShapeError, values.defined() && values.dim() == 2, "heatmap '", title,
              "' needs a 2-D tensor [rows, cols], got ", values.defined() ? values.dim() : 0,
              " dimensions");
  const auto v = values.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
  HeatmapPlot plot;
  plot.title = title;
  plot.rows = static_cast<int>(v.size(0));
  plot.cols = static_cast<int>(v.size(1));
  plot.values.assign(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
  plot.row_labels = row_labels;
  plot.col_labels = col_labels;
  CS_CHECK_AS(
      ConfigError, row_labels.empty() || static_cast<std::int64_t>(row_labels.size()) == v.size(0),
      "heatmap '", title, "' has ", row_labels.size(), " row labels for ", v.size(0), " rows");
  CS_CHECK_AS(ConfigError,
              col_labels.empty() || static_cast<std::int64_t>(col_labels.size()) == v.size(1),
              "heatmap '", title, "' has ", col_labels.size(), " column labels for ", v.size(1),
              " columns");
  if (!gnuplot_available()) {
    paragraph(skipped_note("heatmap", file, caption));
    return;
  }
  const fs::path target = dir_ / file;
  fs::create_directories(target.parent_path());
  // Wide matrices (many tokens) get a wider canvas so their column labels stay readable.
  const int width = std::clamp(160 + 18 * plot.cols, 640, 1600);
  const int height = std::clamp(140 + 18 * plot.rows, 360, 1200);
  render_heatmap_svg(plot, target, width, height);
  picture(file, caption);
}

void Report::scatter(const torch::Tensor& points, const std::vector<std::string>& labels,
                     const std::string& title, const std::string& file,
                     const std::string& caption) {
  check_relative(file);
  CS_CHECK_AS(ShapeError, points.defined() && points.dim() == 2 && points.size(1) == 2,
              "scatter plot '", title, "' needs points [n, 2]");
  const std::int64_t n = points.size(0);
  CS_CHECK_AS(ConfigError, labels.empty() || static_cast<std::int64_t>(labels.size()) == n,
              "scatter plot '", title, "' has ", labels.size(), " labels for ", n, " points");
  CS_CHECK_AS(ConfigError, n > 0, "scatter plot '", title, "' has no points");
  const auto p = points.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
  const double* data = p.data_ptr<double>();
  ScatterPlot plot;
  plot.title = title;
  std::map<std::string, std::size_t> index;  // label -> series, in order of first appearance
  for (std::int64_t i = 0; i < n; ++i) {
    const std::string label = labels.empty() ? "points" : labels[i];
    auto [it, added] = index.emplace(label, plot.series.size());
    if (added) plot.series.push_back(PlotSeries{label, {}});
    plot.series[it->second].points.emplace_back(data[2 * i], data[2 * i + 1]);
  }
  if (!gnuplot_available()) {
    paragraph(skipped_note("scatter plot", file, caption));
    return;
  }
  const fs::path target = dir_ / file;
  fs::create_directories(target.parent_path());
  render_scatter_svg(plot, target);
  picture(file, caption);
}

void Report::image_overlay(const torch::Tensor& image, const torch::Tensor& heat,
                           const std::string& file, const std::string& caption) {
  check_relative(file);
  CS_CHECK_AS(ShapeError,
              image.defined() && image.dim() == 3 && (image.size(0) == 3 || image.size(0) == 1) &&
                  image.scalar_type() == torch::kUInt8 && image.size(1) > 0 && image.size(2) > 0,
              "image_overlay: the image must be uint8 [3, H, W] (or [1, H, W])");
  torch::Tensor h = heat.defined() ? heat.detach() : heat;
  if (h.defined() && h.dim() == 3 && h.size(0) == 1) h = h[0];
  CS_CHECK_AS(ShapeError, h.defined() && h.dim() == 2 && h.size(0) > 0 && h.size(1) > 0,
              "image_overlay: the heatmap must be [h, w]");
  const int height = static_cast<int>(image.size(1));
  const int width = static_cast<int>(image.size(2));
  const auto img = image.detach().to(torch::kCPU).expand({3, height, width}).contiguous();
  const auto hv = h.to(torch::kCPU).to(torch::kDouble).contiguous();
  const int hh = static_cast<int>(hv.size(0));
  const int hw = static_cast<int>(hv.size(1));
  const double* hp = hv.data_ptr<double>();
  const std::uint8_t* ip = img.data_ptr<std::uint8_t>();
  double lo = 0.0;
  double hi = 0.0;
  for (std::int64_t i = 0; i < hv.numel(); ++i) {
    CS_CHECK_AS(NumericError, std::isfinite(hp[i]), "image_overlay: the heatmap of '", file,
                "' has a non-finite value");
    lo = std::min(lo, hp[i]);
    hi = std::max(hi, hp[i]);
  }
  const bool diverging = lo < 0.0 && hi > 0.0;
  const double scale = std::max(-lo, hi);
  const int factor =
      std::max(1, (kMinOverlaySide + std::max(height, width) - 1) / std::max(height, width));
  const int out_w = width * factor;
  const int out_h = height * factor;
  std::vector<std::uint8_t> out(static_cast<std::size_t>(out_w) * out_h * 3);
  const std::size_t plane = static_cast<std::size_t>(height) * width;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      // Nearest source cell of the heatmap for this image pixel.
      const int sy = static_cast<int>(static_cast<std::int64_t>(y) * hh / height);
      const int sx = static_cast<int>(static_cast<std::int64_t>(x) * hw / width);
      const double v = hp[static_cast<std::size_t>(sy) * hw + sx];
      const double t = scale > 0.0 ? std::clamp(v / scale, -1.0, 1.0) : 0.0;
      double colour[3];
      double alpha = 0.0;
      if (diverging) {
        // Blue (negative) - white (zero) - red (positive), at constant opacity.
        static constexpr double kRed[3] = {215, 25, 28};
        static constexpr double kBlue[3] = {44, 123, 182};
        const double* end = t >= 0.0 ? kRed : kBlue;
        for (int c = 0; c < 3; ++c) colour[c] = 255.0 + (end[c] - 255.0) * std::abs(t);
        alpha = kOverlayAlpha;
      } else {
        // 'Hot': transparent at zero, red to yellow as the magnitude grows.
        const double m = std::abs(t);
        colour[0] = 220.0 + 35.0 * m;
        colour[1] = 20.0 + 210.0 * m;
        colour[2] = 0.0;
        alpha = kOverlayAlpha * m;
      }
      std::uint8_t blended[3];
      for (int c = 0; c < 3; ++c) {
        const double base = ip[c * plane + static_cast<std::size_t>(y) * width + x];
        blended[c] = static_cast<std::uint8_t>(
            std::clamp(std::lround(base + (colour[c] - base) * alpha), 0L, 255L));
      }
      for (int dy = 0; dy < factor; ++dy) {
        std::uint8_t* row =
            out.data() + (static_cast<std::size_t>(y * factor + dy) * out_w + x * factor) * 3;
        for (int dx = 0; dx < factor; ++dx) {
          row[3 * dx] = blended[0];
          row[3 * dx + 1] = blended[1];
          row[3 * dx + 2] = blended[2];
        }
      }
    }
  }
  const fs::path target = dir_ / file;
  fs::create_directories(target.parent_path());
  write_png(target, out, out_w, out_h);
  picture(file, caption);
}

void Report::tokens(const std::vector<std::string>& tokens, const std::vector<double>& scores,
                    const std::string& caption) {
  CS_CHECK_AS(ConfigError, tokens.size() == scores.size(), "report tokens: ", tokens.size(),
              " tokens but ", scores.size(), " scores");
  Block block;
  block.kind = "tokens";
  block.header = tokens;
  block.scores = scores;
  block.caption = caption;
  blocks_.push_back(std::move(block));
}

void Report::picture(const std::string& file, const std::string& caption) {
  check_relative(file);
  CS_CHECK_AS(IoError, fs::is_regular_file(dir_ / file), "report picture '", file,
              "' does not exist in '", dir_.string(), "'");
  Block block;
  block.kind = "picture";
  block.text = file;
  block.caption = caption;
  blocks_.push_back(std::move(block));
}

fs::path Report::write() const {
  std::ostringstream md;
  std::ostringstream html;
  md << "# " << one_line(title_) << "\n\n";
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>" << html_escape(one_line(title_)) << "</title>\n<style>" << kStyle
       << "</style>\n</head>\n<body>\n<h1>" << html_escape(one_line(title_)) << "</h1>\n";
  for (const Block& block : blocks_) {
    const std::string caption = one_line(block.caption);
    if (block.kind == "section") {
      md << "## " << one_line(block.text) << "\n\n";
      html << "<h2>" << html_escape(one_line(block.text)) << "</h2>\n";
    } else if (block.kind == "paragraph") {
      md << block.text << "\n\n";
      // A blank line separates paragraphs in Markdown; the HTML follows suit.
      std::size_t start = 0;
      while (start <= block.text.size()) {
        auto end = block.text.find("\n\n", start);
        if (end == std::string::npos) end = block.text.size();
        const std::string part = one_line(block.text.substr(start, end - start));
        if (!part.empty()) html << "<p>" << inline_html(part) << "</p>\n";
        start = end + 2;
      }
    } else if (block.kind == "table") {
      std::vector<bool> numeric(block.header.size());
      for (std::size_t c = 0; c < numeric.size(); ++c) numeric[c] = numeric_column(block.rows, c);
      md << "|";
      html << "<table>\n<thead><tr>";
      for (const auto& cell : block.header) {
        md << " " << md_cell(cell) << " |";
        html << "<th>" << inline_html(one_line(cell)) << "</th>";
      }
      md << "\n|";
      html << "</tr></thead>\n<tbody>\n";
      for (std::size_t c = 0; c < numeric.size(); ++c) md << (numeric[c] ? " ---: |" : " --- |");
      md << "\n";
      for (const auto& row : block.rows) {
        md << "|";
        html << "<tr>";
        for (std::size_t c = 0; c < row.size(); ++c) {
          md << " " << md_cell(row[c]) << " |";
          html << (numeric[c] ? "<td class=\"num\">" : "<td>") << inline_html(one_line(row[c]))
               << "</td>";
        }
        md << "\n";
        html << "</tr>\n";
      }
      md << "\n";
      html << "</tbody>\n</table>\n";
    } else if (block.kind == "picture") {
      md << "![" << md_literal(caption) << "](" << url_path(block.text) << ")\n\n";
      if (!caption.empty()) md << "*" << md_literal(caption) << "*\n\n";
      const bool png = fs::path(block.text).extension() == ".png";
      html << "<figure><img src=\"" << html_escape(url_path(block.text)) << "\" alt=\""
           << html_escape(caption) << "\"" << (png ? " class=\"pixels\"" : "") << ">";
      if (!caption.empty()) html << "<figcaption>" << html_escape(caption) << "</figcaption>";
      html << "</figure>\n";
    } else if (block.kind == "tokens") {
      const double max_abs = max_magnitude(block.scores);
      md << "| token | score |\n| --- | ---: |\n";
      html << "<figure><div class=\"tokens\">";
      for (std::size_t i = 0; i < block.header.size(); ++i) {
        const std::string score = format_number(block.scores[i]);
        md << "| " << token_markdown(block.header[i]) << " | " << score << " |\n";
        html << "<span class=\"tok\" style=\"background-color:"
             << token_background(block.scores[i], max_abs) << "\" title=\"" << html_escape(score)
             << "\">" << token_html(block.header[i]) << "</span>";
      }
      md << "\n";
      if (!caption.empty()) md << "*" << md_literal(caption) << "*\n\n";
      html << "</div>";
      if (!caption.empty()) html << "<figcaption>" << html_escape(caption) << "</figcaption>";
      html << "</figure>\n";
    }
  }
  html << "</body>\n</html>\n";
  atomic_write(dir_ / "report.md", md.str());
  const fs::path html_path = dir_ / "report.html";
  atomic_write(html_path, html.str());
  return html_path;
}

void write_result(const fs::path& dir, const nlohmann::json& value) {
  fs::create_directories(dir);
  atomic_write(dir / "result.json",
               value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void write_tensors(const fs::path& dir, const std::string& file,
                   const std::map<std::string, torch::Tensor>& tensors, const std::string& kind) {
  check_relative(file);
  const fs::path target = dir / file;
  fs::create_directories(target.parent_path());
  std::map<std::string, torch::Tensor> detached;
  for (const auto& [name, tensor] : tensors) {
    CS_CHECK_AS(ConfigError, tensor.defined(), "write_tensors: tensor '", name, "' is undefined");
    detached.emplace(name, tensor.detach());
  }
  safetensors::save_map(target, detached, {{"kind", kind}});
}

nlohmann::json tensor_to_json(const torch::Tensor& values) {
  CS_CHECK_AS(ShapeError, values.defined(), "tensor_to_json: undefined tensor");
  const auto t = values.detach().to(torch::kCPU).to(torch::kDouble).contiguous();
  const double* data = t.data_ptr<double>();
  if (t.dim() == 0) return data[0];
  const auto sizes = t.sizes().vec();
  std::vector<std::int64_t> strides(sizes.size(), 1);
  for (std::size_t d = sizes.size() - 1; d > 0; --d) strides[d - 1] = strides[d] * sizes[d];
  std::function<nlohmann::json(std::size_t, std::int64_t)> build = [&](std::size_t d,
                                                                       std::int64_t offset) {
    nlohmann::json out = nlohmann::json::array();
    for (std::int64_t i = 0; i < sizes[d]; ++i) {
      const std::int64_t at = offset + i * strides[d];
      out.push_back(d + 1 == sizes.size() ? nlohmann::json(data[at]) : build(d + 1, at));
    }
    return out;
  };
  return build(0, 0);
}

std::string format_number(double x, int digits) {
  if (x == 0.0) x = 0.0;  // no "-0"
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*g", std::clamp(digits, 1, 17), x);
  return buffer;
}

}  // namespace clearsight
