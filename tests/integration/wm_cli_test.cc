// The `clearsight wm` commands as a user runs them: train from pixels, stop, resume, evaluate,
// and the clear one-line errors of bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

namespace fs = std::filesystem;

const char kTiny[] =
    " --image-size 16 --set episode_steps=40 --set prefill=80 --set train_every=10"
    " --set batch=2 --set length=8 --set openloop_context=3 --set eval_every=100"
    " --set eval_episodes=1 --set checkpoint_every=1000 --set log_every=40"
    " --set model.cnn_depth=2 --set model.deter=16 --set model.stoch=4 --set model.hidden=16"
    " --set behavior.hidden=16 --set behavior.layers=1 --set behavior.horizon=4";

TEST(IntegrationWmCli, TrainStopResumeEval) {
  testing::TempDir dir;
  const std::string run = (dir / "run").string();
  auto r = testing::run_cli(
      "--seed 2 wm train --env cheetah-run --steps 200 --stop-after 120 --out " + run + kTiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("wm train --resume"), std::string::npos) << r.out;
  r = testing::run_cli("wm train --resume " + run, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("for 200 steps"), std::string::npos) << r.out;
  const auto summary = nlohmann::json::parse(read_file(dir / "run" / "summary.json"));
  EXPECT_EQ(summary["steps"], 200);
  EXPECT_TRUE(summary["finished"].get<bool>());
  bool model_row = false, eval_row = false;
  std::istringstream lines(read_file(dir / "run" / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto m = nlohmann::json::parse(line);
    model_row |= m.contains("image_loss") && m.contains("reward_loss") && m.contains("kl");
    eval_row |= m.contains("eval_return");
  }
  EXPECT_TRUE(model_row && eval_row);
  EXPECT_TRUE(fs::exists(dir / "run" / "videos" / "openloop-00000200.gif"));

  r = testing::run_cli("wm eval --run " + run + " --episodes 2 --json", dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["env"], "cheetah-run");
  EXPECT_EQ(doc["returns"].size(), 2u);
}

TEST(IntegrationWmCli, ThirdPersonPixelDemosJoinTheReplay) {
  testing::TempDir dir;
  const std::string demos = (dir / "walk.h5").string();
  auto r =
      testing::run_cli("demos collect --expert " CS_SOURCE_DIR
                       "/assets/experts/walker-walk --pixels 16"
                       " --camera 3,90,-45 --camera 3,0,-20 --episodes 2 --max-steps 30 --out " +
                           demos,
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string run = (dir / "run").string();
  r = testing::run_cli("--seed 1 wm train --env walker-walk --steps 100 --demos " + demos +
                           " --set demo_view=1 --out " + run + kTiny,
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The two demonstration episodes are the replay's first files, marked as demonstrations.
  const auto first = read_file(dir / "run" / "replay" / "episode-000000.safetensors");
  EXPECT_NE(first.find("demo:"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir / "run" / "replay" / "episode-000001.safetensors"));
  r = testing::run_cli("wm train --env walker-walk --steps 10 --demos " + demos +
                           " --set demo_view=2 --out " + (dir / "bad").string() + kTiny,
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: config error:"), std::string::npos) << r.err;
}

TEST(IntegrationWmCli, BadInputGivesOneLineErrors) {
  testing::TempDir dir;
  struct Case {
    std::string args, kind;
  };
  const std::vector<Case> cases{
      {"wm train --env walker-walk --image-size 40 --steps 10 --out " + (dir / "a").string(),
       "clearsight: config error:"},
      {"wm train --preset dreamer-v9 --steps 10 --out " + (dir / "b").string(),
       "clearsight: unknown name:"},
      {"wm train --env walker-walk --steps 10 --demos " + (dir / "none.h5").string() + " --out " +
           (dir / "c").string(),
       "clearsight: io error:"},
      {"wm eval --run " + (dir / "nothing").string(), "clearsight: io error:"},
      {"wm train --resume " + (dir / "nothing").string(), "clearsight: io error:"},
  };
  for (const auto& c : cases) {
    const auto r = testing::run_cli(c.args, dir);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.err;
    EXPECT_FALSE(r.crashed) << c.args;
    EXPECT_NE(r.err.find(c.kind), std::string::npos) << c.args << "\n" << r.err;
  }
}

}  // namespace
}  // namespace clearsight
