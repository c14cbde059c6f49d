#include "clearsight/interp/examples.h"

#include <gtest/gtest.h>

#include <set>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"

namespace clearsight::interp {
namespace {

TEST(InterpExamples, GroupsPartitionThePrompt) {
  auto loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto task = mm::make_task("scene_vqa");
  const auto samples = load_samples(*task, mm::Split::kTest, 0, 3);
  const auto ex = prepare_examples(samples, loaded.tokenizer, *loaded.model);
  for (std::int64_t i = 0; i < ex.size(); ++i) {
    std::set<std::int64_t> seen;
    for (const auto* g : {"text", "special", "image", "video", "audio"}) {
      for (auto p : ex.positions(i, g)) EXPECT_TRUE(seen.insert(p).second) << g << " " << p;
    }
    EXPECT_EQ(static_cast<std::int64_t>(seen.size()), ex.prompt_lengths[i]);
    EXPECT_EQ(ex.positions(i, "image").size(), 16u);
    // The question is exactly the user's words; the last position is "assistant".
    std::string question;
    for (auto p : ex.positions(i, "question")) {
      question += (question.empty() ? "" : " ") + ex.tokens[i][p];
    }
    EXPECT_EQ(question, samples[i].prompt);
    EXPECT_EQ(ex.tokens[i][ex.last(i)], "assistant");
    // The answer target: its tokens, predicted from the last prompt position on.
    ASSERT_FALSE(ex.target_tokens[i].empty());
    EXPECT_EQ(ex.target_tokens[i][0].first, ex.last(i));
    EXPECT_EQ(loaded.tokenizer.token(ex.target_tokens[i][0].second),
              loaded.tokenizer.token(loaded.tokenizer.encode(samples[i].answer)[0]));
  }
  EXPECT_THROW(ex.positions(0, "imgae"), UnknownNameError);
}

TEST(InterpExamples, TargetTokenMustBeInTheVocabulary) {
  auto loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto samples = load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, 0, 1);
  Target t;
  t.kind = "token";
  t.token = "zzzunknownword";
  EXPECT_THROW(prepare_examples(samples, loaded.tokenizer, *loaded.model, t), UnknownNameError);
  t.kind = "bogus";
  EXPECT_THROW(prepare_examples(samples, loaded.tokenizer, *loaded.model, t), UnknownNameError);
  t.kind = "token";
  t.token = "red";
  const auto ex = prepare_examples(samples, loaded.tokenizer, *loaded.model, t);
  ASSERT_EQ(ex.target_tokens[0].size(), 1u);
  EXPECT_EQ(ex.target_tokens[0][0].second, loaded.tokenizer.id("red"));
}

TEST(InterpExamples, ForwardWithCleanInputsEqualsTheModel) {
  for (const auto* name : {"cs-tiny-vl", "cs-tiny-audio"}) {
    auto loaded = mm::load_model_with_tokenizer(name);
    const auto task =
        mm::make_task(std::string(name) == "cs-tiny-vl" ? "motion_qa" : "sound_event");
    const auto samples = load_samples(*task, mm::Split::kTest, 0, 2);
    const auto ex = prepare_examples(samples, loaded.tokenizer, *loaded.model);
    torch::NoGradGuard no_grad;
    const auto plain = forward_logits(*loaded.model, ex);
    const auto injected = forward_with_inputs(*loaded.model, ex, clean_inputs(*loaded.model, ex));
    EXPECT_TRUE(torch::allclose(plain, injected, 1e-5, 1e-5)) << name;
  }
}

TEST(InterpExamples, SubsetKeepsEachSampleIntact) {
  auto loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  const auto samples = load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, 0, 4);
  const auto ex = prepare_examples(samples, loaded.tokenizer, *loaded.model);
  const auto sub = ex.subset({2});
  const auto alone = prepare_examples({samples[2]}, loaded.tokenizer, *loaded.model);
  EXPECT_TRUE(torch::equal(sub.batch.inputs.input_ids, alone.batch.inputs.input_ids));
  EXPECT_TRUE(torch::equal(sub.batch.inputs.images, alone.batch.inputs.images));
  EXPECT_EQ(sub.target_tokens, alone.target_tokens);
  const auto rep = repeat_examples(ex, 3);
  EXPECT_EQ(rep.size(), 12);
  EXPECT_TRUE(torch::equal(rep.batch.inputs.images[5], ex.batch.inputs.images[1]));
}

}  // namespace
}  // namespace clearsight::interp
