// The run directory every explain method (and the MINER and bench-il reports) writes: numbers as
// JSON (result.json) and safetensors, and a report (report.md and report.html side by side) with
// pictures: SVG plots drawn by gnuplot, PNG heatmap overlays, and text tokens coloured by a score.
#pragma once

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "clearsight/core/plot.h"

namespace clearsight {

/// A report under construction; write() renders it as Markdown and HTML. Pictures are written
/// into the run directory as they are added, atomically.
class Report {
 public:
  /// A report titled title whose files go into dir (created if needed).
  Report(std::filesystem::path dir, std::string title);

  /// The run directory.
  const std::filesystem::path& dir() const { return dir_; }
  /// Starts a section with a heading.
  void section(const std::string& heading);
  /// A paragraph of plain text (Markdown inline syntax allowed).
  void paragraph(const std::string& text);
  /// A table with a header row; every row must have header.size() cells (ConfigError otherwise).
  void table(const std::vector<std::string>& header,
             const std::vector<std::vector<std::string>>& rows);
  /// A line plot rendered to SVG as file (relative to dir), shown with caption.
  void line_plot(const LinePlot& plot, const std::string& file, const std::string& caption);
  /// Grouped bars (with error bars) rendered to SVG as file, shown with caption.
  void bar_plot(const BarPlot& plot, const std::string& file, const std::string& caption);
  /// A heatmap of values [rows, cols] (float) rendered to SVG with row and column labels (either
  /// may be empty: then indices are used).
  void heatmap(const torch::Tensor& values, const std::vector<std::string>& row_labels,
               const std::vector<std::string>& col_labels, const std::string& title,
               const std::string& file, const std::string& caption);
  /// A 2-D scatter plot of points [n, 2] coloured by labels (one legend entry per distinct
  /// label), rendered to SVG.
  void scatter(const torch::Tensor& points, const std::vector<std::string>& labels,
               const std::string& title, const std::string& file, const std::string& caption);
  /// A PNG of an RGB image [3, H, W] uint8 with a heatmap [h, w] (any float; upsampled to the
  /// image, nearest) blended over it; diverging colours when the heatmap has both signs.
  void image_overlay(const torch::Tensor& image, const torch::Tensor& heat, const std::string& file,
                     const std::string& caption);
  /// Tokens shown inline with background colours by score (red positive, blue negative, scaled
  /// by the largest magnitude); in Markdown a table of token and score.
  void tokens(const std::vector<std::string>& tokens, const std::vector<double>& scores,
              const std::string& caption);
  /// Embeds a picture already written into dir (relative path).
  void picture(const std::string& file, const std::string& caption);

  /// Writes report.md and report.html atomically; returns the HTML path.
  std::filesystem::path write() const;

 private:
  struct Block {
    std::string kind;
    std::string text;
    std::string caption;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    std::vector<double> scores;
  };
  std::filesystem::path dir_;
  std::string title_;
  std::vector<Block> blocks_;
};

/// Writes value as pretty JSON to dir/result.json atomically.
void write_result(const std::filesystem::path& dir, const nlohmann::json& value);

/// Writes named tensors to dir/file (safetensors) with metadata kind=<kind>.
void write_tensors(const std::filesystem::path& dir, const std::string& file,
                   const std::map<std::string, torch::Tensor>& tensors, const std::string& kind);

/// A float tensor as nested JSON arrays (float64 values).
nlohmann::json tensor_to_json(const torch::Tensor& values);

/// Formats x with `digits` significant digits.
std::string format_number(double x, int digits = 4);

}  // namespace clearsight
