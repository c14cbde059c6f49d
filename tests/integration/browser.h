// Looking at reports as a reader would: headless Chromium renders an HTML page or a figure to a
// PNG, and the screenshot is checked for size and for content that is not blank.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace clearsight::testing {

/// The headless browser (Debian's chromium, installed by scripts/setup); "" when none is found.
std::string chromium_path();

/// What a screenshot shows.
struct Screenshot {
  int width = 0;
  int height = 0;
  /// Share of pixels that differ from the most common colour (the background).
  double ink = 0.0;
  /// Distinct colours (a blank or one-colour page has 1).
  int colours = 0;
};

/// Renders file (an .html or .svg) at width x height into png and measures it; a failure to
/// render is a test failure (and an empty Screenshot).
Screenshot screenshot(const std::filesystem::path& file, const std::filesystem::path& png,
                      int width, int height);

/// The pictures an HTML report shows (<img src=...>), relative to its folder.
std::vector<std::string> report_pictures(const std::filesystem::path& html);

/// Expects the report page and every picture it shows to render with visible content (ink above
/// min_ink, more than a few colours); returns the number of pictures checked.
int expect_report_renders(const std::filesystem::path& html, double min_ink = 0.01);

}  // namespace clearsight::testing
