#include "clearsight/interp/attention.h"

#include <gtest/gtest.h>

#include <fstream>

#include "clearsight/core/error.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

ModelRef vl_ref() { return {*vl().model, vl().tokenizer, "cs-tiny-vl"}; }

std::vector<mm::Sample> vqa_samples(std::int64_t first, std::int64_t count) {
  return load_samples(*mm::make_task("scene_vqa"), mm::Split::kTest, first, count);
}

// Two image questions and a text-only question of different lengths: padding on every row.
std::vector<mm::Sample> mixed_samples() {
  auto samples = vqa_samples(0, 2);
  samples.push_back(load_samples(*mm::make_task("text_choice"), mm::Split::kTest, 0, 1)[0]);
  return samples;
}

TEST(InterpAttention, MapsCoverThePromptAndRowsSumToOne) {
  const auto examples = prepare_examples(vqa_samples(0, 1), vl().tokenizer, *vl().model);
  const auto maps = attention_maps(*vl().model, examples);
  ASSERT_EQ(maps.size(), 1u);
  const auto p = examples.prompt_lengths[0];
  const auto& c = vl().model->config();
  EXPECT_EQ(maps[0].sizes(),
            (std::vector<std::int64_t>{c.num_hidden_layers, c.num_attention_heads, p, p}));
  EXPECT_LT((maps[0].sum(-1) - 1.0).abs().max().item<double>(), 1e-5);
  // Causal: nothing above the diagonal.
  EXPECT_EQ(maps[0].triu(1).abs().sum().item<double>(), 0.0);
}

TEST(InterpAttention, RolloutOfACraftedMap) {
  // One layer, one head, A = [[1, 0], [0.5, 0.5]]: A_hat = 0.5 (A + I) = [[1, 0], [0.25, 0.75]].
  const auto maps = torch::tensor({1.0, 0.0, 0.5, 0.5}, torch::kFloat64).view({1, 1, 2, 2});
  const auto r = attention_rollout(maps);
  EXPECT_TRUE(torch::allclose(r, torch::tensor({1.0, 0.0, 0.25, 0.75}).view({2, 2}).to(r.dtype())));
  // Two identical layers multiply.
  const auto r2 = attention_rollout(torch::cat({maps, maps}, 0));
  EXPECT_NEAR(r2[1][0].item<double>(), 0.25 + 0.75 * 0.25, 1e-12);
  EXPECT_THROW(attention_rollout(torch::zeros({2, 2})), ShapeError);
}

TEST(InterpAttention, RolloutRowsSumToOne) {
  const auto examples = prepare_examples(vqa_samples(0, 2), vl().tokenizer, *vl().model);
  const auto maps = attention_maps(*vl().model, examples);
  for (const auto& m : maps) {
    const auto r = attention_rollout(m);
    EXPECT_LT((r.sum(-1) - 1.0).abs().max().item<double>(), 1e-9);
    EXPECT_GE(r.min().item<double>(), 0.0);
  }
  // By group: the modalities partition the prompt, so the last row's masses add up to 1.
  const auto row = attention_rollout(maps[0])[examples.last(0)];
  const auto by = rollout_by_group(row, examples.groups[0], {"text", "special", "image"});
  EXPECT_NEAR(by.at("text") + by.at("special") + by.at("image"), 1.0, 1e-9);
  EXPECT_GT(by.at("image"), 0.0);
}

TEST(InterpAttention, ModalityMassRowsSumToOneOverAPartition) {
  const auto examples = prepare_examples(vqa_samples(0, 2), vl().tokenizer, *vl().model);
  const auto maps = attention_maps(*vl().model, examples);
  const std::vector<std::string> partition = {"text", "special", "image"};
  const auto mass = modality_mass(maps, examples, partition);
  ASSERT_EQ(mass.per_sample.size(0), 2);
  EXPECT_TRUE(mass.present.all().item<bool>());
  EXPECT_LT((mass.per_sample.sum(-1) - 1.0).abs().max().item<double>(), 1e-6);
  EXPECT_LT((mass.mean.sum(-1) - 1.0).abs().max().item<double>(), 1e-6);
  // The last token's row is its attention summed over the group (one query).
  const auto last = modality_mass(maps[0], examples.groups[0], {"last", "image"});
  const auto row = maps[0].mean(1).select(1, examples.last(0));  // [layers, P]
  const auto image = torch::tensor(examples.positions(0, "image"), torch::kInt64);
  EXPECT_TRUE(torch::allclose(last.select(1, 0).select(1, 1), row.index_select(1, image).sum(1)));
}

TEST(InterpAttention, AbsentQueryGroupsHaveZeroRows) {
  const auto examples = prepare_examples(vqa_samples(0, 1), vl().tokenizer, *vl().model);
  const auto maps = attention_maps(*vl().model, examples);
  const auto mass = modality_mass(maps, examples, {"video", "image"});
  EXPECT_FALSE(mass.present[0][0].item<bool>());
  EXPECT_EQ(mass.per_sample.select(2, 0).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(mass.mean.select(1, 0).abs().sum().item<double>(), 0.0);
}

TEST(InterpAttention, BatchPaddingDoesNotChangeResults) {
  const auto samples = mixed_samples();
  const auto batch = prepare_examples(samples, vl().tokenizer, *vl().model);
  ASSERT_FALSE(batch.batch.inputs.attention_mask.all().item<bool>());  // padded rows exist
  const auto batch_maps = attention_maps(*vl().model, batch);
  const std::vector<std::string> groups = {"text", "special", "image", "question", "last"};
  const auto batch_mass = modality_mass(batch_maps, batch, groups);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(i);
    const auto alone = prepare_examples({samples[i]}, vl().tokenizer, *vl().model);
    const auto maps = attention_maps(*vl().model, alone);
    ASSERT_EQ(maps[0].sizes(), batch_maps[i].sizes());
    EXPECT_LT((maps[0] - batch_maps[i]).abs().max().item<double>(), 1e-5);
    const auto mass = modality_mass(maps, alone, groups);
    EXPECT_LT((mass.per_sample[0] - batch_mass.per_sample[i]).abs().max().item<double>(), 1e-5);
    const auto r = attention_rollout(maps[0]);
    const auto rb = attention_rollout(batch_maps[i]);
    EXPECT_LT((r - rb).abs().max().item<double>(), 1e-5);
  }
}

TEST(InterpAttention, UnknownGroupThrows) {
  const auto examples = prepare_examples(vqa_samples(0, 1), vl().tokenizer, *vl().model);
  const auto maps = attention_maps(*vl().model, examples);
  EXPECT_THROW(modality_mass(maps[0], examples.groups[0], {"imag"}), UnknownNameError);
  EXPECT_THROW(modality_mass(maps, examples, {"last", "questions"}), UnknownNameError);
  AttentionMapOptions options;
  options.groups = {"pixels"};
  testing::TempDir dir;
  EXPECT_THROW(run_attention(vl_ref(), {}, options, dir.path()), UnknownNameError);
}

TEST(InterpAttention, DefaultGroupsFollowTheModalities) {
  const auto examples = prepare_examples(vqa_samples(0, 1), vl().tokenizer, *vl().model);
  EXPECT_EQ(default_attention_groups(examples),
            (std::vector<std::string>{"text", "image", "question", "last"}));
}

TEST(InterpAttention, StudyWritesARunDirectory) {
  testing::TempDir dir;
  SampleSelection selection;
  selection.count = 3;
  selection.batch_size = 2;  // two forward passes
  const auto result = run_attention(vl_ref(), selection, {}, dir.path());
  EXPECT_EQ(result["method"], "attention");
  EXPECT_EQ(result["samples"].size(), 3u);
  EXPECT_EQ(result["groups"], nlohmann::json({"text", "image", "question", "last"}));
  const auto& mean = result["modality_mass"]["mean"];
  ASSERT_EQ(mean.size(), 4u);        // layers
  ASSERT_EQ(mean[0].size(), 4u);     // query groups
  ASSERT_EQ(mean[0][0].size(), 4u);  // key groups
  ASSERT_EQ(result["rollout"]["per_sample"].size(), 3u);
  const auto& row = result["rollout"]["per_sample"][0]["last_row"];
  double total = 0;
  for (const auto& v : row) total += v.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-9);
  for (const auto* file : {"result.json", "attention.safetensors", "report.html", "report.md"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  }
  // The same samples in one batch give the same numbers.
  testing::TempDir dir2;
  selection.batch_size = 8;
  const auto again = run_attention(vl_ref(), selection, {}, dir2.path());
  const auto& a = result["rollout"]["per_sample"][2]["last_row"];
  const auto& b = again["rollout"]["per_sample"][2]["last_row"];
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t j = 0; j < a.size(); ++j) {
    EXPECT_NEAR(a[j].get<double>(), b[j].get<double>(), 1e-5);
  }
}

}  // namespace
}  // namespace clearsight::interp
