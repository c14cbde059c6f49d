#include "clearsight/interp/lens.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "clearsight/core/error.h"
#include "clearsight/core/safetensors.h"
#include "clearsight/mm/trainer.h"
#include "test_util.h"

namespace clearsight::interp {
namespace {

mm::LoadedModel& vl() {
  static mm::LoadedModel loaded = mm::load_model_with_tokenizer("cs-tiny-vl");
  return loaded;
}

ModelRef vl_ref() { return {*vl().model, vl().tokenizer, "cs-tiny-vl"}; }

const Target kFirst{.kind = "first", .token = {}};

std::vector<mm::Sample> vqa_samples(mm::Split split, std::int64_t first, std::int64_t count) {
  return load_samples(*mm::make_task("scene_vqa"), split, first, count);
}

Examples prepare(const std::vector<mm::Sample>& samples) {
  return prepare_examples(samples, vl().tokenizer, *vl().model, kFirst);
}

std::int64_t layers() { return vl().model->config().num_hidden_layers; }

TEST(InterpLens, PointsAreHookNames) {
  const auto points = lens_points(*vl().model);
  ASSERT_EQ(static_cast<std::int64_t>(points.size()), layers() + 1);
  EXPECT_EQ(points.front(), "hook_embed");
  EXPECT_EQ(points.back(), "blocks." + std::to_string(layers() - 1) + ".hook_resid_post");
  for (const auto& p : points) EXPECT_TRUE(vl().model->has_hook(p)) << p;
}

TEST(InterpLens, LastLayerLensIsTheModelsLogits) {
  const auto examples = prepare(vqa_samples(mm::Split::kTest, 0, 2));
  const auto rs = residual_streams(*vl().model, examples);
  torch::NoGradGuard no_grad;
  const auto lens = lens_logits(*vl().model, rs.streams[layers()]);
  EXPECT_TRUE(torch::allclose(lens, rs.logits, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(rs.logits, forward_logits(*vl().model, examples), 1e-6, 1e-6));
  // The readout at the last point: zero KL and the model's own answer probability.
  LensOptions options;
  options.positions = {"last", "image"};
  const auto readout = read_lens(*vl().model, examples, options);
  EXPECT_LT(readout.kl[layers()].abs().max().item<double>(), 1e-6);
  const auto p_model = target_score(rs.logits, examples).exp();
  for (std::size_t j = 0; j < readout.positions.size(); ++j) {
    const auto& pos = readout.positions[j];
    if (pos.group != "last") continue;
    EXPECT_NEAR(readout.answer_probability[layers()][j].item<double>(),
                p_model[pos.sample].item<double>(), 1e-6);
  }
  // Ranks agree with the probabilities of the top tokens.
  EXPECT_GE(readout.answer_rank.min().item<std::int64_t>(), 1);
  const auto top_is_answer = readout.answer_rank.eq(1);
  const auto top_prob = readout.top_probability.select(2, 0);
  EXPECT_TRUE(torch::allclose(top_prob.masked_select(top_is_answer),
                              readout.answer_probability.masked_select(top_is_answer)));
  // Top-k probabilities are sorted.
  EXPECT_TRUE((readout.top_probability.narrow(2, 0, 4) >= readout.top_probability.narrow(2, 1, 4))
                  .all()
                  .item<bool>());
}

TEST(InterpLens, ImagePositionsCanBeRead) {
  const auto examples = prepare(vqa_samples(mm::Split::kTest, 0, 1));
  LensOptions options;
  options.positions = {"image"};
  options.top_k = 3;
  const auto readout = read_lens(*vl().model, examples, options);
  const auto n = static_cast<std::int64_t>(examples.positions(0, "image").size());
  ASSERT_EQ(static_cast<std::int64_t>(readout.positions.size()), n);
  EXPECT_EQ(readout.kl.sizes(), (std::vector<std::int64_t>{layers() + 1, n}));
  EXPECT_EQ(readout.top_ids.sizes(), (std::vector<std::int64_t>{layers() + 1, n, 3}));
  EXPECT_EQ(readout.positions[0].token, "<|image_pad|>");
}

TEST(InterpLens, IdentityTunedLensIsTheLogitLens) {
  const auto examples = prepare(vqa_samples(mm::Split::kTest, 0, 2));
  const auto identity = TunedLens::identity(*vl().model, "cs-tiny-vl");
  const auto a = prompt_kl(*vl().model, examples);
  const auto b = prompt_kl(*vl().model, examples, &identity);
  EXPECT_TRUE(torch::allclose(a, b, 1e-9, 1e-9));
}

TEST(InterpLens, BatchPaddingDoesNotChangeTheReadout) {
  auto samples = vqa_samples(mm::Split::kTest, 0, 2);
  samples.push_back(load_samples(*mm::make_task("text_choice"), mm::Split::kTest, 0, 1)[0]);
  const auto batch = prepare(samples);
  ASSERT_FALSE(batch.batch.inputs.attention_mask.all().item<bool>());
  LensOptions options;
  options.positions = {"last", "question"};
  const auto together = read_lens(*vl().model, batch, options);
  const auto kl_together = prompt_kl(*vl().model, batch);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(i);
    const auto alone_examples = prepare({samples[i]});
    const auto alone = read_lens(*vl().model, alone_examples, options);
    for (std::size_t j = 0; j < alone.positions.size(); ++j) {
      // Find the same position in the batch readout.
      std::int64_t match = -1;
      for (std::size_t m = 0; m < together.positions.size(); ++m) {
        const auto& t = together.positions[m];
        if (t.sample == static_cast<std::int64_t>(i) && t.position == alone.positions[j].position &&
            t.group == alone.positions[j].group) {
          match = static_cast<std::int64_t>(m);
        }
      }
      ASSERT_GE(match, 0);
      // float32 sums over the vocabulary in another batch layout (1.07e-5 seen on a clean
      // clone): 1e-4 relative to the KL, far below what a padding leak does (> 1e-2).
      const double scale = std::max(1.0, together.kl.select(1, match).abs().max().item<double>());
      EXPECT_LT((alone.kl.select(1, j) - together.kl.select(1, match)).abs().max().item<double>(),
                1e-4 * scale);
      EXPECT_LT(
          (alone.answer_probability.select(1, j) - together.answer_probability.select(1, match))
              .abs()
              .max()
              .item<double>(),
          1e-5);
    }
    const auto kl_alone = prompt_kl(*vl().model, alone_examples);
    EXPECT_LT(
        (kl_alone - kl_together.narrow(1, offset, kl_alone.size(1))).abs().max().item<double>(),
        1e-5);
    offset += kl_alone.size(1);
  }
}

TEST(InterpLens, UnknownGroupsAndBadOptionsThrow) {
  const auto examples = prepare(vqa_samples(mm::Split::kTest, 0, 1));
  LensOptions options;
  options.positions = {"imag"};
  EXPECT_THROW(read_lens(*vl().model, examples, options), UnknownNameError);
  options.positions = {"last"};
  options.top_k = 0;
  EXPECT_THROW(read_lens(*vl().model, examples, options), ConfigError);
  const TunedLens wrong(3, 128, "other");
  EXPECT_THROW(prompt_kl(*vl().model, examples, &wrong), ConfigError);
  testing::TempDir dir;
  LensOptions bad;
  bad.positions = {"answers"};
  EXPECT_THROW(run_logit_lens(vl_ref(), {}, bad, dir.path()), UnknownNameError);
}

TEST(InterpLens, TunedLensBeatsTheLogitLensOnHeldOutPrompts) {
  std::vector<Examples> train;
  train.push_back(prepare(vqa_samples(mm::Split::kTrain, 0, 8)));
  train.push_back(prepare(vqa_samples(mm::Split::kTrain, 8, 8)));
  TunedLensTraining training;
  training.steps = 150;
  training.learning_rate = 3e-3;
  training.progress = false;
  const auto trained = train_tuned_lens(*vl().model, train, training, "cs-tiny-vl");
  EXPECT_GT(trained.positions, 16);
  // The training loss went down at every trained point.
  for (std::int64_t p = 0; p < layers(); ++p) {
    EXPECT_LT(trained.loss[-1][p].item<double>(), trained.loss[0][p].item<double>()) << p;
  }
  const auto held_out = prepare(vqa_samples(mm::Split::kTest, 0, 8));
  const auto logit = prompt_kl(*vl().model, held_out).mean(1);
  const auto tuned = prompt_kl(*vl().model, held_out, &trained.lens).mean(1);
  for (std::int64_t p = 0; p < layers(); ++p) {
    EXPECT_LT(tuned[p].item<double>(), logit[p].item<double>())
        << "point " << p << ": logit " << logit << " tuned " << tuned;
  }
  EXPECT_LT(logit[layers()].item<double>(), 1e-6);
  EXPECT_LT(tuned[layers()].item<double>(), 1e-6);
  // The model itself is untouched: no gradients were left on its parameters.
  for (const auto& p : vl().model->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(InterpLens, TranslatorsRoundTripThroughSafetensors) {
  testing::TempDir dir;
  auto lens = TunedLens::identity(*vl().model, "cs-tiny-vl");
  torch::manual_seed(1);
  lens.weight(1) = lens.weight(1) + 0.01 * torch::randn_like(lens.weight(1));
  lens.bias(2) = torch::randn_like(lens.bias(2));
  lens.save(dir / "lens.safetensors");
  const auto loaded = TunedLens::load(dir / "lens.safetensors");
  EXPECT_EQ(loaded.points(), layers() + 1);
  EXPECT_EQ(loaded.hidden(), vl().model->config().hidden_size);
  EXPECT_EQ(loaded.model_name(), "cs-tiny-vl");
  auto copy = loaded;
  EXPECT_TRUE(torch::equal(copy.weight(1), lens.weight(1)));
  EXPECT_TRUE(torch::equal(copy.bias(2), lens.bias(2)));
  const auto file = safetensors::File::open(dir / "lens.safetensors");
  EXPECT_EQ(file.metadata().at("kind"), "tuned_lens");
  EXPECT_EQ(file.metadata().at("layers"), std::to_string(layers()));
  EXPECT_EQ(file.metadata().at("hidden"), "128");
  // A safetensors file that is not a tuned lens.
  safetensors::save(dir / "other.safetensors", {{"x", torch::zeros({2})}}, {{"kind", "other"}});
  EXPECT_THROW(TunedLens::load(dir / "other.safetensors"), FormatError);
}

TEST(InterpLens, LogitLensStudyWritesTopTokensAndKl) {
  testing::TempDir dir;
  SampleSelection selection;
  selection.count = 2;
  LensOptions options;
  options.positions = {"last", "image"};
  options.top_k = 3;
  const auto result = run_logit_lens(vl_ref(), selection, options, dir.path());
  EXPECT_EQ(result["method"], "logit_lens");
  ASSERT_EQ(result["points"].size(), static_cast<std::size_t>(layers() + 1));
  ASSERT_EQ(result["mean_kl"].size(), static_cast<std::size_t>(layers() + 1));
  EXPECT_LT(result["by_group"]["last"]["mean_kl"].back().get<double>(), 1e-6);
  const auto& first = result["positions"][0];
  EXPECT_EQ(first["group"], "last");
  ASSERT_EQ(first["layers"].size(), static_cast<std::size_t>(layers() + 1));
  ASSERT_EQ(first["layers"][0]["top_k"].size(), 3u);
  EXPECT_TRUE(first["layers"][0]["top_k"][0].contains("token"));
  EXPECT_GE(first["layers"][0]["answer_rank"].get<std::int64_t>(), 1);
  for (const auto* file : {"result.json", "lens.safetensors", "report.html", "report.md"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  }
}

TEST(InterpLens, TunedLensStudyTrainsSavesAndReloads) {
  testing::TempDir dir;
  SampleSelection selection;
  selection.count = 4;
  TunedLensOptions options;
  options.train_count = 8;
  options.training.steps = 20;
  options.training.progress = false;
  const auto result = run_tuned_lens(vl_ref(), selection, options, dir / "train");
  EXPECT_EQ(result["method"], "tuned_lens");
  ASSERT_EQ(result["kl"]["tuned_lens"].size(), static_cast<std::size_t>(layers() + 1));
  ASSERT_EQ(result["loss"].size(), 20u);
  EXPECT_TRUE(std::filesystem::exists(dir / "train" / "tuned_lens.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "train" / "report.html"));
  // Loading the saved translators reproduces the evaluation.
  TunedLensOptions load;
  load.load = dir / "train" / "tuned_lens.safetensors";
  const auto again = run_tuned_lens(vl_ref(), selection, load, dir / "load");
  EXPECT_TRUE(again["train"]["loaded"].get<bool>());
  for (std::size_t p = 0; p < result["kl"]["tuned_lens"].size(); ++p) {
    EXPECT_NEAR(again["kl"]["tuned_lens"][p].get<double>(),
                result["kl"]["tuned_lens"][p].get<double>(), 1e-9);
  }
  // Evaluating on the training samples is refused.
  SampleSelection overlapping = selection;
  overlapping.split = "train";
  EXPECT_THROW(run_tuned_lens(vl_ref(), overlapping, options, dir / "bad"), ConfigError);
}

}  // namespace
}  // namespace clearsight::interp
