// The `clearsight sensor` and `bench-sensor` commands as a user runs them.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "clearsight/core/atomic_file.h"
#include "cli_runner.h"

namespace clearsight {
namespace {

namespace fs = std::filesystem;

const char kTinyAgent[] =
    "{\"episode_steps\": 30, \"prefill\": 60, \"train_every\": 10, \"batch\": 2, \"length\": 6,"
    " \"openloop_context\": 3, \"eval_every\": 1000, \"eval_episodes\": 1, \"log_every\": 30,"
    " \"checkpoint_every\": 1000, \"model\": {\"cnn_depth\": 2, \"deter\": 8, \"stoch\": 4,"
    " \"hidden\": 8}, \"behavior\": {\"hidden\": 8, \"layers\": 1, \"horizon\": 3}}";

TEST(IntegrationSensorCli, TrainStopResumeFromThirdPersonDemos) {
  testing::TempDir dir;
  const std::string demos = (dir / "walker-3p.h5").string();
  auto r = testing::run_cli("demos collect --expert " CS_SOURCE_DIR
                            "/assets/experts/walker-walk --pixels 16 --camera 3,90,-45"
                            " --episodes 1 --max-steps 40 --out " +
                                demos,
                            dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string run = (dir / "run").string();
  const std::string tiny =
      " --set agent.episode_steps=30 --set agent.prefill=60 --set agent.train_every=10"
      " --set agent.batch=2 --set agent.length=6 --set agent.openloop_context=3"
      " --set agent.eval_every=1000 --set agent.eval_episodes=1 --set agent.log_every=30"
      " --set agent.model.cnn_depth=2 --set agent.model.deter=8 --set agent.model.stoch=4"
      " --set agent.model.hidden=8 --set agent.behavior.hidden=8 --set agent.behavior.layers=1"
      " --set agent.behavior.horizon=3";
  r = testing::run_cli("--seed 1 sensor train --env walker-walk --demos " + demos +
                           " --camera-init 3,0,-45 --image-size 16 --steps 90 --stop-after 60"
                           " --set sensor.ensemble=2 --set sensor.disc_hidden=8 --out " +
                           run + tiny,
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("sensor train --resume"), std::string::npos) << r.out;
  r = testing::run_cli("sensor train --resume " + run, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("camera gap to the expert"), std::string::npos) << r.out;
  bool row = false;
  std::istringstream lines(read_file(dir / "run" / "metrics.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    const auto m = nlohmann::json::parse(line);
    if (m.contains("eval_return")) {
      row = m.contains("camera") && m.contains("pose_gap");
    }
  }
  EXPECT_TRUE(row);
  // Bad input: no demonstrations, an unknown variant, demos of another environment.
  r = testing::run_cli("sensor train --env walker-walk --steps 10 --out " + (dir / "a").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: config error:"), std::string::npos) << r.err;
  r = testing::run_cli(
      "sensor train --variant gail --demos " + demos + " --out " + (dir / "b").string(), dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: unknown name:"), std::string::npos) << r.err;
  r = testing::run_cli("sensor train --env cheetah-run --demos " + demos + " --steps 10 --out " +
                           (dir / "c").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: config error:"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "c" / "replay"));
}

TEST(IntegrationSensorCli, BenchSensorRunsTheSweepAndReports) {
  testing::TempDir dir;
  const std::string out = (dir / "bench").string();
  const std::string cfg = (dir / "bench.json").string();
  {
    std::ofstream f(cfg);
    f << "{\"env\": \"cheetah-run\", \"expert\": \"" CS_SOURCE_DIR
         "/assets/experts/cheetah-run\", \"demo_episodes\": 1, \"image_size\": 16,"
         " \"methods\": [\"sensor\", \"expert-camera\"], \"gaps\": {\"side\": [3, 30, -30]},"
         " \"seeds\": [0], \"steps\": 70, \"overrides\": {\"sensor\": {\"ensemble\": 2,"
         " \"disc_hidden\": 8}, \"agent\": "
      << kTinyAgent << "}}";
  }
  auto r = testing::run_cli("bench-sensor --config " + cfg + " --out " + out, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| sensor |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| expert-camera |"), std::string::npos) << r.out;
  const auto results = nlohmann::json::parse(read_file(dir / "bench" / "results.json"));
  EXPECT_EQ(results["final_return"]["sensor"]["side"].size(), 1u);
  EXPECT_EQ(results["final_pose_gap"]["expert-camera"]["side"][0], 0.0);
  EXPECT_TRUE(fs::exists(dir / "bench" / "runs" / "expert-camera-expert-s0" / "summary.json"));
  // Re-running finds every run finished and only rebuilds the report.
  r = testing::run_cli("bench-sensor --config " + cfg + " --out " + out, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("bench-sensor run"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight
