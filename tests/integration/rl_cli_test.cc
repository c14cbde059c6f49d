// The `clearsight rl` commands as a user runs them: train, stop, resume, evaluate, render.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

namespace fs = std::filesystem;

const char kTiny[] =
    " --set eval_every=200 --set eval_episodes=1 --set checkpoint_every=200 --set log_every=100"
    " --set 'sac.hidden=[16,16]' --set sac.batch_size=16 --set sac.learning_starts=100";

TEST(IntegrationRlCli, TrainStopResumeEvalRender) {
  testing::TempDir dir;
  const std::string run = (dir / "run").string();
  auto r = testing::run_cli(
      "--seed 1 rl train --env Hopper-v4 --steps 400 --stop-after 200 --out " + run + kTiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rl train --resume"), std::string::npos) << r.out;
  r = testing::run_cli("rl train --resume " + run, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("for 400 steps"), std::string::npos) << r.out;
  const auto summary = nlohmann::json::parse(read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["steps"], 400);
  EXPECT_TRUE(summary["finished"].get<bool>());
  // A finished run extends with more steps (its replay buffer grows with it).
  const auto more =
      testing::cli_json(testing::run_cli("rl train --resume " + run + " --steps 500 --json", dir));
  EXPECT_EQ(more["steps"], 500) << more;
  EXPECT_EQ(more["finished"], true) << more;
  EXPECT_TRUE(fs::exists(dir / "run" / "progress.csv"));
  EXPECT_TRUE(fs::exists(dir / "run" / "eval.csv"));

  r = testing::run_cli("rl eval --policy " + run + "/best --episodes 2 --json --render " +
                           (dir / "ep.gif").string() + " --width 32 --height 32",
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json_end = r.out.rfind('}');
  const auto doc = nlohmann::json::parse(r.out.substr(0, json_end + 1));
  EXPECT_EQ(doc["env"], "Hopper-v4");
  EXPECT_EQ(doc["returns"].size(), 2u);
  EXPECT_TRUE(fs::file_size(dir / "ep.gif") > 100);
}

TEST(IntegrationRlCli, ClearErrors) {
  testing::TempDir dir;
  auto r = testing::run_cli(
      "rl train --env Hopper-v4 --algo dqn --steps 10 --out " + (dir / "x").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown algorithm 'dqn'"), std::string::npos) << r.err;
  r = testing::run_cli("rl train --resume " + (dir / "nothing").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not an rl run directory"), std::string::npos) << r.err;
  r = testing::run_cli("rl eval --policy " + (dir / "nothing").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is neither a policy directory nor an expert of the zoo"), std::string::npos)
      << r.err;
  r = testing::run_cli("rl train --env Hopper-v4 --steps 10 --out " + (dir / "y").string() +
                           " --set sac.batch_size=0",
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("batch_size"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight
