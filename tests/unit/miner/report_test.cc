#include "clearsight/miner/report.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::miner {
namespace {

std::string format_error(const testing::TempDir& dir, const std::string& summary) {
  testing::write_bytes(dir / "summary.json", summary);
  try {
    write_report(dir.path());
  } catch (const FormatError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a FormatError for " << summary;
  return "";
}

// A missing or mistyped field is an error naming it, never a figure printed as 0.000.
TEST(MinerReport, MissingOrMistypedFieldsAreErrors) {
  testing::TempDir dir;
  auto message = format_error(dir, R"({"benchmarks": {}, "ratio": 0.02})");
  EXPECT_NE(message.find("'model'"), std::string::npos) << message;
  message =
      format_error(dir, R"({"benchmarks": {}, "ratio": 0.02, "model": "m", "strategy": "LA_MU",
      "neurons_selected": 3, "score_samples": 1, "eval_samples": 1, "random_seeds": 1})");
  EXPECT_NE(message.find("'mean_relative_drop_miner'"), std::string::npos) << message;
  message = format_error(dir, R"({"benchmarks": {}, "ratio": "two percent"})");
  EXPECT_NE(message.find("wrong type"), std::string::npos) << message;
}

}  // namespace
}  // namespace clearsight::miner
