#include "browser.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <regex>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/image.h"

namespace clearsight::testing {

namespace fs = std::filesystem;

std::string chromium_path() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
    if (fs::exists(candidate)) return candidate;
  }
  return "";
}

Screenshot screenshot(const fs::path& file, const fs::path& png, int width, int height) {
  const auto browser = chromium_path();
  if (browser.empty()) {
    ADD_FAILURE() << "no headless Chromium (scripts/setup installs Debian's chromium)";
    return {};
  }
  fs::remove(png);
  // --no-sandbox: tests may run as root; a private profile keeps runs independent.
  const std::string command = "timeout 120 " + browser +
                              " --headless --no-sandbox --disable-gpu --hide-scrollbars "
                              "--user-data-dir=" +
                              (png.parent_path() / ".chromium").string() +
                              " --window-size=" + std::to_string(width) + "," +
                              std::to_string(height) + " --screenshot=" + png.string() +
                              " 'file://" + fs::absolute(file).string() + "' > /dev/null 2>&1";
  const int rc = std::system(command.c_str());
  if (rc != 0 || !fs::exists(png)) {
    ADD_FAILURE() << "chromium did not render " << file << " (exit " << rc << ")";
    return {};
  }
  const auto image = read_png(png);
  Screenshot s;
  s.width = image.width;
  s.height = image.height;
  std::map<std::uint32_t, std::int64_t> counts;
  const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
  for (std::size_t i = 0; i < pixels; ++i) {
    const std::uint32_t c =
        (image.pixels[3 * i] << 16) | (image.pixels[3 * i + 1] << 8) | image.pixels[3 * i + 2];
    ++counts[c];
  }
  std::int64_t background = 0;
  for (const auto& [c, n] : counts) background = std::max(background, n);
  s.colours = static_cast<int>(counts.size());
  s.ink = pixels ? 1.0 - static_cast<double>(background) / static_cast<double>(pixels) : 0.0;
  return s;
}

std::vector<std::string> report_pictures(const fs::path& html) {
  const std::string text = read_file(html);
  const std::regex img("<img[^>]*src=\"([^\"]+)\"");
  std::vector<std::string> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), img); it != std::sregex_iterator();
       ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

int expect_report_renders(const fs::path& html, double min_ink) {
  const auto shots = html.parent_path() / ".shots";
  fs::create_directories(shots);
  const auto page = screenshot(html, shots / "page.png", 1000, 2400);
  EXPECT_EQ(page.width, 1000) << html;
  EXPECT_EQ(page.height, 2400) << html;
  EXPECT_GT(page.ink, min_ink) << html << " renders blank";
  EXPECT_GT(page.colours, 8) << html;
  int checked = 0;
  for (const auto& picture : report_pictures(html)) {
    const auto file = html.parent_path() / picture;
    EXPECT_TRUE(fs::exists(file)) << picture;
    if (!fs::exists(file)) continue;
    const auto shot =
        screenshot(file, shots / ("figure-" + std::to_string(checked) + ".png"), 700, 500);
    EXPECT_GT(shot.ink, min_ink) << picture << " renders blank";
    EXPECT_GT(shot.colours, 4) << picture << " renders in " << shot.colours << " colours";
    ++checked;
  }
  fs::remove_all(shots);
  return checked;
}

}  // namespace clearsight::testing
