// The `clearsight env` commands as a user runs them.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/image.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

TEST(IntegrationEnvCli, ListAndInfo) {
  testing::TempDir dir;
  auto r = testing::run_cli("env list --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto list = nlohmann::json::parse(r.out);
  EXPECT_EQ(list.size(), 7u);
  r = testing::run_cli("env info Walker2d-v4 --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto info = nlohmann::json::parse(r.out);
  EXPECT_EQ(info["observation_space"]["shape"][0], 17);
  EXPECT_EQ(info["action_space"]["shape"][0], 6);
  EXPECT_EQ(info["frame_skip"], 4);
  // --env as everywhere else, the same answer.
  r = testing::run_cli("env info --env Walker2d-v4 --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out), info);
  r = testing::run_cli("env info walker", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown environment 'walker'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean"), std::string::npos) << r.err;
}

TEST(IntegrationEnvCli, RolloutIsSeededAndReported) {
  testing::TempDir dir;
  const auto a = testing::run_cli("--seed 4 env rollout --env Hopper-v4 --episodes 3 --json", dir);
  const auto b = testing::run_cli("--seed 4 env rollout --env Hopper-v4 --episodes 3 --json", dir);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  const auto doc = nlohmann::json::parse(a.out);
  EXPECT_EQ(doc["episodes"].size(), 3u);
  EXPECT_GT(doc["episodes"][0]["length"].get<int>(), 0);
  // Global options after the subcommand mean the same (the command, as written).
  const auto after =
      testing::run_cli("env rollout --env Hopper-v4 --episodes 3 --seed 4 --json", dir);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, a.out);
  // One schema for evaluated episodes across commands.
  for (const char* key : {"returns", "lengths", "return_mean", "return_std", "return_min",
                          "return_max", "length_mean"}) {
    EXPECT_TRUE(doc.contains(key)) << key;
  }
  const auto one =
      testing::run_cli("env rollout --env Hopper-v4 --episodes 1 --seed 0 --json", dir);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(nlohmann::json::parse(one.out)["episodes"].size(), 1u);
  const auto human = testing::run_cli("env rollout --env Swimmer-v4 --episodes 1", dir);
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.out.find("one episode: no spread"), std::string::npos) << human.out;
  const auto bad = testing::run_cli("env rollout --env Swimmer-v4 --policy expert", dir);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown policy 'expert'"), std::string::npos);
}

TEST(IntegrationEnvCli, RenderWritesGifAndPngStrip) {
  testing::TempDir dir;
  auto r = testing::run_cli("env render --env walker-walk --camera 3,90,-45 --frames 12 --out " +
                                (dir / "walk.gif").string(),
                            dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(dir / "walk.gif").substr(0, 6), "GIF89a");
  r = testing::run_cli(
      "env render --env Hopper-v4 --frames 6 --columns 3 --width 32 --height 24 "
      "--out " +
          (dir / "hop.png").string(),
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto strip = read_png(dir / "hop.png");
  EXPECT_EQ(strip.width, 96);
  EXPECT_EQ(strip.height, 48);
  r = testing::run_cli("env render --camera 3,200,-45 --out " + (dir / "x.gif").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("outside the limits"), std::string::npos) << r.err;
  r = testing::run_cli("env render --out " + (dir / "x.bmp").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.gif"));
}

}  // namespace
}  // namespace clearsight
