#include "clearsight/mm/jsonl_eval.h"

#include <gtest/gtest.h>

#include <cmath>

#include "clearsight/core/audio.h"
#include "clearsight/core/error.h"
#include "clearsight/core/image.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

namespace fs = std::filesystem;

const fs::path kModels = fs::path(CS_SOURCE_DIR) / "assets/models";

// Exporting a task and evaluating the file gives what evaluating the task gives: the same
// predictions (PNG is lossless) and the same score.
TEST(MmJsonlEval, ExportedTaskScoresAsTheTaskItself) {
  testing::TempDir dir;
  auto loaded = load_model_with_tokenizer((kModels / "cs-tiny-vl").string());
  for (const char* name : {"scene_vqa", "text_choice"}) {
    const auto task = make_task(name);
    const auto file = export_task_jsonl(*task, Split::kTest, 12, dir / name);
    EvalOptions direct;
    direct.samples = 12;
    const auto want = evaluate(*loaded.model, loaded.tokenizer, *task, direct);
    RecordEvalOptions options;
    const auto got =
        evaluate_records(*loaded.model, loaded.tokenizer, load_jsonl_dataset(file), options);
    EXPECT_EQ(got.predictions, want.predictions) << name;
    ASSERT_EQ(got.metrics.size(), 1u) << name;
    EXPECT_DOUBLE_EQ(got.metrics[0].score, want.score) << name;
    EXPECT_EQ(got.metrics[0].samples, 12) << name;
    ASSERT_EQ(got.scores.size(), 12u);
    double sum = 0;
    for (const auto s : got.scores) sum += s;
    EXPECT_DOUBLE_EQ(sum / 12, want.score) << name;
  }
}

TEST(MmJsonlEval, AudioRecordsAndTheSampleLimit) {
  testing::TempDir dir;
  auto loaded = load_model_with_tokenizer((kModels / "cs-tiny-audio").string());
  const auto file = export_task_jsonl(*make_task("sound_event"), Split::kTest, 6, dir / "sounds");
  const auto records = load_jsonl_dataset(file);
  RecordEvalOptions options;
  options.samples = 4;
  options.batch_size = 3;
  const auto got = evaluate_records(*loaded.model, loaded.tokenizer, records, options);
  EXPECT_EQ(got.records.size(), 4u);
  EXPECT_EQ(got.predictions.size(), 4u);
  ASSERT_EQ(got.metrics.size(), 1u);
  EXPECT_EQ(got.metrics[0].metric, "substring_accuracy");
  EXPECT_GE(got.metrics[0].score, 0.0);
  EXPECT_LE(got.metrics[0].score, 1.0);
  // The WAV round trip keeps the waveform to 16-bit precision.
  const auto sample = record_sample(records[0]);
  const auto original = make_task("sound_event")->sample(Split::kTest, 0).audio;
  ASSERT_EQ(sample.audio.sizes(), original.sizes());
  EXPECT_LT((sample.audio - original).abs().max().item<double>(), 1.0 / 16384);
}

TEST(MmJsonlEval, MediaOfTheWrongSizeNameTheLine) {
  testing::TempDir dir;
  std::vector<std::uint8_t> rgb(64 * 64 * 3, 7);
  write_png(dir / "big.png", rgb, 64, 64);
  write_wav(dir / "long.wav", std::vector<float>(3 * kSampleRate, 0.1f), kSampleRate);
  testing::write_bytes(dir / "data.jsonl",
                       "{\"prompt\": \"what color\", \"image\": \"big.png\"}\n"
                       "{\"prompt\": \"what sound\", \"audio\": \"long.wav\"}\n"
                       "{\"prompt\": \"frames\", \"video\": [\"big.png\"]}\n");
  const auto records = load_jsonl_dataset(dir / "data.jsonl");
  try {
    record_sample(records[0]);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("line 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("64 x 64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(record_sample(records[1]), ShapeError);
  EXPECT_THROW(record_sample(records[2]), ShapeError);
  auto loaded = load_model_with_tokenizer((kModels / "cs-tiny-vl").string());
  RecordEvalOptions options;
  options.samples = 0;
  EXPECT_THROW(evaluate_records(*loaded.model, loaded.tokenizer, records, options), ConfigError);
}

}  // namespace
}  // namespace clearsight::mm
