#include "clearsight/core/run_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight {
namespace {

TEST(CoreRunDir, CreateUsesDateAndNameAndNeverReuses) {
  testing::TempDir root;
  const auto a = RunDir::create(root.path(), "sac");
  const auto b = RunDir::create(root.path(), "sac");
  EXPECT_EQ(a.path().filename().string(), today_string() + "-sac");
  EXPECT_EQ(b.path().filename().string(), today_string() + "-sac-1");
  EXPECT_THROW(RunDir::create(root.path(), "a/b"), ConfigError);
  EXPECT_THROW(RunDir::create(root.path(), ""), ConfigError);
}

TEST(CoreRunDir, ConfigAndMetricsRoundTrip) {
  testing::TempDir root;
  const auto run = RunDir::at(root / "run");
  run.write_config({{"lr", 0.001}, {"env", "Hopper-v4"}});
  EXPECT_EQ(run.read_config()["env"], "Hopper-v4");
  run.log_metrics({{"step", 1}, {"loss", 0.5}});
  run.log_metrics({{"step", 2}, {"loss", 0.25}});
  const auto metrics = run.read_metrics();
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[1]["loss"], 0.25);
  EXPECT_THROW(run.log_metrics(nlohmann::json::array()), ConfigError);
  run.write_json("nested/summary.json", {{"x", 1}});
  EXPECT_EQ(nlohmann::json::parse(read_file(run.path() / "nested/summary.json"))["x"], 1);
}

// Train and eval rows also land in SB3-style CSVs; a new key widens the header and keeps the rows.
TEST(CoreRunDir, MetricsAreAlsoProgressAndEvalCsv) {
  testing::TempDir root;
  const auto run = RunDir::at(root / "run");
  run.log_metrics({{"step", 1}, {"loss", 0.5}});
  run.log_metrics({{"step", 2}, {"loss", 0.25}, {"note", "a, \"b\""}});
  run.log_metrics({{"step", 2}, {"eval_return", 10.5}});
  run.log_metrics({{"step", 3}, {"loss", 0.125}});
  EXPECT_EQ(read_file(run.path() / "progress.csv"),
            "loss,step,note\n0.5,1,\n0.25,2,\"a, \"\"b\"\"\"\n0.125,3,\n");
  EXPECT_EQ(read_file(run.path() / "eval.csv"), "eval_return,step\n10.5,2\n");
  EXPECT_EQ(run.read_metrics().size(), 4u);
}

TEST(CoreRunDir, TornLastMetricsLineIsSkippedButCorruptMiddleIsAnError) {
  testing::TempDir root;
  const auto run = RunDir::at(root / "run");
  run.log_metrics({{"step", 1}});
  {
    std::ofstream out(run.path() / "metrics.jsonl", std::ios::app);
    out << "{\"step\": 2, \"lo";  // A kill in the middle of a write.
  }
  EXPECT_EQ(run.read_metrics().size(), 1u);
  {
    std::ofstream out(run.path() / "metrics.jsonl", std::ios::app);
    out << "\n{\"step\": 3}\n";
  }
  EXPECT_THROW(run.read_metrics(), FormatError);
}

TEST(CoreRunDir, OpenRequiresExistingAndBadConfigIsFormatError) {
  testing::TempDir root;
  EXPECT_THROW(RunDir::open(root / "missing"), IoError);
  const auto run = RunDir::at(root / "r");
  testing::write_bytes(run.path() / "config.json", "{not json");
  EXPECT_THROW(run.read_config(), FormatError);
  EXPECT_NO_THROW(RunDir::open(root / "r"));
}

// A run resumed from its step-2 checkpoint after a kill at step 3 logs step 3 again: the rows
// written after the checkpoint go first, from the jsonl and both CSVs, and a torn line with them.
TEST(CoreRunDir, CutMetricsAfterDropsRowsPastTheCheckpoint) {
  testing::TempDir root;
  const auto run = RunDir::at(root / "run");
  run.log_metrics({{"step", 1}, {"loss", 0.5}});
  run.log_metrics({{"step", 2}, {"loss", 0.25}});
  run.log_metrics({{"step", 2}, {"eval_return", 10.5}});
  run.log_metrics({{"step", 3}, {"loss", 0.125}, {"late", 1}});
  run.log_metrics({{"step", 3}, {"eval_return", 11.5}});
  {
    std::ofstream out(run.path() / "metrics.jsonl", std::ios::app);
    out << "{\"step\": 4, \"lo";
  }
  EXPECT_EQ(run.cut_metrics_after(2), 2u);
  EXPECT_EQ(run.read_metrics().size(), 3u);
  EXPECT_EQ(read_file(run.path() / "progress.csv"), "loss,step\n0.5,1\n0.25,2\n");
  EXPECT_EQ(read_file(run.path() / "eval.csv"), "eval_return,step\n10.5,2\n");
  run.log_metrics({{"step", 3}, {"loss", 0.375}});
  EXPECT_EQ(run.read_metrics().size(), 4u);
  EXPECT_EQ(read_file(run.path() / "progress.csv"), "loss,step\n0.5,1\n0.25,2\n0.375,3\n");
  EXPECT_EQ(run.cut_metrics_after(0), 4u);
  EXPECT_TRUE(run.read_metrics().empty());
  EXPECT_FALSE(std::filesystem::exists(run.path() / "eval.csv"));
  EXPECT_EQ(testing::count_temp_files(run.path()), 0);
  const auto fresh = RunDir::at(root / "fresh");
  EXPECT_EQ(fresh.cut_metrics_after(5), 0u);
}

}  // namespace
}  // namespace clearsight

namespace clearsight {
namespace {

// Within one process, every RunDir of a directory shares its lock (copies and nested users);
// another process is refused (tests/integration/cli_test.cc: IntegrationCli.RunFolderLock).
TEST(CoreRunDir, OneProcessMayHoldARunDirectoryMoreThanOnce) {
  testing::TempDir dir;
  const auto run_dir = dir / "run";
  const auto run = RunDir::at(run_dir);
  EXPECT_NO_THROW(RunDir::at(run_dir));
  EXPECT_NO_THROW(RunDir::open(run_dir));
  const auto pid = read_file(run_dir / ".lock");
  EXPECT_EQ(pid, std::to_string(::getpid()) + "\n");
}

}  // namespace
}  // namespace clearsight
