#include "clearsight/mm/jsonl_data.h"

#include <gtest/gtest.h>

#include "clearsight/core/error.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

TEST(MmJsonlData, ReadsRecordsWithPathsRelativeToTheFile) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "img");
  testing::write_bytes(dir / "img/0001.png", "x");
  testing::write_bytes(dir / "a.wav", "x");
  testing::write_bytes(
      dir / "data.jsonl",
      "{\"prompt\": \"What colour is the circle?\", \"image\": \"img/0001.png\", "
      "\"answer\": \"red\", \"metric\": \"substring_accuracy\"}\n"
      "\n"
      "{\"prompt\": \"Frames\", \"video\": [\"img/0001.png\", \"img/0001.png\"]}\n"
      "{\"prompt\": \"Hear\", \"audio\": \"a.wav\", \"answers\": [\"a\", \"b\"]}\n");
  const auto r = load_jsonl_dataset(dir / "data.jsonl");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].image, dir / "img/0001.png");
  EXPECT_EQ(r[0].answers, std::vector<std::string>{"red"});
  EXPECT_EQ(r[0].metric, "substring_accuracy");
  EXPECT_EQ(r[1].video.size(), 2u);
  EXPECT_EQ(r[1].metric, "none");
  EXPECT_EQ(r[1].line, 3);
  EXPECT_EQ(r[2].answers.size(), 2u);
  EXPECT_EQ(r[2].metric, "exact_match");
}

TEST(MmJsonlData, ErrorsNameTheLine) {
  testing::TempDir dir;
  const auto message = [&](const std::string& text) -> std::string {
    testing::write_bytes(dir / "d.jsonl", text);
    try {
      load_jsonl_dataset(dir / "d.jsonl");
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(message("{\"prompt\": \"a\"}\n{bad\n").find("d.jsonl:2"), std::string::npos);
  EXPECT_NE(message("{\"image\": \"x.png\"}\n").find("prompt"), std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"image\": \"missing.png\"}\n").find("missing.png"),
            std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"colour\": 1}\n").find("colour"), std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"answer\": \"b\", \"metric\": \"f1\"}\n").find("f1"),
            std::string::npos);
  EXPECT_NE(message("{\"prompt\": \"a\", \"metric\": \"exact_match\"}\n").find("answer"),
            std::string::npos);
  EXPECT_NE(message("\n\n").find("no samples"), std::string::npos);
  EXPECT_THROW(load_jsonl_dataset(dir / "none.jsonl"), IoError);
}

DataRecord record(std::string metric, std::vector<std::string> answers) {
  DataRecord r;
  r.prompt = "q";
  r.metric = std::move(metric);
  r.answers = std::move(answers);
  r.line = 7;
  return r;
}

TEST(MmJsonlData, RecordMetricsScoreAsTheSuiteDoes) {
  EXPECT_EQ(score_record("Red.", record("exact_match", {"blue", "red"})), 1.0);
  EXPECT_EQ(score_record("a red one", record("exact_match", {"red"})), 0.0);
  EXPECT_EQ(score_record("a red one", record("substring_accuracy", {"green", "red"})), 1.0);
  EXPECT_EQ(score_record("a blue one", record("substring_accuracy", {"red"})), 0.0);
  EXPECT_EQ(score_record("b) seven", record("choice", {"b"})), 1.0);
  EXPECT_EQ(score_record("c) seven", record("choice", {"b"})), 0.0);
  // One substitution in four words: WER 1/4.
  EXPECT_DOUBLE_EQ(
      score_record("one two six four", record("word_recognition_rate", {"one two three four"})),
      0.75);
  // More errors than words clamps at 0.
  EXPECT_EQ(score_record("a b c d e f", record("word_recognition_rate", {"x"})), 0.0);
  EXPECT_DOUBLE_EQ(
      score_record("the red circle is left", record("bleu4", {"the red circle is left"})), 1.0);
  EXPECT_THROW(score_record("x", record("none", {})), ConfigError);
  // Per metric: means, corpus BLEU for bleu4, metric none left out.
  const std::vector<DataRecord> records = {record("exact_match", {"a"}),
                                           record("exact_match", {"b"}), record("none", {}),
                                           record("bleu4", {"the red circle is left"})};
  const auto scores = score_records({"a", "c", "whatever", "the red circle is left"}, records);
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].metric, "exact_match");
  EXPECT_DOUBLE_EQ(scores[0].score, 0.5);
  EXPECT_EQ(scores[0].samples, 2);
  EXPECT_EQ(scores[1].metric, "bleu4");
  EXPECT_DOUBLE_EQ(scores[1].score, 1.0);
  EXPECT_THROW(score_records({"a"}, records), ShapeError);
}

TEST(MmJsonlData, ExportWritesARereadableDatasetOrNothing) {
  testing::TempDir dir;
  const auto task = make_task("motion_qa");
  const auto file = export_task_jsonl(*task, Split::kTest, 3, dir / "motion");
  EXPECT_EQ(file, dir / "motion/data.jsonl");
  const auto records = load_jsonl_dataset(file);
  ASSERT_EQ(records.size(), 3u);
  for (std::int64_t i = 0; i < 3; ++i) {
    const auto s = task->sample(Split::kTest, i);
    const auto& r = records[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.prompt, s.prompt);
    EXPECT_EQ(r.answers, std::vector<std::string>{s.answer});
    EXPECT_EQ(r.metric, "substring_accuracy");
    EXPECT_EQ(r.id, "motion_qa/test/" + std::to_string(i));
    EXPECT_EQ(r.video.size(), static_cast<std::size_t>(kVideoFrames));
  }
  // Captions carry all references; the speech task its own metric; choices theirs.
  const auto captions = load_jsonl_dataset(
      export_task_jsonl(*make_task("scene_caption"), Split::kTest, 2, dir / "captions"));
  EXPECT_EQ(captions[0].metric, "bleu4");
  EXPECT_EQ(captions[0].answers, make_task("scene_caption")->sample(Split::kTest, 0).references);
  EXPECT_EQ(load_jsonl_dataset(
                export_task_jsonl(*make_task("text_choice"), Split::kTest, 1, dir / "choice"))[0]
                .metric,
            "choice");
  // An existing folder is refused and left as it was.
  EXPECT_THROW(export_task_jsonl(*task, Split::kTest, 3, dir / "motion"), ConfigError);
  EXPECT_EQ(load_jsonl_dataset(file).size(), 3u);
  EXPECT_THROW(export_task_jsonl(*task, Split::kTest, 0, dir / "none"), ConfigError);
  EXPECT_FALSE(std::filesystem::exists(dir / "none"));
}

}  // namespace
}  // namespace clearsight::mm
