#include "clearsight/core/progress.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <cstdio>
#include <string>

namespace clearsight {
namespace {

std::string read_stream(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[256];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  return out;
}

TEST(CoreProgress, QuietWhenNotATerminal) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("work", 10, {}, f);
    EXPECT_FALSE(bar.active());
    for (int i = 0; i < 10; ++i) bar.advance();
  }
  EXPECT_EQ(read_stream(f), "");
  std::fclose(f);
}

TEST(CoreProgress, ForcedBarDrawsCountsRateAndFinalLine) {
  std::FILE* f = std::tmpfile();
  {
    ProgressOptions options;
    options.force = true;
    options.min_interval_s = 0;
    options.unit = "steps";
    ProgressBar bar("train", 4, options, f);
    bar.advance(2);
    bar.set_postfix("loss 0.5");
    EXPECT_NE(bar.render_line().find("2/4"), std::string::npos);
    EXPECT_NE(bar.render_line().find("steps/s"), std::string::npos);
    EXPECT_NE(bar.render_line().find("loss 0.5"), std::string::npos);
    bar.advance(2);
  }
  const auto text = read_stream(f);
  EXPECT_NE(text.find("train [##"), std::string::npos) << text;
  EXPECT_NE(text.find("4/4"), std::string::npos) << text;
  EXPECT_EQ(text.back(), '\n');
  std::fclose(f);
}

TEST(CoreProgress, UnknownTotalAndEta) {
  ProgressOptions options;
  options.disable = true;
  ProgressBar open_ended("scan", 0, options);
  open_ended.advance(5);
  EXPECT_LT(open_ended.eta_seconds(), 0);
  EXPECT_EQ(open_ended.render_line().find('['), std::string::npos);
  ProgressBar bar("x", 100, options);
  // The first unit is the warm-up: no ETA until the rate after it is known.
  bar.set(1);
  EXPECT_LT(bar.eta_seconds(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  bar.set(50);
  EXPECT_EQ(bar.done(), 50);
  // 49 units in >= 20 ms after the warm-up: 50 more take about as long, not 0.
  EXPECT_GT(bar.eta_seconds(), 0.0);
  EXPECT_LT(bar.eta_seconds(), 5.0);
}

}  // namespace
}  // namespace clearsight
