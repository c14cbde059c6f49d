#include "clearsight/mm/trainer.h"

#include <gtest/gtest.h>

#include "clearsight/core/atomic_file.h"
#include "clearsight/core/error.h"
#include "clearsight/mm/data.h"
#include "test_util.h"

namespace clearsight::mm {
namespace {

TrainConfig tiny_config(std::int64_t steps) {
  TrainConfig c;
  c.preset = "cs-tiny-vl";
  c.tasks = {"text_choice", "scene_vqa"};
  c.steps = steps;
  c.batch_size = 4;
  c.warmup_steps = 2;
  c.text_steps = 0;
  c.eval_every = 1000;
  c.eval_samples = 2;
  c.checkpoint_every = 3;
  return c;
}

// Every parameter of the two saved models is bit-identical.
void expect_same_weights(const std::filesystem::path& a_dir, const std::filesystem::path& b_dir) {
  const auto a = load_model(a_dir);
  const auto b = load_model(b_dir);
  for (const auto& p : a->named_parameters()) {
    EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()])) << p.key();
  }
}

TEST(MmTrainer, CollateMasksEverythingButTheAnswer) {
  const auto task = make_task("scene_vqa");
  const auto tokenizer = tokenizer_for_tasks({"scene_vqa"}, 0);
  std::vector<Sample> samples = {task->sample(Split::kTrain, 0), task->sample(Split::kTrain, 1)};
  const MediaTokens counts;
  const auto batch = collate(samples, tokenizer, counts, 32000, /*with_answers=*/true);
  EXPECT_EQ(batch.inputs.images.size(0), 2);
  for (int i = 0; i < 2; ++i) {
    const auto labels = batch.labels[i];
    const auto answer = tokenizer.encode(samples[i].answer);
    const auto n_labels = (labels != kIgnoreLabel).sum().item<std::int64_t>();
    EXPECT_EQ(n_labels, static_cast<std::int64_t>(answer.size()) + 1);  // + <|im_end|>.
    // The last label is <|im_end|>, predicted from the last answer token.
    const auto prompt_len = static_cast<std::int64_t>(batch.prompts[i].size());
    EXPECT_EQ(labels[prompt_len - 1].item<std::int64_t>(), answer.front());
    EXPECT_EQ(
        labels[prompt_len - 1 + static_cast<std::int64_t>(answer.size())].item<std::int64_t>(),
        tokenizer.im_end_id());
  }
  const auto blank = collate(samples, tokenizer, counts, 32000, true, /*blank_media=*/true);
  EXPECT_EQ(blank.inputs.images.min().item<int>(), 128);
  EXPECT_THROW(pad_audio(torch::zeros({40000}), 32000), ShapeError);
}

TEST(MmTrainer, ResumeAfterAKillContinuesExactly) {
  testing::TempDir dir;
  train(tiny_config(6), dir / "straight");
  // Interrupted run: 3 steps (checkpoint at 3), then a rerun with the full budget resumes.
  auto first = tiny_config(6);
  first.stop_after = 3;
  EXPECT_TRUE(train(first, dir / "resumed").empty());
  EXPECT_FALSE(std::filesystem::exists(dir / "resumed" / "model"));
  train(tiny_config(6), dir / "resumed");
  expect_same_weights(dir / "straight" / "model", dir / "resumed" / "model");
  const auto summary = nlohmann::json::parse(read_file(dir / "resumed" / "summary.json"));
  EXPECT_EQ(summary["steps"], 6);
  EXPECT_TRUE(summary["validation"].contains("scene_vqa"));
  EXPECT_TRUE(std::filesystem::exists(dir / "resumed" / "model" / "vocab.txt"));
  EXPECT_FALSE(std::filesystem::exists(dir / "resumed" / "checkpoint-new"));
}

TEST(MmTrainer, TextStageThenMixResumesExactlyAcrossTheBoundary) {
  testing::TempDir dir;
  auto config = [] {
    auto c = tiny_config(3);
    c.text_steps = 3;
    c.text_batch_size = 6;
    c.text_tasks = {"text_locate", "text_answer"};
    return c;
  };
  train(config(), dir / "straight");
  auto first = config();
  first.stop_after = 2;  // Stops inside the text stage; the second leg crosses into the mix.
  EXPECT_TRUE(train(first, dir / "resumed").empty());
  const auto results = train(config(), dir / "resumed");
  ASSERT_EQ(results.size(), 2u);  // The final validation covers the mix's tasks only.
  EXPECT_EQ(results[0].task, "text_choice");
  expect_same_weights(dir / "straight" / "model", dir / "resumed" / "model");
  const auto summary = nlohmann::json::parse(read_file(dir / "resumed" / "summary.json"));
  EXPECT_EQ(summary["steps"], 6);
  // The vocabulary covers the text stage's words too ("say the word").
  const auto vocab = Tokenizer::load(dir / "resumed" / "model" / "vocab.txt");
  EXPECT_NO_THROW(vocab.id("say"));
}

// evaluate's score is its predictions scored by the metric's definition, computed here apart
// from the task's own score(): substring containment for scene_vqa, the first letter for
// text_choice; and the trained model is far above chance on both.
TEST(MmTrainer, EvaluateScoresItsPredictionsByTheMetricsDefinition) {
  auto loaded = load_model_with_tokenizer(std::string(CS_SOURCE_DIR) + "/assets/models/cs-tiny-vl");
  EvalOptions options;
  options.samples = 16;
  const auto vqa_task = make_task("scene_vqa");
  const auto vqa = evaluate(*loaded.model, loaded.tokenizer, *vqa_task, options);
  ASSERT_EQ(vqa.predictions.size(), 16u);
  double hits = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    const auto& p = vqa.predictions[i];
    const auto& a = vqa.answers[i];
    // Whole-word containment of the (lower-case, single-word) answer.
    const std::string padded = " " + p + " ";
    hits += padded.find(" " + a + " ") != std::string::npos ? 1.0 : 0.0;
  }
  EXPECT_DOUBLE_EQ(vqa.score, hits / 16);
  EXPECT_GT(vqa.score, vqa.chance);  // 0.560 against 0.237 over 200 samples (RESULTS).
  const auto choice_task = make_task("text_choice");
  const auto choice = evaluate(*loaded.model, loaded.tokenizer, *choice_task, options);
  double right = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    right += !choice.predictions[i].empty() && choice.predictions[i][0] == choice.answers[i][0];
  }
  EXPECT_DOUBLE_EQ(choice.score, right / 16);
}

TEST(MmTrainer, BadConfigsAreClearErrors) {
  auto c = tiny_config(5);
  c.tasks = {"scene_vq"};
  EXPECT_THROW(c.validate(), UnknownNameError);
  c = tiny_config(0);
  EXPECT_THROW(c.validate(), ConfigError);
  c = tiny_config(5);
  c.preset = "cs-huge";
  EXPECT_THROW(c.validate(), UnknownNameError);
  c = tiny_config(5);
  c.text_steps = 10;
  c.text_tasks = {"scene_vqa"};  // Not text-only.
  EXPECT_THROW(c.validate(), ConfigError);
  c.text_tasks = {"text_choice"};
  c.text_batch_size = 0;
  EXPECT_THROW(c.validate(), ConfigError);
}

}  // namespace
}  // namespace clearsight::mm
