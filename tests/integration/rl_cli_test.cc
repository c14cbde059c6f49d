// The `clearsight rl` commands as a user runs them: train, stop, resume, evaluate, render.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/strings.h"
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

// A resume keeps the run's settings: a changed environment, algorithm or network is refused with
// both values named, whether asked with --resume or by repeating --out; the step budget may grow.
TEST(IntegrationRlCli, ResumeRefusesChangedSettings) {
  testing::TempDir dir;
  const std::string run = (dir / "r1").string();
  auto r = testing::run_cli(
      "--seed 1 rl train --env Hopper-v4 --steps 200 --stop-after 100 --out " + run + kTiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string config_before = read_file(dir / "r1" / "config.json");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"rl train --resume " + run + " --env Walker2d-v4", "rl.env is \"Hopper-v4\" in the run"},
      {"rl train --out " + run + " --env Hopper-v4 --algo ppo --steps 200" + kTiny,
       "rl.algo is \"sac\" in the run, \"ppo\" was asked"},
      {"rl train --resume " + run + " --set sac.batch_size=32", "rl.sac.batch_size is 16"},
      {"--seed 2 rl train --resume " + run, "rl.seed is 1"},
  };
  for (const auto& [command, expected] : refused) {
    r = testing::run_cli(command, dir);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_NE(r.err.find("clearsight: config error: resume conflict"), std::string::npos)
        << command << "\n"
        << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << command << "\n" << r.err;
  }
  EXPECT_EQ(read_file(dir / "r1" / "config.json"), config_before);
  // The same command again, and a larger budget, continue.
  r = testing::run_cli("--seed 1 rl train --env Hopper-v4 --steps 200 --out " + run + kTiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto more =
      testing::cli_json(testing::run_cli("rl train --resume " + run + " --steps 300 --json", dir));
  EXPECT_EQ(more["steps"], 300) << more;
  // Every step is logged once: the rows a resumed run repeats are not doubled.
  std::vector<std::int64_t> steps;
  for (const auto& line : split(read_file(dir / "r1" / "metrics.jsonl"), '\n')) {
    if (line.empty()) continue;
    const auto row = nlohmann::json::parse(line);
    if (!row.contains("eval_return")) steps.push_back(row["step"].get<std::int64_t>());
  }
  EXPECT_TRUE(std::is_sorted(steps.begin(), steps.end()));
  EXPECT_EQ(std::adjacent_find(steps.begin(), steps.end()), steps.end());
}

// SIGTERM (a scheduler's notice before it kills a job) mid-run: the run stops at its next step,
// writes its checkpoint and summary, exits 143 saying so, and continues from there on resume.
TEST(IntegrationRlCli, SigtermStopsAtACheckpointAndResumes) {
  testing::TempDir dir;
  const std::string run = (dir / "r").string();
  const std::string command = std::string("timeout -s TERM --preserve-status 4 ") + CS_CLI_PATH +
                              " --seed 1 rl train --env Hopper-v4 --steps 100000000 --out " + run +
                              kTiny + " >" + (dir / "out.txt").string() + " 2>" +
                              (dir / "err.txt").string();
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  const std::string err = read_file(dir / "err.txt");
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM) << err;
  EXPECT_NE(err.find("clearsight: stopped by SIGTERM after writing a checkpoint"),
            std::string::npos)
      << err;
  EXPECT_NE(read_file(dir / "out.txt").find("rl train --resume"), std::string::npos);
  const auto summary = nlohmann::json::parse(read_file(dir / "r" / "summary.json"));
  EXPECT_FALSE(summary["finished"].get<bool>());
  const auto stopped = summary["steps"].get<std::int64_t>();
  EXPECT_GT(stopped, 0);
  const auto state =
      nlohmann::json::parse(read_file(dir / "r" / "checkpoint" / "trainer_state.json"));
  EXPECT_EQ(state["step"].get<std::int64_t>(), stopped) << state;
  const auto more = testing::cli_json(
      testing::run_cli("rl train --resume " + run + " --stop-after 100 --json", dir));
  EXPECT_EQ(more["steps"].get<std::int64_t>(), stopped + 100) << more;
}

// Run folders under non-ASCII names and behind symbolic links work like any other; a folder
// that cannot be written is one clear error (skipped as root, whom permissions do not stop).
TEST(IntegrationRlCli, NonAsciiAndSymlinkedFolders) {
  testing::TempDir dir;
  const fs::path runs = dir.path() / "läufe-日本";
  fs::create_directories(runs);
  fs::create_directory_symlink(runs, dir.path() / "link");
  const std::string run = (dir.path() / "link" / "r").string();
  auto r = testing::run_cli(
      "--seed 1 rl train --env Hopper-v4 --steps 200 --out '" + run + "'" + kTiny, dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(runs / "r" / "summary.json"));
  r = testing::run_cli("rl eval --policy '" + (runs / "r" / "best").string() + "' --episodes 1",
                       dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(IntegrationRlCli, ReadOnlyFolderIsOneClearError) {
  if (geteuid() == 0) GTEST_SKIP() << "root writes into read-only folders";
  testing::TempDir dir;
  fs::create_directory(dir.path() / "ro");
  fs::permissions(dir.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  const auto r = testing::run_cli(
      "rl train --env Hopper-v4 --steps 200 --out " + (dir.path() / "ro" / "r").string() + kTiny,
      dir);
  fs::permissions(dir.path() / "ro", fs::perms::owner_all);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("clearsight: io error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

}  // namespace
}  // namespace clearsight
