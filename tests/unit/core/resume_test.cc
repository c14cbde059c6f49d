#include "clearsight/core/resume.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "clearsight/core/hash.h"
#include "test_util.h"

namespace clearsight {
namespace {

using nlohmann::json;

TEST(CoreResume, DifferingSettingsNamesLeavesByDottedPath) {
  const json run = {{"algo", "sac"}, {"steps", 1000}, {"sac", {{"lr", 3e-4}, {"batch", 256}}}};
  json asked = run;
  EXPECT_TRUE(differing_settings(run, asked, {}).empty());
  asked["sac"]["batch"] = 128;
  asked["steps"] = 5000;
  EXPECT_EQ(differing_settings(run, asked, {}), (std::vector<std::string>{"sac.batch", "steps"}));
  EXPECT_EQ(differing_settings(run, asked, {"steps"}), (std::vector<std::string>{"sac.batch"}));
  // A whole section may be changeable.
  EXPECT_TRUE(differing_settings(run, asked, {"steps", "sac"}).empty());
}

TEST(CoreResume, NumbersCompareByValueAndMissingKeysDiffer) {
  EXPECT_TRUE(differing_settings({{"x", 3}}, {{"x", 3.0}}, {}).empty());
  EXPECT_EQ(differing_settings({{"x", 3}}, {{"x", 3.5}}, {}), (std::vector<std::string>{"x"}));
  EXPECT_EQ(differing_settings({{"x", 1}}, {{"x", 1}, {"y", 2}}, {}),
            (std::vector<std::string>{"y"}));
  EXPECT_EQ(differing_settings({{"x", 1}, {"y", 2}}, {{"x", 1}}, {}),
            (std::vector<std::string>{"y"}));
  EXPECT_EQ(differing_settings({{"x", "1"}}, {{"x", 1}}, {}), (std::vector<std::string>{"x"}));
}

TEST(CoreResume, ConflictMessageNamesBothValuesAndWhatMayChange) {
  const json run = {{"algo", "sac"}, {"steps", 1000}};
  const json asked = {{"algo", "ppo"}, {"steps", 2000}};
  EXPECT_NO_THROW(check_resume_settings("r1", "rl", run, run, {"steps"}));
  EXPECT_THROW(check_resume_settings("r1", "rl", run, asked, {"steps"}), ConfigError);
  const auto msg =
      testing::error_message([&] { check_resume_settings("r1", "rl", run, asked, {"steps"}); });
  EXPECT_NE(msg.find("resume conflict in 'r1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rl.algo is \"sac\" in the run, \"ppo\" was asked"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("rl.steps"), std::string::npos) << msg;
  EXPECT_NE(msg.find("only steps may change"), std::string::npos) << msg;
}

TEST(CoreResume, ManyConflictsAreCounted) {
  json run = json::object(), asked = json::object();
  for (const char* key : {"a", "b", "c", "d", "e", "f", "g", "h", "i"}) {
    run[key] = 1;
    asked[key] = 2;
  }
  const auto msg = testing::error_message([&] { check_resume_settings("d", "s", run, asked, {}); });
  EXPECT_NE(msg.find("and 3 more"), std::string::npos) << msg;
}

TEST(CoreResume, ChangedInputFileIsRefused) {
  testing::TempDir dir;
  testing::write_bytes(dir / "demos.h5", "first");
  const std::string recorded = content_hash(dir / "demos.h5");
  EXPECT_NO_THROW(
      check_input_unchanged(dir.path(), "demonstration file", dir / "demos.h5", recorded));
  testing::write_bytes(dir / "demos.h5", "second");
  const auto msg = testing::error_message(
      [&] { check_input_unchanged(dir.path(), "demonstration file", dir / "demos.h5", recorded); });
  EXPECT_NE(msg.find("has changed since the run started"), std::string::npos) << msg;
  EXPECT_THROW(check_input_unchanged(dir.path(), "demonstration file", dir / "gone.h5", recorded),
               IoError);
}

}  // namespace
}  // namespace clearsight
