#include "clearsight/core/plot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

bool is_svg(const std::string& text) {
  return text.rfind("<?xml", 0) == 0 || text.rfind("<svg", 0) == 0;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

HeatmapPlot small_heatmap(std::vector<double> values, int rows, int cols) {
  HeatmapPlot plot;
  plot.title = "heat <map> & \"quotes\"";
  plot.xlabel = "token";
  plot.ylabel = "layer";
  plot.values = std::move(values);
  plot.rows = rows;
  plot.cols = cols;
  return plot;
}

TEST(CorePlot, LineSvgIsWrittenAtomicallyWithEscapedLabels) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  testing::TempDir dir;
  LinePlot plot;
  plot.title = "loss <per> \"layer\"\nsecond line";
  plot.xlabel = "layer";
  plot.ylabel = "a_b^c";
  plot.series = {{"train \\ \"set\"", {{0, 1.0}, {1, 0.5}, {2, 0.25}}}, {"test", {{0, 2}, {2, 1}}}};
  render_svg(plot, dir / "line.svg");
  const std::string svg = read_file(dir / "line.svg");
  EXPECT_TRUE(is_svg(svg));
  EXPECT_NE(svg.find("&lt;per"), std::string::npos);
  EXPECT_EQ(svg.find("<per>"), std::string::npos);
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, HeatmapDrawsAnImageForBothPalettes) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  testing::TempDir dir;
  auto diverging = small_heatmap({1, -2, 3, 0.5, 0, -3}, 2, 3);
  diverging.row_labels = {"layer 0", "layer 1"};
  diverging.col_labels = {"<s>", "cat", "sat & ran"};
  render_heatmap_svg(diverging, dir / "div.svg");
  const std::string svg = read_file(dir / "div.svg");
  EXPECT_TRUE(is_svg(svg));
  // Each cell is its own filled shape (`with image pixels`): a browser cannot smooth cells into
  // gradients the data do not have, as it did with gnuplot's embedded PNG.
  EXPECT_EQ(count(svg, "<image"), 0u);
  EXPECT_GE(count(svg, "<polygon"), 6u);
  EXPECT_NE(svg.find("&lt;s"), std::string::npos);
  EXPECT_NE(svg.find("sat &amp; ran"), std::string::npos);
  EXPECT_NE(svg.find("layer 1"), std::string::npos);

  render_heatmap_svg(small_heatmap({0, 1, 2, 3}, 2, 2), dir / "pos.svg");
  EXPECT_TRUE(is_svg(read_file(dir / "pos.svg")));
  render_heatmap_svg(small_heatmap({0, -1, -2, -3}, 2, 2), dir / "neg.svg");
  EXPECT_TRUE(is_svg(read_file(dir / "neg.svg")));
  render_heatmap_svg(small_heatmap({0, 0, 0, 0}, 2, 2), dir / "zero.svg");
  EXPECT_TRUE(is_svg(read_file(dir / "zero.svg")));
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, HeatmapWithOneRowOrColumn) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  testing::TempDir dir;
  // gnuplot's image needs a 2x2 grid; a single row is drawn as boxes.
  render_heatmap_svg(small_heatmap({0.1, -0.4, 0.9}, 1, 3), dir / "row.svg");
  render_heatmap_svg(small_heatmap({0.1, 0.4, 0.9}, 3, 1), dir / "col.svg");
  render_heatmap_svg(small_heatmap({5}, 1, 1), dir / "one.svg");
  for (const char* name : {"row.svg", "col.svg", "one.svg"}) {
    const std::string svg = read_file(dir / name);
    EXPECT_TRUE(is_svg(svg)) << name;
    EXPECT_NE(svg.find("</svg>"), std::string::npos) << name;
  }
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, HeatmapRejectsBadInput) {
  testing::TempDir dir;
  EXPECT_THROW(render_heatmap_svg(small_heatmap({1, 2, 3}, 2, 2), dir / "a.svg"), ConfigError);
  EXPECT_THROW(render_heatmap_svg(small_heatmap({}, 0, 0), dir / "a.svg"), ConfigError);
  auto labels = small_heatmap({1, 2, 3, 4}, 2, 2);
  labels.row_labels = {"only one"};
  EXPECT_THROW(render_heatmap_svg(labels, dir / "a.svg"), ConfigError);
  labels.row_labels.clear();
  labels.col_labels = {"a", "b", "c"};
  EXPECT_THROW(render_heatmap_svg(labels, dir / "a.svg"), ConfigError);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(render_heatmap_svg(small_heatmap({1, nan, 3, 4}, 2, 2), dir / "a.svg"),
               NumericError);
  EXPECT_FALSE(std::filesystem::exists(dir / "a.svg"));
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, ScatterHasOneEntryPerSeries) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  testing::TempDir dir;
  ScatterPlot plot;
  plot.title = "PCA of <hidden> states";
  plot.xlabel = "PC1";
  plot.ylabel = "PC2";
  plot.series = {{"cat", {{0, 0}, {1, 1}, {0.5, 0.2}}}, {"dog", {{-1, 2}, {-2, 1.5}}}};
  render_scatter_svg(plot, dir / "scatter.svg");
  const std::string svg = read_file(dir / "scatter.svg");
  EXPECT_TRUE(is_svg(svg));
  EXPECT_NE(svg.find(">cat<"), std::string::npos);
  EXPECT_NE(svg.find(">dog<"), std::string::npos);
  EXPECT_NE(svg.find("&lt;hidden"), std::string::npos);
  EXPECT_EQ(svg.find("<hidden"), std::string::npos);
  // A series without points still gets drawn (as an empty legend entry) next to others.
  plot.series.push_back({"empty", {}});
  render_scatter_svg(plot, dir / "scatter2.svg");
  EXPECT_TRUE(is_svg(read_file(dir / "scatter2.svg")));
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, ScatterRejectsBadInput) {
  testing::TempDir dir;
  ScatterPlot plot;
  plot.title = "empty";
  EXPECT_THROW(render_scatter_svg(plot, dir / "s.svg"), ConfigError);
  plot.series = {{"a", {{0, std::numeric_limits<double>::infinity()}}}};
  EXPECT_THROW(render_scatter_svg(plot, dir / "s.svg"), NumericError);
  EXPECT_FALSE(std::filesystem::exists(dir / "s.svg"));
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, BarsWithErrorBarsAndBandsAndDashes) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  testing::TempDir dir;
  BarPlot bars;
  bars.title = "scores";
  bars.categories = {"scene_vqa", "text_choice"};
  bars.groups = {"original", "random"};
  bars.values = {{0.5, 0.7}, {0.45, 0.69}};
  bars.errors = {{0, 0}, {0.02, 0.01}};
  render_bars_svg(bars, dir / "bars.svg");
  const std::string svg = read_file(dir / "bars.svg");
  EXPECT_TRUE(is_svg(svg));
  EXPECT_NE(svg.find("scene_vqa"), std::string::npos);
  EXPECT_NE(svg.find(">random<"), std::string::npos);
  bars.values[1].pop_back();
  EXPECT_THROW(render_bars_svg(bars, dir / "bad.svg"), ConfigError);
  bars.values[1] = {0.1, std::nan("")};
  EXPECT_THROW(render_bars_svg(bars, dir / "bad.svg"), NumericError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.svg"));

  LinePlot plot;
  plot.title = "curves";
  PlotSeries mean("gail", {{0, 1}, {1, 2}});
  mean.band = {{0.5, 1.5}, {1.5, 2.5}};
  PlotSeries after("after", {{0, 2}, {1, 1}});
  after.dashed = true;
  plot.series = {mean, after};
  render_svg(plot, dir / "band.svg");
  const std::string band = read_file(dir / "band.svg");
  EXPECT_TRUE(is_svg(band));
  EXPECT_NE(band.find("stroke-dasharray"), std::string::npos);
  plot.series[0].band.pop_back();
  EXPECT_THROW(render_svg(plot, dir / "bad.svg"), ConfigError);
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

TEST(CorePlot, UnwritableDirectoryThrowsAndLeavesNothing) {
  if (!gnuplot_available()) GTEST_SKIP() << "gnuplot is not installed";
  testing::TempDir dir;
  ScatterPlot plot;
  plot.title = "nowhere";
  plot.series = {{"a", {{0, 0}, {1, 1}}}};
  EXPECT_THROW(render_scatter_svg(plot, dir / "missing" / "s.svg"), Error);
  EXPECT_EQ(testing::count_temp_files(dir.path()), 0);
}

}  // namespace
}  // namespace clearsight
