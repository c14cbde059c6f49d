#include "clearsight/core/strings.h"

#include <gtest/gtest.h>

namespace clearsight {
namespace {

TEST(CoreStrings, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("abc", ""), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("Hopper-v4", "Hopper-v4"), 0u);
}

TEST(CoreStrings, NearestNamesPrefersCloseAndContained) {
  const std::vector<std::string> names{"Hopper-v4", "HalfCheetah-v4", "Walker2d-v4", "Ant-v4"};
  auto near = nearest_names("hoper-v4", names);
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(near[0], "Hopper-v4");
  near = nearest_names("walker", names);
  ASSERT_FALSE(near.empty());
  EXPECT_EQ(near[0], "Walker2d-v4");
  EXPECT_TRUE(nearest_names("zzzzzzzzzzzz", names).empty());
}

TEST(CoreStrings, DidYouMean) {
  EXPECT_EQ(did_you_mean("lrr", {"lr", "steps"}), "did you mean 'lr'?");
  EXPECT_EQ(did_you_mean("qqqqqqqq", {"lr"}), "");
}

TEST(CoreStrings, SplitJoinLower) {
  EXPECT_EQ(split("a.b..c", '.'), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(to_lower("MiXeD"), "mixed");
}

TEST(CoreStrings, HumanUnits) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
  EXPECT_EQ(human_duration(4.25), "4.2s");
  EXPECT_EQ(human_duration(185), "3m05s");
  EXPECT_EQ(human_duration(3720), "1h02m");
  EXPECT_EQ(human_duration(-1), "?");
}

}  // namespace
}  // namespace clearsight
