#include "clearsight/core/report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cmath>
#include <optional>
#include <regex>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/core/safetensors.h"
#include "test_util.h"

namespace clearsight {
namespace {

namespace fs = std::filesystem;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool is_svg(const std::string& text) {
  return text.rfind("<?xml", 0) == 0 || text.rfind("<svg", 0) == 0;
}

// The HTML span that shows token (its opening tag up to and including the text).
std::string token_span(const std::string& html, const std::string& token) {
  const auto end = html.find(">" + token + "</span>");
  if (end == std::string::npos) return "";
  const auto start = html.rfind("<span", end);
  return html.substr(start, end - start + 1 + token.size());
}

// A uniform grey image [3, size, size].
torch::Tensor grey_image(int size, int level = 128) {
  return torch::full({3, size, size}, level, torch::kUInt8);
}

// The pixel (x, y) of an RGB image.
std::array<int, 3> pixel(const RgbImage& image, int x, int y) {
  const std::size_t at = (static_cast<std::size_t>(y) * image.width + x) * 3;
  return {image.pixels[at], image.pixels[at + 1], image.pixels[at + 2]};
}

// Sets PATH to an empty directory for its lifetime, so gnuplot cannot be found.
class NoGnuplot {
 public:
  NoGnuplot() {
    if (const char* path = std::getenv("PATH")) old_ = path;
    setenv("PATH", empty_.path().c_str(), 1);
  }
  ~NoGnuplot() {
    if (old_) {
      setenv("PATH", old_->c_str(), 1);
    } else {
      unsetenv("PATH");
    }
  }

 private:
  testing::TempDir empty_;
  std::optional<std::string> old_;
};

TEST(CoreReport, WritesMarkdownAndHtml) {
  testing::TempDir dir;
  const fs::path run = dir / "run";
  Report report(run, "Attribution <x> & \"y\"");
  EXPECT_EQ(report.dir(), run);
  EXPECT_TRUE(fs::is_directory(run));
  report.section("Saliency & friends");
  report.paragraph("Uses `integrated_gradients` with **64** steps; <script>alert(1)</script>");
  report.table({"layer", "score"}, {{"0", "0.5"}, {"1", "a|b"}});

  const bool plots = gnuplot_available();
  LinePlot line;
  line.title = "accuracy per layer";
  line.series = {{"probe", {{0, 0.5}, {1, 0.7}, {2, 0.9}}}};
  report.line_plot(line, "probe.svg", "Probe accuracy");
  report.heatmap(torch::tensor({{1.0, -2.0, 0.5}, {0.0, 3.0, -1.0}}), {"L0", "L1"},
                 {"the", "cat", "sat"}, "Attention", "plots/heat.svg", "Heat <map>");
  report.scatter(torch::tensor({{0.0, 1.0}, {1.0, 0.0}, {2.0, 2.0}}), {"a", "b", "a"}, "PCA",
                 "scatter.svg", "PCA of states");
  report.image_overlay(grey_image(32), torch::rand({8, 8}), "overlay.png", "Overlay");
  report.tokens({"good", "bad"}, {1.0, -0.5}, "Token scores");
  const fs::path html_path = report.write();
  EXPECT_EQ(html_path, run / "report.html");

  const std::string html = read_file(html_path);
  const std::string md = read_file(run / "report.md");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<h1>Attribution &lt;x&gt; &amp; &quot;y&quot;</h1>"), std::string::npos);
  EXPECT_NE(html.find("<title>Attribution &lt;x&gt; &amp; &quot;y&quot;</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<h2>Saliency &amp; friends</h2>"), std::string::npos);
  EXPECT_NE(html.find("<code>integrated_gradients</code>"), std::string::npos);
  EXPECT_NE(html.find("<strong>64</strong>"), std::string::npos);
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<style>"), std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);  // self-contained: no external URLs
  EXPECT_NE(html.find("<td class=\"num\">1</td><td>a|b</td>"), std::string::npos);
  EXPECT_NE(html.find("<figcaption>Heat &lt;map&gt;</figcaption>"), std::string::npos);

  EXPECT_EQ(md.rfind("# Attribution <x> & \"y\"\n", 0), 0u);
  EXPECT_NE(md.find("## Saliency & friends"), std::string::npos);
  EXPECT_NE(md.find("| layer | score |"), std::string::npos);
  EXPECT_NE(md.find("| 1 | a\\|b |"), std::string::npos);
  EXPECT_NE(md.find("![Overlay](overlay.png)\n\n*Overlay*"), std::string::npos);

  const std::size_t pictures = plots ? 4 : 1;
  EXPECT_EQ(count(html, "<img src=\""), pictures);
  EXPECT_EQ(count(md, "!["), pictures);
  if (plots) {
    for (const char* file : {"probe.svg", "plots/heat.svg", "scatter.svg"}) {
      EXPECT_NE(html.find(std::string("<img src=\"") + file + "\""), std::string::npos) << file;
      EXPECT_NE(md.find(std::string("](") + file + ")"), std::string::npos) << file;
      ASSERT_TRUE(fs::exists(run / file)) << file;
      EXPECT_TRUE(is_svg(read_file(run / file))) << file;
    }
  }
  EXPECT_NE(html.find("<img src=\"overlay.png\""), std::string::npos);
  EXPECT_EQ(testing::count_temp_files(run), 0);
  EXPECT_EQ(testing::count_temp_files(run / "plots"), 0);
}

TEST(CoreReport, TableRowsMustMatchTheHeader) {
  testing::TempDir dir;
  Report report(dir.path(), "t");
  EXPECT_THROW(report.table({"a", "b"}, {{"1", "2"}, {"3"}}), ConfigError);
  EXPECT_THROW(report.table({"a"}, {{"1", "2"}}), ConfigError);
  EXPECT_THROW(report.table({}, {}), ConfigError);
  EXPECT_NO_THROW(report.table({"a"}, {}));
}

TEST(CoreReport, TokensAreColouredBySign) {
  testing::TempDir dir;
  Report report(dir.path(), "tokens");
  report.tokens({"good", "bad", "meh", "a|b", "<s>"}, {2.0, -1.0, 0.0, 0.5, -2.0}, "Scores");
  EXPECT_THROW(report.tokens({"x"}, {1.0, 2.0}, "mismatch"), ConfigError);
  report.write();
  const std::string html = read_file(dir / "report.html");
  const std::string good = token_span(html, "good");
  const std::string bad = token_span(html, "bad");
  const std::string meh = token_span(html, "meh");
  const std::string special = token_span(html, "&lt;s&gt;");
  EXPECT_NE(good.find("rgba(220,38,38,1.000)"), std::string::npos) << good;
  EXPECT_NE(good.find("title=\"2\""), std::string::npos) << good;
  EXPECT_NE(bad.find("rgba(37,99,235,0.500)"), std::string::npos) << bad;
  EXPECT_NE(bad.find("title=\"-1\""), std::string::npos) << bad;
  EXPECT_NE(meh.find(",0.000)"), std::string::npos) << meh;
  EXPECT_NE(special.find("rgba(37,99,235,1.000)"), std::string::npos) << special;
  EXPECT_NE(html.find("<figcaption>Scores</figcaption>"), std::string::npos);

  const std::string md = read_file(dir / "report.md");
  EXPECT_NE(md.find("| token | score |"), std::string::npos);
  EXPECT_NE(md.find("| good | 2 |"), std::string::npos);
  EXPECT_NE(md.find("| bad | -1 |"), std::string::npos);
  EXPECT_NE(md.find("| a\\|b | 0.5 |"), std::string::npos);
  EXPECT_NE(md.find("| \\<s\\> | -2 |"), std::string::npos);
  EXPECT_NE(md.find("*Scores*"), std::string::npos);
}

TEST(CoreReport, OverlayIsUpscaledAndColoured) {
  testing::TempDir dir;
  Report report(dir.path(), "overlay");
  // One-sign heat on the left half only: the right half keeps the image's grey.
  auto heat = torch::zeros({4, 4});
  heat.index_put_({torch::indexing::Slice(), torch::indexing::Slice(0, 2)}, 1.0);
  report.image_overlay(grey_image(32), heat, "hot.png", "hot");
  const RgbImage hot = read_png(dir / "hot.png");
  EXPECT_EQ(hot.width, 192);
  EXPECT_EQ(hot.height, 192);
  EXPECT_EQ(pixel(hot, 150, 100), (std::array<int, 3>{128, 128, 128}));
  const auto left = pixel(hot, 20, 100);
  EXPECT_GT(left[0], 128);
  EXPECT_LT(left[2], 128);
  // Nearest-neighbour scaling: a 6x6 block per source pixel.
  EXPECT_EQ(pixel(hot, 0, 0), pixel(hot, 5, 5));

  // Both signs: negative on top is blue, positive at the bottom is red.
  auto signed_heat = torch::ones({2, 2});
  signed_heat[0] = -1.0;
  report.image_overlay(grey_image(32), signed_heat, "div.png", "diverging");
  const RgbImage div = read_png(dir / "div.png");
  const auto top = pixel(div, 96, 10);
  const auto bottom = pixel(div, 96, 180);
  EXPECT_GT(top[2], top[0]);
  EXPECT_GT(bottom[0], bottom[2]);

  // A large image is not scaled; a grey [1, H, W] image and a [1, h, w] heat are accepted.
  report.image_overlay(torch::zeros({1, 200, 100}, torch::kUInt8), torch::rand({1, 7, 5}),
                       "big.png", "big");
  const RgbImage big = read_png(dir / "big.png");
  EXPECT_EQ(big.width, 100);
  EXPECT_EQ(big.height, 200);

  EXPECT_THROW(report.image_overlay(torch::zeros({3, 8, 8}), heat, "x.png", ""), ShapeError);
  EXPECT_THROW(report.image_overlay(grey_image(8), torch::zeros({8}), "x.png", ""), ShapeError);
  EXPECT_THROW(report.image_overlay(grey_image(8), torch::full({2, 2}, NAN), "x.png", ""),
               NumericError);
  EXPECT_FALSE(fs::exists(dir / "x.png"));
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CoreReport, FiguresAreSkippedWithoutGnuplot) {
  testing::TempDir dir;
  Report report(dir.path(), "no plots");
  {
    NoGnuplot hide;
    ASSERT_FALSE(gnuplot_available());
    LinePlot line;
    line.title = "t";
    line.series = {{"s", {{0, 1}}}};
    report.line_plot(line, "line.svg", "Line");
    report.heatmap(torch::eye(3), {}, {}, "Heat", "heat.svg", "Heat");
    report.scatter(torch::zeros({2, 2}), {}, "PCA", "scatter.svg", "Scatter");
    report.image_overlay(grey_image(8), torch::ones({2, 2}), "overlay.png", "Overlay");
  }
  report.write();
  EXPECT_FALSE(fs::exists(dir / "line.svg"));
  EXPECT_FALSE(fs::exists(dir / "heat.svg"));
  EXPECT_FALSE(fs::exists(dir / "scatter.svg"));
  EXPECT_TRUE(fs::exists(dir / "overlay.png"));  // PNG overlays do not need gnuplot
  const std::string md = read_file(dir / "report.md");
  EXPECT_EQ(count(md, "skipped because gnuplot is not installed"), 3u);
  const std::string html = read_file(dir / "report.html");
  EXPECT_EQ(count(html, "skipped because gnuplot is not installed"), 3u);
  EXPECT_EQ(count(html, "<img src="), 1u);
}

TEST(CoreReport, ChecksShapesAndPaths) {
  testing::TempDir dir;
  Report report(dir.path(), "checks");
  EXPECT_THROW(report.heatmap(torch::zeros({3}), {}, {}, "h", "h.svg", ""), ShapeError);
  EXPECT_THROW(report.heatmap(torch::zeros({2, 2}), {"one"}, {}, "h", "h.svg", ""), ConfigError);
  EXPECT_THROW(report.scatter(torch::zeros({3, 3}), {}, "s", "s.svg", ""), ShapeError);
  EXPECT_THROW(report.scatter(torch::zeros({3, 2}), {"a"}, "s", "s.svg", ""), ConfigError);
  EXPECT_THROW(report.picture("../outside.png", ""), ConfigError);
  EXPECT_THROW(report.picture("/etc/passwd", ""), ConfigError);
  EXPECT_THROW(report.picture("missing.png", ""), IoError);
  atomic_write(dir / "my picture.svg", std::string_view("<svg/>"));
  report.picture("my picture.svg", "mine");
  report.write();
  EXPECT_NE(read_file(dir / "report.html").find("<img src=\"my%20picture.svg\""),
            std::string::npos);
  EXPECT_NE(read_file(dir / "report.md").find("](my%20picture.svg)"), std::string::npos);
}

TEST(CoreReport, WritesResultJsonAndTensors) {
  testing::TempDir dir;
  const nlohmann::json value = {{"method", "saliency"}, {"scores", {1.5, -2.0}}};
  write_result(dir / "run", value);
  const std::string text = read_file(dir / "run" / "result.json");
  EXPECT_NE(text.find("\n  \"method\""), std::string::npos);  // pretty-printed
  EXPECT_EQ(nlohmann::json::parse(text), value);

  const auto a = torch::arange(6, torch::kFloat32).reshape({2, 3});
  write_tensors(dir / "run", "maps.safetensors", {{"a", a}, {"b", torch::ones({4}).neg()}},
                "saliency");
  const auto file = safetensors::File::open(dir / "run" / "maps.safetensors");
  EXPECT_EQ(file.metadata().at("kind"), "saliency");
  EXPECT_TRUE(torch::equal(file.get("a"), a));
  EXPECT_EQ(file.names().size(), 2u);
  EXPECT_EQ(testing::count_temp_files(dir / "run"), 0);
}

TEST(CoreReport, TensorToJsonNestsAnyDimension) {
  EXPECT_EQ(tensor_to_json(torch::tensor(2.5)), nlohmann::json(2.5));
  EXPECT_EQ(tensor_to_json(torch::tensor({1.0, 2.0})), nlohmann::json({1.0, 2.0}));
  const auto m = tensor_to_json(torch::arange(6).reshape({2, 3}));
  EXPECT_EQ(m, nlohmann::json::parse("[[0,1,2],[3,4,5]]"));
  EXPECT_TRUE(m[1][2].is_number_float());
  const auto cube = tensor_to_json(torch::arange(8, torch::kFloat32).reshape({2, 2, 2}));
  EXPECT_EQ(cube[1][0][1], 5.0);
  // A non-contiguous view is read in logical order.
  EXPECT_EQ(tensor_to_json(torch::tensor({{1.0, 2.0}, {3.0, 4.0}}).t()),
            nlohmann::json::parse("[[1,3],[2,4]]"));
  EXPECT_EQ(tensor_to_json(torch::zeros({2, 0})), nlohmann::json::parse("[[],[]]"));
  EXPECT_EQ(tensor_to_json(torch::zeros({0})), nlohmann::json::array());
}

TEST(CoreReport, FormatNumberUsesSignificantDigits) {
  EXPECT_EQ(format_number(3.14159265), "3.142");
  EXPECT_EQ(format_number(1234567.0), "1.235e+06");
  EXPECT_EQ(format_number(0.0001234), "0.0001234");
  EXPECT_EQ(format_number(2.0), "2");
  EXPECT_EQ(format_number(-0.0), "0");
  EXPECT_EQ(format_number(0.123456, 2), "0.12");
  EXPECT_EQ(format_number(NAN), "nan");
}

}  // namespace
}  // namespace clearsight
