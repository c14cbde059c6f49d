#include "clearsight/miner/pipeline.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::miner {
namespace {

namespace fs = std::filesystem;

// A task exported to JSONL scores exactly as the task: the same samples, the same sums.
TEST(MinerPipeline, DatasetOfAnExportedTaskScoresAsTheTask) {
  testing::TempDir dir;
  auto loaded = mm::load_model_with_tokenizer(
      (fs::path(CS_SOURCE_DIR) / "assets/models/cs-tiny-vl").string());
  const auto task = mm::make_task("scene_vqa");
  const auto file = mm::export_task_jsonl(*task, mm::Split::kTest, 5, dir / "vqa");
  ScoreRun run;
  run.split = mm::Split::kTest;
  run.samples = 5;
  run.batch_size = 2;
  const auto want = score_task(*loaded.model, loaded.tokenizer, *task, run);
  const auto got =
      score_dataset(*loaded.model, loaded.tokenizer, mm::load_jsonl_dataset(file), "vqa", run);
  EXPECT_EQ(got.dataset(), "vqa");
  EXPECT_EQ(got.samples(), 5);
  EXPECT_TRUE(torch::equal(got.counts(), want.counts()));
  EXPECT_TRUE(torch::allclose(got.mean(), want.mean(), 1e-6, 1e-7));
  // A shard takes every n-th record.
  run.shard = 1;
  run.shards = 2;
  EXPECT_EQ(score_dataset(*loaded.model, loaded.tokenizer, mm::load_jsonl_dataset(file), "vqa", run)
                .samples(),
            2);
}

TEST(MinerPipeline, NothingToScoreIsAnErrorNotAnEmptyFile) {
  ScoreRun run;
  run.samples = 0;
  EXPECT_THROW(samples_to_score(run, 10), ConfigError);
  run.samples = 5;
  EXPECT_EQ(samples_to_score(run, 10), 5);
  EXPECT_EQ(samples_to_score(run, 3), 3);
  run.shard = 3;
  run.shards = 4;
  EXPECT_THROW(samples_to_score(run, 3), ConfigError);  // Shard 3 of 3 samples: none.
  EXPECT_EQ(samples_to_score(run, 4), 4);
  run.shard = 4;
  EXPECT_THROW(samples_to_score(run, 10), ConfigError);
}

}  // namespace
}  // namespace clearsight::miner
