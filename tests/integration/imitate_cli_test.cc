// `clearsight imitate` as a user runs it: demonstrations in, a resumable run directory out.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "browser.h"
#include "clearsight/core/atomic_file.h"
#include "cli_runner.h"
#include "test_util.h"

namespace clearsight {
namespace {

namespace fs = std::filesystem;

TEST(IntegrationImitateCli, BcGailAndDidaOnCollectedDemos) {
  testing::TempDir dir;
  const std::string demos = (dir / "demos.h5").string();
  auto r = testing::run_cli(
      "--seed 3 demos collect --expert random --env Hopper-v4 --episodes 4 "
      "--noise gauss:0.2 --out " +
          demos,
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = testing::run_cli("imitate --algo bc --env Hopper-v4 --demos " + demos + " --steps 50 --out " +
                           (dir / "bc").string() +
                           " --set 'hidden=[16]' --set eval_every=50 --set eval_episodes=1",
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "bc" / "policy" / "policy.json"));

  const std::string tiny =
      " --set eval_every=100 --set eval_episodes=1 --set checkpoint_every=100 --set log_every=50"
      " --set 'sac.hidden=[16]' --set sac.batch_size=16 --set sac.learning_starts=50"
      " --set 'disc.hidden=[16]' --set disc.batch_size=16";
  for (const std::string algo : {"gail", "dida"}) {
    const std::string run = (dir / algo).string();
    r = testing::run_cli("imitate --algo " + algo + " --env Hopper-v4 --demos " + demos +
                             " --steps 200 --stop-after 100 --out " + run + tiny,
                         dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("imitate --resume"), std::string::npos) << r.out;
    r = testing::run_cli("imitate --resume " + run, dir);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto summary = nlohmann::json::parse(read_file(fs::path(run) / "summary.json"));
    EXPECT_EQ(summary["steps"], 200) << algo;
    EXPECT_EQ(summary["demos_noise"]["spec"], "gauss:0.2") << algo;
    EXPECT_TRUE(summary.contains("best_eval_normalized")) << algo;
  }

  r = testing::run_cli("imitate --algo dida --env Swimmer-v4 --demos " + demos +
                           " --steps 10 "
                           "--out " +
                           (dir / "wrong").string(),
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Hopper-v4"), std::string::npos) << r.err;
}

// A resumed imitation run learns from the demonstrations it began with: a file re-collected at
// the same path, or another algorithm, is refused, and the run folder is left as it was.
TEST(IntegrationImitateCli, ResumeRefusesChangedDemosAndSettings) {
  testing::TempDir dir;
  const std::string demos = (dir / "demos.h5").string();
  const std::string collect =
      " demos collect --expert random --env Hopper-v4 --episodes 2 --out " + demos;
  auto r = testing::run_cli("--seed 3" + collect, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string run = (dir / "gail").string();
  const std::string tiny =
      " --set eval_every=100 --set eval_episodes=1 --set checkpoint_every=100 --set log_every=50"
      " --set 'sac.hidden=[16]' --set sac.batch_size=16 --set sac.learning_starts=50"
      " --set 'disc.hidden=[16]' --set disc.batch_size=16";
  r = testing::run_cli("imitate --algo gail --env Hopper-v4 --demos " + demos +
                           " --steps 200 --stop-after 100 --out " + run + tiny,
                       dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto config = nlohmann::json::parse(read_file(fs::path(run) / "config.json"));
  EXPECT_EQ(config["demos_hash"].get<std::string>().rfind("xxh3-128:", 0), 0u) << config;
  r = testing::run_cli("imitate --resume " + run + " --algo dida", dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("imitate.algo is \"gail\" in the run, \"dida\" was asked"),
            std::string::npos)
      << r.err;
  fs::remove(demos);
  r = testing::run_cli("--seed 4" + collect, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string before = read_file(fs::path(run) / "config.json");
  r = testing::run_cli("imitate --resume " + run, dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("clearsight: config error: resume conflict"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("has changed since the run started"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(fs::path(run) / "config.json"), before);
}

TEST(IntegrationImitateCli, BenchIlSweepResumesAndReports) {
  testing::TempDir dir;
  testing::write_bytes(dir / "sweep.json", R"({
    "env": "Swimmer-v4", "expert": ")" + std::string(CS_SOURCE_DIR) +
                                               R"(/assets/experts/swimmer",
    "episodes": 1, "noise": ["none", "gauss:0.3"], "algos": ["bc", "gail"], "seeds": [0],
    "steps": 120, "bc_steps": 20,
    "overrides": {"bc": {"hidden": [8], "eval_every": 20, "eval_episodes": 1},
                  "gail": {"sac": {"hidden": [8], "batch_size": 8, "learning_starts": 60},
                           "disc": {"hidden": [8], "batch_size": 8}, "eval_every": 120,
                           "eval_episodes": 1}}})");
  const std::string out = (dir / "sweep").string();
  auto r =
      testing::run_cli("bench-il --config " + (dir / "sweep.json").string() + " --out " + out, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("| gail |"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(fs::path(out) / "runs" / "gail-gauss_0.3-s0" / "summary.json"));
  const auto results = nlohmann::json::parse(read_file(fs::path(out) / "results.json"));
  EXPECT_EQ(results["final"]["bc"]["none"].size(), 1u);
  EXPECT_EQ(results["best"]["gail"]["gauss:0.3"].size(), 1u);
  // The HTML report and its learning curves (one per noise level) render in Chromium.
  const auto html = fs::path(out) / "report.html";
  ASSERT_TRUE(fs::exists(html));
  EXPECT_EQ(testing::expect_report_renders(html), 2);
  // A second invocation finds every run finished and only rebuilds the report.
  r = testing::run_cli(
      "bench-il --config " + (dir / "sweep.json").string() + " --out " + out + " --report-only",
      dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = testing::run_cli("bench-il --config " + (dir / "sweep.json").string() + " --out " + out +
                           " --set 'algos=[\"bc\",\"airl\"]'",
                       dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown algorithm 'airl'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace clearsight
